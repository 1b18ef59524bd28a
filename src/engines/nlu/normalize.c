/* Text normalization for STT output: words are split and lowercased into a
 * scratch buffer (contractions expanded there), then fillers are dropped and
 * numbers optionally turned into digits while writing the output. */
#include "engines/nlu/normalize.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engines/nlu/normalize_num.h"

struct expansion {
	const char *from;
	const char *to;
};

/* Whole-word forms, with and without the apostrophe (STT often drops it).
 * Only unambiguous apostrophe-less forms: "its", "ill", "id", "hes", "well"
 * are real words. */
static const struct expansion fixed[] = {
	{ "i'm", "i am" },
	{ "im", "i am" },
	{ "can't", "can not" },
	{ "cant", "can not" },
	{ "cannot", "can not" },
	{ "won't", "will not" },
	{ "wont", "will not" },
	{ "shan't", "shall not" },
	{ "ain't", "is not" },
	{ "let's", "let us" },
	{ "y'all", "you all" },
	{ "gonna", "going to" },
	{ "wanna", "want to" },
	{ "gotta", "got to" },
	{ "dont", "do not" },
	{ "didnt", "did not" },
	{ "doesnt", "does not" },
	{ "isnt", "is not" },
	{ "arent", "are not" },
	{ "wasnt", "was not" },
	{ "werent", "were not" },
	{ "havent", "have not" },
	{ "hasnt", "has not" },
	{ "hadnt", "had not" },
	{ "couldnt", "could not" },
	{ "wouldnt", "would not" },
	{ "shouldnt", "should not" },
	{ "ive", "i have" },
	{ "youre", "you are" },
	{ "theyre", "they are" },
	{ "youve", "you have" },
	{ "weve", "we have" },
	{ "theyve", "they have" },
	{ "whats", "what is" },
	{ "thats", "that is" },
	{ "theres", "there is" },
	{ "wheres", "where is" },
	{ "hows", "how is" },
	{ "youll", "you will" },
	{ "theyll", "they will" },
};

/* Stems whose "'s" is "is" rather than a possessive. */
static const char *const is_stems[] = {
	"it",	"that",	      "what",	 "there",     "here",	 "he",
	"she",	"who",	      "where",	 "how",	      "when",	 "why",
	"this", "everything", "nothing", "something", "someone", "everyone",
};

static const struct expansion suffixes[] = {
	{ "n't", " not" },  { "'re", " are" },	{ "'ve", " have" },
	{ "'ll", " will" }, { "'d", " would" }, { "'m", " am" },
};

static const char *const fillers[] = {
	"um", "umm", "ummm", "uh", "uhh", "uhm", "erm",
	"er", "hmm", "hm",   "mm", "mmm", "ah",	 "ahh",
};

/* Filler pairs that mean yes: "uh huh", "mm hmm", "um hmm". */
static const char *const yes_first[] = { "uh", "um", "mm", "hm" };
static const char *const yes_second[] = { "huh", "hmm" };

static bool in_list(const char *w, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(w, list[i]) == 0)
			return true;
	return false;
}

#define LIST(a) (a), (sizeof(a) / sizeof((a)[0]))

/* Scratch words: NUL-terminated strings back to back in buf. */
struct words {
	char *buf;
	size_t len;
	const char **w;
	size_t n;
};

static void push_text(struct words *ws, const char *text, size_t len)
{
	/* text may hold several space-separated words */
	size_t start = ws->len;
	for (size_t i = 0; i <= len; i++) {
		if (i == len || text[i] == ' ') {
			if (ws->len > start) {
				ws->buf[ws->len++] = '\0';
				ws->w[ws->n++] = ws->buf + start;
			}
			start = ws->len;
		} else {
			ws->buf[ws->len++] = text[i];
		}
	}
}

/* Takes the raw word at ws->buf[start..ws->len) and replaces it with its
 * expansion. */
static void finish_word(struct words *ws, size_t start)
{
	char word[64];
	size_t len = ws->len - start;

	while (len > 0 && ws->buf[start + len - 1] == '\'')
		len--;
	ws->len = start;
	if (len == 0)
		return;
	if (len >= sizeof(word)) {
		/* too long to be a contraction: keep as it is */
		ws->len = start + len;
		ws->buf[ws->len++] = '\0';
		ws->w[ws->n++] = ws->buf + start;
		return;
	}
	memcpy(word, ws->buf + start, len);
	word[len] = '\0';
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (strcmp(word, fixed[i].from) == 0) {
			push_text(ws, fixed[i].to, strlen(fixed[i].to));
			return;
		}
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		size_t sl = strlen(suffixes[i].from);
		if (len > sl &&
		    strcmp(word + len - sl, suffixes[i].from) == 0) {
			char tmp[96];
			int k = snprintf(tmp, sizeof(tmp), "%.*s%s",
					 (int)(len - sl), word, suffixes[i].to);
			push_text(ws, tmp, (size_t)k);
			return;
		}
	}
	if (len > 2 && strcmp(word + len - 2, "'s") == 0) {
		word[len - 2] = '\0';
		if (in_list(word, LIST(is_stems))) {
			char tmp[96];
			int k = snprintf(tmp, sizeof(tmp), "%s is", word);
			push_text(ws, tmp, (size_t)k);
		} else {
			push_text(ws, word, len - 2);
		}
		return;
	}
	push_text(ws, word, len);
}

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static void split_words(const char *in, size_t n, struct words *ws)
{
	size_t start = ws->len;
	bool in_word = false;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];
		int ch = -1;

		if (c >= 'A' && c <= 'Z')
			ch = c + ('a' - 'A');
		else if ((c >= 'a' && c <= 'z') || is_digit(c))
			ch = c;
		else if (c == 0xe2 && i + 2 < n &&
			 (unsigned char)in[i + 1] == 0x80 &&
			 (unsigned char)in[i + 2] == 0x99) {
			ch = '\'';
			i += 2;
		} else if (c >= 0x80)
			ch = c;
		else if (c == '\'')
			ch = in_word ? '\'' : -1;
		else if ((c == '.' || c == ',') && in_word && i + 1 < n &&
			 is_digit((unsigned char)in[i + 1]) &&
			 is_digit((unsigned char)ws->buf[ws->len - 1]))
			ch = c == '.' ? '.' : 0; /* 0: drop, stay in word */

		if (ch == 0)
			continue;
		if (ch == '\'' && !in_word)
			ch = -1;
		if (ch < 0) {
			if (in_word)
				finish_word(ws, start);
			in_word = false;
			continue;
		}
		if (!in_word)
			start = ws->len;
		in_word = true;
		ws->buf[ws->len++] = (char)ch;
	}
	if (in_word)
		finish_word(ws, start);
}

/* Drops fillers in place; "uh huh", "mm hmm" (yes) are kept. */
static void drop_fillers(struct words *ws)
{
	size_t k = 0;
	bool keep_next = false;

	for (size_t i = 0; i < ws->n; i++) {
		const char *w = ws->w[i];
		bool keep = keep_next || !in_list(w, LIST(fillers));
		keep_next = false;
		if (!keep && i + 1 < ws->n && in_list(w, LIST(yes_first)) &&
		    in_list(ws->w[i + 1], LIST(yes_second))) {
			keep = true;
			keep_next = true;
		}
		if (keep)
			ws->w[k++] = w;
	}
	ws->n = k;
}

static int emit(char *out, size_t cap, size_t *len, const char *s, size_t n)
{
	size_t sep = *len > 0;
	if (*len + sep + n + 1 > cap)
		return -E2BIG;
	if (sep)
		out[(*len)++] = ' ';
	memcpy(out + *len, s, n);
	*len += n;
	out[*len] = '\0';
	return 0;
}

static const char *ordinal_suffix(long long v)
{
	if (v % 100 >= 11 && v % 100 <= 13)
		return "th";
	switch (v % 10) {
	case 1:
		return "st";
	case 2:
		return "nd";
	case 3:
		return "rd";
	default:
		return "th";
	}
}

/* Converts the number at w[0..n) if any; returns words consumed. */
static size_t number_at(const char *const *w, size_t n, char *buf, size_t cap)
{
	struct nlu_num num;
	char digits[NLU_NUM_DIGITS_MAX + 1];
	size_t groups = 0;

	if (is_digit((unsigned char)w[0][0]))
		return 0;
	size_t kc = nlu_num_parse_cardinal(w, n, &num);
	size_t kd = nlu_num_parse_digits(w, n, digits, sizeof(digits), &groups);
	if (kd > kc && groups >= 2) {
		snprintf(buf, cap, "%s", digits);
		return kd;
	}
	if (kc == 0 || (kc == 1 && strcmp(w[0], "one") == 0))
		return 0;
	if (num.ordinal)
		snprintf(buf, cap, "%lld%s", (long long)num.value,
			 ordinal_suffix(num.value));
	else if (num.frac[0])
		snprintf(buf, cap, "%lld.%s", (long long)num.value, num.frac);
	else
		snprintf(buf, cap, "%lld", (long long)num.value);
	return kc;
}

int nlu_normalize_flags(const char *in, unsigned flags, char *out, size_t cap)
{
	if (!in || !out || cap == 0)
		return -EINVAL;
	out[0] = '\0';
	size_t n = strnlen(in, NLU_NORMALIZE_MAX_IN + 1);
	if (n > NLU_NORMALIZE_MAX_IN)
		return -E2BIG;

	/* expansions at most triple a word ("im" -> "i am"), each word has a
	 * NUL, and there are at most n / 2 + 1 words before expansion */
	struct words ws = { 0 };
	ws.buf = malloc(3 * n + 16);
	ws.w = malloc((2 * n + 4) * sizeof(*ws.w));
	if (!ws.buf || !ws.w) {
		free(ws.buf);
		free(ws.w);
		return -ENOMEM;
	}
	split_words(in, n, &ws);
	drop_fillers(&ws);

	size_t len = 0;
	int rc = 0;
	for (size_t i = 0; i < ws.n && rc == 0;) {
		char num[NLU_NUM_DIGITS_MAX + 32];
		size_t k = 0;
		if (flags & NLU_NORMALIZE_NUMBERS)
			k = number_at(ws.w + i, ws.n - i, num, sizeof(num));
		if (k > 0) {
			rc = emit(out, cap, &len, num, strlen(num));
			i += k;
		} else {
			rc = emit(out, cap, &len, ws.w[i], strlen(ws.w[i]));
			i++;
		}
	}
	free(ws.buf);
	free(ws.w);
	if (rc < 0) {
		out[0] = '\0';
		return rc;
	}
	return (int)len;
}

int nlu_normalize(const char *in, char *out, size_t cap)
{
	return nlu_normalize_flags(in, 0, out, cap);
}

/* Token spellings (nlu_normalize_tokens); "" drops the token. */
static const struct expansion spellings[] = {
	{ "canceled", "cancelled" },
	{ "canceling", "cancelling" },
	{ "cancelation", "cancellation" },
	{ "cheque", "check" },
	{ "cheques", "checks" },
	{ "topup", "top up" },
	{ "topups", "top ups" },
	{ "toppedup", "topped up" },
	{ "okay", "ok" },
	{ "0", "zero" },
	{ "1", "one" },
	{ "2", "two" },
	{ "3", "three" },
	{ "4", "four" },
	{ "5", "five" },
	{ "6", "six" },
	{ "7", "seven" },
	{ "8", "eight" },
	{ "9", "nine" },
	{ "10", "ten" },
	{ "11", "eleven" },
	{ "12", "twelve" },
};

/* Appends word[0..len) to t; false when t is full. */
static bool tokens_push(struct nlu_tokens *t, const char *word, size_t len)
{
	size_t at = t->n ? (size_t)t->off[t->n - 1] + t->len[t->n - 1] + 1 : 0;
	if (t->n >= NLU_TOKENS_MAX || at + len + 1 > sizeof(t->buf))
		return false;
	memcpy(t->buf + at, word, len);
	t->buf[at + len] = '\0';
	t->off[t->n] = (uint16_t)at;
	t->len[t->n++] = (uint8_t)len;
	return true;
}

int nlu_normalize_tokens(const struct nlu_tokens *in, struct nlu_tokens *out)
{
	if (!in || !out || in == out)
		return -EINVAL;
	out->n = 0;
	for (size_t i = 0; i < in->n; i++) {
		const char *w = nlu_tokens_get(in, i);
		const char *to = w;
		if (in_list(w, LIST(fillers)))
			continue;
		for (size_t k = 0; k < sizeof(spellings) / sizeof(*spellings);
		     k++)
			if (!strcmp(w, spellings[k].from))
				to = spellings[k].to;
		/* a replacement may be two words */
		const char *sp = strchr(to, ' ');
		size_t l1 = sp ? (size_t)(sp - to) : strlen(to);
		if (!tokens_push(out, to, l1) ||
		    (sp && !tokens_push(out, sp + 1, strlen(sp + 1))))
			break;
	}
	return 0;
}

/* Spoken number parsing for the NLU engine: cardinals, ordinals, decimals and
 * digit-by-digit sequences, from lowercase words (see normalize_num.h). */
#include "engines/nlu/normalize_num.h"

#include <string.h>

enum kind { K_NONE, K_UNIT, K_TEEN, K_TENS, K_HUNDRED, K_SCALE, K_AND };

struct word_val {
	const char *w;
	int64_t v;
	enum kind k;
	bool ordinal;
};

static const struct word_val words[] = {
	{ "one", 1, K_UNIT, false },
	{ "two", 2, K_UNIT, false },
	{ "three", 3, K_UNIT, false },
	{ "four", 4, K_UNIT, false },
	{ "five", 5, K_UNIT, false },
	{ "six", 6, K_UNIT, false },
	{ "seven", 7, K_UNIT, false },
	{ "eight", 8, K_UNIT, false },
	{ "nine", 9, K_UNIT, false },
	{ "ten", 10, K_TEEN, false },
	{ "eleven", 11, K_TEEN, false },
	{ "twelve", 12, K_TEEN, false },
	{ "thirteen", 13, K_TEEN, false },
	{ "fourteen", 14, K_TEEN, false },
	{ "fifteen", 15, K_TEEN, false },
	{ "sixteen", 16, K_TEEN, false },
	{ "seventeen", 17, K_TEEN, false },
	{ "eighteen", 18, K_TEEN, false },
	{ "nineteen", 19, K_TEEN, false },
	{ "twenty", 20, K_TENS, false },
	{ "thirty", 30, K_TENS, false },
	{ "forty", 40, K_TENS, false },
	{ "fourty", 40, K_TENS, false },
	{ "fifty", 50, K_TENS, false },
	{ "sixty", 60, K_TENS, false },
	{ "seventy", 70, K_TENS, false },
	{ "eighty", 80, K_TENS, false },
	{ "ninety", 90, K_TENS, false },
	{ "hundred", 100, K_HUNDRED, false },
	{ "thousand", 1000, K_SCALE, false },
	{ "million", 1000000, K_SCALE, false },
	{ "billion", 1000000000, K_SCALE, false },
	{ "first", 1, K_UNIT, true },
	{ "second", 2, K_UNIT, true },
	{ "third", 3, K_UNIT, true },
	{ "fourth", 4, K_UNIT, true },
	{ "fifth", 5, K_UNIT, true },
	{ "sixth", 6, K_UNIT, true },
	{ "seventh", 7, K_UNIT, true },
	{ "eighth", 8, K_UNIT, true },
	{ "ninth", 9, K_UNIT, true },
	{ "tenth", 10, K_TEEN, true },
	{ "eleventh", 11, K_TEEN, true },
	{ "twelfth", 12, K_TEEN, true },
	{ "thirteenth", 13, K_TEEN, true },
	{ "fourteenth", 14, K_TEEN, true },
	{ "fifteenth", 15, K_TEEN, true },
	{ "sixteenth", 16, K_TEEN, true },
	{ "seventeenth", 17, K_TEEN, true },
	{ "eighteenth", 18, K_TEEN, true },
	{ "nineteenth", 19, K_TEEN, true },
	{ "twentieth", 20, K_TENS, true },
	{ "thirtieth", 30, K_TENS, true },
	{ "fortieth", 40, K_TENS, true },
	{ "fiftieth", 50, K_TENS, true },
	{ "sixtieth", 60, K_TENS, true },
	{ "seventieth", 70, K_TENS, true },
	{ "eightieth", 80, K_TENS, true },
	{ "ninetieth", 90, K_TENS, true },
	{ "hundredth", 100, K_HUNDRED, true },
	{ "thousandth", 1000, K_SCALE, true },
	{ "millionth", 1000000, K_SCALE, true },
};

static const struct word_val *lookup(const char *w)
{
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcmp(words[i].w, w) == 0)
			return &words[i];
	return NULL;
}

int nlu_num_digit_word(const char *word, bool allow_oh)
{
	static const char *const digit_words[] = { "zero",  "one",   "two",
						   "three", "four",  "five",
						   "six",   "seven", "eight",
						   "nine" };
	for (int d = 0; d < 10; d++)
		if (strcmp(word, digit_words[d]) == 0)
			return d;
	if (allow_oh && (strcmp(word, "oh") == 0 || strcmp(word, "o") == 0))
		return 0;
	return -1;
}

static bool is_scale_word(const char *w)
{
	const struct word_val *v = lookup(w);
	return v && !v->ordinal && (v->k == K_HUNDRED || v->k == K_SCALE);
}

static bool is_small_word(const char *w)
{
	const struct word_val *v = lookup(w);
	return v && (v->k == K_UNIT || v->k == K_TEEN || v->k == K_TENS);
}

/* Collects digit words after "point"; returns words consumed (0: none). */
static size_t parse_frac(const char *const *w, size_t n, char *frac, size_t cap)
{
	size_t i = 0, nf = 0;
	while (i < n && nf + 1 < cap) {
		int d = nlu_num_digit_word(w[i], true);
		if (d < 0)
			break;
		frac[nf++] = (char)('0' + d);
		i++;
	}
	frac[nf] = '\0';
	return i;
}

size_t nlu_num_parse_cardinal(const char *const *w, size_t n,
			      struct nlu_num *num)
{
	int64_t total = 0, seg = 0, last_scale = NLU_NUM_VALUE_MAX;
	enum kind last = K_NONE;
	size_t i = 0, used = 0;
	struct nlu_num r = { 0 };

	if (n == 0)
		return 0;
	if (strcmp(w[0], "zero") == 0) {
		*num = r;
		return 1;
	}
	/* "a hundred", "a thousand": the article stands for one */
	if (n > 1 && strcmp(w[0], "a") == 0 && is_scale_word(w[1])) {
		seg = 1;
		last = K_UNIT;
		i = 1;
	}
	for (; i < n; i++) {
		if (strcmp(w[i], "and") == 0) {
			if ((last != K_HUNDRED && last != K_SCALE) ||
			    i + 1 >= n || !is_small_word(w[i + 1]))
				break;
			last = K_AND;
			continue;
		}
		if (strcmp(w[i], "point") == 0) {
			if (last == K_NONE || last == K_AND)
				break;
			size_t k = parse_frac(w + i + 1, n - i - 1, r.frac,
					      sizeof(r.frac));
			if (k > 0)
				used = i + 1 + k;
			break;
		}
		const struct word_val *v = lookup(w[i]);
		if (!v)
			break;
		bool after_head = last == K_NONE || last == K_HUNDRED ||
				  last == K_SCALE || last == K_AND;
		bool ok = false;
		switch (v->k) {
		case K_UNIT:
			/* a lone "second" is a unit of time far more often */
			if (v->ordinal && v->v == 2 && last == K_NONE)
				break;
			ok = after_head || last == K_TENS;
			if (ok)
				seg += v->v;
			break;
		case K_TEEN:
		case K_TENS:
			ok = after_head;
			if (ok)
				seg += v->v;
			break;
		case K_HUNDRED:
			ok = (last == K_UNIT || last == K_TEEN ||
			      last == K_TENS) &&
			     seg > 0 && seg < 100;
			if (ok)
				seg *= 100;
			break;
		case K_SCALE:
			ok = (last == K_UNIT || last == K_TEEN ||
			      last == K_TENS || last == K_HUNDRED) &&
			     seg > 0 && v->v < last_scale &&
			     total + seg * v->v <= NLU_NUM_VALUE_MAX;
			if (ok) {
				total += seg * v->v;
				seg = 0;
				last_scale = v->v;
			}
			break;
		default:
			break;
		}
		if (!ok)
			break;
		last = v->k;
		used = i + 1;
		if (v->ordinal) {
			r.ordinal = true;
			break;
		}
	}
	if (used == 0)
		return 0;
	r.value = total + seg;
	*num = r;
	return used;
}

static bool is_digit_run(const char *w)
{
	bool any = false;
	for (; *w; w++) {
		if (*w >= '0' && *w <= '9')
			any = true;
		else if (*w != '-')
			return false;
	}
	return any;
}

static bool append(char *digits, size_t *nd, size_t cap, const char *s)
{
	size_t len = 0;
	for (const char *p = s; *p; p++)
		len += *p != '-';
	if (*nd + len > NLU_NUM_DIGITS_MAX || *nd + len + 1 > cap)
		return false;
	for (; *s; s++)
		if (*s != '-')
			digits[(*nd)++] = *s;
	digits[*nd] = '\0';
	return true;
}

size_t nlu_num_parse_digits(const char *const *w, size_t n, char *digits,
			    size_t cap, size_t *ngroups)
{
	size_t i = 0, nd = 0, groups = 0;
	bool only_oh = true;

	if (cap == 0)
		return 0;
	digits[0] = '\0';
	while (i < n) {
		char g[8] = { 0 };
		size_t take = 1;
		/* "double five" says two digits as plainly as "five five" */
		size_t worth = 1;
		const struct word_val *v = lookup(w[i]);
		int d = nlu_num_digit_word(w[i], true);
		bool oh = d == 0 && w[i][0] == 'o';

		if ((strcmp(w[i], "double") == 0 ||
		     strcmp(w[i], "triple") == 0) &&
		    i + 1 < n && nlu_num_digit_word(w[i + 1], true) >= 0) {
			int rep = w[i][0] == 'd' ? 2 : 3;
			char c = (char)('0' +
					nlu_num_digit_word(w[i + 1], true));
			memset(g, c, (size_t)rep);
			take = 2;
			worth = 2;
			oh = false;
		} else if (d >= 0) {
			g[0] = (char)('0' + d);
			if (d > 0 && i + 1 < n &&
			    strcmp(w[i + 1], "hundred") == 0) {
				g[1] = g[2] = '0';
				take = 2;
			}
		} else if (v && !v->ordinal && v->k == K_TEEN) {
			g[0] = (char)('0' + v->v / 10);
			g[1] = (char)('0' + v->v % 10);
		} else if (v && !v->ordinal && v->k == K_TENS) {
			int u = i + 1 < n ? nlu_num_digit_word(w[i + 1], false)
					  : -1;
			g[0] = (char)('0' + v->v / 10);
			g[1] = (char)('0' + (u > 0 ? u : 0));
			take = u > 0 ? 2 : 1;
		} else if (is_digit_run(w[i])) {
			if (!append(digits, &nd, cap, w[i]))
				break;
			i++;
			groups++;
			only_oh = false;
			continue;
		} else {
			break;
		}
		if (!append(digits, &nd, cap, g))
			break;
		only_oh = only_oh && oh;
		i += take;
		groups += worth;
	}
	if (groups == 0 || (groups == 1 && only_oh)) {
		digits[0] = '\0';
		return 0;
	}
	*ngroups = groups;
	return i;
}

/* Entity extraction: the input is split into word, number and currency-sign
 * tokens that remember their byte span; recognizers are tried at each token in
 * a fixed order (confirmation, money, date, numbers) and the first match wins,
 * so entities never overlap. */
#include "engines/nlu/entities.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engines/nlu/normalize_num.h"

/* Tokens looked at per utterance; the rest of a pathological input
 * ("$$$$...") is ignored. */
#define MAX_TOKENS 2048
#define WORD_MAX 32

enum tok_kind { T_WORD, T_NUM, T_CUR };

struct tok {
	size_t off, len;
	enum tok_kind kind;
	bool plus;	  /* number written with a leading '+' */
	char w[WORD_MAX]; /* lowercase; "" when longer than WORD_MAX - 1 */
};

struct ctx {
	const char *text;
	struct tok *t;
	const char **wp; /* t[i].w (after a '+'), for normalize_num */
	size_t nt;
	long ref_days; /* reference date, days since 1970-01-01 */
	unsigned acct_min, acct_max;
};

/* One recognized entity before it is copied out. */
struct found {
	enum nlu_entity_type type;
	char value[NLU_ENTITY_VALUE_MAX];
	const char *unit;
};

#define LIST(a) (a), (sizeof(a) / sizeof((a)[0]))

static bool in_list(const char *w, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(w, list[i]) == 0)
			return true;
	return false;
}

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static bool is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* ---- tokens ---- */

static const char *const fillers[] = {
	"um", "umm", "ummm", "uh", "uhh", "uhm", "erm",
	"er", "hmm", "hm",   "mm", "mmm", "ah",	 "ahh",
};

/* Filler pairs that mean yes: "uh huh", "mm hmm", "um hmm". */
static const char *const yes_first[] = { "uh", "um", "mm", "hm" };
static const char *const yes_second[] = { "huh", "hmm" };

static void set_word(struct tok *t, const char *text)
{
	size_t k = 0;
	t->w[0] = '\0';
	if (t->len >= WORD_MAX)
		return;
	for (size_t i = 0; i < t->len; i++) {
		unsigned char c = (unsigned char)text[t->off + i];
		/* U+2019 right single quote: an apostrophe */
		if (c == 0xe2 && i + 2 < t->len &&
		    (unsigned char)text[t->off + i + 1] == 0x80 &&
		    (unsigned char)text[t->off + i + 2] == 0x99) {
			t->w[k++] = '\'';
			i += 2;
			continue;
		}
		t->w[k++] = (char)lower(c);
	}
	t->w[k] = '\0';
}

static size_t currency_sign(const unsigned char *s, size_t n, const char **code)
{
	if (s[0] == '$') {
		*code = "USD";
		return 1;
	}
	if (n >= 3 && s[0] == 0xe2 && s[1] == 0x82 && s[2] == 0xac) {
		*code = "EUR";
		return 3;
	}
	if (n >= 2 && s[0] == 0xc2 && s[1] == 0xa3) {
		*code = "GBP";
		return 2;
	}
	return 0;
}

static bool is_apostrophe(const unsigned char *s, size_t n)
{
	return s[0] == '\'' ||
	       (n >= 3 && s[0] == 0xe2 && s[1] == 0x80 && s[2] == 0x99);
}

static size_t scan_number(const unsigned char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		if (is_digit(s[i]))
			i++;
		else if ((s[i] == '.' || s[i] == ',' || s[i] == '/' ||
			  s[i] == '-') &&
			 i + 1 < n && is_digit(s[i + 1]))
			i++;
		else
			break;
	}
	/* ordinal suffix: "5th", "21st" */
	if (i + 2 <= n && is_alpha(s[i]) && is_alpha(s[i + 1]) &&
	    (i + 2 == n || !is_alpha(s[i + 2]))) {
		char a = (char)lower(s[i]), b = (char)lower(s[i + 1]);
		if ((a == 's' && b == 't') || (a == 'n' && b == 'd') ||
		    (a == 'r' && b == 'd') || (a == 't' && b == 'h'))
			i += 2;
	}
	return i;
}

static size_t tokenize(const char *text, size_t n, struct tok *t, size_t max)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t nt = 0, i = 0;

	while (i < n && nt < max) {
		const char *code = NULL;
		size_t k;
		struct tok *cur = &t[nt];
		memset(cur, 0, sizeof(*cur));
		cur->off = i;
		if (is_digit(s[i]) ||
		    (s[i] == '+' && i + 1 < n && is_digit(s[i + 1]))) {
			cur->plus = s[i] == '+';
			k = cur->plus +
			    scan_number(s + i + cur->plus, n - i - cur->plus);
			cur->kind = T_NUM;
		} else if ((k = currency_sign(s + i, n - i, &code)) > 0) {
			cur->kind = T_CUR;
			cur->len = k;
			snprintf(cur->w, sizeof(cur->w), "%s", code);
			nt++;
			i += k;
			continue;
		} else if (is_alpha(s[i]) ||
			   (s[i] >= 0x80 && !is_apostrophe(s + i, n - i))) {
			k = 0;
			while (i + k < n) {
				const unsigned char *p = s + i + k;
				if (is_alpha(*p) || is_digit(*p)) {
					k++;
				} else if (is_apostrophe(p, n - i - k)) {
					size_t a = *p == '\'' ? 1 : 3;
					/* only inside a word */
					if (i + k + a >= n ||
					    !is_alpha(s[i + k + a]))
						break;
					k += a;
				} else if (*p >= 0x80 &&
					   currency_sign(p, n - i - k, &code) ==
						   0) {
					k++;
				} else {
					break;
				}
			}
			cur->kind = T_WORD;
		} else {
			/* a stray U+2019 goes whole, not byte by byte */
			i += s[i] >= 0x80 ? 3 : 1;
			continue;
		}
		cur->len = k;
		set_word(cur, text);
		nt++;
		i += k;
	}
	return nt;
}

/* Fillers go ("twenty um five dollars"); "uh huh" and "mm hmm" stay. */
static size_t drop_fillers(struct tok *t, size_t nt)
{
	size_t k = 0;
	bool keep_next = false;
	for (size_t i = 0; i < nt; i++) {
		bool keep = keep_next || t[i].kind != T_WORD ||
			    !in_list(t[i].w, LIST(fillers));
		keep_next = false;
		if (!keep && i + 1 < nt && in_list(t[i].w, LIST(yes_first)) &&
		    in_list(t[i + 1].w, LIST(yes_second))) {
			keep = true;
			keep_next = true;
		}
		if (keep)
			t[k++] = t[i];
	}
	return k;
}

static bool word_is(const struct ctx *c, size_t i, const char *w)
{
	return i < c->nt && c->t[i].kind == T_WORD && strcmp(c->t[i].w, w) == 0;
}

/* ---- confirmation ---- */

struct phrase {
	const char *words[4];
	const char *value; /* NULL: recognized to be ignored ("not sure") */
};

static const struct phrase confirms[] = {
	{ { "yes" }, "yes" },
	{ { "yeah" }, "yes" },
	{ { "yea" }, "yes" },
	{ { "yep" }, "yes" },
	{ { "yup" }, "yes" },
	{ { "sure" }, "yes" },
	{ { "correct" }, "yes" },
	{ { "ok" }, "yes" },
	{ { "okay" }, "yes" },
	{ { "absolutely" }, "yes" },
	{ { "affirmative" }, "yes" },
	{ { "definitely" }, "yes" },
	{ { "certainly" }, "yes" },
	{ { "exactly" }, "yes" },
	{ { "of", "course" }, "yes" },
	{ { "uh", "huh" }, "yes" },
	{ { "mm", "hmm" }, "yes" },
	{ { "um", "hmm" }, "yes" },
	{ { "that's", "right" }, "yes" },
	{ { "thats", "right" }, "yes" },
	{ { "that", "is", "right" }, "yes" },
	{ { "sounds", "good" }, "yes" },
	{ { "go", "ahead" }, "yes" },
	{ { "no" }, "no" },
	{ { "nope" }, "no" },
	{ { "nah" }, "no" },
	{ { "negative" }, "no" },
	{ { "incorrect" }, "no" },
	{ { "not", "really" }, "no" },
	{ { "not", "correct" }, "no" },
	{ { "not", "right" }, "no" },
	{ { "that's", "wrong" }, "no" },
	{ { "thats", "wrong" }, "no" },
	{ { "that", "is", "wrong" }, "no" },
	{ { "that's", "not", "right" }, "no" },
	{ { "thats", "not", "right" }, "no" },
	{ { "that", "is", "not", "right" }, "no" },
	{ { "not", "sure" }, NULL },
	{ { "make", "sure" }, NULL },
	{ { "no", "idea" }, NULL },
	{ { "no", "problem" }, NULL },
	{ { "no", "one" }, NULL },
};

static size_t match_confirm(const struct ctx *c, size_t i, struct found *f,
			    bool *ignore)
{
	size_t best = 0;
	const char *value = NULL;
	for (size_t p = 0; p < sizeof(confirms) / sizeof(confirms[0]); p++) {
		size_t k = 0;
		while (k < 4 && confirms[p].words[k] &&
		       word_is(c, i + k, confirms[p].words[k]))
			k++;
		bool whole = k == 4 || !confirms[p].words[k];
		if (whole && k > best) {
			best = k;
			value = confirms[p].value;
		}
	}
	if (best == 0)
		return 0;
	*ignore = value == NULL;
	if (value) {
		f->type = NLU_ENTITY_CONFIRM;
		snprintf(f->value, sizeof(f->value), "%s", value);
	}
	return best;
}

/* ---- numbers shared by money, dates and plain numbers ---- */

/* A written number "1250", "1,250.40", "12.5": integer and decimals. */
static bool parse_written(const char *w, int64_t *ival, char *frac, size_t fcap)
{
	int64_t v = 0;
	size_t nd = 0, nf = 0;
	bool dot = false;
	frac[0] = '\0';
	for (const char *p = w; *p; p++) {
		if (is_digit(*p)) {
			if (dot) {
				if (nf + 1 >= fcap)
					return false;
				frac[nf++] = *p;
				frac[nf] = '\0';
			} else {
				if (v > (NLU_NUM_VALUE_MAX - 9) / 10)
					return false;
				v = v * 10 + (*p - '0');
				nd++;
			}
		} else if (*p == ',' && !dot) {
			continue;
		} else if (*p == '.' && !dot) {
			dot = true;
		} else {
			return false;
		}
	}
	if (nd == 0)
		return false;
	*ival = v;
	return true;
}

/* An amount at i: written or spoken, not an ordinal. */
static size_t parse_amount(const struct ctx *c, size_t i, int64_t *ival,
			   char *frac, size_t fcap)
{
	if (i >= c->nt)
		return 0;
	if (c->t[i].kind == T_NUM)
		return !c->t[i].plus &&
		       parse_written(c->t[i].w, ival, frac, fcap);
	struct nlu_num num;
	size_t k = nlu_num_parse_cardinal(c->wp + i, c->nt - i, &num);
	if (k == 0 || num.ordinal || strlen(num.frac) >= fcap)
		return 0;
	*ival = num.value;
	snprintf(frac, fcap, "%s", num.frac);
	return k;
}

/* ---- money ---- */

struct currency_word {
	const char *w;
	const char *code;
};

static const struct currency_word currencies[] = {
	{ "dollar", "USD" }, { "dollars", "USD" }, { "buck", "USD" },
	{ "bucks", "USD" },  { "usd", "USD" },	   { "euro", "EUR" },
	{ "euros", "EUR" },  { "eur", "EUR" },	   { "pound", "GBP" },
	{ "pounds", "GBP" }, { "quid", "GBP" },	   { "gbp", "GBP" },
};

static const char *currency_at(const struct ctx *c, size_t i)
{
	if (i >= c->nt || c->t[i].kind != T_WORD)
		return NULL;
	for (size_t k = 0; k < sizeof(currencies) / sizeof(currencies[0]); k++)
		if (strcmp(c->t[i].w, currencies[k].w) == 0)
			return currencies[k].code;
	return NULL;
}

static const char *cents_at(const struct ctx *c, size_t i)
{
	if (word_is(c, i, "cent") || word_is(c, i, "cents"))
		return "USD";
	if (word_is(c, i, "pence") || word_is(c, i, "penny"))
		return "GBP";
	return NULL;
}

static size_t match_money(const struct ctx *c, size_t i, struct found *f)
{
	const char *code = NULL;
	int64_t units = 0, cents = 0;
	char frac[10];
	size_t j = i, k;

	if (c->t[j].kind == T_CUR)
		code = c->t[j++].w;
	bool symbol = code != NULL;
	if (!code && word_is(c, j, "a") && currency_at(c, j + 1)) {
		/* "a dollar" */
		units = 1;
		frac[0] = '\0';
		k = 1;
	} else {
		k = parse_amount(c, j, &units, frac, sizeof(frac));
	}
	if (k == 0 || strlen(frac) > 2)
		return 0;
	j += k;
	cents = frac[0] ? (frac[0] - '0') * 10 + (frac[1] ? frac[1] - '0' : 0)
			: 0;

	const char *word = currency_at(c, j);
	if (word && (!code || strcmp(word, code) == 0)) {
		code = word;
		j++;
	}
	if (!code) {
		/* "fifty cents" */
		const char *cc = cents_at(c, j);
		if (!cc || frac[0] || units > NLU_NUM_VALUE_MAX / 100)
			return 0;
		code = cc;
		cents = units % 100;
		units /= 100;
		j++;
	} else if (!frac[0]) {
		/* "... dollars and forty cents" */
		size_t a = j + word_is(c, j, "and");
		int64_t v;
		char f2[10];
		size_t k2 = parse_amount(c, a, &v, f2, sizeof(f2));
		if (k2 > 0 && !f2[0] && v < 100 && cents_at(c, a + k2)) {
			cents = v;
			j = a + k2 + 1;
		} else if (k2 > 0 && a == j && !symbol && !f2[0] && v >= 10 &&
			   v < 100 && c->t[j].kind == T_WORD &&
			   !currency_at(c, j + k2)) {
			/* "nineteen dollars ninety nine"; a single digit
			 * after the unit is too often something else */
			cents = v;
			j += k2;
		}
	}
	f->type = NLU_ENTITY_MONEY;
	f->unit = code;
	snprintf(f->value, sizeof(f->value), "%lld.%02lld", (long long)units,
		 (long long)cents);
	return j - i;
}

/* ---- dates ---- */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * algorithm): exact for every year we accept. */
static long days_from_civil(long y, long m, long d)
{
	y -= m <= 2;
	long era = (y >= 0 ? y : y - 399) / 400;
	long yoe = y - era * 400;
	long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(long z, int *y, int *m, int *d)
{
	z += 719468;
	long era = (z >= 0 ? z : z - 146096) / 146097;
	long doe = z - era * 146097;
	long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	long mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

/* 0 = Sunday */
static int weekday(long z)
{
	return (int)(z >= -4 ? (z + 4) % 7 : (z + 5) % 7 + 6);
}

static int days_in_month(int y, int m)
{
	static const int dim[] = { 31, 28, 31, 30, 31, 30,
				   31, 31, 30, 31, 30, 31 };
	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return dim[m - 1];
}

static bool valid_date(int y, int m, int d)
{
	return y >= 1900 && y <= 2199 && m >= 1 && m <= 12 && d >= 1 &&
	       d <= days_in_month(y, m);
}

static void set_date(struct found *f, long days)
{
	int y, m, d;
	civil_from_days(days, &y, &m, &d);
	f->type = NLU_ENTITY_DATE;
	snprintf(f->value, sizeof(f->value), "%04d-%02d-%02d", y, m, d);
}

static const char *const months[] = {
	"january", "february", "march",	    "april",   "may",	   "june",
	"july",	   "august",   "september", "october", "november", "december",
};

static int month_at(const struct ctx *c, size_t i)
{
	if (i >= c->nt || c->t[i].kind != T_WORD)
		return 0;
	for (int m = 0; m < 12; m++)
		if (strcmp(c->t[i].w, months[m]) == 0)
			return m + 1;
	if (strcmp(c->t[i].w, "sept") == 0)
		return 9;
	return 0;
}

static const char *const weekdays[] = { "sunday",    "monday",	 "tuesday",
					"wednesday", "thursday", "friday",
					"saturday" };

static int weekday_at(const struct ctx *c, size_t i)
{
	if (i >= c->nt || c->t[i].kind != T_WORD)
		return -1;
	for (int d = 0; d < 7; d++)
		if (strcmp(c->t[i].w, weekdays[d]) == 0)
			return d;
	return -1;
}

/* A day of the month at i ("third", "twenty first", "3", "3rd"); ordinal_only
 * for "the third". */
static size_t day_at(const struct ctx *c, size_t i, bool ordinal_only, int *day)
{
	if (i >= c->nt)
		return 0;
	if (word_is(c, i, "second")) {
		*day = 2;
		return 1;
	}
	if (c->t[i].kind == T_NUM) {
		const char *w = c->t[i].w;
		size_t nd = 0;
		while (is_digit(w[nd]))
			nd++;
		bool ord = w[nd] != '\0';
		if (ord && !is_alpha(w[nd]))
			return 0; /* "1,5", "3/4" */
		if (c->t[i].plus || nd == 0 || nd > 2 ||
		    (w[nd] && strlen(w + nd) != 2) || (ordinal_only && !ord))
			return 0;
		*day = atoi(w);
		return *day >= 1 && *day <= 31;
	}
	struct nlu_num num;
	size_t k = nlu_num_parse_cardinal(c->wp + i, c->nt - i, &num);
	if (k == 0 || num.frac[0] || num.value < 1 || num.value > 31 ||
	    (ordinal_only && !num.ordinal))
		return 0;
	*day = (int)num.value;
	return k;
}

static size_t year_at(const struct ctx *c, size_t i, int *year)
{
	if (i >= c->nt)
		return 0;
	if (c->t[i].kind == T_NUM) {
		const char *w = c->t[i].w;
		if (strlen(w) != 4 || !is_digit(w[0]) || !is_digit(w[1]) ||
		    !is_digit(w[2]) || !is_digit(w[3]) || c->t[i].plus)
			return 0;
		*year = atoi(w);
		return *year >= 1900 && *year <= 2199;
	}
	struct nlu_num num;
	size_t kc = nlu_num_parse_cardinal(c->wp + i, c->nt - i, &num);
	if (kc > 0 && !num.ordinal && !num.frac[0] && num.value >= 1900 &&
	    num.value <= 2199) {
		*year = (int)num.value;
		return kc;
	}
	/* "twenty twenty six", "nineteen ninety nine" */
	char digits[NLU_NUM_DIGITS_MAX + 1];
	size_t groups = 0;
	size_t kd = nlu_num_parse_digits(c->wp + i, c->nt - i, digits,
					 sizeof(digits), &groups);
	if (kd > 0 && groups >= 2 && strlen(digits) == 4) {
		*year = atoi(digits);
		if (*year >= 1900 && *year <= 2199)
			return kd;
	}
	return 0;
}

/* Month and day without a year: the first such date on or after the
 * reference date. */
static bool resolve_future(const struct ctx *c, int m, int d, long *days)
{
	int ry, rm, rd;
	civil_from_days(c->ref_days, &ry, &rm, &rd);
	for (int y = ry; y <= ry + 8; y++) {
		if (!valid_date(y, m, d))
			continue;
		long z = days_from_civil(y, m, d);
		if (z >= c->ref_days) {
			*days = z;
			return true;
		}
	}
	return false;
}

static size_t finish_md(const struct ctx *c, size_t j, int m, int d,
			struct found *f, size_t i)
{
	int y;
	size_t ky = year_at(c, j, &y);
	long z;
	if (ky > 0) {
		if (!valid_date(y, m, d))
			return 0;
		z = days_from_civil(y, m, d);
	} else if (!resolve_future(c, m, d, &z)) {
		return 0;
	}
	set_date(f, z);
	return j + ky - i;
}

/* "3/14/2026", "3/14/26", "3/14", "2026-03-14" */
static size_t match_numeric_date(const struct ctx *c, size_t i, struct found *f)
{
	const char *w = c->t[i].w;
	int a, b, y;
	char s1, s2, tail;
	long z;

	if (c->t[i].plus)
		return 0;
	int n = sscanf(w, "%4d%c%2d%c%2d%c", &y, &s1, &a, &s2, &b, &tail);
	if (n == 5 && s1 == '-' && s2 == '-' && strlen(w) == 10) {
		if (!valid_date(y, a, b))
			return 0;
		set_date(f, days_from_civil(y, a, b));
		return 1;
	}
	n = sscanf(w, "%2d%c%2d%c%4d%c", &a, &s1, &b, &s2, &y, &tail);
	if (n == 5 && s1 == '/' && s2 == '/') {
		const char *last = strrchr(w, '/') + 1;
		if (strlen(last) == 2)
			y += 2000;
		else if (strlen(last) != 4)
			return 0;
		if (!valid_date(y, a, b))
			return 0;
		set_date(f, days_from_civil(y, a, b));
		return 1;
	}
	if (n == 3 && s1 == '/' && a >= 1 && a <= 12 &&
	    resolve_future(c, a, b, &z)) {
		set_date(f, z);
		return 1;
	}
	return 0;
}

/* Words after "the <ordinal>" that make it a choice, not a date. */
static const char *const not_date_after[] = {
	"one",	   "option", "choice", "time",	 "item",  "thing",
	"account", "card",   "number", "person", "place", "step",
};

static size_t match_date(const struct ctx *c, size_t i, struct found *f)
{
	size_t j = i, k;
	int m, d, wd;

	if (c->t[i].kind == T_NUM && (k = match_numeric_date(c, i, f)) > 0)
		return k;
	if (word_is(c, i, "today") || word_is(c, i, "tonight")) {
		set_date(f, c->ref_days);
		return 1;
	}
	if (word_is(c, i, "tomorrow")) {
		set_date(f, c->ref_days + 1);
		return 1;
	}
	if (word_is(c, i, "yesterday")) {
		set_date(f, c->ref_days - 1);
		return 1;
	}
	if (word_is(c, i, "day") && word_is(c, i + 1, "after") &&
	    word_is(c, i + 2, "tomorrow")) {
		set_date(f, c->ref_days + 2);
		return 3;
	}
	if (word_is(c, i, "day") && word_is(c, i + 1, "before") &&
	    word_is(c, i + 2, "yesterday")) {
		set_date(f, c->ref_days - 2);
		return 3;
	}
	/* "friday", "this friday": on or after today; "next friday": after
	 * today; "last friday": before today */
	int rel = 0;
	if (word_is(c, i, "this") || word_is(c, i, "coming"))
		rel = 1;
	else if (word_is(c, i, "next"))
		rel = 2;
	else if (word_is(c, i, "last"))
		rel = 3;
	if ((wd = weekday_at(c, i + (rel > 0))) >= 0) {
		int today = weekday(c->ref_days);
		long delta = (wd - today + 7) % 7;
		if (rel == 2 && delta == 0)
			delta = 7;
		if (rel == 3) {
			long back = (today - wd + 7) % 7;
			delta = -(back == 0 ? 7 : back);
		}
		set_date(f, c->ref_days + delta);
		return 1 + (rel > 0);
	}
	/* "in two weeks", "in 3 days", "in a week" */
	if (word_is(c, i, "in")) {
		int64_t v = 1;
		char frac[10] = "";
		k = word_is(c, i + 1, "a")
			    ? 1
			    : parse_amount(c, i + 1, &v, frac, sizeof(frac));
		if (k > 0 && !frac[0] && v >= 1 && v <= 3650) {
			size_t u = i + 1 + k;
			long mult = 0;
			if (word_is(c, u, "day") || word_is(c, u, "days"))
				mult = 1;
			else if (word_is(c, u, "week") ||
				 word_is(c, u, "weeks"))
				mult = 7;
			if (mult) {
				set_date(f, c->ref_days + (long)v * mult);
				return u + 1 - i;
			}
		}
		return 0;
	}
	/* "march third [2026]", "march the 3rd" */
	if ((m = month_at(c, j)) > 0) {
		j++;
		size_t the = word_is(c, j, "the");
		if ((k = day_at(c, j + the, false, &d)) > 0)
			return finish_md(c, j + the + k, m, d, f, i);
		return 0;
	}
	/* "[the] third of march [2026]", "the 5th" */
	size_t the = word_is(c, j, "the");
	if ((k = day_at(c, j + the, true, &d)) == 0)
		return 0;
	j += the + k;
	if (word_is(c, j, "of") && (m = month_at(c, j + 1)) > 0)
		return finish_md(c, j + 2, m, d, f, i);
	if (!the || (j < c->nt && in_list(c->t[j].w, LIST(not_date_after))))
		return 0;
	/* the next day-of-month d on or after the reference date */
	int ry, rm, rd;
	civil_from_days(c->ref_days, &ry, &rm, &rd);
	for (int step = 0; step < 13; step++) {
		int y = ry + (rm - 1 + step) / 12,
		    mm = (rm - 1 + step) % 12 + 1;
		if (d <= days_in_month(y, mm) && (step > 0 || d >= rd)) {
			set_date(f, days_from_civil(y, mm, d));
			return j - i;
		}
	}
	return 0;
}

/* ---- numbers, digit strings, phones, cards, accounts ---- */

int nlu_luhn_valid(const char *digits)
{
	size_t n = digits ? strlen(digits) : 0;
	int sum = 0;
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char ch = digits[n - 1 - i];
		if (!is_digit(ch))
			return 0;
		int v = ch - '0';
		if (i % 2 == 1) {
			v *= 2;
			if (v > 9)
				v -= 9;
		}
		sum += v;
	}
	return sum % 10 == 0;
}

static void classify_digits(const struct ctx *c, const char *d, bool plus,
			    struct found *f)
{
	size_t n = strlen(d);
	f->type = NLU_ENTITY_DIGITS;
	if (plus) {
		if (n >= 8 && n <= 15 && d[0] != '0')
			f->type = NLU_ENTITY_PHONE;
		snprintf(f->value, sizeof(f->value), "%s%s",
			 f->type == NLU_ENTITY_PHONE ? "+" : "", d);
		return;
	}
	/* NANP: area code and exchange start with 2-9 */
	if (n == 10 && d[0] >= '2' && d[3] >= '2') {
		f->type = NLU_ENTITY_PHONE;
		snprintf(f->value, sizeof(f->value), "+1%s", d);
		return;
	}
	if (n == 11 && d[0] == '1' && d[1] >= '2' && d[4] >= '2') {
		f->type = NLU_ENTITY_PHONE;
		snprintf(f->value, sizeof(f->value), "+%s", d);
		return;
	}
	if (n >= 13 && n <= 19 && nlu_luhn_valid(d))
		f->type = NLU_ENTITY_CARD;
	else if (n >= c->acct_min && n <= c->acct_max)
		f->type = NLU_ENTITY_ACCOUNT;
	else if (n >= 13 && n <= 19)
		f->type = NLU_ENTITY_CARD_INVALID;
	snprintf(f->value, sizeof(f->value), "%s", d);
}

static const char *ordinal_of(const char *w)
{
	size_t nd = 0;
	while (is_digit(w[nd]))
		nd++;
	return nd > 0 && nd <= 9 && strlen(w + nd) == 2 ? w + nd : NULL;
}

static const char *const one_pronoun_after[] = {
	"the",	 "that", "this",    "which", "no",     "every", "any",
	"some",	 "each", "another", "other", "last",   "next",	"right",
	"wrong", "new",	 "old",	    "same",  "little", "big",	"second",
};

/* Whether "one" after token p means a thing, not the number 1. */
static bool one_is_pronoun(const struct ctx *c, size_t p)
{
	struct nlu_num num;
	if (in_list(c->t[p].w, LIST(one_pronoun_after)))
		return true;
	return c->t[p].kind == T_WORD &&
	       nlu_num_parse_cardinal(c->wp + p, 1, &num) == 1 && num.ordinal;
}

static size_t match_number(const struct ctx *c, size_t i, struct found *f)
{
	const struct tok *t = &c->t[i];
	char digits[NLU_NUM_DIGITS_MAX + 1];
	size_t groups = 0;

	if (t->kind == T_NUM && !t->plus) {
		if (strpbrk(t->w, ".,")) {
			int64_t v;
			char frac[10];
			if (!parse_written(t->w, &v, frac, sizeof(frac)))
				return 1;
			f->type = NLU_ENTITY_NUMBER;
			snprintf(f->value, sizeof(f->value), "%lld%s%s",
				 (long long)v, frac[0] ? "." : "", frac);
			return 1;
		}
		if (ordinal_of(t->w)) {
			f->type = NLU_ENTITY_ORDINAL;
			snprintf(f->value, sizeof(f->value), "%d", atoi(t->w));
			return 1;
		}
		if (strchr(t->w, '/'))
			return 1; /* not a date we understand */
	}
	struct nlu_num num = { 0 };
	size_t kc = t->kind == T_WORD
			    ? nlu_num_parse_cardinal(c->wp + i, c->nt - i, &num)
			    : 0;
	size_t kd = nlu_num_parse_digits(c->wp + i, c->nt - i, digits,
					 sizeof(digits), &groups);
	if (kd > kc && groups >= 2) {
		classify_digits(c, digits, t->plus, f);
		return kd;
	}
	if (kd == 1 && t->kind == T_NUM) {
		size_t n = strlen(digits);
		if (t->plus || n >= c->acct_min || n >= 10 ||
		    (digits[0] == '0' && n > 1)) {
			classify_digits(c, digits, t->plus, f);
		} else {
			f->type = NLU_ENTITY_NUMBER;
			snprintf(f->value, sizeof(f->value), "%s", digits);
		}
		return 1;
	}
	if (kc == 0 && i > 0 && word_is(c, i, "second") &&
	    word_is(c, i - 1, "the")) {
		/* "the second": an ordinal here, not a unit of time */
		f->type = NLU_ENTITY_ORDINAL;
		snprintf(f->value, sizeof(f->value), "2");
		return 1;
	}
	if (kc == 0)
		return 0;
	if (kc == 1 && strcmp(t->w, "one") == 0 && i > 0 &&
	    one_is_pronoun(c, i - 1))
		return 1; /* "the third one", "that one" */
	f->type = num.ordinal ? NLU_ENTITY_ORDINAL : NLU_ENTITY_NUMBER;
	snprintf(f->value, sizeof(f->value), "%lld%s%s", (long long)num.value,
		 num.frac[0] ? "." : "", num.frac);
	return kc;
}

/* ---- driver ---- */

static void copy_out(const struct ctx *c, size_t i, size_t k,
		     const struct found *f, struct nlu_entity *e)
{
	memset(e, 0, sizeof(*e));
	e->type = f->type;
	e->off = c->t[i].off;
	e->len = c->t[i + k - 1].off + c->t[i + k - 1].len - e->off;
	size_t n = e->len < NLU_ENTITY_TEXT_MAX - 1 ? e->len
						    : NLU_ENTITY_TEXT_MAX - 1;
	/* do not cut a UTF-8 sequence */
	if (n < e->len)
		while (n > 0 &&
		       ((unsigned char)c->text[e->off + n] & 0xc0) == 0x80)
			n--;
	memcpy(e->text, c->text + e->off, n);
	e->text[n] = '\0';
	snprintf(e->value, sizeof(e->value), "%s", f->value);
	snprintf(e->unit, sizeof(e->unit), "%s", f->unit ? f->unit : "");
}

static int reference_days(const struct nlu_entities_opts *o, long *days)
{
	int y, m, d;
	if (o && (o->ref_year || o->ref_month || o->ref_day)) {
		y = o->ref_year;
		m = o->ref_month;
		d = o->ref_day;
		if (!valid_date(y, m, d))
			return -EINVAL;
	} else {
		time_t now = time(NULL);
		struct tm tm;
		if (!gmtime_r(&now, &tm))
			return -EINVAL;
		y = tm.tm_year + 1900;
		m = tm.tm_mon + 1;
		d = tm.tm_mday;
	}
	*days = days_from_civil(y, m, d);
	return 0;
}

int nlu_entities_extract(const char *text, const struct nlu_entities_opts *opts,
			 struct nlu_entity *out, size_t max, size_t *n)
{
	struct ctx c = { .text = text };
	int rc;

	if (!text || !n || (!out && max > 0))
		return -EINVAL;
	size_t len = strnlen(text, NLU_ENTITIES_MAX_IN + 1);
	if (len > NLU_ENTITIES_MAX_IN)
		return -E2BIG;
	if ((rc = reference_days(opts, &c.ref_days)) < 0)
		return rc;
	c.acct_min =
		opts && opts->account_min_digits ? opts->account_min_digits : 6;
	c.acct_max = opts && opts->account_max_digits ? opts->account_max_digits
						      : 12;
	if (c.acct_max < c.acct_min)
		return -EINVAL;
	if (max > NLU_ENTITIES_MAX)
		max = NLU_ENTITIES_MAX;

	/* one token per byte at most ("$$$", "5x") */
	size_t cap = len + 1 < MAX_TOKENS ? len + 1 : MAX_TOKENS;
	c.t = malloc(cap * sizeof(*c.t));
	c.wp = malloc(cap * sizeof(*c.wp));
	if (!c.t || !c.wp) {
		free(c.t);
		free(c.wp);
		return -ENOMEM;
	}
	c.nt = tokenize(text, len, c.t, cap);
	c.nt = drop_fillers(c.t, c.nt);
	for (size_t i = 0; i < c.nt; i++)
		c.wp[i] = c.t[i].w + c.t[i].plus;

	size_t found = 0;
	for (size_t i = 0; i < c.nt && found < max;) {
		struct found f = { 0 };
		bool ignore = false;
		size_t k = match_confirm(&c, i, &f, &ignore);
		if (k == 0)
			k = match_money(&c, i, &f);
		if (k == 0)
			k = match_date(&c, i, &f);
		if (k == 0)
			k = match_number(&c, i, &f);
		if (k == 0) {
			i++;
			continue;
		}
		if (!ignore && f.value[0])
			copy_out(&c, i, k, &f, &out[found++]);
		i += k;
	}
	free(c.t);
	free(c.wp);
	*n = found;
	return 0;
}

const char *nlu_entity_type_name(enum nlu_entity_type type)
{
	switch (type) {
	case NLU_ENTITY_NUMBER:
		return "number";
	case NLU_ENTITY_ORDINAL:
		return "ordinal";
	case NLU_ENTITY_DIGITS:
		return "digits";
	case NLU_ENTITY_MONEY:
		return "money";
	case NLU_ENTITY_DATE:
		return "date";
	case NLU_ENTITY_ACCOUNT:
		return "account";
	case NLU_ENTITY_PHONE:
		return "phone";
	case NLU_ENTITY_CARD:
		return "card";
	case NLU_ENTITY_CARD_INVALID:
		return "card_invalid";
	case NLU_ENTITY_CONFIRM:
		return "confirm";
	}
	return "unknown";
}

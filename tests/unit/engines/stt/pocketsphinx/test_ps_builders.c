/* The PocketSphinx builders on their text output: spoken forms, JSGF for
 * phrases and classes (parsed back by sphinxbase), the restricted
 * dictionary with an out-of-vocabulary word through letter-to-sound, and
 * the ARPA LM (counts, format, each conditional distribution sums to 1,
 * loadable by sphinxbase). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pocketsphinx.h>
#include <sphinxbase/jsgf.h>
#include <sphinxbase/ngram_model.h>

#include "engines/stt/pocketsphinx/ps_build.h"
#include "engines/stt/stt.h"

static struct stt_grammar *make(enum stt_mode mode, const char *const *p,
				size_t n, unsigned classes)
{
	struct stt_grammar *g = NULL;
	assert_int_equal(stt_grammar_create(&g, mode, p, n, classes), 0);
	return g;
}

static void spoken_forms_spell_numbers(void **s)
{
	(void)s;
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "press 1", "press one" },
		{ "250 dollars", "two hundred fifty dollars" },
		{ "1000", "one thousand" },
		{ "9999", "nine thousand nine hundred ninety nine" },
		{ "2015", "two thousand fifteen" },
		{ "0044", "zero zero four four" },
		{ "12345", "one two three four five" },
		{ "0", "zero" },
		{ "2nd", "two nd" },
		{ "card services", "card services" },
	};
	char out[256];
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		int n = ps_spoken_form(cases[i].in, out, sizeof(out));
		assert_int_equal(n, (int)strlen(cases[i].out));
		assert_string_equal(out, cases[i].out);
	}
	assert_int_equal(ps_spoken_form("1000", out, 5), -E2BIG);
	assert_int_equal(ps_spoken_form("a", out, 0), -E2BIG);
	assert_true(ps_word_ok("that's"));
	assert_false(ps_word_ok("'tis"));
	assert_false(ps_word_ok("a<b"));
	assert_false(ps_word_ok("\"public\""));
	assert_false(ps_word_ok(""));
	assert_false(ps_word_ok("caf\xc3\xa9"));
}

static void jsgf_lists_phrases_as_one_public_rule(void **s)
{
	(void)s;
	static const char *const p[] = { "Card Services", "press 1", "agent" };
	struct stt_grammar *g = make(STT_MODE_GRAMMAR, p, 3, 0);
	char *j = NULL;
	assert_int_equal(ps_jsgf_build(g, &j), 0);
	assert_string_equal(j, "#JSGF V1.0;\n"
			       "grammar voxgate;\n"
			       "<phrase> = card services | press one | agent;\n"
			       "public <main> = <phrase>;\n");
	assert_string_equal(ps_grammar_phrase_of(g, "press one"), "press 1");
	assert_string_equal(ps_grammar_phrase_of(g, "agent"), "agent");
	assert_null(ps_grammar_phrase_of(g, "press"));
	free(j);
	stt_grammar_deref(g);

	/* a phrase with no usable word is left out; none left: -EINVAL */
	static const char *const bad[] = { "caf\xc3\xa9" };
	g = make(STT_MODE_GRAMMAR, bad, 1, 0);
	assert_int_equal(ps_jsgf_build(g, &j), -EINVAL);
	stt_grammar_deref(g);
	g = make(STT_MODE_LM, p, 3, 0);
	assert_int_equal(ps_jsgf_build(g, &j), -EINVAL);
	stt_grammar_deref(g);
}

static void jsgf_classes_parse_in_sphinxbase(void **s)
{
	(void)s;
	static const char *const p[] = { "yes", "operator" };
	struct stt_grammar *g =
		make(STT_MODE_GRAMMAR, p, 2,
		     STT_CLASS_DIGITS | STT_CLASS_YESNO | STT_CLASS_NUMBER);
	char *j = NULL;
	assert_int_equal(ps_jsgf_build(g, &j), 0);
	assert_non_null(strstr(j, "<digit> = zero | oh | one | two"));
	assert_non_null(strstr(j, "<digits> = <digit> [<digit> [<digit>"));
	assert_non_null(strstr(j, "<yesno> = yes | yeah | yep"));
	assert_non_null(strstr(j, "that's right"));
	assert_non_null(strstr(j, "| that is right |"));
	assert_non_null(strstr(j, "<number> = zero | <n1_999>"));
	assert_non_null(strstr(j, "public <main> = <phrase> | <digits> | "
				  "<yesno> | <number>;\n"));
	/* 20 digits at most: 19 nested optionals */
	size_t opens = 0;
	for (const char *q = strstr(j, "<digits> ="); *q != ';'; q++)
		opens += *q == '[';
	assert_int_equal(opens, 19);

	jsgf_t *parsed = jsgf_parse_string(j, NULL);
	assert_non_null(parsed);
	jsgf_rule_t *rule = jsgf_get_public_rule(parsed);
	assert_non_null(rule);
	assert_string_equal(jsgf_rule_name(rule), "<voxgate.main>");
	jsgf_grammar_free(parsed);
	free(j);
	stt_grammar_deref(g);
}

static const char tiny_dict[] = "card K AA R D\n"
				"card(2) K AA R D Z\n"
				"services S ER V AH S AH Z\n"
				"agent EY JH AH N T\n";

static void dictionary_keeps_used_words_and_spells_oov(void **s)
{
	(void)s;
	struct cmudict *lex = NULL;
	assert_int_equal(cmudict_parse(&lex, tiny_dict, strlen(tiny_dict)), 0);
	assert_int_equal(cmudict_count(lex), 4);
	assert_string_equal(cmudict_find(lex, "card", 1), "K AA R D Z");
	assert_null(cmudict_find(lex, "card", 2));
	assert_null(cmudict_find(lex, "cards", 0));

	static const char *const p[] = { "card services", "voxgate" };
	struct stt_grammar *g = make(STT_MODE_GRAMMAR, p, 2, 0);
	char *d = NULL, *oov = NULL;
	assert_int_equal(ps_dict_build(g, lex, 0, &d, &oov), 0);
	/* a grammar's word with S gets its telephone-band variant */
	assert_string_equal(d, "card K AA R D\n"
			       "card(2) K AA R D Z\n"
			       "services S ER V AH S AH Z\n"
			       "services(2) TH ER V AH TH AH Z\n");
	assert_string_equal(oov, "voxgate");
	free(d);
	free(oov);

	/* with letter-to-sound the new word gets CMU phones */
	assert_int_equal(ps_dict_build(g, lex, 1, &d, &oov), 0);
	assert_string_equal(oov, "");
	const char *v = strstr(d, "voxgate ");
	assert_non_null(v);
	assert_non_null(strstr(v, "V AA K S"));
	for (const char *q = v + 8; *q && *q != '\n'; q++)
		assert_true((*q >= 'A' && *q <= 'Z') || *q == ' ');
	free(d);
	free(oov);
	stt_grammar_deref(g);
	cmudict_destroy(lex);

	char ph[PS_PHONES_MAX];
	assert_int_equal(ps_lts("hello", ph, sizeof(ph)), 0);
	assert_string_equal(ph, "HH AH L OW");
	assert_int_equal(ps_lts("", ph, sizeof(ph)), -EINVAL);
	assert_int_equal(ps_lts("hello", ph, 3), -E2BIG);
}

static const char digit_dict[] = "four F AO R\n"
				 "six S IH K S\n"
				 "seven S EH V AH N\n"
				 "one W AH N\n"
				 "yes Y EH S\n";

static void dictionary_adds_band_variants_to_grammars_only(void **s)
{
	(void)s;
	struct cmudict *lex = NULL;
	assert_int_equal(cmudict_parse(&lex, digit_dict, strlen(digit_dict)),
			 0);
	static const char *const p[] = { "four six seven one yes" };
	struct stt_grammar *g = make(STT_MODE_GRAMMAR, p, 1, 0);
	char *d = NULL;
	assert_int_equal(ps_dict_build(g, lex, 0, &d, NULL), 0);
	/* S -> TH in every word that has one, "four" in two syllables,
	 * nothing for a word without S */
	assert_string_equal(d, "four F AO R\n"
			       "four(2) F OW ER\n"
			       "one W AH N\n"
			       "seven S EH V AH N\n"
			       "seven(2) TH EH V AH N\n"
			       "six S IH K S\n"
			       "six(2) TH IH K TH\n"
			       "yes Y EH S\n"
			       "yes(2) Y EH TH\n");
	free(d);
	stt_grammar_deref(g);

	/* an n-gram LM's dictionary stays the lexicon's */
	g = make(STT_MODE_LM, p, 1, 0);
	assert_int_equal(ps_dict_build(g, lex, 0, &d, NULL), 0);
	assert_string_equal(d, "four F AO R\n"
			       "one W AH N\n"
			       "seven S EH V AH N\n"
			       "six S IH K S\n"
			       "yes Y EH S\n");
	free(d);
	stt_grammar_deref(g);
	cmudict_destroy(lex);
}

static void cmu_dictionary_loads(void **s)
{
	(void)s;
	struct cmudict *lex = NULL;
	assert_int_equal(
		cmudict_load(&lex, VG_PS_MODEL_DIR "/cmudict-en-us.dict"), 0);
	assert_true(cmudict_count(lex) > 100000);
	assert_string_equal(cmudict_find(lex, "balance", 0), "B AE L AH N S");
	assert_string_equal(cmudict_find(lex, "that's", 0), "DH AE T S");
	cmudict_destroy(lex);
	assert_int_equal(cmudict_load(&lex, "/nonexistent.dict"), -ENOENT);
	assert_int_equal(cmudict_parse(&lex, "# none\n", 7), -EBADMSG);
}

/* A parsed ARPA file: probabilities and backoff weights (log10). */
struct arpa {
	size_t declared[4], seen[4];
	char *gram[4][256];
	double lp[4][256], bow[4][256];
};

static void parse_arpa(const char *text, struct arpa *a)
{
	memset(a, 0, sizeof(*a));
	char *copy = strdup(text);
	int order = 0;
	assert_true(!strncmp(copy, "\\data\\\n", 7));
	for (char *sv = NULL, *line = strtok_r(copy, "\n", &sv); line;
	     line = strtok_r(NULL, "\n", &sv)) {
		unsigned o;
		size_t c;
		if (sscanf(line, "ngram %u=%zu", &o, &c) == 2) {
			a->declared[o] = c;
			continue;
		}
		if (sscanf(line, "\\%u-grams:", &o) == 1) {
			order = (int)o;
			continue;
		}
		if (!order || line[0] == '\\')
			continue;
		/* logp w1 .. wo [bow] */
		char *tok[5];
		int nt = 0;
		for (char *s2 = NULL, *t = strtok_r(line, " ", &s2);
		     t && nt < 5; t = strtok_r(NULL, " ", &s2))
			tok[nt++] = t;
		assert_true(nt == order + 1 || nt == order + 2);
		size_t k = a->seen[order]++;
		assert_true(k < 256);
		a->lp[order][k] = atof(tok[0]);
		char g[128] = "";
		for (int i = 1; i <= order; i++) {
			strcat(g, tok[i]);
			if (i < order)
				strcat(g, " ");
		}
		a->gram[order][k] = strdup(g);
		a->bow[order][k] = nt == order + 2 ? atof(tok[order + 1]) : 0;
	}
	free(copy);
}

static double find_lp(const struct arpa *a, int order, const char *g)
{
	for (size_t i = 0; i < a->seen[order]; i++)
		if (!strcmp(a->gram[order][i], g))
			return a->lp[order][i];
	return NAN;
}

/* P(w | h) over every w of the vocabulary, the ARPA way. */
static double prob(const struct arpa *a, int order, const char *h,
		   const char *w)
{
	char g[128];
	if (order == 1)
		return pow(10, find_lp(a, 1, w));
	snprintf(g, sizeof(g), "%s %s", h, w);
	double lp = find_lp(a, order, g);
	if (!isnan(lp))
		return pow(10, lp);
	double bow = 0;
	for (size_t i = 0; i < a->seen[order - 1]; i++)
		if (!strcmp(a->gram[order - 1][i], h))
			bow = a->bow[order - 1][i];
	const char *sp = strchr(h, ' ');
	return pow(10, bow) * prob(a, order - 1, sp ? sp + 1 : "", w);
}

static void arpa_is_a_normalized_witten_bell_trigram(void **s)
{
	(void)s;
	static const char *const p[] = { "I lost my card", "my card was stolen",
					 "I lost it", "block my card" };
	struct stt_grammar *g = make(STT_MODE_LM, p, 4, 0);
	char *arpa = NULL;
	assert_int_equal(ps_arpa_build(g, NULL, 3, &arpa), 0);
	struct arpa a;
	parse_arpa(arpa, &a);
	assert_int_equal(a.declared[1], 10); /* 8 words, <s>, </s> */
	for (int o = 1; o <= 3; o++)
		assert_int_equal(a.declared[o], a.seen[o]);
	assert_true(find_lp(&a, 1, "<s>") == -99.0);
	/* "my card" seen 3 times: its bigram is the likeliest after "my" */
	assert_true(find_lp(&a, 2, "my card") > -0.3);
	assert_true(!isnan(find_lp(&a, 3, "<s> i lost")));
	assert_true(isnan(find_lp(&a, 3, "lost my stolen")));

	/* every conditional distribution over the vocabulary sums to one */
	static const char *const hist[][2] = {
		{ "1", "" },   { "2", "my" },	  { "2", "<s>" },
		{ "2", "it" }, { "3", "i lost" }, { "3", "<s> my" }
	};
	for (size_t h = 0; h < sizeof(hist) / sizeof(*hist); h++) {
		int order = atoi(hist[h][0]);
		double sum = 0;
		for (size_t i = 0; i < a.seen[1]; i++) {
			if (!strcmp(a.gram[1][i], "<s>"))
				continue;
			sum += prob(&a, order, hist[h][1], a.gram[1][i]);
		}
		assert_true(fabs(sum - 1.0) < 1e-4);
	}
	for (int o = 1; o <= 3; o++)
		for (size_t i = 0; i < a.seen[o]; i++)
			free(a.gram[o][i]);

	/* sphinxbase reads it */
	char path[] = "/tmp/test-arpa-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, arpa, strlen(arpa)), (ssize_t)strlen(arpa));
	close(fd);
	logmath_t *lm = logmath_init(1.0001, 0, 0);
	ngram_model_t *m = ngram_model_read(NULL, path, NGRAM_ARPA, lm);
	assert_non_null(m);
	ngram_model_free(m);
	logmath_free(lm);
	unlink(path);
	free(arpa);

	/* words outside the dictionary are dropped; bigram order */
	assert_int_equal(
		ps_arpa_build(g, "i I\nlost L AO S T\nmy M AY\n", 2, &arpa), 0);
	parse_arpa(arpa, &a);
	assert_int_equal(a.declared[1], 5);
	assert_int_equal(a.declared[3], 0);
	assert_true(isnan(find_lp(&a, 1, "card")));
	assert_true(!isnan(find_lp(&a, 2, "lost my")));
	for (int o = 1; o <= 3; o++)
		for (size_t i = 0; i < a.seen[o]; i++)
			free(a.gram[o][i]);
	free(arpa);

	assert_int_equal(ps_arpa_build(g, NULL, 4, &arpa), -EINVAL);
	assert_int_equal(ps_arpa_build(g, "x X\n", 3, &arpa), -EINVAL);
	stt_grammar_deref(g);
	g = make(STT_MODE_GRAMMAR, p, 4, 0);
	assert_int_equal(ps_arpa_build(g, NULL, 3, &arpa), -EINVAL);
	stt_grammar_deref(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(spoken_forms_spell_numbers),
		cmocka_unit_test(jsgf_lists_phrases_as_one_public_rule),
		cmocka_unit_test(jsgf_classes_parse_in_sphinxbase),
		cmocka_unit_test(dictionary_keeps_used_words_and_spells_oov),
		cmocka_unit_test(
			dictionary_adds_band_variants_to_grammars_only),
		cmocka_unit_test(cmu_dictionary_loads),
		cmocka_unit_test(arpa_is_a_normalized_witten_bell_trigram),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

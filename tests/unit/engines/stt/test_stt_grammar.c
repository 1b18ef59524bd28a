/* struct stt_grammar: normalization, dedupe, caps, ids and refcount; snap
 * of open transcripts; the parser of grammar and LM files with its line
 * numbered errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engines/stt/stt.h"

static struct stt_grammar *make(enum stt_mode mode, const char *const *p,
				size_t n, unsigned classes)
{
	struct stt_grammar *g = NULL;
	assert_int_equal(stt_grammar_create(&g, mode, p, n, classes), 0);
	assert_non_null(g);
	return g;
}

static void phrases_are_normalized_and_deduplicated(void **s)
{
	(void)s;
	static const char *const in[] = {
		"  Card   Services! ",
		"That's right",
		"'quoted'",
		"check-in",
		"AGENT",
		"agent.",
		"",
		"?!",
		"café au lait",
		"bad \xff byte",
		"card services",
	};
	struct stt_grammar *g =
		make(STT_MODE_GRAMMAR, in, sizeof(in) / sizeof(*in), 0);
	static const char *const want[] = {
		"card services", "that's right", "quoted",   "check in",
		"agent",	 "café au lait", "bad byte",
	};
	assert_int_equal(stt_grammar_count(g), sizeof(want) / sizeof(*want));
	for (size_t i = 0; i < sizeof(want) / sizeof(*want); i++)
		assert_string_equal(stt_grammar_phrase(g, i), want[i]);
	assert_null(stt_grammar_phrase(g, 99));
	assert_int_equal(stt_grammar_mode(g), STT_MODE_GRAMMAR);
	assert_int_equal(stt_grammar_classes(g), 0);
	stt_grammar_deref(g);
}

static void caps_and_empty_grammars_are_refused(void **s)
{
	(void)s;
	struct stt_grammar *g = NULL;
	static const char *const empty[] = { "", " ... " };
	assert_int_equal(stt_grammar_create(&g, STT_MODE_GRAMMAR, empty, 2, 0),
			 -EINVAL);
	assert_int_equal(stt_grammar_create(&g, STT_MODE_OPEN, empty, 2, 0),
			 -EINVAL);
	assert_int_equal(
		stt_grammar_create(&g, STT_MODE_GRAMMAR, NULL, 0, 1u << 7),
		-EINVAL);
	assert_null(g);

	/* classes alone make a grammar */
	g = make(STT_MODE_GRAMMAR, NULL, 0, STT_CLASS_DIGITS | STT_CLASS_YESNO);
	assert_int_equal(stt_grammar_count(g), 0);
	assert_int_equal(stt_grammar_classes(g),
			 STT_CLASS_DIGITS | STT_CLASS_YESNO);
	stt_grammar_deref(g);

	char long_phrase[STT_PHRASE_MAX + 2];
	memset(long_phrase, 'a', sizeof(long_phrase) - 1);
	long_phrase[sizeof(long_phrase) - 1] = '\0';
	const char *lp = long_phrase;
	g = NULL;
	assert_int_equal(stt_grammar_create(&g, STT_MODE_GRAMMAR, &lp, 1, 0),
			 -EINVAL);
	long_phrase[STT_PHRASE_MAX] = '\0'; /* exactly the cap is fine */
	g = make(STT_MODE_GRAMMAR, &lp, 1, 0);
	stt_grammar_deref(g);

	const char *many[STT_PHRASES_MAX + 1];
	char buf[STT_PHRASES_MAX + 1][16];
	for (size_t i = 0; i <= STT_PHRASES_MAX; i++) {
		snprintf(buf[i], sizeof(buf[i]), "phrase %zu", i);
		many[i] = buf[i];
	}
	g = NULL;
	assert_int_equal(stt_grammar_create(&g, STT_MODE_GRAMMAR, many,
					    STT_PHRASES_MAX + 1, 0),
			 -EINVAL);
	/* an LM has no phrase cap */
	g = make(STT_MODE_LM, many, STT_PHRASES_MAX + 1, STT_CLASS_DIGITS);
	assert_int_equal(stt_grammar_count(g), STT_PHRASES_MAX + 1);
	assert_int_equal(stt_grammar_classes(g), 0); /* classes: grammars */
	stt_grammar_deref(g);
}

static void ids_are_unique_and_refs_count(void **s)
{
	(void)s;
	static const char *const p[] = { "yes" };
	struct stt_grammar *a = make(STT_MODE_GRAMMAR, p, 1, 0);
	struct stt_grammar *b = make(STT_MODE_GRAMMAR, p, 1, 0);
	assert_true(stt_grammar_id(a) != 0);
	assert_true(stt_grammar_id(b) > stt_grammar_id(a));
	assert_ptr_equal(stt_grammar_ref(a), a);
	assert_null(stt_grammar_deref(a));
	/* still alive: one reference left (ASan would flag a use after
	 * free) */
	assert_string_equal(stt_grammar_phrase(a, 0), "yes");
	assert_null(stt_grammar_deref(a));
	assert_null(stt_grammar_deref(b));
	assert_null(stt_grammar_deref(NULL));
	assert_null(stt_grammar_ref(NULL));
}

static void snap_finds_the_closest_phrase_within_ratio(void **s)
{
	(void)s;
	static const char *const p[] = { "card services", "agent",
					 "lost or stolen card" };
	struct stt_grammar *g = make(STT_MODE_GRAMMAR, p, 3, 0);
	double c = -1;
	assert_string_equal(stt_grammar_snap(g, "Agent!", 0.34, &c), "agent");
	assert_true(c == 1.0);
	/* one word of two wrong: ratio 0.5 */
	assert_null(stt_grammar_snap(g, "card service", 0.34, &c));
	assert_string_equal(stt_grammar_snap(g, "card service", 0.5, &c),
			    "card services");
	assert_true(c > 0.49 && c < 0.51);
	/* one of four words: 0.25 */
	assert_string_equal(
		stt_grammar_snap(g, "lost or stolen cards", 0.34, &c),
		"lost or stolen card");
	assert_true(c > 0.74 && c < 0.76);
	assert_null(stt_grammar_snap(g, "what is the weather", 0.34, &c));
	assert_null(stt_grammar_snap(g, "", 0.34, &c));
	assert_null(stt_grammar_snap(g, NULL, 0.34, &c));
	assert_null(stt_grammar_snap(NULL, "agent", 0.34, &c));
	assert_string_equal(stt_grammar_snap(g, "agent", 0.34, NULL), "agent");
	stt_grammar_deref(g);
}

static void grammar_file_parses_with_comments_and_crlf(void **s)
{
	(void)s;
	static const char text[] = "# main menu\n"
				   "Balance\r\n"
				   "\n"
				   "   # indented comment\n"
				   "card services\n"
				   "balance\n"
				   "agent";
	struct stt_grammar *g = NULL;
	char err[128] = "";
	assert_int_equal(stt_grammar_parse(text, sizeof(text) - 1,
					   STT_MODE_GRAMMAR, STT_CLASS_YESNO,
					   &g, err, sizeof(err)),
			 0);
	assert_int_equal(stt_grammar_count(g), 3);
	assert_string_equal(stt_grammar_phrase(g, 0), "balance");
	assert_string_equal(stt_grammar_phrase(g, 1), "card services");
	assert_string_equal(stt_grammar_phrase(g, 2), "agent");
	assert_int_equal(stt_grammar_classes(g), STT_CLASS_YESNO);
	stt_grammar_deref(g);
}

static void lm_file_takes_labelled_and_plain_lines(void **s)
{
	(void)s;
	static const char text[] = "balance\tWhat's my balance?\n"
				   "lost_card\tI lost my card\n"
				   "i want to talk to an agent\n";
	struct stt_grammar *g = NULL;
	assert_int_equal(stt_grammar_parse(text, sizeof(text) - 1, STT_MODE_LM,
					   0, &g, NULL, 0),
			 0);
	assert_int_equal(stt_grammar_mode(g), STT_MODE_LM);
	assert_int_equal(stt_grammar_count(g), 3);
	assert_string_equal(stt_grammar_phrase(g, 0), "what's my balance");
	assert_string_equal(stt_grammar_phrase(g, 1), "i lost my card");
	assert_string_equal(stt_grammar_phrase(g, 2),
			    "i want to talk to an agent");
	stt_grammar_deref(g);
}

static void parse_errors_name_the_line(void **s)
{
	(void)s;
	static const struct {
		enum stt_mode mode;
		const char *text;
		size_t len; /* 0: strlen */
		int err;
		const char *msg;
	} cases[] = {
		{ STT_MODE_GRAMMAR,
		  "ok\n#c\n"
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		  "aaa"
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		  "aa"
		  "aaaaaaa\n",
		  0, -EBADMSG, "line 3: phrase longer than 128 bytes" },
		{ STT_MODE_GRAMMAR, "one\ntw\0o\n", 9, -EBADMSG,
		  "line 2: NUL byte in text" },
		{ STT_MODE_LM, "ok\n\tno label\n", 0, -EBADMSG,
		  "line 2: empty label before tab" },
		{ STT_MODE_LM, "a\tb\tc\n", 0, -EBADMSG,
		  "line 1: more than two columns" },
		{ STT_MODE_GRAMMAR, "# only\n\n  \n!!!\n", 0, -EINVAL,
		  "no phrase" },
		{ STT_MODE_OPEN, "x\n", 0, -EINVAL, "bad argument" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct stt_grammar *g = NULL;
		char err[128] = "";
		size_t len =
			cases[i].len ? cases[i].len : strlen(cases[i].text);
		assert_int_equal(stt_grammar_parse(cases[i].text, len,
						   cases[i].mode, 0, &g, err,
						   sizeof(err)),
				 cases[i].err);
		assert_null(g);
		assert_non_null(strstr(err, cases[i].msg));
	}

	/* the 201st phrase is refused on its own line */
	size_t cap = (STT_PHRASES_MAX + 2) * 12;
	char *big = malloc(cap);
	assert_non_null(big);
	size_t off = 0;
	for (int i = 0; i <= STT_PHRASES_MAX; i++)
		off += (size_t)snprintf(big + off, cap - off, "phrase %d\n", i);
	struct stt_grammar *g = NULL;
	char err[128] = "";
	assert_int_equal(stt_grammar_parse(big, off, STT_MODE_GRAMMAR, 0, &g,
					   err, sizeof(err)),
			 -EBADMSG);
	assert_string_equal(err, "line 201: more than 200 phrases");
	assert_int_equal(stt_grammar_parse(big, STT_GRAMMAR_FILE_MAX + 1,
					   STT_MODE_GRAMMAR, 0, &g, err,
					   sizeof(err)),
			 -E2BIG);
	free(big);
}

static void word_edits_count_substitutions_insertions_deletions(void **st)
{
	(void)st;
	size_t n = 99;
	assert_int_equal(stt_word_edits("i lost my card", "i lost my card", &n),
			 0);
	assert_int_equal(n, 4);
	/* one substitution, one deletion, one insertion */
	assert_int_equal(stt_word_edits("i lost my card", "i lost a car", &n),
			 2);
	assert_int_equal(stt_word_edits("i lost my card", "lost my card", &n),
			 1);
	assert_int_equal(
		stt_word_edits("i lost my card", "i i lost my card", NULL), 1);
	/* runs of spaces are one separator; an empty side is all edits */
	assert_int_equal(stt_word_edits("  pay   a bill ", "pay a bill", &n),
			 0);
	assert_int_equal(n, 3);
	assert_int_equal(stt_word_edits("pay a bill", "", &n), 3);
	assert_int_equal(stt_word_edits("", "pay a bill", &n), 3);
	assert_int_equal(n, 0);
	assert_int_equal(stt_word_edits(NULL, NULL, &n), 0);
	/* whole words: "card" is not "cards" */
	assert_int_equal(stt_word_edits("card", "cards", NULL), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(phrases_are_normalized_and_deduplicated),
		cmocka_unit_test(caps_and_empty_grammars_are_refused),
		cmocka_unit_test(ids_are_unique_and_refs_count),
		cmocka_unit_test(
			word_edits_count_substitutions_insertions_deletions),
		cmocka_unit_test(snap_finds_the_closest_phrase_within_ratio),
		cmocka_unit_test(grammar_file_parses_with_comments_and_crlf),
		cmocka_unit_test(lm_file_takes_labelled_and_plain_lines),
		cmocka_unit_test(parse_errors_name_the_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Fuzz target: outside grammar and LM text (the CLI's --grammar and
 * --lm-from files) through stt_grammar_parse in both modes, then the
 * PocketSphinx builders (JSGF, dictionary, ARPA) and snap on what was
 * accepted, checking the invariants the engines rely on. The first byte
 * picks the mode, the classes and the LM order. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engines/stt/pocketsphinx/ps_build.h"
#include "engines/stt/stt.h"

static void check(int ok)
{
	if (!ok)
		abort();
}

/* A normalized phrase: no uppercase ASCII, no leading, trailing or double
 * space, no ASCII punctuation but an inner apostrophe. */
static void check_phrase(const char *p, size_t max)
{
	size_t n = strlen(p);
	check(n > 0 && n <= max);
	check(p[0] != ' ' && p[n - 1] != ' ' && p[0] != '\'');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		check(!(c >= 'A' && c <= 'Z'));
		check(!(c == ' ' && p[i + 1] == ' '));
		check(c >= 0x80 || c == ' ' || c == '\'' ||
		      (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct cmudict *lex;
	static struct cmudict *lex_owned;
	if (!lex) {
		static const char d[] = "card K AA R D\nmy M AY\ni AY\n";
		check(cmudict_parse(&lex_owned, d, sizeof(d) - 1) == 0);
		lex = lex_owned;
	}
	if (size < 1 || size > (1u << 16))
		return 0;
	uint8_t sel = data[0];
	enum stt_mode mode = sel & 1 ? STT_MODE_LM : STT_MODE_GRAMMAR;
	unsigned classes = (sel >> 1) & 7;
	unsigned order = sel & 0x10 ? 3 : 2;
	const char *text = (const char *)data + 1;
	size_t len = size - 1;

	struct stt_grammar *g = NULL;
	char err[160];
	err[0] = '\0';
	int r = stt_grammar_parse(text, len, mode, classes, &g, err,
				  sizeof(err));
	if (r) {
		check(!g);
		check(r == -EBADMSG || r == -EINVAL || r == -E2BIG ||
		      r == -ENOMEM);
		check(!strncmp(err, "line ", 5));
		return 0;
	}
	check(g && stt_grammar_mode(g) == mode);
	size_t n = stt_grammar_count(g);
	size_t max = mode == STT_MODE_GRAMMAR ? STT_PHRASE_MAX : STT_TEXT_MAX;
	check(mode == STT_MODE_LM || n <= STT_PHRASES_MAX);
	for (size_t i = 0; i < n; i++) {
		check_phrase(stt_grammar_phrase(g, i), max);
		for (size_t k = 0; k < i && k < 8; k++)
			check(strcmp(stt_grammar_phrase(g, i),
				     stt_grammar_phrase(g, k)));
	}

	char *out = NULL, *oov = NULL;
	if (mode == STT_MODE_GRAMMAR) {
		r = ps_jsgf_build(g, &out);
		check(r == 0 || r == -EINVAL);
		if (!r) {
			check(!strncmp(out, "#JSGF V1.0;\n", 12));
			check(strstr(out, "public <main> = ") != NULL);
			free(out);
		}
		/* snap takes a C string: the input up to its first line */
		char line[STT_TEXT_MAX + 1];
		size_t l = 0;
		while (l < len && l < STT_TEXT_MAX && text[l] != '\n')
			l++;
		memcpy(line, text, l);
		line[l] = '\0';
		double c = 0;
		const char *snap = stt_grammar_snap(g, line, 0.5, &c);
		check(!snap || (c >= 0.5 && c <= 1.0));
	}
	r = ps_dict_build(g, lex, 0, &out, &oov);
	check(r == 0);
	if (mode == STT_MODE_LM) {
		char *arpa = NULL;
		r = ps_arpa_build(g, (sel & 0x20) ? out : NULL, order, &arpa);
		check(r == 0 || r == -EINVAL || r == -E2BIG);
		if (!r) {
			check(!strncmp(arpa, "\\data\\\nngram 1=", 15));
			check(strstr(arpa, "\\end\\\n") != NULL);
			free(arpa);
		}
	}
	free(out);
	free(oov);
	stt_grammar_deref(g);
	return 0;
}

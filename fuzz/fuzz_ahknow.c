/* libFuzzer target for the agent-assist knowledge file parser
 * (control/genesys/ahknow.h): no crash, no leak, no read past len; an
 * accepted file keeps its caps (names, suggestion counts, text sizes, the
 * faq / article shapes) and a refused one says where. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/ydoc.h"
#include "control/genesys/ahknow.h"

static void check_text(const char *s, bool need)
{
	if (!s) {
		if (need)
			abort();
		return;
	}
	size_t n = strlen(s);
	if (!n || n > AHKNOW_TEXT_MAX)
		abort();
}

static void check_sug(const struct ahmsg_suggestion *s)
{
	if (!s->type)
		abort();
	if (!strcmp(s->type, "faq")) {
		check_text(s->question, true);
		check_text(s->answer, true);
		if (s->title || s->excerpt || s->document_uri)
			abort();
	} else if (!strcmp(s->type, "article")) {
		check_text(s->title, true);
		check_text(s->excerpt, false);
		check_text(s->document_uri, false);
		if (s->question || s->answer)
			abort();
		if (s->document_uri && strncmp(s->document_uri, "http://", 7) &&
		    strncmp(s->document_uri, "https://", 8))
			abort();
	} else {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A copy of exactly size bytes, so ASan flags any read past it. */
	char *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	struct ahknow *k = NULL;
	char err[256] = "";
	int rc = ahknow_parse("k.yaml", buf, size, &k, err, sizeof(err));
	if (rc == 0) {
		if (!k)
			abort();
		/* Every intent of the document is found under its name, with
		 * 1 to AHKNOW_SUGGESTIONS_MAX well-formed suggestions. */
		struct ydoc *doc = NULL;
		if (ydoc_parse("k.yaml", buf, size, &doc, NULL, 0))
			abort();
		const struct ydoc_node *in =
			ydoc_map_get(ydoc_root(doc), "intents");
		if (!in || ydoc_node_count(in) != ahknow_intents(k))
			abort();
		for (size_t i = 0; i < ydoc_node_count(in); i++) {
			size_t n = 0;
			const struct ahmsg_suggestion *s = ahknow_find(
				k, ydoc_scalar_text(ydoc_map_key(in, i)), &n);
			if (!s || !n || n > AHKNOW_SUGGESTIONS_MAX)
				abort();
			for (size_t j = 0; j < n; j++)
				check_sug(&s[j]);
		}
		ydoc_destroy(doc);
		size_t n = 99;
		if (ahknow_find(k, "no such intent!", &n) || n)
			abort();
		ahknow_destroy(k);
	} else if (rc == -EBADMSG) {
		if (k || strncmp(err, "k.yaml:", 7))
			abort();
	} else if (rc != -E2BIG && rc != -ENOMEM) {
		abort();
	}
	free(buf);
	return 0;
}

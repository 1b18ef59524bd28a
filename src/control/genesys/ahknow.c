/* Agent-assist knowledge file (see ahknow.h). */
#include "control/genesys/ahknow.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/ydoc.h"

struct kintent {
	char *name;
	struct ahmsg_suggestion *sug;
	size_t nsug;
};

struct ahknow {
	struct kintent *intents;
	size_t n;
};

static int fail(const struct ydoc *doc, const struct ydoc_node *n, char *err,
		size_t errlen, const char *fmt, ...)
{
	if (err && errlen) {
		int k = snprintf(err, errlen, "%s:%u:%u: ", ydoc_name(doc),
				 n ? ydoc_node_line(n) : 0,
				 n ? ydoc_node_col(n) : 0);
		if (k >= 0 && (size_t)k < errlen) {
			va_list ap;
			va_start(ap, fmt);
			vsnprintf(err + k, errlen - (size_t)k, fmt, ap);
			va_end(ap);
		}
	}
	return -EBADMSG;
}

static void free_sug(struct ahmsg_suggestion *s)
{
	free((char *)s->type);
	free((char *)s->question);
	free((char *)s->answer);
	free((char *)s->title);
	free((char *)s->excerpt);
	free((char *)s->document_uri);
}

void ahknow_destroy(struct ahknow *k)
{
	if (!k)
		return;
	for (size_t i = 0; i < k->n; i++) {
		for (size_t j = 0; j < k->intents[i].nsug; j++)
			free_sug(&k->intents[i].sug[j]);
		free(k->intents[i].sug);
		free(k->intents[i].name);
	}
	free(k->intents);
	free(k);
}

static bool name_ok(const char *s)
{
	size_t n = strlen(s);
	if (!n || n > 64)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-' ||
		      c == '.'))
			return false;
	}
	return true;
}

/* A non-empty scalar string of at most AHKNOW_TEXT_MAX bytes, copied. */
static int text(const struct ydoc *doc, const struct ydoc_node *v,
		const char *key, const char **out, char *err, size_t errlen)
{
	if (ydoc_node_type(v) != YDOC_SCALAR || ydoc_scalar_is_null(v))
		return fail(doc, v, err, errlen, "'%s' must be a string", key);
	size_t n = ydoc_scalar_len(v);
	if (!n || n > AHKNOW_TEXT_MAX)
		return fail(doc, v, err, errlen, "'%s' must be 1 to %d bytes",
			    key, AHKNOW_TEXT_MAX);
	const char *s = ydoc_scalar_text(v);
	if (memchr(s, '\0', n))
		return fail(doc, v, err, errlen, "'%s' contains NUL", key);
	char *c = strndup(s, n);
	if (!c)
		return -ENOMEM;
	*out = c;
	return 0;
}

static int parse_sug(const struct ydoc *doc, const struct ydoc_node *m,
		     struct ahmsg_suggestion *s, char *err, size_t errlen)
{
	if (ydoc_node_type(m) != YDOC_MAP)
		return fail(doc, m, err, errlen,
			    "a suggestion must be a map (type, question, "
			    "answer / title, excerpt, uri)");
	for (size_t i = 0; i < ydoc_node_count(m); i++) {
		const struct ydoc_node *kn = ydoc_map_key(m, i);
		const struct ydoc_node *v = ydoc_map_value(m, i);
		const char *key = ydoc_scalar_text(kn);
		const char **dst;
		if (!strcmp(key, "type"))
			dst = &s->type;
		else if (!strcmp(key, "question"))
			dst = &s->question;
		else if (!strcmp(key, "answer"))
			dst = &s->answer;
		else if (!strcmp(key, "title"))
			dst = &s->title;
		else if (!strcmp(key, "excerpt"))
			dst = &s->excerpt;
		else if (!strcmp(key, "uri"))
			dst = &s->document_uri;
		else
			return fail(doc, kn, err, errlen,
				    "unknown key '%s' in a suggestion (type, "
				    "question, answer, title, excerpt, uri)",
				    key);
		int e = text(doc, v, key, dst, err, errlen);
		if (e)
			return e;
	}
	if (!s->type)
		return fail(doc, m, err, errlen,
			    "a suggestion needs 'type' (faq or article)");
	if (!strcmp(s->type, "faq")) {
		if (!s->question || !s->answer || s->title || s->excerpt ||
		    s->document_uri)
			return fail(doc, m, err, errlen,
				    "a faq has 'question' and 'answer' only");
	} else if (!strcmp(s->type, "article")) {
		if (!s->title || s->question || s->answer)
			return fail(doc, m, err, errlen,
				    "an article has 'title' and optional "
				    "'excerpt', 'uri'");
		if (s->document_uri &&
		    strncmp(s->document_uri, "https://", 8) &&
		    strncmp(s->document_uri, "http://", 7))
			return fail(doc, m, err, errlen,
				    "'uri' must be an http(s) URL");
	} else {
		return fail(doc, m, err, errlen,
			    "'type' must be faq or article, not '%s'", s->type);
	}
	return 0;
}

static int parse_intents(const struct ydoc *doc, const struct ydoc_node *map,
			 struct ahknow *k, char *err, size_t errlen)
{
	if (ydoc_node_type(map) != YDOC_MAP)
		return fail(doc, map, err, errlen,
			    "'intents' must be a map of intent name to a list "
			    "of suggestions");
	size_t n = ydoc_node_count(map);
	k->intents = calloc(n ? n : 1, sizeof(*k->intents));
	if (!k->intents)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct ydoc_node *kn = ydoc_map_key(map, i);
		const struct ydoc_node *v = ydoc_map_value(map, i);
		const char *name = ydoc_scalar_text(kn);
		if (!name_ok(name))
			return fail(doc, kn, err, errlen,
				    "bad intent name '%s' (letters, digits, "
				    "'_', '-', '.'; at most 64)",
				    name);
		struct kintent *in = &k->intents[k->n++];
		in->name = strdup(name);
		if (!in->name)
			return -ENOMEM;
		if (ydoc_node_type(v) != YDOC_SEQ || !ydoc_node_count(v))
			return fail(doc, v, err, errlen,
				    "intent '%s' needs a non-empty list of "
				    "suggestions",
				    name);
		size_t ns = ydoc_node_count(v);
		if (ns > AHKNOW_SUGGESTIONS_MAX)
			return fail(doc, v, err, errlen,
				    "intent '%s' has more than %d suggestions",
				    name, AHKNOW_SUGGESTIONS_MAX);
		in->sug = calloc(ns, sizeof(*in->sug));
		if (!in->sug)
			return -ENOMEM;
		for (size_t j = 0; j < ns; j++) {
			in->nsug++;
			int e = parse_sug(doc, ydoc_seq_item(v, j), &in->sug[j],
					  err, errlen);
			if (e)
				return e;
		}
	}
	return 0;
}

int ahknow_parse(const char *name, const char *buf, size_t len,
		 struct ahknow **kp, char *err, size_t errlen)
{
	if (!kp || (!buf && len))
		return -EINVAL;
	if (len > AHKNOW_FILE_MAX) {
		if (err && errlen)
			snprintf(err, errlen, "%s: larger than %zu bytes",
				 name ? name : "knowledge", AHKNOW_FILE_MAX);
		return -E2BIG;
	}
	struct ydoc *doc = NULL;
	int rc = ydoc_parse(name ? name : "knowledge", buf ? buf : "", len,
			    &doc, err, errlen);
	if (rc)
		return rc == -ENOMEM ? rc : -EBADMSG;
	struct ahknow *k = calloc(1, sizeof(*k));
	if (!k) {
		ydoc_destroy(doc);
		return -ENOMEM;
	}
	const struct ydoc_node *root = ydoc_root(doc);
	if (!root || ydoc_node_type(root) != YDOC_MAP) {
		rc = fail(doc, root, err, errlen,
			  "the knowledge file must be a map with 'intents'");
		goto out;
	}
	const struct ydoc_node *intents = NULL;
	for (size_t i = 0; i < ydoc_node_count(root); i++) {
		const struct ydoc_node *kn = ydoc_map_key(root, i);
		if (strcmp(ydoc_scalar_text(kn), "intents")) {
			rc = fail(doc, kn, err, errlen,
				  "unknown key '%s' (expected 'intents')",
				  ydoc_scalar_text(kn));
			goto out;
		}
		intents = ydoc_map_value(root, i);
	}
	if (!intents) {
		rc = fail(doc, root, err, errlen, "missing 'intents'");
		goto out;
	}
	rc = parse_intents(doc, intents, k, err, errlen);
out:
	ydoc_destroy(doc);
	if (rc) {
		ahknow_destroy(k);
		return rc;
	}
	*kp = k;
	return 0;
}

int ahknow_load(const char *path, struct ahknow **kp, char *err, size_t errlen)
{
	if (!path || !kp)
		return -EINVAL;
	FILE *f = fopen(path, "rb");
	if (!f) {
		int e = -errno;
		if (err && errlen)
			snprintf(err, errlen, "%s: %s", path, strerror(-e));
		return e;
	}
	char *buf = malloc(AHKNOW_FILE_MAX + 1);
	if (!buf) {
		fclose(f);
		return -ENOMEM;
	}
	size_t n = fread(buf, 1, AHKNOW_FILE_MAX + 1, f);
	int rerr = ferror(f);
	fclose(f);
	int rc;
	if (rerr) {
		rc = -EIO;
		if (err && errlen)
			snprintf(err, errlen, "%s: read error", path);
	} else {
		rc = ahknow_parse(path, buf, n, kp, err, errlen);
	}
	free(buf);
	return rc;
}

const struct ahmsg_suggestion *ahknow_find(const struct ahknow *k,
					   const char *intent, size_t *n)
{
	if (n)
		*n = 0;
	if (!k || !intent)
		return NULL;
	for (size_t i = 0; i < k->n; i++)
		if (!strcmp(k->intents[i].name, intent)) {
			if (n)
				*n = k->intents[i].nsug;
			return k->intents[i].sug;
		}
	return NULL;
}

size_t ahknow_intents(const struct ahknow *k)
{
	return k ? k->n : 0;
}

/* flow_import(): runs one importer and the passes they share (prompt
 * folding), and tells which importer a flows-directory file needs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/file.h"
#include "core/strbuf.h"
#include "flow/flow.h"
#include "flow/import_int.h"
#include "flow/model.h"

int flow_import_from_parse(const char *s, enum flow_import_from *from)
{
	if (!s || !from)
		return -EINVAL;
	if (!strcmp(s, "connect"))
		*from = FLOW_IMPORT_CONNECT;
	else if (!strcmp(s, "genesys"))
		*from = FLOW_IMPORT_GENESYS;
	else if (!strcmp(s, "archy"))
		*from = FLOW_IMPORT_ARCHY;
	else
		return -EINVAL;
	return 0;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n > k && !strcmp(s + n - k, suffix);
}

/* A quoted key "k" (JSON) anywhere in the first bytes: good enough to tell
 * the dialects apart; the importer then checks properly. */
static bool has_key(const char *buf, size_t len, const char *key)
{
	if (!buf)
		return false;
	char pat[64];
	snprintf(pat, sizeof(pat), "\"%s\"", key);
	size_t k = strlen(pat);
	for (size_t i = 0; i + k <= len; i++) {
		if (!memcmp(buf + i, pat, k))
			return true;
	}
	return false;
}

int flow_import_detect(const char *name, const char *buf, size_t len,
		       enum flow_import_from *from)
{
	if (!name || !from || (!buf && len))
		return -EINVAL;
	const char *base = strrchr(name, '/');
	base = base ? base + 1 : name;
	if (base[0] == '.')
		return -ENOENT;
	if (ends_with(base, ".js")) {
		*from = FLOW_IMPORT_GENESYS;
		return 0;
	}
	if (ends_with(base, ".json")) {
		if (has_key(buf, len, "Actions") ||
		    (has_key(buf, len, "StartAction") &&
		     has_key(buf, len, "States"))) {
			*from = FLOW_IMPORT_CONNECT;
			return 0;
		}
		if (has_key(buf, len, "startState")) {
			*from = FLOW_IMPORT_GENESYS;
			return 0;
		}
		/* Unknown JSON: let the Connect importer say what is
		 * wrong rather than skip the file silently. */
		*from = FLOW_IMPORT_CONNECT;
		return 0;
	}
	if (ends_with(base, ".yaml")) {
		/* Top-level key inboundCall: a line starting with it. */
		const char *k = "inboundCall:";
		size_t kl = strlen(k);
		size_t i = 0;
		while (i < len) {
			const char *nl = memchr(buf + i, '\n', len - i);
			size_t end = nl ? (size_t)(nl - buf) : len;
			if (end - i >= kl && !memcmp(buf + i, k, kl)) {
				*from = FLOW_IMPORT_ARCHY;
				return 0;
			}
			i = end + 1;
		}
	}
	return -ENOENT;
}

const char *imp_end(struct imp *im)
{
	if (im->end)
		return im->end;
	char name[72];
	imp_node_name(im, "end", name, sizeof(name));
	struct yv *n = imp_node(im, name, "hangup",
				"the end of a path in the source flow");
	yv_putraw(im, n, "reason", "completed");
	im->end = imp_strdup(im, name);
	return im->end ? im->end : "end";
}

void imp_agent(struct imp *im, const char *name, const char *origin)
{
	char say[72], xfer[72];
	snprintf(say, sizeof(say), "%s", name);
	yv_putraw(im, im->used, say, "x");
	char *base = imp_printf(im, "%s_transfer", name);
	imp_node_name(im, base, xfer, sizeof(xfer));
	free(base);
	char *c = imp_printf(im,
			     "'%s' is named by %s but not defined in the "
			     "source: a transfer to an agent",
			     name, origin);
	struct yv *n = imp_node(im, say, "say", c);
	free(c);
	yv_puts(im, n, "text", "Please hold while I connect you to an agent.");
	yv_putraw(im, n, "next", xfer);
	n = imp_node(im, xfer, "transfer", NULL);
	yv_putraw(im, n, "target", "agent");
	yv_putraw(im, n, "on_fail", imp_end(im));
}

bool imp_is_agent_name(const char *s)
{
	return strcasestr(s, "agent") || strcasestr(s, "escalat") ||
	       strcasestr(s, "human");
}

char *imp_file_stem(struct imp *im)
{
	const char *b = strrchr(im->file, '/');
	b = b ? b + 1 : im->file;
	char *s = imp_strdup(im, b);
	char *dot = s ? strrchr(s, '.') : NULL;
	if (dot && dot != s)
		*dot = '\0';
	return s;
}

static unsigned count_refs(const struct yv *v, const char *node)
{
	unsigned n = 0;
	for (const struct yv *c = v->first; c; c = c->next) {
		if (c->type == Y_MAP || c->type == Y_SEQ) {
			n += count_refs(c, node);
			continue;
		}
		if (c->key &&
		    (!strcmp(c->key, "text") || !strcmp(c->key, "prompt") ||
		     !strcmp(c->key, "type")))
			continue;
		if (c->text && !strcmp(c->text, node))
			n++;
	}
	return n;
}

unsigned imp_refs(struct imp *im, const char *node)
{
	return count_refs(im->nodes, node);
}

static bool is_text_key(const char *k)
{
	return k && (!strcmp(k, "text") || !strcmp(k, "prompt") ||
		     !strcmp(k, "type") || !strcmp(k, "value") ||
		     !strcmp(k, "url") || !strcmp(k, "target"));
}

/* Mark the nodes named by v's scalar leaves and queue them. */
static void mark_refs(struct imp *im, const struct yv *v, struct yv **queue,
		      size_t *nq, size_t cap, struct yv *seen)
{
	for (const struct yv *c = v->first; c; c = c->next) {
		if (c->type == Y_MAP || c->type == Y_SEQ) {
			if (!c->key || strcmp(c->key, "json"))
				mark_refs(im, c, queue, nq, cap, seen);
			continue;
		}
		if (is_text_key(c->key) || !c->text)
			continue;
		struct yv *n = imp_find_node(im, c->text);
		if (n && !yv_get(seen, c->text) && *nq < cap) {
			yv_putraw(im, seen, c->text, "x");
			queue[(*nq)++] = n;
		}
	}
}

void imp_prune(struct imp *im, const char *start)
{
	size_t cap = 0;
	for (struct yv *n = im->nodes->first; n; n = n->next)
		cap++;
	struct yv **queue = calloc(cap ? cap : 1, sizeof(*queue));
	struct yv *seen = yv_map(im);
	struct yv *st = imp_find_node(im, start);
	if (!queue || !seen || !st) {
		free(queue);
		yv_free(seen);
		return;
	}
	size_t nq = 0;
	queue[nq++] = st;
	yv_putraw(im, seen, start, "x");
	for (size_t i = 0; i < nq; i++)
		mark_refs(im, queue[i], queue, &nq, cap, seen);
	for (struct yv **pp = &im->nodes->first; *pp;) {
		struct yv *n = *pp;
		if (yv_get(seen, n->key)) {
			pp = &n->next;
			continue;
		}
		/* Unreachable in the source too: the loader would refuse
		 * it, so say so in the header instead. */
		char *note =
			imp_printf(im, "%s%s%s", im->pruned ? im->pruned : "",
				   im->pruned ? ", " : "", n->key);
		free(im->pruned);
		im->pruned = note;
		*pp = n->next;
		n->next = NULL;
		yv_free(n);
	}
	im->nodes->last = NULL;
	for (struct yv *n = im->nodes->first; n; n = n->next)
		im->nodes->last = n;
	free(queue);
	yv_free(seen);
}

static const char *member(const struct yv *map, const char *key)
{
	const struct yv *v = yv_get(map, key);
	return v && (v->type == Y_STR || v->type == Y_RAW) ? v->text : NULL;
}

void imp_fold_prompts(struct imp *im, const char *start)
{
	for (struct yv *x = im->nodes->first; x; x = x->next) {
		const char *type = member(x, "type");
		const char *next = member(x, "next");
		if (!type || strcmp(type, "say") || !next ||
		    !strcmp(next, start))
			continue;
		struct yv *y = imp_find_node(im, next);
		if (!y ||
		    strcmp(member(y, "type") ? member(y, "type") : "",
			   "classify") ||
		    yv_get(y, "prompt") || imp_refs(im, next) != 1)
			continue;
		/* x takes y's fields, with x's text as the prompt. */
		struct yv *text = yv_get(x, "text");
		char *prompt = imp_strdup(im, text ? text->text : "");
		char *yname = imp_strdup(im, next);
		struct yv *fields = y->first;
		y->first = y->last = NULL;
		struct yv *keep = x->first;
		x->first = x->last = NULL;
		for (struct yv *f = fields; f;) {
			struct yv *nf = f->next;
			f->next = NULL;
			if (x->last)
				x->last->next = f;
			else
				x->first = f;
			x->last = f;
			if (!strcmp(f->key, "type"))
				yv_puts(im, x, "prompt", prompt);
			f = nf;
		}
		yv_free(keep);
		free(prompt);
		yv_comment(im, x,
			   "(the message before the bot turn '%s' is its "
			   "prompt)",
			   yname ? yname : "");
		free(yname);
		if (y->comment)
			yv_comment(im, x, "%s", y->comment);
		/* Unlink y. */
		for (struct yv **pp = &im->nodes->first; *pp;
		     pp = &(*pp)->next) {
			if (*pp != y)
				continue;
			*pp = y->next;
			if (im->nodes->last == y) {
				struct yv *l = im->nodes->first;
				while (l && l->next)
					l = l->next;
				im->nodes->last = l;
			}
			y->next = NULL;
			yv_free(y);
			break;
		}
	}
}

/* line and col of a "file:line:col: ..." message after the file label. */
static void msg_pos(const char *m, size_t flen, unsigned long *line,
		    unsigned long *col)
{
	*line = *col = 0;
	if (strlen(m) <= flen || m[flen] != ':')
		return;
	char *end;
	*line = strtoul(m + flen + 1, &end, 10);
	if (*end == ':')
		*col = strtoul(end + 1, NULL, 10);
}

/* The importers report in the order they translate (branches last first):
 * sort this import's messages about the source file by position, stable. */
static void sort_errors(struct flow_errors *e, size_t from, const char *file)
{
	size_t flen = strlen(file);
	for (size_t i = from + 1; i < e->count; i++) {
		if (strncmp(e->msg[i], file, flen))
			continue;
		unsigned long li, ci;
		msg_pos(e->msg[i], flen, &li, &ci);
		size_t j = i;
		while (j > from && !strncmp(e->msg[j - 1], file, flen)) {
			unsigned long lj, cj;
			msg_pos(e->msg[j - 1], flen, &lj, &cj);
			if (lj < li || (lj == li && cj <= ci))
				break;
			j--;
		}
		if (j == i)
			continue;
		char tmp[FLOW_ERROR_LEN];
		memcpy(tmp, e->msg[i], sizeof(tmp));
		memmove(e->msg[j + 1], e->msg[j], (i - j) * sizeof(e->msg[0]));
		memcpy(e->msg[j], tmp, sizeof(tmp));
	}
}

/* A side file of an imported flow: PATH without its extension + suffix
 * (".values.yaml", ".intents.yaml"). 0 with *bufp NULL when there is none;
 * -errno (reported) when it exists but cannot be read. */
static int read_side(const char *path, const char *suffix, char *name,
		     size_t size, char **bufp, size_t *lenp,
		     struct flow_errors *errs)
{
	const char *slash = strrchr(path, '/');
	const char *dot = strrchr(slash ? slash : path, '.');
	size_t stem = dot ? (size_t)(dot - path) : strlen(path);
	*bufp = NULL;
	*lenp = 0;
	if ((size_t)snprintf(name, size, "%.*s%s", (int)stem, path, suffix) >=
	    size)
		return 0;
	if (access(name, F_OK))
		return 0;
	int err = file_read_all(name, FLOW_IMPORT_MAX_INPUT, bufp, lenp);
	if (err)
		flow_errors_add(errs, name, 0, 0, "cannot read: %s",
				err == -E2BIG ? "too big" : strerror(-err));
	return err;
}

int flow_import_load_file(const char *path, struct flow **fp,
			  struct flow_errors *errs)
{
	char *buf = NULL;
	size_t len = 0;
	int err = file_read_all(path, FLOW_IMPORT_MAX_INPUT, &buf, &len);
	if (err) {
		flow_errors_add(errs, path, 0, 0, "cannot read: %s",
				err == -E2BIG ? "too big" : strerror(-err));
		return err;
	}
	enum flow_import_from from;
	if (flow_import_detect(path, buf, len, &from)) {
		err = flow_load_buf(path, buf, len, fp, errs);
		free(buf);
		return err;
	}
	/* FILE.values.yaml and FILE.intents.yaml next to it are what
	 * `voxgate flow import --values/--intents` would be given. */
	char vname[4096], iname[4096];
	struct flow_import_opts o = { 0 };
	char *vbuf = NULL, *ibuf = NULL;
	err = read_side(path, ".values.yaml", vname, sizeof(vname), &vbuf,
			&o.values_len, errs);
	if (!err)
		err = read_side(path, ".intents.yaml", iname, sizeof(iname),
				&ibuf, &o.intents_len, errs);
	if (err) {
		free(buf);
		free(vbuf);
		free(ibuf);
		return err;
	}
	o.values = vbuf;
	o.values_file = vbuf ? vname : NULL;
	o.intents = ibuf;
	o.intents_file = ibuf ? iname : NULL;
	struct strbuf yaml;
	strbuf_init(&yaml, FLOW_MAX_FILE_BYTES);
	err = flow_import(from, path, buf, len, &o, &yaml, errs);
	free(buf);
	free(vbuf);
	free(ibuf);
	if (!err) {
		char label[4096 + 16];
		snprintf(label, sizeof(label), "%s (imported)", path);
		err = flow_load_buf(label, strbuf_str(&yaml), yaml.len, fp,
				    errs);
	}
	strbuf_fini(&yaml);
	return err;
}

int flow_import(enum flow_import_from from, const char *file, const char *buf,
		size_t len, const struct flow_import_opts *o,
		struct strbuf *yaml_out, struct flow_errors *errs)
{
	static const struct flow_import_opts none = { 0 };
	if (!file || (!buf && len) || !yaml_out)
		return -EINVAL;
	if (len > FLOW_IMPORT_MAX_INPUT) {
		flow_errors_add(errs, file, 0, 0, "larger than %u bytes",
				FLOW_IMPORT_MAX_INPUT);
		return -E2BIG;
	}
	struct imp im;
	size_t first = errs ? errs->count : 0;
	int err = imp_init(&im, from, file, o ? o : &none, errs);
	if (!err) {
		switch (from) {
		case FLOW_IMPORT_CONNECT:
			err = import_connect(&im, buf ? buf : "", len,
					     yaml_out);
			break;
		case FLOW_IMPORT_GENESYS:
			err = import_genesys(&im, buf ? buf : "", len,
					     yaml_out);
			break;
		case FLOW_IMPORT_ARCHY:
			err = import_archy(&im, buf ? buf : "", len, yaml_out);
			break;
		default:
			err = -EINVAL;
		}
	}
	if (im.oom && err != -ENOMEM) {
		flow_errors_add(errs, file, 0, 0, "out of memory");
		err = -ENOMEM;
	}
	free(im.end);
	im.end = NULL;
	free(im.pruned);
	im.pruned = NULL;
	imp_fini(&im);
	if (errs)
		sort_errors(errs, first, file);
	return err;
}

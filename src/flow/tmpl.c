/* Flow templates: compile "text {{ name | filter }} text" into literal and
 * variable segments once at load (rendering is in tmpl_render.c, so that
 * the loader does not pull in the variable store). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flow/tmpl_impl.h"

static const struct {
	const char *name;
	enum flow_tmpl_filter f;
} filters[] = {
	{ "digits", TMPL_F_DIGITS }, { "upper", TMPL_F_UPPER },
	{ "lower", TMPL_F_LOWER },   { "json", TMPL_F_JSON },
	{ "url", TMPL_F_URL },
};

static bool is_alpha_(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

bool flow_var_name_valid(const char *s, size_t len)
{
	if (!s || len == 0 || len > FLOW_VAR_NAME_MAX)
		return false;
	size_t seg = 0; /* start of the current segment */
	for (size_t i = 0; i <= len; i++) {
		if (i < len && s[i] != '.')
			continue;
		size_t n = i - seg;
		if (n == 0)
			return false;
		bool digits = true, ident = is_alpha_(s[seg]);
		for (size_t j = seg; j < i; j++) {
			digits = digits && is_digit(s[j]);
			ident = ident && (is_alpha_(s[j]) || is_digit(s[j]));
		}
		if (!digits && !ident)
			return false;
		seg = i + 1;
	}
	return true;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* "{{ x }}" inner text [b, e): trimmed name and optional filter. */
static int parse_ref(const char *b, const char *e, struct tmpl_seg *seg,
		     char *err, size_t errlen)
{
	const char *bar = memchr(b, '|', (size_t)(e - b));
	const char *ne = bar ? bar : e;
	while (b < ne && is_blank(*b))
		b++;
	while (ne > b && is_blank(ne[-1]))
		ne--;
	size_t nlen = (size_t)(ne - b);
	if (nlen == 0) {
		snprintf(err, errlen, "empty variable name in '{{ }}'");
		return -EINVAL;
	}
	if (!flow_var_name_valid(b, nlen)) {
		snprintf(err, errlen, "bad variable name '%.*s'",
			 (int)(nlen > 64 ? 64 : nlen), b);
		return -EINVAL;
	}
	seg->filter = TMPL_F_NONE;
	if (bar) {
		const char *fb = bar + 1, *fe = e;
		while (fb < fe && is_blank(*fb))
			fb++;
		while (fe > fb && is_blank(fe[-1]))
			fe--;
		size_t flen = (size_t)(fe - fb);
		size_t i = 0;
		while (i < sizeof(filters) / sizeof(filters[0]) &&
		       (strlen(filters[i].name) != flen ||
			memcmp(filters[i].name, fb, flen)))
			i++;
		if (flen == 0) {
			snprintf(err, errlen, "empty filter after '|'");
			return -EINVAL;
		}
		if (i == sizeof(filters) / sizeof(filters[0])) {
			snprintf(err, errlen,
				 "unknown filter '%.*s' (expected digits, "
				 "upper, lower, json or url)",
				 (int)(flen > 32 ? 32 : flen), fb);
			return -EINVAL;
		}
		seg->filter = filters[i].f;
	}
	seg->text = strndup(b, nlen);
	if (!seg->text)
		return -ENOMEM;
	seg->len = nlen;
	seg->var = true;
	return 0;
}

/* A NUL-terminated copy of s[0..len), NUL bytes inside kept. */
static char *memdup0(const char *s, size_t len)
{
	char *d = malloc(len + 1);
	if (d) {
		if (len)
			memcpy(d, s, len);
		d[len] = '\0';
	}
	return d;
}

static int add_literal(struct flow_tmpl *t, const char *s, size_t len,
		       size_t off)
{
	if (len == 0)
		return 0;
	struct tmpl_seg *seg = &t->segs[t->nsegs];
	seg->text = memdup0(s, len);
	if (!seg->text)
		return -ENOMEM;
	seg->len = len;
	seg->off = off;
	t->nsegs++;
	return 0;
}

void flow_tmpl_free(struct flow_tmpl *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nsegs; i++)
		free(t->segs[i].text);
	free(t->segs);
	free(t->vars);
	free(t->src);
	free(t);
}

int flow_tmpl_compile(const char *text, size_t len, struct flow_tmpl **out,
		      size_t *err_off, char *err, size_t errlen)
{
	if ((!text && len) || !out)
		return -EINVAL;
	char dummy[1];
	if (!err || !errlen) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	err[0] = '\0';
	struct flow_tmpl *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	int rc = -ENOMEM;
	t->src = memdup0(text ? text : "", len);
	t->len = len;
	/* Each "{{" makes at most one literal and one variable segment. */
	size_t nref = 0;
	for (size_t i = 0; i + 1 < len; i++) {
		if (text[i] == '{' && text[i + 1] == '{') {
			nref++;
			i++;
		}
	}
	t->segs = calloc(2 * nref + 1, sizeof(*t->segs));
	t->vars = calloc(nref + 1, sizeof(*t->vars));
	if (!t->src || !t->segs || !t->vars)
		goto fail;
	size_t lit = 0, i = 0;
	while (i + 1 < len) {
		if (text[i] != '{' || text[i + 1] != '{') {
			i++;
			continue;
		}
		const char *close = NULL;
		for (size_t j = i + 2; j + 1 < len; j++) {
			if (text[j] == '}' && text[j + 1] == '}') {
				close = text + j;
				break;
			}
		}
		if (!close) {
			snprintf(err, errlen, "unclosed '{{'");
			rc = -EINVAL;
			goto bad;
		}
		/* "{{ a {{ b }}": the first one is never closed. */
		const char *inner = memmem(
			text + i + 2, (size_t)(close - text) - i - 2, "{{", 2);
		if (inner) {
			snprintf(err, errlen, "unclosed '{{'");
			rc = -EINVAL;
			goto bad;
		}
		if (add_literal(t, text + lit, i - lit, lit))
			goto fail;
		struct tmpl_seg *seg = &t->segs[t->nsegs];
		seg->off = i;
		rc = parse_ref(text + i + 2, close, seg, err, errlen);
		if (rc == -EINVAL)
			goto bad;
		if (rc)
			goto fail;
		t->vars[t->nvars++] = t->nsegs++;
		i = (size_t)(close - text) + 2;
		lit = i;
	}
	if (add_literal(t, text + lit, len - lit, lit))
		goto fail;
	*out = t;
	return 0;
bad:
	if (err_off)
		*err_off = i;
	flow_tmpl_free(t);
	return rc;
fail:
	flow_tmpl_free(t);
	return -ENOMEM;
}

size_t flow_tmpl_nvars(const struct flow_tmpl *t)
{
	return t ? t->nvars : 0;
}

const char *flow_tmpl_var(const struct flow_tmpl *t, size_t i, size_t *off)
{
	if (!t || i >= t->nvars)
		return NULL;
	const struct tmpl_seg *s = &t->segs[t->vars[i]];
	if (off)
		*off = s->off;
	return s->text;
}

bool flow_tmpl_is_literal(const struct flow_tmpl *t)
{
	return t && t->nvars == 0;
}

const char *flow_tmpl_literal(const struct flow_tmpl *t)
{
	return flow_tmpl_is_literal(t) ? t->src : NULL;
}

const char *flow_tmpl_source(const struct flow_tmpl *t)
{
	return t ? t->src : NULL;
}

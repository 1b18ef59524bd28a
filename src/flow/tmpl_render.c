/* Rendering of compiled flow templates against a call's variables, with the
 * filters and the escaping of the place the text goes (URL, header, JSON). */
#include <errno.h>
#include <string.h>

#include "core/strbuf.h"
#include "core/utf8.h"
#include "flow/tmpl_impl.h"
#include "flow/vars.h"

static int add_char(struct strbuf *out, char c)
{
	return strbuf_add(out, &c, 1);
}

/* "4111" -> "4 1 1 1": one space between characters, blanks dropped. */
static int put_digits(struct strbuf *out, const char *s, size_t n)
{
	bool first = true;
	for (size_t i = 0; i < n;) {
		size_t k = utf8_seq_len((const unsigned char *)s + i, n - i);
		if (!k)
			k = 1;
		if (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' ||
		    s[i] == '\r') {
			i += k;
			continue;
		}
		int rc = first ? 0 : add_char(out, ' ');
		if (!rc)
			rc = strbuf_add(out, s + i, k);
		if (rc)
			return rc;
		first = false;
		i += k;
	}
	return 0;
}

static int put_case(struct strbuf *out, const char *s, size_t n, bool upper)
{
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (upper && c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		else if (!upper && c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		int rc = add_char(out, c);
		if (rc)
			return rc;
	}
	return 0;
}

/* JSON string contents (no quotes); invalid UTF-8 becomes U+FFFD. */
static int put_json(struct strbuf *out, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)s[i];
		int rc;
		if (c == '"' || c == '\\') {
			char e[2] = { '\\', (char)c };
			rc = strbuf_add(out, e, 2);
			i++;
		} else if (c == '\n') {
			rc = strbuf_add(out, "\\n", 2);
			i++;
		} else if (c == '\r') {
			rc = strbuf_add(out, "\\r", 2);
			i++;
		} else if (c == '\t') {
			rc = strbuf_add(out, "\\t", 2);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			char e[6] = { '\\', 'u',	 '0',
				      '0',  hex[c >> 4], hex[c & 15] };
			rc = strbuf_add(out, e, 6);
			i++;
		} else if (c < 0x80) {
			rc = add_char(out, (char)c);
			i++;
		} else {
			size_t k = utf8_seq_len((const unsigned char *)s + i,
						n - i);
			if (k) {
				rc = strbuf_add(out, s + i, k);
				i += k;
			} else {
				rc = strbuf_add(out, "\\ufffd", 6);
				i++;
			}
		}
		if (rc)
			return rc;
	}
	return 0;
}

/* Percent-encode all but the unreserved characters of RFC 3986. */
static int put_url(struct strbuf *out, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		int rc;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~') {
			rc = add_char(out, (char)c);
		} else {
			char e[3] = { '%', hex[c >> 4], hex[c & 15] };
			rc = strbuf_add(out, e, 3);
		}
		if (rc)
			return rc;
	}
	return 0;
}

static int put_header(struct strbuf *out, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\r' || s[i] == '\n')
			continue;
		int rc = add_char(out, s[i]);
		if (rc)
			return rc;
	}
	return 0;
}

/* The context's escaping of a (filtered) value. */
static int put_ctx(struct strbuf *out, enum flow_tmpl_ctx ctx,
		   enum flow_tmpl_filter f, const char *s, size_t n)
{
	switch (ctx) {
	case TMPL_CTX_URL:
		/* |url already encoded it: encoding "%" again would break
		 * it. */
		return f == TMPL_F_URL ? strbuf_add(out, s, n)
				       : put_url(out, s, n);
	case TMPL_CTX_HEADER:
		return put_header(out, s, n);
	case TMPL_CTX_JSON:
		return f == TMPL_F_JSON ? strbuf_add(out, s, n)
					: put_json(out, s, n);
	case TMPL_CTX_TEXT:
	default:
		return strbuf_add(out, s, n);
	}
}

static int put_value(struct strbuf *out, enum flow_tmpl_ctx ctx,
		     enum flow_tmpl_filter f, const char *v)
{
	size_t n = strlen(v);
	if (f == TMPL_F_NONE || n == 0)
		return put_ctx(out, ctx, f, v, n);
	/* Filter into a scratch buffer, then escape for the context. */
	struct strbuf tmp;
	strbuf_init(&tmp, out->max);
	int rc;
	switch (f) {
	case TMPL_F_DIGITS:
		rc = put_digits(&tmp, v, n);
		break;
	case TMPL_F_UPPER:
		rc = put_case(&tmp, v, n, true);
		break;
	case TMPL_F_LOWER:
		rc = put_case(&tmp, v, n, false);
		break;
	case TMPL_F_JSON:
		rc = put_json(&tmp, v, n);
		break;
	case TMPL_F_URL:
	default:
		rc = put_url(&tmp, v, n);
		break;
	}
	if (!rc)
		rc = put_ctx(out, ctx, f, tmp.buf ? tmp.buf : "", tmp.len);
	strbuf_fini(&tmp);
	return rc;
}

int flow_tmpl_render(const struct flow_tmpl *t, enum flow_tmpl_ctx ctx,
		     const struct flow_vars *v, struct strbuf *out)
{
	if (!t || !out)
		return -EINVAL;
	for (size_t i = 0; i < t->nsegs; i++) {
		const struct tmpl_seg *s = &t->segs[i];
		int rc;
		if (!s->var) {
			rc = strbuf_add(out, s->text, s->len);
		} else {
			const char *val = v ? flow_vars_get(v, s->text) : NULL;
			rc = put_value(out, ctx, s->filter, val ? val : "");
		}
		if (rc)
			return rc;
	}
	return 0;
}

/* Form-urlencoded parser: one pass counts the pairs, one decodes them into a
 * single buffer (decoded text is never longer than the input). */
#include "telephony/twilio/twform.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void twform_init(struct twform *f)
{
	memset(f, 0, sizeof(*f));
}

void twform_fini(struct twform *f)
{
	if (!f)
		return;
	free(f->pairs);
	free(f->buf);
	memset(f, 0, sizeof(*f));
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode s[0..len) into out (NUL-terminated); returns the end of out or
 * NULL on a bad escape or a NUL byte. */
static char *decode(char *out, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			if (len - i < 3)
				return NULL;
			int hi = hexval(s[i + 1]);
			int lo = hexval(s[i + 2]);
			if (hi < 0 || lo < 0)
				return NULL;
			c = (char)(hi << 4 | lo);
			i += 2;
		}
		if (c == '\0')
			return NULL;
		*out++ = c;
	}
	*out++ = '\0';
	return out;
}

int twform_parse(struct twform *f, const char *s, size_t len)
{
	if (!f || (!s && len))
		return -EINVAL;
	twform_fini(f);
	if (len > TWFORM_MAX_BYTES)
		return -E2BIG;

	size_t npairs = 0;
	for (size_t i = 0; i < len;) {
		const char *amp = memchr(s + i, '&', len - i);
		size_t seg = amp ? (size_t)(amp - (s + i)) : len - i;
		if (seg)
			npairs++;
		i += seg + 1;
	}
	if (npairs > TWFORM_MAX_PAIRS)
		return -E2BIG;

	int err = -ENOMEM;
	/* each pair: its bytes + two NULs (name and value) */
	f->buf = malloc(len + 2 * npairs + 1);
	f->pairs = calloc(npairs ? npairs : 1, sizeof(*f->pairs));
	if (!f->buf || !f->pairs)
		goto out;

	char *w = f->buf;
	for (size_t i = 0; i < len;) {
		const char *seg = s + i;
		const char *amp = memchr(seg, '&', len - i);
		size_t n = amp ? (size_t)(amp - seg) : len - i;
		i += n + 1;
		if (!n)
			continue;
		const char *eq = memchr(seg, '=', n);
		size_t nlen = eq ? (size_t)(eq - seg) : n;
		err = -EBADMSG;
		if (!nlen)
			goto out;
		struct twform_pair *p = &f->pairs[f->n];
		p->name = w;
		w = decode(w, seg, nlen);
		if (!w)
			goto out;
		p->value = w;
		w = eq ? decode(w, eq + 1, n - nlen - 1) : decode(w, "", 0);
		if (!w)
			goto out;
		f->n++;
	}
	err = 0;
out:
	if (err)
		twform_fini(f);
	return err;
}

static int cmp_pair(const void *a, const void *b)
{
	const struct twform_pair *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : strcmp(x->value, y->value);
}

void twform_sort(struct twform *f)
{
	if (f && f->n > 1)
		qsort(f->pairs, f->n, sizeof(*f->pairs), cmp_pair);
}

const char *twform_get(const struct twform *f, const char *name)
{
	for (size_t i = 0; f && name && i < f->n; i++) {
		if (!strcmp(f->pairs[i].name, name))
			return f->pairs[i].value;
	}
	return NULL;
}

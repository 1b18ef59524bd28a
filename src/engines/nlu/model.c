/* NLU model files: a little-endian, versioned, checksummed serialisation of
 * struct nlu_model, and a loader that validates every field before use. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/file.h"
#include "engines/nlu/model_priv.h"

/* Layout (docs/NLU.md): magic[8] version flags total_len:u64
 * dim_bits word_max_n char_min_n char_max_n nlabels nrows
 * temperature:f32 oos_threshold:f32 | (version 2) emb_dim emb_n
 * emb_scale:f32 emb_words_len | labels (u8 len + bytes) | (version 2, when
 * emb_dim) emb words (NUL-terminated) emb_scale:f32[emb_n]
 * emb_q:i8[emb_n*emb_dim] | row_idx[nrows] idf[nrows]
 * w[(nrows+emb_dim)*nlabels] b[nlabels] | (version 3) hidden mix:f32
 * mlp_only w1[(nrows+emb_dim)*hidden] b1[hidden] w2[hidden*nlabels]
 * b2[nlabels] | crc32. A model without a perceptron is written as
 * version 2, byte for byte as before. */
#define HDR_LEN 56
#define HDR_LEN_V2 72

/* NLU_MODEL_MAGIC without its NUL: exactly 8 bytes on disk. */
static const uint8_t magic[8] = { 'V', 'X', 'N', 'L', 'U', 'M', 'D', 'L' };

static uint32_t crc_table[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_fill(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
		crc_table[0][i] = c;
	}
	for (uint32_t i = 0; i < 256; i++) {
		for (int t = 1; t < 8; t++)
			crc_table[t][i] =
				(crc_table[t - 1][i] >> 8) ^
				crc_table[0][crc_table[t - 1][i] & 0xff];
	}
}

uint32_t nlu_crc32(uint32_t crc, const uint8_t *p, size_t len)
{
	pthread_once(&crc_once, crc_fill);
	crc = ~crc;
	/* Slicing-by-8: the BANKING77 model is ~20 MB and must load in
	 * well under 100 ms. */
	while (len >= 8) {
		uint32_t a =
			crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 |
			       (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
		crc = crc_table[7][a & 0xff] ^ crc_table[6][(a >> 8) & 0xff] ^
		      crc_table[5][(a >> 16) & 0xff] ^ crc_table[4][a >> 24] ^
		      crc_table[3][p[4]] ^ crc_table[2][p[5]] ^
		      crc_table[1][p[6]] ^ crc_table[0][p[7]];
		p += 8;
		len -= 8;
	}
	while (len--)
		crc = crc_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static void putf(uint8_t *p, float f)
{
	uint32_t v;
	memcpy(&v, &f, 4);
	put32(p, v);
}

static float getf(const uint8_t *p)
{
	uint32_t v = get32(p);
	float f;
	memcpy(&f, &v, 4);
	return f;
}

int nlu_model_save_mem(const struct nlu_model *m, uint8_t **buf, size_t *len)
{
	if (!m || !buf || !len)
		return -EINVAL;
	if (m->vecs)
		return -ENOTSUP; /* borrowed experiment vectors: not storable */
	size_t k = m->nlabels, nr = m->nrows, ed = m->edim;
	const struct nlu_emb *e = m->emb;
	const struct nlu_mlp *n = m->mlp;
	size_t nh = n ? n->nh : 0;
	size_t total = HDR_LEN_V2;
	for (size_t i = 0; i < k; i++)
		total += 1 + strlen(m->labels[i]);
	if (e)
		total += e->words_len + (size_t)e->n * (4 + e->dim);
	total += nr * 8 + ((nr + ed) * k + k) * 4 + 4;
	if (n)
		total += 12 + ((nr + ed) * nh + nh + nh * k + k) * 4;
	uint8_t *b = malloc(total);
	if (!b)
		return -ENOMEM;
	memcpy(b, magic, sizeof(magic));
	put32(b + 8, n ? NLU_MODEL_VERSION : 2);
	put32(b + 12, m->feat.canon ? NLU_MODEL_FLAG_CANON : 0);
	put32(b + 16, (uint32_t)total);
	put32(b + 20, (uint32_t)((uint64_t)total >> 32));
	put32(b + 24, m->feat.dim_bits);
	put32(b + 28, m->feat.word_max_n);
	put32(b + 32, m->feat.char_min_n);
	put32(b + 36, m->feat.char_max_n);
	put32(b + 40, m->nlabels);
	put32(b + 44, m->nrows);
	putf(b + 48, m->temperature);
	putf(b + 52, m->oos_threshold);
	put32(b + 56, e ? e->dim : 0);
	put32(b + 60, e ? e->n : 0);
	putf(b + 64, e ? m->emb_scale : 0.0f);
	put32(b + 68, e ? (uint32_t)e->words_len : 0);
	uint8_t *p = b + HDR_LEN_V2;
	for (size_t i = 0; i < k; i++) {
		size_t l = strlen(m->labels[i]);
		*p++ = (uint8_t)l;
		memcpy(p, m->labels[i], l);
		p += l;
	}
	if (e) {
		memcpy(p, e->words, e->words_len);
		p += e->words_len;
		for (uint32_t i = 0; i < e->n; i++, p += 4)
			putf(p, e->scale[i]);
		memcpy(p, e->q, (size_t)e->n * e->dim);
		p += (size_t)e->n * e->dim;
	}
	for (size_t r = 0; r < nr; r++, p += 4)
		put32(p, m->row_idx[r]);
	for (size_t r = 0; r < nr; r++, p += 4)
		putf(p, m->idf[r]);
	for (size_t i = 0; i < (nr + ed) * k; i++, p += 4)
		putf(p, m->w[i]);
	for (size_t i = 0; i < k; i++, p += 4)
		putf(p, m->b[i]);
	if (n) {
		put32(p, (uint32_t)nh);
		putf(p + 4, m->mlp_mix);
		put32(p + 8, m->mlp_only ? 1 : 0);
		p += 12;
		for (size_t i = 0; i < (nr + ed) * nh; i++, p += 4)
			putf(p, n->w1[i]);
		for (size_t i = 0; i < nh; i++, p += 4)
			putf(p, n->b1[i]);
		for (size_t i = 0; i < nh * k; i++, p += 4)
			putf(p, n->w2[i]);
		for (size_t i = 0; i < k; i++, p += 4)
			putf(p, n->b2[i]);
	}
	put32(p, nlu_crc32(0, b, total - 4));
	*buf = b;
	*len = total;
	return 0;
}

int nlu_model_save(const struct nlu_model *m, const char *path)
{
	if (!m || !path)
		return -EINVAL;
	uint8_t *buf = NULL;
	size_t len = 0;
	int err = nlu_model_save_mem(m, &buf, &len);
	if (err)
		return err;
	char tmp[4096];
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
		free(buf);
		return -ENAMETOOLONG;
	}
	FILE *f = fopen(tmp, "wb");
	if (!f) {
		err = -errno;
		free(buf);
		return err;
	}
	if (fwrite(buf, 1, len, f) != len)
		err = -EIO;
	if (fclose(f) && !err)
		err = -EIO;
	free(buf);
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

__attribute__((format(printf, 4, 5))) static int
fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

static int all_finite(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(getf(p + 4 * i)))
			return 0;
	}
	return 1;
}

int nlu_model_load_mem(const uint8_t *buf, size_t len, struct nlu_model **out,
		       char *err, size_t errlen)
{
	if (!buf || !out)
		return -EINVAL;
	if (len < 8 || memcmp(buf, magic, 8)) {
		if (len < 8 && !memcmp(buf, magic, len))
			return fail(err, errlen, -EBADMSG,
				    "truncated model file (%zu bytes)", len);
		return fail(err, errlen, -EBADMSG,
			    "not a voxgate NLU model (bad magic)");
	}
	if (len < HDR_LEN)
		return fail(err, errlen, -EBADMSG,
			    "truncated model file (%zu bytes)", len);
	uint32_t ver = get32(buf + 8);
	if (ver > NLU_MODEL_VERSION)
		return fail(err, errlen, -EPROTO,
			    "model file version %u is newer than supported "
			    "version %u",
			    ver, NLU_MODEL_VERSION);
	if (ver == 0)
		return fail(err, errlen, -EBADMSG, "bad model file version 0");
	size_t hdr = ver >= 2 ? HDR_LEN_V2 : HDR_LEN;
	if (len < hdr)
		return fail(err, errlen, -EBADMSG,
			    "truncated model file (%zu bytes)", len);
	uint64_t total = get32(buf + 16) | (uint64_t)get32(buf + 20) << 32;
	if (total > len)
		return fail(err, errlen, -EBADMSG,
			    "truncated model file (%zu of %llu bytes)", len,
			    (unsigned long long)total);
	if (total != len || total < hdr + 4)
		return fail(err, errlen, -EBADMSG,
			    "corrupt model file (length %zu, header says %llu)",
			    len, (unsigned long long)total);
	if (nlu_crc32(0, buf, len - 4) != get32(buf + len - 4))
		return fail(err, errlen, -EBADMSG,
			    "corrupt model file (checksum mismatch)");
	uint32_t flags = get32(buf + 12);
	if (flags & ~(uint32_t)NLU_MODEL_FLAG_CANON)
		return fail(err, errlen, -EBADMSG, "unknown model flags");

	struct nlu_feat_cfg fc = {
		.dim_bits = get32(buf + 24),
		.word_max_n = get32(buf + 28),
		.char_min_n = get32(buf + 32),
		.char_max_n = get32(buf + 36),
		.canon = flags & NLU_MODEL_FLAG_CANON ? 1 : 0,
	};
	uint32_t k = get32(buf + 40), nr = get32(buf + 44);
	float temp = getf(buf + 48), thr = getf(buf + 52);
	if (nlu_feat_cfg_check(&fc))
		return fail(err, errlen, -EBADMSG, "bad feature config");
	if (k < 1 || k > NLU_LABELS_MAX || nr > (1u << fc.dim_bits))
		return fail(err, errlen, -EBADMSG, "bad label or row count");
	if (!isfinite(temp) || temp <= 0 || !isfinite(thr))
		return fail(err, errlen, -EBADMSG, "bad temperature/threshold");
	/* Version 1 has no embeddings. */
	uint32_t ed = 0, en = 0;
	size_t ewl = 0;
	float escale = 1.0f;
	if (ver >= 2) {
		ed = get32(buf + 56);
		en = get32(buf + 60);
		escale = getf(buf + 64);
		ewl = get32(buf + 68);
		if (ed > NLU_EMB_DIM_MAX || en > NLU_EMB_WORDS_MAX ||
		    (!ed && (en || ewl || get32(buf + 64))) ||
		    (ed && (!en || !isfinite(escale) || !(escale > 0) ||
			    ewl < 2 * (size_t)en)))
			return fail(err, errlen, -EBADMSG,
				    "bad embedding header");
	}

	/* Labels, then check the remaining length exactly before reading. */
	size_t pos = hdr, end = len - 4;
	size_t lab_start = pos;
	for (uint32_t i = 0; i < k; i++) {
		if (pos >= end || buf[pos] == 0 ||
		    buf[pos] > NLU_LABEL_LEN_MAX || end - pos - 1 < buf[pos])
			return fail(err, errlen, -EBADMSG, "bad label %u", i);
		if (memchr(buf + pos + 1, '\0', buf[pos]))
			return fail(err, errlen, -EBADMSG, "bad label %u", i);
		pos += 1 + (size_t)buf[pos];
	}
	size_t eblock = ed ? ewl + (size_t)en * (4 + (size_t)ed) : 0;
	size_t need = eblock + (size_t)nr * 8 + (((size_t)nr + ed) * k + k) * 4;
	/* Version 3: the perceptron after the linear weights. */
	uint32_t nh = 0, only = 0;
	float mix = 1.0f;
	const uint8_t *mlp = NULL;
	if (ver >= 3) {
		if (end - pos < need + 12)
			return fail(err, errlen, -EBADMSG,
				    "bad weight block size");
		mlp = buf + pos + need;
		nh = get32(mlp);
		mix = getf(mlp + 4);
		only = get32(mlp + 8);
		if (!nh || nh > NLU_MLP_HIDDEN_MAX || !isfinite(mix) ||
		    !(mix > 0) || only > 1)
			return fail(err, errlen, -EBADMSG,
				    "bad perceptron header");
		need += 12 +
			(((size_t)nr + ed) * nh + nh + (size_t)nh * k + k) * 4;
		mlp += 12;
	}
	if (end - pos != need)
		return fail(err, errlen, -EBADMSG, "bad weight block size");
	size_t nmlp = ((size_t)nr + ed) * nh + nh + (size_t)nh * k + k;
	if (mlp && !all_finite(mlp, nmlp))
		return fail(err, errlen, -EBADMSG, "non-finite weights");
	const uint8_t *ewords = buf + pos, *escales = ewords + ewl;
	const uint8_t *eq = escales + (size_t)en * 4;
	const uint8_t *rows = buf + pos + eblock, *idf = rows + (size_t)nr * 4;
	const uint8_t *w = idf + (size_t)nr * 4;
	const uint8_t *bias = w + ((size_t)nr + ed) * k * 4;
	if (!all_finite(idf, nr) || !all_finite(w, ((size_t)nr + ed) * k) ||
	    !all_finite(bias, k) || !all_finite(escales, en))
		return fail(err, errlen, -EBADMSG, "non-finite weights");

	struct nlu_model *m = NULL;
	int rc = nlu_model_alloc(&m, &fc, k, nr, ed);
	if (rc)
		return fail(err, errlen, rc, "cannot allocate the model");
	m->temperature = temp;
	m->oos_threshold = thr;
	if (ed) {
		float *sc = malloc((size_t)en * sizeof(*sc));
		rc = sc ? 0 : -ENOMEM;
		for (uint32_t i = 0; sc && i < en; i++)
			sc[i] = getf(escales + 4 * (size_t)i);
		if (!rc)
			rc = nlu_emb_create(&m->emb, ed, en,
					    (const char *)ewords, ewl, sc,
					    (const int8_t *)eq);
		free(sc);
		if (rc) {
			nlu_model_destroy(m);
			return fail(err, errlen, rc == -ENOMEM ? rc : -EBADMSG,
				    "bad embedding table");
		}
		m->emb_scale = escale;
	}
	pos = lab_start;
	for (uint32_t i = 0; i < k; i++) {
		m->labels[i] = strndup((const char *)buf + pos + 1, buf[pos]);
		if (!m->labels[i]) {
			nlu_model_destroy(m);
			return fail(err, errlen, -ENOMEM, "out of memory");
		}
		pos += 1 + (size_t)buf[pos];
	}
	for (uint32_t r = 0; r < nr; r++) {
		m->row_idx[r] = get32(rows + 4 * (size_t)r);
		m->idf[r] = getf(idf + 4 * (size_t)r);
	}
	for (size_t i = 0; i < ((size_t)nr + ed) * k; i++)
		m->w[i] = getf(w + 4 * i);
	for (uint32_t i = 0; i < k; i++)
		m->b[i] = getf(bias + 4 * (size_t)i);
	if (mlp) {
		float *f = malloc(nmlp * sizeof(*f));
		if (f) {
			for (size_t i = 0; i < nmlp; i++)
				f[i] = getf(mlp + 4 * i);
			rc = nlu_mlp_create(&m->mlp, nr + ed, nh, k, f);
			free(f);
		}
		if (!f || rc) {
			nlu_model_destroy(m);
			return fail(err, errlen, -ENOMEM, "out of memory");
		}
		m->mlp_mix = mix;
		m->mlp_only = (int)only;
	}
	if (nlu_model_index_rows(m)) {
		nlu_model_destroy(m);
		return fail(
			err, errlen, -EBADMSG,
			"bad feature rows (not increasing or out of range)");
	}
	*out = m;
	return 0;
}

int nlu_model_load(const char *path, struct nlu_model **out, char *err,
		   size_t errlen)
{
	if (!path || !out)
		return -EINVAL;
	char *buf = NULL;
	size_t len = 0;
	int rc = file_read_all(path, NLU_MODEL_BYTES_MAX, &buf, &len);
	if (rc == -E2BIG)
		return fail(err, errlen, -EFBIG, "%s: model file too large",
			    path);
	if (rc)
		return fail(err, errlen, rc, "%s: %s", path, strerror(-rc));
	rc = nlu_model_load_mem((const uint8_t *)buf, len, out, err, errlen);
	free(buf);
	return rc;
}

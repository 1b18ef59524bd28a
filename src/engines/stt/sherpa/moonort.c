/* Moonshine on onnxruntime (moonort.h).
 *
 * The models, as the library reports them (printed once, 2026-11-24,
 * onnxruntime 1.27.0, moonshine-js 0.1.29 tiny/quantized):
 *   encoder: input_values float [batch, samples] (16 kHz)
 *            -> last_hidden_state float [batch, frames, 288]
 *   merged decoder: input_ids int64 [batch, seq], encoder_hidden_states
 *            float [batch, frames, 288], past_key_values.{0..5}.{decoder,
 *            encoder}.{key,value} float [batch, 8, len, 36],
 *            use_cache_branch bool [1]
 *            -> logits float [batch, seq, 32768], present.{0..5}.{decoder,
 *            encoder}.{key,value} float [batch, 8, len, 36]
 * Decoding: the first step (use_cache_branch false, empty past) feeds the
 * start token and returns the cross-attention keys/values, computed once;
 * every later step (use_cache_branch true) feeds one token per hypothesis
 * with the self-attention cache of its parent, and the encoder output and
 * cross caches once, at batch 1 (broadcast over the hypotheses). */
#include "engines/stt/sherpa/moonort.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/b64.h"
#include "core/log.h"
#include "engines/stt/sherpa/beam.h"
#include "engines/stt/sherpa/ort_capi.h"
#include "engines/stt/sherpa/sherpa.h"

#define LIB_SUBPATH "sherpa-onnx/libonnxruntime.so"
#define MODEL_SUBDIR "moonshine-tiny"
#define TOKENS_FILE_MAX ((size_t)8 << 20)
#define LAYERS 6
#define HEADS 8
#define HEAD_DIM 36
#define HIDDEN 288
#define NKV (LAYERS * 2) /* self-attention keys and values */
#define BOS_ID 1
#define EOS_ID 2
/* Most tokens a decode may emit per second of audio (people speak 2-4
 * words/s; a word is 1-2 tokens), and in all. */
#define TOKENS_PER_S 15u

static pthread_mutex_t lib_lock = PTHREAD_MUTEX_INITIALIZER;
static const struct ort_api *ort;

struct moonort {
	char model_dir[PATH_MAX];
	ort_env *env;
	ort_session *enc, *dec;
	ort_memory_info *mem;
	size_t vocab; /* logits width */
	char **text;  /* [vocab] token texts */
	/* decoder input/output names, in the order we pass them */
	char dec_in[1 + 1 + 4 * LAYERS + 1][48];
	char dec_out[1 + 4 * LAYERS][48];
	const char *in_names[2 + 4 * LAYERS + 1];
	const char *out_names[1 + 4 * LAYERS];
};

static struct sherpa_shared shared = SHERPA_SHARED_INIT;

static bool file_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* 0 when st is success; else logs and frees it: -EIO. */
static int check(ort_status *st, const char *what)
{
	if (!st)
		return 0;
	LOGE(NULL, "moonort_error", "call=%s error=%s", what,
	     log_esc(ort->get_error_message(st)));
	ort->release_status(st);
	return -EIO;
}

static int load_lib(const char *dir)
{
	char path[PATH_MAX];
	ort_get_api_base_fn get_base;
	const struct ort_api_base *base;
	void *h, *sym;
	int err = 0;

	pthread_mutex_lock(&lib_lock);
	if (ort)
		goto out;
	if (snprintf(path, sizeof(path), "%s/%s", dir, LIB_SUBPATH) >=
	    (int)sizeof(path)) {
		err = -ENAMETOOLONG;
		goto out;
	}
	if (!file_exists(path)) {
		err = -ENOENT;
		goto out;
	}
	h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		LOGE(NULL, "moonort_dlopen_failed", "path=%s error=%s",
		     log_esc(path), log_esc(dlerror()));
		err = -ELIBBAD;
		goto out;
	}
	sym = dlsym(h, "OrtGetApiBase");
	if (!sym) {
		err = -ELIBBAD;
		goto out; /* never unloaded: see sherpa.c */
	}
	memcpy(&get_base, &sym, sizeof(get_base));
	base = get_base();
	ort = base ? base->get_api(ORT_CAPI_VERSION) : NULL;
	if (!ort) {
		err = -ELIBBAD;
		goto out;
	}
	LOGI(NULL, "moonort_loaded", "onnxruntime=%s",
	     log_esc(base->get_version_string()));
out:
	pthread_mutex_unlock(&lib_lock);
	return err;
}

void moonort_tokens_free(char **text, size_t vocab)
{
	if (!text)
		return;
	for (size_t i = 0; i < vocab; i++)
		free(text[i]);
	free(text);
}

int moonort_tokens_parse(const char *buf, size_t len, size_t vocab,
			 char ***textp, unsigned *line)
{
	char **text = calloc(vocab, sizeof(*text));
	unsigned ln = 0;
	size_t nset = 0;
	int err = 0;

	if (!text)
		return -ENOMEM;
	for (size_t pos = 0; pos < len && !err;) {
		const char *l = buf + pos, *sp, *end;
		/* buf need not be NUL-terminated: search only its len bytes */
		const char *nl = memchr(l, '\n', len - pos);
		size_t llen = nl ? (size_t)(nl - l) : len - pos;
		uint8_t tok[128];
		char *num_end;
		long id;
		int n;

		pos += llen + 1;
		ln++;
		end = l + llen;
		if (llen && end[-1] == '\r')
			end--;
		if (end == l)
			continue;
		sp = memchr(l, ' ', (size_t)(end - l));
		err = -EBADMSG;
		if (!sp || sp == l || sp + 1 == end || end - sp > 12)
			break;
		n = b64_decode(l, (size_t)(sp - l), tok, sizeof(tok) - 1);
		{
			char num[16];

			memcpy(num, sp + 1, (size_t)(end - sp - 1));
			num[end - sp - 1] = '\0';
			id = strtol(num, &num_end, 10);
			if (*num_end || num_end == num)
				break;
		}
		if (n <= 0 || id < 0 || (size_t)id >= vocab || text[id] ||
		    memchr(tok, '\0', (size_t)n))
			break;
		text[id] = malloc((size_t)n + 1);
		if (!text[id]) {
			err = -ENOMEM;
			break;
		}
		memcpy(text[id], tok, (size_t)n);
		text[id][n] = '\0';
		nset++;
		err = 0;
	}
	if (!err && nset == 0)
		err = -EBADMSG;
	if (err) {
		if (line)
			*line = ln;
		moonort_tokens_free(text, vocab);
		return err;
	}
	*textp = text;
	return 0;
}

static int tokens_load(struct moonort *m, const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0;
	unsigned line = 0;
	int err;

	if (!f)
		return -ENOENT;
	buf = malloc(TOKENS_FILE_MAX);
	if (!buf) {
		fclose(f);
		return -ENOMEM;
	}
	len = fread(buf, 1, TOKENS_FILE_MAX, f);
	fclose(f);
	err = len == TOKENS_FILE_MAX ? -EBADMSG
				     : moonort_tokens_parse(buf, len, m->vocab,
							    &m->text, &line);
	free(buf);
	if (err == -EBADMSG)
		LOGE(NULL, "moonort_tokens_bad", "path=%s line=%u",
		     log_esc(path), line);
	return err;
}

/* Element type and dims of one input or output of s. */
static int io_shape(ort_session *s, bool out, size_t i, enum ort_elem *type,
		    int64_t *dims, size_t *ndim)
{
	ort_type_info *ti;
	const ort_tensor_info *t;
	int err;

	err = check(out ? ort->session_get_output_type_info(s, i, &ti)
			: ort->session_get_input_type_info(s, i, &ti),
		    "type_info");
	if (err)
		return err;
	err = check(ort->cast_type_info_to_tensor_info(ti, &t), "tensor_info");
	if (!err)
		err = check(ort->get_tensor_element_type(t, type), "elem");
	if (!err)
		err = check(ort->get_dimensions_count(t, ndim), "ndim");
	if (!err && *ndim > 4)
		err = -EIO;
	if (!err)
		err = check(ort->get_dimensions(t, dims, *ndim), "dims");
	ort->release_type_info(ti);
	return err;
}

static int io_name(ort_session *s, bool out, size_t i, char *name, size_t cap)
{
	ort_allocator *al;
	char *n;
	int err;

	err = check(ort->get_allocator_with_default_options(&al), "alloc");
	if (err)
		return err;
	err = check(out ? ort->session_get_output_name(s, i, al, &n)
			: ort->session_get_input_name(s, i, al, &n),
		    "name");
	if (err)
		return err;
	if (snprintf(name, cap, "%s", n) >= (int)cap)
		err = -EIO;
	(void)check(ort->allocator_free(al, n), "free");
	return err;
}

/* The decoder must be the Moonshine tiny merged decoder we were written
 * for: the inputs and outputs listed at the top, in that order. */
static int check_decoder(struct moonort *m)
{
	size_t nin, nout, ndim;
	int64_t dims[4];
	enum ort_elem type;
	int err;

	err = check(ort->session_get_input_count(m->dec, &nin), "inputs");
	if (!err)
		err = check(ort->session_get_output_count(m->dec, &nout),
			    "outputs");
	if (err)
		return err;
	if (nin != 2 + 4 * LAYERS + 1 || nout != 1 + 4 * LAYERS)
		return -EIO;
	for (size_t i = 0; i < nin; i++) {
		err = io_name(m->dec, false, i, m->dec_in[i],
			      sizeof(m->dec_in[i]));
		if (err)
			return err;
		m->in_names[i] = m->dec_in[i];
	}
	for (size_t i = 0; i < nout; i++) {
		err = io_name(m->dec, true, i, m->dec_out[i],
			      sizeof(m->dec_out[i]));
		if (err)
			return err;
		m->out_names[i] = m->dec_out[i];
	}
	if (strcmp(m->dec_in[0], "input_ids") ||
	    strcmp(m->dec_in[1], "encoder_hidden_states") ||
	    strcmp(m->dec_in[nin - 1], "use_cache_branch") ||
	    strcmp(m->dec_out[0], "logits"))
		return -EIO;
	for (size_t l = 0; l < LAYERS; l++) {
		char want[48];

		snprintf(want, sizeof(want), "past_key_values.%zu.decoder.key",
			 l);
		if (strcmp(m->dec_in[2 + 4 * l], want))
			return -EIO;
		snprintf(want, sizeof(want), "present.%zu.encoder.value", l);
		if (strcmp(m->dec_out[4 + 4 * l], want))
			return -EIO;
	}
	err = io_shape(m->dec, true, 0, &type, dims, &ndim);
	if (err)
		return err;
	if (type != ORT_ELEM_FLOAT || ndim != 3 || dims[2] <= EOS_ID ||
	    dims[2] > 1000000)
		return -EIO;
	m->vocab = (size_t)dims[2];
	err = io_shape(m->dec, false, 2, &type, dims, &ndim);
	if (err)
		return err;
	if (ndim != 4 || dims[1] != HEADS || dims[3] != HEAD_DIM)
		return -EIO;
	return 0;
}

static int open_model(struct moonort *m, unsigned threads)
{
	char enc[PATH_MAX], dec[PATH_MAX], tok[PATH_MAX];
	ort_session_options *o = NULL;
	int err;

	if (snprintf(enc, sizeof(enc), "%s/encoder_model.onnx", m->model_dir) >=
		    (int)sizeof(enc) ||
	    snprintf(dec, sizeof(dec), "%s/decoder_model_merged.onnx",
		     m->model_dir) >= (int)sizeof(dec) ||
	    snprintf(tok, sizeof(tok), "%s/tokens.txt", m->model_dir) >=
		    (int)sizeof(tok))
		return -ENAMETOOLONG;
	if (!file_exists(enc) || !file_exists(dec) || !file_exists(tok))
		return -ENOENT;
	err = check(ort->create_env(ORT_LOG_ERROR, "voxgate", &m->env), "env");
	if (!err)
		err = check(ort->create_session_options(&o), "options");
	if (!err)
		err = check(ort->set_intra_op_num_threads(
				    o, (int)(threads ? threads : 1)),
			    "threads");
	if (!err)
		err = check(ort->set_inter_op_num_threads(o, 1), "threads");
	if (!err)
		err = check(ort->set_graph_optimization_level(o, ORT_OPT_ALL),
			    "opt");
	/* The export is quantized: its weights are uint8 tensors behind
	 * DequantizeLinear nodes, which onnxruntime keeps (for QDQ fusions)
	 * and so runs at every Run, then repacks the float result for the
	 * GEMM: 45% of a decode's CPU in perf. With the QDQ handling off,
	 * constant folding turns those weights into float initializers once,
	 * at load: beam-4 decode CPU p50 191 -> 108 ms (A/B on 60 utterances,
	 * same transcripts) for +55 MB RSS, once per process. */
	if (!err)
		err = check(ort->add_session_config_entry(
				    o, "session.disable_quant_qdq", "1"),
			    "config");
	if (!err)
		err = check(ort->create_session(m->env, enc, o, &m->enc),
			    "encoder");
	if (!err)
		err = check(ort->create_session(m->env, dec, o, &m->dec),
			    "decoder");
	if (!err)
		err = check(ort->create_cpu_memory_info(
				    ORT_ALLOC_ARENA, ORT_MEM_DEFAULT, &m->mem),
			    "meminfo");
	if (o)
		ort->release_session_options(o);
	if (!err)
		err = check_decoder(m);
	if (err == -EIO)
		LOGE(NULL, "moonort_model_bad", "dir=%s",
		     log_esc(m->model_dir));
	if (!err)
		err = tokens_load(m, tok);
	return err;
}

static void close_model(struct moonort *m)
{
	moonort_tokens_free(m->text, m->vocab);
	if (m->mem)
		ort->release_memory_info(m->mem);
	if (m->dec)
		ort->release_session(m->dec);
	if (m->enc)
		ort->release_session(m->enc);
	if (m->env)
		ort->release_env(m->env);
}

/* sherpa_shared's open: arg is the unsigned intra-op thread count. */
static int model_new(const char *dir, void *arg, void **objp)
{
	struct moonort *m = calloc(1, sizeof(*m));
	int err = m ? 0 : -ENOMEM;

	if (!err) {
		snprintf(m->model_dir, sizeof(m->model_dir), "%s", dir);
		err = open_model(m, *(const unsigned *)arg);
	}
	if (!err)
		*objp = m;
	else if (m)
		close_model(m);
	if (err)
		free(m);
	return err;
}

static void model_free(void *obj)
{
	close_model(obj);
	free(obj);
}

int moonort_create(struct moonort **mp, const char *lib_dir,
		   const char *model_dir, unsigned threads)
{
	char dir[PATH_MAX];
	void *obj;
	int err;

	if (!mp)
		return -EINVAL;
	err = load_lib(lib_dir ? lib_dir : sherpa_deps_dir());
	if (err)
		return err;
	if ((model_dir ? snprintf(dir, sizeof(dir), "%s", model_dir)
		       : snprintf(dir, sizeof(dir), "%s/%s", sherpa_deps_dir(),
				  MODEL_SUBDIR)) >= (int)sizeof(dir))
		return -ENAMETOOLONG;
	err = sherpa_shared_get(&shared, dir, model_new, &threads, &obj);
	if (!err)
		*mp = obj;
	return err;
}

void moonort_destroy(struct moonort *m)
{
	if (m)
		sherpa_shared_put(&shared, m, model_free);
}

/*
 * One decode.
 */
struct dec {
	struct moonort *m;
	unsigned width;
	size_t frames;
	/* The encoder's output and the cross-attention caches are the same
	 * for every hypothesis: one copy each, batch 1, which the decoder's
	 * attention broadcasts over the hypotheses (MatMul's batch
	 * broadcasting; same transcripts as n copies, a width-fold less
	 * memory and copying). */
	float *hidden;		  /* [1, frames, HIDDEN] */
	float *cross[4 * LAYERS]; /* encoder k/v per layer: [1, HEADS,
				     frames, HEAD_DIM]; decoder slots NULL */
	float *self[NKV];	  /* [nprev, HEADS, len, HEAD_DIM], ours */
	size_t len, nprev;	  /* self-attention length, hypotheses */
};

static int tensor(struct dec *d, void *data, size_t bytes, const int64_t *shape,
		  size_t ndim, enum ort_elem type, ort_value **out)
{
	return check(ort->create_tensor_with_data_as_ort_value(
			     d->m->mem, data, bytes, shape, ndim, type, out),
		     "tensor");
}

static int out_data(ort_value *v, float **p)
{
	void *data;
	int err = check(ort->get_tensor_mutable_data(v, &data), "data");

	if (!err)
		*p = data;
	return err;
}

/* Input index of layer l's k/v j (0 dec key, 1 dec value, 2 enc key,
 * 3 enc value). */
#define KV_IN(l, j) (2 + 4 * (l) + (j))
#define KV_OUT(l, j) (1 + 4 * (l) + (j))
#define SELF(l, j) (2 * (l) + (j))

/* Run the decoder on n hypotheses with tokens tok and the past in[]; the
 * logits go to logits[n * vocab], the new self-attention caches to d->self
 * (and on the first step the cross caches to d->cross). */
static int run_dec(struct dec *d, size_t n, const int32_t *tok, ort_value **in,
		   bool first, float *logits)
{
	struct moonort *m = d->m;
	ort_value *out[1 + 4 * LAYERS] = { 0 };
	size_t nout = 0;
	const char *names[1 + 4 * LAYERS];
	int64_t ids[BEAM_WIDTH_MAX];
	int64_t ishape[2] = { (int64_t)n, 1 };
	int64_t hshape[3] = { 1, (int64_t)d->frames, HIDDEN };
	bool cache = !first;
	int err;

	for (size_t i = 0; i < n; i++)
		ids[i] = tok[i];
	err = tensor(d, ids, n * sizeof(*ids), ishape, 2, ORT_ELEM_INT64,
		     &in[0]);
	if (!err)
		err = tensor(d, d->hidden, d->frames * HIDDEN * sizeof(float),
			     hshape, 3, ORT_ELEM_FLOAT, &in[1]);
	if (!err) {
		int64_t one = 1;

		err = tensor(d, &cache, sizeof(cache), &one, 1, ORT_ELEM_BOOL,
			     &in[2 + 4 * LAYERS]);
	}
	if (err)
		return err;
	names[nout++] = m->out_names[0];
	for (size_t l = 0; l < LAYERS; l++)
		for (size_t j = 0; j < (first ? 4u : 2u); j++)
			names[nout++] = m->out_names[KV_OUT(l, j)];
	err = check(ort->run(m->dec, NULL, m->in_names,
			     (const ort_value *const *)in, 2 + 4 * LAYERS + 1,
			     names, nout, out),
		    "decoder");
	if (err)
		goto out;
	{
		float *p;
		size_t k = 1;

		err = out_data(out[0], &p);
		if (err)
			goto out;
		memcpy(logits, p, n * m->vocab * sizeof(float));
		d->len++;
		for (size_t l = 0; l < LAYERS; l++) {
			for (size_t j = 0; j < 2; j++, k++) {
				size_t sz = n * HEADS * d->len * HEAD_DIM;
				float *c = realloc(d->self[SELF(l, j)],
						   sz * sizeof(float));

				if (!c) {
					err = -ENOMEM;
					goto out;
				}
				d->self[SELF(l, j)] = c;
				err = out_data(out[k], &p);
				if (err)
					goto out;
				memcpy(c, p, sz * sizeof(float));
			}
			if (!first)
				continue;
			for (size_t j = 2; j < 4; j++, k++) {
				size_t one = HEADS * d->frames * HEAD_DIM;
				float *c = malloc(one * sizeof(float));

				if (!c) {
					err = -ENOMEM;
					goto out;
				}
				d->cross[4 * l + j] = c;
				err = out_data(out[k], &p);
				if (err)
					goto out;
				memcpy(c, p, one * sizeof(float));
			}
		}
		d->nprev = n;
	}
out:
	for (size_t i = 0; i < nout; i++)
		if (out[i])
			ort->release_value(out[i]);
	return err;
}

static void release_inputs(ort_value **in, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (in[i])
			ort->release_value(in[i]);
}

static int dec_start(void *ctx, float *logits)
{
	struct dec *d = ctx;
	ort_value *in[2 + 4 * LAYERS + 1] = { 0 };
	int64_t shape[4] = { 1, HEADS, 0, HEAD_DIM };
	static float empty[1];
	int32_t bos = BOS_ID;
	int err = 0;

	for (size_t l = 0; l < LAYERS && !err; l++)
		for (size_t j = 0; j < 4 && !err; j++)
			err = tensor(d, empty, 0, shape, 4, ORT_ELEM_FLOAT,
				     &in[KV_IN(l, j)]);
	d->len = 0;
	if (!err)
		err = run_dec(d, 1, &bos, in, true, logits);
	release_inputs(in, 2 + 4 * LAYERS + 1);
	return err;
}

static int dec_step(void *ctx, size_t n, const uint32_t *parent,
		    const int32_t *tok, float *logits)
{
	struct dec *d = ctx;
	ort_value *in[2 + 4 * LAYERS + 1] = { 0 };
	size_t one = HEADS * d->len * HEAD_DIM;
	int64_t sshape[4] = { (int64_t)n, HEADS, (int64_t)d->len, HEAD_DIM };
	int64_t cshape[4] = { 1, HEADS, (int64_t)d->frames, HEAD_DIM };
	float *g[NKV] = { 0 };
	int err = 0;

	if (n == 0 || n > d->width)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (parent[i] >= d->nprev)
			return -EINVAL;
	for (size_t l = 0; l < LAYERS && !err; l++) {
		for (size_t j = 0; j < 2 && !err; j++) {
			const float *src = d->self[SELF(l, j)];

			g[SELF(l, j)] = malloc(n * one * sizeof(float));
			if (!g[SELF(l, j)]) {
				err = -ENOMEM;
				break;
			}
			for (size_t i = 0; i < n; i++)
				memcpy(g[SELF(l, j)] + i * one,
				       src + parent[i] * one,
				       one * sizeof(float));
			err = tensor(d, g[SELF(l, j)], n * one * sizeof(float),
				     sshape, 4, ORT_ELEM_FLOAT,
				     &in[KV_IN(l, j)]);
		}
		for (size_t j = 2; j < 4 && !err; j++)
			err = tensor(
				d, d->cross[4 * l + j],
				HEADS * d->frames * HEAD_DIM * sizeof(float),
				cshape, 4, ORT_ELEM_FLOAT, &in[KV_IN(l, j)]);
	}
	if (!err)
		err = run_dec(d, n, tok, in, false, logits);
	release_inputs(in, 2 + 4 * LAYERS + 1);
	for (size_t i = 0; i < NKV; i++)
		free(g[i]);
	return err;
}

/* Encode samples into d->hidden. */
static int encode(struct dec *d, float *samples, size_t n)
{
	ort_value *in = NULL, *out = NULL;
	const char *iname = "input_values", *oname = "last_hidden_state";
	int64_t shape[2] = { 1, (int64_t)n };
	int64_t dims[3];
	ort_tensor_info *ti;
	size_t ndim;
	float *p;
	int err;

	err = tensor(d, samples, n * sizeof(float), shape, 2, ORT_ELEM_FLOAT,
		     &in);
	if (!err)
		err = check(ort->run(d->m->enc, NULL, &iname,
				     (const ort_value *const *)&in, 1, &oname,
				     1, &out),
			    "encoder");
	if (!err)
		err = check(ort->get_tensor_type_and_shape(out, &ti), "shape");
	if (!err) {
		err = check(ort->get_dimensions_count(ti, &ndim), "ndim");
		if (!err && ndim != 3)
			err = -EIO;
		if (!err)
			err = check(ort->get_dimensions(ti, dims, 3), "dims");
		ort->release_tensor_type_and_shape_info(ti);
	}
	if (!err && (dims[0] != 1 || dims[1] < 1 || dims[2] != HIDDEN))
		err = -EIO;
	if (!err)
		err = out_data(out, &p);
	if (!err) {
		size_t one = (size_t)dims[1] * HIDDEN;

		d->frames = (size_t)dims[1];
		d->hidden = malloc(one * sizeof(float));
		if (!d->hidden)
			err = -ENOMEM;
		else
			memcpy(d->hidden, p, one * sizeof(float));
	}
	if (out)
		ort->release_value(out);
	if (in)
		ort->release_value(in);
	return err;
}

int moonort_decode(struct moonort *m, const int16_t *pcm, size_t n,
		   unsigned rate_hz, const struct ngram_lm *lm,
		   const struct beam_cfg *cfg, char *text, size_t cap,
		   struct beam_out *out)
{
	struct dec d = { .m = m };
	struct beam_model bm;
	struct beam_cfg bc;
	float *samples;
	size_t ns;
	int err;

	if (!m || !pcm || n == 0 || !cfg || !text || cap < 8 ||
	    cfg->width == 0 || cfg->width > BEAM_WIDTH_MAX)
		return -EINVAL;
	err = sherpa_asr_samples(pcm, n, rate_hz, &samples, &ns);
	if (err)
		return err;
	d.width = cfg->width;
	err = encode(&d, samples, ns);
	free(samples);
	if (err)
		goto out;
	bm = (struct beam_model){
		.vocab = m->vocab,
		.eos = EOS_ID,
		.text = (const char *const *)m->text,
		.ctx = &d,
		.start = dec_start,
		.step = dec_step,
	};
	bc = *cfg;
	bc.max_tokens = (unsigned)(ns * TOKENS_PER_S / 16000u) + 4u;
	if (cfg->max_tokens && bc.max_tokens > cfg->max_tokens)
		bc.max_tokens = cfg->max_tokens;
	if (bc.max_tokens > BEAM_TOKENS_MAX)
		bc.max_tokens = BEAM_TOKENS_MAX;
	err = beam_search(&bm, lm, &bc, text, cap, out);
	if (!err)
		sherpa_text_normalize(text);
	else if (err != -ENOMEM && err != -EINVAL)
		err = -EIO;
out:
	free(d.hidden);
	for (size_t i = 0; i < 4 * LAYERS; i++)
		free(d.cross[i]);
	for (size_t i = 0; i < NKV; i++)
		free(d.self[i]);
	return err;
}

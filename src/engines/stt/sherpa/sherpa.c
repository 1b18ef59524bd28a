/* sherpa-onnx loaded with dlopen: the shared Moonshine recognizer and the
 * Silero VAD wrapper (sherpa.h). The C API subset is in sherpa_capi.h. */
#include "engines/stt/sherpa/sherpa.h"

#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "audio/clip.h"
#include "audio/resample.h"
#include "core/log.h"
#include "engines/stt/sherpa/beam.h"
#include "engines/stt/sherpa/sherpa_capi.h"

#define LIB_SUBPATH "sherpa-onnx/libsherpa-onnx-c-api.so"
#define MOONSHINE_SUBDIR "moonshine-tiny"
#define SILERO_SUBPATH "silero/silero_vad_v5.onnx"
/* Longest audio one decode takes (the STT contract allows 30 s; the margin
 * is for callers other than the engine, e.g. benchmarks). */
#define DECODE_MAX_S 60u
/* Moonshine's features are computed at 16 kHz. */
#define ASR_RATE_HZ 16000
/* Result documents are a few hundred bytes per word; a cap keeps a broken
 * library from making us parse megabytes. */
#define JSON_MAX_LEN (1u << 20)

/* The library: loaded once, never unloaded (onnxruntime keeps threads and
 * thread-locals that do not survive dlclose). */
static pthread_mutex_t lib_lock = PTHREAD_MUTEX_INITIALIZER;
static void *lib_handle;
static struct sherpa_capi capi;
static char lib_dir[PATH_MAX];

const char *sherpa_deps_dir(void)
{
	const char *env = getenv("VOXGATE_DEPS_DIR");

	return env && *env ? env : VG_DEPS_DIR;
}

static bool file_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int join(char *out, size_t cap, const char *dir, const char *rel)
{
	int n = snprintf(out, cap, "%s/%s", dir, rel);

	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

#define SYM(name, field)                                         \
	{                                                        \
		name, offsetof(struct sherpa_capi, field),       \
			sizeof(((struct sherpa_capi *)0)->field) \
	}

static const struct {
	const char *name;
	size_t off, len;
} syms[] = {
	SYM("SherpaOnnxGetVersionStr", get_version_str),
	SYM("SherpaOnnxCreateOfflineRecognizer", create_offline_recognizer),
	SYM("SherpaOnnxDestroyOfflineRecognizer", destroy_offline_recognizer),
	SYM("SherpaOnnxCreateOfflineStream", create_offline_stream),
	SYM("SherpaOnnxDestroyOfflineStream", destroy_offline_stream),
	SYM("SherpaOnnxAcceptWaveformOffline", accept_waveform_offline),
	SYM("SherpaOnnxDecodeOfflineStream", decode_offline_stream),
	SYM("SherpaOnnxGetOfflineStreamResultAsJson",
	    get_offline_stream_result_as_json),
	SYM("SherpaOnnxDestroyOfflineStreamResultJson",
	    destroy_offline_stream_result_json),
	SYM("SherpaOnnxCreateVoiceActivityDetector", create_vad),
	SYM("SherpaOnnxDestroyVoiceActivityDetector", destroy_vad),
	SYM("SherpaOnnxVoiceActivityDetectorAcceptWaveform",
	    vad_accept_waveform),
	SYM("SherpaOnnxVoiceActivityDetectorEmpty", vad_empty),
	SYM("SherpaOnnxVoiceActivityDetectorDetected", vad_detected),
	SYM("SherpaOnnxVoiceActivityDetectorPop", vad_pop),
	SYM("SherpaOnnxVoiceActivityDetectorReset", vad_reset),
};

/* Every function or -ELIBBAD (another library, or a version without one of
 * them). */
static int resolve_all(void *h, struct sherpa_capi *api)
{
	for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
		void *sym = dlsym(h, syms[i].name);

		if (!sym) {
			LOGE(NULL, "sherpa_symbol_missing", "name=%s",
			     syms[i].name);
			return -ELIBBAD;
		}
		/* object -> function pointer through memcpy: ISO C has no
		 * cast between them, POSIX guarantees the representation */
		memcpy((char *)api + syms[i].off, &sym, syms[i].len);
	}
	return 0;
}

int sherpa_load(const char *dir)
{
	char path[PATH_MAX];
	struct sherpa_capi api;
	void *h;
	int err;

	if (!dir)
		dir = sherpa_deps_dir();
	pthread_mutex_lock(&lib_lock);
	if (lib_handle) {
		err = 0;
		goto out;
	}
	err = join(path, sizeof(path), dir, LIB_SUBPATH);
	if (err)
		goto out;
	if (!file_exists(path)) {
		err = -ENOENT;
		goto out;
	}
	/* The library's RPATH is $ORIGIN: it finds libonnxruntime.so next to
	 * itself, so nothing needs to be preloaded. RTLD_LOCAL keeps its C++
	 * symbols (and onnxruntime's) out of the global namespace. */
	h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		LOGE(NULL, "sherpa_dlopen_failed", "path=%s error=%s",
		     log_esc(path), log_esc(dlerror()));
		err = -ELIBBAD;
		goto out;
	}
	memset(&api, 0, sizeof(api));
	err = resolve_all(h, &api);
	if (err) {
		dlclose(h);
		goto out;
	}
	capi = api;
	lib_handle = h;
	snprintf(lib_dir, sizeof(lib_dir), "%s", dir);
	LOGI(NULL, "sherpa_loaded", "version=%s dir=%s",
	     log_esc(capi.get_version_str()), log_esc(dir));
out:
	pthread_mutex_unlock(&lib_lock);
	return err;
}

/* The directory the library was loaded from: defaults for model paths. */
static const char *loaded_dir(void)
{
	const char *d;

	pthread_mutex_lock(&lib_lock);
	d = lib_handle ? lib_dir : sherpa_deps_dir();
	pthread_mutex_unlock(&lib_lock);
	return d;
}

int sherpa_shared_get(struct sherpa_shared *s, const char *dir,
		      int (*open)(const char *dir, void *arg, void **objp),
		      void *arg, void **objp)
{
	int err = 0;

	if (strlen(dir) >= sizeof(s->dir))
		return -ENAMETOOLONG;
	pthread_mutex_lock(&s->lock);
	if (s->obj) {
		if (strcmp(s->dir, dir) != 0) {
			err = -EBUSY;
		} else {
			s->refs++;
			*objp = s->obj;
		}
	} else {
		err = open(dir, arg, &s->obj);
		if (!err) {
			strcpy(s->dir, dir);
			s->refs = 1;
			*objp = s->obj;
		} else {
			s->obj = NULL;
		}
	}
	pthread_mutex_unlock(&s->lock);
	return err;
}

void sherpa_shared_put(struct sherpa_shared *s, void *obj,
		       void (*close)(void *obj))
{
	pthread_mutex_lock(&s->lock);
	if (s->obj == obj && --s->refs == 0) {
		close(obj);
		s->obj = NULL;
	}
	pthread_mutex_unlock(&s->lock);
}

/*
 * Moonshine recognizer: one per process (sherpa_shared).
 */
struct sherpa_asr {
	const struct sherpa_c_offline_recognizer *rec;
};

static struct sherpa_shared asr_shared = SHERPA_SHARED_INIT;

/* sherpa_shared's open: arg is the unsigned intra-op thread count. */
static int asr_open(const char *dir, void *arg, void **objp)
{
	char enc[PATH_MAX], dec[PATH_MAX], tok[PATH_MAX];
	struct sherpa_c_offline_recognizer_config c;
	unsigned threads = *(const unsigned *)arg;
	struct sherpa_asr *a;

	if (join(enc, sizeof(enc), dir, "encoder_model.onnx") ||
	    join(dec, sizeof(dec), dir, "decoder_model_merged.onnx") ||
	    join(tok, sizeof(tok), dir, "tokens.txt"))
		return -ENAMETOOLONG;
	if (!file_exists(enc) || !file_exists(dec) || !file_exists(tok))
		return -ENOENT;

	memset(&c, 0, sizeof(c));
	c.feat_config.sample_rate = ASR_RATE_HZ;
	c.feat_config.feature_dim = 80;
	c.model_config.moonshine.encoder = enc;
	c.model_config.moonshine.merged_decoder = dec;
	c.model_config.tokens = tok;
	c.model_config.num_threads = (int32_t)(threads ? threads : 1);
	c.model_config.provider = "cpu";
	c.decoding_method = "greedy_search";
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	/* The library copies the config: the paths may live on our stack. */
	a->rec = capi.create_offline_recognizer(&c);
	if (!a->rec) {
		LOGE(NULL, "sherpa_asr_create_failed", "model_dir=%s",
		     log_esc(dir));
		free(a);
		return -EIO;
	}
	*objp = a;
	return 0;
}

static void asr_free(void *obj)
{
	struct sherpa_asr *a = obj;

	capi.destroy_offline_recognizer(a->rec);
	free(a);
}

int sherpa_asr_create(struct sherpa_asr **ap, const char *model_dir,
		      unsigned threads)
{
	char dir[PATH_MAX];
	void *obj;
	int err;

	if (!ap)
		return -EINVAL;
	err = sherpa_load(NULL);
	if (err)
		return err;
	if (model_dir)
		err = snprintf(dir, sizeof(dir), "%s", model_dir) >=
				      (int)sizeof(dir)
			      ? -ENAMETOOLONG
			      : 0;
	else
		err = join(dir, sizeof(dir), loaded_dir(), MOONSHINE_SUBDIR);
	if (!err)
		err = sherpa_shared_get(&asr_shared, dir, asr_open, &threads,
					&obj);
	if (!err)
		*ap = obj;
	return err;
}

void sherpa_asr_destroy(struct sherpa_asr *a)
{
	if (a)
		sherpa_shared_put(&asr_shared, a, asr_free);
}

/*
 * The result JSON: {"lang":"", ..., "text": " I want to check my balance.",
 * "timestamps": [...], "tokens": [...], "ys_log_probs": [...], ...}. We only
 * need "text" and "ys_log_probs"; a small scanner is enough (the document
 * comes from the library, and every read stays inside the NUL-terminated
 * string it returned).
 */

/* Points just past `"key":` (and blanks), or NULL. */
static const char *json_find(const char *json, const char *key)
{
	size_t klen = strlen(key);
	const char *p = json;

	while ((p = strchr(p, '"')) != NULL) {
		if (strncmp(p + 1, key, klen) == 0 && p[1 + klen] == '"') {
			p += klen + 2;
			while (*p == ' ')
				p++;
			if (*p != ':')
				continue;
			p++;
			while (*p == ' ')
				p++;
			return p;
		}
		/* skip this string entirely (it may contain the key text) */
		for (p++; *p && *p != '"'; p++)
			if (*p == '\\' && p[1])
				p++;
		if (*p)
			p++;
	}
	return NULL;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static size_t put_utf8(char *out, unsigned cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Decode the JSON string at p (on its opening quote) into out (cap >= 5),
 * cut at cap - 1 bytes. -EBADMSG when p is not a well-formed string. */
static int json_string(const char *p, char *out, size_t cap)
{
	size_t n = 0;

	if (*p != '"')
		return -EBADMSG;
	for (p++; *p && *p != '"'; p++) {
		char tmp[4];
		size_t len = 1;

		tmp[0] = *p;
		if (*p == '\\') {
			p++;
			switch (*p) {
			case 'n':
			case 't':
			case 'r':
			case 'b':
			case 'f':
				tmp[0] = ' ';
				break;
			case 'u': {
				unsigned cp = 0;

				for (int i = 1; i <= 4; i++) {
					int v = hexval(p[i]);

					if (v < 0)
						return -EBADMSG;
					cp = cp << 4 | (unsigned)v;
				}
				p += 4;
				/* surrogates are not worth pairing here:
				 * the text is English words */
				if (cp >= 0xd800 && cp <= 0xdfff)
					cp = ' ';
				len = put_utf8(tmp, cp);
				break;
			}
			case '\0':
				return -EBADMSG;
			default: /* \" \\ \/ */
				tmp[0] = *p;
			}
		}
		if (n + len >= cap)
			break;
		memcpy(out + n, tmp, len);
		n += len;
	}
	out[n] = '\0';
	return 0;
}

/* Mean and minimum of the "ys_log_probs" array. -ENODATA when absent or
 * empty (the model gives none). */
static int json_logprobs(const char *json, struct sherpa_asr_score *sc)
{
	const char *p = json_find(json, "ys_log_probs");
	double sum = 0, min = 0;
	unsigned n = 0;

	if (!p || *p != '[')
		return -ENODATA;
	for (p++;;) {
		char *end;
		double v;

		while (*p == ' ' || *p == ',')
			p++;
		if (*p == ']' || !*p)
			break;
		v = strtod(p, &end);
		if (end == p)
			return -EBADMSG;
		p = end;
		sum += v;
		min = n == 0 || v < min ? v : min;
		n++;
	}
	if (n == 0)
		return -ENODATA;
	sc->has_logprobs = true;
	sc->logprob_avg = (float)(sum / n);
	sc->logprob_min = (float)min;
	return 0;
}

/* Count the word tokens of the "tokens" array, and those continuing a word
 * (no leading space: the model spelled the word from pieces). Tokens made
 * only of punctuation are not counted. */
static int json_tokens(const char *json, struct sherpa_asr_score *sc)
{
	const char *p = json_find(json, "tokens");
	unsigned n = 0, pieces = 0;

	if (!p || *p != '[')
		return -ENODATA;
	for (p++;;) {
		char tok[64];

		while (*p == ' ' || *p == ',')
			p++;
		if (*p != '"')
			break;
		if (json_string(p, tok, sizeof(tok)))
			return -EBADMSG;
		for (p++; *p && *p != '"'; p++)
			if (*p == '\\' && p[1])
				p++;
		if (*p)
			p++;
		if (!beam_token_is_word(tok))
			continue;
		if (n > 0 && tok[0] != ' ')
			pieces++;
		n++;
	}
	sc->ntokens = n;
	sc->npieces = pieces;
	return 0;
}

static bool is_word_byte(unsigned char c)
{
	return isalnum(c) || c >= 0x80; /* UTF-8 letters stay words */
}

/* In place: characters of Unicode's General Punctuation block (U+2000 to
 * U+206F: curly quotes, dashes, ellipsis; UTF-8 E2 80 xx and E2 81 xx) become
 * their ASCII meaning, an apostrophe for U+2018/U+2019, a blank otherwise,
 * so the ASCII rules below apply. */
static void fold_unicode_punct(char *s)
{
	size_t w = 0;

	for (size_t r = 0; s[r];) {
		const unsigned char *u = (const unsigned char *)s + r;

		if (u[0] == 0xe2 && (u[1] == 0x80 || u[1] == 0x81) &&
		    u[2] >= 0x80 && u[2] <= 0xbf) {
			s[w++] = u[1] == 0x80 && (u[2] == 0x98 || u[2] == 0x99)
					 ? '\''
					 : ' ';
			r += 3;
			continue;
		}
		s[w++] = s[r++];
	}
	s[w] = '\0';
}

void sherpa_text_normalize(char *s)
{
	size_t w = 0, len;
	bool space = true; /* drops leading blanks */

	fold_unicode_punct(s);
	len = strlen(s);

	for (size_t r = 0; r < len; r++) {
		unsigned char c = (unsigned char)s[r];
		unsigned char prev = r ? (unsigned char)s[r - 1] : 0;
		unsigned char next = (unsigned char)s[r + 1];

		if (is_word_byte(c)) {
			s[w++] = (char)tolower(c);
			space = false;
			continue;
		}
		/* "don't" keeps its apostrophe; "1,000" is one number */
		if ((c == '\'' && is_word_byte(prev) && is_word_byte(next)) ||
		    (c == ',' && isdigit(prev) && isdigit(next))) {
			if (c == '\'')
				s[w++] = (char)c;
			continue;
		}
		if (!space) {
			s[w++] = ' ';
			space = true;
		}
	}
	if (w && s[w - 1] == ' ')
		w--;
	s[w] = '\0';
}

/*
 * First-order pre-emphasis y[n] = x[n] - PREEMPH * x[n-1] at the input rate,
 * before upsampling. Why: telephone audio (300-3400 Hz, G.711) upsampled to
 * 16 kHz has nothing above 4 kHz and a low-frequency-heavy tilt; tilting it
 * back towards a flat spectrum gives Moonshine more of the consonant energy
 * it learned from wideband speech. Measured on the 300-utterance banking set
 * (bench/speech/make_set.sh, flite kal+slt through mu-law): WER 20.0% ->
 * 18.3% and empty results on the short grammar phrases 11 -> 8 of 64
 * (coefficients 0.3..0.9 tried: 0.5 and 0.7 help, 0.9 less; a DC/high-pass
 * at 100 Hz, peak/RMS normalization and dither did not help reliably). The
 * result saturates to int16 like the input.
 */
#define PREEMPH_NUM 1 /* coefficient 1/2: exact in integer arithmetic */
#define PREEMPH_SHIFT 1

static void preemphasize(int16_t *x, size_t n)
{
	for (size_t i = n; i-- > 1;) {
		int32_t v =
			(int32_t)x[i] -
			((PREEMPH_NUM * (int32_t)x[i - 1]) >> PREEMPH_SHIFT);

		x[i] = (int16_t)(v > INT16_MAX	 ? INT16_MAX
				 : v < INT16_MIN ? INT16_MIN
						 : v);
	}
}

/* pcm at rate_hz -> new float samples at ASR_RATE_HZ in *fp, pre-emphasized
 * (above). We resample (speexdsp) rather than let the library do it: its
 * resampler logs a line on stderr for every stream. */
static int to_model_rate(const int16_t *pcm, size_t n, unsigned rate_hz,
			 float **fp, size_t *np)
{
	struct audio_clip *in, *out = NULL;
	const int16_t *src;
	float *f;

	in = audio_clip_alloc(n, rate_hz);
	if (!in)
		return -ENOMEM;
	memcpy(in->samples, pcm, n * sizeof(*pcm));
	preemphasize(in->samples, n);
	src = in->samples;
	if (rate_hz != ASR_RATE_HZ) {
		out = audio_clip_resample(in, ASR_RATE_HZ);
		if (!out) {
			audio_clip_deref(in);
			return -ENOMEM;
		}
		src = out->samples;
		n = out->nsamples;
	}
	f = n ? malloc(n * sizeof(*f)) : NULL;
	if (f)
		for (size_t i = 0; i < n; i++)
			f[i] = (float)src[i] / 32768.0f;
	audio_clip_deref(out);
	audio_clip_deref(in);
	if (!f)
		return -ENOMEM;
	*fp = f;
	*np = n;
	return 0;
}

int sherpa_asr_samples(const int16_t *pcm, size_t n, unsigned rate_hz,
		       float **fp, size_t *np)
{
	if (!pcm || n == 0 || !fp || !np || rate_hz < 8000 || rate_hz > 48000 ||
	    n > (size_t)rate_hz * DECODE_MAX_S)
		return -EINVAL;
	return to_model_rate(pcm, n, rate_hz, fp, np);
}

int sherpa_asr_decode_scored(struct sherpa_asr *a, const int16_t *pcm, size_t n,
			     unsigned rate_hz, char *text, size_t cap,
			     struct sherpa_asr_score *score)
{
	const struct sherpa_c_offline_stream *st;
	struct sherpa_asr_score sc = { 0 };
	const char *json, *p;
	float *f;
	int err;

	if (!a || (!pcm && n) || !text || cap < 8 || rate_hz < 8000 ||
	    rate_hz > 48000 || n > (size_t)rate_hz * DECODE_MAX_S)
		return -EINVAL;
	if (n == 0) {
		text[0] = '\0';
		if (score)
			*score = sc;
		return 0;
	}
	err = to_model_rate(pcm, n, rate_hz, &f, &n);
	if (err)
		return err;

	/* One stream per call: streams carry the decode state, so concurrent
	 * decodes on the shared recognizer do not meet. */
	st = capi.create_offline_stream(a->rec);
	if (!st) {
		free(f);
		return -ENOMEM;
	}
	capi.accept_waveform_offline(st, ASR_RATE_HZ, f, (int32_t)n);
	free(f);
	capi.decode_offline_stream(a->rec, st);
	json = capi.get_offline_stream_result_as_json(st);
	if (!json) {
		err = -EIO;
		goto out;
	}
	if (strnlen(json, JSON_MAX_LEN) == JSON_MAX_LEN) {
		err = -EIO;
		goto out_json;
	}
	p = json_find(json, "text");
	err = p ? json_string(p, text, cap) : -EBADMSG;
	if (err) {
		LOGE(NULL, "sherpa_result_bad", "json=%s", log_esc(json));
		err = -EIO;
		goto out_json;
	}
	sherpa_text_normalize(text);
	if (json_tokens(json, &sc) == -EBADMSG ||
	    json_logprobs(json, &sc) == -EBADMSG) {
		err = -EIO;
		goto out_json;
	}
	if (score)
		*score = sc;
out_json:
	capi.destroy_offline_stream_result_json(json);
out:
	capi.destroy_offline_stream(st);
	return err;
}

int sherpa_asr_decode(struct sherpa_asr *a, const int16_t *pcm, size_t n,
		      unsigned rate_hz, char *text, size_t cap)
{
	return sherpa_asr_decode_scored(a, pcm, n, rate_hz, text, cap, NULL);
}

/*
 * Silero VAD: the library's detector at 16 kHz, fed 20 ms frames upsampled
 * from 8 kHz. We only ask it "in speech now?"; the finished segments it
 * queues are dropped at once so memory stays bounded.
 */
struct sherpa_vad {
	const struct sherpa_c_vad *vad;
	struct resampler *up;
};

#define VAD_RATE_HZ 16000
#define VAD_WINDOW 512
/* Audio the detector may hold while speech goes on: Silero raises its
 * threshold after max_speech_duration, forcing a segment end. */
#define VAD_BUFFER_S 30.0f
#define VAD_MAX_SPEECH_S 20.0f

int sherpa_vad_create(struct sherpa_vad **vp, const char *model,
		      float threshold, unsigned min_silence_ms,
		      unsigned min_speech_ms)
{
	char path[PATH_MAX];
	struct sherpa_c_vad_config c;
	struct sherpa_vad *v;
	int err;

	if (!vp || !(threshold > 0.0f && threshold < 1.0f) ||
	    min_silence_ms > 10000 || min_speech_ms > 10000)
		return -EINVAL;
	err = sherpa_load(NULL);
	if (err)
		return err;
	if (model)
		err = snprintf(path, sizeof(path), "%s", model) >=
				      (int)sizeof(path)
			      ? -ENAMETOOLONG
			      : 0;
	else
		err = join(path, sizeof(path), loaded_dir(), SILERO_SUBPATH);
	if (err)
		return err;
	if (!file_exists(path))
		return -ENOENT;

	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	err = resampler_create(&v->up, 8000, VAD_RATE_HZ,
			       RESAMPLER_QUALITY_VOIP);
	if (err)
		goto fail;
	memset(&c, 0, sizeof(c));
	c.silero_vad.model = path;
	c.silero_vad.threshold = threshold;
	c.silero_vad.min_silence_duration = (float)min_silence_ms / 1000.0f;
	c.silero_vad.min_speech_duration = (float)min_speech_ms / 1000.0f;
	c.silero_vad.window_size = VAD_WINDOW;
	c.silero_vad.max_speech_duration = VAD_MAX_SPEECH_S;
	c.sample_rate = VAD_RATE_HZ;
	c.num_threads = 1;
	c.provider = "cpu";
	v->vad = capi.create_vad(&c, VAD_BUFFER_S);
	if (!v->vad) {
		err = -EIO;
		goto fail;
	}
	*vp = v;
	return 0;
fail:
	resampler_destroy(v->up);
	free(v);
	return err;
}

void sherpa_vad_destroy(struct sherpa_vad *v)
{
	if (!v)
		return;
	capi.destroy_vad(v->vad);
	resampler_destroy(v->up);
	free(v);
}

int sherpa_vad_frame(struct sherpa_vad *v, const int16_t pcm[160])
{
	int16_t up[2 * 160 + 8];
	float f[2 * 160 + 8];
	size_t n = sizeof(up) / sizeof(up[0]);
	int err;

	if (!v || !pcm)
		return -EINVAL;
	err = resampler_process(v->up, pcm, 160, up, &n);
	if (err)
		return err;
	for (size_t i = 0; i < n; i++)
		f[i] = (float)up[i] / 32768.0f;
	capi.vad_accept_waveform(v->vad, f, (int32_t)n);
	while (!capi.vad_empty(v->vad))
		capi.vad_pop(v->vad);
	return capi.vad_detected(v->vad) ? 1 : 0;
}

void sherpa_vad_reset(struct sherpa_vad *v)
{
	if (!v)
		return;
	capi.vad_reset(v->vad);
	resampler_reset(v->up);
}

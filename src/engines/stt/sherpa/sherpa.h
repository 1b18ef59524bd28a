/* sherpa-onnx, loaded at run time with dlopen (its C library ships in the npm
 * package sherpa-onnx-linux-x64, fetched by scripts/fetch-models.sh into
 * deps/). voxgate builds and runs without it: sherpa_load() then fails with
 * -ENOENT and the STT chain falls back to PocketSphinx.
 *
 * This is voxgate's own narrow wrapper: the Moonshine recognizer behind
 * stt_moonshine_ops, and the Silero VAD (a VAD candidate, measured in bench/).
 * The subset of the C API we call is declared in sherpa_capi.h, written from
 * the library's public documentation. */
#ifndef VG_ENGINES_STT_SHERPA_SHERPA_H
#define VG_ENGINES_STT_SHERPA_SHERPA_H
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Directory searched when no path is configured: $VOXGATE_DEPS_DIR, else the
 * build-time VG_DEPS_DIR (the repository's deps/). Layout under it:
 *   sherpa-onnx/libsherpa-onnx-c-api.so (+ libonnxruntime.so)
 *   moonshine-tiny/{encoder_model,decoder_model_merged}.onnx, tokens.txt
 *   silero/silero_vad_v5.onnx */
const char *sherpa_deps_dir(void);

/* Load the library once per process (thread-safe, idempotent: once loaded,
 * later calls return 0 whatever dir says). dir NULL: sherpa_deps_dir().
 * Returns 0, -ENOENT (not installed), -ENAMETOOLONG or -ELIBBAD (does not
 * load, or a symbol is missing: wrong version). Never unloaded. */
int sherpa_load(const char *dir);

/* ---- One model instance per process, shared by model directory ----
 * The Moonshine model is ~30 MB of weights (more once unpacked) and an
 * onnxruntime session runs from several threads, so the engines that open
 * it (sherpa-onnx's recognizer, our own decoder in moonort.c) each keep one
 * per process in a slot, refcounted: a second model directory would double
 * the RAM for a configuration nobody needs. */
struct sherpa_shared {
	pthread_mutex_t lock;
	void *obj;	    /* the instance, NULL while there is none */
	unsigned refs;	    /* under lock */
	char dir[PATH_MAX]; /* its model directory */
};
#define SHERPA_SHARED_INIT                        \
	{                                         \
		.lock = PTHREAD_MUTEX_INITIALIZER \
	}

/* *objp = the slot's instance with one more reference if its directory is
 * dir (-EBUSY for another), else a new one from open(dir, arg, objp)
 * (blocking: model load; its error is returned). */
int sherpa_shared_get(struct sherpa_shared *s, const char *dir,
		      int (*open)(const char *dir, void *arg, void **objp),
		      void *arg, void **objp);
/* Drop a reference to obj; the last one calls close(obj). */
void sherpa_shared_put(struct sherpa_shared *s, void *obj,
		       void (*close)(void *obj));

/* ---- Moonshine offline recognizer: one per process, shared ---- */
struct sherpa_asr;

/* model_dir NULL: <deps>/moonshine-tiny. threads: intra-op threads (>= 1).
 * Blocking (~1 s). 0, -ENOENT, -ELIBBAD, -EIO, -ENOMEM. The recognizer is
 * shared: a second create() for the same model_dir returns the same object
 * with one more reference (threads of the first create() win), one for
 * another model_dir is -EBUSY; destroy() drops a reference. */
int sherpa_asr_create(struct sherpa_asr **ap, const char *model_dir,
		      unsigned threads);
void sherpa_asr_destroy(struct sherpa_asr *a);
/* Decode pcm (n samples at rate_hz) into text (lowercased, punctuation
 * removed, NUL-terminated, cut at cap). Thread-safe: one offline stream per
 * call. Blocking. 0, -EINVAL, -EIO, -ENOMEM. */
int sherpa_asr_decode(struct sherpa_asr *a, const int16_t *pcm, size_t n,
		      unsigned rate_hz, char *text, size_t cap);

/* What the decoder thought of its own output, for a confidence. */
struct sherpa_asr_score {
	unsigned ntokens;  /* word tokens of the text (punctuation excluded) */
	unsigned npieces;  /* of those, tokens continuing a word: a word the
			      model had to spell from pieces */
	float logprob_avg; /* mean natural-log probability of the tokens */
	float logprob_min; /* the least likely token */
	bool has_logprobs; /* false: the model reports none (fields 0) */
};

/* sherpa_asr_decode() that also fills *score (may be NULL) on success.
 * rate_hz 8000..48000, n at most 60 s; n == 0 gives empty text. */
int sherpa_asr_decode_scored(struct sherpa_asr *a, const int16_t *pcm, size_t n,
			     unsigned rate_hz, char *text, size_t cap,
			     struct sherpa_asr_score *score);

/* The Moonshine front end of sherpa_asr_decode(), for voxgate's own decoder
 * (moonort.h): pcm (n > 0 samples at rate_hz 8000..48000, at most 60 s)
 * pre-emphasized, resampled to 16 kHz and scaled to [-1, 1) into a new
 * malloc'ed *fp of *np samples (the caller frees it). 0, -EINVAL,
 * -ENOMEM. */
int sherpa_asr_samples(const int16_t *pcm, size_t n, unsigned rate_hz,
		       float **fp, size_t *np);

/* The transcript normalization of sherpa_asr_decode(), in place: ASCII
 * lowercased, punctuation and blanks collapsed to single spaces (an
 * apostrophe inside a word and a comma inside a number are kept/joined),
 * no leading or trailing space. Exposed for tests. */
void sherpa_text_normalize(char *s);

/* ---- Silero VAD (16 kHz, 512-sample windows) ---- */
struct sherpa_vad;

/* model NULL: <deps>/silero/silero_vad_v5.onnx. threshold 0..1 (0.5 typical),
 * min_silence_ms / min_speech_ms (<= 10000) as the detector's own smoothing.
 * One per stream, single owner. 0, -EINVAL, -ENOENT, -ELIBBAD, -EIO,
 * -ENOMEM. */
int sherpa_vad_create(struct sherpa_vad **vp, const char *model,
		      float threshold, unsigned min_silence_ms,
		      unsigned min_speech_ms);
void sherpa_vad_destroy(struct sherpa_vad *v);
/* Feed one 20 ms 8 kHz frame (upsampled inside); returns 1 while the detector
 * says speech, 0 otherwise, negative errno on failure. Costs ~0.1 ms of CPU
 * per frame (one network run per 32 ms window; BENCHMARKS.md). */
int sherpa_vad_frame(struct sherpa_vad *v, const int16_t pcm[160]);
void sherpa_vad_reset(struct sherpa_vad *v);
#endif

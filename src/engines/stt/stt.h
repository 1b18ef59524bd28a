/* Speech-to-text: the engine contract (struct stt_engine_ops, one folder per
 * engine: sherpa/ for Moonshine on sherpa-onnx, pocketsphinx/) and the
 * recognition service the rest of voxgate uses (struct stt: a registry of
 * opened engines, a fallback chain, decoding on the worker pool, events on
 * the caller's loop).
 *
 * Rules of the engine contract (cf. UniMRCP mrcp_engine_types.h):
 *  1. The core calls engines only through struct stt_engine_ops; engines
 *     never call back into the core and keep no per-call state between
 *     decode() calls (decoder objects they pool internally are reset).
 *  2. open() and close() run once per instance, at start-up and shutdown,
 *     never concurrently with any other method of that instance. close()
 *     runs only after every decode() on the instance has returned and
 *     every stream of it was ended or aborted.
 *  3. decode() BLOCKS BY DESIGN (CPU for tens of milliseconds), so it is only
 *     ever called on a worker thread (wpool) or from a CLI, never on a loop.
 *     It is safe to call concurrently from several threads on the same
 *     instance: an engine whose library cannot do that pools decoders or
 *     serialises internally.
 *  4. decode() takes one endpointed utterance: mono PCM16 at 8 kHz (the call
 *     model's rate) of at most STT_UTTERANCE_MAX_MS; engines that want 16 kHz
 *     resample themselves. Long audio is split by the caller (the VAD).
 *  5. A result's text is lowercase UTF-8 without punctuation, words
 *     separated by one space, at most STT_TEXT_MAX bytes; empty text with
 *     err 0 means "heard nothing intelligible" (a no-match, not an error).
 *  6. Errors are negative errno: -EINVAL bad argument, -ENOTSUP a mode or
 *     grammar the engine cannot do, -ENOMEM, -EIO engine failure,
 *     -ETIMEDOUT (the service's deadline, never the engine's).
 *  7. Optional modes are announced in caps (STT_CAP_*); the service never
 *     asks an engine for a mode whose bit is clear.
 *  8. Streaming (optional, STT_CAP_STREAM with the five stream_* methods):
 *     stream_begin() opens a stream for one request (mode and grammar as
 *     in decode(); the grammar is borrowed until end or abort), then
 *     stream_feed() takes the utterance's 8 kHz PCM in chunks of any size
 *     as the caller hears it, stream_partial() tells the current
 *     hypothesis (rule 5's text) when it changed, and exactly one of
 *     stream_end() (the final result, under rules 4 to 6 exactly as
 *     decode() would give it: confidence, grammar_phrase, text) or
 *     stream_abort() closes and frees the stream. How the audio is cut
 *     into chunks does not change any result. Every stream method
 *     blocks (CPU) like decode(): worker threads or a CLI only. Calls on
 *     one stream are never concurrent (they may come from different
 *     threads one after the other); different streams and decode() may
 *     run concurrently. stream_begin() never waits for a resource another
 *     stream holds (a stream lives as long as the caller speaks): it
 *     returns -EBUSY instead, and the caller decodes the utterance with
 *     decode() at its end. After an error from stream_feed() or
 *     stream_partial() the caller still calls stream_abort().
 *
 * Rules of the service (what callers get):
 *  - Methods never block; stt_recognize() returns at once.
 *  - A request that returns 0 ends in exactly one done callback on the
 *    caller's loop (final result or error), unless stt_cancel() was called
 *    first, after which nothing is called.
 *  - The fallback chain: if an engine errors (or its result arrives after
 *    the request's deadline), the next engine of the chain decodes the same
 *    audio; each switch counts in voxgate_stt_fallback_total. An engine
 *    that hears nothing (empty text) in audio the VAD called speech also
 *    hands it on; when every engine hears nothing the result is empty.
 *  - Under load: each engine of the chain is told how long the request
 *    waited in the worker queue (stt_request.queued_ms; a stream's, its
 *    final job's wait); an engine with a degraded mode may then decode
 *    faster and less accurately (result degraded, counted in
 *    voxgate_stt_degraded_total{engine}).
 */
#ifndef VG_ENGINES_STT_STT_H
#define VG_ENGINES_STT_STT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct audio_clip;
struct vg_loop;
struct wpool;

#define STT_TEXT_MAX 1024	    /* bytes of a transcript, NUL excluded */
#define STT_UTTERANCE_MAX_MS 30000u /* longest audio one decode() takes */
#define STT_ENGINES_MAX 4	    /* engines in a fallback chain */
#define STT_PHRASES_MAX 200	    /* phrases of one grammar */
#define STT_PHRASE_MAX 128	    /* bytes of one phrase */

enum stt_mode {
	STT_MODE_OPEN = 0, /* free speech: the engine's own language model */
	STT_MODE_GRAMMAR,  /* one of the grammar's phrases (JSGF) */
	STT_MODE_LM,	   /* free speech on a domain n-gram LM */
};

enum stt_cap {
	STT_CAP_OPEN = 1u << 0,
	STT_CAP_GRAMMAR = 1u << 1,
	STT_CAP_LM = 1u << 2,
	STT_CAP_STREAM = 1u << 3, /* the stream_* methods (rule 8) */
};

/* Built-in phrase classes a grammar can include besides its phrases. */
enum stt_class {
	STT_CLASS_DIGITS = 1u << 0, /* a spoken digit string "four one one" */
	STT_CLASS_YESNO = 1u << 1,  /* yes / no / confirmation words */
	STT_CLASS_NUMBER = 1u << 2, /* cardinal numbers up to 9999 */
};

/* What a step expects, compiled once (at flow load) and shared by every call
 * of the flow: immutable and refcounted, any thread may hold it. For
 * STT_MODE_GRAMMAR it is the set of phrases (plus classes); for STT_MODE_LM
 * it is the training text of the domain language model (intent examples and
 * hints), one sentence per entry. Engines derive their own form from it (a
 * JSGF grammar, an ARPA LM and a restricted dictionary) and may cache that
 * form keyed by stt_grammar_id(). */
struct stt_grammar;

/* The one text normalization of speech: in[0..len) into out (capacity cap,
 * NUL included), ASCII lowercased, valid multi-byte UTF-8 kept, an
 * apostrophe kept only between two word characters ("that's"), anything
 * else separates words by one space. Grammars, flows' spoken option words
 * and transcripts compared with them all go through it. Returns the length
 * (0: no word), or -E2BIG if it does not fit. */
int stt_text_normalize(const char *in, size_t len, char *out, size_t cap);

/* Build a grammar from n phrases (copied; lowercased, punctuation dropped,
 * spaces collapsed; empty ones and duplicates skipped) and classes
 * (STT_CLASS_* bits). Returns 0 with a new reference in *gp, -EINVAL (no
 * phrase and no class, n > STT_PHRASES_MAX for a grammar, a phrase longer
 * than STT_PHRASE_MAX) or -ENOMEM. For STT_MODE_LM there is no phrase cap
 * (up to 100000 sentences). */
int stt_grammar_create(struct stt_grammar **gp, enum stt_mode mode,
		       const char *const *phrases, size_t n, unsigned classes);
struct stt_grammar *stt_grammar_ref(struct stt_grammar *g);
struct stt_grammar *stt_grammar_deref(struct stt_grammar *g); /* NULL */
enum stt_mode stt_grammar_mode(const struct stt_grammar *g);
unsigned stt_grammar_classes(const struct stt_grammar *g);
size_t stt_grammar_count(const struct stt_grammar *g);
/* The i-th normalized phrase (borrowed from g). */
const char *stt_grammar_phrase(const struct stt_grammar *g, size_t i);
/* Process-unique id (for engines' caches). */
uint64_t stt_grammar_id(const struct stt_grammar *g);
/* The phrase of g closest to text by word edit distance, when within
 * max_dist_ratio of the phrase's length (e.g. 0.34); NULL otherwise. For an
 * open-vocabulary engine serving a grammar step (fallback): its transcript is
 * snapped to the grammar. Borrowed from g. */
const char *stt_grammar_snap(const struct stt_grammar *g, const char *text,
			     double max_dist_ratio, double *confidence);

/* Word errors of hyp against ref (substitutions + insertions + deletions,
 * the numerator of WER): both are texts of words separated by spaces, as
 * stt_text_normalize() makes them (runs of spaces count as one; words are
 * compared byte for byte). *nref (may be NULL) gets the words of ref. Only
 * the first STT_WER_WORDS_MAX words of each side count. Pure. */
#define STT_WER_WORDS_MAX 256
size_t stt_word_edits(const char *ref, const char *hyp, size_t *nref);

/* Largest grammar or LM text stt_grammar_parse() takes. */
#define STT_GRAMMAR_FILE_MAX ((size_t)16 << 20)

/* Parse outside text (the CLI's --grammar FILE / --lm-from FILE.tsv) into a
 * grammar. STT_MODE_GRAMMAR: one phrase per line; STT_MODE_LM: one sentence
 * per line, either plain text or "label<TAB>text" (the text is learnt, the
 * label ignored). Blank lines and lines starting with '#' are skipped; CRLF
 * is accepted. On error a message naming the line ("line 3: phrase longer
 * than 128 bytes") is written to err (errlen bytes, may be NULL). Returns 0
 * with a new reference in *gp, -EBADMSG (bad line, too many lines), -EINVAL
 * (bad argument, nothing but comments), -E2BIG (len >
 * STT_GRAMMAR_FILE_MAX) or -ENOMEM. */
int stt_grammar_parse(const char *buf, size_t len, enum stt_mode mode,
		      unsigned classes, struct stt_grammar **gp, char *err,
		      size_t errlen);

/* One decode request, as the engine sees it. */
struct stt_request {
	enum stt_mode mode;
	const struct stt_grammar *grammar; /* NULL for STT_MODE_OPEN */
	const char *call_id;		   /* for logs; may be NULL */
	/* OPEN for a GRAMMAR step: stt.c snaps the transcript to the
	 * step's grammar (engines may decode such short phrases more
	 * cheaply). Also set on the service's emulated partials (an OPEN
	 * draft of speech still going on, never a final). Either way the
	 * engine may decode in its cheapest mode (Moonshine: greedy). */
	bool snap;
	/* How long the request waited in the worker queue before this
	 * decode started (0: not queued, e.g. stt_recognize_sync()). An
	 * engine with a degraded mode (stt_engine_cfg.degrade) decodes
	 * faster, less accurately, once this reaches degrade_ms: a late
	 * answer is worse than a slightly less accurate one. */
	uint32_t queued_ms;
};

struct stt_result {
	char text[STT_TEXT_MAX + 1];
	float confidence;   /* 0..1; engines without one report 0.5..1
			       from their own score, never a constant 1 */
	uint32_t decode_us; /* wall time inside decode() */
	uint32_t audio_ms;  /* length of the audio decoded */
	const char *engine; /* ops->name of the engine that produced it */
	const char *grammar_phrase; /* GRAMMAR mode: the phrase matched (from
				       the grammar), else NULL */
	bool degraded; /* decoded with the engine's fast, less accurate
			  setup because the request was late (queued_ms) */
};

struct stt_engine {
	const struct stt_engine_ops *ops;
};

/* One streamed utterance of an engine (rule 8): defined by each engine. */
struct stt_engine_stream;

/* Engine settings from the config; strings borrowed during open(). */
struct stt_engine_cfg {
	const char *model_dir; /* where the engine's files are (NULL: its
				  built-in default) */
	unsigned threads;      /* intra-op threads per decode (0: 1) */
	unsigned pool_size;    /* decoders kept for reuse (0: engine default) */
	/* Moonshine with a domain LM (beam search with shallow fusion):
	 * beam width, LM weight, per-word bonus and the pruning margin (0:
	 * none). lm_beam 0: the engine's measured defaults for all four. */
	unsigned lm_beam;
	double lm_weight, lm_word_bonus, lm_prune;
	/* Moonshine on open speech without a domain LM: beam width (1:
	 * greedy) and pruning margin (0: none). open_beam 0: the engine's
	 * measured defaults for both. */
	unsigned open_beam;
	double open_prune;
	/* Graceful degradation under load: a request that waited at least
	 * degrade_ms in the worker queue (queued_ms) is decoded faster
	 * (PocketSphinx LM mode: its fast decoders, created on first need;
	 * Moonshine open speech: greedy). degrade false: never (every zeroed
	 * cfg). */
	bool degrade;
	unsigned degrade_ms;
};

struct stt_engine_ops {
	const char *name; /* "moonshine", "pocketsphinx": unique */
	unsigned caps;	  /* STT_CAP_* */
	/* Open an instance: *ep is set only on success. -ENOENT when the
	 * engine's library or model is not installed (the daemon then runs
	 * without it and says so). */
	int (*open)(struct stt_engine **ep, const struct stt_engine_cfg *cfg);
	void (*close)(struct stt_engine *e); /* NULL is a no-op */
	/* Decode n samples at 8 kHz (rule 4). Blocking (rule 3). res is
	 * written only on success. */
	int (*decode)(struct stt_engine *e, const struct stt_request *req,
		      const int16_t *pcm, size_t n, struct stt_result *res);
	/* Optional: prepare (compile, cache) what decode() needs for g, so the
	 * first call of a step does not pay for it. Blocking; NULL: nothing. */
	int (*prepare)(struct stt_engine *e, const struct stt_grammar *g);
	/* Optional streaming (rule 8; all set iff STT_CAP_STREAM).
	 * stream_begin: *sp is set only on success; -EBUSY (no decoder free
	 * now), the errors of decode(). stream_feed: n >= 0 samples;
	 * -E2BIG past STT_UTTERANCE_MAX_MS in all. stream_partial: the
	 * hypothesis so far into text (cap bytes, NUL included): 1 when it
	 * changed since the last stream_partial() (text written), 0 when not.
	 * stream_end: frees s whatever it returns; res is written only on
	 * success (decode_us: wall time inside the stream's calls, audio_ms:
	 * all audio fed). stream_abort: frees s (NULL is a no-op). */
	int (*stream_begin)(struct stt_engine *e, const struct stt_request *req,
			    struct stt_engine_stream **sp);
	int (*stream_feed)(struct stt_engine_stream *s, const int16_t *pcm,
			   size_t n);
	int (*stream_partial)(struct stt_engine_stream *s, char *text,
			      size_t cap);
	int (*stream_end)(struct stt_engine_stream *s, struct stt_result *res);
	void (*stream_abort)(struct stt_engine_stream *s);
};

static inline int stt_engine_decode(struct stt_engine *e,
				    const struct stt_request *req,
				    const int16_t *pcm, size_t n,
				    struct stt_result *res)
{
	return e->ops->decode(e, req, pcm, n, res);
}

/* Built-in engines (may be unavailable at run time: open() says -ENOENT). */
extern const struct stt_engine_ops stt_moonshine_ops;
extern const struct stt_engine_ops stt_pocketsphinx_ops;

/* Find a built-in engine's ops by name, or NULL. */
const struct stt_engine_ops *stt_engine_ops_find(const char *name);

/*
 * The service.
 */
struct stt;

struct stt_cfg {
	/* Engines to open, in default-chain order: "moonshine,pocketsphinx".
	 * NULL: every built-in engine that opens. An engine that fails to open
	 * is logged and left out (the chain shrinks); none at all is -ENOENT.
	 */
	const char *engines;
	struct stt_engine_cfg engine_cfg[STT_ENGINES_MAX]; /* same order */
	unsigned deadline_ms; /* default per-request deadline (0: 2000) */
	/* Early decode: a turn starts decoding once the caller has paused
	 * this long within speech, and that result answers the turn when the
	 * end of speech is confirmed with no more speech (0: off). */
	unsigned early_ms;
	/* Emulated partials: a stream whose first engine cannot stream
	 * re-decodes the audio heard so far at most once per this much new
	 * audio, or per a quarter of the audio so far once that is more,
	 * best effort (see the streaming requests below; 0: off, no partials
	 * from such engines). */
	unsigned partial_every_ms;
};

/* Open the engines. pool is borrowed and must outlive s. Blocking (loads
 * models): start-up only. Returns 0, -ENOENT (no engine opened), -EINVAL,
 * -ENOMEM. */
int stt_create(struct stt **sp, struct wpool *pool, const struct stt_cfg *cfg);
/* As stt_create(), over the engines ops[0..n) instead of the built-in ones
 * (tests, fakes): cfg->engines, when set, names engines among ops. */
int stt_create_with_ops(struct stt **sp, struct wpool *pool,
			const struct stt_engine_ops *const *ops, size_t n,
			const struct stt_cfg *cfg);
/* Close engines; call after the pool was destroyed. NULL is a no-op. */
void stt_destroy(struct stt *s);

/* The opened engine named name (borrowed), or NULL. For the CLI. */
struct stt_engine *stt_engine_find(struct stt *s, const char *name);
/* Names of the opened engines, in chain order, "moonshine,pocketsphinx". */
const char *stt_engines(const struct stt *s);

/* Ask every opened engine to prepare g (blocking; flow load, pool/start-up).
 * Returns 0 or the first error. */
int stt_prepare(struct stt *s, const struct stt_grammar *g);

/* One request. */
struct stt_params {
	enum stt_mode mode;
	const struct stt_grammar *grammar; /* borrowed until done */
	/* STT_MODE_OPEN only, optional: the step's domain language model (an
	 * STT_MODE_LM grammar, e.g. the examples of the intents it routes).
	 * An engine of the chain that is not open-vocabulary by nature but can
	 * do LM decodes with it instead of its generic model. Borrowed (a
	 * reference is taken) like grammar. */
	const struct stt_grammar *lm;
	/* Fallback chain for this step, "pocketsphinx,moonshine"; NULL: the
	 * service's default order, filtered to engines able to do mode (an
	 * open engine serves a GRAMMAR step by snapping to the grammar). */
	const char *engines;
	/* Bounds each engine's decode (a decode cannot be interrupted): a
	 * result later than this is dropped as -ETIMEDOUT and the next engine
	 * of the chain decodes the audio. 0: the service's default. */
	unsigned deadline_ms;
	const char *call_id; /* copied; for logs */
};

/* Runs on the requesting loop. err 0: res is the final result (borrowed for
 * the call). err < 0: every engine of the chain failed (-ETIMEDOUT, -EIO,
 * ...), or -EAGAIN (worker queue full), -ECANCELED (pool stopping). */
typedef void(stt_done_fn)(int err, const struct stt_result *res, void *arg);

struct stt_req; /* handle for stt_cancel() */

/* Recognize clip (8 kHz; a new reference is taken) without blocking: queued
 * on the pool, cb posted to loop. On 0, *reqp (may be NULL) gets a handle
 * valid until cb runs or stt_cancel(). Errors (cb never called): -EINVAL,
 * -ENOTSUP (no engine of the chain can do mode), -EAGAIN (queue full),
 * -ESHUTDOWN, -ENOMEM. */
int stt_recognize(struct stt *s, struct audio_clip *clip,
		  const struct stt_params *p, struct vg_loop *loop,
		  stt_done_fn *cb, void *arg, struct stt_req **reqp);
/* On loop's thread: cb will not be called. The decode may still run to its
 * end on the pool; its result is dropped. */
void stt_cancel(struct stt_req *r);

/* Early decodes (stt_cfg.early_ms). The runtime asks stt_early_ms() for the
 * listen's pause threshold, starts an ordinary stt_recognize() on the pause's
 * audio when stt_early_allowed(), and reports each one's fate in
 * voxgate_stt_early_total{outcome}: used (it answered the turn), discarded
 * (the caller spoke again, or the turn ended otherwise) or skipped (not
 * started: live jobs were waiting in the pool, or the queue was full). Any
 * thread. */
enum stt_early_outcome {
	STT_EARLY_USED,
	STT_EARLY_DISCARDED,
	STT_EARLY_SKIPPED,
	STT_EARLY_N
};
unsigned stt_early_ms(const struct stt *s); /* 0: off (s NULL too) */
/* Early decodes are on and no live job waits in the worker queue (requests
 * cancelled while queued, such as early decodes voided by more speech, and
 * emulated partial decodes do not count: a worker drops them without
 * decoding): an early decode never delays another call's final one. */
bool stt_early_allowed(const struct stt *s);
void stt_early_note(struct stt *s, enum stt_early_outcome o);

/* Blocking convenience for the CLI and benchmarks: run the chain on the
 * calling thread. Same errors as the engines. */
int stt_recognize_sync(struct stt *s, const int16_t *pcm, size_t n,
		       const struct stt_params *p, struct stt_result *res);

/*
 * Streaming requests: the audio is fed while the caller speaks, so an
 * engine that streams (STT_CAP_STREAM) has scored most of it by the end of
 * speech, and partial hypotheses arrive on the way.
 *
 * Threading and ownership: every stt_stream_*() call is made on loop's
 * thread (the one given to stt_stream_start()) and never blocks; the
 * callbacks run on that loop too. The handle belongs to the service: it is
 * valid from stt_stream_start() until the done callback has returned or
 * stt_stream_cancel() was called, whichever comes first.
 *
 * The final: the first engine of the chain streams when it can
 * (stream_begin() may also say -EBUSY: no decoder free, then it decodes
 * the end clip like the rest of the chain); if it fails, times out (the
 * deadline bounds the finalize: the last audio and stream_end()) or hears
 * nothing, the next engines of the chain decode the end clip, with the
 * fallback and metrics of stt_recognize() (a stream's
 * voxgate_stt_decode_seconds and result decode_us are its finalize time).
 * A first engine that cannot stream decodes the end clip, exactly as
 * stt_recognize() would.
 *
 * The stream's jobs: the engine work of one stream runs on the worker pool
 * strictly in order, at most one stream job queued or running at a time:
 * fed audio is copied into a pending buffer and handed over when a job is
 * free and at least STT_STREAM_BATCH_MS are waiting (so 20 ms frames do not
 * cost one job each).
 *
 * Partials: an engine that streams says them as it hears (stream_partial()
 * after each batch). For a first engine that cannot stream, the service
 * emulates them when stt_cfg.partial_every_ms is set and a partial_cb is
 * given: it keeps the fed audio and re-decodes all of it so far with that
 * engine alone, in its cheapest mode (stt_request.snap; Moonshine greedy,
 * without the step's LM), no fallback, at most once per partial_every_ms
 * of new audio (the first once that much came after the first feed, which
 * at speech start is the pre-roll), and once the audio so far is over 4x
 * that, at most once per a quarter of it more (each decode re-decodes all
 * of it: the decodes of an utterance then cost linear, not quadratic, CPU
 * in its length). These decodes are best effort and
 * stay out of the finals' way: one at a time per stream (a partial job
 * beside the stream's jobs, which it never holds up: the end job is queued
 * at once); one starts only when no recognition job (a request or a stream
 * job, early decodes included) waits in the worker queue or runs on a
 * worker, and when fewer than (worker threads - 1, at least 1) partial
 * decodes are in flight in the whole service, so a final that comes
 * meanwhile finds a free worker; a worker that takes one while a
 * recognition job waits or runs skips it. What they cannot avoid: a final
 * that comes while one runs shares the CPU with it (BENCHMARKS.md "Partial
 * transcripts"). A partial not started is counted skipped and tried again
 * at the next feed. Partials come in order of the audio,
 * only when the text changed (empty texts are not said), and never after
 * stt_stream_end(), the done callback or cancel. Counted:
 * voxgate_stt_partials_total (said, either way) and
 * voxgate_stt_partial_decodes_total{outcome="decoded|skipped|late"}
 * (emulated decodes run, due but not run, run but back after the end).
 */
#define STT_STREAM_BATCH_MS 100u

struct stt_stream;

/* A new partial hypothesis (rule 5's text; an engine that streams may say
 * an empty one), borrowed for the call; audio_ms: the audio the engine had
 * heard when it said it (emulated: the audio decoded). Only called when the
 * text changed, never after the done callback or cancel (emulated ones
 * never after stt_stream_end() either). */
typedef void(stt_partial_fn)(const char *text, uint32_t audio_ms, void *arg);

/* Start a streaming request (p as for stt_recognize(); grammars are
 * referenced, call_id copied). partial_cb may be NULL. Nothing is queued
 * yet. On 0, *sp is the handle. Errors (nothing called): -EINVAL, -ENOTSUP
 * (no engine of the chain can do the mode), -ENOMEM. */
int stt_stream_start(struct stt *s, const struct stt_params *p,
		     struct vg_loop *loop, stt_partial_fn *partial_cb,
		     stt_done_fn *done_cb, void *arg, struct stt_stream **sp);
/* Whether p's chain starts with an engine that streams itself
 * (STT_CAP_STREAM): its final is then ready about when the end of speech
 * is confirmed. false for a chain led by an engine whose partials the
 * service emulates, and for params stt_stream_start() would refuse. Any
 * thread. */
bool stt_stream_native(const struct stt *s, const struct stt_params *p);
/* Feed n samples at 8 kHz (copied; any n). Returns 0, -EINVAL (after
 * stt_stream_end(), bad argument), -E2BIG (over STT_UTTERANCE_MAX_MS in
 * all: the rest is dropped, stt_stream_end() still works), -ENOMEM. A
 * stream whose engine cannot stream keeps the audio only for emulated
 * partials (the end clip is what its final decodes). */
int stt_stream_feed(struct stt_stream *st, const int16_t *pcm, size_t n);
/* End of speech: clip (8 kHz, a new reference is taken) is the whole
 * utterance, decoded by the engines that do not stream or take over after
 * a failure. On 0, done_cb will be called exactly once (unless cancelled).
 * On error nothing changed and the stream is still the caller's (end again
 * or cancel): -EINVAL (bad clip, already ended), -EAGAIN (worker queue
 * full), -ESHUTDOWN. */
int stt_stream_end(struct stt_stream *st, struct audio_clip *clip);
/* Drop the stream: no callback will run; the handle is invalid on return.
 * The engine's stream is aborted on the pool (its decoder freed there).
 * NULL is a no-op. */
void stt_stream_cancel(struct stt_stream *st);
#endif

/* Text-to-speech: the engine contract (struct tts_engine_ops, one folder per
 * engine) and the prompt service the rest of voxgate uses (struct tts: an LRU
 * clip cache in front of the engines, synthesis on the worker pool).
 *
 * Rules of the engine contract (cf. UniMRCP mrcp_engine_types.h):
 *  1. The core calls engines only through struct tts_engine_ops; engines
 *     never call back into the core and keep no per-call state.
 *  2. open() and close() run once per instance, at start-up and shutdown,
 *     never concurrently with any other method of that instance. close()
 *     runs only after every synth() and synth_stream() on the instance
 *     has returned.
 *  3. voice_find() never blocks and is thread-safe: it runs on loop threads.
 *  4. synth() BLOCKS BY DESIGN (CPU for seconds, or network for a cloud
 *     engine), so it is only ever called on a worker thread (wpool) or at
 *     start-up, never on a loop. It must be safe to call concurrently from
 *     several threads on the same instance and voice: an engine whose
 *     library cannot do that serialises internally.
 *  5. synth() returns mono PCM16 at AUDIO_RATE_HZ (8 kHz) in a new clip;
 *     engines that synthesize at another rate convert with
 *     audio_clip_resample(). Out-parameters are set only on success.
 *  6. Errors are negative errno: -EINVAL empty (or whitespace-only) text or
 *     bad argument, -E2BIG text longer than TTS_TEXT_MAX_LEN, -ENODATA the
 *     text produced no audio, -ENOMEM, -EIO engine failure.
 *  7. Optional methods are announced in caps (TTS_CAP_*); the core checks
 *     the bit before calling one, and a method whose bit is clear may be
 *     NULL. Streaming synthesis (first 20 ms frame before the sentence is
 *     done, TTS_CAP_STREAM, synth_stream()) is the first such method.
 */
#ifndef VG_ENGINES_TTS_TTS_H
#define VG_ENGINES_TTS_TTS_H
#include <stddef.h>
#include <stdint.h>

struct audio_clip;
struct audio_stream;
struct vg_loop;
struct wpool;

/* Longest text (bytes, without the NUL) any engine accepts. A prompt is a
 * sentence or two; this bounds synthesis time and the cache key. */
#define TTS_TEXT_MAX_LEN 4096

/* Capability bits of an engine (struct tts_engine_ops.caps). */
enum tts_cap {
	/* synth_stream(): the first samples before the sentence is done. */
	TTS_CAP_STREAM = 1u << 0,
};

/* A voice, owned by its engine and valid until the engine's close(). Engines
 * embed it in their own voice struct and hand out a pointer to it. */
struct tts_voice {
	const char *name; /* canonical short name ("kal"); cache key */
	const char *lang; /* BCP 47 ("en-US") */
	/* The rate the engine produces before resampling to 8 kHz. */
	unsigned native_rate_hz;
};

/* An engine instance. Engines embed it as the first member of their own
 * instance struct; ops is set by open(). */
struct tts_engine {
	const struct tts_engine_ops *ops;
};

struct tts_engine_ops {
	const char *name; /* "flite": unique, part of the cache key */
	unsigned caps;	  /* TTS_CAP_* */

	/* Open an instance: *ep is set only on success. Returns 0 or -errno. */
	int (*open)(struct tts_engine **ep);
	/* Close an instance (rule 2). NULL is a no-op. */
	void (*close)(struct tts_engine *e);
	/* The voice named name (canonical or alias), or the engine's default
	 * voice when name is NULL; NULL when unknown. Borrowed (rule 3). */
	const struct tts_voice *(*voice_find)(struct tts_engine *e,
					      const char *name);
	/* Synthesize text (NUL-terminated UTF-8) with voice v (from this
	 * engine's voice_find). On success *clipp gets a new 8 kHz clip that
	 * the caller owns. Blocking (rule 4). */
	int (*synth)(struct tts_engine *e, const struct tts_voice *v,
		     const char *text, struct audio_clip **clipp);
	/* Optional (TTS_CAP_STREAM): synthesize like synth(), appending 8 kHz
	 * samples to out (audio_stream_write(), out at AUDIO_RATE_HZ) as they
	 * are produced, so the first frame is published long before the end.
	 * Returns 0 when all audio was written, or a rule 6 error (-E2BIG also
	 * when the audio does not fit in out). The CALLER finishes out with
	 * the result (audio_stream_finish()); the engine never does, so the
	 * caller can still act (cache, disk) before readers see the end.
	 * Blocking (rule 4); out is borrowed. */
	int (*synth_stream)(struct tts_engine *e, const struct tts_voice *v,
			    const char *text, struct audio_stream *out);
};

/* Thin wrappers so callers read as calls, not as vtable plumbing. */
static inline const struct tts_voice *
tts_engine_voice_find(struct tts_engine *e, const char *name)
{
	return e->ops->voice_find(e, name);
}

static inline int tts_engine_synth(struct tts_engine *e,
				   const struct tts_voice *v, const char *text,
				   struct audio_clip **clipp)
{
	return e->ops->synth(e, v, text, clipp);
}

/* Check text against rule 6 (shared by the service and the engines):
 * returns 0, -EINVAL (NULL, empty or only whitespace) or -E2BIG. */
int tts_text_check(const char *text);

/*
 * The service. Callers on loops never block: tts_synth() answers from the
 * cache or queues synthesis on the worker pool and posts the result back to
 * the caller's loop.
 */
struct tts;

struct tts_cfg {
	/* Voice used when a request names none: "kal", or "flite:kal" to
	 * name the engine. NULL: the first engine's default voice. */
	const char *default_voice;
	/* Hard cap of the clip cache in bytes (clips, keys and bookkeeping).
	 * 0 disables caching; concurrent requests are still coalesced. */
	size_t cache_max_bytes;
	/* On-disk, content-addressed cache behind the memory cache, or NULL
	 * (off). Created if missing (not its parents). Files are
	 * <dir>/<2 hex>/<64 hex>.wav, named by tts_cache_key_hex(), written
	 * atomically by the worker after a synthesis and read by the worker
	 * on a memory miss (never on a loop), so a restart re-synthesizes
	 * nothing. A corrupt file is ignored and replaced. voxgate never
	 * deletes files: the directory grows with the set of distinct
	 * prompts (about 16 kB per second of audio); prune it offline, any
	 * time (a missing file is just a miss). */
	const char *cache_dir;
};

/* Default cache cap when cfg is NULL: about 70 minutes of 8 kHz audio. */
#define TTS_CACHE_DEFAULT_BYTES ((size_t)64 << 20)

/* Open every built-in engine and the cache. pool is borrowed and must
 * outlive t; cfg may be NULL (defaults) and is copied. *tp is set only on
 * success. Returns 0, -EINVAL (unknown default voice), -ENOMEM, an
 * engine's open() error, or for cache_dir -ENAMETOOLONG or the -errno of
 * mkdir() (logged). Call at start-up, not on a loop (engines load voices,
 * the cache directory is created). */
int tts_create(struct tts **tp, struct wpool *pool, const struct tts_cfg *cfg);

/* Close the engines and free the cache. Call after the pool was destroyed
 * (its cancelled jobs have completed) or when no synthesis is pending.
 * Clips and streams handed out stay valid: they are refcounted. NULL is a
 * no-op. */
void tts_destroy(struct tts *t);

/* Thread-safe cache lookup of (voice, text) in memory (never the disk);
 * voice NULL is the default voice. Returns a new reference (caller derefs)
 * or NULL on a miss, an unknown voice or invalid text. Never blocks. A hit
 * counts in voxgate_tts_cache_hits_total{tier="memory"}; a miss is not
 * counted here, because a miss is normally followed by tts_synth() or
 * tts_synth_stream(), which count it. On a memory miss the worker counts
 * voxgate_tts_cache_{hits,misses}_total{tier="disk"} when cache_dir is
 * set. */
struct audio_clip *tts_cache_find(struct tts *t, const char *voice,
				  const char *text);

/* Result of tts_synth(): runs on the requesting loop. On success err is 0 and
 * clip is a new reference the callback owns (audio_clip_deref() it); on
 * failure clip is NULL and err is negative (an engine error from rule 6, or
 * -ECANCELED when the pool was destroyed first). */
typedef void(tts_done_fn)(int err, struct audio_clip *clip, void *arg);

/* Get the clip for (voice, text) without blocking; voice NULL is the default
 * voice. Thread-safe; cb runs on loop, normally the caller's own loop.
 * - Cache hit: cb is posted to loop, never called inline.
 * - Miss: synthesized on the pool, then cached and posted to loop. Requests
 *   for a key already being synthesized wait for that synthesis instead of
 *   starting another one.
 * Returns 0 when cb will run exactly once on loop; otherwise a negative errno
 * and cb is never called: -EINVAL (bad argument, unknown voice, empty text),
 * -E2BIG (text too long), -EAGAIN (worker queue full: play a fallback),
 * -ESHUTDOWN (pool stopping), -ENOMEM or a loop_post() error. If loop stops
 * before the result arrives, the result is dropped (and logged): there is no
 * thread left to run cb on. */
int tts_synth(struct tts *t, const char *voice, const char *text,
	      struct vg_loop *loop, tts_done_fn *cb, void *arg);

/* Blocking: synthesize (voice, text) on the calling thread unless cached, and
 * cache the clip. For start-up pre-synthesis of every prompt of every flow;
 * never call it on a loop. Returns 0 (the clip is cached), -ENOSPC (the clip
 * alone is larger than the cache cap; it was not cached), or the errors of
 * tts_synth() and of the engine. */
int tts_presynth(struct tts *t, const char *voice, const char *text);

/* Streaming: the audio of (voice, text) as a stream the caller plays while
 * it fills (8 kHz, audio/stream.h); voice NULL is the default voice. Never
 * blocks; thread-safe; the stream is usable at once from any thread.
 * - Memory hit: *sp is an already finished stream over the cached clip.
 * - The key is being synthesized (by any request): *sp is a new reference
 *   to that same stream.
 * - Miss: queues the work on the pool and returns a new stream at once; the
 *   worker fills it from the disk tier or by streaming synthesis (the first
 *   20 ms frame long before the sentence is done), then finishes it and
 *   caches the clip, so the next request is a hit.
 * A stream holds up to 5 s + 0.5 s per byte of text; longer audio
 * finishes it with -E2BIG. Synthesis errors finish it with the engine's
 * error (rule 6), a pool destroyed first with -ECANCELED. Returns 0 with
 * *sp set (the caller derefs it), or -EINVAL, -E2BIG (text too long),
 * -EAGAIN (worker queue full: play a fallback), -ESHUTDOWN, -ENOMEM. */
int tts_synth_stream(struct tts *t, const char *voice, const char *text,
		     struct audio_stream **sp);

/* The canonical name of voice ("kal" for "flite:cmu_us_kal"; NULL: the
 * default voice) and, in *engine (may be NULL), its engine's name; NULL
 * when unknown. Borrowed, valid until tts_destroy(). Never blocks. */
const char *tts_voice_name(struct tts *t, const char *voice,
			   const char **engine);

/* Bytes and entries currently held by the cache (for tests and metrics). */
size_t tts_cache_bytes(struct tts *t);
size_t tts_cache_count(struct tts *t);

/* The disk-tier key: SHA-256 of engine, voice, output rate and text
 * (NUL-separated), as 64 lowercase hex digits plus a NUL. 0, -EINVAL,
 * -ENOMEM, -EIO. */
#define TTS_KEY_HEX_LEN 64
int tts_cache_key_hex(const char *engine, const char *voice, unsigned rate_hz,
		      const char *text, char hex[TTS_KEY_HEX_LEN + 1]);
/* The disk-tier file of (voice, text) into buf (whether it exists or not).
 * 0, -ENOENT (no cache_dir), -EINVAL (unknown voice, bad text),
 * -ENAMETOOLONG. */
int tts_cache_path(struct tts *t, const char *voice, const char *text,
		   char *buf, size_t len);

/* Counts of one instance since tts_create() (the metrics are process-wide):
 * engine syntheses, disk-tier hits, misses, files written, and unusable
 * files or failed writes. */
struct tts_stats {
	uint64_t synth, disk_hits, disk_misses, disk_writes, disk_errors;
};
void tts_stats_get(struct tts *t, struct tts_stats *st);
#endif

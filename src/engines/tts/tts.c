/* The prompt service (see tts.h): an LRU cache of synthesized clips keyed by
 * (engine, voice, text) in front of an optional on-disk cache, misses
 * synthesized on the worker pool into a stream that callers can play while
 * it fills, concurrent misses for one key coalesced into one synthesis. */
#include "engines/tts/tts.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "audio/clip.h"
#include "audio/stream.h"
#include "audio/wav.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/wpool.h"
#include "engines/tts/flite/tts_flite.h"
#include "metrics/metrics.h"

/* Built-in engines, in voice lookup order. */
static const struct tts_engine_ops *const builtin_engines[] = {
	&tts_flite_ops,
};

enum {
	ENGINES_MAX = sizeof(builtin_engines) / sizeof(builtin_engines[0]),
	BUCKETS = 1024,	 /* power of two; chains stay short for prompt sets */
	VOICES_MAX = 32, /* synth-time histograms (one per voice) */
	POST_TRIES = 1000,
	DIR_MAX = 3900, /* cache_dir length: leaves room for the file name */
};

/* The cache key: borrowed pieces for lookups, or pieces pointing into buf
 * when an entry or a job owns a copy. */
struct key {
	const char *engine, *voice, *text;
	size_t elen, vlen, tlen;
	uint64_t hash;
	char *buf; /* NULL for a borrowed key */
};

/* A request waiting for a clip, and the message that carries it to loop. */
struct waiter {
	struct waiter *next;
	struct vg_loop *loop;
	tts_done_fn *cb;
	void *arg;
	int err;
	struct audio_clip *clip;
};

/* A cache entry: ready (clip set, on the LRU list, counted in bytes) or
 * pending (clip NULL, a synthesis in flight, requests queued on waiters). */
struct entry {
	struct entry *hnext;	   /* hash chain */
	struct entry *prev, *next; /* LRU list, ready entries only */
	struct key key;
	struct audio_clip *clip;
	const void *owner;	/* pending: the job or presynth call */
	struct waiter *waiters; /* pending: newest first */
	/* pending: the stream being filled (a reference), shared with every
	 * tts_synth_stream() request for the key meanwhile */
	struct audio_stream *stream;
	size_t bytes;
};

struct voice_ref {
	struct tts_engine *eng;
	const struct tts_voice *voice;
};

struct tts {
	struct wpool *pool;
	size_t max_bytes;
	char *cache_dir; /* NULL: no disk tier */
	struct tts_engine *engines[ENGINES_MAX];
	struct voice_ref def;

	pthread_mutex_t mtx; /* everything below */
	struct entry *buckets[BUCKETS];
	struct entry *lru_head, *lru_tail; /* head: most recently used */
	size_t bytes, count;		   /* ready entries */
	size_t npending;
	struct {
		const struct tts_voice *voice;
		struct metric_histogram *h;
	} hist[VOICES_MAX];
	unsigned nhist;

	/* Memory tier: every request. Disk tier: memory misses, looked up on
	 * the worker. */
	struct metric_counter *hits, *misses, *disk_hits, *disk_misses;
	struct {
		atomic_uint_fast64_t synth, disk_hits, disk_misses, disk_writes,
			disk_errors;
	} st;
};

/* One synthesis on the pool. Owns a copy of its key: the entry it was
 * started for may be settled and evicted by tts_presynth() meanwhile. */
struct job {
	struct tts *t;
	struct voice_ref vr;
	struct key key;
	struct audio_stream *stream; /* a reference */
	int err;
	bool to_disk; /* clip was synthesized: store it after settling */
	struct audio_clip *clip;
};

int tts_text_check(const char *text)
{
	if (!text)
		return -EINVAL;
	size_t len = strnlen(text, TTS_TEXT_MAX_LEN + 1);
	if (len > TTS_TEXT_MAX_LEN)
		return -E2BIG;
	if (strspn(text, " \t\r\n\v\f") == len)
		return -EINVAL;
	return 0;
}

static uint64_t fnv1a(uint64_t h, const void *p, size_t len)
{
	const unsigned char *s = p;
	for (size_t i = 0; i < len; i++)
		h = (h ^ s[i]) * 1099511628211u;
	return h;
}

/* The one place that defines the cache key of (engine, voice, text): the
 * three strings, NUL-separated, and their 64-bit FNV-1a hash. The disk
 * tier names its files from the same three pieces (plus the output rate,
 * disk_path()). The text is used as given: "Hello" and "Hello " are
 * different prompts. */
static void key_make(struct key *k, const struct voice_ref *vr,
		     const char *text)
{
	*k = (struct key){
		.engine = vr->eng->ops->name,
		.voice = vr->voice->name,
		.text = text,
	};
	k->elen = strlen(k->engine);
	k->vlen = strlen(k->voice);
	k->tlen = strlen(text);
	uint64_t h = 14695981039346656037u;
	h = fnv1a(h, k->engine, k->elen + 1);
	h = fnv1a(h, k->voice, k->vlen + 1);
	k->hash = fnv1a(h, k->text, k->tlen);
}

static size_t key_size(const struct key *k)
{
	return k->elen + k->vlen + k->tlen + 3;
}

static int key_dup(struct key *dst, const struct key *src)
{
	char *buf = malloc(key_size(src));
	if (!buf)
		return -ENOMEM;
	*dst = *src;
	dst->buf = buf;
	dst->engine = memcpy(buf, src->engine, src->elen + 1);
	buf += src->elen + 1;
	dst->voice = memcpy(buf, src->voice, src->vlen + 1);
	buf += src->vlen + 1;
	dst->text = memcpy(buf, src->text, src->tlen + 1);
	return 0;
}

static int key_equal(const struct key *a, const struct key *b)
{
	return a->hash == b->hash && a->elen == b->elen && a->vlen == b->vlen &&
	       a->tlen == b->tlen && !memcmp(a->engine, b->engine, a->elen) &&
	       !memcmp(a->voice, b->voice, a->vlen) &&
	       !memcmp(a->text, b->text, a->tlen);
}

/* Resolve "voice", "engine:voice" or NULL (the default). Never blocks. */
static int voice_resolve(const struct tts *t, const char *name,
			 struct voice_ref *vr)
{
	if (!name) {
		*vr = t->def;
		return 0;
	}
	const char *colon = strchr(name, ':');
	for (size_t i = 0; i < ENGINES_MAX; i++) {
		struct tts_engine *e = t->engines[i];
		const char *vname = name;
		if (colon) {
			size_t n = (size_t)(colon - name);
			if (strncmp(e->ops->name, name, n) ||
			    e->ops->name[n] != '\0')
				continue;
			vname = colon + 1;
		}
		/* "" must not fall through to the engine's default voice. */
		const struct tts_voice *v =
			*vname ? tts_engine_voice_find(e, vname) : NULL;
		if (v) {
			vr->eng = e;
			vr->voice = v;
			return 0;
		}
	}
	return -EINVAL;
}

/* Resolve and validate a request: the common front of every entry point. */
static int request_key(const struct tts *t, const char *voice, const char *text,
		       struct voice_ref *vr, struct key *k)
{
	int err = tts_text_check(text);
	if (err)
		return err;
	err = voice_resolve(t, voice, vr);
	if (err)
		return err;
	key_make(k, vr, text);
	return 0;
}

/* --- cache, all under t->mtx --- */

static struct entry **bucket(struct tts *t, const struct key *k)
{
	return &t->buckets[k->hash & (BUCKETS - 1)];
}

static struct entry *table_find(struct tts *t, const struct key *k)
{
	for (struct entry *en = *bucket(t, k); en; en = en->hnext) {
		if (key_equal(&en->key, k))
			return en;
	}
	return NULL;
}

static void table_remove(struct tts *t, struct entry *en)
{
	struct entry **pp = bucket(t, &en->key);
	while (*pp != en)
		pp = &(*pp)->hnext;
	*pp = en->hnext;
	en->hnext = NULL;
}

static void lru_unlink(struct tts *t, struct entry *en)
{
	if (en->prev)
		en->prev->next = en->next;
	else
		t->lru_head = en->next;
	if (en->next)
		en->next->prev = en->prev;
	else
		t->lru_tail = en->prev;
	en->prev = en->next = NULL;
}

static void lru_push(struct tts *t, struct entry *en)
{
	en->prev = NULL;
	en->next = t->lru_head;
	/* The list is empty exactly when head is NULL: one test for both
	 * ends keeps them consistent (and the static analyzer convinced). */
	if (t->lru_head)
		t->lru_head->prev = en;
	else
		t->lru_tail = en;
	t->lru_head = en;
}

static void lru_touch(struct tts *t, struct entry *en)
{
	if (t->lru_head == en)
		return;
	lru_unlink(t, en);
	lru_push(t, en);
}

/* What a ready entry costs against the cap: clip, key and bookkeeping. */
static size_t entry_cost(const struct entry *en, const struct audio_clip *c)
{
	return sizeof(*en) + key_size(&en->key) + sizeof(*c) +
	       c->nsamples * sizeof(c->samples[0]);
}

/* Evict least recently used entries until under the cap. Returns them as a
 * list through hnext, to be freed once the lock is released. */
static struct entry *evict(struct tts *t)
{
	struct entry *out = NULL;
	while (t->bytes > t->max_bytes && t->lru_tail) {
		struct entry *en = t->lru_tail;
		lru_unlink(t, en);
		table_remove(t, en);
		t->bytes -= en->bytes;
		t->count--;
		en->hnext = out;
		out = en;
	}
	return out;
}

/* A new pending entry owned by owner, in the table, with w (may be NULL) as
 * its first waiter and s (may be NULL; a new reference is taken) as the
 * stream it fills. */
static struct entry *pending_add(struct tts *t, const struct key *k,
				 const void *owner, struct waiter *w,
				 struct audio_stream *s)
{
	struct entry *en = calloc(1, sizeof(*en));
	if (!en)
		return NULL;
	if (key_dup(&en->key, k)) {
		free(en);
		return NULL;
	}
	en->owner = owner;
	en->waiters = w;
	en->stream = audio_stream_ref(s);
	struct entry **b = bucket(t, k);
	en->hnext = *b;
	*b = en;
	t->npending++;
	return en;
}

/* --- outside the lock --- */

static void entries_free(struct entry *en)
{
	while (en) {
		/* The analyzer cannot see through the hash table that settle()
		 * finds the caller's pending entry, so it imagines a second
		 * one and a cycle in this list; lists built by evict() and
		 * settle() are acyclic (every entry is unlinked first). */
		struct entry *next =
			en->hnext; // NOLINT(clang-analyzer-unix.Malloc)
		audio_clip_deref(en->clip);
		audio_stream_deref(en->stream);
		free(en->key.buf);
		free(en);
		en = next;
	}
}

static void waiter_deliver(void *arg)
{
	struct waiter *w = arg;
	w->cb(w->err, w->clip, w->arg);
	free(w);
}

/* Post w to its loop from a thread that may wait (worker, presynth or the
 * thread destroying the pool). A full queue is retried for a while; a loop
 * that is gone cannot run the callback anywhere, so the result is dropped. */
static void waiter_post(struct waiter *w)
{
	int err = 0;
	for (int tries = 0; tries < POST_TRIES; tries++) {
		err = loop_post(w->loop, waiter_deliver, w);
		if (!err)
			return;
		if (err == -EINVAL)
			break;
		usleep(1000);
	}
	LOGE(NULL, "tts_result_dropped", "loop=%s err=%d", loop_name(w->loop),
	     err);
	audio_clip_deref(w->clip);
	free(w);
}

/* Hand a result for key k (from owner) to the cache and its waiters:
 * - a pending entry is settled: its waiters get the result; a clip that
 *   fits is cached. An error settles only the owner's own entry, so a
 *   cancelled old job cannot fail a newer round of requests.
 * - a ready entry already has a clip for k: nothing to do.
 * - no entry (the owner's was settled by someone else and evicted): a clip
 *   is cached again.
 * Returns 0, or -ENOSPC when a clip could not be cached (larger than the
 * cap). Takes and releases t->mtx; callbacks are posted after. */
static int settle(struct tts *t, const struct key *k, const void *owner,
		  int err, struct audio_clip *clip)
{
	struct waiter *ws = NULL;
	struct entry *dead = NULL;
	int rc = 0;

	pthread_mutex_lock(&t->mtx);
	struct entry *en = table_find(t, k);
	if (!en && !err) {
		/* Settled below like any pending entry, with no waiters. */
		en = pending_add(t, k, owner, NULL, NULL);
		if (!en)
			rc = -ENOMEM;
	}
	if (en && en->clip) {
		lru_touch(t, en);
	} else if (en && (!err || en->owner == owner)) {
		ws = en->waiters;
		en->waiters = NULL;
		en->owner = NULL;
		/* Requests from now on get the clip, not the stream. */
		audio_stream_deref(en->stream);
		en->stream = NULL;
		t->npending--;
		size_t cost = err ? 0 : entry_cost(en, clip);
		if (!err && cost <= t->max_bytes) {
			en->clip = audio_clip_ref(clip);
			en->bytes = cost;
			lru_push(t, en);
			t->bytes += cost;
			t->count++;
			dead = evict(t);
		} else {
			table_remove(t, en);
			dead = en;
			if (!err)
				rc = -ENOSPC;
		}
	}
	pthread_mutex_unlock(&t->mtx);

	entries_free(dead);
	/* Waiters were queued newest first; answer in request order. */
	struct waiter *ordered = NULL;
	while (ws) {
		struct waiter *next = ws->next;
		ws->next = ordered;
		ordered = ws;
		ws = next;
	}
	while (ordered) {
		struct waiter *w = ordered;
		ordered = w->next;
		w->err = err;
		w->clip = err ? NULL : audio_clip_ref(clip);
		waiter_post(w);
	}
	return rc;
}

static struct metric_histogram *voice_hist(struct tts *t,
					   const struct tts_voice *v)
{
	struct metric_histogram *h = NULL;
	pthread_mutex_lock(&t->mtx);
	for (unsigned i = 0; i < t->nhist; i++) {
		if (t->hist[i].voice == v) {
			h = t->hist[i].h;
			break;
		}
	}
	if (!h && t->nhist < VOICES_MAX) {
		char labels[96];
		snprintf(labels, sizeof(labels), "voice=\"%s\"", v->name);
		/* Buckets from 5 ms (cached-engine speed) to 20 s (a long
		 * prompt on a slow voice). */
		static const double bounds[] = { 0.005, 0.01, 0.025, 0.05,
						 0.1,	0.25, 0.5,   1,
						 2.5,	5,    10,    20 };
		h = metrics_histogram("voxgate_tts_synth_seconds", labels,
				      "Time to synthesize one prompt.", bounds,
				      sizeof(bounds) / sizeof(bounds[0]));
		t->hist[t->nhist].voice = v;
		t->hist[t->nhist].h = h;
		t->nhist++;
	}
	pthread_mutex_unlock(&t->mtx);
	return h;
}

/* --- the disk tier: blocking, on workers and at start-up only --- */

int tts_cache_key_hex(const char *engine, const char *voice, unsigned rate_hz,
		      const char *text, char hex[TTS_KEY_HEX_LEN + 1])
{
	if (!engine || !voice || !text || !hex)
		return -EINVAL;
	char rate[16];
	int n = snprintf(rate, sizeof(rate), "%u", rate_hz);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (!ctx)
		return -ENOMEM;
	/* NUL-separated, so no two keys hash the same bytes. */
	int ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) &&
		 EVP_DigestUpdate(ctx, engine, strlen(engine) + 1) &&
		 EVP_DigestUpdate(ctx, voice, strlen(voice) + 1) &&
		 EVP_DigestUpdate(ctx, rate, (size_t)n + 1) &&
		 EVP_DigestUpdate(ctx, text, strlen(text)) &&
		 EVP_DigestFinal_ex(ctx, md, &mdlen);
	EVP_MD_CTX_free(ctx);
	if (!ok || mdlen * 2 != TTS_KEY_HEX_LEN)
		return -EIO;
	static const char digits[] = "0123456789abcdef";
	for (unsigned i = 0; i < mdlen; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[TTS_KEY_HEX_LEN] = '\0';
	return 0;
}

/* <dir>/<2 hex>/<64 hex>.wav for key k; the directory part ends at
 * *dirlen. */
static int disk_path(const struct tts *t, const struct key *k, char *buf,
		     size_t len, size_t *dirlen)
{
	char hex[TTS_KEY_HEX_LEN + 1];
	int err = tts_cache_key_hex(k->engine, k->voice, AUDIO_RATE_HZ, k->text,
				    hex);
	if (err)
		return err;
	int n = snprintf(buf, len, "%s/%.2s/%s.wav", t->cache_dir, hex, hex);
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	if (dirlen)
		*dirlen = strlen(t->cache_dir) + 3;
	return 0;
}

/* A clip from the disk tier, or an error: -ENOENT (not there), or the
 * file is unusable (corrupt, wrong rate, empty) and will be replaced. */
static int disk_load(struct tts *t, const char *path, struct audio_clip **cp)
{
	char why[128] = "";
	struct audio_clip *c = NULL;
	int err = wav_read(path, &c, why, sizeof(why));
	if (!err && (c->rate_hz != AUDIO_RATE_HZ || c->nsamples == 0)) {
		snprintf(why, sizeof(why), "%u Hz, %zu samples", c->rate_hz,
			 c->nsamples);
		c = audio_clip_deref(c);
		err = -EBADMSG;
	}
	if (err && err != -ENOENT) {
		atomic_fetch_add(&t->st.disk_errors, 1);
		LOGW(NULL, "tts_disk_cache_bad", "path=%s err=%d why=%s",
		     log_esc(path), err, log_esc(why));
	}
	if (!err)
		*cp = c;
	return err;
}

static void disk_store(struct tts *t, const struct key *k,
		       const struct audio_clip *c)
{
	char path[PATH_MAX];
	size_t dirlen = 0;
	int err = disk_path(t, k, path, sizeof(path), &dirlen);
	if (!err) {
		path[dirlen] = '\0';
		if (mkdir(path, 0755) && errno != EEXIST)
			err = -errno;
		path[dirlen] = '/';
	}
	if (!err)
		err = wav_write(path, c);
	if (err) {
		atomic_fetch_add(&t->st.disk_errors, 1);
		LOGW(NULL, "tts_disk_cache_write_failed", "path=%s err=%d",
		     log_esc(path), err);
		return;
	}
	atomic_fetch_add(&t->st.disk_writes, 1);
}

/* Room for a prompt's audio in its stream: generous (5 s plus 0.5 s per
 * byte of text, far slower than any voice speaks, even digits read out),
 * and only the pages written become resident. */
static size_t stream_cap(size_t tlen)
{
	return (size_t)AUDIO_RATE_HZ * 5 + tlen * (AUDIO_RATE_HZ / 2);
}

/* Blocking synthesis into s, timed into the voice's histogram. */
static int synth_timed(struct tts *t, const struct voice_ref *vr,
		       const char *text, struct audio_stream *s)
{
	uint64_t t0 = clock_mono_us();
	struct tts_engine *e = vr->eng;
	int err;
	if ((e->ops->caps & TTS_CAP_STREAM) && e->ops->synth_stream) {
		err = e->ops->synth_stream(e, vr->voice, text, s);
		if (!err && audio_stream_len(s) == 0)
			err = -EIO; /* an engine breaking rule 5 */
	} else {
		struct audio_clip *c = NULL;
		err = tts_engine_synth(e, vr->voice, text, &c);
		if (!err && (!c || c->rate_hz != AUDIO_RATE_HZ))
			err = -EIO; /* an engine breaking rule 5 */
		if (!err)
			err = audio_stream_write(s, c->samples, c->nsamples);
		if (err == -ENOSPC)
			err = -E2BIG;
		audio_clip_deref(c);
	}
	atomic_fetch_add(&t->st.synth, 1);
	if (!err) {
		double sec = (double)(clock_mono_us() - t0) / 1e6;
		metric_histogram_observe(voice_hist(t, vr->voice), sec);
	}
	return err;
}

/* Fill s with the audio of k after a memory miss: from the disk tier when
 * the file is there and sound, else by synthesis. Finishes s. On success
 * *clipp gets the whole clip and *to_disk says whether it still has to be
 * stored (after settling, so waiters are not held up by the write).
 * Blocking: workers and start-up only. */
static int produce(struct tts *t, const struct voice_ref *vr,
		   const struct key *k, struct audio_stream *s,
		   struct audio_clip **clipp, bool *to_disk)
{
	char path[PATH_MAX];
	bool disk = t->cache_dir && !disk_path(t, k, path, sizeof(path), NULL);
	struct audio_clip *c = NULL;
	int err;
	*to_disk = false;
	if (disk && !disk_load(t, path, &c)) {
		atomic_fetch_add(&t->st.disk_hits, 1);
		metric_counter_add(t->disk_hits, 1);
		err = audio_stream_write(s, c->samples, c->nsamples);
		audio_stream_finish(s, err == -ENOSPC ? -E2BIG : err);
		if (err) {
			audio_clip_deref(c);
			return err == -ENOSPC ? -E2BIG : err;
		}
		*clipp = c;
		return 0;
	}
	if (disk) {
		atomic_fetch_add(&t->st.disk_misses, 1);
		metric_counter_add(t->disk_misses, 1);
	}
	err = synth_timed(t, vr, k->text, s);
	audio_stream_finish(s, err);
	if (!err) {
		c = audio_stream_to_clip(s);
		if (!c)
			err = -ENOMEM;
	}
	if (err)
		return err;
	*clipp = c;
	*to_disk = disk;
	return 0;
}

static void job_work(void *arg)
{
	struct job *j = arg;
	j->err = produce(j->t, &j->vr, &j->key, j->stream, &j->clip,
			 &j->to_disk);
}

/* Runs on the worker right after job_work (owner loop NULL), or with
 * -ECANCELED on the thread destroying the pool. */
static void job_done(int err, void *arg)
{
	struct job *j = arg;
	if (err)
		j->err = err;
	/* A cancelled job never ran: its readers must not wait forever. */
	audio_stream_finish(j->stream, j->err);
	(void)settle(j->t, &j->key, j, j->err, j->err ? NULL : j->clip);
	if (!j->err && j->to_disk)
		disk_store(j->t, &j->key, j->clip);
	audio_clip_deref(j->clip);
	audio_stream_deref(j->stream);
	free(j->key.buf);
	free(j);
}

int tts_create(struct tts **tp, struct wpool *pool, const struct tts_cfg *cfg)
{
	if (!tp || !pool)
		return -EINVAL;
	struct tts *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->pool = pool;
	t->max_bytes = cfg ? cfg->cache_max_bytes : TTS_CACHE_DEFAULT_BYTES;
	pthread_mutex_init(&t->mtx, NULL);

	int err = 0;
	if (cfg && cfg->cache_dir && *cfg->cache_dir) {
		size_t n = strlen(cfg->cache_dir);
		while (n > 1 && cfg->cache_dir[n - 1] == '/')
			n--;
		if (n > DIR_MAX)
			err = -ENAMETOOLONG;
		else if (!(t->cache_dir = strndup(cfg->cache_dir, n)))
			err = -ENOMEM;
		else if (mkdir(t->cache_dir, 0755) && errno != EEXIST)
			err = -errno;
		if (err)
			LOGE(NULL, "tts_cache_dir_failed", "dir=%s err=%d",
			     log_esc(cfg->cache_dir), err);
	}
	for (size_t i = 0; i < ENGINES_MAX && !err; i++)
		err = builtin_engines[i]->open(&t->engines[i]);
	if (!err && cfg && cfg->default_voice)
		err = voice_resolve(t, cfg->default_voice, &t->def);
	else if (!err) {
		t->def.eng = t->engines[0];
		t->def.voice = tts_engine_voice_find(t->engines[0], NULL);
		if (!t->def.voice)
			err = -EINVAL;
	}
	if (!err) {
		static const char hits_help[] =
			"TTS requests served from a cache tier (memory: "
			"every request; disk: memory misses).";
		static const char miss_help[] =
			"TTS requests that missed a cache tier (a disk miss "
			"is a synthesis).";
		t->hits = metrics_counter("voxgate_tts_cache_hits_total",
					  "tier=\"memory\"", hits_help);
		t->misses = metrics_counter("voxgate_tts_cache_misses_total",
					    "tier=\"memory\"", miss_help);
		t->disk_hits = metrics_counter("voxgate_tts_cache_hits_total",
					       "tier=\"disk\"", hits_help);
		t->disk_misses =
			metrics_counter("voxgate_tts_cache_misses_total",
					"tier=\"disk\"", miss_help);
	}
	if (err) {
		tts_destroy(t);
		return err;
	}
	*tp = t;
	return 0;
}

void tts_destroy(struct tts *t)
{
	if (!t)
		return;
	/* A pending entry means a job or presynth call still points at t:
	 * a caller bug, its waiters can never be answered. */
	if (t->npending)
		LOGE(NULL, "tts_destroy_pending", "entries=%zu", t->npending);
	assert(t->npending == 0);
	struct entry *all = NULL;
	for (size_t i = 0; i < BUCKETS; i++) {
		struct entry *en = t->buckets[i];
		while (en) {
			struct entry *next = en->hnext;
			while (en->waiters) {
				struct waiter *w = en->waiters;
				en->waiters = w->next;
				free(w);
			}
			en->hnext = all;
			all = en;
			en = next;
		}
	}
	entries_free(all);
	for (size_t i = ENGINES_MAX; i-- > 0;) {
		if (t->engines[i])
			t->engines[i]->ops->close(t->engines[i]);
	}
	pthread_mutex_destroy(&t->mtx);
	free(t->cache_dir);
	free(t);
}

struct audio_clip *tts_cache_find(struct tts *t, const char *voice,
				  const char *text)
{
	struct voice_ref vr;
	struct key k;
	if (!t || request_key(t, voice, text, &vr, &k))
		return NULL;
	struct audio_clip *c = NULL;
	pthread_mutex_lock(&t->mtx);
	struct entry *en = table_find(t, &k);
	if (en && en->clip) {
		lru_touch(t, en);
		c = audio_clip_ref(en->clip);
	}
	pthread_mutex_unlock(&t->mtx);
	if (c)
		metric_counter_add(t->hits, 1);
	return c;
}

int tts_synth(struct tts *t, const char *voice, const char *text,
	      struct vg_loop *loop, tts_done_fn *cb, void *arg)
{
	if (!t || !loop || !cb)
		return -EINVAL;
	struct voice_ref vr;
	struct key k;
	int err = request_key(t, voice, text, &vr, &k);
	if (err)
		return err;
	struct waiter *w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->loop = loop;
	w->cb = cb;
	w->arg = arg;

	pthread_mutex_lock(&t->mtx);
	struct entry *en = table_find(t, &k);
	if (en && en->clip) {
		lru_touch(t, en);
		w->clip = audio_clip_ref(en->clip);
		pthread_mutex_unlock(&t->mtx);
		/* Posted even though we have the clip: the caller may not be
		 * ready for its callback before tts_synth() returns. */
		err = loop_post(loop, waiter_deliver, w);
		if (err) {
			audio_clip_deref(w->clip);
			free(w);
			return err;
		}
		metric_counter_add(t->hits, 1);
		return 0;
	}
	if (en) {
		w->next = en->waiters;
		en->waiters = w;
		pthread_mutex_unlock(&t->mtx);
		metric_counter_add(t->misses, 1);
		return 0;
	}

	struct job *j = calloc(1, sizeof(*j));
	if (!j || key_dup(&j->key, &k)) {
		pthread_mutex_unlock(&t->mtx);
		free(j);
		free(w);
		return -ENOMEM;
	}
	j->t = t;
	j->vr = vr;
	err = audio_stream_alloc(&j->stream, stream_cap(k.tlen), AUDIO_RATE_HZ);
	en = err ? NULL : pending_add(t, &k, j, w, j->stream);
	if (en) {
		/* Submitted under the lock, so no request can queue on an
		 * entry whose job the pool then refuses. wpool_submit() never
		 * blocks and never calls back on failure. */
		err = wpool_submit(t->pool, NULL, job_work, job_done, j);
		if (err) {
			table_remove(t, en);
			t->npending--;
		}
	} else {
		err = -ENOMEM;
	}
	pthread_mutex_unlock(&t->mtx);
	if (err) {
		if (en) {
			en->waiters = NULL;
			entries_free(en);
		}
		audio_stream_deref(j->stream);
		free(j->key.buf);
		free(j);
		free(w);
		return err;
	}
	metric_counter_add(t->misses, 1);
	return 0;
}

int tts_synth_stream(struct tts *t, const char *voice, const char *text,
		     struct audio_stream **sp)
{
	if (!t || !sp)
		return -EINVAL;
	struct voice_ref vr;
	struct key k;
	int err = request_key(t, voice, text, &vr, &k);
	if (err)
		return err;

	pthread_mutex_lock(&t->mtx);
	struct entry *en = table_find(t, &k);
	if (en && en->clip) {
		lru_touch(t, en);
		struct audio_clip *c = audio_clip_ref(en->clip);
		pthread_mutex_unlock(&t->mtx);
		err = audio_stream_from_clip(sp, c);
		audio_clip_deref(c);
		if (!err)
			metric_counter_add(t->hits, 1);
		return err;
	}
	if (en && en->stream) {
		*sp = audio_stream_ref(en->stream);
		pthread_mutex_unlock(&t->mtx);
		metric_counter_add(t->misses, 1);
		return 0;
	}
	/* Pending without a stream cannot happen (every owner makes one),
	 * but would only cost a second synthesis: settle() keeps the first
	 * clip. */
	struct job *j = calloc(1, sizeof(*j));
	if (!j || key_dup(&j->key, &k)) {
		pthread_mutex_unlock(&t->mtx);
		free(j);
		return -ENOMEM;
	}
	j->t = t;
	j->vr = vr;
	err = audio_stream_alloc(&j->stream, stream_cap(k.tlen), AUDIO_RATE_HZ);
	struct entry *mine = NULL;
	if (!err && !en) {
		mine = pending_add(t, &k, j, NULL, j->stream);
		if (!mine)
			err = -ENOMEM;
	}
	if (!err) {
		/* Under the lock, as in tts_synth(). */
		err = wpool_submit(t->pool, NULL, job_work, job_done, j);
		if (err && mine) {
			table_remove(t, mine);
			t->npending--;
		}
	}
	struct audio_stream *s = err ? NULL : audio_stream_ref(j->stream);
	pthread_mutex_unlock(&t->mtx);
	if (err) {
		entries_free(mine);
		audio_stream_deref(j->stream);
		free(j->key.buf);
		free(j);
		return err;
	}
	metric_counter_add(t->misses, 1);
	*sp = s;
	return 0;
}

int tts_presynth(struct tts *t, const char *voice, const char *text)
{
	if (!t)
		return -EINVAL;
	struct voice_ref vr;
	struct key k;
	int err = request_key(t, voice, text, &vr, &k);
	if (err)
		return err;
	/* Our address marks the pending entry we start, so that requests
	 * arriving meanwhile wait for this synthesis. */
	const void *self = &k;

	pthread_mutex_lock(&t->mtx);
	struct entry *en = table_find(t, &k);
	if (en && en->clip) {
		lru_touch(t, en);
		pthread_mutex_unlock(&t->mtx);
		return 0;
	}
	/* Already pending elsewhere: synthesize anyway, so the clip is
	 * cached when we return; our result settles that entry early. */
	struct audio_stream *s = NULL;
	err = audio_stream_alloc(&s, stream_cap(k.tlen), AUDIO_RATE_HZ);
	if (!err && !en)
		en = pending_add(t, &k, self, NULL, s);
	pthread_mutex_unlock(&t->mtx);
	if (!err && !en)
		err = -ENOMEM;
	if (err) {
		audio_stream_deref(s);
		return err;
	}

	struct audio_clip *clip = NULL;
	bool to_disk = false;
	err = produce(t, &vr, &k, s, &clip, &to_disk);
	int rc = settle(t, &k, self, err, clip);
	if (!err && to_disk)
		disk_store(t, &k, clip);
	audio_clip_deref(clip);
	audio_stream_deref(s);
	return err ? err : rc;
}

int tts_cache_path(struct tts *t, const char *voice, const char *text,
		   char *buf, size_t len)
{
	if (!t || !buf)
		return -EINVAL;
	if (!t->cache_dir)
		return -ENOENT;
	struct voice_ref vr;
	struct key k;
	int err = request_key(t, voice, text, &vr, &k);
	return err ? err : disk_path(t, &k, buf, len, NULL);
}

void tts_stats_get(struct tts *t, struct tts_stats *st)
{
	if (!st)
		return;
	*st = (struct tts_stats){ 0 };
	if (!t)
		return;
	st->synth = atomic_load(&t->st.synth);
	st->disk_hits = atomic_load(&t->st.disk_hits);
	st->disk_misses = atomic_load(&t->st.disk_misses);
	st->disk_writes = atomic_load(&t->st.disk_writes);
	st->disk_errors = atomic_load(&t->st.disk_errors);
}

const char *tts_voice_name(struct tts *t, const char *voice,
			   const char **engine)
{
	struct voice_ref vr;
	if (!t || voice_resolve(t, voice, &vr))
		return NULL;
	if (engine)
		*engine = vr.eng->ops->name;
	return vr.voice->name;
}

size_t tts_cache_bytes(struct tts *t)
{
	if (!t)
		return 0;
	pthread_mutex_lock(&t->mtx);
	size_t n = t->bytes;
	pthread_mutex_unlock(&t->mtx);
	return n;
}

size_t tts_cache_count(struct tts *t)
{
	if (!t)
		return 0;
	pthread_mutex_lock(&t->mtx);
	size_t n = t->count;
	pthread_mutex_unlock(&t->mtx);
	return n;
}

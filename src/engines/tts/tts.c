/* The prompt service (see tts.h): an LRU cache of synthesized clips keyed by
 * (engine, voice, text), misses synthesized on the worker pool, concurrent
 * misses for one key coalesced into one synthesis. */
#include "engines/tts/tts.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audio/clip.h"
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
	size_t bytes;
};

struct voice_ref {
	struct tts_engine *eng;
	const struct tts_voice *voice;
};

struct tts {
	struct wpool *pool;
	size_t max_bytes;
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

	struct metric_counter *hits, *misses;
};

/* One synthesis on the pool. Owns a copy of its key: the entry it was
 * started for may be settled and evicted by tts_presynth() meanwhile. */
struct job {
	struct tts *t;
	struct voice_ref vr;
	struct key key;
	int err;
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
 * three strings, NUL-separated, and their 64-bit FNV-1a hash. The on-disk
 * cache (next issue) must derive its file names here too. The text is used
 * as given: "Hello" and "Hello " are different prompts. */
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
	if (t->lru_head)
		t->lru_head->prev = en;
	t->lru_head = en;
	if (!t->lru_tail)
		t->lru_tail = en;
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
 * its first waiter. */
static struct entry *pending_add(struct tts *t, const struct key *k,
				 const void *owner, struct waiter *w)
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
		struct entry *next = en->hnext;
		audio_clip_deref(en->clip);
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
		en = pending_add(t, k, owner, NULL);
		if (!en)
			rc = -ENOMEM;
	}
	if (en && en->clip) {
		lru_touch(t, en);
	} else if (en && (!err || en->owner == owner)) {
		ws = en->waiters;
		en->waiters = NULL;
		en->owner = NULL;
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

/* Blocking synthesis, timed into the voice's histogram. */
static int synth_timed(struct tts *t, const struct voice_ref *vr,
		       const char *text, struct audio_clip **clipp)
{
	uint64_t t0 = clock_mono_us();
	int err = tts_engine_synth(vr->eng, vr->voice, text, clipp);
	if (!err && !*clipp)
		err = -EIO; /* an engine breaking rule 5; never cache NULL */
	if (!err) {
		double s = (double)(clock_mono_us() - t0) / 1e6;
		metric_histogram_observe(voice_hist(t, vr->voice), s);
	}
	return err;
}

static void job_work(void *arg)
{
	struct job *j = arg;
	j->err = synth_timed(j->t, &j->vr, j->key.text, &j->clip);
}

/* Runs on the worker right after job_work (owner loop NULL), or with
 * -ECANCELED on the thread destroying the pool. */
static void job_done(int err, void *arg)
{
	struct job *j = arg;
	if (err)
		j->err = err;
	(void)settle(j->t, &j->key, j, j->err, j->err ? NULL : j->clip);
	audio_clip_deref(j->clip);
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
		t->hits =
			metrics_counter("voxgate_tts_cache_hits_total", NULL,
					"TTS requests served from the cache.");
		t->misses = metrics_counter(
			"voxgate_tts_cache_misses_total", NULL,
			"TTS requests that waited for synthesis.");
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
	en = pending_add(t, &k, j, w);
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
		free(j->key.buf);
		free(j);
		free(w);
		return err;
	}
	metric_counter_add(t->misses, 1);
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
	if (!en)
		en = pending_add(t, &k, self, NULL);
	pthread_mutex_unlock(&t->mtx);
	if (!en)
		return -ENOMEM;

	struct audio_clip *clip = NULL;
	err = synth_timed(t, &vr, text, &clip);
	int rc = settle(t, &k, self, err, clip);
	audio_clip_deref(clip);
	return err ? err : rc;
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

/* The recognition service (see stt.h): a registry of opened engines, a
 * per-request fallback chain run on the worker pool, results delivered on
 * the requesting loop, and the STT metrics. */
#include "engines/stt/stt.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audio/clip.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/wpool.h"
#include "metrics/metrics.h"

enum {
	DEFAULT_DEADLINE_MS = 2000,
	NAMES_MAX = STT_ENGINES_MAX * 32, /* "a,b,c,d" */
	CALL_ID_MAX = 63,
};

/* How far an open engine's transcript may be from a grammar phrase and
 * still be snapped to it: about one word in three. */
#define SNAP_MAX_DIST_RATIO 0.34

/* Result labels of voxgate_stt_requests_total. */
enum outcome { OUT_OK, OUT_EMPTY, OUT_ERROR, OUT_N };
static const char *const outcome_names[OUT_N] = { "ok", "empty", "error" };

/* Outcomes of emulated partial decodes (voxgate_stt_partial_decodes_total):
 * run on the worker pool; due but not run (live work waited, the cap of
 * partial decodes at once, a full queue); run but the utterance had ended
 * (or was cancelled) when the result came: wasted. */
enum pd_outcome { PD_DECODED, PD_SKIPPED, PD_LATE, PD_N };
static const char *const pd_names[PD_N] = { "decoded", "skipped", "late" };

struct stt {
	struct wpool *pool;
	size_t n;
	struct stt_engine *eng[STT_ENGINES_MAX];
	unsigned deadline_ms;
	char names[NAMES_MAX];

	struct metric_counter *requests[STT_ENGINES_MAX][OUT_N];
	struct metric_histogram *decode_s[STT_ENGINES_MAX];
	struct metric_counter *fallback[STT_ENGINES_MAX][STT_ENGINES_MAX];
	struct metric_counter *degraded[STT_ENGINES_MAX];
	struct metric_counter *audio_s, *rejected;
	struct metric_counter *partials; /* streams' partial hypotheses */
	struct metric_counter *early[STT_EARLY_N];
	struct metric_counter *pdecodes[PD_N];
	unsigned early_ms;
	unsigned partial_every_ms; /* emulated partials; 0: off */
	/* Emulated partial decodes waiting in the worker queue (a worker
	 * skips them when live work waits behind: they delay no one), and
	 * those queued or running (at most partial_max at once). */
	atomic_size_t partial_waiting;
	atomic_uint partial_inflight;
	unsigned partial_max;
	/* Recognition jobs (requests, stream jobs) running on a worker: a
	 * partial decode beside one would slow it down (the CPU is shared). */
	atomic_uint live_running;
	/* Requests cancelled while they wait in the worker queue: a worker
	 * takes them without decoding, so they delay no one
	 * (stt_early_allowed). */
	atomic_size_t queued_void;
	/* Milliseconds of audio seen, so the whole-seconds counter loses no
	 * fraction across requests. */
	atomic_uint_fast64_t audio_ms;
};

/* The engines of one request, as indices into stt.eng, in order. */
struct chain {
	size_t n;
	unsigned char idx[STT_ENGINES_MAX];
};

/* One asynchronous request. Owned by the pool job from submission until its
 * done callback (on the caller's loop) frees it; stt_cancel() only sets
 * cancelled, so a cancelled request is freed by that same callback. */
/* What both kinds of asynchronous request (stt_recognize() and the
 * streams) hold of their stt_params: references on the grammars, not
 * borrows, since after a cancel the caller may drop both while the engine
 * still works. req_base_init() / req_base_fini(). */
struct req_base {
	struct stt *s;
	struct stt_grammar *grammar; /* a reference, or NULL */
	struct stt_grammar *lm;	     /* a reference, or NULL */
	enum stt_mode mode;
	struct chain chain;
	unsigned deadline_ms;
	char call_id[CALL_ID_MAX + 1];
};

struct stt_req {
	struct req_base b;
	struct audio_clip *clip; /* a reference */
	stt_done_fn *cb;
	void *arg;
	atomic_bool cancelled; /* set on the loop, read by the worker too */
	uint64_t submit_us;    /* when it was queued (queued_ms) */
	int err;
	struct stt_result res;
	/* enum req_queue, for stt_early_allowed() (0 from calloc: waiting) */
	atomic_int queue_state;
};

/* ---- built-in engines ---- */

/* Strong references on purpose: a weak one would not pull the engine's
 * object out of the static library, and the engine would silently vanish.
 * An engine whose library or model is missing says so at open() instead. */

static const struct stt_engine_ops *const builtin_engines[] = {
	&stt_moonshine_ops,
	&stt_pocketsphinx_ops,
};

enum {
	BUILTIN_N = sizeof(builtin_engines) / sizeof(builtin_engines[0]),
};

const struct stt_engine_ops *stt_engine_ops_find(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < BUILTIN_N; i++) {
		if (builtin_engines[i] &&
		    !strcmp(builtin_engines[i]->name, name))
			return builtin_engines[i];
	}
	return NULL;
}

/* ---- names ---- */

/* Split a comma-separated list (spaces around names ignored). Calls fn for
 * each non-empty name; stops at the first non-zero return. */
typedef int(name_fn)(const char *name, size_t len, void *arg);

static int names_each(const char *list, name_fn *fn, void *arg)
{
	const char *p = list;
	while (*p) {
		p += strspn(p, " \t,");
		size_t len = strcspn(p, ",");
		size_t trimmed = len;
		while (trimmed &&
		       (p[trimmed - 1] == ' ' || p[trimmed - 1] == '\t'))
			trimmed--;
		if (trimmed) {
			int err = fn(p, trimmed, arg);
			if (err)
				return err;
		}
		p += len;
	}
	return 0;
}

static bool name_is(const char *name, const char *s, size_t len)
{
	return strlen(name) == len && !memcmp(name, s, len);
}

/* ---- metrics ---- */

static void metrics_register(struct stt *s)
{
	char labels[160];
	for (size_t i = 0; i < s->n; i++) {
		const char *en = s->eng[i]->ops->name;
		for (int o = 0; o < OUT_N; o++) {
			snprintf(labels, sizeof(labels),
				 "engine=\"%s\",result=\"%s\"", en,
				 outcome_names[o]);
			s->requests[i][o] = metrics_counter(
				"voxgate_stt_requests_total", labels,
				"STT decode attempts by engine and result");
		}
		snprintf(labels, sizeof(labels), "engine=\"%s\"", en);
		s->decode_s[i] = metrics_histogram(
			"voxgate_stt_decode_seconds", labels,
			"Wall time of one STT decode", NULL, 0);
		s->degraded[i] = metrics_counter(
			"voxgate_stt_degraded_total", labels,
			"STT decodes run in the engine's fast, less accurate "
			"mode because the request waited in the worker queue");
		for (size_t j = 0; j < s->n; j++) {
			if (i == j)
				continue;
			snprintf(labels, sizeof(labels),
				 "from=\"%s\",to=\"%s\"", en,
				 s->eng[j]->ops->name);
			s->fallback[i][j] = metrics_counter(
				"voxgate_stt_fallback_total", labels,
				"Switches to the next engine of an STT chain");
		}
	}
	s->audio_s = metrics_counter("voxgate_stt_audio_seconds_total", NULL,
				     "Seconds of audio submitted to STT");
	s->rejected = metrics_counter(
		"voxgate_stt_rejected_total", NULL,
		"STT requests refused because the worker queue was full");
	static const char *const early_names[STT_EARLY_N] = { "used",
							      "discarded",
							      "skipped" };
	for (int o = 0; o < STT_EARLY_N; o++) {
		snprintf(labels, sizeof(labels), "outcome=\"%s\"",
			 early_names[o]);
		s->early[o] = metrics_counter(
			"voxgate_stt_early_total", labels,
			"Early decodes (started in a pause) by outcome");
	}
	for (int o = 0; o < PD_N; o++) {
		snprintf(labels, sizeof(labels), "outcome=\"%s\"", pd_names[o]);
		s->pdecodes[o] = metrics_counter(
			"voxgate_stt_partial_decodes_total", labels,
			"Re-decodes of the audio so far for the partials of an "
			"engine that cannot stream, by outcome");
	}
}

static void count_audio(struct stt *s, size_t nsamples)
{
	uint64_t ms = (uint64_t)nsamples * 1000u / AUDIO_RATE_HZ;
	uint64_t before = atomic_fetch_add(&s->audio_ms, ms);
	uint64_t whole = (before + ms) / 1000u - before / 1000u;
	if (whole)
		metric_counter_add(s->audio_s, whole);
}

/* ---- opening ---- */

struct open_ctx {
	struct stt *s;
	const struct stt_engine_ops *const *ops;
	size_t nops;
	const struct stt_cfg *cfg;
	size_t pos; /* index of the name in cfg->engines (engine_cfg) */
};

static int open_one(struct open_ctx *c, const struct stt_engine_ops *ops)
{
	struct stt *s = c->s;
	size_t pos = c->pos++;
	for (size_t i = 0; i < s->n; i++) {
		if (s->eng[i]->ops == ops)
			return 0; /* listed twice */
	}
	if (pos >= STT_ENGINES_MAX || s->n >= STT_ENGINES_MAX)
		return -EINVAL;
	const struct stt_engine_cfg *ecfg =
		c->cfg ? &c->cfg->engine_cfg[pos] : NULL;
	static const struct stt_engine_cfg none;
	struct stt_engine *e = NULL;
	int err = ops->open(&e, ecfg ? ecfg : &none);
	if (err) {
		LOGW(NULL, "stt_engine_unavailable", "engine=%s err=%d why=%s",
		     ops->name, err,
		     log_esc(err == -ENOENT ? "not installed"
					    : strerror(-err)));
		return 0;
	}
	if (!e->ops)
		e->ops = ops;
	s->eng[s->n++] = e;
	LOGI(NULL, "stt_engine_open", "engine=%s caps=%u", ops->name,
	     ops->caps);
	return 0;
}

static int open_named(const char *name, size_t len, void *arg)
{
	struct open_ctx *c = arg;
	for (size_t i = 0; i < c->nops; i++) {
		if (c->ops[i] && name_is(c->ops[i]->name, name, len))
			return open_one(c, c->ops[i]);
	}
	LOGE(NULL, "stt_engine_unknown", "engine=%.*s", (int)len, name);
	return -EINVAL;
}

static void names_build(struct stt *s)
{
	size_t off = 0;
	s->names[0] = '\0';
	for (size_t i = 0; i < s->n; i++) {
		int w = snprintf(s->names + off, sizeof(s->names) - off, "%s%s",
				 i ? "," : "", s->eng[i]->ops->name);
		if (w < 0 || (size_t)w >= sizeof(s->names) - off)
			break;
		off += (size_t)w;
	}
}

int stt_create_with_ops(struct stt **sp, struct wpool *pool,
			const struct stt_engine_ops *const *ops, size_t nops,
			const struct stt_cfg *cfg)
{
	if (!sp || !ops)
		return -EINVAL;
	struct stt *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->pool = pool;
	s->deadline_ms = cfg && cfg->deadline_ms ? cfg->deadline_ms
						 : DEFAULT_DEADLINE_MS;
	s->early_ms = cfg ? cfg->early_ms : 0;
	s->partial_every_ms = cfg ? cfg->partial_every_ms : 0;
	if (pool) { /* one worker stays free for finals */
		unsigned t = wpool_threads(pool);
		s->partial_max = t > 1 ? t - 1 : 1;
	}
	struct open_ctx c = { .s = s, .ops = ops, .nops = nops, .cfg = cfg };
	int err = 0;
	if (cfg && cfg->engines) {
		err = names_each(cfg->engines, open_named, &c);
	} else {
		for (size_t i = 0; i < nops && !err; i++) {
			if (ops[i])
				err = open_one(&c, ops[i]);
		}
	}
	if (!err && s->n == 0)
		err = -ENOENT;
	if (err) {
		stt_destroy(s);
		return err;
	}
	names_build(s);
	metrics_register(s);
	s->partials = metrics_counter("voxgate_stt_partials_total", NULL,
				      "Partial STT hypotheses delivered");
	*sp = s;
	return 0;
}

int stt_create(struct stt **sp, struct wpool *pool, const struct stt_cfg *cfg)
{
	return stt_create_with_ops(sp, pool, builtin_engines, BUILTIN_N, cfg);
}

void stt_destroy(struct stt *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++) {
		if (s->eng[i]->ops->close)
			s->eng[i]->ops->close(s->eng[i]);
	}
	free(s);
}

struct stt_engine *stt_engine_find(struct stt *s, const char *name)
{
	if (!s || !name)
		return NULL;
	for (size_t i = 0; i < s->n; i++) {
		if (!strcmp(s->eng[i]->ops->name, name))
			return s->eng[i];
	}
	return NULL;
}

const char *stt_engines(const struct stt *s)
{
	return s ? s->names : "";
}

static unsigned mode_cap(enum stt_mode mode)
{
	switch (mode) {
	case STT_MODE_OPEN:
		return STT_CAP_OPEN;
	case STT_MODE_GRAMMAR:
		return STT_CAP_GRAMMAR;
	case STT_MODE_LM:
		return STT_CAP_LM;
	}
	return 0;
}

int stt_prepare(struct stt *s, const struct stt_grammar *g)
{
	if (!s || !g)
		return -EINVAL;
	unsigned cap = mode_cap(stt_grammar_mode(g));
	int first = 0;
	for (size_t i = 0; i < s->n; i++) {
		struct stt_engine *e = s->eng[i];
		if (!e->ops->prepare || !(e->ops->caps & cap))
			continue;
		int err = e->ops->prepare(e, g);
		if (err) {
			LOGW(NULL, "stt_prepare_failed", "engine=%s err=%d",
			     e->ops->name, err);
			if (!first)
				first = err;
		}
	}
	return first;
}

/* ---- early decodes ---- */

unsigned stt_early_ms(const struct stt *s)
{
	return s ? s->early_ms : 0;
}

/* Where a stt_recognize() request is, for stt_early_allowed(): waiting in
 * the worker queue, waiting there cancelled (counted in stt.queued_void),
 * or taken by a worker (or dropped by a stopping pool). */
enum req_queue { REQ_WAITING, REQ_VOID, REQ_TAKEN };

/* On the loop, from stt_cancel(): a request still waiting becomes void.
 * Counted first, so the worker's req_taken() never sees it uncounted. */
static void req_void(struct stt_req *r)
{
	struct stt *s = r->b.s;
	int st = REQ_WAITING;
	atomic_fetch_add(&s->queued_void, 1);
	if (!atomic_compare_exchange_strong(&r->queue_state, &st, REQ_VOID))
		atomic_fetch_sub(&s->queued_void, 1);
}

/* The request left the queue: on the worker that took it, or in req_done()
 * when the pool stopped first. */
static void req_taken(struct stt_req *r)
{
	if (atomic_exchange(&r->queue_state, REQ_TAKEN) == REQ_VOID)
		atomic_fetch_sub(&r->b.s->queued_void, 1);
}

/* A job that a worker will run waits in the queue: not a cancelled
 * request (the queue may hold early decodes voided by later speech, which
 * cost the worker nothing) nor an emulated partial decode (which a worker
 * skips when live work waits). */
static bool live_waiting(const struct stt *s)
{
	return wpool_depth(s->pool) >
	       atomic_load(&s->queued_void) + atomic_load(&s->partial_waiting);
}

/* A live job of anyone's, early decodes included, keeps new early decodes
 * out. */
bool stt_early_allowed(const struct stt *s)
{
	return s && s->early_ms && s->pool && !live_waiting(s);
}

void stt_early_note(struct stt *s, enum stt_early_outcome o)
{
	if (s && o >= 0 && o < STT_EARLY_N)
		metric_counter_add(s->early[o], 1);
}

/* ---- chains ---- */

/* An engine serves mode natively, or (an open-vocabulary engine) a GRAMMAR
 * step by snapping its transcript and an LM step by decoding open. */
/* lm: an OPEN step that carries a domain LM, which LM-capable engines
 * decode with (chain_run). */
static bool can_serve(const struct stt_engine *e, enum stt_mode mode, bool lm)
{
	if (lm && mode == STT_MODE_OPEN && (e->ops->caps & STT_CAP_LM))
		return true;
	return (e->ops->caps & mode_cap(mode)) || (e->ops->caps & STT_CAP_OPEN);
}

static bool native(const struct stt_engine *e, enum stt_mode mode)
{
	return e->ops->caps & mode_cap(mode);
}

static void chain_add(const struct stt *s, struct chain *c, size_t i,
		      enum stt_mode mode, bool lm)
{
	if (!can_serve(s->eng[i], mode, lm))
		return;
	for (size_t k = 0; k < c->n; k++) {
		if (c->idx[k] == i)
			return;
	}
	if (c->n < STT_ENGINES_MAX)
		c->idx[c->n++] = (unsigned char)i;
}

struct chain_ctx {
	const struct stt *s;
	struct chain *c;
	enum stt_mode mode;
	bool lm;
};

/* Names of engines that are not open (not installed) are skipped: a step
 * written for a full install still runs on a smaller one. */
static int chain_named(const char *name, size_t len, void *arg)
{
	struct chain_ctx *x = arg;
	for (size_t i = 0; i < x->s->n; i++) {
		if (name_is(x->s->eng[i]->ops->name, name, len))
			chain_add(x->s, x->c, i, x->mode, x->lm);
	}
	return 0;
}

/* The default chain keeps the service order but puts engines that do the
 * mode natively first: a grammar step is best served by a grammar decoder,
 * with snapping as the fallback. */
static int chain_build(const struct stt *s, const char *engines,
		       enum stt_mode mode, bool lm, struct chain *c)
{
	c->n = 0;
	if (engines) {
		struct chain_ctx x = { .s = s, .c = c, .mode = mode, .lm = lm };
		names_each(engines, chain_named, &x);
	} else {
		for (size_t i = 0; i < s->n; i++) {
			if (native(s->eng[i], mode))
				chain_add(s, c, i, mode, lm);
		}
		for (size_t i = 0; i < s->n; i++)
			chain_add(s, c, i, mode, lm);
	}
	return c->n ? 0 : -ENOTSUP;
}

/* ---- snapping an open transcript to a grammar's classes ---- */

static bool word_in(const char *w, size_t len, const char *const *set)
{
	for (; *set; set++) {
		if (name_is(*set, w, len))
			return true;
	}
	return false;
}

static const char *const digit_words[] = {
	"zero", "oh",  "one",	"two",	 "three", "four",
	"five", "six", "seven", "eight", "nine",  NULL,
};

static const char *const number_words[] = {
	"ten",	   "eleven",	"twelve",   "thirteen", "fourteen", "fifteen",
	"sixteen", "seventeen", "eighteen", "nineteen", "twenty",   "thirty",
	"forty",   "fifty",	"sixty",    "seventy",	"eighty",   "ninety",
	"hundred", "thousand",	"and",	    NULL,
};

static const char *const yesno_words[] = {
	"yes",	 "yeah",   "yep",    "no",    "nope", "correct", "right",
	"sure",	 "okay",   "ok",     "that",  "is",   "it",	 "not",
	"wrong", "please", "thanks", "thank", "you",  NULL,
};

static bool all_digits(const char *w, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (w[i] < '0' || w[i] > '9')
			return false;
	}
	return len > 0;
}

/* Whether every word of text belongs to one of the grammar's classes: an
 * open engine's "four one one" or "411" answers a DIGITS step as is. */
static bool class_accepts(unsigned classes, const char *text)
{
	bool digits = classes & (STT_CLASS_DIGITS | STT_CLASS_NUMBER);
	bool number = classes & STT_CLASS_NUMBER;
	bool yesno = classes & STT_CLASS_YESNO;
	size_t words = 0, yn = 0;
	const char *p = text;
	while (*p) {
		p += strspn(p, " ");
		size_t len = strcspn(p, " ");
		if (!len)
			break;
		words++;
		bool ok = false;
		if (digits &&
		    (all_digits(p, len) || word_in(p, len, digit_words)))
			ok = true;
		else if (number && word_in(p, len, number_words))
			ok = true;
		else if (yesno && word_in(p, len, yesno_words)) {
			ok = true;
			yn++;
		}
		if (!ok)
			return false;
		p += len;
	}
	/* A yes/no answer is short; a digit string may be long. */
	return words > 0 && yn <= 4;
}

static void snap_result(const struct stt_grammar *g, struct stt_result *r)
{
	double conf = 0;
	const char *phrase =
		g ? stt_grammar_snap(g, r->text, SNAP_MAX_DIST_RATIO, &conf)
		  : NULL;
	if (phrase) {
		snprintf(r->text, sizeof(r->text), "%s", phrase);
		r->grammar_phrase = phrase;
		r->confidence = (float)(r->confidence * conf);
		return;
	}
	r->grammar_phrase = NULL;
	if (g && class_accepts(stt_grammar_classes(g), r->text))
		return;
	r->text[0] = '\0'; /* out of grammar: a no-match */
}

/* ---- running a chain ---- */

struct job_in {
	enum stt_mode mode;
	const struct stt_grammar *grammar;
	const struct stt_grammar *lm; /* OPEN steps: domain LM, or NULL */
	const char *call_id;
	unsigned deadline_ms;
	uint32_t queued_ms; /* wait in the worker queue (stt_request) */
};

/* What engine e is asked for a step of in: the step's mode when e does it
 * natively (returns true), else open speech. */
static bool request_for(const struct stt_engine *e, const struct job_in *in,
			struct stt_request *req)
{
	bool nat = native(e, in->mode);
	*req = (struct stt_request){
		.mode = nat ? in->mode : STT_MODE_OPEN,
		.grammar = nat ? in->grammar : NULL,
		.call_id = in->call_id,
		.snap = !nat && in->mode == STT_MODE_GRAMMAR,
		.queued_ms = in->queued_ms,
	};
	/* An open step with a domain LM: an engine that can decode on an LM
	 * (PocketSphinx, whose generic LM is poor on phone audio) uses the
	 * step's LM; open-vocabulary engines decode open. */
	if (in->mode == STT_MODE_OPEN && in->lm &&
	    (e->ops->caps & STT_CAP_LM)) {
		req->mode = STT_MODE_LM;
		req->grammar = in->lm;
	}
	return nat;
}

/* The first engine's attempt when it was made elsewhere (a stream). */
struct attempt {
	int err;
	struct stt_result res;
	uint64_t dt_us;
};

/* Decode pcm with each engine of c in turn until one succeeds in time;
 * first (may be NULL): the first engine's result, already there.
 * Blocking: a worker thread or a CLI. */
static int chain_run_first(struct stt *s, const struct chain *c,
			   const struct job_in *in, const int16_t *pcm,
			   size_t n, struct stt_result *res,
			   const struct attempt *first)
{
	int err = -ENOTSUP;
	uint64_t deadline_us = (uint64_t)in->deadline_ms * 1000u;
	bool have_empty = false;
	struct stt_result empty;
	for (size_t k = 0; k < c->n; k++) {
		size_t i = c->idx[k];
		struct stt_engine *e = s->eng[i];
		struct stt_request req;
		bool nat = request_for(e, in, &req);
		struct stt_result r;
		memset(&r, 0, sizeof(r));
		uint64_t dt;
		if (k == 0 && first) {
			err = first->err;
			if (!err)
				r = first->res;
			dt = first->dt_us;
		} else {
			uint64_t t0 = clock_mono_us();
			err = stt_engine_decode(e, &req, pcm, n, &r);
			dt = clock_mono_us() - t0;
		}
		metric_histogram_observe(s->decode_s[i], (double)dt / 1e6);
		/* A decode cannot be interrupted; a late result is treated as
		 * a failure so a hung or overloaded engine does not hold the
		 * caller, and the next engine gets the same audio. */
		if (!err && deadline_us && dt > deadline_us)
			err = -ETIMEDOUT;
		if (!err) {
			r.text[STT_TEXT_MAX] = '\0';
			r.engine = e->ops->name;
			r.decode_us =
				dt > UINT32_MAX ? UINT32_MAX : (uint32_t)dt;
			r.audio_ms = (uint32_t)(n * 1000u / AUDIO_RATE_HZ);
			if (r.degraded)
				metric_counter_add(s->degraded[i], 1);
			if (in->mode != STT_MODE_GRAMMAR)
				r.grammar_phrase = NULL;
			else if (!nat)
				snap_result(in->grammar, &r);
			metric_counter_add(
				s->requests[i][r.text[0] ? OUT_OK : OUT_EMPTY],
				1);
			if (r.text[0] || k + 1 == c->n) {
				*res = r;
				return 0;
			}
			/* Heard nothing: the next engine may. */
			if (!have_empty) {
				empty = r;
				have_empty = true;
			}
			size_t j = c->idx[k + 1];
			metric_counter_add(s->fallback[i][j], 1);
			LOGI(in->call_id, "stt_fallback",
			     "from=%s to=%s reason=empty decode_ms=%llu",
			     e->ops->name, s->eng[j]->ops->name,
			     (unsigned long long)(dt / 1000u));
			continue;
		}
		metric_counter_add(s->requests[i][OUT_ERROR], 1);
		if (k + 1 < c->n) {
			size_t j = c->idx[k + 1];
			metric_counter_add(s->fallback[i][j], 1);
			LOGW(in->call_id, "stt_fallback",
			     "from=%s to=%s err=%d decode_ms=%llu",
			     e->ops->name, s->eng[j]->ops->name, err,
			     (unsigned long long)(dt / 1000u));
		} else {
			LOGW(in->call_id, "stt_failed",
			     "engine=%s err=%d decode_ms=%llu", e->ops->name,
			     err, (unsigned long long)(dt / 1000u));
		}
	}
	if (have_empty) { /* one engine heard nothing, the rest failed */
		*res = empty;
		return 0;
	}
	return err;
}

static int chain_run(struct stt *s, const struct chain *c,
		     const struct job_in *in, const int16_t *pcm, size_t n,
		     struct stt_result *res)
{
	return chain_run_first(s, c, in, pcm, n, res, NULL);
}

/* The domain LM of an OPEN step, or NULL. */
static const struct stt_grammar *step_lm(const struct stt_params *p)
{
	return p->mode == STT_MODE_OPEN && p->lm &&
			       stt_grammar_mode(p->lm) == STT_MODE_LM
		       ? p->lm
		       : NULL;
}

static int params_check(const struct stt_params *p)
{
	if (!p)
		return -EINVAL;
	switch (p->mode) {
	case STT_MODE_OPEN:
		return 0;
	case STT_MODE_GRAMMAR:
	case STT_MODE_LM:
		return p->grammar && stt_grammar_mode(p->grammar) == p->mode
			       ? 0
			       : -EINVAL;
	}
	return -EINVAL;
}

static bool audio_ok(size_t n)
{
	return n > 0 &&
	       n <= (size_t)STT_UTTERANCE_MAX_MS * (AUDIO_RATE_HZ / 1000);
}

int stt_recognize_sync(struct stt *s, const int16_t *pcm, size_t n,
		       const struct stt_params *p, struct stt_result *res)
{
	if (!s || !pcm || !res || !audio_ok(n))
		return -EINVAL;
	int err = params_check(p);
	if (err)
		return err;
	struct chain c;
	err = chain_build(s, p->engines, p->mode, step_lm(p) != NULL, &c);
	if (err)
		return err;
	count_audio(s, n);
	struct job_in in = {
		.mode = p->mode,
		.grammar = p->grammar,
		.lm = step_lm(p),
		.call_id = p->call_id,
		.deadline_ms = p->deadline_ms ? p->deadline_ms : s->deadline_ms,
	};
	return chain_run(s, &c, &in, pcm, n, res);
}

/* ---- asynchronous requests ---- */

/* p checked (params_check) into b: the chain, then the references. Returns
 * 0 or chain_build()'s -ENOTSUP (b holds nothing then). */
static int req_base_init(struct req_base *b, struct stt *s,
			 const struct stt_params *p)
{
	int err = chain_build(s, p->engines, p->mode, step_lm(p) != NULL,
			      &b->chain);
	if (err)
		return err;
	b->s = s;
	b->mode = p->mode;
	b->deadline_ms = p->deadline_ms ? p->deadline_ms : s->deadline_ms;
	if (p->call_id)
		snprintf(b->call_id, sizeof(b->call_id), "%s", p->call_id);
	b->grammar = p->grammar
			     ? stt_grammar_ref((struct stt_grammar *)p->grammar)
			     : NULL;
	b->lm = step_lm(p) ? stt_grammar_ref((struct stt_grammar *)p->lm)
			   : NULL;
	return 0;
}

static void req_base_fini(struct req_base *b)
{
	stt_grammar_deref(b->grammar);
	stt_grammar_deref(b->lm);
}

/* What chain_run() needs of b. */
static void req_base_in(const struct req_base *b, struct job_in *in)
{
	*in = (struct job_in){
		.mode = b->mode,
		.grammar = b->grammar,
		.lm = b->lm,
		.call_id = b->call_id[0] ? b->call_id : NULL,
		.deadline_ms = b->deadline_ms,
	};
}

static void req_free(struct stt_req *r)
{
	audio_clip_deref(r->clip);
	req_base_fini(&r->b);
	free(r);
}

/* Milliseconds from t0_us to now, saturated. */
static uint32_t ms_since(uint64_t t0_us)
{
	uint64_t ms = (clock_mono_us() - t0_us) / 1000u;
	return ms > UINT32_MAX ? UINT32_MAX : (uint32_t)ms;
}

static void req_work(void *arg)
{
	struct stt_req *r = arg;
	req_taken(r);
	if (atomic_load(&r->cancelled)) {
		r->err = -ECANCELED; /* nobody waits: skip the CPU */
		return;
	}
	struct job_in in;
	req_base_in(&r->b, &in);
	in.queued_ms = ms_since(r->submit_us);
	atomic_fetch_add(&r->b.s->live_running, 1);
	r->err = chain_run(r->b.s, &r->b.chain, &in, r->clip->samples,
			   r->clip->nsamples, &r->res);
	atomic_fetch_sub(&r->b.s->live_running, 1);
}

/* On the caller's loop (wpool posts it there), like stt_cancel(): so the
 * cancelled flag needs no lock against the callback. */
static void req_done(int err, void *arg)
{
	struct stt_req *r = arg;
	req_taken(r); /* a no-op when a worker took it */
	if (err)
		r->err = err; /* pool stopped before the work ran */
	if (!atomic_load(&r->cancelled))
		r->cb(r->err, r->err ? NULL : &r->res, r->arg);
	req_free(r);
}

int stt_recognize(struct stt *s, struct audio_clip *clip,
		  const struct stt_params *p, struct vg_loop *loop,
		  stt_done_fn *cb, void *arg, struct stt_req **reqp)
{
	if (!s || !clip || !loop || !cb || !s->pool ||
	    clip->rate_hz != AUDIO_RATE_HZ || !audio_ok(clip->nsamples))
		return -EINVAL;
	int err = params_check(p);
	if (err)
		return err;
	struct stt_req *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	err = req_base_init(&r->b, s, p);
	if (err) {
		free(r);
		return err;
	}
	r->cb = cb;
	r->arg = arg;
	atomic_init(&r->cancelled, false);
	r->clip = audio_clip_ref(clip); /* a reference, like the grammars */
	r->submit_us = clock_mono_us();
	err = wpool_submit(s->pool, loop, req_work, req_done, r);
	if (err) {
		if (err == -EAGAIN)
			metric_counter_add(s->rejected, 1);
		req_free(r);
		return err;
	}
	count_audio(s, clip->nsamples);
	if (reqp)
		*reqp = r;
	return 0;
}

void stt_cancel(struct stt_req *r)
{
	if (!r)
		return;
	atomic_store(&r->cancelled, true);
	req_void(r);
}

/* ---- streaming requests ---- */

enum {
	STREAM_BATCH = STT_STREAM_BATCH_MS * (AUDIO_RATE_HZ / 1000),
	STREAM_MAX = STT_UTTERANCE_MAX_MS * (AUDIO_RATE_HZ / 1000),
};

enum job_kind { JOB_FEED, JOB_END, JOB_ABORT };

/* The first engine's stream. */
enum es_state {
	ES_NONE,   /* not begun (yet): the first job begins it */
	ES_LIVE,   /* es is open */
	ES_BATCH,  /* no stream (cannot, or begin refused): the chain decodes
		      the end clip from its first engine */
	ES_FAILED, /* feed or partial failed: the first engine counts as
		      failed (es_err), the rest of the chain decodes the clip */
};

/* A streaming request. Loop fields are touched on the owner loop only;
 * job fields by the one job in flight (busy) and by the loop when none is
 * (the pool's done callback, posted to the loop, orders the two). Freed on
 * the loop: after the done callback, or on cancel once no job is in
 * flight. */
struct stt_stream {
	struct req_base b;
	struct vg_loop *loop;
	stt_partial_fn *partial_cb;
	stt_done_fn *done_cb;
	void *arg;
	bool streams;	       /* the chain's first engine has STT_CAP_STREAM */
	atomic_bool cancelled; /* set on the loop, read by the job too */

	/* loop */
	int16_t *pend; /* fed, not yet handed to a job */
	size_t npend, cappend;
	size_t fed;
	bool busy;		 /* a job queued or running */
	bool ended;		 /* stt_stream_end() accepted */
	bool final_sent;	 /* the JOB_END was submitted */
	bool in_cb;		 /* a callback runs: cancel only marks */
	bool no_feed;		 /* nothing streams: fed audio is dropped */
	struct audio_clip *clip; /* the end clip (a reference) */

	/* Emulated partials (the first engine cannot stream, partial_cb and
	 * stt.partial_every set): the audio so far is re-decoded by a
	 * partial job, one at a time, beside the stream's own jobs. */
	bool emulate;
	int16_t *acc; /* loop: every sample fed */
	size_t nacc, capacc;
	size_t pnext;	/* loop: nacc at which a partial decode is due */
	bool pbusy;	/* loop: a partial job queued or running */
	bool pskip;	/* loop: this due decode was counted skipped */
	bool done_sent; /* loop: done ran while pbusy: the partial job's
			   return frees the stream */
	char plast[STT_TEXT_MAX + 1]; /* loop: the last partial said */
	atomic_bool pvoid; /* ended or cancelled: a partial job not begun
			      skips its decode */
	/* the partial job (handed over like the stream job's fields) */
	int16_t *pwork;
	size_t npwork, cappwork;
	uint64_t pkick_us;
	bool ptaken;   /* a worker took it (counters settled there) */
	bool pdecoded; /* the decode ran */
	int perr;
	char ptext_e[STT_TEXT_MAX + 1];

	/* job */
	enum job_kind kind;
	uint64_t kick_us; /* when the job was queued */
	int16_t *work;
	size_t nwork, capwork;
	struct stt_engine_stream *es;
	enum es_state es_state;
	int es_err;
	size_t heard; /* samples the engine took */
	bool pchanged;
	uint32_t pms;
	char ptext[STT_TEXT_MAX + 1];
	int err;
	struct stt_result res;
};

static struct stt_engine *stream_engine(const struct stt_stream *st)
{
	return st->b.s->eng[st->b.chain.idx[0]];
}

static void stream_in(const struct stt_stream *st, struct job_in *in)
{
	req_base_in(&st->b, in);
}

/* Close the engine's stream where we are (a worker, or the loop when the
 * pool cannot take the job: it is stopping or full). */
static void stream_abort_es(struct stt_stream *st)
{
	if (st->es) {
		stream_engine(st)->ops->stream_abort(st->es);
		st->es = NULL;
	}
}

static void stream_fail_es(struct stt_stream *st, int err)
{
	stream_abort_es(st);
	st->es_state = ES_FAILED;
	st->es_err = err;
	LOGW(st->b.call_id[0] ? st->b.call_id : NULL, "stt_stream_failed",
	     "engine=%s err=%d", stream_engine(st)->ops->name, err);
}

static void stream_begin_es(struct stt_stream *st)
{
	struct stt_engine *e = stream_engine(st);
	struct job_in in;
	stream_in(st, &in);
	struct stt_request req;
	request_for(e, &in, &req);
	int err = e->ops->stream_begin(e, &req, &st->es);
	if (!err) {
		st->es_state = ES_LIVE;
		return;
	}
	st->es = NULL;
	st->es_state = ES_BATCH;
	if (err != -EBUSY)
		LOGW(in.call_id, "stt_stream_begin_failed", "engine=%s err=%d",
		     e->ops->name, err);
}

/* Worker: feed what the loop handed over; at the end, the result. */
static void stream_work_run(struct stt_stream *st)
{
	struct stt_engine *e = stream_engine(st);
	if (st->kind == JOB_ABORT || atomic_load(&st->cancelled)) {
		stream_abort_es(st);
		st->err = -ECANCELED;
		return;
	}
	if (st->streams && st->es_state == ES_NONE)
		stream_begin_es(st);
	uint64_t t0 = clock_mono_us();
	if (st->es_state == ES_LIVE && st->nwork) {
		int err = e->ops->stream_feed(st->es, st->work, st->nwork);
		if (!err)
			st->heard += st->nwork;
		if (!err && st->kind == JOB_FEED && st->partial_cb) {
			int r = e->ops->stream_partial(st->es, st->ptext,
						       sizeof(st->ptext));
			if (r == 1) {
				st->pchanged = true;
				st->pms = (uint32_t)(st->heard * 1000u /
						     AUDIO_RATE_HZ);
			}
			err = r < 0 ? r : 0;
		}
		if (err)
			stream_fail_es(st, err);
	}
	st->nwork = 0;
	if (st->kind != JOB_END)
		return;
	struct attempt first;
	const struct attempt *fp = NULL;
	if (st->es_state == ES_LIVE) {
		memset(&first.res, 0, sizeof(first.res));
		first.err = e->ops->stream_end(st->es, &first.res);
		st->es = NULL;
		first.dt_us = clock_mono_us() - t0;
		fp = &first;
	} else if (st->es_state == ES_FAILED) {
		first.err = st->es_err;
		first.dt_us = 0;
		fp = &first;
	}
	struct job_in in;
	stream_in(st, &in);
	in.queued_ms = ms_since(st->kick_us);
	st->err = chain_run_first(st->b.s, &st->b.chain, &in, st->clip->samples,
				  st->clip->nsamples, &st->res, fp);
}

static void stream_work(void *arg)
{
	struct stt_stream *st = arg;
	struct stt *s = st->b.s;
	atomic_fetch_add(&s->live_running, 1);
	stream_work_run(st);
	atomic_fetch_sub(&s->live_running, 1);
}

static void stream_free(struct stt_stream *st)
{
	audio_clip_deref(st->clip);
	req_base_fini(&st->b);
	free(st->pend);
	free(st->work);
	free(st->acc);
	free(st->pwork);
	free(st);
}

/* Loop, after the done callback: free now, or when the partial job in
 * flight comes back. */
static void stream_release(struct stt_stream *st)
{
	if (st->pbusy)
		st->done_sent = true;
	else
		stream_free(st);
}

static void stream_job_done(int err, void *arg);

/* Loop: hand the pending audio (or the end) to a job when none is in
 * flight. Returns 0 or wpool_submit()'s error (nothing changed). */
static int stream_kick(struct stt_stream *st)
{
	if (st->busy || st->final_sent)
		return 0;
	bool final = st->ended;
	if (!final && st->npend < STREAM_BATCH)
		return 0;
	int16_t *w = st->work;
	size_t cw = st->capwork;
	st->work = st->pend;
	st->capwork = st->cappend;
	st->nwork = st->npend;
	st->pend = w;
	st->cappend = cw;
	st->npend = 0;
	st->kind = final ? JOB_END : JOB_FEED;
	st->kick_us = clock_mono_us();
	int err = wpool_submit(st->b.s->pool, st->loop, stream_work,
			       stream_job_done, st);
	if (err) { /* swap back: the work buffer was empty */
		if (err == -EAGAIN)
			metric_counter_add(st->b.s->rejected, 1);
		st->pend = st->work;
		st->cappend = st->capwork;
		st->npend = st->nwork;
		st->work = w;
		st->capwork = cw;
		st->nwork = 0;
		return err;
	}
	st->busy = true;
	st->final_sent = final;
	return 0;
}

/* Loop, cancelled and no job in flight: close the engine's stream on the
 * pool (or here if it cannot take the job), then free. */
static void stream_drop(struct stt_stream *st)
{
	if (st->pbusy)
		return; /* the partial job's return drops it */
	if (st->es) {
		st->kind = JOB_ABORT;
		if (!wpool_submit(st->b.s->pool, st->loop, stream_work,
				  stream_job_done, st)) {
			st->busy = true;
			return;
		}
		stream_abort_es(st);
	}
	stream_free(st);
}

static void stream_job_done(int err, void *arg)
{
	struct stt_stream *st = arg;
	st->busy = false;
	if (err) { /* the pool stopped before the job ran */
		stream_abort_es(st);
		if (st->es_state == ES_LIVE || st->es_state == ES_NONE) {
			st->es_state = ES_FAILED;
			st->es_err = err;
		}
		st->err = err;
	}
	if (atomic_load(&st->cancelled)) {
		stream_drop(st);
		return;
	}
	if (st->kind == JOB_END) {
		st->in_cb = true;
		st->done_cb(st->err, st->err ? NULL : &st->res, st->arg);
		stream_release(st);
		return;
	}
	if (st->pchanged) {
		st->pchanged = false;
		metric_counter_add(st->b.s->partials, 1);
		st->in_cb = true;
		st->partial_cb(st->ptext, st->pms, st->arg);
		st->in_cb = false;
		if (atomic_load(&st->cancelled)) {
			stream_drop(st);
			return;
		}
	}
	if (st->es_state == ES_FAILED || st->es_state == ES_BATCH) {
		st->no_feed = true; /* the end clip is all that is decoded */
		st->npend = 0;
	}
	err = stream_kick(st);
	if (err && st->ended) { /* the end could not be queued */
		stream_abort_es(st);
		st->in_cb = true;
		st->done_cb(err, NULL, st->arg);
		stream_release(st);
	}
}

/* ---- emulated partials ---- */

/* No recognition job waits in the queue or runs: a partial decode would
 * delay it or share the CPU with it. */
static bool partial_idle(const struct stt *s)
{
	return !live_waiting(s) && !atomic_load(&s->live_running);
}

/* Worker: the audio so far, decoded by the first engine in its cheapest
 * mode (an open-vocabulary engine decodes it open with snap set: Moonshine
 * greedy, without the step's LM), unless a recognition job waits or runs
 * meanwhile, or the utterance is over: then nothing (the job costs no
 * one). */
static void partial_work(void *arg)
{
	struct stt_stream *st = arg;
	struct stt *s = st->b.s;
	atomic_fetch_sub(&s->partial_waiting, 1);
	st->ptaken = true;
	st->pdecoded = false;
	st->perr = -EAGAIN;
	if (!atomic_load(&st->pvoid) && partial_idle(s)) {
		struct stt_engine *e = stream_engine(st);
		struct job_in in;
		stream_in(st, &in);
		in.queued_ms = ms_since(st->pkick_us);
		struct stt_request req;
		request_for(e, &in, &req);
		if ((e->ops->caps & STT_CAP_OPEN) &&
		    req.mode != STT_MODE_GRAMMAR) {
			req.mode = STT_MODE_OPEN;
			req.grammar = NULL;
			req.snap = true;
		}
		struct stt_result r;
		memset(&r, 0, sizeof(r));
		st->perr =
			stt_engine_decode(e, &req, st->pwork, st->npwork, &r);
		st->pdecoded = true;
		if (!st->perr) {
			r.text[STT_TEXT_MAX] = '\0';
			memcpy(st->ptext_e, r.text, sizeof(st->ptext_e));
		}
	}
	atomic_fetch_sub(&s->partial_inflight, 1);
}

/* A partial decode may start: the pool is idle of recognition work and
 * fewer than partial_max partial decodes are in flight (one worker stays
 * free for a final that comes meanwhile). */
static bool partial_admit(struct stt *s)
{
	if (!partial_idle(s))
		return false;
	unsigned n = atomic_fetch_add(&s->partial_inflight, 1);
	if (n < s->partial_max)
		return true;
	atomic_fetch_sub(&s->partial_inflight, 1);
	return false;
}

static void partial_done(int err, void *arg);

/* Samples to feed after a partial decode of the nacc so far before the
 * next is due: partial_every_ms, or a quarter of the audio so far when that
 * is more. Each decode re-decodes all the audio so far, so a fixed interval
 * costs the square of the utterance's length in CPU; with the interval
 * growing by a quarter the decodes' lengths grow geometrically (x1.25) and
 * all of them together decode at most 5x the utterance (a 20 s one at
 * 500 ms: 14 decodes of 4.5x its audio in all instead of 39 of 19.5x). */
static size_t partial_gap(const struct stt_stream *st)
{
	size_t every =
		(size_t)st->b.s->partial_every_ms * (AUDIO_RATE_HZ / 1000);
	size_t quarter = st->nacc / 4;
	return quarter > every ? quarter : every;
}

/* Loop: start a partial decode when one is due (partial_gap() of audio fed
 * since the last one started) and admitted; a refused one is counted
 * skipped once and tried again at the next feed. */
static void partial_kick(struct stt_stream *st)
{
	struct stt *s = st->b.s;
	if (!st->emulate || st->pbusy || st->ended || st->nacc < st->pnext)
		return;
	bool ok = partial_admit(s);
	if (ok && st->nacc > st->cappwork) {
		int16_t *b = realloc(st->pwork, st->capacc * sizeof(*b));
		if (b) {
			st->pwork = b;
			st->cappwork = st->capacc;
		} else {
			atomic_fetch_sub(&s->partial_inflight, 1);
			ok = false;
		}
	}
	if (ok) {
		memcpy(st->pwork, st->acc, st->nacc * sizeof(*st->acc));
		st->npwork = st->nacc;
		st->pkick_us = clock_mono_us();
		st->ptaken = false;
		atomic_fetch_add(&s->partial_waiting, 1);
		if (wpool_submit(s->pool, st->loop, partial_work, partial_done,
				 st)) {
			atomic_fetch_sub(&s->partial_waiting, 1);
			atomic_fetch_sub(&s->partial_inflight, 1);
			ok = false;
		}
	}
	if (!ok) {
		if (!st->pskip)
			metric_counter_add(s->pdecodes[PD_SKIPPED], 1);
		st->pskip = true;
		return;
	}
	st->pbusy = true;
	st->pskip = false;
	st->pnext = st->nacc + partial_gap(st);
}

/* Loop: the partial job is back. Its text is said when it changed, the
 * utterance goes on and nobody cancelled; then the next one may start. */
static void partial_done(int err, void *arg)
{
	struct stt_stream *st = arg;
	struct stt *s = st->b.s;
	st->pbusy = false;
	if (err && !st->ptaken) { /* the pool stopped before it ran */
		atomic_fetch_sub(&s->partial_waiting, 1);
		atomic_fetch_sub(&s->partial_inflight, 1);
	}
	bool over = st->ended || atomic_load(&st->cancelled);
	if (st->pdecoded) {
		metric_counter_add(s->pdecodes[over ? PD_LATE : PD_DECODED], 1);
	} else if (!err && !over) { /* live work came: due again */
		metric_counter_add(s->pdecodes[PD_SKIPPED], 1);
		st->pskip = true;
		st->pnext = st->npwork;
	}
	if (st->done_sent) {
		stream_free(st);
		return;
	}
	if (atomic_load(&st->cancelled)) {
		if (!st->busy)
			stream_drop(st);
		return;
	}
	if (over)
		return;
	if (!err && st->pdecoded && !st->perr && st->ptext_e[0] &&
	    strcmp(st->ptext_e, st->plast)) {
		memcpy(st->plast, st->ptext_e, sizeof(st->plast));
		metric_counter_add(s->partials, 1);
		st->in_cb = true;
		st->partial_cb(st->plast,
			       (uint32_t)(st->npwork * 1000u / AUDIO_RATE_HZ),
			       st->arg);
		st->in_cb = false;
		if (atomic_load(&st->cancelled)) {
			if (!st->busy) /* else the end job's return drops it */
				stream_drop(st);
			return;
		}
	}
	partial_kick(st);
}

/* The engine's own streaming (all five stream methods), not the
 * service's emulated partials. */
static bool engine_streams(const struct stt_engine *e)
{
	const struct stt_engine_ops *o = e->ops;
	return (o->caps & STT_CAP_STREAM) && o->stream_begin &&
	       o->stream_feed && o->stream_partial && o->stream_end &&
	       o->stream_abort;
}

bool stt_stream_native(const struct stt *s, const struct stt_params *p)
{
	struct chain c;
	if (!s || !p || params_check(p) ||
	    chain_build(s, p->engines, p->mode, step_lm(p) != NULL, &c))
		return false;
	return engine_streams(s->eng[c.idx[0]]);
}

int stt_stream_start(struct stt *s, const struct stt_params *p,
		     struct vg_loop *loop, stt_partial_fn *partial_cb,
		     stt_done_fn *done_cb, void *arg, struct stt_stream **sp)
{
	if (!s || !loop || !done_cb || !sp || !s->pool)
		return -EINVAL;
	int err = params_check(p);
	if (err)
		return err;
	struct stt_stream *st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	err = req_base_init(&st->b, s, p);
	if (err) {
		free(st);
		return err;
	}
	st->loop = loop;
	st->partial_cb = partial_cb;
	st->done_cb = done_cb;
	st->arg = arg;
	atomic_init(&st->cancelled, false);
	const struct stt_engine *e = stream_engine(st);
	st->streams = engine_streams(e);
	st->es_state = st->streams ? ES_NONE : ES_BATCH;
	st->no_feed = !st->streams;
	st->emulate = !st->streams && partial_cb && s->partial_every_ms;
	atomic_init(&st->pvoid, false);
	*sp = st;
	return 0;
}

/* Keep the audio for the partial decodes (the final decodes the end clip
 * as without partials). */
static int partial_feed(struct stt_stream *st, const int16_t *pcm, size_t n)
{
	if (st->nacc + n > st->capacc) {
		size_t cap = st->capacc ? st->capacc : 8 * STREAM_BATCH;
		while (cap < st->nacc + n)
			cap *= 2;
		if (cap > STREAM_MAX)
			cap = STREAM_MAX;
		int16_t *b = realloc(st->acc, cap * sizeof(*b));
		if (!b) {
			st->fed -= n;
			return -ENOMEM;
		}
		st->acc = b;
		st->capacc = cap;
	}
	/* the first partial_every_ms counts from the end of the first feed:
	 * a caller that starts at speech start feeds its pre-roll at once,
	 * and that alone is not worth a decode */
	if (!st->nacc)
		st->pnext = n + (size_t)st->b.s->partial_every_ms *
					(AUDIO_RATE_HZ / 1000);
	memcpy(st->acc + st->nacc, pcm, n * sizeof(*pcm));
	st->nacc += n;
	partial_kick(st);
	return 0;
}

int stt_stream_feed(struct stt_stream *st, const int16_t *pcm, size_t n)
{
	if (!st || (n && !pcm) || st->ended)
		return -EINVAL;
	if (n > STREAM_MAX - st->fed)
		return -E2BIG;
	st->fed += n;
	if (st->emulate && n)
		return partial_feed(st, pcm, n);
	if (st->no_feed || !n)
		return 0;
	if (st->npend + n > st->cappend) {
		size_t cap = st->cappend ? st->cappend : 4 * STREAM_BATCH;
		while (cap < st->npend + n)
			cap *= 2;
		int16_t *b = realloc(st->pend, cap * sizeof(*b));
		if (!b) {
			st->fed -= n;
			return -ENOMEM;
		}
		st->pend = b;
		st->cappend = cap;
	}
	memcpy(st->pend + st->npend, pcm, n * sizeof(*pcm));
	st->npend += n;
	stream_kick(st); /* a full queue: the next feed or job tries again */
	return 0;
}

int stt_stream_end(struct stt_stream *st, struct audio_clip *clip)
{
	if (!st || !clip || st->ended || clip->rate_hz != AUDIO_RATE_HZ ||
	    !audio_ok(clip->nsamples))
		return -EINVAL;
	st->clip = audio_clip_ref(clip);
	st->ended = true;
	int err = stream_kick(st);
	if (err) {
		st->ended = false;
		st->clip = audio_clip_deref(st->clip);
		return err;
	}
	atomic_store(&st->pvoid, true);
	count_audio(st->b.s, clip->nsamples);
	return 0;
}

void stt_stream_cancel(struct stt_stream *st)
{
	if (!st)
		return;
	atomic_store(&st->cancelled, true);
	atomic_store(&st->pvoid, true);
	if (st->busy || st->pbusy || st->in_cb)
		return; /* a job's done callback, or the callback, drops it */
	stream_drop(st);
}

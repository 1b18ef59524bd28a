/* The PocketSphinx engine's streams (stt.h rule 8) on flite speech through
 * mu-law: the streamed result equals the batch decode() in LM and grammar
 * mode, partial hypotheses show up before the end, the cut of the audio
 * into chunks changes nothing, abort and end return the decoder to the
 * pool, and a stream never waits for a decoder another stream holds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <re.h>

#include "audio/clip.h"
#include "audio/g711.h"
#include "core/clock.h"
#include "core/loop.h"
#include "core/wpool.h"
#include "engines/stt/pocketsphinx/stt_pocketsphinx.h"
#include "engines/stt/stt.h"
#include "engines/tts/flite/tts_flite.h"

#include "ps_fixture.h"

/* How far a confidence may move with what the decoder scored before
 * (LM_CONF_JITTER in test_stt_pocketsphinx.c). */
#define CONF_JITTER 0.03f

static const struct stt_engine_ops *ops = &stt_pocketsphinx_ops;

static int setup(void **s)
{
	(void)s;
	if (libre_init())
		return -1;
	int err = ps_fixture_open();
	if (err == -ENOENT) {
		fprintf(stderr, "pocketsphinx model not installed: skipped\n");
		return 0;
	}
	return err ? -1 : 0;
}

static int teardown(void **s)
{
	(void)s;
	ps_fixture_close();
	libre_close();
	return 0;
}

static const char *const bank_lm[] = {
	"what is my balance",
	"what is my account balance",
	"i lost my card",
	"my card was stolen",
	"i need to block my card",
	"i want to transfer money",
	"transfer money to my savings account",
	"connect me to an agent please",
	"what are my recent transactions",
	"pay my credit card bill",
	"i forgot my pin",
	"reset my pin please",
};
#define NBANK (sizeof(bank_lm) / sizeof(*bank_lm))

static const char *const menu[] = {
	"balance",   "card services",	    "agent",	      "lost card",
	"main menu", "recent transactions", "transfer money",
};
#define NMENU (sizeof(menu) / sizeof(*menu))

static struct stt_grammar *grammar(enum stt_mode mode)
{
	struct stt_grammar *g = NULL;
	if (mode == STT_MODE_LM)
		assert_int_equal(
			stt_grammar_create(&g, mode, bank_lm, NBANK, 0), 0);
	else
		assert_int_equal(stt_grammar_create(&g, mode, menu, NMENU,
						    STT_CLASS_DIGITS),
				 0);
	return g;
}

/* One spoken utterance and the request that decodes it. */
struct utt {
	struct stt_grammar *g;
	struct stt_request req;
	int16_t *pcm;
	size_t n;
};

/* Speaks text in voice and makes mode's grammar; utt_close() frees both. */
static void utt_open(struct utt *u, enum stt_mode mode, const char *voice,
		     const char *text)
{
	u->g = grammar(mode);
	u->req = (struct stt_request){ .mode = mode, .grammar = u->g };
	u->pcm = speak(voice, text, &u->n);
}

static void utt_close(struct utt *u)
{
	free(u->pcm);
	stt_grammar_deref(u->g);
}

/* Stream pcm in chunks of `chunk` samples; counts partials (non-empty ones
 * before the end in *early) and keeps the last in last. */
static int stream_text(const struct stt_request *req, const int16_t *pcm,
		       size_t n, size_t chunk, struct stt_result *res,
		       unsigned *partials, unsigned *early, char *last)
{
	struct stt_engine_stream *st = NULL;
	int err = ops->stream_begin(stt, req, &st);
	if (err)
		return err;
	char text[STT_TEXT_MAX + 1];
	if (last)
		last[0] = '\0';
	for (size_t off = 0; off < n; off += chunk) {
		size_t k = n - off < chunk ? n - off : chunk;
		err = ops->stream_feed(st, pcm + off, k);
		if (err) {
			ops->stream_abort(st);
			return err;
		}
		if (partials && off % 1600 < chunk) { /* every 200 ms */
			int r = ops->stream_partial(st, text, sizeof(text));
			assert_true(r == 0 || r == 1);
			if (r == 1) {
				(*partials)++;
				*early += text[0] != '\0';
				snprintf(last, STT_TEXT_MAX + 1, "%s", text);
			}
		}
	}
	return ops->stream_end(st, res);
}

static void same_as_batch(enum stt_mode mode, const char *const *say,
			  size_t nsay)
{
	struct stt_grammar *g = grammar(mode);
	struct stt_request req = { .mode = mode, .grammar = g };
	static const char *const voices[] = { "kal", "slt" };
	unsigned same = 0, total = 0;
	for (size_t v = 0; v < 2; v++)
		for (size_t i = 0; i < nsay; i++) {
			size_t n;
			int16_t *pcm = speak(voices[v], say[i], &n);
			struct stt_result b, st;
			assert_int_equal(ops->decode(stt, &req, pcm, n, &b), 0);
			unsigned partials = 0, early = 0;
			char last[STT_TEXT_MAX + 1];
			assert_int_equal(stream_text(&req, pcm, n, 160, &st,
						     &partials, &early, last),
					 0);
			print_message("%s %-30s batch %-30s %.3f stream %-30s "
				      "%.3f partials %u\n",
				      voices[v], say[i], b.text, b.confidence,
				      st.text, st.confidence, partials);
			assert_string_equal(st.engine, "pocketsphinx");
			assert_int_equal(st.audio_ms, n / 8);
			assert_true(st.confidence >= 0 && st.confidence <= 1);
			if (mode == STT_MODE_GRAMMAR && b.grammar_phrase) {
				assert_non_null(st.grammar_phrase);
			}
			if (mode == STT_MODE_LM)
				assert_null(st.grammar_phrase);
			same += !strcmp(st.text, b.text);
			total++;
			/* multi-word speech: some words before the end */
			if (strchr(say[i], ' ')) {
				assert_true(early >= 1);
			}
			free(pcm);
		}
	print_message("stream == batch: %u/%u\n", same, total);
	assert_int_equal(same, total);
	stt_grammar_deref(g);
}

static void lm_stream_equals_batch_decode(void **s)
{
	(void)s;
	if (!stt)
		skip();
	static const char *const say[] = { "i lost my card",
					   "what is my balance",
					   "i want to transfer money",
					   "connect me to an agent please",
					   "pay my credit card bill" };
	same_as_batch(STT_MODE_LM, say, sizeof(say) / sizeof(*say));
}

static void grammar_stream_equals_batch_decode(void **s)
{
	(void)s;
	if (!stt)
		skip();
	static const char *const say[] = { "card services", "agent",
					   "recent transactions",
					   "four one one one",
					   "nine zero five" };
	same_as_batch(STT_MODE_GRAMMAR, say, sizeof(say) / sizeof(*say));
}

/* Partials grow with the sentence: the last partial before the end is a
 * prefix-like start of the final text (its first word at least). */
static void partials_grow_towards_the_final_text(void **s)
{
	(void)s;
	if (!stt)
		skip();
	struct utt u;
	utt_open(&u, STT_MODE_LM, "slt", "i want to transfer money");
	struct stt_engine_stream *st = NULL;
	assert_int_equal(ops->stream_begin(stt, &u.req, &st), 0);
	char text[STT_TEXT_MAX + 1], prev[STT_TEXT_MAX + 1] = "";
	unsigned changes = 0, nonempty = 0;
	for (size_t off = 0; off < u.n; off += 160) {
		size_t k = u.n - off < 160 ? u.n - off : 160;
		assert_int_equal(ops->stream_feed(st, u.pcm + off, k), 0);
		int r = ops->stream_partial(st, text, sizeof(text));
		assert_true(r == 0 || r == 1);
		if (r == 0) {
			continue;
		}
		/* only a change is reported */
		assert_string_not_equal(text, prev);
		snprintf(prev, sizeof(prev), "%s", text);
		changes++;
		nonempty += text[0] != '\0';
	}
	/* nothing new to say: 0, text untouched */
	strcpy(text, "untouched");
	assert_int_equal(ops->stream_partial(st, text, sizeof(text)), 0);
	assert_string_equal(text, "untouched");
	struct stt_result res;
	assert_int_equal(ops->stream_end(st, &res), 0);
	print_message("%u partial changes, last \"%s\", final \"%s\"\n",
		      changes, prev, res.text);
	assert_true(nonempty >= 1);
	size_t w = strcspn(res.text, " ");
	assert_true(w > 0);
	assert_memory_equal(prev, res.text, w); /* same first word */
	utt_close(&u);
}

/* The cut of the audio into chunks changes nothing. */
static void odd_chunk_sizes_give_the_same_result(void **s)
{
	(void)s;
	if (!stt)
		skip();
	struct utt u;
	utt_open(&u, STT_MODE_LM, "kal", "my card was stolen");
	static const size_t chunks[] = { 1, 7, 160, 4000 };
	struct stt_result first;
	for (size_t c = 0; c < sizeof(chunks) / sizeof(*chunks); c++) {
		struct stt_result r;
		/* the same history on the (serially reused) first decoder:
		 * the PTM scorer starts from the last frame it scored, which
		 * moves the confidence a little (LM_CONF_JITTER in
		 * test_stt_pocketsphinx.c) */
		assert_int_equal(ops->decode(stt, &u.req, u.pcm, u.n, &r), 0);
		assert_int_equal(stream_text(&u.req, u.pcm, u.n, chunks[c], &r,
					     NULL, NULL, NULL),
				 0);
		print_message("chunk %4zu: \"%s\" %.4f\n", chunks[c], r.text,
			      r.confidence);
		assert_true(r.text[0] != '\0');
		if (!c) {
			first = r;
			continue;
		}
		assert_string_equal(r.text, first.text);
		/* measured: equal to 1e-4 (the scorer's history, above) */
		assert_true(fabsf(r.confidence - first.confidence) < 1e-3f);
	}
	utt_close(&u);
}

/* Two decoders: a stream holds one, a second begin is -EBUSY at once (it
 * never waits, and streams never hold the last free decoder: decode()
 * waits for one on a worker, which must not wait on streams' decoders);
 * a decode() still runs beside the stream; abort and end give the decoder
 * back, reset: the next stream decodes as if nothing happened. */
static void abort_and_end_return_the_decoder_to_the_pool(void **s)
{
	(void)s;
	if (!stt)
		skip();
	struct utt u;
	utt_open(&u, STT_MODE_GRAMMAR, "slt", "card services");
	struct stt_result ref;
	assert_int_equal(
		stream_text(&u.req, u.pcm, u.n, 320, &ref, NULL, NULL, NULL),
		0);
	assert_string_equal(ref.text, "card services");
	for (int round = 0; round < 5; round++) {
		struct stt_engine_stream *a = NULL, *b = NULL;
		assert_int_equal(ops->stream_begin(stt, &u.req, &a), 0);
		assert_int_equal(ops->stream_begin(stt, &u.req, &b), -EBUSY);
		assert_null(b);
		/* half an utterance, then dropped */
		assert_int_equal(ops->stream_feed(a, u.pcm, u.n / 2), 0);
		if (round == 0) {
			struct stt_result d;
			assert_int_equal(
				ops->decode(stt, &u.req, u.pcm, u.n, &d), 0);
			assert_string_equal(d.text, "card services");
		}
		ops->stream_abort(a);
	}
	ops->stream_abort(NULL);
	/* a decoder aborted mid-word decodes the next utterance right */
	struct stt_result r;
	assert_int_equal(
		stream_text(&u.req, u.pcm, u.n, 320, &r, NULL, NULL, NULL), 0);
	assert_string_equal(r.text, ref.text);
	assert_true(fabsf(r.confidence - ref.confidence) < CONF_JITTER);
	/* and batch decodes still find a decoder */
	assert_int_equal(ops->decode(stt, &u.req, u.pcm, u.n, &r), 0);
	assert_string_equal(r.text, "card services");
	utt_close(&u);
}

static void bad_stream_calls_are_refused(void **s)
{
	(void)s;
	if (!stt)
		skip();
	struct stt_grammar *g = grammar(STT_MODE_GRAMMAR);
	struct stt_engine_stream *st = NULL;
	struct stt_request req = { .mode = STT_MODE_LM, .grammar = g };
	assert_int_equal(ops->stream_begin(stt, &req, &st), -EINVAL);
	req.mode = STT_MODE_GRAMMAR;
	req.grammar = NULL;
	assert_int_equal(ops->stream_begin(stt, &req, &st), -EINVAL);
	assert_null(st);
	req.grammar = g;
	assert_int_equal(ops->stream_begin(stt, &req, &st), 0);
	assert_int_equal(ops->stream_feed(st, NULL, 10), -EINVAL);
	int16_t zero[800] = { 0 };
	assert_int_equal(ops->stream_feed(st, zero, 0), 0);
	assert_int_equal(ops->stream_feed(st, zero, 800), 0);
	assert_int_equal(
		ops->stream_feed(st, zero, (size_t)STT_UTTERANCE_MAX_MS * 8),
		-E2BIG);
	/* 100 ms of silence: a no-match, not an error */
	struct stt_result r;
	assert_int_equal(ops->stream_end(st, &r), 0);
	assert_string_equal(r.text, "");
	assert_true(r.confidence == 0);
	assert_int_equal(r.audio_ms, 100);
	stt_grammar_deref(g);
}

/* ---- through the service: stt_stream_*() on a loop, the pool ---- */

struct svc {
	struct stt *stt;
	struct vg_loop *loop;
	struct stt_params p;
	struct stt_stream *st;
	struct audio_clip *clip;
	size_t next;
	int ret;
	atomic_int started, done, partials, early;
	int err;
	uint64_t end_us, done_us;
	struct stt_result res;
};

static void svc_partial(const char *text, uint32_t audio_ms, void *arg)
{
	struct svc *v = arg;
	(void)audio_ms;
	if (text[0] && !atomic_load(&v->done) && !v->end_us)
		atomic_fetch_add(&v->early, 1);
	atomic_fetch_add(&v->partials, 1);
}

static void svc_done(int err, const struct stt_result *res, void *arg)
{
	struct svc *v = arg;
	v->done_us = clock_mono_us();
	v->err = err;
	if (!err)
		v->res = *res;
	atomic_store(&v->done, 1);
}

static void svc_start(void *arg)
{
	struct svc *v = arg;
	v->ret = stt_stream_start(v->stt, &v->p, v->loop, svc_partial, svc_done,
				  v, &v->st);
	atomic_store(&v->started, 1);
}

static void svc_frame(void *arg)
{
	struct svc *v = arg;
	size_t n = v->clip->nsamples - v->next;
	n = n > 160 ? 160 : n;
	if (stt_stream_feed(v->st, v->clip->samples + v->next, n))
		v->ret = -1;
	v->next += n;
}

static void svc_end(void *arg)
{
	struct svc *v = arg;
	v->end_us = clock_mono_us();
	int err = stt_stream_end(v->st, v->clip);
	if (err)
		v->ret = err;
}

/* The whole path a call will use: 20 ms frames posted to the loop (5x
 * faster than speech), the engine fed on the pool, partials and the final
 * result back on the loop; the result is the batch decode's. */
static void service_stream_gives_the_batch_result(void **s)
{
	(void)s;
	if (!stt)
		skip();
	struct vg_loop *loop = NULL;
	struct wpool *pool = NULL;
	struct stt *svc = NULL;
	assert_int_equal(loop_create(&loop, "ps-stream"), 0);
	assert_int_equal(loop_start(loop), 0);
	assert_int_equal(wpool_create(&pool, 2, 64), 0);
	const struct stt_engine_ops *const list[] = { ops };
	struct stt_cfg cfg = { .engine_cfg[0].pool_size = 2 };
	assert_int_equal(stt_create_with_ops(&svc, pool, list, 1, &cfg), 0);
	struct stt_grammar *g = grammar(STT_MODE_LM);
	static const char *const say[] = { "connect me to an agent please",
					   "i forgot my pin" };
	for (size_t i = 0; i < 2; i++) {
		size_t n;
		int16_t *pcm = speak(i ? "kal" : "slt", say[i], &n);
		struct audio_clip *clip = audio_clip_alloc(n, AUDIO_RATE_HZ);
		assert_non_null(clip);
		memcpy(clip->samples, pcm, n * sizeof(*pcm));
		struct stt_request req = { .mode = STT_MODE_LM, .grammar = g };
		struct stt_result b;
		assert_int_equal(ops->decode(stt, &req, pcm, n, &b), 0);

		struct svc v = { .stt = svc, .loop = loop, .clip = clip };
		v.p = (struct stt_params){ .mode = STT_MODE_LM, .grammar = g };
		assert_int_equal(loop_post(loop, svc_start, &v), 0);
		while (!atomic_load(&v.started))
			usleep(1000);
		assert_int_equal(v.ret, 0);
		for (size_t off = 0; off < n; off += 160) {
			assert_int_equal(loop_post(loop, svc_frame, &v), 0);
			usleep(4000);
		}
		assert_int_equal(loop_post(loop, svc_end, &v), 0);
		for (int k = 0; k < 5000 && !atomic_load(&v.done); k++)
			usleep(1000);
		assert_int_equal(atomic_load(&v.done), 1);
		assert_int_equal(v.ret, 0);
		assert_int_equal(v.err, 0);
		print_message("service: \"%s\" (batch \"%s\"), %d partials, "
			      "finalize %.1f ms\n",
			      v.res.text, b.text, atomic_load(&v.partials),
			      (double)(v.done_us - v.end_us) / 1000.0);
		assert_string_equal(v.res.text, b.text);
		assert_string_equal(v.res.engine, "pocketsphinx");
		assert_true(atomic_load(&v.early) >= 1);
		audio_clip_deref(clip);
		free(pcm);
	}
	wpool_destroy(pool);
	loop_destroy(loop);
	stt_destroy(svc);
	stt_grammar_deref(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(lm_stream_equals_batch_decode),
		cmocka_unit_test(grammar_stream_equals_batch_decode),
		cmocka_unit_test(partials_grow_towards_the_final_text),
		cmocka_unit_test(odd_chunk_sizes_give_the_same_result),
		cmocka_unit_test(abort_and_end_return_the_decoder_to_the_pool),
		cmocka_unit_test(bad_stream_calls_are_refused),
		cmocka_unit_test(service_stream_gives_the_batch_result),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

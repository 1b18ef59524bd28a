/* PocketSphinx's degraded LM decodes (stt_engine_cfg.degrade): an LM
 * request that waited degrade_ms in the worker queue (stt_request.queued_ms)
 * runs on the fast decoders and says so (stt_result.degraded), or on a full
 * decoder that is free while the fast ones are busy; one that did not wait
 * that long, a grammar request and an engine without degrade give exactly
 * what they gave before. Flite speech through mu-law. */
#include "ps_fixture.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The fixture's engine (stt) has no degrade; this one degrades after
 * DEGRADE_MS. */
#define DEGRADE_MS 250u
static struct stt_engine *deg;

/* Word error rate bound of the fast decoders on lm_exact: measured 0 %
 * (the full decoders: 0 %), with margin for other flite builds. */
#define FAST_WER_MAX 0.25

static int setup(void **s)
{
	(void)s;
	if (ps_fixture_open())
		return -1;
	struct stt_engine_cfg cfg = { .pool_size = 2,
				      .degrade = true,
				      .degrade_ms = DEGRADE_MS };
	return stt_pocketsphinx_ops.open(&deg, &cfg);
}

static int teardown(void **s)
{
	(void)s;
	stt_pocketsphinx_ops.close(deg);
	deg = NULL;
	ps_fixture_close();
	return 0;
}

static const char *const bank_lm[] = {
	"what is my balance",
	"check my balance please",
	"i lost my card",
	"my card was stolen",
	"please block my credit card",
	"i want to transfer money",
	"transfer money to my savings account",
	"connect me to an agent please",
	"what are my recent transactions",
	"pay my credit card bill",
	"i forgot my pin",
	"reset my pin please",
};
#define NBANK (sizeof(bank_lm) / sizeof(*bank_lm))

static const char *const lm_exact[] = { "i lost my card",
					"i want to transfer money",
					"pay my credit card bill",
					"i forgot my pin" };
#define NLMEXACT (sizeof(lm_exact) / sizeof(*lm_exact))
static const char *const voices[] = { "kal", "slt" };

static long rss_kb(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long pages = 0, rss = 0;
	if (!f)
		return 0;
	if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
		rss = 0;
	fclose(f);
	return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

static void decode(struct stt_engine *e, const struct stt_request *req,
		   const int16_t *pcm, size_t n, struct stt_result *res)
{
	assert_int_equal(stt_engine_decode(e, req, pcm, n, res), 0);
	assert_string_equal(res->engine, "pocketsphinx");
	assert_true(res->confidence >= 0 && res->confidence <= 1);
}

static void lm_decodes_degrade_once_they_waited_degrade_ms(void **s)
{
	(void)s;
	struct stt_grammar *lm = NULL;
	assert_int_equal(
		stt_grammar_create(&lm, STT_MODE_LM, bank_lm, NBANK, 0), 0);
	assert_int_equal(stt_pocketsphinx_ops.prepare(stt, lm), 0);
	assert_int_equal(stt_pocketsphinx_ops.prepare(deg, lm), 0);
	struct stt_request req = { .mode = STT_MODE_LM, .grammar = lm };
	size_t errors = 0, words = 0;
	long rss0 = rss_kb();
	for (size_t v = 0; v < 2; v++)
		for (size_t i = 0; i < NLMEXACT; i++) {
			size_t n;
			int16_t *pcm = speak(voices[v], lm_exact[i], &n);
			struct stt_result full, now, late, fast, again;
			req.queued_ms = 0;
			decode(stt, &req, pcm, n, &full);
			decode(deg, &req, pcm, n, &now);
			req.queued_ms = DEGRADE_MS - 1;
			decode(deg, &req, pcm, n, &late);
			req.queued_ms = DEGRADE_MS;
			decode(deg, &req, pcm, n, &fast);
			if (v == 0 && i == 0)
				print_message("RSS +%.1f MB with the first "
					      "fast decoder\n",
					      (rss_kb() - rss0) / 1024.0);
			req.queued_ms = 60000;
			decode(deg, &req, pcm, n, &again);
			free(pcm);
			/* below the threshold: the full decoders, unchanged */
			assert_false(full.degraded);
			assert_false(now.degraded);
			assert_false(late.degraded);
			assert_string_equal(now.text, full.text);
			assert_string_equal(late.text, full.text);
			/* at and above it: the fast ones, deterministic */
			assert_true(fast.degraded);
			assert_true(again.degraded);
			assert_string_equal(again.text, fast.text);
			size_t nref;
			errors += stt_word_edits(lm_exact[i], fast.text, &nref);
			words += nref;
			print_message(
				"%s %-26s full %-26s fast %-26s conf %.3f "
				"/ %.3f, %.1f / %.1f ms\n",
				voices[v], lm_exact[i], full.text, fast.text,
				full.confidence, fast.confidence,
				full.decode_us / 1000.0,
				fast.decode_us / 1000.0);
		}
	print_message("fast decoders: WER %.1f%% (%zu/%zu)\n",
		      100.0 * (double)errors / (double)words, errors, words);
	assert_true((double)errors <= FAST_WER_MAX * (double)words);

	/* a grammar prepared after the fast decoders loaded reaches them */
	static const char *const more[] = { "i want to pay my bill",
					    "i lost my card" };
	struct stt_grammar *lm2 = NULL;
	assert_int_equal(stt_grammar_create(&lm2, STT_MODE_LM, more, 2, 0), 0);
	assert_int_equal(stt_pocketsphinx_ops.prepare(deg, lm2), 0);
	size_t n;
	int16_t *pcm = speak("kal", "i lost my card", &n);
	struct stt_request req2 = { .mode = STT_MODE_LM,
				    .grammar = lm2,
				    .queued_ms = DEGRADE_MS };
	struct stt_result r;
	decode(deg, &req2, pcm, n, &r);
	free(pcm);
	assert_true(r.degraded);
	assert_string_equal(r.text, "i lost my card");
	stt_grammar_deref(lm2);
	stt_grammar_deref(lm);
}

struct late {
	struct stt_engine *e;
	const struct stt_request *req;
	const int16_t *pcm;
	size_t n;
	pthread_barrier_t *go;
	int err;
	struct stt_result res;
};

static void *late_decode(void *arg)
{
	struct late *l = arg;
	pthread_barrier_wait(l->go);
	l->err = stt_engine_decode(l->e, l->req, l->pcm, l->n, &l->res);
	return NULL;
}

/* One fast and one full decoder (pool_size 1), two late LM decodes at
 * once: the one that finds the fast decoder taken (or still loading) runs on
 * the free full decoder at full accuracy instead of waiting for it. The two
 * start together and each decode lasts hundreds of ms, so they overlap; a
 * try where one ran wholly before the other (both degraded) is run again,
 * and without the preference every try has both degraded. */
static void a_late_decode_takes_a_free_full_decoder_over_waiting(void **s)
{
	(void)s;
	struct stt_engine *one = NULL;
	struct stt_engine_cfg cfg = { .pool_size = 1,
				      .degrade = true,
				      .degrade_ms = DEGRADE_MS };
	assert_int_equal(stt_pocketsphinx_ops.open(&one, &cfg), 0);
	struct stt_grammar *lm = NULL;
	assert_int_equal(
		stt_grammar_create(&lm, STT_MODE_LM, bank_lm, NBANK, 0), 0);
	assert_int_equal(stt_pocketsphinx_ops.prepare(stt, lm), 0);
	assert_int_equal(stt_pocketsphinx_ops.prepare(one, lm), 0);
	size_t n;
	int16_t *pcm = speak(
		"kal", "i want to transfer money to my savings account", &n);
	struct stt_request req = { .mode = STT_MODE_LM, .grammar = lm };
	struct stt_result full;
	decode(stt, &req, pcm, n, &full);
	req.queued_ms = DEGRADE_MS;
	struct late l[2];
	unsigned ndeg = 0;
	for (int tries = 0; tries < 3 && ndeg != 1; tries++) {
		pthread_barrier_t go;
		pthread_t t[2];
		assert_int_equal(pthread_barrier_init(&go, NULL, 2), 0);
		for (int i = 0; i < 2; i++) {
			l[i] = (struct late){ .e = one,
					      .req = &req,
					      .pcm = pcm,
					      .n = n,
					      .go = &go };
			assert_int_equal(
				pthread_create(&t[i], NULL, late_decode, &l[i]),
				0);
		}
		ndeg = 0;
		for (int i = 0; i < 2; i++) {
			pthread_join(t[i], NULL);
			assert_int_equal(l[i].err, 0);
			ndeg += l[i].res.degraded;
		}
		pthread_barrier_destroy(&go);
		print_message("try %d: %u of 2 degraded (%.1f / %.1f ms)\n",
			      tries, ndeg, l[0].res.decode_us / 1000.0,
			      l[1].res.decode_us / 1000.0);
	}
	free(pcm);
	assert_int_equal(ndeg, 1);
	const struct stt_result *other =
		l[0].res.degraded ? &l[1].res : &l[0].res;
	assert_string_equal(other->text, full.text);
	assert_float_equal(other->confidence, full.confidence, 0.02);
	stt_grammar_deref(lm);
	stt_pocketsphinx_ops.close(one);
}

static void grammar_decodes_never_degrade(void **s)
{
	(void)s;
	static const char *const menu[] = { "balance", "agent", "lost card",
					    "main menu" };
	static const char *const say[] = { "four one one one", "agent",
					   "lost card" };
	struct stt_grammar *g = NULL;
	assert_int_equal(stt_grammar_create(&g, STT_MODE_GRAMMAR, menu, 4,
					    STT_CLASS_DIGITS),
			 0);
	for (size_t v = 0; v < 2; v++)
		for (size_t i = 0; i < sizeof(say) / sizeof(*say); i++) {
			size_t n;
			int16_t *pcm = speak(voices[v], say[i], &n);
			struct stt_request req = { .mode = STT_MODE_GRAMMAR,
						   .grammar = g };
			struct stt_result full, late;
			decode(stt, &req, pcm, n, &full);
			req.queued_ms = 60000;
			decode(deg, &req, pcm, n, &late);
			free(pcm);
			assert_false(late.degraded);
			assert_string_equal(late.text, say[i]);
			assert_string_equal(late.text, full.text);
			assert_float_equal(late.confidence, full.confidence,
					   1e-6);
		}
	stt_grammar_deref(g);
}

static void an_engine_without_degrade_never_degrades(void **s)
{
	(void)s;
	static const char *const lm_text[] = { "i lost my card",
					       "what is my balance" };
	struct stt_grammar *lm = NULL;
	assert_int_equal(stt_grammar_create(&lm, STT_MODE_LM, lm_text, 2, 0),
			 0);
	size_t n;
	int16_t *pcm = speak("slt", "what is my balance", &n);
	struct stt_request req = { .mode = STT_MODE_LM,
				   .grammar = lm,
				   .queued_ms = 60000 };
	struct stt_result r;
	decode(stt, &req, pcm, n, &r);
	free(pcm);
	assert_false(r.degraded);
	assert_string_equal(r.text, "what is my balance");
	stt_grammar_deref(lm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			lm_decodes_degrade_once_they_waited_degrade_ms),
		cmocka_unit_test(
			a_late_decode_takes_a_free_full_decoder_over_waiting),
		cmocka_unit_test(grammar_decodes_never_degrade),
		cmocka_unit_test(an_engine_without_degrade_never_degrades),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

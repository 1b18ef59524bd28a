/* Real decoding with the PocketSphinx engine: menu phrases and digit
 * strings spoken by flite (kal and slt), through G.711 mu-law, recognized
 * in GRAMMAR mode; banking sentences in LM mode; the decoder pool used from
 * several threads gives the same results as serial runs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audio/clip.h"
#include "audio/g711.h"
#include "core/clock.h"
#include "engines/stt/pocketsphinx/stt_pocketsphinx.h"
#include "engines/stt/stt.h"
#include "engines/tts/flite/tts_flite.h"

#include "ps_fixture.h"

/* Word error rate bound of the LM-mode test: measured 0.0%, with margin
 * for other flite or pocketsphinx builds. */
#define LM_WER_MAX 0.15

static int setup(void **s)
{
	(void)s;
	if (ps_fixture_open())
		return -1;
	fprintf(stderr, "open: %u ms per decoder (%llu ms total)\n",
		stt_pocketsphinx_load_ms(stt),
		(unsigned long long)ps_open_us / 1000);
	return 0;
}

static int teardown(void **s)
{
	(void)s;
	ps_fixture_close();
	return 0;
}

static const char *const menu[] = {
	"balance",
	"card services",
	"agent",
	"yes",
	"no",
	"lost card",
	"recent transactions",
	"transfer money",
	"main menu",
	"repeat that",
};
#define NMENU (sizeof(menu) / sizeof(*menu))
static const char *const digits[] = { "four one one one", "one two three four",
				      "nine zero five" };
#define NDIGITS (sizeof(digits) / sizeof(*digits))
static const char *const voices[] = { "kal", "slt" };

static struct stt_grammar *menu_grammar(void)
{
	struct stt_grammar *g = NULL;
	assert_int_equal(stt_grammar_create(&g, STT_MODE_GRAMMAR, menu, NMENU,
					    STT_CLASS_DIGITS),
			 0);
	return g;
}

static void decode_text(const struct stt_grammar *g, enum stt_mode mode,
			const char *voice, const char *say,
			struct stt_result *res)
{
	size_t n;
	int16_t *pcm = speak(voice, say, &n);
	struct stt_request req = { .mode = mode, .grammar = g };
	assert_int_equal(stt_engine_decode(stt, &req, pcm, n, res), 0);
	free(pcm);
	assert_string_equal(res->engine, "pocketsphinx");
	assert_true(res->confidence >= 0 && res->confidence <= 1);
	assert_int_equal(res->audio_ms, n / 8);
}

static void grammar_mode_recognizes_menu_phrases_and_digits(void **s)
{
	(void)s;
	struct stt_grammar *g = menu_grammar();
	assert_int_equal(stt_pocketsphinx_ops.prepare(stt, g), 0);
	unsigned ok = 0, total = 0;
	uint64_t us = 0, audio_ms = 0;
	for (size_t v = 0; v < 2; v++) {
		double conf_sum = 0;
		for (size_t i = 0; i < NMENU + NDIGITS; i++) {
			int isdig = i >= NMENU;
			const char *say = isdig ? digits[i - NMENU] : menu[i];
			struct stt_result res;
			decode_text(g, STT_MODE_GRAMMAR, voices[v], say, &res);
			/* a digit string is the class, not a phrase */
			int good = !strcmp(res.text, say) &&
				   (isdig ? res.grammar_phrase == NULL
					  : res.grammar_phrase &&
						    !strcmp(res.grammar_phrase,
							    say));
			ok += (unsigned)good;
			total++;
			us += res.decode_us;
			audio_ms += res.audio_ms;
			conf_sum += res.confidence;
			print_message(
				"%s %-20s -> %-20s conf %.3f %6.1f ms%s\n",
				voices[v], say, res.text, res.confidence,
				res.decode_us / 1000.0, good ? "" : " WRONG");
		}
		/* out of grammar: forced onto digits, with a lower score */
		struct stt_result oog;
		decode_text(g, STT_MODE_GRAMMAR, voices[v],
			    "what is the weather like today", &oog);
		double mean = conf_sum / (NMENU + NDIGITS);
		print_message("%s out-of-grammar -> %s conf %.3f (in-grammar "
			      "mean %.3f)\n",
			      voices[v], oog.text, oog.confidence, mean);
		assert_true(oog.confidence < mean);
	}
	print_message("grammar accuracy %u/%u, decode %.1f ms avg, audio %.2f "
		      "s avg, RTF %.3f\n",
		      ok, total, us / 1000.0 / total, audio_ms / 1000.0 / total,
		      us / 1000.0 / audio_ms);
	assert_true(ok * 100 >= total * 95);
	stt_grammar_deref(g);
}

/* Training text of a banking domain LM (intent examples and hints). */
static const char *const bank_lm[] = {
	"what is my balance",
	"what is my account balance",
	"check my balance please",
	"i want to check my balance",
	"i lost my card",
	"my card was stolen",
	"i need to block my card",
	"please block my credit card",
	"i want to transfer money",
	"transfer money to my savings account",
	"send money to my checking account",
	"i want to talk to an agent",
	"let me speak to a person",
	"connect me to an agent please",
	"what are my recent transactions",
	"show my last transactions",
	"i want to pay my bill",
	"pay my credit card bill",
	"when is my payment due",
	"i want to open a new account",
	"what is the interest rate",
	"my card is not working",
	"i forgot my pin",
	"reset my pin please",
	"activate my new card",
};
#define NBANK (sizeof(bank_lm) / sizeof(*bank_lm))

static const char *const bank_test[] = {
	"i lost my card",	    "what is my balance",
	"i want to transfer money", "connect me to an agent please",
	"pay my credit card bill",  "i forgot my pin",
};
#define NBANKTEST (sizeof(bank_test) / sizeof(*bank_test))

static void lm_mode_transcribes_banking_sentences(void **s)
{
	(void)s;
	struct stt_grammar *g = NULL;
	assert_int_equal(stt_grammar_create(&g, STT_MODE_LM, bank_lm, NBANK, 0),
			 0);
	size_t errors = 0, words = 0;
	uint64_t us = 0, audio_ms = 0;
	for (size_t v = 0; v < 2; v++)
		for (size_t i = 0; i < NBANKTEST; i++) {
			struct stt_result res;
			decode_text(g, STT_MODE_LM, voices[v], bank_test[i],
				    &res);
			size_t nref;
			size_t e =
				stt_word_edits(bank_test[i], res.text, &nref);
			errors += e;
			words += nref;
			us += res.decode_us;
			audio_ms += res.audio_ms;
			assert_null(res.grammar_phrase);
			print_message("%s %-30s -> %-30s conf %.3f %6.1f ms\n",
				      voices[v], bank_test[i], res.text,
				      res.confidence, res.decode_us / 1000.0);
		}
	double wer = (double)errors / (double)words;
	print_message("LM-mode WER %.1f%% (%zu/%zu), decode %.1f ms avg, "
		      "audio %.2f s avg, RTF %.3f\n",
		      100 * wer, errors, words, us / 1000.0 / (2 * NBANKTEST),
		      audio_ms / 1000.0 / (2 * NBANKTEST),
		      us / 1000.0 / audio_ms);
	assert_true(wer <= LM_WER_MAX);
	stt_grammar_deref(g);
}

static uint64_t thread_cpu_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* LM mode with its own search settings (stt_pocketsphinx.c, lm_opts:
 * no flat-lexicon second pass, ...): an LM installed by prepare() on
 * every decoder gets flite sentences word for word; the decoder's CPU for
 * the first decode after prepare() is about that of the next one (no
 * warm-up hides in it); and a grammar search built on the same decoders
 * after the LM still decodes digits right (the LM settings are set only
 * while the LM search is created). */
static const char *const lm_exact[] = { "i lost my card",
					"i want to transfer money",
					"pay my credit card bill",
					"i forgot my pin" };
#define NLMEXACT (sizeof(lm_exact) / sizeof(*lm_exact))

static void lm_settings_keep_sentences_right_and_grammar_unchanged(void **s)
{
	(void)s;
	struct stt_grammar *lm = NULL;
	assert_int_equal(
		stt_grammar_create(&lm, STT_MODE_LM, bank_lm, NBANK, 0), 0);
	assert_int_equal(stt_pocketsphinx_ops.prepare(stt, lm), 0);
	struct stt_request req = { .mode = STT_MODE_LM, .grammar = lm };
	for (size_t v = 0; v < 2; v++)
		for (size_t i = 0; i < NLMEXACT; i++) {
			size_t n;
			int16_t *pcm = speak(voices[v], lm_exact[i], &n);
			uint64_t cpu[2];
			struct stt_result res[2];
			for (int k = 0; k < 2; k++) {
				uint64_t c0 = thread_cpu_us();
				assert_int_equal(stt_engine_decode(stt, &req,
								   pcm, n,
								   &res[k]),
						 0);
				cpu[k] = thread_cpu_us() - c0;
			}
			free(pcm);
			print_message("%s %-26s -> %-26s cpu first %.1f ms, "
				      "again %.1f ms\n",
				      voices[v], lm_exact[i], res[0].text,
				      cpu[0] / 1000.0, cpu[1] / 1000.0);
			assert_string_equal(res[0].text, lm_exact[i]);
			assert_string_equal(res[1].text, lm_exact[i]);
			assert_true(cpu[0] <= 2 * cpu[1] + 20000);
		}
	struct stt_grammar *gm = menu_grammar();
	for (size_t v = 0; v < 2; v++)
		for (size_t i = 0; i < NDIGITS; i++) {
			struct stt_result res;
			decode_text(gm, STT_MODE_GRAMMAR, voices[v], digits[i],
				    &res);
			assert_string_equal(res.text, digits[i]);
		}
	stt_grammar_deref(gm);
	stt_grammar_deref(lm);
}

/* The pool: 3 threads share 2 decoders, each decoding every utterance
 * (GRAMMAR and LM searches alternate on the same decoders); texts match
 * the serial run exactly, so a decoder carries nothing over that changes
 * a result. Grammar confidences match exactly too; an LM-mode one may move
 * by up to LM_CONF_JITTER: without the flat second pass (lm_opts in
 * stt_pocketsphinx.c) the path score keeps the first frame's acoustic
 * normalisation, which PocketSphinx's PTM scorer starts from the last
 * frame the decoder scored before (measured: 0.747 vs 0.755). */
#define POOL_UTTS 6
#define LM_CONF_JITTER 0.03f
struct job {
	const struct stt_grammar *g[POOL_UTTS];
	enum stt_mode mode[POOL_UTTS];
	int16_t *pcm[POOL_UTTS];
	size_t n[POOL_UTTS];
	char serial[POOL_UTTS][STT_TEXT_MAX + 1];
	float conf[POOL_UTTS];
	unsigned start;
	int mismatches;
	int errors;
};

static void *pool_thread(void *arg)
{
	struct job *j = arg;
	for (unsigned k = 0; k < 2 * POOL_UTTS; k++) {
		unsigned i = (j->start + k) % POOL_UTTS;
		struct stt_request req = { .mode = j->mode[i],
					   .grammar = j->g[i] };
		struct stt_result res;
		if (stt_engine_decode(stt, &req, j->pcm[i], j->n[i], &res)) {
			j->errors++;
			continue;
		}
		float tol = j->mode[i] == STT_MODE_LM ? LM_CONF_JITTER : 0;
		if (strcmp(res.text, j->serial[i]) ||
		    fabsf(res.confidence - j->conf[i]) > tol) {
			print_message("pool mismatch: %s (%.3f) vs serial %s "
				      "(%.3f)\n",
				      res.text, res.confidence, j->serial[i],
				      j->conf[i]);
			j->mismatches++;
		}
	}
	return NULL;
}

static void pool_from_three_threads_matches_serial_results(void **s)
{
	(void)s;
	struct stt_grammar *gm = menu_grammar(), *lm = NULL;
	assert_int_equal(
		stt_grammar_create(&lm, STT_MODE_LM, bank_lm, NBANK, 0), 0);
	static const char *const say[POOL_UTTS] = {
		"card services", "four one one one",   "i lost my card",
		"agent",	 "what is my balance", "main menu"
	};
	/* searches on every decoder first, as at flow load */
	assert_int_equal(stt_pocketsphinx_ops.prepare(stt, gm), 0);
	assert_int_equal(stt_pocketsphinx_ops.prepare(stt, lm), 0);
	struct job base = { 0 };
	for (unsigned i = 0; i < POOL_UTTS; i++) {
		int is_lm = i == 2 || i == 4;
		base.g[i] = is_lm ? lm : gm;
		base.mode[i] = is_lm ? STT_MODE_LM : STT_MODE_GRAMMAR;
		base.pcm[i] = speak(voices[i % 2], say[i], &base.n[i]);
		struct stt_request req = { .mode = base.mode[i],
					   .grammar = base.g[i] };
		struct stt_result res;
		assert_int_equal(stt_engine_decode(stt, &req, base.pcm[i],
						   base.n[i], &res),
				 0);
		assert_true(res.text[0] != '\0');
		memcpy(base.serial[i], res.text, sizeof(res.text));
		base.conf[i] = res.confidence;
	}
	struct job jobs[3];
	pthread_t th[3];
	uint64_t t0 = clock_mono_us();
	for (unsigned t = 0; t < 3; t++) {
		jobs[t] = base;
		jobs[t].start = t * 2;
		assert_int_equal(
			pthread_create(&th[t], NULL, pool_thread, &jobs[t]), 0);
	}
	for (unsigned t = 0; t < 3; t++) {
		pthread_join(th[t], NULL);
		assert_int_equal(jobs[t].errors, 0);
		assert_int_equal(jobs[t].mismatches, 0);
	}
	print_message("pool: %u decodes on 2 decoders from 3 threads in %llu "
		      "ms\n",
		      3 * 2 * POOL_UTTS,
		      (unsigned long long)(clock_mono_us() - t0) / 1000);
	for (unsigned i = 0; i < POOL_UTTS; i++)
		free(base.pcm[i]);
	stt_grammar_deref(gm);
	stt_grammar_deref(lm);
}

/* Bad requests are refused before touching a decoder; silence is a
 * no-match (empty text), not an error. */
static void bad_requests_are_refused_and_silence_is_no_match(void **s)
{
	(void)s;
	struct stt_grammar *g = menu_grammar();
	int16_t pcm[8000] = { 0 };
	struct stt_result res;
	struct stt_request req = { .mode = STT_MODE_GRAMMAR, .grammar = NULL };
	assert_int_equal(stt_engine_decode(stt, &req, pcm, 8000, &res),
			 -EINVAL);
	req = (struct stt_request){ .mode = STT_MODE_LM, .grammar = g };
	assert_int_equal(stt_engine_decode(stt, &req, pcm, 8000, &res),
			 -EINVAL);
	req = (struct stt_request){ .mode = STT_MODE_GRAMMAR, .grammar = g };
	assert_int_equal(stt_engine_decode(stt, &req, NULL, 8000, &res),
			 -EINVAL);
	assert_int_equal(stt_engine_decode(stt, &req, pcm,
					   (size_t)STT_UTTERANCE_MAX_MS * 8 + 1,
					   &res),
			 -EINVAL);
	assert_int_equal(stt_pocketsphinx_ops.prepare(stt, NULL), -EINVAL);
	assert_int_equal(stt_engine_decode(stt, &req, pcm, 8000, &res), 0);
	assert_string_equal(res.text, "");
	assert_null(res.grammar_phrase);
	assert_true(res.confidence == 0);
	assert_int_equal(res.audio_ms, 1000);
	stt_grammar_deref(g);
}

/* OPEN mode: the generic en-us LM on its own decoder, loaded on first
 * use. 8 kHz telephone audio suits it poorly, so only words of a clear
 * sentence are asked for. */
static void open_mode_decodes_with_the_generic_lm(void **s)
{
	(void)s;
	struct stt_result res;
	uint64_t t0 = clock_mono_us();
	decode_text(NULL, STT_MODE_OPEN, "slt", "i lost my credit card", &res);
	print_message("open: \"%s\" conf %.3f, first decode (with load) %llu "
		      "ms\n",
		      res.text, res.confidence,
		      (unsigned long long)(clock_mono_us() - t0) / 1000);
	assert_non_null(strstr(res.text, "card"));
	assert_null(res.grammar_phrase);
	decode_text(NULL, STT_MODE_OPEN, "slt", "i lost my credit card", &res);
	print_message("open: second decode %.1f ms\n", res.decode_us / 1000.0);
}

/* A model directory without the model is -ENOENT (the daemon runs
 * without the engine). */
static void missing_model_is_enoent(void **s)
{
	(void)s;
	struct stt_engine *e = NULL;
	struct stt_engine_cfg cfg = { .model_dir = "/nonexistent" };
	assert_int_equal(stt_pocketsphinx_ops.open(&e, &cfg), -ENOENT);
	assert_null(e);
	stt_pocketsphinx_ops.close(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			grammar_mode_recognizes_menu_phrases_and_digits),
		cmocka_unit_test(lm_mode_transcribes_banking_sentences),
		cmocka_unit_test(
			lm_settings_keep_sentences_right_and_grammar_unchanged),
		cmocka_unit_test(
			pool_from_three_threads_matches_serial_results),
		cmocka_unit_test(
			bad_requests_are_refused_and_silence_is_no_match),
		cmocka_unit_test(open_mode_decodes_with_the_generic_lm),
		cmocka_unit_test(missing_model_is_enoent),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

/* voxgate's own Moonshine decoder on onnxruntime (moonort.h): tokens.txt is
 * parsed strictly (malformed files are -EBADMSG with a line number), a
 * missing or broken model is a clear error and never a crash, greedy
 * decoding gives sherpa-onnx's transcript, the domain LM fixes what the
 * LM was made for, and open speech decodes with the beam (stt.open_beam).
 * The decoding tests need deps/ (scripts/fetch-models.sh)
 * and are skipped without it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audio/clip.h"
#include "audio/g711.h"
#include "engines/stt/sherpa/beam.h"
#include "engines/stt/sherpa/moonort.h"
#include "engines/stt/sherpa/ngram.h"
#include "engines/stt/sherpa/sherpa.h"
#include "engines/stt/sherpa/tailpad.h"
#include "engines/stt/stt.h"
#include "engines/tts/flite/tts_flite.h"

#include "moonshine_fixture.h"

static bool deps_installed(void)
{
	return moonshine_deps_installed("libonnxruntime.so");
}

/* ---- tokens.txt ---- */

static void tokens_parse_maps_ids_to_bytes(void **state)
{
	/* " card" = IGNhcmQ=, "d" = ZA==, "\xe2\x82\xac" (euro) = 4oKs */
	const char *good = "IGNhcmQ= 3\r\nZA== 5\n\n4oKs 6";
	char **text = NULL;
	unsigned line = 0;

	(void)state;
	assert_int_equal(
		moonort_tokens_parse(good, strlen(good), 8, &text, &line), 0);
	assert_null(text[0]);
	assert_string_equal(text[3], " card");
	assert_null(text[4]);
	assert_string_equal(text[5], "d");
	assert_string_equal(text[6], "\xe2\x82\xac");
	moonort_tokens_free(text, 8);
}

static void malformed_tokens_are_ebadmsg_with_the_line(void **state)
{
	static const struct {
		const char *buf;
		unsigned line;
	} bad[] = {
		{ "ZA== 3\nZA==3\n", 2 },	   /* no space */
		{ "ZA== 3\n!!!! 4\n", 2 },	   /* not base64 */
		{ "ZA== 3\nZA== 8\n", 2 },	   /* id past the vocabulary */
		{ "ZA== 3\nZQ== 3\n", 2 },	   /* id twice */
		{ "ZA== x\n", 1 },		   /* id not a number */
		{ "ZA== -1\n", 1 },		   /* negative id */
		{ "ZA== 3 4\n", 1 },		   /* trailing field */
		{ " 3\n", 1 },			   /* no token */
		{ "ZA== \n", 1 },		   /* no id */
		{ "AA== 3\n", 1 },		   /* a NUL byte */
		{ "ZA== 99999999999999999\n", 1 }, /* absurd id */
		{ "\n\n", 2 },			   /* nothing at all */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char **text = NULL;
		unsigned line = 0;

		assert_int_equal(moonort_tokens_parse(bad[i].buf,
						      strlen(bad[i].buf), 8,
						      &text, &line),
				 -EBADMSG);
		assert_null(text);
		assert_int_equal(line, bad[i].line);
	}
}

/* ---- models ---- */

static void write_file(const char *path, const char *s)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(s, f) >= 0, 1);
	fclose(f);
}

static void copy_file(const char *from, const char *to)
{
	char cmd[8400];

	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", from, to);
	assert_int_equal(system(cmd), 0);
}

static void broken_installs_are_clear_errors(void **state)
{
	char dir[] = "/tmp/vg-moonort.XXXXXX";
	char p[4096], src[4096];
	struct moonort *m = NULL;

	(void)state;
	if (!deps_installed())
		skip();
	assert_non_null(mkdtemp(dir));
	/* no model files: not installed */
	assert_int_equal(moonort_create(&m, NULL, dir, 1), -ENOENT);
	/* model files that are not ONNX: the library says no, we say -EIO */
	snprintf(p, sizeof(p), "%s/encoder_model.onnx", dir);
	write_file(p, "not a model");
	snprintf(p, sizeof(p), "%s/decoder_model_merged.onnx", dir);
	write_file(p, "not a model either");
	snprintf(p, sizeof(p), "%s/tokens.txt", dir);
	write_file(p, "ZA== 3\n");
	assert_int_equal(moonort_create(&m, NULL, dir, 1), -EIO);
	/* the encoder where the decoder should be: wrong inputs, -EIO */
	snprintf(src, sizeof(src), "%s/moonshine-tiny/encoder_model.onnx",
		 sherpa_deps_dir());
	snprintf(p, sizeof(p), "%s/encoder_model.onnx", dir);
	copy_file(src, p);
	snprintf(p, sizeof(p), "%s/decoder_model_merged.onnx", dir);
	copy_file(src, p);
	assert_int_equal(moonort_create(&m, NULL, dir, 1), -EIO);
	/* real models, a broken tokens.txt: -EBADMSG */
	snprintf(src, sizeof(src),
		 "%s/moonshine-tiny/decoder_model_merged.onnx",
		 sherpa_deps_dir());
	copy_file(src, p);
	snprintf(p, sizeof(p), "%s/tokens.txt", dir);
	write_file(p, "ZA== 3\nthis is not a token line\n");
	assert_int_equal(moonort_create(&m, NULL, dir, 1), -EBADMSG);
	assert_null(m);
	snprintf(p, sizeof(p),
		 "rm -f '%s'/encoder_model.onnx '%s'/decoder_model_merged.onnx "
		 "'%s'/tokens.txt",
		 dir, dir, dir);
	assert_int_equal(system(p), 0);
	rmdir(dir);
}

/* flite kal through G.711 with 300 ms of silence each side, as in the
 * benchmark set (bench/speech/make_set.sh) */
#define PAD 2400

static struct audio_clip *said_on_the_phone(const char *s)
{
	struct tts_engine *tts = NULL;
	struct audio_clip *c;

	assert_int_equal(tts_flite_ops.open(&tts), 0);
	c = phone_speech(tts, s, PAD);
	tts_flite_ops.close(tts);
	return c;
}

/* One model per process, shared by directory (sherpa_shared): a second
 * create() is the same object, another directory is refused, and the
 * model stays usable until the last reference goes. */
static void second_create_shares_the_model(void **state)
{
	struct moonort *a = NULL, *b = NULL;
	char dir[] = "/tmp/vg-moonort-other.XXXXXX";
	struct beam_cfg greedy = { .width = 1 };
	struct audio_clip *c;
	char text[256];

	(void)state;
	if (!deps_installed())
		skip();
	assert_int_equal(moonort_create(&a, NULL, NULL, 1), 0);
	assert_int_equal(moonort_create(&b, NULL, NULL, 1), 0);
	assert_ptr_equal(a, b);
	assert_non_null(mkdtemp(dir));
	assert_int_equal(moonort_create(&b, NULL, dir, 1), -EBUSY);
	rmdir(dir);
	moonort_destroy(a);
	c = said_on_the_phone("i want to check my balance");
	assert_int_equal(moonort_decode(b, c->samples, c->nsamples, 8000, NULL,
					&greedy, text, sizeof(text), NULL),
			 0);
	assert_string_equal(text, "i want to check my balance");
	audio_clip_deref(c);
	moonort_destroy(b);
	/* gone with the last reference: a new create loads it again */
	assert_int_equal(moonort_create(&a, NULL, NULL, 1), 0);
	moonort_destroy(a);
}

/* The benchmark's domain text: BANKING77's training sentences (the sentences
 * said below are from its test part), through the same grammar parser and
 * LM build as the engine. */
static struct stt_grammar *banking_grammar(void)
{
	const char *src = getenv("VG_SOURCE_DIR");
	char path[4096], msg[128];
	struct stt_grammar *g = NULL;
	char *buf;
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/data/banking77/train.tsv",
		 src ? src : VG_SOURCE_DIR);
	f = fopen(path, "rb");
	assert_non_null(f);
	buf = malloc(STT_GRAMMAR_FILE_MAX);
	assert_non_null(buf);
	n = fread(buf, 1, STT_GRAMMAR_FILE_MAX, f);
	fclose(f);
	assert_int_equal(
		stt_grammar_parse(buf, n, STT_MODE_LM, 0, &g, msg, sizeof(msg)),
		0);
	free(buf);
	return g;
}

static struct ngram_lm *banking_lm(void)
{
	struct stt_grammar *g = banking_grammar();
	struct ngram_lm *lm = NULL;
	const char **sent;
	size_t n;

	n = stt_grammar_count(g);
	sent = calloc(n, sizeof(*sent));
	assert_non_null(sent);
	for (size_t i = 0; i < n; i++)
		sent[i] = stt_grammar_phrase(g, i);
	assert_int_equal(ngram_lm_build(&lm, sent, n, 0.02), 0);
	free(sent);
	stt_grammar_deref(g);
	return lm;
}

static void greedy_matches_sherpa_and_the_lm_fixes_domain_words(void **state)
{
	/* BANKING77 test sentences on which greedy Moonshine errs (the
	 * benchmark set, 2026-11-24: "my car does not work", "my car got
	 * lost", "the top half limit") */
	static const char *const said[] = {
		"my card does not work",
		"my card got lost",
		"what is the top up limit",
	};
	const struct beam_cfg greedy = { .width = 1 };
	const struct beam_cfg fused = { .width = 4,
					.lambda = 0.4,
					.beta = 1.25 };
	struct sherpa_asr *asr = NULL;
	struct ngram_lm *lm = NULL;
	struct moonort *m = NULL;
	size_t e_greedy = 0, e_lm = 0, nref = 0;
	struct beam_out out;

	(void)state;
	if (!deps_installed())
		skip();
	assert_int_equal(moonort_create(&m, NULL, NULL, 1), 0);
	assert_int_equal(sherpa_asr_create(&asr, NULL, 1), 0);
	lm = banking_lm();
	for (size_t i = 0; i < sizeof(said) / sizeof(said[0]); i++) {
		struct audio_clip *c = said_on_the_phone(said[i]);
		char a[256], b[256], l[256];
		size_t n;

		struct sherpa_asr_score sc;
		struct beam_out og;

		assert_int_equal(sherpa_asr_decode_scored(asr, c->samples,
							  c->nsamples, 8000, a,
							  sizeof(a), &sc),
				 0);
		assert_int_equal(moonort_decode(m, c->samples, c->nsamples,
						8000, NULL, &greedy, b,
						sizeof(b), &og),
				 0);
		assert_int_equal(moonort_decode(m, c->samples, c->nsamples,
						8000, lm, &fused, l, sizeof(l),
						&out),
				 0);
		print_message(
			"said \"%s\": sherpa \"%s\" own \"%s\" lm \"%s\"\n",
			said[i], a, b, l);
		/* same front end, same greedy search: same words, counted
		 * the same way (the confidence heuristic's inputs: one scale
		 * for both decoders; punctuation tokens are not words) */
		assert_string_equal(a, b);
		assert_int_equal(og.ntokens, sc.ntokens);
		assert_int_equal(og.npieces, sc.npieces);
		/* the search's figures describe its text */
		assert_true(out.ntokens >= 4 && out.ntokens < 20);
		assert_true(out.model_lp < 0 && out.lp_min <= 0);
		assert_true(out.score > -100);
		e_greedy += stt_word_edits(said[i], b, &n);
		e_lm += stt_word_edits(said[i], l, NULL);
		nref += n;
		audio_clip_deref(c);
	}
	assert_true(e_greedy > 0); /* the sentences are hard ones */
	assert_true(e_lm < e_greedy);
	assert_int_equal(moonort_decode(m, NULL, 10, 8000, lm, &fused,
					(char[16]){ 0 }, 16, NULL),
			 -EINVAL);
	ngram_lm_destroy(lm);
	sherpa_asr_destroy(asr);
	moonort_destroy(m);
	(void)nref;
}

/* The engine: an LM request (what stt.c sends for an OPEN step with `lm`)
 * decodes with fusion, an open one without (the open beam keeps "car"),
 * prepare() builds the LM once. */
static void the_engine_decodes_with_the_step_lm(void **state)
{
	struct stt_grammar *g;
	struct stt_engine *e = NULL;
	struct audio_clip *c;
	struct stt_request open = { .mode = STT_MODE_OPEN };
	struct stt_request lmreq = { .mode = STT_MODE_LM };
	struct stt_result res;

	(void)state;
	if (!deps_installed())
		skip();
	g = banking_grammar();
	lmreq.grammar = g;
	assert_int_equal(stt_moonshine_ops.open(&e, NULL), 0);
	assert_int_equal(stt_moonshine_ops.prepare(e, g), 0);
	c = said_on_the_phone("my card got lost");
	assert_int_equal(
		stt_engine_decode(e, &open, c->samples, c->nsamples, &res), 0);
	assert_string_equal(res.text, "my car got lost");
	assert_int_equal(
		stt_engine_decode(e, &lmreq, c->samples, c->nsamples, &res), 0);
	assert_string_equal(res.text, "my card got lost");
	assert_string_equal(res.engine, "moonshine");
	assert_true(res.confidence > 0.5f && res.confidence <= 1.0f);
	assert_false(res.degraded);
	stt_moonshine_ops.close(e);

	/* late under load (stt.degrade): an LM step keeps its beam (at
	 * width 1 the LM could not fix "car") */
	struct stt_engine_cfg late = { .degrade = true, .degrade_ms = 300 };
	e = NULL;
	assert_int_equal(stt_moonshine_ops.open(&e, &late), 0);
	lmreq.queued_ms = 400;
	assert_int_equal(
		stt_engine_decode(e, &lmreq, c->samples, c->nsamples, &res), 0);
	assert_false(res.degraded);
	assert_string_equal(res.text, "my card got lost");
	audio_clip_deref(c);
	stt_moonshine_ops.close(e);
	stt_grammar_deref(g);
}

/* Open speech without a domain LM (stt.open_beam): the engine decodes it with
 * the beam search by default (width 4, margin 2), greedily with open_beam 1,
 * and a GRAMMAR step's phrase (stt.c snaps it: req.snap) greedily whatever
 * the setting. The sentence is one where the two searches differ (the
 * benchmark set, 2026-11-25: greedy "a list of ex chained rates"); both are
 * run here on the audio the engine decodes (its tail padding applied,
 * sherpa/tailpad.h), and the engine must give the one its setting asks for. */
static void open_speech_decodes_with_the_beam_unless_set_greedy(void **state)
{
	static const char said[] = "do you have a list of exchange rates";
	const struct beam_cfg greedy = { .width = 1 };
	const struct beam_cfg beam4 = { .width = 4, .prune = 2.0f };
	struct stt_engine_cfg one = { .open_beam = 1 };
	struct stt_engine_cfg bad = { .open_beam = BEAM_WIDTH_MAX + 1 };
	struct stt_request open = { .mode = STT_MODE_OPEN };
	struct stt_request snap = { .mode = STT_MODE_OPEN, .snap = true };
	struct stt_engine *e = NULL, *g = NULL;
	struct moonort *m = NULL;
	struct stt_result res;
	struct audio_clip *c;
	int16_t *pad = NULL;
	size_t npad = 0;
	char text[256], beamed[256];

	(void)state;
	if (!deps_installed())
		skip();
	c = said_on_the_phone(said);
	assert_int_equal(tailpad_clip(c->samples, c->nsamples, &pad, &npad), 1);
	assert_int_equal(moonort_create(&m, NULL, NULL, 1), 0);
	assert_int_equal(moonort_decode(m, pad, npad, 8000, NULL, &greedy,
					text, sizeof(text), NULL),
			 0);
	assert_int_equal(moonort_decode(m, pad, npad, 8000, NULL, &beam4,
					beamed, sizeof(beamed), NULL),
			 0);
	moonort_destroy(m);
	free(pad);
	assert_string_not_equal(text, beamed); /* the test's premise */

	assert_int_equal(stt_moonshine_ops.open(&e, NULL), 0);
	assert_int_equal(
		stt_engine_decode(e, &open, c->samples, c->nsamples, &res), 0);
	assert_string_equal(res.text, beamed);
	assert_true(res.confidence > 0.5f && res.confidence <= 1.0f);
	assert_int_equal(
		stt_engine_decode(e, &snap, c->samples, c->nsamples, &res), 0);
	assert_string_equal(res.text, text);

	assert_int_equal(stt_moonshine_ops.open(&g, &one), 0);
	assert_int_equal(
		stt_engine_decode(g, &open, c->samples, c->nsamples, &res), 0);
	assert_string_equal(res.text, text);
	stt_moonshine_ops.close(g);

	/* under load (stt.degrade): a request that waited degrade_ms in the
	 * worker queue decodes greedily and says so; one that waited less,
	 * and a snapped one (greedy anyway), are not degraded */
	struct stt_engine_cfg late = { .degrade = true, .degrade_ms = 300 };
	g = NULL;
	assert_int_equal(stt_moonshine_ops.open(&g, &late), 0);
	open.queued_ms = 299;
	assert_int_equal(
		stt_engine_decode(g, &open, c->samples, c->nsamples, &res), 0);
	assert_string_equal(res.text, beamed);
	assert_false(res.degraded);
	open.queued_ms = 300;
	assert_int_equal(
		stt_engine_decode(g, &open, c->samples, c->nsamples, &res), 0);
	assert_string_equal(res.text, text);
	assert_true(res.degraded);
	snap.queued_ms = 5000;
	assert_int_equal(
		stt_engine_decode(g, &snap, c->samples, c->nsamples, &res), 0);
	assert_string_equal(res.text, text);
	assert_false(res.degraded);
	stt_moonshine_ops.close(g);
	/* degradation off (every zeroed cfg): never, however late */
	open.queued_ms = 5000;
	assert_int_equal(
		stt_engine_decode(e, &open, c->samples, c->nsamples, &res), 0);
	assert_string_equal(res.text, beamed);
	assert_false(res.degraded);

	/* settings out of the engine's range are refused */
	g = NULL;
	assert_int_equal(stt_moonshine_ops.open(&g, &bad), -EINVAL);
	bad = (struct stt_engine_cfg){ .open_beam = 4, .open_prune = -1 };
	assert_int_equal(stt_moonshine_ops.open(&g, &bad), -EINVAL);
	assert_null(g);
	stt_moonshine_ops.close(e);
	audio_clip_deref(c);
}

/* More step LMs than the engine caches (a flow reload makes new grammars):
 * every one still prepares and decodes with fusion; the oldest are dropped
 * and rebuilt on their next use. */
static void more_lms_than_the_cache_keeps_still_decode(void **state)
{
	struct stt_grammar *gs[20];
	struct stt_engine *e = NULL;
	struct audio_clip *c;
	struct stt_request lmreq = { .mode = STT_MODE_LM };
	struct stt_result res;

	(void)state;
	if (!deps_installed())
		skip();
	assert_int_equal(stt_moonshine_ops.open(&e, NULL), 0);
	for (size_t i = 0; i < sizeof(gs) / sizeof(gs[0]); i++) {
		gs[i] = banking_grammar(); /* same text, a new grammar id */
		assert_int_equal(stt_moonshine_ops.prepare(e, gs[i]), 0);
	}
	c = said_on_the_phone("my card got lost");
	lmreq.grammar = gs[0]; /* dropped from the cache: rebuilt */
	assert_int_equal(
		stt_engine_decode(e, &lmreq, c->samples, c->nsamples, &res), 0);
	assert_string_equal(res.text, "my card got lost");
	lmreq.grammar = gs[19];
	assert_int_equal(
		stt_engine_decode(e, &lmreq, c->samples, c->nsamples, &res), 0);
	assert_string_equal(res.text, "my card got lost");
	audio_clip_deref(c);
	stt_moonshine_ops.close(e);
	for (size_t i = 0; i < sizeof(gs) / sizeof(gs[0]); i++)
		stt_grammar_deref(gs[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(tokens_parse_maps_ids_to_bytes),
		cmocka_unit_test(malformed_tokens_are_ebadmsg_with_the_line),
		cmocka_unit_test(broken_installs_are_clear_errors),
		cmocka_unit_test(
			greedy_matches_sherpa_and_the_lm_fixes_domain_words),
		cmocka_unit_test(second_create_shares_the_model),
		cmocka_unit_test(the_engine_decodes_with_the_step_lm),
		cmocka_unit_test(
			open_speech_decodes_with_the_beam_unless_set_greedy),
		cmocka_unit_test(more_lms_than_the_cache_keeps_still_decode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

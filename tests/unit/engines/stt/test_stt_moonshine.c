/* Moonshine on sherpa-onnx: the C API layout we declare matches the library,
 * flite's banking sentences through G.711 come back within 20% WER, silence
 * gives nothing, two threads decode at once, and a missing install is
 * -ENOENT. Needs deps/ (scripts/fetch-models.sh); fails without it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audio/clip.h"
#include "audio/g711.h"
#include "engines/stt/sherpa/sherpa.h"
#include "engines/stt/sherpa/sherpa_capi.h"
#include "engines/stt/stt.h"
#include "engines/tts/flite/tts_flite.h"

#include "sherpa/moonshine_fixture.h"

#define FETCH_HINT "run scripts/fetch-models.sh (make check does it first)"

static const char *const sentences[] = {
	"i want to check my balance",
	"i would like to transfer money to my savings account",
	"please block my credit card",
};
#define NSENT (sizeof(sentences) / sizeof(sentences[0]))

struct fixture {
	struct stt_engine *stt;
	struct audio_clip *clips[NSENT]; /* 8 kHz, after a mu-law round trip */
};

/* ---- helpers ---- */

static bool deps_installed(void)
{
	return moonshine_deps_installed("libsherpa-onnx-c-api.so");
}

/* ---- group 1: before the library is loaded ---- */

static void load_from_an_empty_dir_is_enoent(void **state)
{
	char dir[] = "/tmp/vg-sherpa-empty.XXXXXX";
	char dir2[] = "/tmp/vg-sherpa-bad.XXXXXX";
	struct stt_engine_cfg cfg = { 0 };
	struct stt_engine *e = NULL;

	assert_non_null(mkdtemp(dir));
	assert_non_null(mkdtemp(dir2));
	/* First test of the binary: nothing loaded yet, so the directory is
	 * really looked at. */
	assert_int_equal(sherpa_load(dir), -ENOENT);
	/* A library of the wrong kind (here libm) loads but lacks the
	 * symbols: -ELIBBAD, and nothing stays loaded. */
	char sub[sizeof(dir) + 16], lib[sizeof(dir) + 64];
	snprintf(sub, sizeof(sub), "%s/sherpa-onnx", dir);
	snprintf(lib, sizeof(lib), "%s/libsherpa-onnx-c-api.so", sub);
	assert_int_equal(mkdir(sub, 0700), 0);
	assert_int_equal(symlink("/lib/x86_64-linux-gnu/libm.so.6", lib), 0);
	assert_int_equal(sherpa_load(dir), -ELIBBAD);
	unlink(lib);
	/* not a shared object at all (another dir: glibc now knows the first
	 * path as an alias of libm) */
	snprintf(sub, sizeof(sub), "%s/sherpa-onnx", dir2);
	snprintf(lib, sizeof(lib), "%s/libsherpa-onnx-c-api.so", sub);
	assert_int_equal(mkdir(sub, 0700), 0);
	FILE *f = fopen(lib, "w");
	assert_non_null(f);
	fputs("not an ELF file\n", f);
	fclose(f);
	assert_int_equal(sherpa_load(dir2), -ELIBBAD);
	unlink(lib);
	rmdir(sub);
	snprintf(sub, sizeof(sub), "%s/sherpa-onnx", dir);
	rmdir(sub);
	rmdir(dir2);
	assert_int_equal(sherpa_load(dir), -ENOENT);
	if (!deps_installed())
		fail_msg("sherpa-onnx/Moonshine not installed in "
			 "%s: " FETCH_HINT,
			 sherpa_deps_dir());
	/* The library loads from deps/, but a model dir without the model is
	 * still "not installed" for the engine. */
	assert_int_equal(sherpa_load(NULL), 0);
	cfg.model_dir = dir;
	assert_int_equal(stt_moonshine_ops.open(&e, &cfg), -ENOENT);
	assert_null(e);
	rmdir(dir);
}

/* Redirect stderr (fd 2) into a temporary file around f(arg); returns what
 * was written (malloc'd). The library prints its config with fprintf. */
static char *capture_stderr(void (*f)(void *), void *arg)
{
	FILE *tmp = tmpfile();
	int saved;
	long len;
	char *out;

	assert_non_null(tmp);
	fflush(stderr);
	saved = dup(2);
	assert_true(saved >= 0);
	assert_int_equal(dup2(fileno(tmp), 2), 2);
	f(arg);
	fflush(stderr);
	assert_int_equal(dup2(saved, 2), 2);
	close(saved);
	len = ftell(tmp) > 0 ? ftell(tmp) : lseek(fileno(tmp), 0, SEEK_END);
	assert_true(len > 0);
	out = calloc(1, (size_t)len + 1);
	assert_non_null(out);
	assert_int_equal(pread(fileno(tmp), out, (size_t)len, 0), len);
	fclose(tmp);
	return out;
}

struct layout_probe {
	void *create;  /* SherpaOnnxCreateOfflineRecognizer */
	void *destroy; /* SherpaOnnxDestroyOfflineRecognizer */
	struct sherpa_c_offline_recognizer_config *c;
};

static void create_with(void *arg)
{
	struct layout_probe *p = arg;
	const struct sherpa_c_offline_recognizer *(*create)(
		const struct sherpa_c_offline_recognizer_config *);
	void (*destroy)(const struct sherpa_c_offline_recognizer *);
	const struct sherpa_c_offline_recognizer *r;

	memcpy(&create, &p->create, sizeof(create));
	memcpy(&destroy, &p->destroy, sizeof(destroy));
	r = create(p->c);
	/* bogus paths: the config must be rejected (after being printed) */
	assert_null(r);
	destroy(r);
}

/* Every field gets a distinct marker; the library's printout must show each
 * one under the library's own name for that field. Catches any shift of
 * the struct layout (sherpa_capi.h). */
static void config_layout_matches_the_library(void **state)
{
	static char marks[128][8];
	static char want[128][64];
	size_t nm = 0, nw = 0;
	struct sherpa_c_offline_recognizer_config c;
	struct sherpa_c_offline_model_config *m = &c.model_config;
	char lib[4096];
	struct layout_probe p = { .c = &c };
	void *h;
	char *out;

#define MARK(field, label)                                                  \
	do {                                                                \
		snprintf(marks[nm], sizeof(marks[nm]), "f%02zu", nm);       \
		(field) = marks[nm];                                        \
		snprintf(want[nw++], sizeof(want[0]), "%s=\"%.7s\"", label, \
			 marks[nm]);                                        \
		nm++;                                                       \
	} while (0)
#define NUM(field, label, v)                                               \
	do {                                                               \
		(field) = (v);                                             \
		snprintf(want[nw++], sizeof(want[0]), "%s=%s", label, #v); \
	} while (0)

	snprintf(lib, sizeof(lib), "%s/sherpa-onnx/libsherpa-onnx-c-api.so",
		 sherpa_deps_dir());
	h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
	if (!h)
		fail_msg("cannot load %s: " FETCH_HINT, lib);
	p.create = dlsym(h, "SherpaOnnxCreateOfflineRecognizer");
	p.destroy = dlsym(h, "SherpaOnnxDestroyOfflineRecognizer");
	assert_non_null(p.create);
	assert_non_null(p.destroy);

	memset(&c, 0, sizeof(c));
	NUM(c.feat_config.sample_rate, "sampling_rate", 16000);
	NUM(c.feat_config.feature_dim, "feature_dim", 80);
	MARK(m->transducer.encoder, "encoder_filename");
	MARK(m->transducer.decoder, "decoder_filename");
	MARK(m->transducer.joiner, "joiner_filename");
	MARK(m->paraformer.model, "model");
	MARK(m->nemo_ctc.model, "model");
	MARK(m->whisper.encoder, "encoder");
	MARK(m->whisper.decoder, "decoder");
	MARK(m->whisper.language, "language");
	MARK(m->whisper.task, "task");
	NUM(m->whisper.tail_paddings, "tail_paddings", 1012);
	MARK(m->tdnn.model, "model");
	MARK(m->tokens, "tokens");
	NUM(m->num_threads, "num_threads", 1017);
	m->debug = 1;
	MARK(m->provider, "provider");
	MARK(m->model_type, "model_type");
	MARK(m->modeling_unit, "modeling_unit");
	MARK(m->bpe_vocab, "bpe_vocab");
	MARK(m->telespeech_ctc, "telespeech_ctc");
	MARK(m->sense_voice.model, "model");
	MARK(m->sense_voice.language, "language");
	MARK(m->moonshine.preprocessor, "preprocessor");
	MARK(m->moonshine.encoder, "encoder");
	MARK(m->moonshine.uncached_decoder, "uncached_decoder");
	MARK(m->moonshine.cached_decoder, "cached_decoder");
	MARK(m->moonshine.merged_decoder, "merged_decoder");
	MARK(m->fire_red_asr.encoder, "encoder");
	MARK(m->fire_red_asr.decoder, "decoder");
	MARK(m->dolphin.model, "model");
	MARK(m->zipformer_ctc.model, "model");
	MARK(m->canary.encoder, "encoder");
	MARK(m->canary.decoder, "decoder");
	MARK(m->canary.src_lang, "src_lang");
	MARK(m->canary.tgt_lang, "tgt_lang");
	MARK(m->wenet_ctc.model, "model");
	MARK(m->omnilingual.model, "model");
	MARK(m->medasr.model, "model");
	MARK(m->funasr_nano.encoder_adaptor, "encoder_adaptor");
	MARK(m->funasr_nano.llm, "llm");
	MARK(m->funasr_nano.embedding, "embedding");
	MARK(m->funasr_nano.tokenizer, "tokenizer");
	MARK(m->funasr_nano.system_prompt, "system_prompt");
	MARK(m->funasr_nano.user_prompt, "user_prompt");
	NUM(m->funasr_nano.max_new_tokens, "max_new_tokens", 1049);
	NUM(m->funasr_nano.seed, "seed", 1052);
	MARK(m->funasr_nano.language, "language");
	MARK(m->funasr_nano.hotwords, "hotwords");
	MARK(m->fire_red_asr_ctc.model, "model");
	MARK(m->qwen3_asr.conv_frontend, "conv_frontend");
	MARK(m->qwen3_asr.encoder, "encoder");
	MARK(m->qwen3_asr.decoder, "decoder");
	MARK(m->qwen3_asr.tokenizer, "tokenizer");
	NUM(m->qwen3_asr.max_total_len, "max_total_len", 1061);
	NUM(m->qwen3_asr.seed, "seed", 1065);
	MARK(m->qwen3_asr.hotwords, "hotwords");
	MARK(m->cohere_transcribe.encoder, "encoder");
	MARK(m->cohere_transcribe.decoder, "decoder");
	MARK(m->cohere_transcribe.language, "language");
	MARK(c.lm_config.model, "model");
	MARK(c.decoding_method, "decoding_method");
	NUM(c.max_active_paths, "max_active_paths", 1075);
	MARK(c.hotwords_file, "hotwords_file");
	MARK(c.rule_fsts, "rule_fsts");
	MARK(c.rule_fars, "rule_fars");
	MARK(c.hr.lexicon, "lexicon");
	MARK(c.hr.rule_fsts, "rule_fsts");
#undef MARK
#undef NUM

	out = capture_stderr(create_with, &p);
	for (size_t i = 0; i < nw; i++)
		if (!strstr(out, want[i]))
			fail_msg("library config printout lacks %s: "
				 "sherpa_capi.h "
				 "does not match the library\n%s",
				 want[i], out);
	free(out);
	dlclose(h);
}

struct vad_probe {
	void *create; /* SherpaOnnxCreateVoiceActivityDetector */
	struct sherpa_c_vad_config *c;
};

static void create_vad_with(void *arg)
{
	struct vad_probe *p = arg;
	const struct sherpa_c_vad *(*create)(const struct sherpa_c_vad_config *,
					     float);

	memcpy(&create, &p->create, sizeof(create));
	assert_null(create(p->c, 30.0f)); /* no such model file */
}

static void vad_config_layout_matches_the_library(void **state)
{
	static const char *const want[] = {
		"model=\"v01\"",
		"threshold=0.25",
		"min_silence_duration=0.5",
		"min_speech_duration=0.125",
		"max_speech_duration=5.5",
		"window_size=444",
		"model=\"v02\"",
		"threshold=0.75",
		"window_size=999",
		"sample_rate=16001",
		"num_threads=7",
		"provider=\"v03\"",
	};
	struct sherpa_c_vad_config c;
	struct vad_probe p = { .c = &c };
	char lib[4096];
	void *h;
	char *out;

	(void)state;
	snprintf(lib, sizeof(lib), "%s/sherpa-onnx/libsherpa-onnx-c-api.so",
		 sherpa_deps_dir());
	h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
	if (!h)
		fail_msg("cannot load %s: " FETCH_HINT, lib);
	p.create = dlsym(h, "SherpaOnnxCreateVoiceActivityDetector");
	assert_non_null(p.create);
	memset(&c, 0, sizeof(c));
	c.silero_vad = (struct sherpa_c_vad_model){
		.model = "v01",
		.threshold = 0.25f,
		.min_silence_duration = 0.5f,
		.min_speech_duration = 0.125f,
		.window_size = 444,
		.max_speech_duration = 5.5f,
	};
	c.sample_rate = 16001;
	c.num_threads = 7;
	c.provider = "v03";
	c.debug = 1;
	c.ten_vad = (struct sherpa_c_vad_model){ .model = "v02",
						 .threshold = 0.75f,
						 .window_size = 999 };
	out = capture_stderr(create_vad_with, &p);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (!strstr(out, want[i]))
			fail_msg("VAD config printout lacks %s: sherpa_capi.h "
				 "does not match the library\n%s",
				 want[i], out);
	free(out);
	dlclose(h);
}

/* ---- group 2: the engine ---- */

static int engine_up(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	struct stt_engine_cfg cfg = { .threads = 1 };
	struct tts_engine *tts = NULL;
	int err;

	if (!fx)
		return -1;
	err = stt_moonshine_ops.open(&fx->stt, &cfg);
	if (err) {
		print_error("moonshine open: %s (%d): " FETCH_HINT "\n",
			    strerror(-err), err);
		free(fx);
		return -1;
	}
	if (tts_flite_ops.open(&tts) != 0) {
		print_error("flite open failed\n");
		return -1;
	}
	for (size_t i = 0; i < NSENT; i++)
		fx->clips[i] = phone_speech(tts, sentences[i], 0);
	tts_flite_ops.close(tts);
	*state = fx;
	return 0;
}

static int engine_down(void **state)
{
	struct fixture *fx = *state;

	if (!fx)
		return 0;
	for (size_t i = 0; i < NSENT; i++)
		audio_clip_deref(fx->clips[i]);
	stt_moonshine_ops.close(fx->stt);
	free(fx);
	return 0;
}

static void banking_sentences_decode_within_20_percent_wer(void **state)
{
	struct fixture *fx = *state;
	struct stt_request req = { .mode = STT_MODE_OPEN };
	size_t errs = 0, words = 0;

	for (size_t i = 0; i < NSENT; i++) {
		struct stt_result res;
		size_t nref, e;

		assert_int_equal(
			stt_engine_decode(fx->stt, &req, fx->clips[i]->samples,
					  fx->clips[i]->nsamples, &res),
			0);
		e = stt_word_edits(sentences[i], res.text, &nref);
		print_message("ref \"%s\"\nhyp \"%s\" (%zu/%zu errors, conf "
			      "%.2f, %u ms audio, %u us)\n",
			      sentences[i], res.text, e, nref, res.confidence,
			      res.audio_ms, res.decode_us);
		assert_string_equal(res.engine, "moonshine");
		assert_true(res.audio_ms + 1 >=
			    fx->clips[i]->nsamples * 1000 / AUDIO_RATE_HZ);
		assert_true(res.decode_us > 0);
		assert_true(res.confidence >= 0.5f && res.confidence < 1.0f);
		errs += e;
		words += nref;
	}
	print_message("WER %zu/%zu\n", errs, words);
	assert_true(errs * 5 <= words); /* WER <= 20% */
}

static void silence_decodes_to_empty_text_or_low_confidence(void **state)
{
	struct fixture *fx = *state;
	size_t n = 2 * AUDIO_RATE_HZ;
	int16_t *pcm = calloc(n, sizeof(*pcm));
	struct stt_result res;

	assert_non_null(pcm);
	/* line silence as it arrives from the network: mu-law 0xff */
	for (size_t i = 0; i < n; i++)
		pcm[i] = audio_ulaw_decode(0xff);
	assert_int_equal(stt_engine_decode(fx->stt, NULL, pcm, n, &res), 0);
	print_message("silence -> \"%s\" conf %.2f\n", res.text,
		      res.confidence);
	assert_true(res.text[0] == '\0' || res.confidence < 0.5f);
	if (res.text[0] == '\0')
		assert_true(res.confidence == 0.0f);
	free(pcm);
}

/* Short phrases in a 1.1-1.5 s clip with 300 ms of line silence on each
 * side (how bench/speech/make_set.sh builds its grammar set): Moonshine's
 * first decode of such clips is often empty; the engine then decodes the
 * speech span again (stt_moonshine.c, speech_span), so the caller gets
 * words. The first-pass result is printed to show which clips needed it. */
static void short_phrases_in_silence_are_not_empty(void **state)
{
	static const char *const phrases[] = { "pay a bill", "main menu",
					       "card declined", "yes" };
	struct fixture *fx = *state;
	struct tts_engine *tts = NULL;
	struct sherpa_asr *asr = NULL;
	size_t pad = 3 * AUDIO_RATE_HZ / 10;

	assert_int_equal(tts_flite_ops.open(&tts), 0);
	assert_int_equal(sherpa_asr_create(&asr, NULL, 1), 0);
	for (size_t i = 0; i < sizeof(phrases) / sizeof(phrases[0]); i++) {
		struct audio_clip *c = phone_speech(tts, phrases[i], 0);
		size_t n = c->nsamples + 2 * pad;
		int16_t *pcm = calloc(n, sizeof(*pcm));
		char first[STT_TEXT_MAX + 1];
		struct stt_result res;

		assert_non_null(pcm);
		for (size_t k = 0; k < n; k++)
			pcm[k] = audio_ulaw_decode(audio_ulaw_encode(0));
		memcpy(pcm + pad, c->samples, c->nsamples * sizeof(*pcm));
		assert_int_equal(sherpa_asr_decode(asr, pcm, n, AUDIO_RATE_HZ,
						   first, sizeof(first)),
				 0);
		assert_int_equal(stt_engine_decode(fx->stt, NULL, pcm, n, &res),
				 0);
		print_message("\"%s\": first pass \"%s\", engine \"%s\" "
			      "conf %.2f\n",
			      phrases[i], first, res.text, res.confidence);
		assert_true(res.text[0] != '\0');
		assert_true(res.confidence > 0.0f);
		free(pcm);
		audio_clip_deref(c);
	}
	sherpa_asr_destroy(asr);
	tts_flite_ops.close(tts);
}

struct job {
	struct stt_engine *stt;
	const struct audio_clip *clip;
	char text[2][STT_TEXT_MAX + 1];
	int err;
};

static void *decode_thread(void *arg)
{
	struct job *j = arg;

	for (int k = 0; k < 2 && !j->err; k++) {
		struct stt_result res;

		j->err = stt_engine_decode(j->stt, NULL, j->clip->samples,
					   j->clip->nsamples, &res);
		if (!j->err)
			memcpy(j->text[k], res.text, sizeof(res.text));
	}
	return NULL;
}

static void two_threads_decode_at_once_on_one_recognizer(void **state)
{
	struct fixture *fx = *state;
	struct job j[2] = { { .stt = fx->stt, .clip = fx->clips[0] },
			    { .stt = fx->stt, .clip = fx->clips[1] } };
	char alone[2][STT_TEXT_MAX + 1];
	pthread_t t[2];

	for (int i = 0; i < 2; i++) {
		struct stt_result res;

		assert_int_equal(stt_engine_decode(fx->stt, NULL,
						   j[i].clip->samples,
						   j[i].clip->nsamples, &res),
				 0);
		memcpy(alone[i], res.text, sizeof(res.text));
	}
	for (int i = 0; i < 2; i++)
		assert_int_equal(
			pthread_create(&t[i], NULL, decode_thread, &j[i]), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	/* Greedy decoding is deterministic: overlapping decodes that shared
	 * state would show up as different text. */
	for (int i = 0; i < 2; i++) {
		assert_int_equal(j[i].err, 0);
		for (int k = 0; k < 2; k++)
			assert_string_equal(j[i].text[k], alone[i]);
	}
	assert_string_not_equal(alone[0], alone[1]);
}

static void contract_limits_are_enforced(void **state)
{
	struct fixture *fx = *state;
	size_t n = (size_t)AUDIO_RATE_HZ * STT_UTTERANCE_MAX_MS / 1000 + 1;
	int16_t *pcm = calloc(n, sizeof(*pcm));
	struct stt_request gram = { .mode = STT_MODE_GRAMMAR };
	struct stt_result res;

	assert_non_null(pcm);
	/* over 30 s: the caller must split */
	assert_int_equal(stt_engine_decode(fx->stt, NULL, pcm, n, &res),
			 -EINVAL);
	assert_int_equal(stt_engine_decode(fx->stt, NULL, pcm, 0, &res),
			 -EINVAL);
	assert_int_equal(stt_engine_decode(fx->stt, NULL, NULL, 160, &res),
			 -EINVAL);
	/* caps: open vocabulary, and open with a domain LM (beam search with
	 * shallow fusion, test_moonort.c); no grammars */
	assert_int_equal(stt_moonshine_ops.caps, STT_CAP_OPEN | STT_CAP_LM);
	assert_int_equal(stt_engine_decode(fx->stt, &gram, pcm, 160, &res),
			 -ENOTSUP);
	/* an LM request needs an LM */
	gram.mode = STT_MODE_LM;
	assert_int_equal(stt_engine_decode(fx->stt, &gram, pcm, 160, &res),
			 -EINVAL);
	free(pcm);
}

static void second_open_shares_the_recognizer(void **state)
{
	struct sherpa_asr *a = NULL, *b = NULL;
	char dir[] = "/tmp/vg-sherpa-other.XXXXXX";

	(void)state;
	assert_int_equal(sherpa_asr_create(&a, NULL, 1), 0);
	assert_int_equal(sherpa_asr_create(&b, NULL, 1), 0);
	assert_ptr_equal(a, b);
	assert_non_null(mkdtemp(dir));
	/* one model per process: another dir is refused, not loaded twice */
	assert_int_equal(sherpa_asr_create(&b, dir, 1), -EBUSY);
	rmdir(dir);
	sherpa_asr_destroy(a);
	sherpa_asr_destroy(a);
}

/* Silero through the wrapper: nothing in leading silence, speech inside the
 * sentence, silence again after it ends; reset forgets the speech. */
static void silero_vad_follows_speech_and_silence(void **state)
{
	struct fixture *fx = *state;
	const struct audio_clip *sp = fx->clips[0];
	size_t lead = AUDIO_RATE_HZ, tail = 3 * AUDIO_RATE_HZ / 2;
	size_t n = lead + sp->nsamples + tail, first = 0, last = 0;
	int16_t *pcm = calloc(n + AUDIO_FRAME_SAMPLES, sizeof(*pcm));
	int16_t zero[AUDIO_FRAME_SAMPLES] = { 0 };
	struct sherpa_vad *v = NULL;
	int r = 0;

	assert_non_null(pcm);
	memcpy(pcm + lead, sp->samples, sp->nsamples * sizeof(*pcm));
	assert_int_equal(sherpa_vad_create(&v, NULL, 1.5f, 300, 100), -EINVAL);
	assert_int_equal(sherpa_vad_create(&v, NULL, 0.5f, 300, 100), 0);
	for (size_t i = 0; i + AUDIO_FRAME_SAMPLES <= n;
	     i += AUDIO_FRAME_SAMPLES) {
		r = sherpa_vad_frame(v, pcm + i);
		assert_true(r == 0 || r == 1);
		if (r && !first)
			first = i;
		if (r)
			last = i;
	}
	print_message("vad: speech %zu..%zu ms, detected %zu..%zu ms\n",
		      lead * 1000 / AUDIO_RATE_HZ,
		      (lead + sp->nsamples) * 1000 / AUDIO_RATE_HZ,
		      first * 1000 / AUDIO_RATE_HZ,
		      last * 1000 / AUDIO_RATE_HZ);
	assert_true(first > lead / 2); /* not in leading silence */
	assert_true(first < lead + sp->nsamples / 2); /* early in speech */
	assert_true(last >= lead + sp->nsamples / 2);
	assert_int_equal(r, 0); /* ends in silence */
	/* reset mid-speech: the next silent frame is silence */
	for (size_t i = 0; i < sp->nsamples / 2; i += AUDIO_FRAME_SAMPLES)
		r = sherpa_vad_frame(v, sp->samples + i);
	sherpa_vad_reset(v);
	assert_int_equal(sherpa_vad_frame(v, zero), 0);
	sherpa_vad_destroy(v);
	sherpa_vad_destroy(NULL);
	free(pcm);
}

static void transcripts_are_normalized(void **state)
{
	static const char *const cases[][2] = {
		{ " I want to check my balance.",
		  "i want to check my balance" },
		{ "Don't  block it!", "don't block it" },
		{ "'quoted' words, here", "quoted words here" },
		{ "Transfer $1,000 now?", "transfer 1000 now" },
		{ "twenty-five", "twenty five" },
		{ "...", "" },
		{ "", "" },
		{ "Ünïcode stays", "Ünïcode stays" },
		{ "It\u2019s \u201cfine\u201d\u2026 well\u2014ok",
		  "it's fine well ok" },
		{ "trailing \xe2\x80", "trailing \xe2\x80" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[128];

		snprintf(buf, sizeof(buf), "%s", cases[i][0]);
		sherpa_text_normalize(buf);
		assert_string_equal(buf, cases[i][1]);
	}
}

int main(void)
{
	const struct CMUnitTest before_load[] = {
		cmocka_unit_test(load_from_an_empty_dir_is_enoent),
		cmocka_unit_test(config_layout_matches_the_library),
		cmocka_unit_test(vad_config_layout_matches_the_library),
		cmocka_unit_test(transcripts_are_normalized),
	};
	const struct CMUnitTest engine[] = {
		cmocka_unit_test(
			banking_sentences_decode_within_20_percent_wer),
		cmocka_unit_test(
			silence_decodes_to_empty_text_or_low_confidence),
		cmocka_unit_test(short_phrases_in_silence_are_not_empty),
		cmocka_unit_test(two_threads_decode_at_once_on_one_recognizer),
		cmocka_unit_test(contract_limits_are_enforced),
		cmocka_unit_test(second_open_shares_the_recognizer),
		cmocka_unit_test(silero_vad_follows_speech_and_silence),
	};
	int failed = cmocka_run_group_tests(before_load, NULL, NULL);

	failed += cmocka_run_group_tests(engine, engine_up, engine_down);
	return failed;
}

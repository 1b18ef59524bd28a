/* The PocketSphinx engine (Debian's 5prealpha): JSGF grammars and domain
 * n-gram LMs built from a struct stt_grammar, the generic en-us LM for open
 * speech. 8 kHz audio is resampled to the acoustic model's 16 kHz.
 *
 * ps_decoder_t is not thread-safe, so an instance keeps a pool of decoders
 * (each with its own acoustic model and a dictionary that grows with the
 * grammars it serves, see seed_dict()), taken and returned under a mutex;
 * decode() waits when all are busy. Each decoder caches its searches
 * ("g<grammar id>", at most SEARCHES_MAX, least recently used dropped); the
 * texts they are built from (JSGF, ARPA, dictionary) are built once per
 * grammar and shared by the decoders. OPEN mode has one decoder of its own
 * with the full dictionary, loaded on first use. Under load (stt.h,
 * stt_request.queued_ms >= degrade_ms) LM decodes run on a second pool of
 * fast decoders (FAST_ARGS, each loaded on first need: take_fast()) and
 * say so in stt_result.degraded, or on a full decoder that is free while
 * the fast ones are busy; streams and other modes never degrade.
 *
 * Streams (stt.h rule 8) hold one decoder from stream_begin() to
 * stream_end() or stream_abort(): the utterance is resampled and scored as
 * it is fed, so what is left after the end of speech is the last block, the
 * best path and the result. A decode() scores the whole utterance in one
 * batch (its cepstral mean is the utterance's own, a stream's the running
 * estimate); both share the search setup and the result's post-processing
 * (begin_utt(), result_of()). */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pocketsphinx.h>
#include <sphinxbase/err.h>
#include <sphinxbase/feat.h>
#include <sphinxbase/jsgf.h>

#include "audio/resample.h"
#include "core/clock.h"
#include "core/log.h"
#include "engines/stt/pocketsphinx/ps_build.h"
#include "engines/stt/pocketsphinx/stt_pocketsphinx.h"

#define POOL_DEFAULT 2u
#define POOL_MAX 16u
#define SEARCHES_MAX 16 /* cached searches per decoder */
#define BUILT_MAX 32	/* grammars whose texts are kept */
#define CHUNK_IN 1600	/* 200 ms at 8 kHz per resampler call */
/* A stream hands PocketSphinx its 16 kHz audio in blocks of this size
 * whatever the caller's chunks (100 ms): the decoder sees the same calls
 * however the audio was cut (rule 8). */
#define BLOCK16 1600
#define PCM16_MIN (BLOCK16 + 2 * CHUNK_IN + 64)
#define LM_ORDER 3
/* Logistic of the per-frame score (see score_conf()). */
#define CONF_MID 35.0
#define CONF_SLOPE 4.0
#define SNAP_RATIO 0.34
/* Word insertion probability of grammar searches (the default is 0.65,
 * n-gram searches use 0.2). In a grammar every digit may follow every
 * digit, so nothing but this penalty stops the decoder from splitting one
 * digit in two ("six" -> "eight eight") or hearing an "oh" in a pause.
 * Measured on 80 random digit strings (flite kal and slt through mu-law,
 * docs/SPEECH.md): 0.65 gave 27.9% WER, 0.2 22.1%, 0.01 15.5%; with the
 * dictionary's telephone-band variants (ps_build.c) 0.2 gave 9.6%, 0.05
 * 5.2%, 0.01 3.8%, 0.003 and 0.001 3.4% (noise: 2 words), so the milder
 * one. Menu phrases are not hurt: a phrase competes with a digit string of
 * about as many words. */
#define GRAMMAR_WIP 0.01

/* How n-gram (LM mode) searches run (lm_search_new()), measured
 * on bench_stt's BANKING77 set (docs/BENCHMARKS.md, "PocketSphinx LM-mode
 * speed"). 60% of an LM decode's CPU is the en-us PTM model's acoustic
 * scoring (ptm_mgau_frame_eval: 42 codebooks of 128 Gaussians, each
 * evaluated in full every frame one of its senones is active), and an LM
 * of a few thousand words keeps nearly every codebook active: tighter
 * beams, -maxhmmpf, -maxwpf or a smaller LM vocabulary cost WER and saved
 * next to nothing. What saves is scoring less:
 * - no flat-lexicon second pass (the tree pass and the lattice best path
 *   only): the second pass scored the utterance again. CPU p50 / p95 294
 *   / 449 -> 193 / 278 ms, WER 16.04 -> 16.53% on the 300 utterances.
 *   Frame downsampling (-ds 2) and -topn 3 save 15-20% more but cost 2
 *   to 4.5 points of WER (and are the acoustic model's, so grammar mode's
 *   too). Texts still depend on the utterance only; the confidence may
 *   move by about 0.01 with what the decoder scored before: the PTM scorer
 *   normalises an utterance's first frame over the codebooks active in the
 *   last frame it scored, which the second pass, started from this
 *   utterance's own last frame, used to replace. */

/* The fast decoders of degraded LM decodes (stt_engine_cfg.degrade): on
 * top of decoder_new()'s options, acoustic scores of every other frame
 * only (-ds 2) and a heavier phone-loop lookahead (-pl_weight 5, default
 * 3). Measured on bench_stt's dev part (utterances 0..99, docs/
 * BENCHMARKS.md "PocketSphinx LM mode under load"): CPU per audio second
 * 62.7 -> 36.8 ms (x1.7), WER 16.42 -> 21.69 %; -ds 2 alone 44.8 ms and
 * 21.32 %; with -topn 3 34.4 ms but 25.00 %. They are the acoustic
 * model's, so these decoders serve LM decodes only. Their path scores
 * run about 9 per frame lower than the full decoders' on the same audio
 * (flite sentences: +7 to +13), so the confidence logistic's midpoint
 * moves by that much (mean confidence on all 300 utterances: full 0.168,
 * fast 0.170 with the shift; 0.1-0.4 lower per utterance without). */
static const char *const FAST_ARGS[] = { "-ds", "2", "-pl_weight", "5", NULL };
#define CONF_MID_FAST (CONF_MID + 9.0)

struct search {
	uint64_t gid; /* 0: free */
	uint64_t used;
	char name[24];
};

#define CEP_MAX 32 /* cepstral coefficients (13 in en-us) */

struct decoder {
	ps_decoder_t *ps;
	struct resampler *rs;
	int busy;
	bool fast; /* one of ps_engine.fast (FAST_ARGS) */
	/* The model's cepstral mean normalisation and initial mean, as the
	 * decoder was loaded (see stream_cmn()). */
	cmn_type_t cmn_type;
	mfcc_t cmn0[CEP_MAX];
	int16_t *pcm16; /* the utterance at 16 kHz */
	size_t n16, cap16;
	uint64_t tick;
	struct search s[SEARCHES_MAX];
};

/* What a grammar compiles to, shared by the decoders. */
struct built {
	uint64_t gid; /* 0: free */
	uint64_t used;
	enum stt_mode mode;
	char *text; /* JSGF or ARPA */
	char *dict; /* "word PHONES" lines of every word used */
};

struct ps_engine {
	struct stt_engine base;
	char hmm[512], dict[512], lm[512];
	struct cmudict *lex;
	pthread_mutex_t lock; /* the pool */
	pthread_cond_t freed;
	struct decoder *dec;
	unsigned n;
	/* Degraded LM decodes (stt_engine_cfg.degrade): n more decoders
	 * with FAST_ARGS, each loaded on first need (take_fast()); a slot
	 * with ps NULL and busy set is being loaded. Under lock. */
	struct decoder *fast;
	bool degrade;
	unsigned degrade_ms;
	pthread_mutex_t open_lock; /* loading the open decoder */
	struct decoder open;
	pthread_mutex_t build_lock; /* built[] and search installs */
	struct built built[BUILT_MAX];
	uint64_t build_tick;
	uint32_t load_ms; /* time to load one decoder, for the log */
};

/* sphinxbase logs through one process-wide callback: keep errors, drop the
 * chatter (what -logfn /dev/null would do, minus the errors). */
static void ps_log(void *arg, err_lvl_t lvl, const char *fmt, ...)
{
	(void)arg;
	if (lvl < ERR_ERROR)
		return;
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	size_t l = strlen(msg);
	while (l && (msg[l - 1] == '\n' || msg[l - 1] == ' '))
		msg[--l] = '\0';
	LOGE(NULL, "pocketsphinx_error", "msg=%s", log_esc(msg));
}

static pthread_once_t log_once = PTHREAD_ONCE_INIT;

static void setup_log(void)
{
	err_set_logfp(NULL); /* the configuration table */
	err_set_callback(ps_log, NULL);
}

static int file_exists(const char *p)
{
	return access(p, R_OK) == 0;
}

static void engine_free(struct ps_engine *e)
{
	for (unsigned i = 0; e->dec && i < e->n; i++) {
		if (e->dec[i].ps)
			ps_free(e->dec[i].ps);
		resampler_destroy(e->dec[i].rs);
		free(e->dec[i].pcm16);
	}
	free(e->dec);
	for (unsigned i = 0; e->fast && i < e->n; i++) {
		if (e->fast[i].ps)
			ps_free(e->fast[i].ps);
		resampler_destroy(e->fast[i].rs);
		free(e->fast[i].pcm16);
	}
	free(e->fast);
	if (e->open.ps)
		ps_free(e->open.ps);
	resampler_destroy(e->open.rs);
	free(e->open.pcm16);
	pthread_mutex_destroy(&e->open_lock);
	for (size_t i = 0; i < BUILT_MAX; i++) {
		free(e->built[i].text);
		free(e->built[i].dict);
	}
	cmudict_destroy(e->lex);
	pthread_mutex_destroy(&e->lock);
	pthread_cond_destroy(&e->freed);
	pthread_mutex_destroy(&e->build_lock);
	free(e);
}

/* fast: FAST_ARGS on top (the fast LM decoders). */
static ps_decoder_t *decoder_new(const struct ps_engine *e, const char *dict,
				 const char *lm, bool fast)
{
	/* Measured on flite speech through mu-law (docs/SPEECH.md): without
	 * spectral noise removal and with a lower word insertion probability
	 * than the default 0.65, digit strings stop gaining an "oh" and
	 * losing "four" to "five". 0.2 is what n-gram searches use; grammar
	 * searches get GRAMMAR_WIP (fsg_from_jsgf()). */
	char *argv[32] = { "-hmm",	 (char *)e->hmm, "-dict",
			   (char *)dict, "-samprate",	 "16000",
			   "-bestpath",	 "yes",		 "-remove_noise",
			   "no",	 "-wip",	 "0.2" };
	int argc = 12;
	if (lm) {
		argv[argc++] = "-lm";
		argv[argc++] = (char *)lm;
	}
	for (size_t i = 0; fast && FAST_ARGS[i] && argc < 32; i++)
		argv[argc++] = (char *)FAST_ARGS[i];
	cmd_ln_t *cfg = cmd_ln_parse_r(NULL, ps_args(), argc, argv, TRUE);
	if (!cfg)
		return NULL;
	ps_decoder_t *ps = ps_init(cfg);
	cmd_ln_free_r(cfg); /* the decoder holds its own reference */
	return ps;
}

/* Note what stream_cmn() restores. */
static int cmn_note(struct decoder *d)
{
	feat_t *f = ps_get_feat(d->ps);
	if (!f || !f->cmn_struct || f->cmn_struct->veclen > CEP_MAX)
		return -EIO;
	d->cmn_type = f->cmn;
	cmn_live_get(f->cmn_struct, d->cmn0);
	return 0;
}

/* Cepstral mean normalisation of streams. The en-us model normalises each
 * utterance by its own mean (-cmn batch), which a decode() does; fed in
 * blocks, sphinxbase switches the decoder to a running mean (and leaves it
 * switched), which starts from the mean the decoder's last utterance left
 * and is only updated at the end of an utterance (or after 8 s). A stream
 * starts from a fixed prior instead, so its result depends on its own
 * audio only (begin), and the decoder gets its batch normalisation back
 * for the next decode() (end). The model's own initial mean is wideband
 * speech's: on 8 kHz audio resampled to 16 kHz the stream heard nothing
 * right ("are want what are forgot an" for "i want to transfer money").
 * TEL_CMN is the mean of the utterance means batch decodes computed on
 * 131 utterances of bench_stt's set (flite kal and slt through mu-law,
 * upsampled; standard deviation 2 to 7 per coefficient): the band limit
 * dominates it. A deployment on other lines may measure its own. */
static const mfcc_t TEL_CMN[] = { 44.22f, 25.78f, -30.49f, 40.11f, -20.09f,
				  -2.50f, 15.13f, -24.84f, 19.50f, -6.69f,
				  -1.32f, 13.94f, -11.34f };
#define TEL_CMN_N (sizeof(TEL_CMN) / sizeof(*TEL_CMN))

static void stream_cmn(struct decoder *d, int begin)
{
	feat_t *f = ps_get_feat(d->ps);
	f->cmn = d->cmn_type;
	if (!begin)
		return;
	if (f->cmn_struct->veclen == (int32)TEL_CMN_N)
		cmn_live_set(f->cmn_struct, TEL_CMN);
	else
		cmn_live_set(f->cmn_struct, d->cmn0);
}

/* The pool's decoders start from a few words and learn each grammar's
 * (ps_add_word) when its search is built: an n-gram search maps every word
 * of the dictionary into its LM, which takes seconds with the 134k words
 * of cmudict and milliseconds with a grammar's. */
static int seed_dict(const struct ps_engine *e, char *path)
{
	static const char *const words[] = { "yes", "no" };
	int fd = mkstemp(path);
	if (fd < 0)
		return -EIO;
	FILE *f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		unlink(path);
		return -EIO;
	}
	for (size_t i = 0; i < sizeof(words) / sizeof(*words); i++) {
		const char *pron = cmudict_find(e->lex, words[i], 0);
		if (pron)
			fprintf(f, "%s %s\n", words[i], pron);
	}
	if (fclose(f)) {
		unlink(path);
		return -EIO;
	}
	return 0;
}

static int ps_open(struct stt_engine **ep, const struct stt_engine_cfg *cfg)
{
	if (!ep)
		return -EINVAL;
	const char *dir =
		cfg && cfg->model_dir ? cfg->model_dir : VG_PS_MODEL_DIR;
	unsigned n = cfg && cfg->pool_size ? cfg->pool_size : POOL_DEFAULT;
	if (n > POOL_MAX)
		n = POOL_MAX;
	struct ps_engine *e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	pthread_mutex_init(&e->lock, NULL);
	pthread_cond_init(&e->freed, NULL);
	pthread_mutex_init(&e->build_lock, NULL);
	pthread_mutex_init(&e->open_lock, NULL);
	e->base.ops = &stt_pocketsphinx_ops;

	int err = -ENAMETOOLONG;
	if ((size_t)snprintf(e->hmm, sizeof(e->hmm), "%s/en-us", dir) >=
		    sizeof(e->hmm) ||
	    (size_t)snprintf(e->dict, sizeof(e->dict), "%s/cmudict-en-us.dict",
			     dir) >= sizeof(e->dict) ||
	    (size_t)snprintf(e->lm, sizeof(e->lm), "%s/en-us.lm.bin", dir) >=
		    sizeof(e->lm))
		goto fail;
	err = -ENOENT;
	char mdef[600];
	snprintf(mdef, sizeof(mdef), "%s/mdef", e->hmm);
	if (!file_exists(mdef) || !file_exists(e->dict))
		goto fail;
	err = cmudict_load(&e->lex, e->dict);
	if (err)
		goto fail;
	pthread_once(&log_once, setup_log);

	err = -ENOMEM;
	e->dec = calloc(n, sizeof(*e->dec));
	e->fast = calloc(n, sizeof(*e->fast));
	if (!e->dec || !e->fast)
		goto fail;
	e->n = n;
	e->degrade = cfg && cfg->degrade;
	e->degrade_ms = cfg ? cfg->degrade_ms : 0;
	uint64_t t0 = clock_mono_us();
	char seed[] = "/tmp/voxgate-dict-XXXXXX";
	err = seed_dict(e, seed);
	if (err)
		goto fail;
	for (unsigned i = 0; i < n && !err; i++) {
		err = resampler_create(&e->dec[i].rs, 8000, 16000,
				       RESAMPLER_QUALITY_DEFAULT);
		if (!err && !(e->dec[i].ps = decoder_new(e, seed, NULL, false)))
			err = -EIO;
		if (!err)
			err = cmn_note(&e->dec[i]);
	}
	unlink(seed);
	if (err)
		goto fail;
	e->load_ms = (uint32_t)((clock_mono_us() - t0) / 1000u / n);
	LOGI(NULL, "stt_engine_open",
	     "engine=pocketsphinx decoders=%u load_ms_per_decoder=%u words=%zu "
	     "degrade_ms=%d",
	     n, e->load_ms, cmudict_count(e->lex),
	     e->degrade ? (int)e->degrade_ms : -1);
	*ep = &e->base;
	return 0;
fail:
	LOGW(NULL, "stt_engine_open_failed",
	     "engine=pocketsphinx err=%d dir=%s", err, log_esc(dir));
	engine_free(e);
	return err;
}

static void ps_close(struct stt_engine *se)
{
	if (se)
		engine_free((struct ps_engine *)se);
}

/* The texts of g, built on first use. Under build_lock. */
static int built_get(struct ps_engine *e, const struct stt_grammar *g,
		     struct built **bp)
{
	uint64_t gid = stt_grammar_id(g);
	struct built *victim = &e->built[0];
	for (size_t i = 0; i < BUILT_MAX; i++) {
		struct built *b = &e->built[i];
		if (b->gid == gid) {
			b->used = ++e->build_tick;
			*bp = b;
			return 0;
		}
		if (b->used < victim->used)
			victim = b;
	}
	char *text = NULL, *dict = NULL, *oov = NULL;
	int err = ps_dict_build(g, e->lex, 1, &dict, &oov);
	if (err)
		return err;
	if (oov && *oov)
		LOGW(NULL, "stt_grammar_oov", "engine=pocketsphinx words=%s",
		     log_esc(oov));
	free(oov);
	if (stt_grammar_mode(g) == STT_MODE_GRAMMAR)
		err = ps_jsgf_build(g, &text);
	else
		err = ps_arpa_build(g, dict, LM_ORDER, &text);
	if (err) {
		free(dict);
		return err;
	}
	free(victim->text);
	free(victim->dict);
	victim->gid = gid;
	victim->used = ++e->build_tick;
	victim->mode = stt_grammar_mode(g);
	victim->text = text;
	victim->dict = dict;
	*bp = victim;
	return 0;
}

/* Words of dict (alternate pronunciations "word(2)" included) the
 * decoder does not know yet; see seed_dict(). */
static int add_words(ps_decoder_t *ps, const char *dict)
{
	char line[PS_PHONES_MAX + 80];
	for (const char *p = dict; *p;) {
		const char *eol = strchr(p, '\n');
		size_t l = eol ? (size_t)(eol - p) : strlen(p);
		if (l < sizeof(line)) {
			memcpy(line, p, l);
			line[l] = '\0';
			char *sp = strchr(line, ' ');
			if (sp) {
				*sp = '\0';
				char *have = ps_lookup_word(ps, line);
				if (have)
					ckd_free(have);
				else if (ps_add_word(ps, line, sp + 1, 0) < 0)
					return -EIO;
			}
		}
		p += l;
		if (*p)
			p++;
	}
	return 0;
}

/* ARPA text -> a file sphinxbase can read (it has no reader from memory). */
static ngram_model_t *lm_from_text(ps_decoder_t *ps, const char *arpa)
{
	char path[] = "/tmp/voxgate-lm-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		return NULL;
	size_t len = strlen(arpa), off = 0;
	while (off < len) {
		ssize_t w = write(fd, arpa + off, len - off);
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	close(fd);
	ngram_model_t *lm = NULL;
	if (off == len)
		lm = ngram_model_read(ps_get_config(ps), path, NGRAM_ARPA,
				      ps_get_logmath(ps));
	unlink(path);
	return lm;
}

/* ps_set_jsgf_string() of 5prealpha leaks the parsed grammar: the same
 * steps, with the grammar freed. */
static int fsg_from_jsgf(ps_decoder_t *ps, const char *name, const char *text)
{
	jsgf_t *jsgf = jsgf_parse_string(text, NULL);
	if (!jsgf)
		return -1;
	int r = -1;
	jsgf_rule_t *rule = jsgf_get_public_rule(jsgf);
	cmd_ln_t *cfg = ps_get_config(ps);
	float lw = (float)cmd_ln_float32_r(cfg, "-lw");
	fsg_model_t *fsg =
		rule ? jsgf_build_fsg(jsgf, rule, ps_get_logmath(ps), lw)
		     : NULL;
	if (fsg) {
		/* the FSG search reads -wip when it is created: set the
		 * grammar's for that moment only */
		double wip = cmd_ln_float32_r(cfg, "-wip");
		cmd_ln_set_float32_r(cfg, "-wip", GRAMMAR_WIP);
		r = ps_set_fsg(ps, name, fsg);
		cmd_ln_set_float32_r(cfg, "-wip", wip);
		fsg_model_free(fsg); /* the search keeps its own reference */
	}
	jsgf_grammar_free(jsgf);
	return r;
}

/* Install lm as search name without the second pass: ngram_search_init()
 * reads its passes from the decoder's config when the search is created,
 * so -fwdflat is off for that moment only, as fsg_from_jsgf() does with
 * -wip; grammar searches keep the default. */
static int lm_search_new(ps_decoder_t *ps, const char *name, ngram_model_t *lm)
{
	cmd_ln_t *cfg = ps_get_config(ps);
	long was = cmd_ln_int_r(cfg, "-fwdflat"); /* booleans are ints */
	cmd_ln_set_int_r(cfg, "-fwdflat", 0);
	int r = ps_set_lm(ps, name, lm);
	cmd_ln_set_int_r(cfg, "-fwdflat", was);
	return r;
}

/* Select the search of g on d, building and installing it if needed. */
static int select_search(struct ps_engine *e, struct decoder *d,
			 const struct stt_grammar *g)
{
	uint64_t gid = stt_grammar_id(g);
	struct search *victim = &d->s[0];
	for (size_t i = 0; i < SEARCHES_MAX; i++) {
		if (d->s[i].gid == gid) {
			d->s[i].used = ++d->tick;
			return ps_set_search(d->ps, d->s[i].name) < 0 ? -EIO
								      : 0;
		}
		if (d->s[i].used < victim->used)
			victim = &d->s[i];
	}
	if (victim->gid) {
		ps_unset_search(d->ps, victim->name);
		victim->gid = 0;
	}
	char name[24];
	snprintf(name, sizeof(name), "g%llu", (unsigned long long)gid);

	pthread_mutex_lock(&e->build_lock);
	struct built *b = NULL;
	int err = built_get(e, g, &b);
	if (!err)
		err = add_words(d->ps, b->dict);
	if (!err && b->mode == STT_MODE_GRAMMAR) {
		if (fsg_from_jsgf(d->ps, name, b->text) < 0)
			err = -ENOTSUP;
	} else if (!err) {
		ngram_model_t *lm = lm_from_text(d->ps, b->text);
		if (!lm || lm_search_new(d->ps, name, lm) < 0)
			err = -ENOTSUP;
		if (lm)
			ngram_model_free(lm); /* the search keeps its own */
	}
	pthread_mutex_unlock(&e->build_lock);
	if (err)
		return err;
	memcpy(victim->name, name, sizeof(name));
	victim->gid = gid;
	victim->used = ++d->tick;
	return ps_set_search(d->ps, name) < 0 ? -EIO : 0;
}

static struct decoder *take(struct ps_engine *e)
{
	pthread_mutex_lock(&e->lock);
	for (;;) {
		for (unsigned i = 0; i < e->n; i++)
			if (!e->dec[i].busy) {
				e->dec[i].busy = 1;
				pthread_mutex_unlock(&e->lock);
				return &e->dec[i];
			}
		pthread_cond_wait(&e->freed, &e->lock);
	}
}

/* A free pool decoder for a stream, or NULL when fewer than two are free.
 * A stream holds its decoder between jobs, while decode() waits for one
 * on a worker (take()): if streams could hold every decoder, decodes
 * waiting on every worker would keep the streams' own jobs from running
 * (a deadlock, seen with 6 callers on 2 decoders). One decoder is only
 * ever held by a running decode, so a waiting one always gets it. */
static struct decoder *try_take(struct ps_engine *e)
{
	struct decoder *d = NULL;
	unsigned nfree = 0;
	pthread_mutex_lock(&e->lock);
	for (unsigned i = 0; i < e->n; i++)
		nfree += !e->dec[i].busy;
	for (unsigned i = 0; i < e->n && !d && nfree >= 2; i++)
		if (!e->dec[i].busy) {
			e->dec[i].busy = 1;
			d = &e->dec[i];
		}
	pthread_mutex_unlock(&e->lock);
	return d;
}

/* The open-vocabulary decoder (full dictionary, generic LM), loaded on
 * first use since few deployments want it; one, taken like the pool's
 * (busy under lock). wait 0: -EBUSY when it is taken. */
static int take_open(struct ps_engine *e, int wait, struct decoder **dp)
{
	pthread_mutex_lock(&e->open_lock);
	struct decoder *d = &e->open;
	int err = 0;
	if (!d->ps) {
		uint64_t t0 = clock_mono_us();
		if (!d->rs && resampler_create(&d->rs, 8000, 16000,
					       RESAMPLER_QUALITY_DEFAULT))
			err = -ENOMEM;
		else if (!(d->ps = decoder_new(e, e->dict, e->lm, false)))
			err = -EIO;
		else if ((err = cmn_note(d)) != 0) {
			ps_free(d->ps);
			d->ps = NULL;
		} else
			LOGI(NULL, "stt_open_decoder_loaded",
			     "engine=pocketsphinx load_ms=%llu",
			     (unsigned long long)(clock_mono_us() - t0) /
				     1000u);
	}
	pthread_mutex_unlock(&e->open_lock);
	if (err)
		return err;
	pthread_mutex_lock(&e->lock);
	while (d->busy && wait)
		pthread_cond_wait(&e->freed, &e->lock);
	if (d->busy)
		err = -EBUSY;
	else
		d->busy = 1;
	pthread_mutex_unlock(&e->lock);
	if (!err)
		*dp = d;
	return err;
}

/* A decoder for a degraded LM decode: a free loaded fast one, else an empty
 * fast slot loaded here (outside the pool lock: a load takes 10-50 ms, and
 * the first decode on it installs its search), else a free full decoder (a
 * late request waits no longer for the fast decoders while a full one
 * idles), else wait for whichever frees first. Returns 0 or the load's
 * error (the slot stays empty). */
static int take_fast(struct ps_engine *e, struct decoder **dp)
{
	struct decoder *d = NULL;
	pthread_mutex_lock(&e->lock);
	while (!d) {
		for (unsigned i = 0; i < e->n && !d; i++)
			if (e->fast[i].ps && !e->fast[i].busy)
				d = &e->fast[i];
		for (unsigned i = 0; i < e->n && !d; i++)
			if (!e->fast[i].ps && !e->fast[i].busy)
				d = &e->fast[i];
		for (unsigned i = 0; i < e->n && !d; i++)
			if (!e->dec[i].busy)
				d = &e->dec[i];
		if (!d)
			pthread_cond_wait(&e->freed, &e->lock);
	}
	d->busy = 1;
	bool load = !d->ps;
	pthread_mutex_unlock(&e->lock);
	if (!load) {
		*dp = d;
		return 0;
	}
	uint64_t t0 = clock_mono_us();
	char seed[] = "/tmp/voxgate-dict-XXXXXX";
	ps_decoder_t *ps = NULL;
	int err = seed_dict(e, seed);
	if (!err) {
		if (!d->rs && resampler_create(&d->rs, 8000, 16000,
					       RESAMPLER_QUALITY_DEFAULT))
			err = -ENOMEM;
		else if (!(ps = decoder_new(e, seed, NULL, true)))
			err = -EIO;
		unlink(seed);
	}
	if (!err) {
		struct decoder probe = { .ps = ps };
		err = cmn_note(&probe);
		d->cmn_type = probe.cmn_type;
		memcpy(d->cmn0, probe.cmn0, sizeof(d->cmn0));
	}
	if (err && ps)
		ps_free(ps);
	pthread_mutex_lock(&e->lock);
	if (!err) {
		d->ps = ps;
		d->fast = true;
	} else {
		d->busy = 0;
		pthread_cond_broadcast(&e->freed);
	}
	pthread_mutex_unlock(&e->lock);
	if (err) {
		LOGW(NULL, "stt_fast_decoder_failed",
		     "engine=pocketsphinx err=%d", err);
		return err;
	}
	LOGI(NULL, "stt_fast_decoder_loaded",
	     "engine=pocketsphinx slot=%u load_ms=%llu",
	     (unsigned)(d - e->fast),
	     (unsigned long long)(clock_mono_us() - t0) / 1000u);
	*dp = d;
	return 0;
}

static void give_back(struct ps_engine *e, struct decoder *d)
{
	pthread_mutex_lock(&e->lock);
	d->busy = 0;
	pthread_cond_broadcast(&e->freed);
	pthread_mutex_unlock(&e->lock);
}

/* Resample the utterance to 16 kHz into d->pcm16. */
static int upsample(struct decoder *d, const int16_t *pcm, size_t n)
{
	resampler_reset(d->rs);
	/* trailing zeros flush the resampler's delay (upsampling by 2:
	 * half the output delay at the input rate) */
	size_t flush = resampler_delay(d->rs) / 2 + 1;
	size_t need = 2 * (n + flush) + 64;
	if (need > d->cap16) {
		int16_t *p = realloc(d->pcm16, need * sizeof(*p));
		if (!p)
			return -ENOMEM;
		d->pcm16 = p;
		d->cap16 = need;
	}
	static const int16_t zeros[CHUNK_IN];
	size_t o = 0;
	for (size_t off = 0; off < n + flush;) {
		const int16_t *in = off < n ? pcm + off : zeros;
		size_t k = off < n ? n - off : n + flush - off;
		if (k > CHUNK_IN)
			k = CHUNK_IN;
		size_t nout = d->cap16 - o;
		if (resampler_process(d->rs, in, k, d->pcm16 + o, &nout))
			return -EIO;
		o += nout;
		off += k;
	}
	d->n16 = o;
	return 0;
}

/* Decode d->pcm16 with the current search. */
static int begin_utt(struct decoder *d);

static int run_utterance(struct decoder *d)
{
	if (begin_utt(d))
		return -EIO;
	if (ps_process_raw(d->ps, d->pcm16, d->n16, FALSE, TRUE) < 0) {
		ps_end_utt(d->ps);
		return -EIO;
	}
	return ps_end_utt(d->ps) < 0 ? -EIO : 0;
}

/* Acoustic confidence from the best path's score per frame. PocketSphinx
 * scores every frame against the best senone of that frame, so a path that
 * fits the sound stays near 0 and one forced through the wrong words falls
 * far below. The logistic's midpoint and slope are measured on flite speech
 * through mu-law (docs/SPEECH.md): in-grammar phrases score 15..37 below
 * per frame, out-of-grammar sentences forced onto a grammar 40..50. */
static double score_conf(int32 score, int frames, double mid)
{
	if (frames <= 0)
		return 0;
	double per_frame = -(double)score / frames;
	return 1.0 / (1.0 + exp((per_frame - mid) / CONF_SLOPE));
}

/* The path score of a grammar search carries GRAMMAR_WIP once per word
 * of the path (silences included), while the confidence logistic was
 * calibrated with 0.2. Without this refund a four-digit string lost about
 * 5 per frame (kal "four one one one" 0.53 instead of 0.79 at 0.2): the
 * difference is given back per segment of the best path but the sentence
 * marks. Counting the text's words only gave back too little (kal "agent"
 * 0.68 against 0.79 at 0.2); counting segments gives slightly more (0.84;
 * slt identical). Scores are in the decoder's log base, shifted right by
 * 10 bits as PocketSphinx does (SENSCR_SHIFT, internal). */
static int32 wip_refund(ps_decoder_t *ps)
{
	logmath_t *lm = ps_get_logmath(ps);
	cmd_ln_t *cfg = ps_get_config(ps);
	float lw = (float)cmd_ln_float32_r(cfg, "-lw");
	double ngram_wip = cmd_ln_float32_r(cfg, "-wip"); /* 0.2 */
	int32 per_word = (int32)((logmath_log(lm, ngram_wip) -
				  logmath_log(lm, GRAMMAR_WIP)) *
				 lw) >>
			 10;
	int32 words = 0;
	for (ps_seg_t *sg = ps_seg_iter(ps); sg; sg = ps_seg_next(sg)) {
		const char *w = ps_seg_word(sg);
		words += w && strcmp(w, "<s>") && strcmp(w, "</s>");
	}
	return words * per_word;
}

/* Copy a hypothesis as rule 5 wants it: lowercase words, one space. */
static void copy_text(char *dst, const char *hyp)
{
	size_t o = 0;
	for (const char *p = hyp ? hyp : ""; *p && o < STT_TEXT_MAX; p++) {
		char c = *p;
		if (c == ' ' || c == '\t') {
			if (o && dst[o - 1] != ' ')
				dst[o++] = ' ';
			continue;
		}
		dst[o++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
	}
	while (o && dst[o - 1] == ' ')
		o--;
	dst[o] = '\0';
}

static int check_request(const struct ps_engine *e,
			 const struct stt_request *req)
{
	if (!e || !req)
		return -EINVAL;
	if (req->mode != STT_MODE_OPEN &&
	    (!req->grammar || stt_grammar_mode(req->grammar) != req->mode))
		return -EINVAL;
	return 0;
}

/* Whether a decode of req runs degraded: LM mode only (the fast
 * decoders' -ds is the acoustic model's, which grammar decodes share),
 * once the request waited degrade_ms in the worker queue. */
static bool degraded(const struct ps_engine *e, const struct stt_request *req)
{
	return e->degrade && req->mode == STT_MODE_LM &&
	       req->queued_ms >= e->degrade_ms;
}

/* Take a decoder for req (wait 0: -EBUSY rather than wait) with req's
 * search selected; fast: a fast decoder (a pool decoder if one is free
 * first or none loads: take_fast()). */
static int acquire(struct ps_engine *e, const struct stt_request *req, int wait,
		   bool fast, struct decoder **dp)
{
	const struct stt_grammar *g =
		req->mode == STT_MODE_OPEN ? NULL : req->grammar;
	struct decoder *d = NULL;
	int err = 0;
	if (!g)
		err = take_open(e, wait, &d);
	else if (fast && take_fast(e, &d) == 0)
		err = 0;
	else if (wait) /* also when no fast decoder loads: full quality */
		d = take(e);
	else if (!(d = try_take(e)))
		err = -EBUSY;
	if (!err && g)
		err = select_search(e, d, g);
	if (err && d)
		give_back(e, d);
	if (!err)
		*dp = d;
	return err;
}

/* Start an utterance on d. */
static int begin_utt(struct decoder *d)
{
	/* a new stream forgets the noise and speech statistics of the last
	 * utterance: each result depends on its own audio only */
	return ps_start_stream(d->ps) < 0 || ps_start_utt(d->ps) < 0 ? -EIO : 0;
}

/* The result of d's ended utterance, as rules 5 and 6 want it: text,
 * confidence, the grammar phrase (GRAMMAR mode). */
static void result_of(struct decoder *d, const struct stt_request *req,
		      struct stt_result *res)
{
	const struct stt_grammar *g =
		req->mode == STT_MODE_OPEN ? NULL : req->grammar;
	int32 score = 0;
	memset(res, 0, sizeof(*res));
	copy_text(res->text, ps_get_hyp(d->ps, &score));
	/* ps_get_prob() is no help in 5prealpha: 0 (log 1) for grammars, and
	 * for n-gram searches a lattice posterior that changes with what the
	 * decoder decoded before */
	if (g && req->mode == STT_MODE_GRAMMAR)
		score += wip_refund(d->ps);
	double conf = *res->text
			      ? score_conf(score, ps_get_n_frames(d->ps),
					   d->fast ? CONF_MID_FAST : CONF_MID)
			      : 0;
	const char *phrase = NULL;
	if (g && req->mode == STT_MODE_GRAMMAR && *res->text) {
		phrase = ps_grammar_phrase_of(g, res->text);
		double sc = 0;
		if (!phrase &&
		    (phrase = stt_grammar_snap(g, res->text, SNAP_RATIO, &sc)))
			conf *= sc;
	}
	if (conf > 1)
		conf = 1;
	if (conf < 0)
		conf = 0;
	res->confidence = (float)conf;
	res->engine = stt_pocketsphinx_ops.name;
	res->grammar_phrase = phrase;
	res->degraded = d->fast;
}

static int ps_decode(struct stt_engine *se, const struct stt_request *req,
		     const int16_t *pcm, size_t n, struct stt_result *res)
{
	struct ps_engine *e = (struct ps_engine *)se;
	int err = check_request(e, req);
	if (err || !res || (n && !pcm) || n > (size_t)STT_UTTERANCE_MAX_MS * 8)
		return err ? err : -EINVAL;
	uint64_t t0 = clock_mono_us();
	struct decoder *d = NULL;
	err = acquire(e, req, 1, degraded(e, req), &d);
	if (!err)
		err = upsample(d, pcm, n);
	if (!err)
		err = run_utterance(d);
	struct stt_result r;
	if (!err)
		result_of(d, req, &r);
	if (d)
		give_back(e, d);
	if (err) {
		LOGW(req->call_id, "stt_decode_failed",
		     "engine=pocketsphinx err=%d", err);
		return err;
	}
	r.decode_us = (uint32_t)(clock_mono_us() - t0);
	r.audio_ms = (uint32_t)(n / 8);
	*res = r;
	return 0;
}

/* ---- streams ---- */

struct stt_engine_stream {
	struct ps_engine *e;
	struct decoder *d;
	struct stt_request req; /* call_id points at call_id below */
	char call_id[64];
	size_t n8;   /* samples fed */
	size_t n16;  /* 16 kHz samples in d->pcm16 short of a block */
	uint64_t us; /* wall time inside the stream's calls */
	char partial[STT_TEXT_MAX + 1];
};

static void stream_free(struct stt_engine_stream *st)
{
	stream_cmn(st->d, 0);
	give_back(st->e, st->d);
	free(st);
}

static int ps_stream_begin(struct stt_engine *se, const struct stt_request *req,
			   struct stt_engine_stream **sp)
{
	struct ps_engine *e = (struct ps_engine *)se;
	int err = check_request(e, req);
	if (err || !sp)
		return err ? err : -EINVAL;
	uint64_t t0 = clock_mono_us();
	struct stt_engine_stream *st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	st->e = e;
	st->req = *req;
	st->req.call_id = NULL;
	if (req->call_id) {
		snprintf(st->call_id, sizeof(st->call_id), "%s", req->call_id);
		st->req.call_id = st->call_id;
	}
	err = acquire(e, req, 0, false, &st->d);
	if (err) {
		free(st);
		return err;
	}
	struct decoder *d = st->d;
	if (d->cap16 < PCM16_MIN) {
		int16_t *p = realloc(d->pcm16, PCM16_MIN * sizeof(*p));
		if (!p)
			err = -ENOMEM;
		else {
			d->pcm16 = p;
			d->cap16 = PCM16_MIN;
		}
	}
	resampler_reset(d->rs);
	if (!err) {
		stream_cmn(d, 1);
		err = begin_utt(d);
	}
	if (err) {
		stream_free(st);
		return err;
	}
	st->us = clock_mono_us() - t0;
	*sp = st;
	return 0;
}

/* Resample pcm[0..n) (or n zeros: pcm NULL) and hand PocketSphinx every
 * whole block. */
static int stream_push(struct stt_engine_stream *st, const int16_t *pcm,
		       size_t n)
{
	static const int16_t zeros[CHUNK_IN];
	struct decoder *d = st->d;
	for (size_t off = 0; off < n;) {
		size_t k = n - off < CHUNK_IN ? n - off : CHUNK_IN;
		size_t nout = d->cap16 - st->n16;
		if (resampler_process(d->rs, pcm ? pcm + off : zeros, k,
				      d->pcm16 + st->n16, &nout))
			return -EIO;
		st->n16 += nout;
		off += k;
		size_t b = 0;
		for (; st->n16 - b >= BLOCK16; b += BLOCK16) {
			if (ps_process_raw(d->ps, d->pcm16 + b, BLOCK16, FALSE,
					   FALSE) < 0)
				return -EIO;
		}
		if (b) {
			memmove(d->pcm16, d->pcm16 + b,
				(st->n16 - b) * sizeof(*d->pcm16));
			st->n16 -= b;
		}
	}
	return 0;
}

static int ps_stream_feed(struct stt_engine_stream *st, const int16_t *pcm,
			  size_t n)
{
	if (!st || (n && !pcm))
		return -EINVAL;
	if (n > (size_t)STT_UTTERANCE_MAX_MS * 8 - st->n8)
		return -E2BIG;
	uint64_t t0 = clock_mono_us();
	int err = stream_push(st, pcm, n);
	if (!err)
		st->n8 += n;
	st->us += clock_mono_us() - t0;
	return err;
}

static int ps_stream_partial(struct stt_engine_stream *st, char *text,
			     size_t cap)
{
	if (!st || !text || !cap)
		return -EINVAL;
	uint64_t t0 = clock_mono_us();
	char now[STT_TEXT_MAX + 1];
	int32 score = 0;
	copy_text(now, ps_get_hyp(st->d->ps, &score));
	int changed = strcmp(now, st->partial) != 0;
	if (changed)
		memcpy(st->partial, now, strlen(now) + 1);
	st->us += clock_mono_us() - t0;
	if (!changed)
		return 0;
	snprintf(text, cap, "%s", now);
	return 1;
}

static int ps_stream_end(struct stt_engine_stream *st, struct stt_result *res)
{
	if (!st)
		return -EINVAL;
	uint64_t t0 = clock_mono_us();
	struct decoder *d = st->d;
	/* trailing zeros flush the resampler's delay, as upsample() does */
	int err = res ? stream_push(st, NULL, resampler_delay(d->rs) / 2 + 1)
		      : -EINVAL;
	if (!err && st->n16 &&
	    ps_process_raw(d->ps, d->pcm16, st->n16, FALSE, FALSE) < 0)
		err = -EIO;
	if (ps_end_utt(d->ps) < 0 && !err)
		err = -EIO;
	struct stt_result r;
	if (!err)
		result_of(d, &st->req, &r);
	st->us += clock_mono_us() - t0;
	if (err) {
		LOGW(st->req.call_id, "stt_decode_failed",
		     "engine=pocketsphinx err=%d stream=1", err);
	} else {
		r.decode_us =
			st->us > UINT32_MAX ? UINT32_MAX : (uint32_t)st->us;
		r.audio_ms = (uint32_t)(st->n8 / 8);
		*res = r;
	}
	stream_free(st);
	return err;
}

static void ps_stream_abort(struct stt_engine_stream *st)
{
	if (!st)
		return;
	ps_end_utt(st->d->ps); /* the decoder goes back reset */
	stream_free(st);
}

static int ps_prepare(struct stt_engine *se, const struct stt_grammar *g)
{
	struct ps_engine *e = (struct ps_engine *)se;
	if (!e || !g || stt_grammar_mode(g) == STT_MODE_OPEN)
		return -EINVAL;
	/* take every decoder in turn: install the search on each */
	for (unsigned i = 0; i < e->n; i++) {
		pthread_mutex_lock(&e->lock);
		while (e->dec[i].busy)
			pthread_cond_wait(&e->freed, &e->lock);
		e->dec[i].busy = 1;
		pthread_mutex_unlock(&e->lock);
		int err = select_search(e, &e->dec[i], g);
		give_back(e, &e->dec[i]);
		if (err)
			return err;
	}
	/* and on the fast decoders loaded so far (a flow reload) */
	for (unsigned i = 0; stt_grammar_mode(g) == STT_MODE_LM && i < e->n;
	     i++) {
		pthread_mutex_lock(&e->lock);
		while (e->fast[i].busy)
			pthread_cond_wait(&e->freed, &e->lock);
		bool have = e->fast[i].ps != NULL;
		if (have)
			e->fast[i].busy = 1;
		pthread_mutex_unlock(&e->lock);
		if (!have)
			continue;
		int err = select_search(e, &e->fast[i], g);
		give_back(e, &e->fast[i]);
		if (err)
			return err;
	}
	return 0;
}

unsigned stt_pocketsphinx_load_ms(const struct stt_engine *se)
{
	return se ? ((const struct ps_engine *)se)->load_ms : 0;
}

const struct stt_engine_ops stt_pocketsphinx_ops = {
	.name = "pocketsphinx",
	.caps = STT_CAP_GRAMMAR | STT_CAP_LM | STT_CAP_OPEN | STT_CAP_STREAM,
	.open = ps_open,
	.close = ps_close,
	.decode = ps_decode,
	.prepare = ps_prepare,
	.stream_begin = ps_stream_begin,
	.stream_feed = ps_stream_feed,
	.stream_partial = ps_stream_partial,
	.stream_end = ps_stream_end,
	.stream_abort = ps_stream_abort,
};

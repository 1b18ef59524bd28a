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
 * with the full dictionary, loaded on first use. */
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

struct search {
	uint64_t gid; /* 0: free */
	uint64_t used;
	char name[24];
};

struct decoder {
	ps_decoder_t *ps;
	struct resampler *rs;
	int busy;
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
	pthread_mutex_t open_lock; /* the open decoder */
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

static ps_decoder_t *decoder_new(const struct ps_engine *e, const char *dict,
				 const char *lm)
{
	/* Measured on flite speech through mu-law (docs/SPEECH.md): without
	 * spectral noise removal and with a lower word insertion probability
	 * than the default 0.65, digit strings stop gaining an "oh" and
	 * losing "four" to "five". 0.2 is what n-gram searches use; grammar
	 * searches get GRAMMAR_WIP (fsg_from_jsgf()). */
	cmd_ln_t *cfg = cmd_ln_init(NULL, ps_args(), TRUE, "-hmm", e->hmm,
				    "-dict", dict, "-samprate", "16000",
				    "-bestpath", "yes", "-remove_noise", "no",
				    "-wip", "0.2", lm ? "-lm" : NULL, lm, NULL);
	if (!cfg)
		return NULL;
	ps_decoder_t *ps = ps_init(cfg);
	cmd_ln_free_r(cfg); /* the decoder holds its own reference */
	return ps;
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
	if (!e->dec)
		goto fail;
	e->n = n;
	uint64_t t0 = clock_mono_us();
	char seed[] = "/tmp/voxgate-dict-XXXXXX";
	err = seed_dict(e, seed);
	if (err)
		goto fail;
	for (unsigned i = 0; i < n && !err; i++) {
		err = resampler_create(&e->dec[i].rs, 8000, 16000,
				       RESAMPLER_QUALITY_DEFAULT);
		if (!err && !(e->dec[i].ps = decoder_new(e, seed, NULL)))
			err = -EIO;
	}
	unlink(seed);
	if (err)
		goto fail;
	e->load_ms = (uint32_t)((clock_mono_us() - t0) / 1000u / n);
	LOGI(NULL, "stt_engine_open",
	     "engine=pocketsphinx decoders=%u load_ms_per_decoder=%u words=%zu",
	     n, e->load_ms, cmudict_count(e->lex));
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

/* The open-vocabulary decoder (full dictionary, generic LM), loaded on
 * first use since few deployments want it; one, serialised. Returns it
 * with open_lock held (also on NULL: the caller unlocks). */
static struct decoder *take_open(struct ps_engine *e)
{
	pthread_mutex_lock(&e->open_lock);
	struct decoder *d = &e->open;
	if (!d->ps) {
		uint64_t t0 = clock_mono_us();
		if (!d->rs && resampler_create(&d->rs, 8000, 16000,
					       RESAMPLER_QUALITY_DEFAULT))
			return NULL;
		d->ps = decoder_new(e, e->dict, e->lm);
		if (!d->ps)
			return NULL;
		LOGI(NULL, "stt_open_decoder_loaded",
		     "engine=pocketsphinx load_ms=%llu",
		     (unsigned long long)(clock_mono_us() - t0) / 1000u);
	}
	return d;
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
static int run_utterance(struct decoder *d)
{
	/* a new stream forgets the noise and speech statistics of the last
	 * utterance: each result depends on its own audio only */
	if (ps_start_stream(d->ps) < 0 || ps_start_utt(d->ps) < 0)
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
static double score_conf(int32 score, int frames)
{
	if (frames <= 0)
		return 0;
	double per_frame = -(double)score / frames;
	return 1.0 / (1.0 + exp((per_frame - CONF_MID) / CONF_SLOPE));
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

static int ps_decode(struct stt_engine *se, const struct stt_request *req,
		     const int16_t *pcm, size_t n, struct stt_result *res)
{
	struct ps_engine *e = (struct ps_engine *)se;
	if (!e || !req || !res || (n && !pcm) ||
	    n > (size_t)STT_UTTERANCE_MAX_MS * 8)
		return -EINVAL;
	if (req->mode != STT_MODE_OPEN &&
	    (!req->grammar || stt_grammar_mode(req->grammar) != req->mode))
		return -EINVAL;
	uint64_t t0 = clock_mono_us();

	const struct stt_grammar *g =
		req->mode == STT_MODE_OPEN ? NULL : req->grammar;
	struct decoder *d = g ? take(e) : take_open(e);
	int err = d ? upsample(d, pcm, n) : -EIO;
	if (!err && g)
		err = select_search(e, d, g);
	if (!err)
		err = run_utterance(d);
	char text[STT_TEXT_MAX + 1];
	double conf = 0;
	if (!err) {
		int32 score = 0;
		copy_text(text, ps_get_hyp(d->ps, &score));
		/* ps_get_prob() is no help in 5prealpha: 0 (log 1) for
		 * grammars, and for n-gram searches a lattice posterior that
		 * changes with what the decoder decoded before */
		if (g && req->mode == STT_MODE_GRAMMAR)
			score += wip_refund(d->ps);
		conf = *text ? score_conf(score, ps_get_n_frames(d->ps)) : 0;
	}
	if (!g)
		pthread_mutex_unlock(&e->open_lock);
	else if (d)
		give_back(e, d);
	if (err) {
		LOGW(req->call_id, "stt_decode_failed",
		     "engine=pocketsphinx err=%d", err);
		return err;
	}

	const char *phrase = NULL;
	if (g && req->mode == STT_MODE_GRAMMAR && *text) {
		phrase = ps_grammar_phrase_of(g, text);
		double sc = 0;
		if (!phrase &&
		    (phrase = stt_grammar_snap(g, text, SNAP_RATIO, &sc)))
			conf *= sc;
	}
	if (conf > 1)
		conf = 1;
	if (conf < 0)
		conf = 0;
	memset(res, 0, sizeof(*res));
	memcpy(res->text, text, strlen(text) + 1);
	res->confidence = (float)conf;
	res->decode_us = (uint32_t)(clock_mono_us() - t0);
	res->audio_ms = (uint32_t)(n / 8);
	res->engine = stt_pocketsphinx_ops.name;
	res->grammar_phrase = phrase;
	return 0;
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
	return 0;
}

unsigned stt_pocketsphinx_load_ms(const struct stt_engine *se)
{
	return se ? ((const struct ps_engine *)se)->load_ms : 0;
}

const struct stt_engine_ops stt_pocketsphinx_ops = {
	.name = "pocketsphinx",
	.caps = STT_CAP_GRAMMAR | STT_CAP_LM | STT_CAP_OPEN,
	.open = ps_open,
	.close = ps_close,
	.decode = ps_decode,
	.prepare = ps_prepare,
};

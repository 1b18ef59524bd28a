/* The "moonshine" STT engine: Moonshine tiny (open vocabulary, English) on
 * sherpa-onnx, behind the engine contract of stt.h. All instances share the
 * process's one recognizer (sherpa_asr); decode() is reentrant (one offline
 * stream per call), so cfg->pool_size is not used: there is nothing to pool.
 * cfg->threads is onnxruntime's intra-op thread count per decode.
 *
 * With a domain LM (an OPEN step carrying `lm`, or an LM step: STT_CAP_LM)
 * the decode runs on voxgate's own Moonshine decoder (moonort.h): beam
 * search with shallow fusion of a trigram estimated from the LM text
 * (ngram.h), built once per grammar (prepare(), or the first decode) and
 * cached by stt_grammar_id(). Without an LM, open speech decodes with the
 * same beam search without fusion (stt_engine_cfg.open_beam; width 1 is
 * greedy) and a GRAMMAR step's phrase, which stt.c snaps, greedily. When
 * the own decoder cannot open (no libonnxruntime.so), every request decodes
 * greedily on sherpa-onnx.
 *
 * Under load (stt_engine_cfg.degrade, a request that waited degrade_ms in
 * the worker queue) open speech decodes greedily (result degraded). LM
 * steps keep their beam: narrowing it measured a poor trade (width 2: +11 %
 * streams for +4 WER points; at width 1 the LM cannot turn the model's
 * " car" into " card"), BENCHMARKS.md "Moonshine under load". */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "engines/stt/sherpa/beam.h"
#include "engines/stt/sherpa/moonort.h"
#include "engines/stt/sherpa/ngram.h"
#include "engines/stt/sherpa/sherpa.h"
#include "engines/stt/sherpa/tailpad.h"
#include "engines/stt/stt.h"

#define RATE_HZ 8000u
/* Retry of an empty decode (speech_span below): 20 ms frames; a frame is
 * speech when within 40 dB of the loudest one; the span keeps 200 ms of
 * context each side; audio whose loudest frame is under -40 dBFS RMS is
 * silence and gets no retry. */
#define FRAME 160u
#define SPAN_REL_DB_POW 1e-4
#define SPAN_MARGIN (RATE_HZ / 5u)
#define SPEECH_MIN_MS2 (328.0 * 328.0)

/* Beam search with the domain LM: defaults measured on the dev part of the
 * banking set (docs/BENCHMARKS.md, "Moonshine with a domain LM"). */
#define LM_BEAM 6u
#define LM_WEIGHT 0.4
#define LM_BONUS 1.25
#define LM_PRUNE 4.0
#define LM_UNK_MASS 0.02

/* Open speech without a domain LM: the same beam search without fusion
 * (docs/BENCHMARKS.md, "Moonshine open steps: beam without LM"). Width 1 is
 * greedy. */
#define OPEN_BEAM 4u
#define OPEN_PRUNE 2.0

/* Domain LMs kept (one per grammar id; when full, the oldest is dropped
 * once no decode uses it: a flow reload makes new grammars). */
#define LM_CACHE 16u

struct lm_entry {
	uint64_t id;
	struct ngram_lm *lm;
	unsigned refs; /* decodes using lm, under moonshine.lock */
	bool dropped;  /* out of the cache: freed when refs reach 0 */
};

struct moonshine {
	struct stt_engine base; /* first: the core holds &base */
	struct sherpa_asr *asr;
	struct moonort *ort;  /* NULL: sherpa-onnx's decoder, no LM decoding */
	struct beam_cfg beam; /* with a domain LM */
	struct beam_cfg open; /* without: open speech */
	struct beam_cfg greedy; /* a GRAMMAR step's phrase (snapped) */
	bool degrade;		/* stt_engine_cfg.degrade */
	unsigned degrade_ms;
	double unk_mass;
	pthread_mutex_t lock; /* lms */
	struct lm_entry *lms[LM_CACHE];
	size_t nlms, next_lm;
};

static int moonshine_open(struct stt_engine **ep,
			  const struct stt_engine_cfg *cfg)
{
	struct moonshine *m;
	int err;

	if (!ep)
		return -EINVAL;
	if (cfg && cfg->lm_beam &&
	    (cfg->lm_beam > BEAM_WIDTH_MAX || !(cfg->lm_weight >= 0) ||
	     !isfinite(cfg->lm_word_bonus) || !(cfg->lm_prune >= 0)))
		return -EINVAL;
	if (cfg && cfg->open_beam &&
	    (cfg->open_beam > BEAM_WIDTH_MAX || !(cfg->open_prune >= 0)))
		return -EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->beam = (struct beam_cfg){ .width = LM_BEAM,
				     .lambda = LM_WEIGHT,
				     .beta = LM_BONUS,
				     .prune = LM_PRUNE };
	if (cfg && cfg->lm_beam)
		m->beam = (struct beam_cfg){ .width = cfg->lm_beam,
					     .lambda = cfg->lm_weight,
					     .beta = cfg->lm_word_bonus,
					     .prune = cfg->lm_prune };
	m->open = (struct beam_cfg){ .width = OPEN_BEAM, .prune = OPEN_PRUNE };
	if (cfg && cfg->open_beam)
		m->open = (struct beam_cfg){ .width = cfg->open_beam,
					     .prune = cfg->open_prune };
	m->greedy = (struct beam_cfg){ .width = 1 };
	m->degrade = cfg && cfg->degrade;
	m->degrade_ms = cfg ? cfg->degrade_ms : 0;
	m->unk_mass = LM_UNK_MASS;
	/* Our own decoder first (greedy and LM decodes, docs/adr/0003);
	 * sherpa-onnx's recognizer only when it does not load, so the model
	 * is in memory once. */
	err = moonort_create(&m->ort, NULL, cfg ? cfg->model_dir : NULL,
			     cfg && cfg->threads ? cfg->threads : 1);
	if (err) {
		LOGW(NULL, "moonshine_lm_unavailable", "err=%d", err);
		m->ort = NULL;
		err = sherpa_asr_create(&m->asr, cfg ? cfg->model_dir : NULL,
					cfg && cfg->threads ? cfg->threads : 1);
		if (err) {
			free(m);
			return err;
		}
	}
	pthread_mutex_init(&m->lock, NULL);
	m->base.ops = &stt_moonshine_ops;
	*ep = &m->base;
	return 0;
}

static void moonshine_close(struct stt_engine *e)
{
	struct moonshine *m = (struct moonshine *)e;

	if (!m)
		return;
	sherpa_asr_destroy(m->asr);
	moonort_destroy(m->ort);
	for (size_t i = 0; i < m->nlms; i++) {
		ngram_lm_destroy(m->lms[i]->lm);
		free(m->lms[i]);
	}
	pthread_mutex_destroy(&m->lock);
	free(m);
}

/* The LM of g, built on first use, with a reference the caller gives back
 * with lm_put(). Returns 0 or a negative errno (-EINVAL: text without a
 * word, -E2BIG, -ENOMEM). */
static int lm_get(struct moonshine *m, const struct stt_grammar *g,
		  struct lm_entry **ep)
{
	uint64_t id = stt_grammar_id(g);
	size_t n = stt_grammar_count(g);
	struct lm_entry *e, *old = NULL;
	const char **sent;
	struct ngram_lm *lm;
	int err;

	pthread_mutex_lock(&m->lock);
	for (size_t i = 0; i < m->nlms; i++)
		if (m->lms[i]->id == id) {
			m->lms[i]->refs++;
			*ep = m->lms[i];
			pthread_mutex_unlock(&m->lock);
			return 0;
		}
	pthread_mutex_unlock(&m->lock);

	sent = calloc(n ? n : 1, sizeof(*sent));
	if (!sent)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		sent[i] = stt_grammar_phrase(g, i);
	err = ngram_lm_build(&lm, sent, n, m->unk_mass);
	free(sent);
	if (err)
		return err;
	e = calloc(1, sizeof(*e));
	if (!e) {
		ngram_lm_destroy(lm);
		return -ENOMEM;
	}
	*e = (struct lm_entry){ .id = id, .lm = lm, .refs = 1 };

	pthread_mutex_lock(&m->lock);
	for (size_t i = 0; i < m->nlms; i++)
		if (m->lms[i]->id == id) { /* another thread was faster */
			m->lms[i]->refs++;
			*ep = m->lms[i];
			pthread_mutex_unlock(&m->lock);
			ngram_lm_destroy(lm);
			free(e);
			return 0;
		}
	if (m->nlms < LM_CACHE) {
		m->lms[m->nlms++] = e;
	} else {
		old = m->lms[m->next_lm];
		m->lms[m->next_lm] = e;
		m->next_lm = (m->next_lm + 1) % LM_CACHE;
		old->dropped = true;
		if (old->refs)
			old = NULL; /* its last decode frees it */
	}
	*ep = e;
	pthread_mutex_unlock(&m->lock);
	if (old) {
		ngram_lm_destroy(old->lm);
		free(old);
	}
	return 0;
}

static void lm_put(struct moonshine *m, struct lm_entry *e)
{
	bool last;

	pthread_mutex_lock(&m->lock);
	last = --e->refs == 0 && e->dropped;
	pthread_mutex_unlock(&m->lock);
	if (last) {
		ngram_lm_destroy(e->lm);
		free(e);
	}
}

static int moonshine_prepare(struct stt_engine *e, const struct stt_grammar *g)
{
	struct moonshine *m = (struct moonshine *)e;
	struct lm_entry *lm;
	int err;

	if (!m || !g)
		return -EINVAL;
	if (stt_grammar_mode(g) != STT_MODE_LM || !m->ort)
		return 0;
	err = lm_get(m, g, &lm);
	if (!err)
		lm_put(m, lm);
	return err;
}

/* Longest run of one word repeated back to back: Moonshine, like other
 * attention decoders, loops on noise ("the the the the"). */
static unsigned longest_repeat(const char *text, unsigned *nwords)
{
	const char *prev = NULL, *w = text;
	size_t prev_len = 0;
	unsigned run = 0, best = 0, n = 0;

	while (*w) {
		size_t len = strcspn(w, " ");

		n++;
		run = prev && len == prev_len && !memcmp(w, prev, len) ? run + 1
								       : 1;
		best = run > best ? run : best;
		prev = w;
		prev_len = len;
		w += len;
		w += *w == ' ';
	}
	*nwords = n;
	return best;
}

/* Confidence 0..1. sherpa-onnx 1.13.4 reports no token log-probabilities
 * for Moonshine ("ys_log_probs": [] in the result), so unless it does, this
 * is a documented heuristic from what the decoder did show:
 *  - word pieces: the vocabulary holds common words whole, so a word the
 *    model had to spell from pieces ("matte lens" = mat+te l+ens) is one it
 *    is guessing; base = 0.95 - 0.45 * (pieces per word, at most 1), which
 *    keeps plausible text in the contract's 0.5..0.95;
 *  - speech rate: people say at most ~5 words/s; more from the clip means
 *    hallucination, so it scales down (below 0.5: garbage);
 *  - a word repeated 4+ times in a row is a decoder loop: 0.1 at most;
 *  - empty text: 0.
 * When log-probs are reported, the base is the geometric mean token
 * probability exp(mean log p), softened by the least likely token. */
static float confidence_of(const char *text, uint32_t audio_ms,
			   const struct sherpa_asr_score *sc)
{
	unsigned nwords, rep = longest_repeat(text, &nwords);
	float conf, wps, pieces;

	if (nwords == 0)
		return 0.0f;
	if (sc->has_logprobs) {
		conf = 0.8f * expf(sc->logprob_avg) +
		       0.2f * expf(sc->logprob_min);
	} else {
		pieces = fminf(1.0f, (float)sc->npieces / (float)nwords);
		conf = 0.95f - 0.45f * pieces;
	}
	wps = (float)nwords * 1000.0f / (float)(audio_ms ? audio_ms : 1);
	if (wps > 5.0f)
		conf *= 5.0f / wps;
	if (rep >= 4)
		conf = fminf(conf, 0.1f);
	return fmaxf(0.0f, fminf(1.0f, conf));
}

/*
 * Moonshine tiny gives up (first token = end of text) on many short
 * utterances that come with a lot of silence around them: "pay a bill",
 * "main menu", "yes" in 1.1-1.5 s clips holding 0.3 s of digital silence at
 * each end. The decoder sees the whole clip, and padding (more zeros) made
 * it worse, while the same speech cut closer to its edges decodes. So when
 * a decode is empty and the clip has speech energy, we decode once more the
 * span from the first to the last speech frame plus SPAN_MARGIN.
 * On the short-phrase set (64 clips) that took empties 8 -> 0 and WER
 * 36% -> 28%; the open banking set has no empty result, so it costs
 * nothing there (one extra decode, ~40 ms, only for empty results).
 * Trimming every clip instead lowered empties too but raised the open
 * set's WER (18.3% -> 20.9%): context around long sentences helps.
 * *start and *len get the span; false when there is no speech or nothing to
 * trim (the retry would decode the same samples).
 */
/* Mean square of 20 ms frame f. */
static double frame_power(const int16_t *pcm, size_t f)
{
	double e2 = 0;

	for (size_t i = 0; i < FRAME; i++)
		e2 += (double)pcm[f * FRAME + i] * pcm[f * FRAME + i];
	return e2 / FRAME;
}

static bool speech_span(const int16_t *pcm, size_t n, size_t *start,
			size_t *len)
{
	size_t nf = n / FRAME, f0 = 0, f1 = nf, s, e;
	double peak = 0;

	for (size_t f = 0; f < nf; f++)
		peak = fmax(peak, frame_power(pcm, f));
	if (peak < SPEECH_MIN_MS2)
		return false; /* also when nf == 0 */
	/* both loops stop at the loudest frame at the latest */
	while (frame_power(pcm, f0) < peak * SPAN_REL_DB_POW)
		f0++;
	while (frame_power(pcm, f1 - 1) < peak * SPAN_REL_DB_POW)
		f1--;
	s = f0 * FRAME > SPAN_MARGIN ? f0 * FRAME - SPAN_MARGIN : 0;
	e = f1 * FRAME + SPAN_MARGIN < n ? f1 * FRAME + SPAN_MARGIN : n;
	if (s == 0 && e == n)
		return false;
	*start = s;
	*len = e - s;
	return true;
}

/* The engine's result for text, whichever decoder produced it. */
static int result(struct stt_result *res, const char *text, uint32_t audio_ms,
		  const struct sherpa_asr_score *sc, uint64_t t0)
{
	memset(res, 0, sizeof(*res));
	snprintf(res->text, sizeof(res->text), "%s", text);
	res->confidence = confidence_of(text, audio_ms, sc);
	res->decode_us = (uint32_t)(clock_mono_us() - t0);
	res->audio_ms = audio_ms;
	res->engine = stt_moonshine_ops.name;
	return 0;
}

/* A decode on the own decoder: beam search with the domain LM (lm, cfg
 * m->beam), or without an LM (cfg m->open for open speech, m->greedy for a
 * phrase stt.c snaps to a grammar; greedy gives the same transcripts as
 * sherpa-onnx's decoder, faster: docs/adr/0003). The empty-decode retry
 * applies. The confidence is the heuristic of sherpa_asr results (word
 * pieces, speech rate, loops) on the result's tokens, so every path shares
 * one scale that flows' thresholds were set against. (The model's own token
 * probabilities were tried: a correct "my card got lost" scored 0.40, the
 * LM having overruled a token the model doubted.) */
static int decode_ort(struct moonshine *m, const struct ngram_lm *lm,
		      const struct stt_request *req, const int16_t *pcm,
		      size_t n, uint32_t audio_ms, uint64_t t0,
		      struct stt_result *res)
{
	const struct beam_cfg *cfg = lm			? &m->beam
				     : req && req->snap ? &m->greedy
							: &m->open;
	/* late open speech: greedy */
	bool degraded = !lm && m->degrade && req &&
			req->queued_ms >= m->degrade_ms && cfg->width > 1;
	if (degraded)
		cfg = &m->greedy;
	struct sherpa_asr_score sc = { 0 };
	char text[STT_TEXT_MAX + 1];
	size_t span_start, span_len;
	struct beam_out out;
	int err;

	err = moonort_decode(m->ort, pcm, n, RATE_HZ, lm, cfg, text,
			     sizeof(text), &out);
	if (!err && !text[0] && speech_span(pcm, n, &span_start, &span_len))
		err = moonort_decode(m->ort, pcm + span_start, span_len,
				     RATE_HZ, lm, cfg, text, sizeof(text),
				     &out);
	if (err)
		return err == -ENOMEM || err == -EINVAL ? err : -EIO;
	sc.ntokens = out.ntokens;
	sc.npieces = out.npieces;
	err = result(res, text, audio_ms, &sc, t0);
	res->degraded = degraded;
	return err;
}

static int moonshine_decode(struct stt_engine *e, const struct stt_request *req,
			    const int16_t *pcm, size_t n,
			    struct stt_result *res)
{
	struct moonshine *m = (struct moonshine *)e;
	struct lm_entry *lm = NULL;
	int16_t *padded = NULL;
	struct sherpa_asr_score sc;
	char text[STT_TEXT_MAX + 1];
	uint64_t t0;
	uint32_t audio_ms;
	size_t span_start, span_len;
	int err;

	if (!m || !pcm || !res || n == 0 ||
	    n > (size_t)RATE_HZ * STT_UTTERANCE_MAX_MS / 1000u)
		return -EINVAL;
	if (req && req->mode != STT_MODE_OPEN && req->mode != STT_MODE_LM)
		return -ENOTSUP;
	if (req && req->mode == STT_MODE_LM &&
	    (!req->grammar || stt_grammar_mode(req->grammar) != STT_MODE_LM))
		return -EINVAL;
	audio_ms = (uint32_t)(n * 1000u / RATE_HZ);
	t0 = clock_mono_us();
	/* A clip that ends 300-500 ms after its speech (an endpointed turn)
	 * decodes as if it ended 500 ms after it (tailpad.h); audio_ms stays
	 * the caller's. */
	err = tailpad_clip(pcm, n, &padded, &n);
	if (err < 0)
		return err;
	if (padded)
		pcm = padded;
	if (m->ort) {
		if (req && req->mode == STT_MODE_LM) {
			err = lm_get(m, req->grammar, &lm);
			/* no LM (text without words, no memory): open */
			if (err)
				LOGW(req->call_id, "moonshine_lm_failed",
				     "err=%d", err);
		}
		err = decode_ort(m, lm ? lm->lm : NULL, req, pcm, n, audio_ms,
				 t0, res);
		if (lm)
			lm_put(m, lm);
		free(padded);
		return err;
	}
	err = sherpa_asr_decode_scored(m->asr, pcm, n, RATE_HZ, text,
				       sizeof(text), &sc);
	if (!err && !text[0] && speech_span(pcm, n, &span_start, &span_len))
		err = sherpa_asr_decode_scored(m->asr, pcm + span_start,
					       span_len, RATE_HZ, text,
					       sizeof(text), &sc);
	free(padded);
	if (err)
		return err == -ENOMEM || err == -EINVAL ? err : -EIO;
	return result(res, text, audio_ms, &sc, t0);
}

const struct stt_engine_ops stt_moonshine_ops = {
	.name = "moonshine",
	.caps = STT_CAP_OPEN | STT_CAP_LM,
	.open = moonshine_open,
	.close = moonshine_close,
	.decode = moonshine_decode,
	.prepare = moonshine_prepare,
};

/* Partial transcripts, measured: each utterance of the STT set goes through
 * the call's VAD and endpointer into an STT stream (stt_stream_*()), 20 ms
 * frames in virtual time (each frame is fed once the worker pool is done
 * with the work the previous one started), and every partial is recorded
 * with the audio it stood for. Per mode (Moonshine open and + the domain
 * LM: the service's emulated partials; PocketSphinx on the domain LM: its
 * own streaming) it prints partials per utterance, the audio time of the
 * first partial after the speech's onset, the WER of the last partial and
 * of the final, the WER of each partial against the words already spoken
 * when it was heard (word times from flite, which spoke the set), the share
 * of partial words the final changed, and the worker time the partials
 * took. Not a test.
 *
 * bench_partials [SET_DIR]: SET_DIR is bench/speech/make_set.sh's (its
 * open/ part; each clip is checked against flite's synthesis of the same
 * sentence: the same length within 20 ms, so the word times hold).
 * Without SET_DIR the
 * utterances are synthesized here the way make_set.sh makes them (flite,
 * G.711 mu-law, 300 ms of silence each side), VG_PARTIALS_N of them
 * (default 16), so `make bench` stays short. Environment:
 * VG_PARTIALS_MODES ("1,3": only those modes), VG_PARTIALS_EVERY (ms, the
 * service's partial_every; default the config's), VG_PARTIALS_VERBOSE
 * (every partial). The domain LM is data/banking77/train.tsv; the
 * sentences are data/banking77/test.tsv's. */
#include <errno.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <flite.h>
#include <re.h>

#include "audio/clip.h"
#include "audio/g711.h"
#include "audio/resample.h"
#include "audio/vad.h"
#include "audio/wav.h"
#include "config/config.h"
#include "core/clock.h"
#include "core/loop.h"
#include "core/wpool.h"
#include "engines/stt/stt.h"
#include "bench_fig.h"

cst_voice *register_cmu_us_kal(const char *voxdir);
void unregister_cmu_us_kal(cst_voice *v);
cst_voice *register_cmu_us_slt(const char *voxdir);
void unregister_cmu_us_slt(cst_voice *v);

enum {
	UTT_MAX = 1000,
	WORDS_MAX = 64,
	PARTS_MAX = 256,
	PAD_SAMPLES = 2400, /* make_set.sh: sox pad 0.3 0.3 */
	/* voxgate say resamples slt (16 kHz) with a streaming filter, a few
	 * samples off audio_clip_resample()'s length: a clip within 20 ms of
	 * flite's keeps its times */
	SLACK = 160,
	N_DEFAULT = 16,
	SENT_MAX = 20000,
};

struct word {
	char w[48];
	uint32_t start_ms, end_ms; /* in the clip */
};

struct utt {
	char id[32], ref[1100];
	struct audio_clip *clip;
	struct word words[WORDS_MAX];
	size_t nwords;
	bool timed; /* words[] hold flite's times for this clip */
};

struct part {
	uint32_t at_ms; /* clip time of the audio the partial stood for */
	char text[STT_TEXT_MAX + 1];
};

static const char *source_dir(void)
{
	static char buf[4096];
	const char *env = getenv("VG_SOURCE_DIR");
	if (env)
		return env;
	snprintf(buf, sizeof(buf), "%s/..", VG_DEPS_DIR);
	return buf;
}

/* ---- the sentences make_set.sh picks: every k-th of 2..12 words ---- */

static size_t count_words(const char *s)
{
	size_t n = 0;
	bool in = false;
	for (; *s; s++) {
		bool sp = *s == ' ' || *s == '\t';
		n += !sp && !in;
		in = !sp;
	}
	return n;
}

/* The sentences of test.tsv with 2..12 words (awk's $2 of a tab split),
 * malloc'ed into *out; returns how many. */
static size_t short_sentences(char ***out)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/data/banking77/test.tsv",
		 source_dir());
	FILE *f = fopen(path, "r");
	char **v = calloc(SENT_MAX, sizeof(*v));
	size_t n = 0;
	char line[4096];
	while (f && v && n < SENT_MAX && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\r\n")] = '\0';
		char *t = strchr(line, '\t');
		if (!t)
			continue;
		t++;
		char *e = strchr(t, '\t');
		if (e)
			*e = '\0';
		size_t w = count_words(t);
		if (w >= 2 && w <= 12)
			v[n++] = strdup(t);
	}
	if (f)
		fclose(f);
	*out = v;
	return n;
}

/* ---- flite: the audio make_set.sh makes, and its word times ---- */

static cst_voice *voices[2];

/* voxgate say's lead trim (tts_flite.c): the clip starts 20 ms before
 * the first sample above 200. */
static size_t lead_cut(const int16_t *pcm, size_t n)
{
	size_t i = 0;
	while (i < n && pcm[i] < 200 && pcm[i] > -200)
		i++;
	if (i == n)
		return 0;
	return i > 160 ? i - 160 : 0;
}

/* The pieces voxgate say (tts_flite.c, flite_synth_stream()) speaks as
 * separate flite utterances: sentences (up to a '.', '!' or '?' followed
 * by a blank), and for a voice not at 8 kHz (slt) the first piece cut at
 * its first clause (',', ';' or ':' and a blank after two words or more).
 * Abbreviations are not told apart here: a clip split otherwise fails the
 * length check and keeps no word times. Length of the first piece of p. */
static size_t piece_len(const char *p, bool first_clause)
{
	unsigned words = 0;
	bool in_word = false;
	for (size_t i = 0; p[i]; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == ' ' || c == '\t') {
			in_word = false;
			continue;
		}
		if (!in_word) {
			in_word = true;
			words++;
		}
		bool blank_after = p[i + 1] == ' ' || p[i + 1] == '\t';
		if (first_clause && (c == ',' || c == ';' || c == ':') &&
		    blank_after && words >= 2)
			return i + 1;
		if ((c == '.' || c == '!' || c == '?') && blank_after)
			return i + 1;
	}
	return strlen(p);
}

/* text spoken by voice vi as make_set.sh's clip is (voxgate say: piece by
 * piece, 8 kHz, lead trimmed; then G.711 mu-law, padded) into *clipp (may
 * be NULL: times only), and its words with their times in the clip into u.
 * 0, -EIO or -ENOMEM. */
static int synth(const char *text, int vi, struct utt *u,
		 struct audio_clip **clipp)
{
	int16_t *nat = NULL;
	size_t nnat = 0;
	unsigned rate = 0;
	char piece[1100];
	int err = 0;
	struct {
		char w[48];
		double st, en; /* native seconds */
	} words[WORDS_MAX];
	size_t nw = 0;

	u->nwords = 0;
	u->timed = false;
	for (const char *p = text; *p && !err;) {
		size_t n = piece_len(p, p == text && vi == 1);
		snprintf(piece, sizeof(piece), "%.*s", (int)n, p);
		p += n;
		while (*p == ' ' || *p == '\t')
			p++;
		cst_utterance *cu = flite_synth_text(piece, voices[vi]);
		cst_wave *w = cu ? utt_wave(cu) : NULL;
		if (!w || w->num_samples <= 0 || w->num_channels != 1) {
			if (cu)
				delete_utterance(cu);
			continue; /* punctuation only */
		}
		double off = rate ? (double)nnat / rate : 0;
		rate = (unsigned)w->sample_rate;
		int16_t *b = realloc(nat, (nnat + (size_t)w->num_samples) *
						  sizeof(*b));
		if (!b) {
			err = -ENOMEM;
		} else {
			nat = b;
			memcpy(nat + nnat, w->samples,
			       (size_t)w->num_samples * sizeof(*b));
			nnat += (size_t)w->num_samples;
		}
		for (cst_item *it = relation_head(utt_relation(cu, "Word"));
		     it && !err; it = item_next(it)) {
			char norm[256];
			const char *name = item_feat_string(it, "name");
			if (stt_text_normalize(name, strlen(name), norm,
					       sizeof(norm)) <= 0)
				continue;
			float st =
				ffeature_float(it, "R:SylStructure.daughter."
						   "daughter.R:Segment.p.end");
			float en =
				ffeature_float(it, "R:SylStructure.daughtern."
						   "daughtern.R:Segment.end");
			/* a token flite reads as several words keeps one
			 * time */
			for (char *tok = strtok(norm, " ");
			     tok && nw < WORDS_MAX; tok = strtok(NULL, " ")) {
				snprintf(words[nw].w, sizeof(words[nw].w), "%s",
					 tok);
				words[nw].st = off + st;
				words[nw].en = off + en;
				nw++;
			}
		}
		delete_utterance(cu);
	}
	if (err || !nnat) {
		free(nat);
		return err ? err : -EIO;
	}
	struct audio_clip *nc = audio_clip_alloc(nnat, rate);
	struct audio_clip *c8 = NULL;
	if (nc) {
		memcpy(nc->samples, nat, nnat * sizeof(*nat));
		c8 = audio_clip_resample(nc, AUDIO_RATE_HZ);
		audio_clip_deref(nc);
	}
	free(nat);
	if (!c8)
		return -ENOMEM;
	size_t cut = lead_cut(c8->samples, c8->nsamples);
	double shift_s = (double)PAD_SAMPLES / AUDIO_RATE_HZ -
			 (double)cut / AUDIO_RATE_HZ;
	for (size_t i = 0; i < nw; i++) {
		struct word *wd = &u->words[u->nwords++];
		double s0 = words[i].st + shift_s, e0 = words[i].en + shift_s;
		memcpy(wd->w, words[i].w, sizeof(wd->w));
		wd->start_ms = (uint32_t)(s0 > 0 ? s0 * 1000 : 0);
		wd->end_ms = (uint32_t)(e0 > 0 ? e0 * 1000 : 0);
	}
	if (clipp) {
		size_t n = c8->nsamples - cut + 2 * PAD_SAMPLES;
		struct audio_clip *c = audio_clip_alloc(n, AUDIO_RATE_HZ);
		if (!c) {
			err = -ENOMEM;
		} else {
			memset(c->samples, 0, n * sizeof(int16_t));
			for (size_t i = 0; i < c8->nsamples - cut; i++)
				c->samples[PAD_SAMPLES + i] =
					audio_ulaw_decode(audio_ulaw_encode(
						c8->samples[cut + i]));
			*clipp = c;
		}
	}
	u->timed = !err;
	audio_clip_deref(c8);
	return err;
}

/* The reference: flite's words (what was spoken: "1" is "one"). */
static void join_words(const struct utt *u, size_t k, char *out, size_t cap)
{
	size_t o = 0;
	out[0] = '\0';
	for (size_t i = 0; i < k && i < u->nwords; i++)
		o += (size_t)snprintf(out + o, o < cap ? cap - o : 0, "%s%s",
				      i ? " " : "", u->words[i].w);
}

/* The set: SET_DIR/open's clips, each checked against flite's synthesis
 * (same length: the times hold), or n synthesized here. */
static int set_make(const char *dir, size_t n, struct utt **up, size_t *np,
		    size_t *untimed)
{
	char **sent = NULL;
	size_t nsent = short_sentences(&sent);
	struct utt *u = calloc(UTT_MAX, sizeof(*u));
	size_t k = 0;
	*untimed = 0;
	if (!u || !nsent) {
		fprintf(stderr, "bench_partials: no data/banking77/test.tsv\n");
		free(u);
		goto out;
	}
	if (dir) {
		char path[4200], line[2048];
		snprintf(path, sizeof(path), "%s/open/refs.tsv", dir);
		FILE *f = fopen(path, "r");
		if (!f) {
			fprintf(stderr, "bench_partials: %s: %s\n", path,
				strerror(errno));
			free(u);
			u = NULL;
			goto out;
		}
		size_t lines = 0;
		while (fgets(line, sizeof(line), f))
			lines++;
		rewind(f);
		size_t step = lines && nsent / lines ? nsent / lines : 1;
		while (k < UTT_MAX && k < n && fgets(line, sizeof(line), f)) {
			line[strcspn(line, "\r\n")] = '\0';
			char *t1 = strchr(line, '\t');
			char *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
			if (!t2)
				continue;
			*t1 = *t2 = '\0';
			struct utt *x = &u[k];
			snprintf(x->id, sizeof(x->id), "%.31s", line);
			snprintf(x->ref, sizeof(x->ref), "%.1024s", t2 + 1);
			int vi = strstr(t1 + 1, "slt") != NULL;
			snprintf(path, sizeof(path), "%s/open/%s.wav", dir,
				 x->id);
			char msg[200] = "";
			if (wav_read(path, &x->clip, msg, sizeof(msg)) ||
			    x->clip->rate_hz != AUDIO_RATE_HZ) {
				fprintf(stderr, "bench_partials: %s: %s\n",
					path, msg);
				audio_clip_deref(x->clip);
				x->clip = NULL;
				continue;
			}
			/* its sentence, if make_set.sh's pick matches */
			size_t idx = (size_t)atoi(line + 1) * step;
			struct audio_clip *mine = NULL;
			char a[1100], b[1100];
			int la = idx < nsent
					 ? stt_text_normalize(sent[idx],
							      strlen(sent[idx]),
							      a, sizeof(a))
					 : -1;
			int lb = stt_text_normalize(x->ref, strlen(x->ref), b,
						    sizeof(b));
			if (la > 0 && lb > 0 && !strcmp(a, b) &&
			    !synth(sent[idx], vi, x, &mine) &&
			    (mine->nsamples + SLACK < x->clip->nsamples ||
			     mine->nsamples > x->clip->nsamples + SLACK)) {
				if (getenv("VG_PARTIALS_VERBOSE"))
					printf("  %s: %zu samples, flite %zu\n",
					       x->id, x->clip->nsamples,
					       mine->nsamples);
				x->timed = false;
			}
			audio_clip_deref(mine);
			*untimed += !x->timed;
			k++;
		}
		fclose(f);
	} else {
		size_t step = nsent / n ? nsent / n : 1;
		for (size_t i = 0; i < n && i * step < nsent; i++) {
			struct utt *x = &u[k];
			snprintf(x->id, sizeof(x->id), "u%04zu", i);
			if (stt_text_normalize(sent[i * step],
					       strlen(sent[i * step]), x->ref,
					       sizeof(x->ref)) <= 0 ||
			    synth(sent[i * step], (int)(i % 2), x, &x->clip))
				continue;
			k++;
		}
	}
out:
	for (size_t i = 0; i < nsent; i++)
		free(sent[i]);
	free(sent);
	*up = u;
	*np = k;
	return u && k ? 0 : -ENOENT;
}

/* ---- the engines, wrapped: the feed waits for their work ----
 *
 * Virtual time: after each frame the bench waits until the worker pool has
 * nothing queued and no engine call runs (the wrappers count them), so the
 * partial decode or stream job the frame started has run. The wrappers also
 * add up the partial decodes' (snap) time and audio. */

struct wrap {
	struct stt_engine base;
	struct stt_engine *in;
};

static atomic_int busy;			  /* engine calls running */
static atomic_ullong snap_us, snap_audio; /* partial decodes: time, samples */
static atomic_uint snap_n;
static struct stt_engine_ops wops[2];

static int wrap_open(struct stt_engine **ep, const struct stt_engine_cfg *cfg,
		     const struct stt_engine_ops *ops, int k)
{
	struct wrap *w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	int err = ops->open(&w->in, cfg);
	if (err) {
		free(w);
		return err;
	}
	w->base.ops = &wops[k];
	*ep = &w->base;
	return 0;
}

static int wrap_open_moon(struct stt_engine **ep,
			  const struct stt_engine_cfg *cfg)
{
	return wrap_open(ep, cfg, &stt_moonshine_ops, 0);
}

static int wrap_open_ps(struct stt_engine **ep,
			const struct stt_engine_cfg *cfg)
{
	return wrap_open(ep, cfg, &stt_pocketsphinx_ops, 1);
}

static void wrap_close(struct stt_engine *e)
{
	struct wrap *w = (struct wrap *)e;
	if (!w)
		return;
	w->in->ops->close(w->in);
	free(w);
}

static int wrap_decode(struct stt_engine *e, const struct stt_request *req,
		       const int16_t *pcm, size_t n, struct stt_result *res)
{
	struct wrap *w = (struct wrap *)e;
	atomic_fetch_add(&busy, 1);
	uint64_t t0 = clock_mono_us();
	int err = w->in->ops->decode(w->in, req, pcm, n, res);
	if (req && req->snap) {
		atomic_fetch_add(&snap_us, clock_mono_us() - t0);
		atomic_fetch_add(&snap_audio, n);
		atomic_fetch_add(&snap_n, 1);
	}
	atomic_fetch_sub(&busy, 1);
	return err;
}

static int wrap_prepare(struct stt_engine *e, const struct stt_grammar *g)
{
	struct wrap *w = (struct wrap *)e;
	return w->in->ops->prepare ? w->in->ops->prepare(w->in, g) : 0;
}

static int wrap_begin(struct stt_engine *e, const struct stt_request *req,
		      struct stt_engine_stream **sp)
{
	struct wrap *w = (struct wrap *)e;
	atomic_fetch_add(&busy, 1);
	int err = w->in->ops->stream_begin(w->in, req, sp);
	atomic_fetch_sub(&busy, 1);
	return err;
}

/* only PocketSphinx streams */
static int wrap_feed(struct stt_engine_stream *s, const int16_t *pcm, size_t n)
{
	atomic_fetch_add(&busy, 1);
	int err = stt_pocketsphinx_ops.stream_feed(s, pcm, n);
	atomic_fetch_sub(&busy, 1);
	return err;
}

static int wrap_partial(struct stt_engine_stream *s, char *text, size_t cap)
{
	atomic_fetch_add(&busy, 1);
	int r = stt_pocketsphinx_ops.stream_partial(s, text, cap);
	atomic_fetch_sub(&busy, 1);
	return r;
}

static int wrap_end(struct stt_engine_stream *s, struct stt_result *res)
{
	atomic_fetch_add(&busy, 1);
	int err = stt_pocketsphinx_ops.stream_end(s, res);
	atomic_fetch_sub(&busy, 1);
	return err;
}

static void wrap_abort(struct stt_engine_stream *s)
{
	stt_pocketsphinx_ops.stream_abort(s);
}

static void wrap_init(void)
{
	const struct stt_engine_ops *in[2] = { &stt_moonshine_ops,
					       &stt_pocketsphinx_ops };
	for (int k = 0; k < 2; k++) {
		wops[k] = (struct stt_engine_ops){
			.name = in[k]->name,
			.caps = in[k]->caps,
			.open = k ? wrap_open_ps : wrap_open_moon,
			.close = wrap_close,
			.decode = wrap_decode,
			.prepare = wrap_prepare,
		};
		if (in[k]->caps & STT_CAP_STREAM) {
			wops[k].stream_begin = wrap_begin;
			wops[k].stream_feed = wrap_feed;
			wops[k].stream_partial = wrap_partial;
			wops[k].stream_end = wrap_end;
			wops[k].stream_abort = wrap_abort;
		}
	}
}

/* ---- one utterance through the endpointer into a stream ---- */

struct run {
	struct stt *stt;
	struct vg_loop *loop;
	struct wpool *pool;
	const struct stt_params *p;
	struct stt_stream *st;
	const int16_t *feed;
	size_t nfeed;
	struct audio_clip *end_clip;
	uint32_t start_ms; /* clip time of the stream's first sample */
	struct part *parts;
	size_t nparts;
	sem_t sem;
	int err, ret;
	char final[STT_TEXT_MAX + 1];
};

static void on_partial(const char *text, uint32_t audio_ms, void *arg)
{
	struct run *r = arg;
	if (r->nparts == PARTS_MAX || !text[0])
		return;
	struct part *p = &r->parts[r->nparts++];
	p->at_ms = r->start_ms + audio_ms;
	snprintf(p->text, sizeof(p->text), "%s", text);
}

static void on_done(int err, const struct stt_result *res, void *arg)
{
	struct run *r = arg;
	r->err = err;
	snprintf(r->final, sizeof(r->final), "%s", err ? "" : res->text);
	sem_post(&r->sem);
}

/* Loop: start the stream if need be, and feed. */
static void do_feed(void *arg)
{
	struct run *r = arg;
	r->ret = 0;
	if (!r->st)
		r->ret = stt_stream_start(r->stt, r->p, r->loop, on_partial,
					  on_done, r, &r->st);
	if (!r->ret && r->nfeed)
		r->ret = stt_stream_feed(r->st, r->feed, r->nfeed);
	sem_post(&r->sem);
}

static void do_sync(void *arg)
{
	sem_post(&((struct run *)arg)->sem);
}

static void do_end(void *arg)
{
	struct run *r = arg;
	r->ret = stt_stream_end(r->st, r->end_clip);
	if (r->ret) {
		stt_stream_cancel(r->st);
		sem_post(&r->sem);
	}
}

static void do_cancel(void *arg)
{
	struct run *r = arg;
	stt_stream_cancel(r->st);
	r->ret = 0;
	sem_post(&r->sem);
}

static int on_loop(struct run *r, loop_fn *fn)
{
	if (loop_post(r->loop, fn, r))
		return -EIO;
	sem_wait(&r->sem);
	return r->ret;
}

/* Wait until the work the last feed started is done and its callbacks ran:
 * nothing queued, no engine call running, twice 1 ms apart (a job just
 * taken from the queue enters the engine within microseconds), then a
 * pass of the loop (the job's done callback was posted before). */
static void settle(struct run *r)
{
	for (int quiet = 0; quiet < 2;) {
		usleep(1000);
		if (wpool_depth(r->pool) || atomic_load(&busy))
			quiet = 0;
		else
			quiet++;
	}
	int ret = r->ret;
	on_loop(r, do_sync);
	r->ret = ret;
}

/* The clip through VAD and endpointer (trailing silence 500 ms: no turn
 * cut at a pause within the set's sentences, BENCHMARKS.md "Where the
 * endpointed turns lose words"), the stream started at the speech start
 * with the audio so far, fed frame by frame, ended with the endpointer's
 * utterance. 0, or a negative errno (no speech found: -ENODATA). */
static int run_utt(struct run *r, const struct audio_clip *clip)
{
	struct vad *v = NULL;
	struct endpointer *ep = NULL;
	struct endpoint_cfg ec;
	endpoint_cfg_default(&ec);
	ec.no_input_ms = 0;
	ec.trailing_silence_ms = 500;
	r->st = NULL;
	r->nparts = 0;
	r->final[0] = '\0';
	int err = -ENOMEM;
	if (vad_create(&v, NULL) || endpoint_create(&ep, &ec))
		goto out;
	size_t nf = clip->nsamples / AUDIO_FRAME_SAMPLES;
	int16_t zero[AUDIO_FRAME_SAMPLES] = { 0 };
	err = -ENODATA;
	for (size_t f = 0; f < nf + 100; f++) {
		const int16_t *pcm =
			f < nf ? clip->samples + f * AUDIO_FRAME_SAMPLES : zero;
		enum endpoint_event e =
			endpoint_feed(ep, pcm, vad_process(v, pcm));
		size_t n = 0;
		const int16_t *a = endpoint_audio(ep, &n);
		if (e == EP_SPEECH_START) {
			r->start_ms = (uint32_t)((f + 1) * AUDIO_FRAME_MS -
						 n * 1000 / AUDIO_RATE_HZ);
			r->feed = a;
			r->nfeed = n;
			err = on_loop(r, do_feed);
			if (err)
				goto out;
			settle(r);
		} else if (r->st &&
			   (e == EP_SPEECH_END || e == EP_MAX_SPEECH)) {
			r->end_clip = audio_clip_alloc(n, AUDIO_RATE_HZ);
			if (!r->end_clip) {
				err = -ENOMEM;
				goto out;
			}
			memcpy(r->end_clip->samples, a, n * sizeof(int16_t));
			err = on_loop(r, do_end);
			audio_clip_deref(r->end_clip);
			r->st = NULL;
			err = err ? err : r->err;
			goto out;
		} else if (r->st) {
			r->feed = pcm;
			r->nfeed = AUDIO_FRAME_SAMPLES;
			err = on_loop(r, do_feed);
			if (err)
				goto out;
			settle(r);
		}
	}
out:
	if (r->st) {
		on_loop(r, do_cancel);
		r->st = NULL;
	}
	vad_destroy(v);
	endpoint_destroy(ep);
	return err;
}

/* ---- scoring ---- */

/* Words of the partial hyp the final kept: its longest common word prefix
 * with the final. */
static size_t kept_words(const char *hyp, const char *fin)
{
	size_t k = 0;
	while (*hyp && *fin) {
		size_t a = strcspn(hyp, " "), b = strcspn(fin, " ");
		if (a != b || memcmp(hyp, fin, a))
			break;
		k++;
		hyp += a;
		fin += b;
		hyp += *hyp == ' ';
		fin += *fin == ' ';
	}
	return k;
}

struct mode {
	const char *label;
	struct stt_params p;
};

static void run_mode(struct run *r, const struct mode *m, struct utt *u,
		     size_t n, bool verbose)
{
	uint32_t *first = calloc(n ? n : 1, sizeof(*first));
	size_t nfirst = 0, fails = 0, with_part = 0, parts = 0;
	size_t ref_w = 0, e_last = 0, e_final = 0, ref_w_part = 0;
	size_t sp_err = 0, sp_ref = 0, sp_parts = 0;
	size_t pw = 0, pw_changed = 0;
	uint64_t wall_us = 0, audio = 0;
	char buf[STT_TEXT_MAX + 1];
	r->p = &m->p;
	atomic_store(&snap_us, 0);
	atomic_store(&snap_audio, 0);
	atomic_store(&snap_n, 0);
	for (size_t i = 0; i < n && first; i++) {
		struct utt *x = &u[i];
		char ref[1100];
		join_words(x, x->nwords, ref, sizeof(ref));
		uint64_t t0 = clock_mono_us();
		int err = run_utt(r, x->clip);
		wall_us += clock_mono_us() - t0;
		audio += x->clip->nsamples;
		size_t nref = 0, ef = stt_word_edits(ref, r->final, &nref);
		ref_w += nref;
		e_final += ef;
		if (err) {
			fails++;
			continue;
		}
		parts += r->nparts;
		if (verbose)
			printf("  %s ref \"%s\" (%u-%u ms)\n", x->id, ref,
			       x->nwords ? x->words[0].start_ms : 0,
			       x->nwords ? x->words[x->nwords - 1].end_ms : 0);
		if (!r->nparts)
			continue;
		with_part++;
		ref_w_part += nref;
		e_last +=
			stt_word_edits(ref, r->parts[r->nparts - 1].text, NULL);
		if (x->timed && x->nwords)
			first[nfirst++] =
				r->parts[0].at_ms > x->words[0].start_ms
					? r->parts[0].at_ms -
						  x->words[0].start_ms
					: 0;
		for (size_t k = 0; k < r->nparts; k++) {
			const struct part *p = &r->parts[k];
			size_t hw = count_words(p->text);
			pw += hw;
			pw_changed += hw - kept_words(p->text, r->final);
			if (verbose)
				printf("    @%5u ms \"%s\"\n", p->at_ms,
				       p->text);
			if (!x->timed)
				continue;
			/* the words ended by then; the one under way may
			 * or may not be in the partial: the closer counts */
			size_t done = 0, begun = 0;
			while (done < x->nwords &&
			       x->words[done].end_ms <= p->at_ms)
				done++;
			while (begun < x->nwords &&
			       x->words[begun].start_ms < p->at_ms)
				begun++;
			join_words(x, done, buf, sizeof(buf));
			size_t e1 = stt_word_edits(buf, p->text, NULL);
			join_words(x, begun, buf, sizeof(buf));
			size_t e2 = stt_word_edits(buf, p->text, NULL);
			sp_err += e2 < e1 ? e2 : e1;
			sp_ref += e2 < e1 ? begun : done;
			sp_parts++;
		}
		if (verbose)
			printf("    final \"%s\"\n", r->final);
	}
	qsort(first, nfirst, sizeof(*first), bench_cmp_u32);
	double nn = n ? (double)n : 1;
	printf("\n%s (%zu utterances, stream failures %zu)\n", m->label, n,
	       fails);
	printf("  partials per utterance %.2f (utterances with one %zu)\n",
	       (double)parts / nn, with_part);
	printf("  first partial after the speech onset: p50 %.0f ms  p95 "
	       "%.0f ms (audio time)\n",
	       bench_pct_u32(first, nfirst, 0.5),
	       bench_pct_u32(first, nfirst, 0.95));
	printf("  WER of the final %.2f%%, of the last partial %.2f%% "
	       "(utterances with a partial)\n",
	       ref_w ? 100.0 * (double)e_final / (double)ref_w : 0,
	       ref_w_part ? 100.0 * (double)e_last / (double)ref_w_part : 0);
	printf("  WER of partials against the words spoken by then %.2f%% "
	       "(%zu partials, %zu words)\n",
	       sp_ref ? 100.0 * (double)sp_err / (double)sp_ref : 0, sp_parts,
	       sp_ref);
	printf("  partial words the final changed %.1f%% (%zu of %zu)\n",
	       pw ? 100.0 * (double)pw_changed / (double)pw : 0, pw_changed,
	       pw);
	printf("  partial decodes (emulated) per utterance %.2f, their audio "
	       "%.2fx the set's, their time %.0f ms per utterance; wall time "
	       "per utterance %.0f ms\n",
	       (double)atomic_load(&snap_n) / nn,
	       audio ? (double)atomic_load(&snap_audio) / (double)audio : 0,
	       (double)atomic_load(&snap_us) / 1000.0 / nn,
	       (double)wall_us / 1000.0 / nn);
	char fig[96];
	snprintf(fig, sizeof(fig), "%s partials per utterance", m->label);
	bench_fig("partials", fig, (double)parts / nn, "count", NULL, 0);
	snprintf(fig, sizeof(fig), "%s partial WER spoken so far", m->label);
	bench_fig("partials", fig,
		  sp_ref ? 100.0 * (double)sp_err / (double)sp_ref : 0, "%",
		  NULL, 0);
	free(first);
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : NULL;
	const char *ns = getenv("VG_PARTIALS_N");
	size_t n_want = ns ? (size_t)atoi(ns) : dir ? UTT_MAX : N_DEFAULT;
	const char *only = getenv("VG_PARTIALS_MODES");
	const char *every = getenv("VG_PARTIALS_EVERY");
	bool verbose = getenv("VG_PARTIALS_VERBOSE") != NULL;
	struct utt *u = NULL;
	size_t n = 0, untimed = 0;
	struct stt_grammar *lm = NULL;
	struct run r = { 0 };
	int rc = 1;

	if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
		fprintf(stderr, "usage: bench_partials [SET_DIR]\n");
		return 2;
	}
	libre_init();
	flite_init();
	voices[0] = register_cmu_us_kal(NULL);
	voices[1] = register_cmu_us_slt(NULL);
	sem_init(&r.sem, 0, 0);
	r.parts = calloc(PARTS_MAX, sizeof(*r.parts));
	if (!voices[0] || !voices[1] || !r.parts ||
	    set_make(dir, n_want ? n_want : 1, &u, &n, &untimed))
		goto out;
	printf("set: %zu utterances (%s), %zu without word times\n", n,
	       dir ? dir : "synthesized here", untimed);
	struct stt_cfg cfg = {
		.engines = "moonshine,pocketsphinx",
		.partial_every_ms = every ? (unsigned)atoi(every)
					  : CONFIG_STT_PARTIAL_EVERY_MS,
	};
	wrap_init();
	const struct stt_engine_ops *const ops[] = { &wops[0], &wops[1] };
	if (loop_create(&r.loop, "bench") || loop_start(r.loop) ||
	    wpool_create(&r.pool, 1, 256) ||
	    stt_create_with_ops(&r.stt, r.pool, ops, 2, &cfg)) {
		fprintf(stderr, "bench_partials: no loop, pool or STT\n");
		goto out;
	}
	char path[4200];
	snprintf(path, sizeof(path), "%s/data/banking77/train.tsv",
		 source_dir());
	FILE *f = fopen(path, "r");
	if (f) {
		char *buf = malloc(STT_GRAMMAR_FILE_MAX);
		size_t len = buf ? fread(buf, 1, STT_GRAMMAR_FILE_MAX, f) : 0;
		char msg[200];
		if (buf && stt_grammar_parse(buf, len, STT_MODE_LM, 0, &lm, msg,
					     sizeof(msg)))
			lm = NULL;
		free(buf);
		fclose(f);
	}
	if (lm)
		stt_prepare(r.stt, lm);
	printf("partial_every %u ms; engines %s; domain LM %s\n",
	       cfg.partial_every_ms, stt_engines(r.stt), lm ? "yes" : "no");
	const struct mode modes[] = {
		{ "moonshine open (emulated partials)",
		  { .mode = STT_MODE_OPEN, .engines = "moonshine" } },
		{ "moonshine + LM (emulated partials)",
		  { .mode = STT_MODE_OPEN, .engines = "moonshine", .lm = lm } },
		{ "pocketsphinx LM (streamed)",
		  { .mode = STT_MODE_LM,
		    .grammar = lm,
		    .engines = "pocketsphinx" } },
	};
	rc = 0;
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		char num[8];
		snprintf(num, sizeof(num), "%zu", i + 1);
		if (only && !strstr(only, num))
			continue;
		const char *eng = modes[i].p.engines;
		if (!stt_engine_find(r.stt, eng) ||
		    (modes[i].p.mode == STT_MODE_LM && !lm) ||
		    (i == 1 && !lm)) {
			printf("\n%s: SKIPPED (no %s or no LM)\n",
			       modes[i].label, eng);
			continue;
		}
		r.p = &modes[i].p;
		run_mode(&r, &modes[i], u, n, verbose);
		fflush(stdout);
	}
out:
	wpool_destroy(r.pool);
	loop_destroy(r.loop);
	stt_destroy(r.stt);
	stt_grammar_deref(lm);
	for (size_t i = 0; u && i < n; i++)
		audio_clip_deref(u[i].clip);
	free(u);
	free(r.parts);
	sem_destroy(&r.sem);
	for (int v = 0; v < 2; v++)
		if (voices[v])
			(v ? unregister_cmu_us_slt
			   : unregister_cmu_us_kal)(voices[v]);
	libre_close();
	return rc;
}

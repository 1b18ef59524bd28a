/* The flite engine (see tts_flite.h): flite_text_to_wave() behind the tts
 * engine contract, with the output converted to an 8 kHz audio_clip. */
#include "engines/tts/flite/tts_flite.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <flite.h>
#include <flite_version.h>

#include "audio/clip.h"
#include "audio/resample.h"
#include "audio/stream.h"

/*
 * Why synth() takes no lock, checked against flite 2.2 (Debian flite1-dev):
 * - utt_init() links the voice's features into each utterance
 *   (feat_link_into) instead of copying them. Flite 1.x copied them, which
 *   bumps the non-atomic cst_val refcounts of the shared voice from every
 *   synthesizing thread: that version would need a mutex per voice, hence
 *   the version check in open().
 * - Lexicon, CART trees, diphone and clustergen databases are constant
 *   tables; regexes are precompiled and matched with per-call state; the
 *   only writable globals (nm: B/b symbols) are the voice and lexicon
 *   singletons set at registration, the regex compiler's (unused after
 *   start), cst_errjmp (never set by us) and the audio-device streaming
 *   state (unused).
 * - The one shared writable state synthesis touches is glibc's rand()
 *   (clustergen excitation noise), which locks internally. It is also why
 *   slt output differs from run to run while kal is bit-exact.
 * valgrind --tool=helgrind with 2-3 threads synthesizing on shared kal and
 * slt voices reports nothing but that rand() state, and test_tts_flite runs
 * both voices on 4 threads and compares against serial output.
 *
 * Two things flite does stay process-wide: voices are singletons (so
 * registration is refcounted across instances, under reg_lock), and an
 * internal error (out of memory, corrupt voice data) calls exit() because
 * cst_errjmp, a single global jmp_buf, cannot serve several threads.
 */

cst_voice *register_cmu_us_kal(const char *voxdir);
void unregister_cmu_us_kal(cst_voice *v);
cst_voice *register_cmu_us_slt(const char *voxdir);
void unregister_cmu_us_slt(cst_voice *v);

struct flite_voice {
	struct tts_voice pub;
	const char *alias; /* flite's own name for the voice */
	cst_voice *(*reg)(const char *voxdir);
	void (*unreg)(cst_voice *v);
	cst_voice *cst; /* set while registered (reg_users > 0) */
};

/* The first entry is the default voice. */
static struct flite_voice voices[] = {
	{
		.pub = { .name = "kal",
			 .lang = "en-US",
			 .native_rate_hz = 8000 },
		.alias = "cmu_us_kal",
		.reg = register_cmu_us_kal,
		.unreg = unregister_cmu_us_kal,
	},
	{
		.pub = { .name = "slt",
			 .lang = "en-US",
			 .native_rate_hz = 16000 },
		.alias = "cmu_us_slt",
		.reg = register_cmu_us_slt,
		.unreg = unregister_cmu_us_slt,
	},
};
#define NVOICES (sizeof(voices) / sizeof(voices[0]))

struct flite_engine {
	struct tts_engine base;
};

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned reg_users;

static void unregister_voices(void)
{
	for (size_t i = 0; i < NVOICES; i++) {
		if (voices[i].cst)
			voices[i].unreg(voices[i].cst);
		voices[i].cst = NULL;
	}
}

static int register_voices(void)
{
	flite_init();
	for (size_t i = 0; i < NVOICES; i++) {
		voices[i].cst = voices[i].reg(NULL);
		if (!voices[i].cst) {
			unregister_voices();
			return -EIO;
		}
	}
	return 0;
}

static int flite_open(struct tts_engine **ep)
{
	if (!ep)
		return -EINVAL;
	/* See the comment at the top: 1.x would need a lock per voice. */
	if (FLITE_PROJECT_VERSION[0] < '2')
		return -ENOTSUP;
	struct flite_engine *fe = calloc(1, sizeof(*fe));
	if (!fe)
		return -ENOMEM;
	fe->base.ops = &tts_flite_ops;

	pthread_mutex_lock(&reg_lock);
	int err = reg_users ? 0 : register_voices();
	if (!err)
		reg_users++;
	pthread_mutex_unlock(&reg_lock);
	if (err) {
		free(fe);
		return err;
	}
	*ep = &fe->base;
	return 0;
}

static void flite_close(struct tts_engine *e)
{
	if (!e)
		return;
	pthread_mutex_lock(&reg_lock);
	if (reg_users && --reg_users == 0)
		unregister_voices();
	pthread_mutex_unlock(&reg_lock);
	free(e);
}

static const struct tts_voice *flite_voice_find(struct tts_engine *e,
						const char *name)
{
	if (!name)
		return &voices[0].pub;
	for (size_t i = 0; i < NVOICES; i++) {
		if (!strcasecmp(name, voices[i].pub.name) ||
		    !strcasecmp(name, voices[i].alias))
			return &voices[i].pub;
	}
	return NULL;
}

/* v must be one of ours: a voice of another engine would be cast blindly. */
static const struct flite_voice *own_voice(const struct tts_voice *v)
{
	for (size_t i = 0; i < NVOICES; i++) {
		if (v == &voices[i].pub)
			return &voices[i];
	}
	return NULL;
}

/* Copy a flite wave into a clip at its native rate. */
static int wave_to_clip(const cst_wave *w, struct audio_clip **clipp)
{
	if (w->num_channels != 1 || w->sample_rate <= 0 || w->num_samples < 0)
		return -EIO;
	if (w->num_samples == 0)
		return -ENODATA;
	struct audio_clip *c = audio_clip_alloc((size_t)w->num_samples,
						(unsigned)w->sample_rate);
	if (!c)
		return -ENOMEM;
	memcpy(c->samples, w->samples,
	       (size_t)w->num_samples * sizeof(c->samples[0]));
	*clipp = c;
	return 0;
}

/* flite starts every utterance with ~200 ms of near silence: the caller
 * would wait that long for the reply. Prompts keep LEAD_KEEP samples (20 ms)
 * before the first sample above LEAD_LEVEL (about -44 dBFS). */
enum { LEAD_LEVEL = 200, LEAD_KEEP = 160 };

static size_t lead_len(const int16_t *pcm, size_t n)
{
	size_t i = 0;
	while (i < n && pcm[i] < LEAD_LEVEL && pcm[i] > -LEAD_LEVEL)
		i++;
	if (i == n)
		return 0; /* all quiet: keep it as it is */
	return i > LEAD_KEEP ? i - LEAD_KEEP : 0;
}

static struct audio_clip *trim_lead(struct audio_clip *c)
{
	size_t cut = lead_len(c->samples, c->nsamples);
	if (!cut)
		return c;
	struct audio_clip *t = audio_clip_alloc(c->nsamples - cut, c->rate_hz);
	if (!t)
		return c; /* keep the untrimmed clip rather than fail */
	memcpy(t->samples, c->samples + cut,
	       (c->nsamples - cut) * sizeof(t->samples[0]));
	audio_clip_deref(c);
	return t;
}

static int flite_synth(struct tts_engine *e, const struct tts_voice *v,
		       const char *text, struct audio_clip **clipp)
{
	if (!e || !v || !clipp)
		return -EINVAL;
	const struct flite_voice *fv = own_voice(v);
	if (!fv || !fv->cst)
		return -EINVAL;
	int err = tts_text_check(text);
	if (err)
		return err;

	cst_wave *w = flite_text_to_wave(text, fv->cst);
	if (!w)
		return -EIO;
	struct audio_clip *native = NULL;
	err = wave_to_clip(w, &native);
	delete_wave(w);
	if (err)
		return err;

	/* A new reference to native when it already is at 8 kHz (kal). */
	struct audio_clip *out = audio_clip_resample(native, AUDIO_RATE_HZ);
	audio_clip_deref(native);
	if (!out)
		return -ENOMEM;
	*clipp = trim_lead(out);
	return 0;
}

/*
 * Streaming: flite's waveform generators (LPC resynthesis for diphone voices
 * such as kal, MLSA for clustergen voices such as slt) call an
 * audio-streaming callback with each piece of the wave as it is generated
 * when the utterance has a "streaming_info" feature. We set it on our own
 * utterance, never on the shared voice, so concurrent syntheses do not see
 * each other's callbacks. Native 8 kHz goes to the stream as is; other rates
 * pass through a streaming resampler whose filter delay is trimmed at the
 * start and flushed with silence at the end, so the stream holds the same
 * number of samples, aligned the same way, as audio_clip_resample() gives.
 */
struct stream_ctx {
	struct audio_stream *out;
	struct resampler *rs; /* NULL at 8 kHz */
	unsigned rate_hz;     /* the wave's rate, fixed at the first chunk */
	size_t consumed;      /* native samples taken from this wave */
	size_t taken;	      /* native samples taken from all waves */
	size_t skip;	      /* resampler delay left to drop */
	uint64_t in_total, out_total;
	int err;
	/* Leading silence (see trim_lead): until the first sound, the last
	 * LEAD_KEEP quiet samples wait here instead of going out. */
	bool sounding;
	int16_t lead[LEAD_KEEP];
	size_t nlead;
};

enum { RS_CHUNK = 1024 };

/* Write resampled (or native) samples, dropping the filter delay first. */
static int emit(struct stream_ctx *sc, const int16_t *pcm, size_t n)
{
	size_t drop = n < sc->skip ? n : sc->skip;
	sc->skip -= drop;
	sc->out_total += n - drop;
	pcm += drop;
	n -= drop;
	if (!sc->sounding) {
		size_t i = 0;
		while (i < n && pcm[i] < LEAD_LEVEL && pcm[i] > -LEAD_LEVEL)
			i++;
		/* keep the last LEAD_KEEP quiet samples seen so far */
		for (size_t k = i > LEAD_KEEP ? i - LEAD_KEEP : 0; k < i; k++) {
			if (sc->nlead == LEAD_KEEP) {
				memmove(sc->lead, sc->lead + 1,
					(LEAD_KEEP - 1) * sizeof(sc->lead[0]));
				sc->nlead--;
			}
			sc->lead[sc->nlead++] = pcm[k];
		}
		if (i == n)
			return 0;
		sc->sounding = true;
		int err = audio_stream_write(sc->out, sc->lead, sc->nlead);
		if (err)
			return err;
		pcm += i;
		n -= i;
	}
	return audio_stream_write(sc->out, pcm, n);
}

static int feed(struct stream_ctx *sc, const int16_t *pcm, size_t n)
{
	if (!sc->rs)
		return emit(sc, pcm, n);
	int16_t tmp[RS_CHUNK];
	while (n) {
		size_t in = n < RS_CHUNK / 2 ? n : RS_CHUNK / 2;
		size_t nout = RS_CHUNK;
		int err = resampler_process(sc->rs, pcm, in, tmp, &nout);
		if (!err)
			err = emit(sc, tmp, nout);
		if (err)
			return err;
		sc->in_total += in;
		pcm += in;
		n -= in;
	}
	return 0;
}

/* First chunk: learn the wave's rate and set up the converter. */
static int stream_setup(struct stream_ctx *sc, int rate)
{
	if (rate < (int)RESAMPLER_MIN_HZ || rate > (int)RESAMPLER_MAX_HZ)
		return -EIO;
	sc->rate_hz = (unsigned)rate;
	if (sc->rate_hz == AUDIO_RATE_HZ)
		return 0;
	int err = resampler_create(&sc->rs, sc->rate_hz, AUDIO_RATE_HZ,
				   RESAMPLER_QUALITY_CLIP);
	if (!err)
		sc->skip = resampler_delay(sc->rs);
	return err;
}

/* Take the wave's samples [sc->consumed, upto). */
static int take(struct stream_ctx *sc, const cst_wave *w, size_t upto)
{
	if (w->num_channels != 1 || w->sample_rate <= 0)
		return -EIO;
	if (!sc->rate_hz) {
		int err = stream_setup(sc, w->sample_rate);
		if (err)
			return err;
	} else if ((unsigned)w->sample_rate != sc->rate_hz) {
		return -EIO;
	}
	if (upto > (size_t)w->num_samples)
		upto = (size_t)w->num_samples;
	if (upto <= sc->consumed)
		return 0;
	int err = feed(sc, w->samples + sc->consumed, upto - sc->consumed);
	sc->taken += upto - sc->consumed;
	sc->consumed = upto;
	return err;
}

static int on_chunk(const cst_wave *w, int start, int size, int last,
		    cst_audio_streaming_info *asi)
{
	(void)last;
	struct stream_ctx *sc = asi->userdata;
	if (sc->err || start < 0 || size < 0)
		return CST_AUDIO_STREAM_STOP;
	sc->err = take(sc, w, (size_t)start + (size_t)size);
	return sc->err ? CST_AUDIO_STREAM_STOP : CST_AUDIO_STREAM_CONT;
}

/* Push out what the filter still holds: feed silence until the output
 * reaches round(in * 8000 / rate), the length audio_clip_resample() gives. */
static int stream_flush(struct stream_ctx *sc)
{
	if (!sc->rs)
		return 0;
	uint64_t want =
		(sc->in_total * AUDIO_RATE_HZ + sc->rate_hz / 2) / sc->rate_hz;
	static const int16_t zeros[RS_CHUNK / 2];
	int16_t tmp[RS_CHUNK];
	while (sc->out_total < want) {
		size_t nout = RS_CHUNK;
		int err = resampler_process(sc->rs, zeros, RS_CHUNK / 2, tmp,
					    &nout);
		if (err)
			return err;
		if (nout > want - sc->out_total + sc->skip)
			nout = (size_t)(want - sc->out_total + sc->skip);
		err = emit(sc, tmp, nout);
		if (err)
			return err;
	}
	return 0;
}

/* Words after which a period does not end a sentence. */
static const char *const abbrevs[] = { "mr",	 "mrs", "ms", "dr",  "st",
				       "jr",	 "sr",	"vs", "etc", "no",
				       "inc",	 "ltd", "co", "mt",  "ave",
				       "approx", "dept" };

static bool is_abbrev(const char *word, size_t n)
{
	if (n == 1 && isalpha((unsigned char)word[0]))
		return true; /* an initial: "J. Smith" */
	for (size_t i = 0; i < sizeof(abbrevs) / sizeof(abbrevs[0]); i++) {
		if (strlen(abbrevs[i]) == n &&
		    !strncasecmp(word, abbrevs[i], n))
			return true;
	}
	return false;
}

/* Length of the first sentence of p: up to and including the '.', '!' or
 * '?' (and closing quotes or brackets) that is followed by whitespace and
 * more text, or all of p. A period after a number inside a token
 * ("1,234.56") or after an abbreviation does not end a sentence. */
static size_t sentence_len(const char *p)
{
	size_t word = 0; /* start of the current word */
	for (size_t i = 0; p[i]; i++) {
		unsigned char c = (unsigned char)p[i];
		if (isspace(c)) {
			word = i + 1;
			continue;
		}
		if (c != '.' && c != '!' && c != '?')
			continue;
		size_t end = i + 1;
		while (p[end] && strchr(".!?\"')]", p[end]))
			end++;
		if (!p[end] || !isspace((unsigned char)p[end]))
			continue;
		if (c == '.' && is_abbrev(p + word, i - word))
			continue;
		size_t next = end;
		while (isspace((unsigned char)p[next]))
			next++;
		if (!p[next])
			return next; /* trailing blanks: one sentence */
		return end;
	}
	return strlen(p);
}

/* Synthesize one utterance of text into sc. -ENODATA when the text made
 * no sound (punctuation only): the caller skips it. */
static int synth_utterance(const struct flite_voice *fv, const char *text,
			   struct stream_ctx *sc)
{
	int err = 0;
	cst_audio_streaming_info *asi = new_audio_streaming_info();
	cst_utterance *u = new_utterance();
	if (!asi || !u) {
		err = -ENOMEM;
		goto out;
	}
	/* About 20 ms at the voice's rate: the first frame as soon as
	 * possible, without a callback per pitch period. */
	asi->min_buffsize = (int)(fv->pub.native_rate_hz / 50);
	asi->asc = on_chunk;
	asi->userdata = sc;
	sc->consumed = 0;
	utt_set_input_text(u, text);
	utt_init(u, fv->cst);
	/* The feature's value owns asi from here: delete_utterance() frees
	 * it. */
	feat_set(u->features, "streaming_info", audio_streaming_info_val(asi));
	asi = NULL;
	if (!utt_synth(u)) {
		err = sc->err ? sc->err : -EIO;
		goto out;
	}
	err = sc->err;
	/* Whatever the callback did not deliver (a voice without streaming
	 * support, or a tail held back) is in the utterance's wave. */
	const cst_wave *w = utt_wave(u);
	if (!err && w && w->num_samples > 0)
		err = take(sc, w, (size_t)w->num_samples);
	else if (!err && sc->consumed == 0)
		err = -ENODATA;
out:
	if (u)
		delete_utterance(u);
	if (asi)
		delete_audio_streaming_info(asi);
	return err;
}

/*
 * Sentence by sentence: flite analyses a whole utterance (tokens, words,
 * prosody, units) before it generates the first sample, so one utterance
 * for a whole prompt would delay the first frame by the analysis of every
 * sentence. Each sentence is its own utterance instead: the first frame
 * waits only for the first sentence, and later sentences are analysed
 * while earlier ones play. Each utterance ends in a pause, like a
 * sentence break inside one utterance does.
 */
/* Length of the first clause of p[0..n): up to a comma, semicolon or colon
 * followed by a blank, with at least two words before it; 0 when none. */
static size_t clause_len(const char *p, size_t n)
{
	unsigned words = 0;
	bool in_word = false;
	for (size_t i = 0; i + 1 < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (isspace(c)) {
			in_word = false;
			continue;
		}
		if (!in_word) {
			in_word = true;
			words++;
		}
		if ((c == ',' || c == ';' || c == ':') &&
		    isspace((unsigned char)p[i + 1]) && words >= 2)
			return i + 1;
	}
	return 0;
}

static int flite_synth_stream(struct tts_engine *e, const struct tts_voice *v,
			      const char *text, struct audio_stream *out)
{
	if (!e || !v || !out)
		return -EINVAL;
	const struct flite_voice *fv = own_voice(v);
	if (!fv || !fv->cst)
		return -EINVAL;
	int err = tts_text_check(text);
	if (err)
		return err;
	char *buf = malloc(strlen(text) + 1);
	if (!buf)
		return -ENOMEM;

	struct stream_ctx sc = { .out = out };
	bool first = true;
	for (const char *p = text; *p && !err;) {
		size_t n = sentence_len(p);
		/* clustergen voices (slt) compute a whole utterance before its
		 * first sample: the first piece is cut at its first clause so
		 * the first frame comes sooner; diphone voices (kal) stream
		 * within the utterance and keep whole sentences. */
		if (first && fv->pub.native_rate_hz != AUDIO_RATE_HZ) {
			size_t c = clause_len(p, n);
			if (c)
				n = c;
		}
		first = false;
		memcpy(buf, p, n);
		buf[n] = '\0';
		p += n;
		if (tts_text_check(buf))
			continue; /* blanks between sentences */
		err = synth_utterance(fv, buf, &sc);
		if (err == -ENODATA)
			err = 0;
	}
	free(buf);
	if (!err && !sc.taken)
		err = -ENODATA; /* no sentence made a sound */
	if (!err)
		err = stream_flush(&sc);
	if (!err && !sc.sounding && sc.nlead) /* all quiet: send what's kept */
		err = audio_stream_write(out, sc.lead, sc.nlead);
	if (!err && audio_stream_len(out) == 0)
		err = -ENODATA;
	if (err == -ENOSPC)
		err = -E2BIG; /* longer than the caller's stream allows */
	resampler_destroy(sc.rs);
	return err;
}

const struct tts_engine_ops tts_flite_ops = {
	.name = "flite",
	.caps = TTS_CAP_STREAM,
	.synth_stream = flite_synth_stream,
	.open = flite_open,
	.close = flite_close,
	.voice_find = flite_voice_find,
	.synth = flite_synth,
};

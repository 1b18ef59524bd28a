/* The flite engine (see tts_flite.h): flite_text_to_wave() behind the tts
 * engine contract, with the output converted to an 8 kHz audio_clip. */
#include "engines/tts/flite/tts_flite.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <flite.h>
#include <flite_version.h>

#include "audio/clip.h"
#include "audio/resample.h"

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
	*clipp = out;
	return 0;
}

const struct tts_engine_ops tts_flite_ops = {
	.name = "flite",
	.caps = 0,
	.open = flite_open,
	.close = flite_close,
	.voice_find = flite_voice_find,
	.synth = flite_synth,
};

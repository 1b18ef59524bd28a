/* `voxgate say` (see cli.h): one request through tts_synth_stream(), timed
 * like a call would see it, written out with wav_write(). */
#include "engines/tts/cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audio/clip.h"
#include "audio/resample.h"
#include "audio/stream.h"
#include "audio/wav.h"
#include "core/clock.h"
#include "core/wpool.h"
#include "engines/tts/tts.h"

static const char usage_text[] =
	"usage: voxgate say TEXT -o OUT.wav [--voice kal|slt] "
	"[--rate 8000|16000] [--cache-dir DIR]\n"
	"  Synthesize TEXT into a mono PCM16 WAV file. The audio is what a "
	"caller\n"
	"  hears (8 kHz); --rate 16000 upsamples it for tools that want "
	"16 kHz.\n"
	"  --cache-dir uses (and fills) an on-disk prompt cache.\n";

struct say_args {
	const char *text, *out, *voice, *cache_dir;
	unsigned rate_hz;
};

static int usage_error(const char *msg, const char *arg)
{
	if (msg)
		fprintf(stderr, "voxgate say: %s%s%s\n", msg, arg ? " " : "",
			arg ? arg : "");
	fputs(usage_text, stderr);
	return 2;
}

/* 0, 1 (help was printed) or 2 (usage error, printed). */
static int args_parse(int argc, char **argv, struct say_args *a)
{
	*a = (struct say_args){ .rate_hz = AUDIO_RATE_HZ };
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(o, "-h") || !strcmp(o, "--help")) {
			fputs(usage_text, stdout);
			return 1;
		}
		if (!strcmp(o, "-o") || !strcmp(o, "--output") ||
		    !strcmp(o, "--voice") || !strcmp(o, "--rate") ||
		    !strcmp(o, "--cache-dir")) {
			if (!v)
				return usage_error("missing value for", o);
			i++;
			if (o[1] == 'o' || o[2] == 'o')
				a->out = v;
			else if (o[2] == 'v')
				a->voice = v;
			else if (o[2] == 'c')
				a->cache_dir = v;
			else if (!strcmp(v, "8000") || !strcmp(v, "16000"))
				a->rate_hz = (unsigned)atoi(v);
			else
				return usage_error("--rate must be 8000 or "
						   "16000, not",
						   v);
		} else if (o[0] == '-' && o[1]) {
			return usage_error("unknown option", o);
		} else if (a->text) {
			return usage_error("one TEXT only (quote it); extra:",
					   o);
		} else {
			a->text = o;
		}
	}
	if (!a->text)
		return usage_error("no TEXT", NULL);
	if (!a->out)
		return usage_error("no output file (-o OUT.wav)", NULL);
	int err = tts_text_check(a->text);
	if (err == -E2BIG)
		return usage_error("TEXT is too long", NULL);
	if (err)
		return usage_error("TEXT is empty", NULL);
	return 0;
}

int tts_cli_say(int argc, char **argv)
{
	struct say_args a;
	int rc = args_parse(argc, argv, &a);
	if (rc)
		return rc == 1 ? 0 : rc;

	struct wpool *pool = NULL;
	struct tts *t = NULL;
	struct audio_stream *s = NULL;
	struct audio_clip *clip = NULL;
	const char *what = "worker pool";
	int err = wpool_create(&pool, 1, 4);
	if (!err) {
		what = "tts";
		struct tts_cfg cfg = { .cache_max_bytes =
					       TTS_CACHE_DEFAULT_BYTES,
				       .cache_dir = a.cache_dir };
		err = tts_create(&t, pool, &cfg);
	}
	const char *engine = NULL;
	const char *vname = NULL;
	if (!err) {
		vname = tts_voice_name(t, a.voice, &engine);
		if (!vname) {
			fprintf(stderr, "voxgate say: unknown voice '%s'\n",
				a.voice);
			rc = 2;
			goto out;
		}
		what = "synthesis";
	}

	uint64_t t0 = clock_mono_us(), first_us = 0, done_us = 0;
	if (!err)
		err = tts_synth_stream(t, a.voice, a.text, &s);
	/* Poll like the media loop would, but finer than its 20 ms tick so
	 * the figures are the service's, not ours. */
	while (!err && !done_us) {
		bool done = audio_stream_done(s, &err);
		if (!first_us && audio_stream_len(s) >= AUDIO_FRAME_SAMPLES)
			first_us = clock_mono_us();
		if (done)
			done_us = clock_mono_us();
		else
			usleep(200);
	}
	if (!err) {
		what = "stream";
		clip = audio_stream_to_clip(s);
		if (!clip)
			err = -ENOMEM;
	}
	if (!err && a.rate_hz != AUDIO_RATE_HZ) {
		what = "resampling";
		struct audio_clip *up = audio_clip_resample(clip, a.rate_hz);
		audio_clip_deref(clip);
		clip = up;
		if (!clip)
			err = -ENOMEM;
	}
	if (!err) {
		what = a.out;
		err = wav_write(a.out, clip);
	}
	if (err) {
		fprintf(stderr, "voxgate say: %s: %s\n", what, strerror(-err));
		rc = 1;
		goto out;
	}
	printf("voice=%s:%s samples=%zu rate=%u duration=%.2fs "
	       "synth_ms=%.1f first_frame_ms=%.1f out=%s\n",
	       engine, vname, clip->nsamples, clip->rate_hz,
	       (double)clip->nsamples / clip->rate_hz,
	       (double)(done_us - t0) / 1000.0,
	       first_us ? (double)(first_us - t0) / 1000.0 : 0.0, a.out);
out:
	audio_clip_deref(clip);
	audio_stream_deref(s);
	wpool_destroy(pool);
	tts_destroy(t);
	return rc;
}

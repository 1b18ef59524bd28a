/* `voxgate simulate`: options, the callers' audio (flite with a voice of
 * the caller's own, or WAV files; speaking rate; G.711 on the wire), the
 * run and the report. */
#include "sim/sim.h"

#include "audio/clip.h"
#include "audio/resample.h"
#include "audio/wav.h"
#include "core/clock.h"
#include "engines/tts/flite/tts_flite.h"
#include "engines/tts/tts.h"
#include "sim/detect.h"
#include "sim/sim_int.h"

#include <cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f,
		"usage: voxgate simulate SCENARIO.yaml [--api URL] [--calls N] "
		"[--concurrency C]\n"
		"         [--rate R] [--duration S] [--json] [--progress] "
		"[--bind IP] [--allow-remote]\n"
		"Plays callers against a SIP endpoint and reports what they "
		"experienced\n"
		"(docs/SIMULATOR.md). Exit status: 0 every call met its "
		"expectations,\n"
		"1 some failed, 2 usage or scenario error.\n");
}

/* Speaking rate r: the clip played r times faster (pitch moves too). */
static struct audio_clip *apply_rate(struct audio_clip *c, double rate)
{
	if (fabs(rate - 1.0) < 1e-6)
		return audio_clip_ref(c);
	struct audio_clip *tmp = audio_clip_alloc(c->nsamples, AUDIO_RATE_HZ);
	if (!tmp)
		return NULL;
	memcpy(tmp->samples, c->samples, c->nsamples * sizeof(int16_t));
	tmp->rate_hz = (unsigned)lrint(AUDIO_RATE_HZ * rate);
	struct audio_clip *out = audio_clip_resample(tmp, AUDIO_RATE_HZ);
	audio_clip_deref(tmp);
	return out;
}

static int load_wav(const struct sim_scenario *sc, const char *rel,
		    struct audio_clip **clipp)
{
	char path[PATH_MAX];
	if (rel[0] == '/') {
		snprintf(path, sizeof(path), "%s", rel);
	} else {
		char dir[PATH_MAX];
		snprintf(dir, sizeof(dir), "%s", sc->file);
		snprintf(path, sizeof(path), "%s/%s", dirname(dir), rel);
	}
	struct audio_clip *c = NULL;
	char err[256] = "";
	int rc = wav_read(path, &c, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "voxgate simulate: %s: %s\n", path,
			err[0] ? err : strerror(-rc));
		return rc;
	}
	struct audio_clip *r = audio_clip_resample(c, AUDIO_RATE_HZ);
	audio_clip_deref(c);
	if (!r)
		return -ENOMEM;
	*clipp = r;
	return 0;
}

static void audio_free(struct sim_audio *a)
{
	for (size_t i = 0; i < SIM_TURNS_MAX; i++)
		for (size_t j = 0; j < SIM_VARIANTS_MAX; j++)
			a->clips[i][j] = audio_clip_deref(a->clips[i][j]);
}

static int audio_prepare(const struct sim_scenario *sc, struct sim_audio *a)
{
	struct tts_engine *e = NULL;
	const struct tts_voice *v = NULL;
	int err = 0;
	for (size_t i = 0; i < sc->nturns && !err; i++) {
		const struct sim_turn *t = &sc->turns[i];
		size_t n = t->kind == SIM_TURN_SAY   ? t->ntexts
			   : t->kind == SIM_TURN_WAV ? 1
						     : 0;
		for (size_t j = 0; j < n && !err; j++) {
			struct audio_clip *raw = NULL;
			if (t->kind == SIM_TURN_WAV) {
				err = load_wav(sc, t->wav, &raw);
			} else {
				if (!e) {
					err = tts_flite_ops.open(&e);
					v = err ? NULL
						: tts_engine_voice_find(
							  e, sc->voice);
					if (!err && !v) {
						fprintf(stderr,
							"voxgate simulate: "
							"unknown voice '%s' "
							"(kal, slt)\n",
							sc->voice);
						err = -EINVAL;
					}
					if (err)
						break;
				}
				err = tts_engine_synth(e, v, t->texts[j], &raw);
				if (err)
					fprintf(stderr,
						"voxgate simulate: cannot "
						"synthesize \"%s\": %s\n",
						t->texts[j], strerror(-err));
			}
			if (err)
				break;
			a->clips[i][j] = apply_rate(raw, sc->rate);
			audio_clip_deref(raw);
			if (!a->clips[i][j]) {
				err = -ENOMEM;
				break;
			}
			const struct audio_clip *c = a->clips[i][j];
			a->eos_samples[i][j] =
				sim_speech_end_frame(c->samples, c->nsamples,
						     AUDIO_FRAME_SAMPLES,
						     SIM_DETECT_THRESH_DB) *
				AUDIO_FRAME_SAMPLES;
			if (!a->eos_samples[i][j]) {
				fprintf(stderr,
					"voxgate simulate: turn %zu (line "
					"%u): the audio is silent\n",
					i + 1, t->line);
				err = -ENODATA;
			}
		}
	}
	if (e)
		e->ops->close(e);
	return err;
}

static int parse_uint(const char *s, unsigned max, unsigned *out)
{
	char *end = NULL;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || !*s || *end || *s == '-' || v > max)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

int sim_cli_main(int argc, char **argv)
{
	struct sim_opts o = { .calls = 1, .concurrency = 1 };
	static const struct option opts[] = {
		{ "api", required_argument, NULL, 'a' },
		{ "calls", required_argument, NULL, 'n' },
		{ "concurrency", required_argument, NULL, 'c' },
		{ "rate", required_argument, NULL, 'r' },
		{ "duration", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "progress", no_argument, NULL, 'p' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "bind", required_argument, NULL, 'b' },
		{ "allow-remote", no_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	optind = 1;
	int ch;
	while ((ch = getopt_long(argc, argv, "a:n:c:r:d:jpqb:Rh", opts,
				 NULL)) != -1) {
		char *end = NULL;
		switch (ch) {
		case 'a':
			o.api = optarg;
			break;
		case 'n':
			if (parse_uint(optarg, SIM_CALLS_MAX, &o.calls) ||
			    !o.calls) {
				fprintf(stderr,
					"voxgate simulate: --calls "
					"1..%u\n",
					SIM_CALLS_MAX);
				return 2;
			}
			break;
		case 'c':
			if (parse_uint(optarg, SIM_CONCURRENCY_MAX,
				       &o.concurrency) ||
			    !o.concurrency) {
				fprintf(stderr,
					"voxgate simulate: "
					"--concurrency 1..%u\n",
					SIM_CONCURRENCY_MAX);
				return 2;
			}
			break;
		case 'r':
			o.rate = strtod(optarg, &end);
			if (!*optarg || *end || !(o.rate > 0) ||
			    o.rate > 1000) {
				fprintf(stderr, "voxgate simulate: --rate "
						"calls per second, (0, "
						"1000]\n");
				return 2;
			}
			break;
		case 'd':
			if (sim_duration_parse(optarg, &o.duration_ms) ||
			    !o.duration_ms) {
				fprintf(stderr, "voxgate simulate: --duration "
						"like 60s or 500ms\n");
				return 2;
			}
			if (!strpbrk(optarg, "ms"))
				o.duration_ms *= 1000; /* plain: seconds */
			break;
		case 'j':
			o.json = true;
			break;
		case 'p':
			o.progress = true;
			break;
		case 'q':
			o.quiet = true;
			break;
		case 'b':
			o.bind = optarg;
			break;
		case 'R':
			o.allow_remote = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	o.scenario = argv[optind];
	if (o.api) {
		size_t l = strlen(o.api);
		if (strncmp(o.api, "http://", 7) &&
		    strncmp(o.api, "https://", 8)) {
			fprintf(stderr, "voxgate simulate: --api must be an "
					"http:// URL\n");
			return 2;
		}
		if (l && o.api[l - 1] == '/') {
			fprintf(stderr, "voxgate simulate: --api without a "
					"trailing /\n");
			return 2;
		}
	}
	if (o.concurrency > o.calls)
		o.concurrency = o.calls;

	struct sim_scenario *sc = NULL;
	char err[SIM_ERR_MAX];
	if (sim_scenario_load(o.scenario, &sc, err)) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	if (!o.allow_remote && !sim_uri_is_loopback(sc->target)) {
		fprintf(stderr,
			"voxgate simulate: %s: target %s is not a loopback "
			"address; pass --allow-remote to call it\n",
			o.scenario, sc->target);
		sim_scenario_destroy(sc);
		return 2;
	}
	if (!o.bind && !o.allow_remote)
		o.bind = "127.0.0.1";
	if (!strcmp(sc->voice, "kal") && !o.quiet)
		fprintf(stderr, "voxgate simulate: note: the caller voice kal "
				"is voxgate's default bot voice\n");

	struct sim_audio *audio = calloc(1, sizeof(*audio));
	struct sim_call_result *res = calloc(o.calls, sizeof(*res));
	int rc = 2;
	if (!audio || !res) {
		fprintf(stderr, "voxgate simulate: out of memory\n");
		goto out;
	}
	if (audio_prepare(sc, audio))
		goto out;
	size_t n = 0;
	uint64_t t0 = clock_mono_us();
	int e = sim_run(&o, sc, audio, res, &n);
	double wall_ms = (double)(clock_mono_us() - t0) / 1000.0;
	if (e) {
		fprintf(stderr, "voxgate simulate: cannot run: %s\n",
			strerror(-e));
		goto out;
	}
	size_t bad = sim_report_check(&o, sc, res, n);
	sim_report_print(&o, sc, res, n, wall_ms, stdout);
	rc = bad ? 1 : 0;
out:
	if (res)
		for (size_t i = 0; i < o.calls; i++) {
			cJSON_Delete(res[i].cdr);
			free(res[i].expect_fail);
		}
	free(res);
	if (audio)
		audio_free(audio);
	free(audio);
	sim_scenario_destroy(sc);
	return rc;
}

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
#include "sim/html.h"
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
		"         [--sweep LEVELS [--sweep-p95 MS] [--sweep-spread S]] "
		"[--html FILE]\n"
		"Plays callers against a SIP endpoint (or AudioSocket, Media "
		"Streams,\nAudioHook / Audio Connector server: the scenario's "
		"transport:) and\nreports what they experienced\n"
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

/* "1,10,25": increasing levels 1..SIM_CONCURRENCY_MAX. */
static int parse_sweep(const char *s, struct sim_opts *o)
{
	o->nsweep = 0;
	while (*s) {
		char *end = NULL;
		if (*s < '0' || *s > '9' || o->nsweep == SIM_SWEEP_MAX)
			return -EINVAL;
		errno = 0;
		unsigned long v = strtoul(s, &end, 10);
		if (errno || !v || v > SIM_CONCURRENCY_MAX ||
		    (o->nsweep && v <= o->sweep[o->nsweep - 1]) ||
		    (*end && *end != ','))
			return -EINVAL;
		o->sweep[o->nsweep++] = (unsigned)v;
		s = *end ? end + 1 : end;
		if (*end && !*s)
			return -EINVAL; /* trailing comma */
	}
	return o->nsweep ? 0 : -EINVAL;
}

static void results_clear(struct sim_call_result *res, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		cJSON_Delete(res[i].cdr);
		free(res[i].expect_fail);
	}
}

/* One load stage: run, join the CDRs, check. *np gets the calls placed. */
static int run_stage(const struct sim_opts *o, const struct sim_scenario *sc,
		     const struct sim_audio *audio, struct sim_call_result *res,
		     size_t *np, double *wall_ms)
{
	size_t n = 0;
	uint64_t t0 = clock_mono_us();
	int e = sim_run(o, sc, audio, res, &n);
	*wall_ms = (double)(clock_mono_us() - t0) / 1000.0;
	if (e) {
		fprintf(stderr, "voxgate simulate: cannot run: %s\n",
			strerror(-e));
		return e;
	}
	(void)sim_report_check(o, sc, res, n);
	*np = n;
	return 0;
}

static int cmp_uint(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
	return (x > y) - (x < y);
}

/* Calls up when the level's turns started: median and highest. */
static void sweep_active(struct sim_sweep_point *p,
			 const struct sim_call_result *res, size_t n)
{
	size_t cap = 0;
	for (size_t i = 0; i < n; i++)
		cap += res[i].nturns;
	p->active_p50 = 0;
	p->active_max = 0;
	unsigned *v = cap ? malloc(cap * sizeof(*v)) : NULL;
	if (!v)
		return;
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < res[i].nturns; k++)
			if (res[i].turns[k].ran)
				v[m++] = res[i].turns[k].active;
	if (m) {
		qsort(v, m, sizeof(*v), cmp_uint);
		size_t h = m / 2;
		double hi = v[h], lo = m % 2 ? hi : (double)v[h - 1];
		p->active_p50 = (lo + hi) / 2.0;
		p->active_max = v[m - 1];
	}
	free(v);
}

/* The levels of o->sweep one after the other into res (room for every
 * level's calls); stops after a level with more than half failed. */
static int run_sweep(const struct sim_opts *o, const struct sim_scenario *sc,
		     const struct sim_audio *audio, struct sim_call_result *res,
		     size_t *np, struct sim_sweep_point *pts, size_t *npts,
		     bool *stopped, double *wall_ms)
{
	size_t off = 0;
	*wall_ms = 0;
	*npts = 0;
	*stopped = false;
	for (size_t i = 0; i < o->nsweep; i++) {
		struct sim_opts lo = *o;
		lo.concurrency = o->sweep[i];
		lo.calls =
			o->calls > lo.concurrency ? o->calls : lo.concurrency;
		if (o->sweep_spread_s > 0) {
			/* a steady load: new calls at level / spread per
			 * second, twice the level in all, so that about
			 * `level` are up between spread and 2 x spread */
			lo.rate = lo.concurrency / o->sweep_spread_s;
			if (lo.calls < 2 * lo.concurrency)
				lo.calls = 2 * lo.concurrency;
		}
		size_t n = 0;
		double ms = 0;
		if (!o->quiet)
			fprintf(stderr,
				"voxgate simulate: sweep level %u: %u "
				"calls\n",
				lo.concurrency, lo.calls);
		int e = run_stage(&lo, sc, audio, res + off, &n, &ms);
		if (e)
			return e;
		struct sim_figures f;
		e = sim_figures_compute(sc, res + off, n, lo.concurrency, ms,
					&f);
		sim_sweep_point_set(&pts[(*npts)++], lo.concurrency, &f);
		sweep_active(&pts[*npts - 1], res + off, n);
		sim_figures_fini(&f);
		if (e)
			return e;
		off += n;
		*wall_ms += ms;
		if (!n || pts[*npts - 1].failed * 2 > n) {
			*stopped = i + 1 < o->nsweep;
			if (*stopped && !o->quiet)
				fprintf(stderr,
					"voxgate simulate: sweep stopped: "
					"%zu of %zu calls failed at "
					"level %u\n",
					pts[*npts - 1].failed, n,
					lo.concurrency);
			break;
		}
	}
	*np = off;
	return 0;
}

int sim_cli_main(int argc, char **argv)
{
	struct sim_opts o = { .calls = 1,
			      .concurrency = 1,
			      .sweep_p95_ms = 600 };
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
		{ "sweep", required_argument, NULL, 'S' },
		{ "sweep-p95", required_argument, NULL, 'P' },
		{ "sweep-spread", required_argument, NULL, 'G' },
		{ "html", required_argument, NULL, 'H' },
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
		case 'S':
			if (parse_sweep(optarg, &o)) {
				fprintf(stderr,
					"voxgate simulate: --sweep "
					"increasing levels 1..%u, at most "
					"%u, like 1,10,25,50,100\n",
					SIM_CONCURRENCY_MAX, SIM_SWEEP_MAX);
				return 2;
			}
			break;
		case 'P':
			o.sweep_p95_ms = strtod(optarg, &end);
			if (!*optarg || *end || !(o.sweep_p95_ms > 0) ||
			    o.sweep_p95_ms > 600000) {
				fprintf(stderr, "voxgate simulate: --sweep-p95 "
						"milliseconds, (0, 600000]\n");
				return 2;
			}
			break;
		case 'G':
			o.sweep_spread_s = strtod(optarg, &end);
			if (!*optarg || *end || !(o.sweep_spread_s > 0) ||
			    o.sweep_spread_s > 3600) {
				fprintf(stderr, "voxgate simulate: "
						"--sweep-spread seconds, (0, "
						"3600]\n");
				return 2;
			}
			break;
		case 'H':
			if (!*optarg) {
				fprintf(stderr, "voxgate simulate: --html "
						"FILE\n");
				return 2;
			}
			o.html = optarg;
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
	/* every sweep level places max(level, --calls) calls */
	size_t total = o.calls;
	if (o.nsweep) {
		total = 0;
		for (size_t i = 0; i < o.nsweep; i++) {
			size_t lv = o.sweep[i] > o.calls ? o.sweep[i] : o.calls;
			if (o.sweep_spread_s > 0 && lv < 2 * (size_t)o.sweep[i])
				lv = 2 * (size_t)o.sweep[i];
			total += lv;
		}
		if (total > SIM_CALLS_MAX) {
			fprintf(stderr,
				"voxgate simulate: the sweep places %zu "
				"calls, more than %u\n",
				total, SIM_CALLS_MAX);
			return 2;
		}
	}

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
	struct sim_call_result *res = calloc(total, sizeof(*res));
	struct sim_sweep_point pts[SIM_SWEEP_MAX];
	size_t npts = 0;
	bool stopped = false;
	int rc = 2;
	if (!audio || !res) {
		fprintf(stderr, "voxgate simulate: out of memory\n");
		goto out;
	}
	if (audio_prepare(sc, audio))
		goto out;
	size_t n = 0;
	double wall_ms = 0;
	int e = o.nsweep ? run_sweep(&o, sc, audio, res, &n, pts, &npts,
				     &stopped, &wall_ms)
			 : run_stage(&o, sc, audio, res, &n, &wall_ms);
	if (e)
		goto out;
	unsigned conc =
		o.nsweep && npts ? pts[npts - 1].concurrency : o.concurrency;
	struct sim_figures f;
	if (sim_figures_compute(sc, res, n, conc, wall_ms, &f)) {
		fprintf(stderr, "voxgate simulate: out of memory\n");
		sim_figures_fini(&f);
		goto out;
	}
	if (o.nsweep) {
		f.sweep = pts;
		f.nsweep = npts;
		f.sweep_p95_ms = o.sweep_p95_ms;
		f.sweep_stopped = stopped;
		f.sweep_max_concurrency =
			sim_sweep_best(pts, npts, o.sweep_p95_ms);
	}
	sim_report_print(&o, &f, stdout);
	rc = f.failed ? 1 : 0;
	if (o.html) {
		e = sim_html_save(o.html, &f);
		if (e) {
			fprintf(stderr, "voxgate simulate: %s: %s\n", o.html,
				strerror(-e));
			rc = 2;
		}
	}
	sim_figures_fini(&f);
out:
	if (res)
		results_clear(res, total);
	free(res);
	if (audio)
		audio_free(audio);
	free(audio);
	sim_scenario_destroy(sc);
	return rc;
}

/* `voxgate transcribe` (see cli.h and docs/SPEECH.md): a WAV file through
 * the VAD, the endpointer and the STT chain, on the calling thread. */
#include "engines/stt/cli.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audio/clip.h"
#include "audio/resample.h"
#include "audio/vad.h"
#include "audio/wav.h"
#include "core/clock.h"
#include "core/loop.h"
#include "core/wpool.h"
#include "engines/stt/stt.h"

enum {
	SEGMENTS_MAX = 4096, /* about 10 hours of short turns */
	ALL_TEXT_MAX = 1 << 20,
	/* --stream with an engine that cannot stream (Moonshine): the
	 * service's emulated partials, as often as the daemon's default
	 * stt.partial_every (config.h CONFIG_STT_PARTIAL_EVERY_MS) */
	STREAM_PARTIAL_EVERY_MS = 500,
};

struct opts {
	const char *in, *engine, *grammar, *lm_from;
	unsigned classes;
	int json, no_vad, stream, degrade;
};

struct segment {
	uint32_t start_ms, end_ms;
	int err;
	struct stt_result res;
};

struct run {
	struct stt *stt;
	struct stt_params params;
	struct segment *seg;
	size_t nseg;
	int failed;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: voxgate transcribe in.wav [--engine "
		"moonshine|pocketsphinx]\n"
		"           [--grammar FILE [--class digits|yesno|number]... "
		"| --lm-from FILE]\n"
		"           [--no-vad | --stream] [--degrade] [--json]\n"
		"\n"
		"Recognizes a WAV file (8 kHz or 16 kHz mono; others are "
		"resampled), cut into\n"
		"utterances by the VAD. --grammar: one phrase per line; "
		"--lm-from: sentences or\n"
		"label<TAB>text lines for a domain language model. "
		"--stream: the whole file as\n"
		"one utterance fed in 20 ms frames at the pace of speech "
		"through the streaming\n"
		"path, printing partial results as they change (an engine "
		"that cannot stream,\n"
		"Moonshine, re-decodes the audio so far every 500 ms or more), "
		"then the final\n"
		"result and its finalize time (end of audio -> final text). "
		"--degrade: decode\n"
		"as under load (every decode an engine can degrade is "
		"degraded, as with\n"
		"stt.degrade_after 0).\n");
}

static int class_parse(const char *s, unsigned *classes)
{
	if (!strcmp(s, "digits"))
		*classes |= STT_CLASS_DIGITS;
	else if (!strcmp(s, "yesno"))
		*classes |= STT_CLASS_YESNO;
	else if (!strcmp(s, "number"))
		*classes |= STT_CLASS_NUMBER;
	else
		return -EINVAL;
	return 0;
}

static int parse(int argc, char **argv, struct opts *o)
{
	memset(o, 0, sizeof(*o));
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--json")) {
			o->json = 1;
		} else if (!strcmp(a, "--no-vad")) {
			o->no_vad = 1;
		} else if (!strcmp(a, "--stream")) {
			o->stream = 1;
		} else if (!strcmp(a, "--degrade")) {
			o->degrade = 1;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			return 1;
		} else if (a[0] != '-' || !strcmp(a, "-")) {
			if (o->in)
				return -EINVAL;
			o->in = a;
		} else if (!v) {
			return -EINVAL;
		} else if (!strcmp(a, "--engine")) {
			o->engine = v;
			i++;
		} else if (!strcmp(a, "--grammar")) {
			o->grammar = v;
			i++;
		} else if (!strcmp(a, "--lm-from")) {
			o->lm_from = v;
			i++;
		} else if (!strcmp(a, "--class")) {
			if (class_parse(v, &o->classes))
				return -EINVAL;
			i++;
		} else {
			return -EINVAL;
		}
	}
	if (!o->in || (o->grammar && o->lm_from) ||
	    (o->classes && o->lm_from) || (o->stream && o->no_vad))
		return -EINVAL;
	return 0;
}

/* The service's settings: o's engine; with --degrade every engine degrades
 * every decode it can (degrade_after 0). */
static void cfg_make(const struct opts *o, struct stt_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->engines = o->engine;
	for (unsigned i = 0; i < STT_ENGINES_MAX; i++)
		cfg->engine_cfg[i].degrade = o->degrade;
}

/* Read a whole text file of at most STT_GRAMMAR_FILE_MAX bytes. */
static int file_read(const char *path, char **bufp, size_t *lenp)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -errno;
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	int err = buf ? 0 : -ENOMEM;
	while (!err) {
		if (len == cap) {
			if (cap > STT_GRAMMAR_FILE_MAX) {
				err = -E2BIG;
				break;
			}
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				err = -ENOMEM;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		size_t r = fread(buf + len, 1, cap - len, f);
		len += r;
		if (r == 0) {
			if (ferror(f))
				err = -EIO;
			break;
		}
	}
	fclose(f);
	if (err) {
		free(buf);
		return err;
	}
	*bufp = buf;
	*lenp = len;
	return 0;
}

static int grammar_load(const struct opts *o, struct stt_grammar **gp)
{
	const char *path = o->grammar ? o->grammar : o->lm_from;
	enum stt_mode mode = o->grammar ? STT_MODE_GRAMMAR : STT_MODE_LM;
	char *buf = NULL;
	size_t len = 0;
	int err = file_read(path, &buf, &len);
	if (err) {
		fprintf(stderr, "transcribe: %s: %s\n", path, strerror(-err));
		return err;
	}
	char msg[256] = "";
	err = stt_grammar_parse(buf, len, mode, o->classes, gp, msg,
				sizeof(msg));
	free(buf);
	if (err)
		fprintf(stderr, "transcribe: %s: %s\n", path,
			msg[0] ? msg : strerror(-err));
	return err;
}

/* Decode one utterance [start_ms, end_ms) of the file. */
static int decode_segment(struct run *r, const int16_t *pcm, size_t n,
			  uint32_t start_ms, uint32_t end_ms)
{
	if (!n)
		return 0;
	if (r->nseg == SEGMENTS_MAX)
		return -E2BIG;
	struct segment *sg = &r->seg[r->nseg++];
	memset(sg, 0, sizeof(*sg));
	sg->start_ms = start_ms;
	sg->end_ms = end_ms;
	sg->err = stt_recognize_sync(r->stt, pcm, n, &r->params, &sg->res);
	if (sg->err) {
		fprintf(stderr, "transcribe: segment %u-%u ms: %s\n", start_ms,
			end_ms, strerror(-sg->err));
		r->failed = 1;
	}
	return 0;
}

/* Cut the clip into utterances as a call would (endpointer defaults, no
 * no-input timeout) and decode each; speech still open at the end of the
 * file is decoded too. */
static int segment_and_decode(struct run *r, const struct audio_clip *clip)
{
	struct vad *v = NULL;
	struct endpointer *ep = NULL;
	struct endpoint_cfg ecfg;
	endpoint_cfg_default(&ecfg);
	ecfg.no_input_ms = 0;
	int err = vad_create(&v, NULL);
	if (!err)
		err = endpoint_create(&ep, &ecfg);
	if (!err)
		err = endpoint_start(ep, NULL);
	int16_t frame[AUDIO_FRAME_SAMPLES];
	for (size_t off = 0; !err && off < clip->nsamples;
	     off += AUDIO_FRAME_SAMPLES) {
		size_t k = clip->nsamples - off;
		if (k > AUDIO_FRAME_SAMPLES)
			k = AUDIO_FRAME_SAMPLES;
		memcpy(frame, clip->samples + off, k * sizeof(frame[0]));
		memset(frame + k, 0,
		       (AUDIO_FRAME_SAMPLES - k) * sizeof(frame[0]));
		enum endpoint_event ev =
			endpoint_feed(ep, frame, vad_process(v, frame));
		if (ev != EP_SPEECH_END && ev != EP_MAX_SPEECH)
			continue;
		size_t n = 0;
		const int16_t *pcm = endpoint_audio(ep, &n);
		/* the audio ends at the current frame; it starts n samples
		 * earlier (pre-roll included) */
		uint32_t end_ms = (uint32_t)((off + AUDIO_FRAME_SAMPLES) *
					     1000u / AUDIO_RATE_HZ);
		uint32_t len_ms = (uint32_t)(n * 1000u / AUDIO_RATE_HZ);
		err = decode_segment(r, pcm, n,
				     end_ms > len_ms ? end_ms - len_ms : 0,
				     end_ms);
		if (!err)
			err = endpoint_start(ep, NULL);
	}
	if (!err && endpoint_in_speech(ep)) {
		size_t n = 0;
		const int16_t *pcm = endpoint_audio(ep, &n);
		uint32_t end_ms =
			(uint32_t)(clip->nsamples * 1000u / AUDIO_RATE_HZ);
		uint32_t len_ms = (uint32_t)(n * 1000u / AUDIO_RATE_HZ);
		err = decode_segment(r, pcm, n,
				     end_ms > len_ms ? end_ms - len_ms : 0,
				     end_ms);
	}
	endpoint_destroy(ep);
	vad_destroy(v);
	return err;
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

struct totals {
	char *text; /* segments' texts joined by one space */
	const char *engine;
	uint64_t decode_us;
	uint32_t audio_ms;
	double rtf;
	size_t ndegraded; /* segments decoded degraded */
};

static int totals_make(const struct run *r, uint32_t audio_ms, struct totals *t)
{
	memset(t, 0, sizeof(*t));
	t->text = malloc(ALL_TEXT_MAX);
	if (!t->text)
		return -ENOMEM;
	size_t off = 0;
	t->text[0] = '\0';
	for (size_t i = 0; i < r->nseg; i++) {
		const struct segment *sg = &r->seg[i];
		if (sg->err)
			continue;
		t->decode_us += sg->res.decode_us;
		t->ndegraded += sg->res.degraded;
		if (!t->engine)
			t->engine = sg->res.engine;
		if (!sg->res.text[0])
			continue;
		int w = snprintf(t->text + off, ALL_TEXT_MAX - off, "%s%s",
				 off ? " " : "", sg->res.text);
		if (w > 0 && (size_t)w < ALL_TEXT_MAX - off)
			off += (size_t)w;
	}
	if (!t->engine)
		t->engine = stt_engines(r->stt);
	t->audio_ms = audio_ms;
	t->rtf = audio_ms ? (double)t->decode_us / 1000.0 / audio_ms : 0;
	return 0;
}

static void print_json(const struct run *r, const struct totals *t)
{
	printf("{\"text\":");
	json_str(stdout, t->text);
	printf(",\"segments\":[");
	for (size_t i = 0; i < r->nseg; i++) {
		const struct segment *sg = &r->seg[i];
		printf("%s{\"start_ms\":%u,\"end_ms\":%u,\"text\":",
		       i ? "," : "", sg->start_ms, sg->end_ms);
		json_str(stdout, sg->err ? "" : sg->res.text);
		printf(",\"confidence\":%.3f,\"engine\":",
		       sg->err ? 0.0 : (double)sg->res.confidence);
		json_str(stdout, sg->err ? "" : sg->res.engine);
		printf(",\"decode_ms\":%.1f,\"degraded\":%s",
		       sg->res.decode_us / 1000.0,
		       !sg->err && sg->res.degraded ? "true" : "false");
		if (sg->err)
			printf(",\"error\":\"%s\"", strerror(-sg->err));
		printf("}");
	}
	printf("],\"engine\":");
	json_str(stdout, t->engine);
	printf(",\"audio_ms\":%u,\"decode_ms\":%.1f,\"rtf\":%.4f,"
	       "\"degraded\":%s}\n",
	       t->audio_ms, t->decode_us / 1000.0, t->rtf,
	       t->ndegraded ? "true" : "false");
}

static void print_text(const struct run *r, const struct totals *t)
{
	for (size_t i = 0; i < r->nseg; i++) {
		const struct segment *sg = &r->seg[i];
		if (sg->err) {
			printf("[%6.2f-%6.2f] (error: %s)\n",
			       sg->start_ms / 1000.0, sg->end_ms / 1000.0,
			       strerror(-sg->err));
			continue;
		}
		printf("[%6.2f-%6.2f] %s (confidence %.2f, %s, %.1f ms",
		       sg->start_ms / 1000.0, sg->end_ms / 1000.0,
		       sg->res.text[0] ? sg->res.text : "<no match>",
		       (double)sg->res.confidence, sg->res.engine,
		       sg->res.decode_us / 1000.0);
		if (sg->res.grammar_phrase)
			printf(", phrase \"%s\"", sg->res.grammar_phrase);
		if (sg->res.degraded)
			printf(", degraded");
		printf(")\n");
	}
	printf("text: %s\n", t->text);
	printf("engine: %s  audio: %.2f s  decode: %.1f ms  RTF: %.4f  "
	       "degraded: %zu of %zu\n",
	       t->engine, t->audio_ms / 1000.0, t->decode_us / 1000.0, t->rtf,
	       t->ndegraded, r->nseg);
}

/* ---- --stream ---- */

enum { PARTIALS_MAX = 1024 };

struct partial {
	uint32_t audio_ms; /* offset of the audio the engine had heard */
	char text[STT_TEXT_MAX + 1];
};

/* One streamed file. The stream lives on the loop; the calling thread
 * posts the frames at the pace of speech and waits for the result. */
struct srun {
	struct stt *stt;
	struct vg_loop *loop;
	const struct stt_params *params;
	struct audio_clip *clip;
	int json;
	struct stt_stream *st;
	size_t next; /* next frame's first sample (loop) */
	struct partial *part;
	size_t npart;
	uint64_t end_us, done_us;
	int err, start_err;
	struct stt_result res;
	atomic_int done;
};

static void s_partial(const char *text, uint32_t audio_ms, void *arg)
{
	struct srun *r = arg;
	if (r->npart < PARTIALS_MAX) {
		struct partial *p = &r->part[r->npart++];
		p->audio_ms = audio_ms;
		snprintf(p->text, sizeof(p->text), "%s", text);
	}
	if (!r->json) {
		printf("  partial @%6.2f s: %s\n", audio_ms / 1000.0, text);
		fflush(stdout);
	}
}

static void s_done(int err, const struct stt_result *res, void *arg)
{
	struct srun *r = arg;
	r->done_us = clock_mono_us();
	r->err = err;
	if (!err)
		r->res = *res;
	atomic_store(&r->done, 1);
}

static void s_start(void *arg)
{
	struct srun *r = arg;
	r->start_err = stt_stream_start(r->stt, r->params, r->loop, s_partial,
					s_done, r, &r->st);
	if (r->start_err)
		atomic_store(&r->done, 1);
}

static void s_frame(void *arg)
{
	struct srun *r = arg;
	size_t n = r->clip->nsamples - r->next;
	if (n > AUDIO_FRAME_SAMPLES)
		n = AUDIO_FRAME_SAMPLES;
	int err = stt_stream_feed(r->st, r->clip->samples + r->next, n);
	r->next += n;
	if (err)
		fprintf(stderr, "transcribe: feed: %s\n", strerror(-err));
}

static void s_end(void *arg)
{
	struct srun *r = arg;
	r->end_us = clock_mono_us();
	int err = stt_stream_end(r->st, r->clip);
	if (err) {
		stt_stream_cancel(r->st);
		r->done_us = r->end_us;
		r->err = err;
		atomic_store(&r->done, 1);
	}
}

static void print_stream(const struct srun *r)
{
	double fin_ms = (double)(r->done_us - r->end_us) / 1000.0;
	uint32_t audio_ms =
		(uint32_t)(r->clip->nsamples * 1000u / AUDIO_RATE_HZ);
	if (r->json) {
		printf("{\"text\":");
		json_str(stdout, r->err ? "" : r->res.text);
		printf(",\"partials\":[");
		for (size_t i = 0; i < r->npart; i++) {
			printf("%s{\"ms\":%u,\"text\":", i ? "," : "",
			       r->part[i].audio_ms);
			json_str(stdout, r->part[i].text);
			printf("}");
		}
		printf("],\"confidence\":%.3f,\"engine\":",
		       r->err ? 0.0 : (double)r->res.confidence);
		json_str(stdout, r->err ? "" : r->res.engine);
		if (!r->err && r->res.grammar_phrase) {
			printf(",\"grammar_phrase\":");
			json_str(stdout, r->res.grammar_phrase);
		}
		printf(",\"audio_ms\":%u,\"finalize_ms\":%.1f,\"degraded\":%s",
		       audio_ms, fin_ms,
		       !r->err && r->res.degraded ? "true" : "false");
		if (r->err)
			printf(",\"error\":\"%s\"", strerror(-r->err));
		printf("}\n");
		return;
	}
	if (r->err) {
		printf("final: (error: %s)\n", strerror(-r->err));
		return;
	}
	printf("final: %s (confidence %.2f, %s",
	       r->res.text[0] ? r->res.text : "<no match>",
	       (double)r->res.confidence, r->res.engine);
	if (r->res.grammar_phrase)
		printf(", phrase \"%s\"", r->res.grammar_phrase);
	printf(")\n");
	printf("audio: %.2f s  partials: %zu  finalize: %.1f ms (end of audio "
	       "-> final text)  degraded: %s\n",
	       audio_ms / 1000.0, r->npart, fin_ms,
	       r->res.degraded ? "yes" : "no");
}

/* The whole clip as one utterance through stt_stream_*(): a loop and a
 * one-thread pool of its own, frames posted every 20 ms. */
static int stream_file(const struct opts *o, struct stt_params *params,
		       struct audio_clip *clip)
{
	if (clip->nsamples >
	    (size_t)STT_UTTERANCE_MAX_MS * (AUDIO_RATE_HZ / 1000)) {
		fprintf(stderr, "transcribe: --stream takes at most 30 s of "
				"audio\n");
		return 1;
	}
	struct srun r = { .clip = clip, .json = o->json, .params = params };
	struct wpool *pool = NULL;
	int rc = 1;
	r.part = calloc(PARTIALS_MAX, sizeof(*r.part));
	struct stt_cfg cfg;
	cfg_make(o, &cfg);
	cfg.partial_every_ms = STREAM_PARTIAL_EVERY_MS;
	int err = r.part ? loop_create(&r.loop, "transcribe") : -ENOMEM;
	if (!err)
		err = loop_start(r.loop);
	if (!err)
		err = wpool_create(&pool, 1, 64);
	if (!err)
		err = stt_create(&r.stt, pool, &cfg);
	if (err) {
		fprintf(stderr, "transcribe: %s\n",
			err == -ENOENT ? "no STT engine installed"
				       : strerror(-err));
		goto out;
	}
	if (params->grammar)
		stt_prepare(r.stt, params->grammar);
	if (loop_post(r.loop, s_start, &r))
		goto out;
	uint64_t t0 = clock_mono_us();
	size_t frames = (clip->nsamples + AUDIO_FRAME_SAMPLES - 1) /
			AUDIO_FRAME_SAMPLES;
	for (size_t k = 0; k < frames && !atomic_load(&r.done); k++) {
		uint64_t due = t0 + (uint64_t)k * AUDIO_FRAME_MS * 1000u;
		uint64_t now = clock_mono_us();
		if (due > now)
			usleep((useconds_t)(due - now));
		if (loop_post(r.loop, s_frame, &r))
			goto out;
	}
	if (!atomic_load(&r.done) && loop_post(r.loop, s_end, &r))
		goto out;
	while (!atomic_load(&r.done))
		usleep(1000);
	if (r.start_err) {
		fprintf(stderr, "transcribe: %s\n", strerror(-r.start_err));
		goto out;
	}
	print_stream(&r);
	rc = r.err ? 1 : 0;
out:
	wpool_destroy(pool);
	loop_destroy(r.loop);
	stt_destroy(r.stt);
	free(r.part);
	return rc;
}

static int load_audio(const char *path, struct audio_clip **clipp)
{
	char msg[256] = "";
	struct audio_clip *c = NULL;
	int err = wav_read(path, &c, msg, sizeof(msg));
	if (err) {
		/* the reader's message may already name the file */
		if (msg[0] && strstr(msg, path))
			fprintf(stderr, "transcribe: %s\n", msg);
		else
			fprintf(stderr, "transcribe: %s: %s\n", path,
				msg[0] ? msg : strerror(-err));
		return err;
	}
	if (c->rate_hz != AUDIO_RATE_HZ) {
		struct audio_clip *r = audio_clip_resample(c, AUDIO_RATE_HZ);
		audio_clip_deref(c);
		if (!r) {
			fprintf(stderr, "transcribe: %s: cannot resample\n",
				path);
			return -EINVAL;
		}
		c = r;
	}
	*clipp = c;
	return 0;
}

int stt_cli_transcribe(int argc, char **argv)
{
	struct opts o;
	int perr = parse(argc, argv, &o);
	if (perr) {
		usage(perr > 0 ? stdout : stderr);
		return perr > 0 ? 0 : 2;
	}
	struct audio_clip *clip = NULL;
	struct stt_grammar *g = NULL;
	struct run r = { 0 };
	struct totals t = { 0 };
	int rc = 1;

	if (load_audio(o.in, &clip))
		goto out;
	if ((o.grammar || o.lm_from) && grammar_load(&o, &g))
		goto out;
	if (o.stream) {
		struct stt_params sp = {
			.mode = g ? stt_grammar_mode(g) : STT_MODE_OPEN,
			.grammar = g,
			.deadline_ms = 600000,
		};
		rc = stream_file(&o, &sp, clip);
		goto out;
	}
	struct stt_cfg cfg;
	cfg_make(&o, &cfg);
	int err = stt_create(&r.stt, NULL, &cfg);
	if (err) {
		fprintf(stderr, "transcribe: no STT engine: %s\n",
			err == -ENOENT	 ? "none installed"
			: err == -EINVAL ? "unknown engine name"
					 : strerror(-err));
		goto out;
	}
	if (g)
		stt_prepare(r.stt, g);
	r.params = (struct stt_params){
		.mode = g ? stt_grammar_mode(g) : STT_MODE_OPEN,
		.grammar = g,
		/* a CLI waits for its answer: no deadline fallback */
		.deadline_ms = 600000,
	};
	r.seg = calloc(o.no_vad ? 1 : SEGMENTS_MAX, sizeof(*r.seg));
	if (!r.seg)
		goto out;
	if (o.no_vad) {
		if (clip->nsamples >
		    (size_t)STT_UTTERANCE_MAX_MS * (AUDIO_RATE_HZ / 1000)) {
			fprintf(stderr, "transcribe: --no-vad takes at most "
					"30 s of audio\n");
			goto out;
		}
		err = decode_segment(
			&r, clip->samples, clip->nsamples, 0,
			(uint32_t)(clip->nsamples * 1000u / AUDIO_RATE_HZ));
	} else {
		err = segment_and_decode(&r, clip);
	}
	if (err) {
		fprintf(stderr, "transcribe: %s\n", strerror(-err));
		goto out;
	}
	if (totals_make(&r, (uint32_t)(clip->nsamples * 1000u / AUDIO_RATE_HZ),
			&t))
		goto out;
	if (o.json)
		print_json(&r, &t);
	else
		print_text(&r, &t);
	rc = r.failed ? 1 : 0;
out:
	free(t.text);
	free(r.seg);
	stt_destroy(r.stt);
	stt_grammar_deref(g);
	audio_clip_deref(clip);
	return rc;
}

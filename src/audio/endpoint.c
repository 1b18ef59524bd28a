/* The endpointer (see vad.h): frame decisions in, turn events out, on a
 * virtual clock of frames fed. While it waits for speech it keeps a ring of
 * the last pre-roll + min-speech frames, so when a run of speech frames is
 * confirmed the utterance can begin pre-roll before the run's first frame
 * (the onset the detector was still confirming). After a speech end it may
 * hold the utterance open for a continuation window (endpoint_continue()),
 * appending the gap, so speech that resumes in it joins the same turn. */
#include "audio/vad.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "audio/clip.h"

#define FRAME_BYTES (AUDIO_FRAME_SAMPLES * sizeof(int16_t))
/* Bounds of the configuration: the buffer is sized from it. */
#define MAX_SPEECH_MS_MAX 30000u
#define MIN_SPEECH_MS_MAX 2000u
#define PREROLL_MS_MAX 2000u
#define TRAILING_MS_MAX 10000u
#define NO_INPUT_MS_MAX 600000u
#define WINDOW_MS_MAX 10000u
/* Frames of silence a pause clip ends with at least (500 ms): Moonshine
 * drops or garbles the last word of more clips that end 300 ms after the
 * speech than of clips that end 500 ms after it (BENCHMARKS.md "Where the
 * endpointed turns lose words"). */
#define PAUSE_TAIL_N (500u / AUDIO_FRAME_MS)

enum state {
	ST_WAIT,   /* no speech yet: ring, no-input timer */
	ST_SPEECH, /* speech confirmed: buffer grows */
	ST_IDLE,   /* an end event happened: nothing until start */
	ST_GAP,	   /* after a speech end, watching for more speech to join
		      (endpoint_continue()): buffer grows with the gap */
};

struct endpointer {
	struct endpoint_cfg cfg;
	/* the cfg in frames */
	unsigned trailing_n, no_input_n, max_n, min_n, preroll_n;

	enum state state;
	uint32_t nframes; /* fed since start */

	/* Ring of the last ring_n frames while waiting. */
	int16_t *ring;
	unsigned ring_cap, ring_n, ring_head; /* frames */
	unsigned run;			      /* speech frames in a row */

	/* The utterance: pre-roll + speech + trailing frames. */
	int16_t *buf;
	unsigned buf_cap, buf_n; /* frames */

	uint32_t onset;		  /* frame index where speech began */
	uint32_t last_speech;	  /* frame index of the last speech frame */
	unsigned silence;	  /* non-speech frames since it */
	bool started, ended;	  /* for the *_ms getters */
	enum endpoint_event last; /* the end event while idle */

	/* Continuation (endpoint_continue()): the frame count and buffer
	 * length at the end being continued, the window, and the gap of
	 * the last continuation. */
	uint32_t end_n;
	unsigned end_buf_n, window_n, gap_n;
};

void endpoint_cfg_default(struct endpoint_cfg *cfg)
{
	if (!cfg)
		return;
	*cfg = (struct endpoint_cfg){
		.trailing_silence_ms = 300,
		.no_input_ms = 5000,
		.max_speech_ms = 15000,
		.min_speech_ms = 120,
		.preroll_ms = 400,
	};
}

static unsigned frames_of(unsigned ms)
{
	return (ms + AUDIO_FRAME_MS - 1) / AUDIO_FRAME_MS;
}

static int check_cfg(const struct endpoint_cfg *c)
{
	if (c->trailing_silence_ms == 0 ||
	    c->trailing_silence_ms > TRAILING_MS_MAX ||
	    c->no_input_ms > NO_INPUT_MS_MAX || c->max_speech_ms == 0 ||
	    c->max_speech_ms > MAX_SPEECH_MS_MAX ||
	    c->min_speech_ms > MIN_SPEECH_MS_MAX ||
	    c->min_speech_ms > c->max_speech_ms ||
	    c->preroll_ms > PREROLL_MS_MAX)
		return -EINVAL;
	return 0;
}

/* Size the buffers for c (grow only). Leaves e unchanged on failure. */
static int fit(struct endpointer *e, const struct endpoint_cfg *c)
{
	unsigned min_n = frames_of(c->min_speech_ms);
	unsigned ring = frames_of(c->preroll_ms) + (min_n ? min_n : 1);
	unsigned buf = frames_of(c->preroll_ms) + frames_of(c->max_speech_ms);

	if (ring > e->ring_cap) {
		int16_t *r = malloc((size_t)ring * FRAME_BYTES);
		if (!r)
			return -ENOMEM;
		free(e->ring);
		e->ring = r;
		e->ring_cap = ring;
	}
	if (buf > e->buf_cap) {
		/* realloc keeps the utterance for endpoint_retune(). */
		int16_t *b = realloc(e->buf, (size_t)buf * FRAME_BYTES);
		if (!b)
			return -ENOMEM;
		e->buf = b;
		e->buf_cap = buf;
	}
	e->cfg = *c;
	e->trailing_n = frames_of(c->trailing_silence_ms);
	e->no_input_n = frames_of(c->no_input_ms);
	e->max_n = frames_of(c->max_speech_ms);
	e->min_n = min_n ? min_n : 1;
	e->preroll_n = frames_of(c->preroll_ms);
	return 0;
}

int endpoint_create(struct endpointer **ep, const struct endpoint_cfg *cfg)
{
	struct endpoint_cfg def;
	if (!ep)
		return -EINVAL;
	if (!cfg) {
		endpoint_cfg_default(&def);
		cfg = &def;
	}
	int err = check_cfg(cfg);
	if (err)
		return err;
	struct endpointer *e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	err = fit(e, cfg);
	if (err) {
		endpoint_destroy(e);
		return err;
	}
	endpoint_start(e, NULL);
	*ep = e;
	return 0;
}

void endpoint_destroy(struct endpointer *e)
{
	if (!e)
		return;
	free(e->ring);
	free(e->buf);
	free(e);
}

int endpoint_start(struct endpointer *e, const struct endpoint_cfg *cfg)
{
	if (!e)
		return -EINVAL;
	if (cfg) {
		int err = check_cfg(cfg);
		if (!err)
			err = fit(e, cfg);
		if (err)
			return err;
	}
	e->state = ST_WAIT;
	e->nframes = 0;
	e->ring_n = 0;
	e->ring_head = 0;
	e->run = 0;
	e->buf_n = 0;
	e->onset = 0;
	e->last_speech = 0;
	e->silence = 0;
	e->started = false;
	e->ended = false;
	e->last = EP_NONE;
	e->gap_n = 0;
	return 0;
}

int endpoint_retune(struct endpointer *e, const struct endpoint_cfg *cfg)
{
	if (!e || !cfg || e->state == ST_WAIT)
		return -EINVAL;
	int err = check_cfg(cfg);
	return err ? err : fit(e, cfg);
}

int endpoint_continue(struct endpointer *e, unsigned window_ms)
{
	if (!e || e->state != ST_IDLE || e->last != EP_SPEECH_END ||
	    window_ms == 0 || window_ms > WINDOW_MS_MAX)
		return -EINVAL;
	e->state = ST_GAP;
	e->end_n = e->nframes;
	e->end_buf_n = e->buf_n;
	e->window_n = frames_of(window_ms);
	e->run = 0;
	return 0;
}

bool endpoint_continuing(const struct endpointer *e)
{
	return e && e->state == ST_GAP;
}

uint32_t endpoint_gap_ms(const struct endpointer *e)
{
	return e ? e->gap_n * AUDIO_FRAME_MS : 0;
}

static void ring_push(struct endpointer *e, const int16_t *pcm)
{
	unsigned cap = e->preroll_n + e->min_n;
	int16_t *slot = e->ring + (size_t)e->ring_head * AUDIO_FRAME_SAMPLES;
	if (pcm)
		memcpy(slot, pcm, FRAME_BYTES);
	else
		memset(slot, 0, FRAME_BYTES);
	e->ring_head = (e->ring_head + 1) % cap;
	if (e->ring_n < cap)
		e->ring_n++;
}

/* Speech confirmed: the utterance starts with up to preroll_n frames before
 * the onset, then the run of run frames (all still in the ring). */
static void ring_to_buf(struct endpointer *e)
{
	unsigned cap = e->preroll_n + e->min_n;
	unsigned want = e->run + e->preroll_n;
	unsigned n = want < e->ring_n ? want : e->ring_n;
	unsigned first = (e->ring_head + cap - n) % cap;
	for (unsigned i = 0; i < n; i++) {
		unsigned j = (first + i) % cap;
		memcpy(e->buf + (size_t)i * AUDIO_FRAME_SAMPLES,
		       e->ring + (size_t)j * AUDIO_FRAME_SAMPLES, FRAME_BYTES);
	}
	e->buf_n = n;
}

static void buf_push(struct endpointer *e, const int16_t *pcm)
{
	/* Cannot overflow: max_n ends the turn first (fit() sized buf for
	 * preroll + max_speech). The check keeps a logic slip from writing
	 * past the end. */
	if (e->buf_n >= e->buf_cap)
		return;
	int16_t *slot = e->buf + (size_t)e->buf_n * AUDIO_FRAME_SAMPLES;
	if (pcm)
		memcpy(slot, pcm, FRAME_BYTES);
	else
		memset(slot, 0, FRAME_BYTES);
	e->buf_n++;
}

static enum endpoint_event end_turn(struct endpointer *e,
				    enum endpoint_event ev)
{
	e->state = ST_IDLE;
	e->ended = true;
	e->last = ev;
	return ev;
}

/* The gap after a speech end (endpoint_continue()): frames go on into the
 * utterance, and a run of speech confirmed as at a start, whose first frame
 * is within the window, takes the turn back into speech. Past the window,
 * or with no room left before max_speech, the end stands as it was. */
static enum endpoint_event feed_gap(struct endpointer *e, const int16_t *pcm,
				    bool speech, uint32_t idx)
{
	buf_push(e, pcm);
	e->run = speech ? e->run + 1 : 0;
	uint32_t first = idx + 1 - e->run; /* the run's onset, or the next */
	if (first - e->end_n >= e->window_n || idx + 1 - e->onset >= e->max_n) {
		e->state = ST_IDLE;
		e->buf_n = e->end_buf_n;
		e->last = EP_NONE; /* over: no second continuation */
		return EP_NONE;
	}
	if (e->run < e->min_n)
		return EP_NONE;
	e->state = ST_SPEECH;
	e->gap_n = first - e->end_n;
	e->last_speech = idx;
	e->silence = 0;
	e->ended = false;
	e->last = EP_NONE;
	return EP_SPEECH_START;
}

enum endpoint_event endpoint_feed(struct endpointer *e, const int16_t *pcm,
				  float speech_prob)
{
	if (!e || e->state == ST_IDLE)
		return EP_NONE;
	/* A lost frame is silence, whatever the detector said. */
	bool speech = pcm && speech_prob >= 0.5f;
	uint32_t idx = e->nframes++;

	if (e->state == ST_WAIT) {
		ring_push(e, pcm);
		e->run = speech ? e->run + 1 : 0;
		if (e->run >= e->min_n) {
			e->state = ST_SPEECH;
			e->onset = idx + 1 - e->run;
			e->last_speech = idx;
			e->silence = 0;
			e->started = true;
			ring_to_buf(e);
			if (idx + 1 - e->onset >= e->max_n)
				return end_turn(e, EP_MAX_SPEECH);
			return EP_SPEECH_START;
		}
		/* A run in progress holds the timer: a caller who starts
		 * speaking just before it expires is not cut off. */
		if (e->no_input_n && e->run == 0 &&
		    e->nframes >= e->no_input_n) {
			e->state = ST_IDLE;
			e->last = EP_NO_INPUT;
			return EP_NO_INPUT;
		}
		return EP_NONE;
	}
	if (e->state == ST_GAP)
		return feed_gap(e, pcm, speech, idx);

	buf_push(e, pcm);
	if (speech) {
		e->last_speech = idx;
		e->silence = 0;
	} else if (++e->silence >= e->trailing_n) {
		return end_turn(e, EP_SPEECH_END);
	}
	if (idx + 1 - e->onset >= e->max_n)
		return end_turn(e, EP_MAX_SPEECH);
	return EP_NONE;
}

const int16_t *endpoint_audio(const struct endpointer *e, size_t *nsamples)
{
	if (!e || !e->started) {
		if (nsamples)
			*nsamples = 0;
		return NULL;
	}
	if (nsamples)
		*nsamples = (size_t)e->buf_n * AUDIO_FRAME_SAMPLES;
	return e->buf;
}

uint32_t endpoint_elapsed_ms(const struct endpointer *e)
{
	return e ? e->nframes * AUDIO_FRAME_MS : 0;
}

uint32_t endpoint_speech_start_ms(const struct endpointer *e)
{
	return e && e->started ? e->onset * AUDIO_FRAME_MS : 0;
}

uint32_t endpoint_speech_end_ms(const struct endpointer *e)
{
	return e && e->ended ? (e->last_speech + 1) * AUDIO_FRAME_MS : 0;
}

bool endpoint_in_speech(const struct endpointer *e)
{
	return e && e->state == ST_SPEECH;
}

uint32_t endpoint_silence_ms(const struct endpointer *e)
{
	return e && e->state == ST_SPEECH ? e->silence * AUDIO_FRAME_MS : 0;
}

struct audio_clip *endpoint_pause_clip(const struct endpointer *e)
{
	if (!endpoint_silence_ms(e) || e->silence > e->trailing_n ||
	    e->silence > e->buf_n)
		return NULL;
	unsigned end_n =
		e->trailing_n > PAUSE_TAIL_N ? e->trailing_n : PAUSE_TAIL_N;
	size_t n = (size_t)e->buf_n * AUDIO_FRAME_SAMPLES;
	size_t tail = (size_t)e->silence * AUDIO_FRAME_SAMPLES;
	size_t pad = (size_t)(end_n - e->silence) * AUDIO_FRAME_SAMPLES;
	struct audio_clip *clip = audio_clip_alloc(n + pad, AUDIO_RATE_HZ);
	if (!clip)
		return NULL;
	memcpy(clip->samples, e->buf, n * sizeof(int16_t));
	for (size_t k = 0; k < pad; k++)
		clip->samples[n + k] = e->buf[n - tail + k % tail];
	return clip;
}

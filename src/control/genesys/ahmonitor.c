/* AudioHook monitor (see ahmonitor.h). Per session and channel: a VAD and
 * an endpointer fed 20 ms frames re-chunked from the server's audio; each
 * utterance goes to the STT service as its own request; results come back
 * on the media loop in any order and are sent as they arrive. A session
 * that closes cancels its requests before it is freed.
 *
 * Early decode (stt.early_decode, as in calls): when a pause within speech
 * reaches early_ms, the utterance so far (padded to its length at the end,
 * endpoint_pause_clip()) is decoded at once; if the pause becomes the end,
 * that result is the utterance's transcript (sent at once if it is in, else
 * when it comes), and a speech frame before the end cancels it. The
 * monitor's trailing silence is longer than a call's (500 ms), so the
 * decode starts EARLY_LEAD_MS before the end, not at the first 100 ms:
 * fewer decodes voided by the caller going on, the same lag.
 *
 * Partials (cfg.partials): from speech start each utterance is also fed to
 * an STT stream (stt_stream_*, the same audio as the endpointer's clip),
 * only up to its last speech frame: the audio of a pause is held back
 * until speech goes on, so a pause (the trailing silence above all) asks
 * for no partial decode. Each changed partial goes out as a transcript
 * with isFinal false, the utterance's id and offset, and the duration
 * heard so far. Nothing goes out while the session is paused, and a pause
 * cancels the stream.
 *
 * Streaming finals: when the STT chain's first engine streams itself
 * (stt_stream_native(), PocketSphinx first), every utterance is streamed
 * as above, partials or not, and at its end the stream is fed the rest
 * (the trailing silence) and ended with the utterance's clip: its final
 * (ready about when the end is confirmed) is the transcript, with no
 * second decode, and once the stream said a partial (it is live) a pause
 * starts no early decode of the same audio. A stream that could not
 * start, failed, or cannot end leaves the utterance to the decode above.
 * Otherwise (an engine that does not stream) the stream only says
 * partials: at the end it is cancelled and the final is decoded. */
#include "control/genesys/ahmonitor.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audio/clip.h"
#include "audio/vad.h"
#include "control/genesys/ahknow.h"
#include "core/clock.h"
#include "core/log.h"
#include "engines/nlu/classifier.h"
#include "engines/stt/stt.h"
#include "telephony/genesys/audiohook.h"

enum { PENDING_MAX = 8 };
/* The early decode starts this long before the end of the utterance would
 * be confirmed (what a call's 100 ms in 300 ms leaves the decode). */
enum { EARLY_LEAD_MS = 200 };

struct msess;

struct mreq {
	struct msess *ms;
	struct stt_req *req; /* while the decode runs */
	bool used;	     /* slot taken */
	bool early;	     /* a pause's decode, not (yet) the utterance's */
	bool done;	     /* an early decode's result is in: err, res */
	bool adopted;	     /* an early decode answers the utterance */
	/* the utterance's stream (arg of its callbacks): while it goes on
	 * (partials), then, once ended, until its final */
	struct stt_stream *st;
	bool st_ended;
	int err;
	struct stt_result *res; /* that result, held until the end */
	enum ahmsg_channel ch;
	uint64_t offset_ms, duration_ms;
	uint64_t sent_ms; /* monotonic, when the utterance ended */
};

struct mchan {
	struct msess *ms;
	enum ahmsg_channel chn;
	/* the utterance's stream (in st_r, the slot its final answers), the
	 * samples of endpoint_audio() fed to it, where its audio starts (ms
	 * since the turn's start); st_heard: it said a partial (live);
	 * st_off: no stream for the rest of this utterance */
	struct mreq *st_r;
	size_t st_fed;
	bool st_heard;
	uint64_t st_pos_ms;
	bool st_off;
	struct vad *vad;
	struct endpointer *ep;
	int16_t frame[AUDIO_FRAME_SAMPLES];
	size_t nframe;
	uint64_t frame_pos_ms; /* position of frame[0] */
	uint64_t turn_pos_ms;  /* position of the turn's first frame */
	bool turn_started;
	bool paused;	    /* this pause's early decode was tried */
	struct mreq *early; /* the current pause's decode */
};

struct msess {
	struct ahmonitor *m;
	struct ah_session *s;
	struct mchan ch[2];
	struct mreq pending[PENDING_MAX];
};

struct ahmonitor {
	struct ahmonitor_cfg cfg;
	unsigned early_ms; /* pause that starts an early decode; 0: off */
	bool native;	   /* the chain's first engine streams: finals */
	char language[16];
	struct audiohook *ah;
	struct ahmonitor_stats st;
};

static void chan_fini(struct mchan *c)
{
	vad_destroy(c->vad);
	endpoint_destroy(c->ep);
}

static unsigned trailing_ms(const struct ahmonitor_cfg *cfg)
{
	return cfg->trailing_silence_ms ? cfg->trailing_silence_ms : 500;
}

static int chan_init(struct mchan *c, const struct ahmonitor *m)
{
	struct endpoint_cfg ec;
	endpoint_cfg_default(&ec);
	ec.no_input_ms = 0;
	ec.trailing_silence_ms = trailing_ms(&m->cfg);
	ec.max_speech_ms = 15000;
	int err = vad_create(&c->vad, NULL);
	if (!err)
		err = endpoint_create(&c->ep, &ec);
	return err;
}

static struct mreq *slot_get(struct msess *ms)
{
	for (int i = 0; i < PENDING_MAX; i++)
		if (!ms->pending[i].used) {
			ms->pending[i].used = true;
			return &ms->pending[i];
		}
	return NULL;
}

/* Cancel what runs, drop what is held, free the slot. */
static void slot_free(struct mreq *r)
{
	struct msess *ms = r->ms;
	if (r->req)
		stt_cancel(r->req);
	stt_stream_cancel(r->st);
	free(r->res);
	*r = (struct mreq){ .ms = ms };
}

/* The utterance is over (or dropped): no more partials for it; its
 * stream, unless ended (then its slot waits for the final), is cancelled. */
static void stream_stop(struct mchan *c)
{
	if (c->st_r && !c->st_r->st_ended)
		slot_free(c->st_r);
	c->st_r = NULL;
	c->st_fed = 0;
	c->st_heard = false;
	c->st_off = false;
}

static void msess_free(struct msess *ms)
{
	stream_stop(&ms->ch[0]);
	stream_stop(&ms->ch[1]);
	for (int i = 0; i < PENDING_MAX; i++)
		slot_free(&ms->pending[i]);
	chan_fini(&ms->ch[0]);
	chan_fini(&ms->ch[1]);
	free(ms);
}

/* ---------- results ---------- */

static void send_assist(struct msess *ms, const struct mreq *r,
			const char *text)
{
	struct ahmonitor *m = ms->m;
	struct ahmsg_assist a = {
		.text = text,
		.channel = r->ch,
		.offset_ms = r->offset_ms,
		.duration_ms = r->duration_ms,
	};
	struct nlu_result *nr = calloc(1, sizeof(*nr));
	if (!nr)
		return;
	if (m->cfg.model && !nlu_classify(m->cfg.model, text, nr) && nr->n &&
	    !nr->out_of_scope &&
	    nr->top[0].confidence >= m->cfg.min_confidence) {
		a.intent = nr->top[0].intent;
		a.confidence = nr->top[0].confidence;
		a.suggestions =
			ahknow_find(m->cfg.know, a.intent, &a.nsuggestions);
	}
	int err = audiohook_session_send_assist(ms->s, &a);
	if (!err)
		m->st.assists++;
	LOGI(audiohook_session_id(ms->s), "audiohook_assist",
	     "intent=%s confidence=%.2f suggestions=%zu err=%d",
	     a.intent ? a.intent : "-", (double)a.confidence, a.nsuggestions,
	     err);
	free(nr);
}

/* The utterance's transcript (and agent assist): send it, free the slot. */
static void deliver(struct mreq *r, int err, const struct stt_result *res)
{
	struct msess *ms = r->ms;
	struct ahmonitor *m = ms->m;
	if (err) {
		m->st.stt_errors++;
		LOGW(audiohook_session_id(ms->s), "audiohook_stt_failed",
		     "channel=%s err=%d", ahmsg_channel_name(r->ch), err);
		slot_free(r);
		return;
	}
	if (!res->text[0]) {
		m->st.empty++;
		slot_free(r);
		return;
	}
	struct ahmsg_transcript t = {
		.channel = r->ch,
		.text = res->text,
		.confidence = res->confidence,
		.offset_ms = r->offset_ms,
		.duration_ms = r->duration_ms,
		.is_final = true,
		.language = m->language,
	};
	int e = audiohook_session_send_transcript(ms->s, &t);
	uint64_t lag = clock_mono_ms() - r->sent_ms;
	if (!e) {
		m->st.transcripts++;
		m->st.lag_ms_sum += lag;
		if (lag > m->st.lag_ms_max)
			m->st.lag_ms_max = lag;
	}
	LOGI(audiohook_session_id(ms->s), "audiohook_transcript",
	     "channel=%s offset_ms=%" PRIu64 " duration_ms=%" PRIu64
	     " confidence=%.2f lag_ms=%" PRIu64 " early=%d engine=%s err=%d",
	     ahmsg_channel_name(r->ch), r->offset_ms, r->duration_ms,
	     (double)res->confidence, lag, r->adopted,
	     res->engine ? res->engine : "", e);
	if (!e && r->ch == AHMSG_CH_EXTERNAL)
		send_assist(ms, r, res->text);
	slot_free(r);
}

static void on_stt_done(int err, const struct stt_result *res, void *arg)
{
	struct mreq *r = arg;
	r->req = NULL;
	if (!r->early) {
		deliver(r, err, res);
		return;
	}
	/* A pause's decode: held until the pause ends the utterance. */
	r->done = true;
	r->err = err;
	if (!err) {
		r->res = malloc(sizeof(*r->res));
		if (r->res)
			*r->res = *res;
		else
			r->err = -ENOMEM;
	}
}

/* The current pause's decode is void: speech came after it, or the
 * utterance ended some other way. */
static void early_drop(struct msess *ms, struct mchan *c)
{
	if (!c->early)
		return;
	slot_free(c->early);
	c->early = NULL;
	ms->m->st.early_discarded++;
	stt_early_note(ms->m->cfg.stt, STT_EARLY_DISCARDED);
}

/* ---------- audio ---------- */

static void place(struct mreq *r, const struct mchan *c, enum ahmsg_channel chn)
{
	uint32_t start = endpoint_speech_start_ms(c->ep);
	uint32_t end = endpoint_speech_end_ms(c->ep);
	r->ch = chn;
	r->offset_ms = c->turn_pos_ms + start;
	r->duration_ms = end >= start ? end - start + AUDIO_FRAME_MS : 0;
	r->sent_ms = clock_mono_ms();
}

static int recognize(struct msess *ms, struct mreq *r, struct audio_clip *clip)
{
	struct ahmonitor *m = ms->m;
	struct stt_params p = {
		.mode = STT_MODE_OPEN,
		.call_id = audiohook_session_id(ms->s),
	};
	int err = stt_recognize(m->cfg.stt, clip, &p, m->cfg.loop, on_stt_done,
				r, &r->req);
	audio_clip_deref(clip);
	if (err)
		r->req = NULL;
	return err;
}

/* The end of speech confirmed the current pause: its decode answers the
 * utterance. False when there is none, or it failed (decode again). */
static bool early_adopt(struct msess *ms, enum ahmsg_channel chn)
{
	struct mchan *c = &ms->ch[chn];
	struct mreq *r = c->early;
	if (!r || (r->done && r->err)) {
		early_drop(ms, c);
		return false;
	}
	c->early = NULL;
	ms->m->st.early_used++;
	stt_early_note(ms->m->cfg.stt, STT_EARLY_USED);
	place(r, c, chn);
	r->early = false;
	r->adopted = true;
	if (r->done)
		deliver(r, 0, r->res);
	return true;
}

/* The end: the stream of an engine that streams is fed the rest and ended
 * with the utterance's clip; its final answers (stream_done). False when
 * there is none or it cannot end (the clip is then decoded). */
static bool stream_finish(struct msess *ms, struct mchan *c,
			  enum ahmsg_channel chn, struct audio_clip *clip)
{
	struct mreq *r = c->st_r;
	if (!ms->m->native || !r)
		return false;
	int err = 0;
	if (clip->nsamples > c->st_fed)
		err = stt_stream_feed(r->st, clip->samples + c->st_fed,
				      clip->nsamples - c->st_fed);
	/* the slot is the final's before the end (whenever it comes) */
	place(r, c, chn);
	r->st_ended = true;
	c->st_r = NULL;
	if (!err || err == -E2BIG)
		err = stt_stream_end(r->st, clip);
	if (err) {
		LOGW(audiohook_session_id(ms->s), "audiohook_stt_stream_failed",
		     "channel=%s stage=end err=%d", ahmsg_channel_name(chn),
		     err);
		r->st_ended = false;
		c->st_r = r; /* stream_stop() cancels it */
		return false;
	}
	return true;
}

static void utterance(struct msess *ms, enum ahmsg_channel chn, bool end)
{
	struct ahmonitor *m = ms->m;
	struct mchan *c = &ms->ch[chn];
	m->st.utterances++;
	if (end && early_adopt(ms, chn))
		return;
	early_drop(ms, c);
	size_t n = 0;
	const int16_t *pcm = endpoint_audio(c->ep, &n);
	struct audio_clip *clip =
		m->cfg.stt && n ? audio_clip_alloc(n, AUDIO_RATE_HZ) : NULL;
	if (clip)
		memcpy(clip->samples, pcm, n * sizeof(*pcm));
	if (clip && stream_finish(ms, c, chn, clip)) {
		audio_clip_deref(clip);
		return;
	}
	struct mreq *r = clip ? slot_get(ms) : NULL;
	if (!r) {
		audio_clip_deref(clip);
		m->st.dropped++;
		return;
	}
	place(r, c, chn);
	int err = recognize(ms, r, clip);
	if (err) {
		slot_free(r);
		m->st.dropped++;
		LOGW(audiohook_session_id(ms->s), "audiohook_stt_refused",
		     "err=%d", err);
	}
}

/* ---------- partials ---------- */

static void on_partial(const char *text, uint32_t audio_ms, void *arg)
{
	struct mreq *r = arg;
	struct msess *ms = r->ms;
	struct ahmonitor *m = ms->m;
	struct mchan *c = &ms->ch[r->ch];
	if (r->st_ended || c->st_r != r)
		return; /* the utterance is over */
	c->st_heard = true;
	if (!text[0] || !m->cfg.partials)
		return;
	/* a server pause asked but not yet confirmed: nothing goes out */
	if (audiohook_session_paused(ms->s)) {
		m->st.partials_paused++;
		return;
	}
	uint64_t start = endpoint_speech_start_ms(c->ep);
	uint64_t end = c->st_pos_ms + audio_ms;
	struct ahmsg_transcript t = {
		.channel = c->chn,
		.text = text,
		.offset_ms = c->turn_pos_ms + start,
		.duration_ms = end > start ? end - start : 0,
		.is_final = false,
		.language = m->language,
	};
	int err = audiohook_session_send_transcript(ms->s, &t);
	if (!err)
		m->st.partials++;
	LOGD(audiohook_session_id(ms->s), "audiohook_partial",
	     "channel=%s offset_ms=%" PRIu64 " audio_ms=%u err=%d",
	     ahmsg_channel_name(c->chn), t.offset_ms, audio_ms, err);
}

/* The final of an ended stream (stream_finish()). */
static void on_stream_done(int err, const struct stt_result *res, void *arg)
{
	struct mreq *r = arg;
	r->st = NULL; /* the service's, done */
	deliver(r, err, res);
}

/* In speech: feed the stream what the endpointer holds up to this speech
 * frame (a pause's frames wait for the next speech frame). */
static void partial_feed(struct msess *ms, struct mchan *c)
{
	struct ahmonitor *m = ms->m;
	if (!(m->cfg.partials || m->native) || !m->cfg.stt || c->st_off ||
	    !endpoint_in_speech(c->ep) || endpoint_silence_ms(c->ep))
		return;
	size_t n = 0;
	const int16_t *pcm = endpoint_audio(c->ep, &n);
	if (!c->st_r) {
		struct stt_params p = {
			.mode = STT_MODE_OPEN,
			.call_id = audiohook_session_id(ms->s),
		};
		struct mreq *r = slot_get(ms);
		if (!r ||
		    stt_stream_start(m->cfg.stt, &p, m->cfg.loop, on_partial,
				     on_stream_done, r, &r->st)) {
			if (r) {
				r->st = NULL;
				slot_free(r);
			}
			c->st_off = true;
			return;
		}
		r->ch = c->chn;
		c->st_r = r;
		c->st_fed = 0;
		c->st_heard = false;
		c->st_pos_ms = endpoint_elapsed_ms(c->ep) - n / 8;
	}
	if (n <= c->st_fed)
		return;
	if (stt_stream_feed(c->st_r->st, pcm + c->st_fed, n - c->st_fed)) {
		stream_stop(c);
		c->st_off = true;
		return;
	}
	c->st_fed = n;
}

/* A pause within speech: start its early decode once it is long enough;
 * a speech frame voids it. */
static void early_check(struct msess *ms, enum ahmsg_channel chn)
{
	struct ahmonitor *m = ms->m;
	struct mchan *c = &ms->ch[chn];
	if (!m->early_ms || !endpoint_in_speech(c->ep))
		return;
	uint32_t quiet = endpoint_silence_ms(c->ep);
	if (quiet == 0) {
		early_drop(ms, c);
		c->paused = false;
		return;
	}
	if (c->paused || quiet < m->early_ms)
		return;
	c->paused = true;
	/* a live stream of an engine that streams has the final at the end:
	 * an early decode would decode the same audio again */
	if (m->native && c->st_r && c->st_heard)
		return;
	struct mreq *r = stt_early_allowed(m->cfg.stt) ? slot_get(ms) : NULL;
	struct audio_clip *clip = r ? endpoint_pause_clip(c->ep) : NULL;
	int err = -EBUSY;
	if (clip) {
		r->early = true;
		err = recognize(ms, r, clip);
	}
	if (err) {
		if (r)
			slot_free(r);
		m->st.early_skipped++;
		stt_early_note(m->cfg.stt, STT_EARLY_SKIPPED);
		return;
	}
	r->ch = chn;
	c->early = r;
}

static void feed_frame(struct msess *ms, enum ahmsg_channel chn)
{
	struct mchan *c = &ms->ch[chn];
	if (!c->turn_started) {
		c->turn_started = true;
		c->turn_pos_ms = c->frame_pos_ms;
	}
	float prob = vad_process(c->vad, c->frame);
	enum endpoint_event ev = endpoint_feed(c->ep, c->frame, prob);
	if (ev == EP_SPEECH_END || ev == EP_MAX_SPEECH)
		utterance(ms, chn, ev == EP_SPEECH_END);
	if (ev == EP_SPEECH_END || ev == EP_MAX_SPEECH || ev == EP_NO_INPUT) {
		early_drop(ms, c);
		stream_stop(c);
		c->paused = false;
		(void)endpoint_start(c->ep, NULL);
		c->turn_started = false;
	} else {
		partial_feed(ms, c);
		early_check(ms, chn);
	}
}

static void feed(struct msess *ms, enum ahmsg_channel chn, const int16_t *pcm,
		 size_t n, uint64_t pos_ms)
{
	struct mchan *c = &ms->ch[chn];
	for (size_t i = 0; i < n; i++) {
		if (c->nframe == 0)
			c->frame_pos_ms = pos_ms + i / 8;
		c->frame[c->nframe++] = pcm[i];
		if (c->nframe == AUDIO_FRAME_SAMPLES) {
			feed_frame(ms, chn);
			c->nframe = 0;
		}
	}
	ms->m->st.audio_ms += n / 8;
}

/* Forget the utterance in progress (pause, discarded audio). */
static void restart(struct msess *ms)
{
	for (int i = 0; i < 2; i++) {
		struct mchan *c = &ms->ch[i];
		if (endpoint_in_speech(c->ep))
			ms->m->st.dropped_by_pause++;
		early_drop(ms, c);
		stream_stop(c);
		c->paused = false;
		c->nframe = 0;
		c->turn_started = false;
		(void)endpoint_start(c->ep, NULL);
	}
}

/* ---------- hooks ---------- */

static int h_open(struct ah_session *s, const struct ahmsg *open,
		  bool *start_paused, void *arg)
{
	struct ahmonitor *m = arg;
	(void)open;
	(void)start_paused;
	struct msess *ms = calloc(1, sizeof(*ms));
	if (!ms)
		return -ENOMEM;
	ms->m = m;
	ms->s = s;
	for (int i = 0; i < PENDING_MAX; i++)
		ms->pending[i].ms = ms;
	for (int i = 0; i < 2; i++) {
		ms->ch[i].ms = ms;
		ms->ch[i].chn = (enum ahmsg_channel)i;
	}
	int err = chan_init(&ms->ch[0], m);
	if (!err)
		err = chan_init(&ms->ch[1], m);
	if (err) {
		msess_free(ms);
		return err;
	}
	audiohook_session_set_data(s, ms);
	m->st.sessions++;
	return 0;
}

static void h_audio(struct ah_session *s, const int16_t *ext, const int16_t *in,
		    size_t n, uint64_t position_ms, void *arg)
{
	(void)arg;
	struct msess *ms = audiohook_session_data(s);
	if (!ms)
		return;
	if (ext)
		feed(ms, AHMSG_CH_EXTERNAL, ext, n, position_ms);
	if (in)
		feed(ms, AHMSG_CH_INTERNAL, in, n, position_ms);
}

static void h_message(struct ah_session *s, const struct ahmsg *msg, void *arg)
{
	(void)arg;
	struct msess *ms = audiohook_session_data(s);
	if (!ms)
		return;
	if (msg->type == AHMSG_PAUSED || msg->type == AHMSG_DISCARDED)
		restart(ms);
}

static void h_close(struct ah_session *s, const char *reason, void *arg)
{
	(void)arg;
	(void)reason;
	struct msess *ms = audiohook_session_data(s);
	audiohook_session_set_data(s, NULL);
	if (ms)
		msess_free(ms);
}

int ahmonitor_create(struct ahmonitor **mp, struct audiohook *ah,
		     const struct ahmonitor_cfg *cfg)
{
	if (!mp || !ah || !cfg || (cfg->stt && !cfg->loop))
		return -EINVAL;
	struct ahmonitor *m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->cfg = *cfg;
	snprintf(m->language, sizeof(m->language), "%s",
		 cfg->language && cfg->language[0] ? cfg->language : "en-US");
	m->cfg.language = m->language;
	if (m->cfg.min_confidence <= 0)
		m->cfg.min_confidence = 0.5f;
	unsigned early = stt_early_ms(cfg->stt), trail = trailing_ms(cfg);
	if (early && early < trail)
		m->early_ms = trail - early > EARLY_LEAD_MS
				      ? trail - EARLY_LEAD_MS
				      : early;
	struct stt_params p = { .mode = STT_MODE_OPEN };
	m->native = cfg->stt && stt_stream_native(cfg->stt, &p);
	m->ah = ah;
	static const struct audiohook_hooks hooks = {
		.on_open = h_open,
		.on_audio = h_audio,
		.on_message = h_message,
		.on_close = h_close,
	};
	audiohook_set_hooks(ah, AUDIOHOOK_MONITOR, &hooks, m);
	*mp = m;
	return 0;
}

void ahmonitor_destroy(struct ahmonitor *m)
{
	if (!m)
		return;
	free(m);
}

void ahmonitor_get_stats(const struct ahmonitor *m, struct ahmonitor_stats *st)
{
	if (m && st)
		*st = m->st;
}

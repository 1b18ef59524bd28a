/* Voice activity detection on 20 ms 8 kHz frames, and the endpointer that
 * turns frame decisions into turn events (speech start, speech end after a
 * trailing silence, no-input, max length), with a pre-roll so the utterance
 * handed to STT includes its first syllable.
 *
 * Both are pure: no clock, no threads, no allocation after create. Time is the
 * frame count (each frame is AUDIO_FRAME_MS), so tests run on a virtual clock.
 * Single owner; one per call. */
#ifndef VG_AUDIO_VAD_H
#define VG_AUDIO_VAD_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- frame classifier ---- */

struct vad;

struct vad_cfg {
	/* 0..3: how readily a frame counts as speech (0 most permissive,
	 * 3 most aggressive at rejecting noise). Default 1. */
	unsigned aggressiveness;
};

/* Create a detector; cfg may be NULL (defaults). Returns 0, -EINVAL, -ENOMEM.
 */
int vad_create(struct vad **vp, const struct vad_cfg *cfg);
void vad_destroy(struct vad *v); /* NULL is a no-op */
/* Forget the noise estimate and history. */
void vad_reset(struct vad *v);

/* Classify one frame of AUDIO_FRAME_SAMPLES samples; pcm NULL is a lost
 * frame (counts as not speech). Returns a speech likelihood 0..1; the frame
 * is speech when it is >= 0.5. Tones (DTMF, dial/busy tones, a sustained
 * single note) and stationary noise score low. */
float vad_process(struct vad *v, const int16_t *pcm);

/* ---- endpointer ---- */

struct endpoint_cfg {
	unsigned trailing_silence_ms; /* speech end after this much silence
					 (default 300) */
	unsigned no_input_ms;	      /* no speech start within this: NO_INPUT
					 (0: never) */
	unsigned max_speech_ms;	      /* utterance cut here: MAX_SPEECH (default
					 15000, at most 30000) */
	unsigned min_speech_ms;	      /* shorter bursts (clicks, coughs) are not
					 speech (default 120) */
	unsigned preroll_ms;	      /* audio kept before the start (default
					 400) */
};

/* Fill cfg with the defaults above (no_input_ms 5000). */
void endpoint_cfg_default(struct endpoint_cfg *cfg);

enum endpoint_event {
	EP_NONE = 0,
	EP_SPEECH_START, /* speech confirmed (min_speech_ms of it): barge-in */
	EP_SPEECH_END,	 /* trailing silence after speech: utterance ready */
	EP_NO_INPUT,	 /* no_input_ms without speech start */
	EP_MAX_SPEECH,	 /* max_speech_ms reached: utterance ready (cut) */
};

struct endpointer;

/* Create an endpointer (copies cfg; NULL: defaults). It owns a buffer of
 * preroll + max_speech audio (about 500 KB at 30 s). The first turn starts
 * here, as if endpoint_start() had been called. 0, -EINVAL, -ENOMEM. */
int endpoint_create(struct endpointer **ep, const struct endpoint_cfg *cfg);
void endpoint_destroy(struct endpointer *e); /* NULL is a no-op */
/* Start a new turn with cfg (NULL: keep the current one): clears the buffer
 * and the timers. The no-input timer starts now. A cfg needing a larger
 * buffer allocates here; on -EINVAL or -ENOMEM the old cfg stays. */
int endpoint_start(struct endpointer *e, const struct endpoint_cfg *cfg);

/* Feed one frame (pcm NULL: lost frame, silence) with its VAD likelihood.
 * Returns the event this frame caused, at most one. After EP_SPEECH_END,
 * EP_MAX_SPEECH or EP_NO_INPUT the endpointer is idle (returns EP_NONE)
 * until endpoint_start() or endpoint_continue(). */
enum endpoint_event endpoint_feed(struct endpointer *e, const int16_t *pcm,
				  float speech_prob);

/* Continuation: right after EP_SPEECH_END, keep the ended utterance open
 * for window_ms (1..10000). The frames fed go on into its audio (the gap);
 * a run of speech confirmed as for a start (min_speech_ms), whose first
 * frame comes less than window_ms after the end, returns EP_SPEECH_START
 * and the turn goes on in speech with the utterance, the gap and the new
 * speech joined: the same trailing-silence rule ends it, max_speech_ms
 * still counts from the first start, endpoint_speech_start_ms() stays the
 * first onset. When the window passes (or max_speech_ms is reached in it)
 * the endpointer is idle again, with the audio as it was at the end.
 * Returns 0, or -EINVAL when the last event was not EP_SPEECH_END or
 * window_ms is out of range. */
int endpoint_continue(struct endpointer *e, unsigned window_ms);
/* True while a continuation window is open (no speech resumed yet). */
bool endpoint_continuing(const struct endpointer *e);
/* The last continuation's gap: from the end to the resumed speech's onset
 * (first frame of its run), in ms; 0 when none resumed since start. */
uint32_t endpoint_gap_ms(const struct endpointer *e);
/* Apply cfg to the turn in progress (a continued utterance takes its new
 * listen's rules), keeping its state, timers and audio; a cfg needing a
 * larger buffer grows it, keeping the audio. Not while waiting for speech
 * (the pre-roll ring is sized by cfg): use endpoint_start(). 0, -EINVAL
 * (bad cfg or waiting), -ENOMEM; on error the old cfg stays. */
int endpoint_retune(struct endpointer *e, const struct endpoint_cfg *cfg);

/* The utterance so far: pre-roll + speech + the trailing silence up to the
 * end event (borrowed; valid until the next feed/start). */
const int16_t *endpoint_audio(const struct endpointer *e, size_t *nsamples);
/* Milliseconds since endpoint_start(), in frames fed. */
uint32_t endpoint_elapsed_ms(const struct endpointer *e);
/* When (ms since start) speech started / ended (last speech frame); 0 until
 * known. */
uint32_t endpoint_speech_start_ms(const struct endpointer *e);
uint32_t endpoint_speech_end_ms(const struct endpointer *e);
bool endpoint_in_speech(const struct endpointer *e);
/* While in speech: milliseconds of non-speech since the last speech frame
 * (0 on a speech frame, and outside speech). The call's early decode starts
 * when it reaches its threshold. */
uint32_t endpoint_silence_ms(const struct endpointer *e);
/* While in a pause within speech (endpoint_silence_ms() > 0): the
 * utterance so far in a new clip (8 kHz, caller's reference), padded with
 * the pause's own audio repeated to the length it will have if this pause
 * becomes its end, and at least until 500 ms after the last speech frame.
 * That is the early decode's audio; Moonshine transcribes a clip that
 * stops 100 ms after the speech worse than one with the whole trailing
 * silence (+1.2 WER points on the STT set, BENCHMARKS.md "Early decode"),
 * and one that stops 300 ms after it worse than one padded to 500 ms (0.8
 * points with the step's LM, 0.9 without: "Where the endpointed turns lose
 * words"). NULL outside a pause or out of memory. */
struct audio_clip *endpoint_pause_clip(const struct endpointer *e);
#endif

/* The AudioHook monitor: "AI assists human agents" on Genesys. Plugged into
 * the AudioHook server (AUDIOHOOK_MONITOR hooks): both channels of each
 * conversation are endpointed (VAD) and transcribed (STT service, on the
 * worker pool; the decode starts in the speaker's last pause when
 * stt.early_decode is on, as in calls); every final utterance goes back as an
 * `event` with a `transcript` entity, and every customer (external) utterance
 * is classified (voxgate NLU) and pushed as an `agentassist` entity with the
 * intent and the suggestions of the knowledge file for it. Nothing is
 * kept for paused spans (PCI secure pause): a pause drops the utterance in
 * progress and no audio arrives until resumed. With cfg.partials, each
 * utterance is also streamed to the STT service while it goes on and its
 * changed partial hypotheses go out as transcripts with isFinal false
 * (none while paused). When the chain's first engine streams itself
 * (stt_stream_native()), every utterance is streamed and its stream's
 * final is the transcript (no second decode). docs/GENESYS.md, SPEECH.md
 * "Streaming in calls".
 *
 * Thread: the media loop (the server's); STT results come back to it. */
#ifndef VG_CONTROL_GENESYS_AHMONITOR_H
#define VG_CONTROL_GENESYS_AHMONITOR_H
#include <stdbool.h>
#include <stdint.h>

struct ahknow;
struct ahmonitor;
struct audiohook;
struct nlu_model;
struct stt;
struct vg_loop;

struct ahmonitor_cfg {
	struct stt *stt;	       /* borrowed; NULL: no transcripts */
	struct vg_loop *loop;	       /* the media loop (STT results) */
	const struct nlu_model *model; /* borrowed; NULL: no intent */
	const struct ahknow *know;     /* borrowed; NULL: no suggestions */
	float min_confidence;	       /* intent reported from; 0.5 */
	const char *language;	       /* "en-US"; copied */
	unsigned trailing_silence_ms;  /* utterance end; 0: 500 */
	/* live transcripts: while an utterance goes on, its changed partial
	 * hypotheses (STT streams) are sent with isFinal false */
	bool partials;
};

struct ahmonitor_stats {
	uint64_t sessions, utterances, transcripts, empty, assists;
	uint64_t stt_errors, dropped, dropped_by_pause;
	/* early decodes (stt.early_decode): answered the utterance, voided
	 * by more speech or its end, not started (busy pool, no slot) */
	uint64_t early_used, early_discarded, early_skipped;
	uint64_t lag_ms_sum, lag_ms_max; /* speech end to transcript sent */
	uint64_t audio_ms;		 /* per channel, both channels summed */
	/* isFinal:false transcripts sent; withheld while paused */
	uint64_t partials, partials_paused;
};

/* Register on ah (audiohook_set_hooks AUDIOHOOK_MONITOR). cfg's pointers
 * must outlive the monitor. 0, -EINVAL, -ENOMEM. */
int ahmonitor_create(struct ahmonitor **mp, struct audiohook *ah,
		     const struct ahmonitor_cfg *cfg);
/* Free. Call after audiohook_destroy() (which closes every session
 * through the hooks). NULL is a no-op. */
void ahmonitor_destroy(struct ahmonitor *m);
void ahmonitor_get_stats(const struct ahmonitor *m, struct ahmonitor_stats *st);
#endif

/* Voice activity on the audio the simulated caller hears: an energy
 * detector over 20 ms frames, used to time the bot's replies, barge-in
 * stops and the end of the caller's own speech. Pure, caller storage. */
#ifndef VG_SIM_DETECT_H
#define VG_SIM_DETECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIM_DETECT_THRESH_DB (-40.0) /* dBFS of a voiced frame */
#define SIM_DETECT_OFF_FRAMES 15     /* 300 ms of quiet ends a talkspurt */

enum sim_edge {
	SIM_EDGE_NONE,
	SIM_EDGE_ON,  /* this frame is the first voiced one of a talkspurt */
	SIM_EDGE_OFF, /* off_frames quiet frames: the talkspurt ended
		       * off_frames frames ago (at the first quiet one) */
};

struct sim_detect {
	double thresh_db;
	unsigned off_frames;
	bool voiced;	     /* inside a talkspurt */
	unsigned quiet_run;  /* quiet frames in a row */
	uint64_t frames;     /* frames fed */
	uint64_t last_voice; /* index of the last voiced frame, +1; 0 none */
};

/* Level of n samples in dBFS (full scale 32768); -120 for silence. */
double sim_level_dbfs(const int16_t *s, size_t n);

/* thresh_db 0 and off_frames 0 take the defaults above. */
void sim_detect_init(struct sim_detect *d, double thresh_db,
		     unsigned off_frames);

/* Feed one frame (any length, normally 160 samples). */
enum sim_edge sim_detect_feed(struct sim_detect *d, const int16_t *s, size_t n);

/* The index of the frame after the last voiced frame of clip samples
 * s[0..n) cut in frames of frame_len: where the speech ends; 0 if the
 * clip is silent. */
size_t sim_speech_end_frame(const int16_t *s, size_t n, size_t frame_len,
			    double thresh_db);

/* Turn latency percentiles: p-th percentile (0..100) of v[0..n) by the
 * nearest-rank method; sorts v in place. 0 when n is 0. */
double sim_percentile(double *v, size_t n, double p);

#endif

/* The playout queue of a stream transport (Twilio Media Streams, Genesys
 * Audio Connector, AudioSocket): the platform side of those protocols
 * receives the bot's audio as fast as the server sends it and must play it
 * out in real time, 20 ms per tick, for the detector to time what the
 * caller hears. Marks (Twilio `mark`) are named positions in the queue:
 * due when playout reaches them, or at once when the queue is cleared
 * (Twilio echoes the marks of the audio a `clear` dropped).
 *
 * Bounded: at most max_samples queued; what does not fit is dropped and
 * counted. Single owner, no locking (the simulator's loop). */
#ifndef VG_SIM_PLAYQ_H
#define VG_SIM_PLAYQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIM_PLAYQ_FRAME 160   /* samples per 20 ms at 8 kHz */
#define SIM_PLAYQ_MARKS 32    /* marks pending at once */
#define SIM_PLAYQ_MARK_LEN 64 /* mark name, bytes with the NUL */

struct sim_playq {
	int16_t *buf; /* ring of cap samples (owned) */
	size_t cap;
	uint64_t head, tail; /* samples popped / pushed since init */
	struct {
		char name[SIM_PLAYQ_MARK_LEN];
		uint64_t at; /* sample position: due when head >= at */
	} marks[SIM_PLAYQ_MARKS];
	size_t mhead, mcount; /* ring of marks, in position order */
	uint64_t dropped;     /* samples refused: queue full */
	uint64_t marks_dropped;
	uint64_t underruns; /* pops with nothing queued while playing */
	uint64_t clears;
	bool idle; /* the last tick played nothing: the line is quiet */
	bool skip; /* a frame was played on arrival: skip the next tick */
};

/* max_samples: the queue's capacity (e.g. 10 s = 80000). Returns 0,
 * -EINVAL (0), -ENOMEM. */
int sim_playq_init(struct sim_playq *q, size_t max_samples);
/* Free the ring; q is zeroed. Safe on a zeroed q. */
void sim_playq_fini(struct sim_playq *q);

/* Append n samples. Those that do not fit are dropped (counted). Returns
 * the number queued. */
size_t sim_playq_push(struct sim_playq *q, const int16_t *pcm, size_t n);
/* Append a mark at the current end of the queue. name is truncated to
 * SIM_PLAYQ_MARK_LEN - 1. Returns 0 or -ENOSPC (too many pending). */
int sim_playq_mark(struct sim_playq *q, const char *name);
/* Drop every queued sample; pending marks become due at once. */
void sim_playq_clear(struct sim_playq *q);

/* Play one 20 ms frame into out[SIM_PLAYQ_FRAME]: the queued samples,
 * padded with silence. Returns the number of queued samples played (0:
 * the line is silent). */
size_t sim_playq_pop(struct sim_playq *q, int16_t out[SIM_PLAYQ_FRAME]);
/* Take the first mark that is due into name[SIM_PLAYQ_MARK_LEN]. Returns
 * true when one was taken; call until false. */
bool sim_playq_mark_due(struct sim_playq *q, char name[SIM_PLAYQ_MARK_LEN]);
/* Real-time playout on a 20 ms tick (the caller's shared clock). A
 * platform plays audio that reaches a quiet line at once, not at the next
 * tick: after a push, sim_playq_arrive() plays the first frame into out
 * when the line was quiet (returns its sample count, 0 when nothing was
 * played) and the next sim_playq_tick() is skipped, so one frame is heard
 * per tick on average and the onset of a reply is timed on arrival.
 * sim_playq_tick() returns false on a skipped tick (hear nothing), else
 * true with out holding the frame to hear (silence when *n is 0). */
size_t sim_playq_arrive(struct sim_playq *q, int16_t out[SIM_PLAYQ_FRAME]);
bool sim_playq_tick(struct sim_playq *q, int16_t out[SIM_PLAYQ_FRAME],
		    size_t *n);
/* Samples waiting to be played. */
size_t sim_playq_len(const struct sim_playq *q);

#endif

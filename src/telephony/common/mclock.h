/* The media clock of a media adapter: an absolute, periodic
 * CLOCK_MONOTONIC timerfd on the calling thread's libre loop driving a pacer
 * (audio/rtpout.h). No drift, no millisecond rounding (libre's timers fire
 * up to 1 ms early on wall-clock jiffies), and no walk of libre's timer
 * list on every re-arm. Each expiry runs tick() once per due tick with that
 * tick's deadline on the fixed grid; after a stall at most max_burst ticks
 * run and the older ones are skipped (counted in pacer.skipped). Then
 * batch(), if set, learns when the run started and the first deadline (for
 * lateness and CPU metrics).
 *
 * Thread: start, stop and both callbacks on the loop that started it. The
 * struct is embedded in its owner; stop before freeing it. */
#ifndef VG_TELEPHONY_COMMON_MCLOCK_H
#define VG_TELEPHONY_COMMON_MCLOCK_H
#include <stdint.h>

#include "audio/rtpout.h"

typedef void(mclock_tick_fn)(uint64_t deadline_us, void *arg);
/* due >= 1 ticks ran; start_us when the run began (clock_mono_us), the
 * first tick's deadline. */
typedef void(mclock_batch_fn)(unsigned due, uint64_t start_us,
			      uint64_t first_deadline_us, void *arg);

struct mclock {
	int fd; /* the timerfd; -1 when stopped */
	struct pacer pacer;
	mclock_tick_fn *tick;
	mclock_batch_fn *batch;
	void *arg;
};

/* fd = -1: stop (and a second init) is then harmless. */
void mclock_init(struct mclock *mc);
/* The first tick is due one period from now. max_burst 0: the pacer's
 * default. batch may be NULL. Returns 0 or -errno (the timerfd, or the
 * loop's fd_listen); on error the clock is stopped. */
int mclock_start(struct mclock *mc, uint32_t period_us, uint32_t max_burst,
		 mclock_tick_fn *tick, mclock_batch_fn *batch, void *arg);
/* Stop listening and close the timerfd. Idempotent. */
void mclock_stop(struct mclock *mc);
#endif

/* Unit-test helper: run a function on a loop thread and wait until it has
 * run (the objects a loop owns are touched only on that loop). */
#ifndef VG_TEST_LOOP_SYNC_H
#define VG_TEST_LOOP_SYNC_H

#include <semaphore.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "core/loop.h"

/* How long run_on_loop() waits before it fails the test (a hung loop). */
#define LOOP_SYNC_TIMEOUT_S 30

struct loop_sync {
	void (*fn)(void *arg);
	void *arg;
	sem_t done;
};

static inline void loop_sync_run(void *p)
{
	struct loop_sync *s = p;

	s->fn(s->arg);
	sem_post(&s->done);
}

/* Runs fn(arg) on loop l and returns when it has returned; fails the test
 * when the post is refused or fn has not run within LOOP_SYNC_TIMEOUT_S.
 * Called from a thread other than l's. */
static inline void run_on_loop(struct vg_loop *l, void (*fn)(void *arg),
			       void *arg)
{
	struct loop_sync s = { .fn = fn, .arg = arg };
	struct timespec ts;

	assert_int_equal(sem_init(&s.done, 0, 0), 0);
	assert_int_equal(loop_post(l, loop_sync_run, &s), 0);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += LOOP_SYNC_TIMEOUT_S;
	assert_int_equal(sem_timedwait(&s.done, &ts), 0);
	sem_destroy(&s.done);
}

#endif

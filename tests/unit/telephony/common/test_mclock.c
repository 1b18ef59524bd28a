/* The media clock on a real libre loop: ticks on a fixed grid one period
 * apart, batch reports matching the ticks, stop idempotent, bad arguments
 * refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>

#include <re.h>

#include "core/clock.h"
#include "telephony/common/mclock.h"

#define PERIOD_US 5000u
#define TICKS 12u

struct st {
	uint64_t dl[TICKS];
	unsigned n, batches, due_sum;
	uint64_t late_max_us;
};

static void on_tick(uint64_t deadline_us, void *arg)
{
	struct st *s = arg;
	if (s->n < TICKS)
		s->dl[s->n] = deadline_us;
	s->n++;
	if (s->n == TICKS)
		re_cancel();
}

static void on_batch(unsigned due, uint64_t start_us, uint64_t first_us,
		     void *arg)
{
	struct st *s = arg;
	s->batches++;
	s->due_sum += due;
	/* the batch starts at or after the first deadline it serves */
	assert_true(start_us + 1000 >= first_us);
	if (start_us > first_us && start_us - first_us > s->late_max_us)
		s->late_max_us = start_us - first_us;
}

static void guard(void *arg)
{
	(void)arg;
	re_cancel();
}

static void ticks_follow_the_grid(void **state)
{
	(void)state;
	assert_int_equal(libre_init(), 0);
	struct mclock mc;
	mclock_init(&mc);
	mclock_stop(&mc); /* harmless before start */
	struct st s = { 0 };
	uint64_t t0 = clock_mono_us();
	assert_int_equal(mclock_start(&mc, PERIOD_US, 2, on_tick, on_batch, &s),
			 0);
	assert_true(mc.fd >= 0);
	struct tmr t;
	tmr_init(&t);
	tmr_start(&t, 3000, guard, NULL);
	re_main(NULL);
	tmr_cancel(&t);
	mclock_stop(&mc);
	mclock_stop(&mc);
	assert_int_equal(mc.fd, -1);

	assert_true(s.n >= TICKS);
	/* the first tick is due one period after the start */
	assert_true(s.dl[0] >= t0 + PERIOD_US);
	assert_true(s.dl[0] < t0 + PERIOD_US + 20000);
	for (unsigned i = 1; i < TICKS; i++)
		assert_int_equal(s.dl[i] - s.dl[i - 1], PERIOD_US);
	assert_true(s.batches >= 1);
	assert_int_equal(s.due_sum, s.n);
	libre_close();
}

static void bad_arguments_are_refused(void **state)
{
	(void)state;
	struct mclock mc;
	mclock_init(&mc);
	struct st s = { 0 };
	assert_int_equal(mclock_start(&mc, 0, 0, on_tick, NULL, &s), -EINVAL);
	assert_int_equal(mclock_start(&mc, PERIOD_US, 0, NULL, NULL, &s),
			 -EINVAL);
	assert_int_equal(mclock_start(NULL, PERIOD_US, 0, on_tick, NULL, &s),
			 -EINVAL);
	assert_int_equal(mc.fd, -1);
	mclock_stop(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ticks_follow_the_grid),
		cmocka_unit_test(bad_arguments_are_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

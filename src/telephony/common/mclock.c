/* Media clock: see mclock.h. */
#include <errno.h>
#include <time.h>
#include <unistd.h>

#include <sys/timerfd.h>

#include <re.h>

#include "core/clock.h"
#include "telephony/common/mclock.h"

void mclock_init(struct mclock *mc)
{
	mc->fd = -1;
	mc->tick = NULL;
	mc->batch = NULL;
	mc->arg = NULL;
}

static void on_expiry(int flags, void *arg)
{
	struct mclock *mc = arg;
	uint64_t expirations;
	(void)flags;
	if (read(mc->fd, &expirations, sizeof(expirations)) < 0)
		return;
	uint64_t start = clock_mono_us();
	uint64_t first = mc->pacer.next_us;
	unsigned due = pacer_due(&mc->pacer, start);
	for (unsigned t = 0; t < due; t++)
		mc->tick(first + (uint64_t)t * mc->pacer.period_us, mc->arg);
	if (due && mc->batch)
		mc->batch(due, start, first, mc->arg);
}

int mclock_start(struct mclock *mc, uint32_t period_us, uint32_t max_burst,
		 mclock_tick_fn *tick, mclock_batch_fn *batch, void *arg)
{
	if (!mc || !tick || !period_us)
		return -EINVAL;
	mclock_stop(mc);
	mc->fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (mc->fd < 0)
		return -errno;
	uint64_t first = clock_mono_us() + period_us;
	struct itimerspec its = {
		.it_value = { .tv_sec = (time_t)(first / 1000000),
			      .tv_nsec = (long)(first % 1000000) * 1000 },
		.it_interval = { .tv_sec = 0,
				 .tv_nsec = (long)period_us * 1000L },
	};
	int err = 0;
	if (timerfd_settime(mc->fd, TFD_TIMER_ABSTIME, &its, NULL))
		err = -errno;
	pacer_init(&mc->pacer, first, period_us);
	if (max_burst)
		mc->pacer.max_burst = max_burst;
	mc->tick = tick;
	mc->batch = batch;
	mc->arg = arg;
	if (!err) {
		int e = fd_listen(mc->fd, FD_READ, on_expiry, mc);
		err = e ? -e : 0;
	}
	if (err) {
		close(mc->fd);
		mc->fd = -1;
	}
	return err;
}

void mclock_stop(struct mclock *mc)
{
	if (!mc || mc->fd < 0)
		return;
	fd_close(mc->fd);
	close(mc->fd);
	mc->fd = -1;
}

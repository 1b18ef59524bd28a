/* Clocks: monotonic for durations and schedules, wall for records. */
#ifndef VG_CORE_CLOCK_H
#define VG_CORE_CLOCK_H
#include <stdint.h>
#include <time.h>

/* Monotonic microseconds since an arbitrary start; thread-safe. */
static inline uint64_t clock_mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static inline uint64_t clock_mono_ms(void)
{
	return clock_mono_us() / 1000u;
}

/* Wall-clock milliseconds since the Unix epoch (for CDRs and logs). */
static inline int64_t clock_wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
#endif

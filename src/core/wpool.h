/* Bounded worker pool for blocking work (TTS, STT, disk, training). A full
 * queue refuses with -EAGAIN instead of letting latency pile up (cf. nginx
 * ngx_thread_task_post). Results return to the submitter's loop. */
#ifndef VG_CORE_WPOOL_H
#define VG_CORE_WPOOL_H
#include <stddef.h>

struct vg_loop;
struct wpool;

/* Runs on a worker thread; may block. */
typedef void(wpool_work_fn)(void *arg);
/* Runs on the owner loop after work (err 0), or with -ECANCELED when the pool
 * was destroyed before the work ran. Called exactly once per accepted job. */
typedef void(wpool_done_fn)(int err, void *arg);

int wpool_create(struct wpool **pp, unsigned nthreads, size_t max_queue);

/* Queue work. Returns 0 (done will be called once on owner), -EAGAIN when the
 * queue is full, -ESHUTDOWN when stopping, -EINVAL; on error nothing is called.
 * owner may be NULL: then done runs on the worker thread right after work. */
int wpool_submit(struct wpool *p, struct vg_loop *owner, wpool_work_fn *work,
		 wpool_done_fn *done, void *arg);

size_t wpool_depth(const struct wpool *p);    /* jobs waiting */
size_t wpool_rejected(const struct wpool *p); /* -EAGAIN count */
unsigned wpool_threads(const struct wpool *p);

/* Stop threads after the running jobs; queued jobs get done(-ECANCELED) on
 * their owner loop (posted). NULL is a no-op. */
void wpool_destroy(struct wpool *p);
#endif

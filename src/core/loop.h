/* An event loop: one thread running libre's re_main(), and a message queue
 * through which other threads hand it work. Objects created on a loop belong
 * to it; other threads reach them only through loop_post(). */
#ifndef VG_CORE_LOOP_H
#define VG_CORE_LOOP_H
#include <stdint.h>

struct vg_loop;

/* Runs on the loop thread with the posted argument (ownership passes). */
typedef void(loop_fn)(void *arg);
/* Called on the loop thread about every 100 ms with how late its timer ran. */
typedef void(loop_lag_fn)(const char *loop_name, uint64_t lag_us, void *arg);

/* Create a loop that will run on a new thread (loop_start). Returns 0 or
 * negative errno. name is copied; it names the thread and the lag metric. */
int loop_create(struct vg_loop **lp, const char *name);

/* Turn the calling thread into a loop (the media loop is the main thread):
 * sets up the queue now; loop_run() then runs it until loop_cancel(). */
int loop_attach(struct vg_loop **lp, const char *name);

/* Set before loop_start()/loop_run(). */
void loop_set_lag_fn(struct vg_loop *l, loop_lag_fn *fn, void *arg);

/* Start the thread; returns once its loop is ready to take posts. */
int loop_start(struct vg_loop *l);

/* Run an attached loop on the calling thread until loop_cancel(). */
int loop_run(struct vg_loop *l);

/* Post fn(arg) to run on the loop thread. Thread-safe. On success ownership
 * of arg passes to fn; on failure (negative errno) fn is not called and the
 * caller keeps arg. */
int loop_post(struct vg_loop *l, loop_fn *fn, void *arg);

/* Ask the loop to return from re_main (thread-safe). */
void loop_cancel(struct vg_loop *l);

/* Cancel (if running on its own thread), join, free. NULL is a no-op. Must
 * not be called from the loop's own thread for a started loop. */
void loop_destroy(struct vg_loop *l);

/* True when called on l's thread. */
int loop_is_current(const struct vg_loop *l);
const char *loop_name(const struct vg_loop *l);
#endif

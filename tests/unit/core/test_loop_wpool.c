/* Loops and the worker pool: posts run on the owning loop thread, the
 * pool is bounded and completes each accepted job exactly once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include <re.h>

#include "core/loop.h"
#include "core/wpool.h"

struct ctx {
	struct vg_loop *loop;
	atomic_int on_loop;
	atomic_int done;
	atomic_int cancelled;
	atomic_int worked;
	atomic_int release;
};

static void check_thread(void *arg)
{
	struct ctx *c = arg;
	if (loop_is_current(c->loop))
		atomic_fetch_add(&c->on_loop, 1);
	atomic_fetch_add(&c->done, 1);
}

static void wait_for(atomic_int *v, int n)
{
	for (int i = 0; i < 5000 && atomic_load(v) < n; i++)
		usleep(1000);
}

static void post_runs_on_the_loop_thread(void **s)
{
	(void)s;
	struct ctx c = { 0 };
	assert_int_equal(loop_create(&c.loop, "t"), 0);
	assert_int_equal(loop_start(c.loop), 0);
	for (int i = 0; i < 100; i++)
		assert_int_equal(loop_post(c.loop, check_thread, &c), 0);
	wait_for(&c.done, 100);
	assert_int_equal(atomic_load(&c.on_loop), 100);
	assert_false(loop_is_current(c.loop));
	loop_destroy(c.loop);
}

static void slow_work(void *arg)
{
	struct ctx *c = arg;
	while (!atomic_load(&c->release))
		usleep(1000);
	atomic_fetch_add(&c->worked, 1);
}

static void fast_work(void *arg)
{
	atomic_fetch_add(&((struct ctx *)arg)->worked, 1);
}

static void on_done(int err, void *arg)
{
	struct ctx *c = arg;
	if (err == -ECANCELED)
		atomic_fetch_add(&c->cancelled, 1);
	else if (loop_is_current(c->loop))
		atomic_fetch_add(&c->on_loop, 1);
	atomic_fetch_add(&c->done, 1);
}

static void full_queue_refuses_with_eagain(void **s)
{
	(void)s;
	struct ctx c = { 0 };
	struct wpool *p;
	assert_int_equal(loop_create(&c.loop, "t"), 0);
	assert_int_equal(loop_start(c.loop), 0);
	assert_int_equal(wpool_create(&p, 1, 2), 0);
	/* one job blocks the only worker, two fill the queue */
	assert_int_equal(wpool_submit(p, c.loop, slow_work, on_done, &c), 0);
	usleep(20000);
	assert_int_equal(wpool_submit(p, c.loop, fast_work, on_done, &c), 0);
	assert_int_equal(wpool_submit(p, c.loop, fast_work, on_done, &c), 0);
	assert_int_equal(wpool_submit(p, c.loop, fast_work, on_done, &c),
			 -EAGAIN);
	assert_int_equal(wpool_rejected(p), 1);
	assert_int_equal(wpool_depth(p), 2);
	atomic_store(&c.release, 1);
	wait_for(&c.done, 3);
	assert_int_equal(atomic_load(&c.worked), 3);
	assert_int_equal(atomic_load(&c.on_loop), 3);
	wpool_destroy(p);
	loop_destroy(c.loop);
}

static void destroy_cancels_queued_jobs_once(void **s)
{
	(void)s;
	struct ctx c = { 0 };
	struct wpool *p;
	assert_int_equal(loop_create(&c.loop, "t"), 0);
	assert_int_equal(loop_start(c.loop), 0);
	assert_int_equal(wpool_create(&p, 1, 10), 0);
	assert_int_equal(wpool_submit(p, c.loop, slow_work, on_done, &c), 0);
	usleep(20000);
	for (int i = 0; i < 5; i++)
		assert_int_equal(
			wpool_submit(p, c.loop, fast_work, on_done, &c), 0);
	atomic_store(&c.release, 1);
	wpool_destroy(p);
	wait_for(&c.done, 6);
	assert_int_equal(atomic_load(&c.done), 6);
	assert_int_equal(atomic_load(&c.worked) + atomic_load(&c.cancelled), 6);
	loop_destroy(c.loop);
}

static void bad_arguments_are_einval(void **s)
{
	(void)s;
	struct wpool *p = NULL;
	assert_int_equal(wpool_create(&p, 0, 1), -EINVAL);
	assert_int_equal(wpool_create(&p, 1, 0), -EINVAL);
	assert_null(p);
	assert_int_equal(loop_post(NULL, check_thread, NULL), -EINVAL);
	wpool_destroy(NULL);
	loop_destroy(NULL);
}

static int setup(void **s)
{
	(void)s;
	return libre_init();
}

static int teardown(void **s)
{
	(void)s;
	libre_close();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(post_runs_on_the_loop_thread),
		cmocka_unit_test(full_queue_refuses_with_eagain),
		cmocka_unit_test(destroy_cancels_queued_jobs_once),
		cmocka_unit_test(bad_arguments_are_einval),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

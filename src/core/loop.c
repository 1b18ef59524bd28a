/* Event loops on libre (see loop.h): a thread per loop, each with its own
 * re context, fd limit and an mqueue for work posted from other threads. */
#include "core/loop.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <re.h>

#include "core/clock.h"
#include "core/log.h"

enum { LOOP_MAX_FDS = 65536, LAG_PERIOD_MS = 100 };

struct vg_loop {
	char name[16];
	pthread_t thread;
	bool own_thread;
	bool started;
	struct mqueue *mq;
	struct tmr lag_tmr;
	uint64_t lag_expect_us;
	loop_lag_fn *lagh;
	void *lag_arg;
	pthread_mutex_t mtx;
	pthread_cond_t cond;
	bool ready;
	int start_err;
};

struct post_msg {
	loop_fn *fn;
	void *arg;
};

static _Thread_local struct vg_loop *t_current;

static void mq_handler(int id, void *data, void *arg)
{
	struct post_msg *m = data;
	(void)id;
	(void)arg;
	loop_fn *fn = m->fn;
	void *fa = m->arg;
	free(m);
	fn(fa);
}

static void lag_tick(void *arg)
{
	struct vg_loop *l = arg;
	uint64_t now = clock_mono_us();
	uint64_t lag = now > l->lag_expect_us ? now - l->lag_expect_us : 0;
	if (l->lagh)
		l->lagh(l->name, lag, l->lag_arg);
	l->lag_expect_us = now + LAG_PERIOD_MS * 1000u;
	tmr_start(&l->lag_tmr, LAG_PERIOD_MS, lag_tick, l);
}

/* Per-thread setup, on the loop's own thread. */
static int setup_here(struct vg_loop *l)
{
	int err = fd_setsize(LOOP_MAX_FDS);
	if (err)
		return -err;
	err = mqueue_alloc(&l->mq, mq_handler, l);
	if (err)
		return -err;
	tmr_init(&l->lag_tmr);
	l->lag_expect_us = clock_mono_us() + LAG_PERIOD_MS * 1000u;
	tmr_start(&l->lag_tmr, LAG_PERIOD_MS, lag_tick, l);
	t_current = l;
	return 0;
}

static void teardown_here(struct vg_loop *l)
{
	tmr_cancel(&l->lag_tmr);
	l->mq = mem_deref(l->mq);
	t_current = NULL;
}

static int alloc_loop(struct vg_loop **lp, const char *name)
{
	struct vg_loop *l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	snprintf(l->name, sizeof(l->name), "%s", name ? name : "loop");
	pthread_mutex_init(&l->mtx, NULL);
	pthread_cond_init(&l->cond, NULL);
	*lp = l;
	return 0;
}

int loop_create(struct vg_loop **lp, const char *name)
{
	if (!lp)
		return -EINVAL;
	struct vg_loop *l;
	int err = alloc_loop(&l, name);
	if (err)
		return err;
	l->own_thread = true;
	*lp = l;
	return 0;
}

int loop_attach(struct vg_loop **lp, const char *name)
{
	if (!lp)
		return -EINVAL;
	struct vg_loop *l;
	int err = alloc_loop(&l, name);
	if (err)
		return err;
	err = setup_here(l);
	if (err) {
		free(l);
		return err;
	}
	l->thread = pthread_self();
	*lp = l;
	return 0;
}

void loop_set_lag_fn(struct vg_loop *l, loop_lag_fn *fn, void *arg)
{
	l->lagh = fn;
	l->lag_arg = arg;
}

static void *thread_main(void *arg)
{
	struct vg_loop *l = arg;
	int err = re_thread_init();
	if (err)
		err = -err;
	else
		err = setup_here(l);

	pthread_mutex_lock(&l->mtx);
	l->start_err = err;
	l->ready = true;
	pthread_cond_signal(&l->cond);
	pthread_mutex_unlock(&l->mtx);
	if (err)
		return NULL;

	pthread_setname_np(pthread_self(), l->name);
	re_main(NULL);
	teardown_here(l);
	re_thread_close();
	return NULL;
}

int loop_start(struct vg_loop *l)
{
	if (!l || !l->own_thread || l->started)
		return -EINVAL;
	/* Loop threads never take process signals: the main thread handles
	 * them through a signalfd. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int err = pthread_create(&l->thread, NULL, thread_main, l);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err)
		return -err;
	pthread_mutex_lock(&l->mtx);
	while (!l->ready)
		pthread_cond_wait(&l->cond, &l->mtx);
	pthread_mutex_unlock(&l->mtx);
	if (l->start_err) {
		pthread_join(l->thread, NULL);
		return l->start_err;
	}
	l->started = true;
	return 0;
}

int loop_run(struct vg_loop *l)
{
	if (!l || l->own_thread)
		return -EINVAL;
	int err = re_main(NULL);
	return err ? -err : 0;
}

int loop_post(struct vg_loop *l, loop_fn *fn, void *arg)
{
	if (!l || !fn || !l->mq)
		return -EINVAL;
	struct post_msg *m = malloc(sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->fn = fn;
	m->arg = arg;
	int err = mqueue_push(l->mq, 0, m);
	if (err) {
		free(m);
		return -err;
	}
	return 0;
}

static void do_cancel(void *arg)
{
	(void)arg;
	re_cancel();
}

void loop_cancel(struct vg_loop *l)
{
	if (!l)
		return;
	if (loop_is_current(l))
		re_cancel();
	else
		(void)loop_post(l, do_cancel, NULL);
}

void loop_destroy(struct vg_loop *l)
{
	if (!l)
		return;
	if (l->own_thread) {
		if (l->started) {
			loop_cancel(l);
			pthread_join(l->thread, NULL);
		}
	} else if (loop_is_current(l)) {
		teardown_here(l);
	}
	pthread_mutex_destroy(&l->mtx);
	pthread_cond_destroy(&l->cond);
	free(l);
}

int loop_is_current(const struct vg_loop *l)
{
	return l && t_current == l;
}

const char *loop_name(const struct vg_loop *l)
{
	return l ? l->name : "";
}

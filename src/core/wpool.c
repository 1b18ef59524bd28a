/* Bounded worker pool (see wpool.h). A fixed set of threads takes jobs from
 * a FIFO with a hard cap; completions travel back to the submitter's loop
 * as posted messages, so callers never see results on a foreign thread. */
#include "core/wpool.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/log.h"
#include "core/loop.h"

struct job {
	struct job *next;
	wpool_work_fn *work;
	wpool_done_fn *done;
	void *arg;
	struct vg_loop *owner;
	int err;
};

struct wpool {
	pthread_mutex_t mtx;
	pthread_cond_t cond;
	struct job *head, *tail;
	size_t depth;
	size_t max_queue;
	atomic_size_t rejected;
	bool stopping;
	unsigned nthreads;
	pthread_t *threads;
};

static void done_on_owner(void *arg)
{
	struct job *j = arg;
	if (j->done)
		j->done(j->err, j->arg);
	free(j);
}

/* Hand a finished (or cancelled) job back to its owner loop. */
static void complete(struct job *j)
{
	if (!j->owner) {
		done_on_owner(j);
		return;
	}
	for (int tries = 0; tries < 1000; tries++) {
		if (loop_post(j->owner, done_on_owner, j) == 0)
			return;
		usleep(1000);
	}
	/* The owner's queue is wedged: better a late completion on this
	 * thread than a job that never completes (the contract is "once"). */
	LOGE(NULL, "wpool_post_failed", "loop=%s", loop_name(j->owner));
	done_on_owner(j);
}

static void *worker_main(void *arg)
{
	struct wpool *p = arg;
	char name[16];
	snprintf(name, sizeof(name), "worker");
	pthread_setname_np(pthread_self(), name);
	for (;;) {
		pthread_mutex_lock(&p->mtx);
		while (!p->head && !p->stopping)
			pthread_cond_wait(&p->cond, &p->mtx);
		if (p->stopping) {
			pthread_mutex_unlock(&p->mtx);
			return NULL;
		}
		struct job *j = p->head;
		p->head = j->next;
		if (!p->head)
			p->tail = NULL;
		p->depth--;
		pthread_mutex_unlock(&p->mtx);

		j->work(j->arg);
		j->err = 0;
		complete(j);
	}
}

int wpool_create(struct wpool **pp, unsigned nthreads, size_t max_queue)
{
	if (!pp || nthreads == 0 || nthreads > 256 || max_queue == 0)
		return -EINVAL;
	struct wpool *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->threads = calloc(nthreads, sizeof(*p->threads));
	if (!p->threads) {
		free(p);
		return -ENOMEM;
	}
	pthread_mutex_init(&p->mtx, NULL);
	pthread_cond_init(&p->cond, NULL);
	p->max_queue = max_queue;

	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int err = 0;
	for (unsigned i = 0; i < nthreads; i++) {
		err = pthread_create(&p->threads[i], NULL, worker_main, p);
		if (err)
			break;
		p->nthreads++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		wpool_destroy(p);
		return -err;
	}
	*pp = p;
	return 0;
}

int wpool_submit(struct wpool *p, struct vg_loop *owner, wpool_work_fn *work,
		 wpool_done_fn *done, void *arg)
{
	if (!p || !work)
		return -EINVAL;
	struct job *j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	j->work = work;
	j->done = done;
	j->arg = arg;
	j->owner = owner;

	pthread_mutex_lock(&p->mtx);
	int err = 0;
	if (p->stopping)
		err = -ESHUTDOWN;
	else if (p->depth >= p->max_queue)
		err = -EAGAIN;
	if (!err) {
		if (p->tail)
			p->tail->next = j;
		else
			p->head = j;
		p->tail = j;
		p->depth++;
		pthread_cond_signal(&p->cond);
	}
	pthread_mutex_unlock(&p->mtx);
	if (err) {
		if (err == -EAGAIN)
			atomic_fetch_add(&p->rejected, 1);
		free(j);
	}
	return err;
}

size_t wpool_depth(const struct wpool *p)
{
	if (!p)
		return 0;
	pthread_mutex_lock((pthread_mutex_t *)&p->mtx);
	size_t d = p->depth;
	pthread_mutex_unlock((pthread_mutex_t *)&p->mtx);
	return d;
}

size_t wpool_rejected(const struct wpool *p)
{
	return p ? atomic_load(&((struct wpool *)p)->rejected) : 0;
}

unsigned wpool_threads(const struct wpool *p)
{
	return p ? p->nthreads : 0;
}

void wpool_destroy(struct wpool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mtx);
	p->stopping = true;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->mtx);
	for (unsigned i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);

	struct job *j = p->head;
	while (j) {
		struct job *next = j->next;
		j->err = -ECANCELED;
		complete(j);
		j = next;
	}
	pthread_mutex_destroy(&p->mtx);
	pthread_cond_destroy(&p->cond);
	free(p->threads);
	free(p);
}

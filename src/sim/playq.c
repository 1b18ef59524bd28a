/* Playout queue of the stream transports: a bounded ring of 8 kHz samples
 * plus a small ring of named marks. See playq.h. */
#include "sim/playq.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sim_playq_init(struct sim_playq *q, size_t max_samples)
{
	if (!q || !max_samples)
		return -EINVAL;
	memset(q, 0, sizeof(*q));
	q->buf = calloc(max_samples, sizeof(*q->buf));
	if (!q->buf)
		return -ENOMEM;
	q->cap = max_samples;
	q->idle = true;
	return 0;
}

void sim_playq_fini(struct sim_playq *q)
{
	if (!q)
		return;
	free(q->buf);
	memset(q, 0, sizeof(*q));
}

size_t sim_playq_len(const struct sim_playq *q)
{
	return (size_t)(q->tail - q->head);
}

size_t sim_playq_push(struct sim_playq *q, const int16_t *pcm, size_t n)
{
	size_t room = q->cap - sim_playq_len(q);
	size_t take = n < room ? n : room;
	q->dropped += n - take;
	for (size_t i = 0; i < take; i++)
		q->buf[(q->tail + i) % q->cap] = pcm[i];
	q->tail += take;
	return take;
}

int sim_playq_mark(struct sim_playq *q, const char *name)
{
	if (q->mcount >= SIM_PLAYQ_MARKS) {
		q->marks_dropped++;
		return -ENOSPC;
	}
	size_t i = (q->mhead + q->mcount) % SIM_PLAYQ_MARKS;
	snprintf(q->marks[i].name, sizeof(q->marks[i].name), "%s",
		 name ? name : "");
	q->marks[i].at = q->tail;
	q->mcount++;
	return 0;
}

void sim_playq_clear(struct sim_playq *q)
{
	q->head = q->tail;
	for (size_t k = 0; k < q->mcount; k++)
		q->marks[(q->mhead + k) % SIM_PLAYQ_MARKS].at = q->head;
	q->clears++;
}

size_t sim_playq_pop(struct sim_playq *q, int16_t out[SIM_PLAYQ_FRAME])
{
	size_t have = sim_playq_len(q);
	size_t n = have < SIM_PLAYQ_FRAME ? have : SIM_PLAYQ_FRAME;
	for (size_t i = 0; i < n; i++)
		out[i] = q->buf[(q->head + i) % q->cap];
	memset(out + n, 0, (SIM_PLAYQ_FRAME - n) * sizeof(*out));
	q->head += n;
	if (n < SIM_PLAYQ_FRAME && n > 0)
		q->underruns++;
	return n;
}

bool sim_playq_mark_due(struct sim_playq *q, char name[SIM_PLAYQ_MARK_LEN])
{
	if (!q->mcount || q->marks[q->mhead].at > q->head)
		return false;
	memcpy(name, q->marks[q->mhead].name, SIM_PLAYQ_MARK_LEN);
	q->mhead = (q->mhead + 1) % SIM_PLAYQ_MARKS;
	q->mcount--;
	return true;
}

size_t sim_playq_arrive(struct sim_playq *q, int16_t out[SIM_PLAYQ_FRAME])
{
	if (!q->idle || q->skip || !sim_playq_len(q))
		return 0;
	size_t n = sim_playq_pop(q, out);
	q->idle = false;
	q->skip = true;
	return n;
}

bool sim_playq_tick(struct sim_playq *q, int16_t out[SIM_PLAYQ_FRAME],
		    size_t *n)
{
	if (q->skip) {
		q->skip = false;
		*n = 0;
		return false;
	}
	*n = sim_playq_pop(q, out);
	q->idle = *n == 0;
	return true;
}

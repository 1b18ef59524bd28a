/* Growing audio (see stream.h): one writer appends into a buffer allocated
 * once, readers on other threads see samples below an atomic published
 * length. Release on publish, acquire on read: a reader that sees len also
 * sees the samples below it. */
#include "audio/stream.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "audio/clip.h"
#include "core/clock.h"

struct audio_stream {
	atomic_uint refs;
	unsigned rate_hz;
	size_t max_samples;
	int16_t *buf;		 /* owned, or clip->samples */
	struct audio_clip *clip; /* set when made from a clip */
	atomic_size_t len;	 /* published samples */
	atomic_uint_fast64_t first_us;
	atomic_int finishing; /* finish() claimed: the first one wins */
	atomic_bool done;     /* published after err */
	atomic_int err;
};

int audio_stream_alloc(struct audio_stream **sp, size_t max_samples,
		       unsigned rate_hz)
{
	if (!sp || !max_samples || !rate_hz ||
	    max_samples > SIZE_MAX / 2 / sizeof(int16_t))
		return -EINVAL;
	struct audio_stream *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	/* malloc, not calloc: a large buffer is mmap'd and only the pages the
	 * writer touches become resident, so a generous cap costs address
	 * space, not memory. Readers never look past len. */
	s->buf = malloc(max_samples * sizeof(int16_t));
	if (!s->buf) {
		free(s);
		return -ENOMEM;
	}
	atomic_init(&s->refs, 1);
	s->rate_hz = rate_hz;
	s->max_samples = max_samples;
	*sp = s;
	return 0;
}

int audio_stream_from_clip(struct audio_stream **sp, struct audio_clip *clip)
{
	if (!sp || !clip || !clip->rate_hz)
		return -EINVAL;
	struct audio_stream *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	atomic_init(&s->refs, 1);
	s->rate_hz = clip->rate_hz;
	s->max_samples = clip->nsamples;
	s->clip = audio_clip_ref(clip);
	s->buf = clip->samples;
	atomic_init(&s->len, clip->nsamples);
	atomic_init(&s->first_us, clip->nsamples ? clock_mono_us() : 0);
	atomic_init(&s->finishing, 1);
	atomic_init(&s->done, true);
	*sp = s;
	return 0;
}

struct audio_stream *audio_stream_ref(struct audio_stream *s)
{
	if (s)
		atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
	return s;
}

struct audio_stream *audio_stream_deref(struct audio_stream *s)
{
	if (s &&
	    atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1) {
		if (s->clip)
			audio_clip_deref(s->clip);
		else
			free(s->buf);
		free(s);
	}
	return NULL;
}

int audio_stream_write(struct audio_stream *s, const int16_t *pcm, size_t n)
{
	if (!s || (!pcm && n))
		return -EINVAL;
	if (atomic_load_explicit(&s->finishing, memory_order_relaxed))
		return -EALREADY;
	/* Only the writer stores len, so its own view needs no ordering. */
	size_t len = atomic_load_explicit(&s->len, memory_order_relaxed);
	if (n > s->max_samples - len)
		return -ENOSPC;
	if (!n)
		return 0;
	memcpy(s->buf + len, pcm, n * sizeof(int16_t));
	if (!len)
		atomic_store_explicit(&s->first_us, clock_mono_us(),
				      memory_order_relaxed);
	atomic_store_explicit(&s->len, len + n, memory_order_release);
	return 0;
}

void audio_stream_finish(struct audio_stream *s, int err)
{
	if (!s)
		return;
	int expected = 0;
	if (!atomic_compare_exchange_strong(&s->finishing, &expected, 1))
		return;
	atomic_store_explicit(&s->err, err > 0 ? -err : err,
			      memory_order_relaxed);
	atomic_store_explicit(&s->done, true, memory_order_release);
}

size_t audio_stream_read(const struct audio_stream *s, size_t pos, int16_t *out,
			 size_t n)
{
	if (!s || !out)
		return 0;
	size_t len = atomic_load_explicit(&s->len, memory_order_acquire);
	if (pos >= len)
		return 0;
	if (n > len - pos)
		n = len - pos;
	memcpy(out, s->buf + pos, n * sizeof(int16_t));
	return n;
}

const int16_t *audio_stream_peek(const struct audio_stream *s, size_t pos,
				 size_t *n)
{
	if (!s || !n)
		return NULL;
	size_t len = atomic_load_explicit(&s->len, memory_order_acquire);
	if (pos >= len) {
		*n = 0;
		return NULL;
	}
	*n = len - pos;
	return s->buf + pos;
}

size_t audio_stream_len(const struct audio_stream *s)
{
	return s ? atomic_load_explicit(&s->len, memory_order_acquire) : 0;
}

bool audio_stream_done(const struct audio_stream *s, int *err)
{
	if (!s || !atomic_load_explicit(&s->done, memory_order_acquire))
		return false;
	if (err)
		*err = atomic_load_explicit(&s->err, memory_order_relaxed);
	return true;
}

unsigned audio_stream_rate(const struct audio_stream *s)
{
	return s ? s->rate_hz : 0;
}

size_t audio_stream_max(const struct audio_stream *s)
{
	return s ? s->max_samples : 0;
}

uint64_t audio_stream_first_us(const struct audio_stream *s)
{
	return s ? atomic_load_explicit(&s->first_us, memory_order_relaxed) : 0;
}

struct audio_clip *audio_stream_to_clip(const struct audio_stream *s)
{
	int err = 0;
	if (!audio_stream_done(s, &err) || err)
		return NULL;
	size_t len = atomic_load_explicit(&s->len, memory_order_acquire);
	/* Clips are immutable: the one we were made from serves as is. */
	if (s->clip && len == s->clip->nsamples)
		return audio_clip_ref(s->clip);
	struct audio_clip *c = audio_clip_alloc(len, s->rate_hz);
	if (c && len)
		memcpy(c->samples, s->buf, len * sizeof(int16_t));
	return c;
}

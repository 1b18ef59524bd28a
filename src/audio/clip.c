/* Refcounted PCM clips (see clip.h). */
#include "audio/clip.h"

#include <stdlib.h>

struct audio_clip *audio_clip_alloc(size_t nsamples, unsigned rate_hz)
{
	if (nsamples > (SIZE_MAX - sizeof(struct audio_clip)) / sizeof(int16_t))
		return NULL;
	struct audio_clip *c =
		calloc(1, sizeof(*c) + nsamples * sizeof(int16_t));
	if (!c)
		return NULL;
	atomic_init(&c->refs, 1);
	c->rate_hz = rate_hz;
	c->nsamples = nsamples;
	return c;
}

struct audio_clip *audio_clip_ref(struct audio_clip *c)
{
	if (c)
		atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
	return c;
}

struct audio_clip *audio_clip_deref(struct audio_clip *c)
{
	if (c &&
	    atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) == 1)
		free(c);
	return NULL;
}

/* An audio clip: immutable mono PCM16 samples with an atomic refcount, so a
 * synthesized prompt can be shared by many calls across threads. */
#ifndef VG_AUDIO_CLIP_H
#define VG_AUDIO_CLIP_H
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* 20 ms at 8 kHz: the unit of audio everywhere in the call model. */
#define AUDIO_RATE_HZ 8000
#define AUDIO_FRAME_MS 20
#define AUDIO_FRAME_SAMPLES 160

struct audio_clip {
	atomic_uint refs;
	unsigned rate_hz;
	size_t nsamples;
	int16_t samples[];
};

/* Returns a new clip with one reference (samples zeroed) or NULL (ENOMEM). */
struct audio_clip *audio_clip_alloc(size_t nsamples, unsigned rate_hz);
/* New reference to c (NULL-safe). */
struct audio_clip *audio_clip_ref(struct audio_clip *c);
/* Drop a reference; frees at zero. Returns NULL: c = audio_clip_deref(c). */
struct audio_clip *audio_clip_deref(struct audio_clip *c);
#endif

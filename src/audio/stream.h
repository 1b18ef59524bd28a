/* An audio stream: a clip that is still being written. One writer (a TTS
 * worker) appends samples; readers on other threads (the call on the media
 * loop) read what has been published so far, so playback starts with the
 * first synthesized frame instead of after the whole sentence.
 *
 * Lock-free for the reader: the buffer is allocated once (max_samples) and
 * the published length is an atomic; samples below it never change.
 * Refcounted (atomic): writer and readers each hold a reference. */
#ifndef VG_AUDIO_STREAM_H
#define VG_AUDIO_STREAM_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct audio_clip;
struct audio_stream;

/* New stream at rate_hz with room for max_samples, one reference. 0,
 * -EINVAL, -ENOMEM. */
int audio_stream_alloc(struct audio_stream **sp, size_t max_samples,
		       unsigned rate_hz);
/* A finished, complete stream over clip's samples (no copy; takes a new
 * reference to clip). For cache hits: plays like any other stream. 0,
 * -EINVAL, -ENOMEM. */
int audio_stream_from_clip(struct audio_stream **sp, struct audio_clip *clip);
struct audio_stream *audio_stream_ref(struct audio_stream *s);
struct audio_stream *audio_stream_deref(struct audio_stream *s); /* NULL */

/* Writer: append n samples and publish them. -ENOSPC when they do not fit
 * (nothing appended), -EALREADY after finish. */
int audio_stream_write(struct audio_stream *s, const int16_t *pcm, size_t n);
/* Writer: no more samples. err 0 (complete) or negative errno (synthesis
 * failed: readers play what they got and stop). Idempotent. */
void audio_stream_finish(struct audio_stream *s, int err);

/* Reader: copy up to n samples from position pos into out; returns how many
 * (0 when none are published yet, or at the end). Lock-free, any thread.
 * To tell "not yet" from "the end": check audio_stream_done() first, then
 * read; after done is seen, the length no longer changes. */
size_t audio_stream_read(const struct audio_stream *s, size_t pos, int16_t *out,
			 size_t n);
/* Reader, zero-copy: the published samples from pos on (*n of them), or
 * NULL with *n = 0 when none. Published samples never change or move, so
 * the pointer stays valid while the caller holds a reference. */
const int16_t *audio_stream_peek(const struct audio_stream *s, size_t pos,
				 size_t *n);
/* Published samples so far. */
size_t audio_stream_len(const struct audio_stream *s);
/* True once finished; *err (may be NULL) gets its error. */
bool audio_stream_done(const struct audio_stream *s, int *err);
unsigned audio_stream_rate(const struct audio_stream *s);
/* The capacity given to audio_stream_alloc() (the clip's length for
 * audio_stream_from_clip()). */
size_t audio_stream_max(const struct audio_stream *s);
/* Monotonic us when the first sample was published (0: none yet). */
uint64_t audio_stream_first_us(const struct audio_stream *s);
/* A finished, complete stream as a new clip reference (a copy, or the clip
 * it was made from); NULL before finish, on error or ENOMEM. */
struct audio_clip *audio_stream_to_clip(const struct audio_stream *s);
#endif

/* Sample-rate conversion of mono PCM16 (a thin wrapper over speexdsp), for
 * TTS engines that synthesize at 16 or 22.05 kHz and codecs that want 8 kHz. */
#ifndef VG_AUDIO_RESAMPLE_H
#define VG_AUDIO_RESAMPLE_H
#include <stddef.h>
#include <stdint.h>

struct audio_clip;

/* Accepted rates; anything outside is -EINVAL. */
#define RESAMPLER_MIN_HZ 1000u
#define RESAMPLER_MAX_HZ 192000u

/* Quality presets (0 fastest .. 10 best). */
#define RESAMPLER_QUALITY_VOIP 3
#define RESAMPLER_QUALITY_DEFAULT 5
/* Quality used by audio_clip_resample(): prompts are converted once and
 * cached, so spend the CPU. */
#define RESAMPLER_QUALITY_CLIP 7

/* One streaming converter. Single owner, not thread-safe; one per stream. */
struct resampler;

/* Create a converter from in_hz to out_hz with quality 0..10. *rp is set only
 * on success. Returns 0, -EINVAL (rate or quality out of range, NULL rp) or
 * -ENOMEM. */
int resampler_create(struct resampler **rp, unsigned in_hz, unsigned out_hz,
		     int quality);

/* Convert nin samples from in into out. *nout is the capacity of out on entry
 * and the number of samples produced on return. The whole input is always
 * consumed: the output count is exactly what the rate ratio gives for the
 * samples fed so far (e.g. 320 in -> 160 out for 16k -> 8k, every call), so
 * fixed-size frames stay fixed-size. The output lags the input by the
 * filter's delay (resampler_delay()).
 * Returns 0, -EINVAL (NULL argument, nin > RESAMPLER_MAX_CHUNK) or -ENOBUFS
 * (out too small: resampler_out_len() tells the need; nothing consumed,
 * *nout unchanged). in and out must not overlap. */
int resampler_process(struct resampler *r, const int16_t *in, size_t nin,
		      int16_t *out, size_t *nout);

/* Largest nin accepted by one resampler_process() call. */
#define RESAMPLER_MAX_CHUNK (1u << 24)

/* Exact number of samples the next resampler_process(r, .., nin, ..) will
 * produce (0 for NULL r). */
size_t resampler_out_len(const struct resampler *r, size_t nin);

/* The converter's delay in output samples. */
unsigned resampler_delay(const struct resampler *r);

/* Forget the stream (filter history and phase), keeping the rates. */
void resampler_reset(struct resampler *r);

/* Free r. NULL is a no-op. */
void resampler_destroy(struct resampler *r);

/* Convert a whole clip to out_hz: a new clip with one reference, aligned in
 * time with the input (the filter delay is removed) and of length
 * round(nsamples * out_hz / in_hz). If in is already at out_hz, returns a new
 * reference to in. Borrows in. NULL on bad arguments or out of memory. */
struct audio_clip *audio_clip_resample(struct audio_clip *in, unsigned out_hz);
#endif

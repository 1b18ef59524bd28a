/* WAV files: read mono/stereo PCM16, 8-bit u-law/A-law, and write mono PCM16.
 * The reader is a parser of outside input (fuzzed: fuzz/fuzz_wav.c): every
 * length is checked, unknown chunks are skipped, the size is capped. */
#ifndef VG_AUDIO_WAV_H
#define VG_AUDIO_WAV_H
#include <stddef.h>
#include <stdint.h>

struct audio_clip;

#define WAV_MAX_BYTES (256u << 20) /* refuse larger files */

/* Parse a WAV image buf[0..len) into a new mono PCM16 clip at the file's own
 * rate (stereo is mixed down; G.711 is expanded). Returns 0 with *clipp set,
 * -EBADMSG (not RIFF/WAVE, truncated, inconsistent chunk sizes), -ENOTSUP
 * (a format other than PCM 16-bit, PCM 8-bit, u-law, A-law; more than 2
 * channels; rate outside 4000..192000), -E2BIG, -ENOMEM. A message for the
 * user goes to err (may be NULL). */
int wav_parse(const uint8_t *buf, size_t len, struct audio_clip **clipp,
	      char *err, size_t errlen);
/* Read a file: as wav_parse plus -errno. Blocks on disk. */
int wav_read(const char *path, struct audio_clip **clipp, char *err,
	     size_t errlen);
/* Serialise clip as a 44-byte-header mono PCM16 WAV in a new malloc'd buffer.
 * 0 or -ENOMEM/-EINVAL. */
int wav_print(const struct audio_clip *clip, uint8_t **buf, size_t *len);
/* Write clip to path atomically (temp + rename). 0 or -errno. */
int wav_write(const char *path, const struct audio_clip *clip);
#endif

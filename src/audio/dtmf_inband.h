/* In-band DTMF detection for peers that send key tones inside the G.711
 * audio instead of as RFC 4733 events. Input is 8 kHz PCM16. Single owner,
 * one thread. */
#ifndef VG_AUDIO_DTMF_INBAND_H
#define VG_AUDIO_DTMF_INBAND_H
#include <stddef.h>
#include <stdint.h>

/* Detected keys not yet handed out are held up to this many; beyond it the
 * oldest is dropped (and counted). */
#define INBAND_DTMF_QUEUE 32

struct inband_dtmf;

/* Returns 0 (*dp set) or -ENOMEM. -EINVAL for NULL dp. */
int inband_dtmf_create(struct inband_dtmf **dp);

/* Run n samples through the detector and hand out the keys recognised so
 * far: digits_out gets up to cap - 1 of them ("0-9*#A-D") and a NUL; any
 * more stay queued for the next call. A key is reported once, when its tone
 * has been present long enough, however long it lasts. Returns the number of
 * keys written (>= 0) or -EINVAL (NULL d or digits_out, cap 0, or NULL pcm
 * with n > 0). */
int inband_dtmf_feed(struct inband_dtmf *d, const int16_t *pcm, size_t n,
		     char *digits_out, size_t cap);

/* Keys dropped because the queue was full. */
unsigned long inband_dtmf_dropped(const struct inband_dtmf *d);

/* Free d. NULL is a no-op. */
void inband_dtmf_destroy(struct inband_dtmf *d);
#endif

/* Call recordings: 8 kHz 16-bit mono WAV files of both directions mixed.
 * The media loop mixes 20 ms frames and buffers them (struct rec); a writer
 * thread (struct rec_writer) owns the files and does every disk access, fed
 * with owned messages through a bounded queue. Nothing here blocks the
 * media loop except the queue's mutex, held for a pointer swap. */
#ifndef VG_CALL_RECORD_H
#define VG_CALL_RECORD_H
#include <stddef.h>
#include <stdint.h>

#define REC_CHUNK_SAMPLES 8000u	  /* 1 s handed to the writer at a time */
#define REC_IN_FRAMES 4u	  /* caller frames buffered between ticks */
#define REC_MAX_BYTES 0xFFFFFF00u /* WAV size limit; later audio is cut */

struct rec_writer;
struct rec;

/* Start the writer thread for files in dir (created if missing, one
 * level). max_queued_bytes bounds the audio waiting for the disk (0: 8
 * MiB); beyond it chunks are replaced by a gap of silence of the same
 * length, so the file keeps the call's timing. Blocks (mkdir): call at
 * start-up. Returns 0, -EINVAL (dir empty or too long), -ENOMEM or -errno
 * from mkdir/pthread_create. */
int rec_writer_create(struct rec_writer **wp, const char *dir,
		      size_t max_queued_bytes);
/* Write out and close everything queued, stop the thread, free. Blocks.
 * NULL is a no-op. Recordings still open must be stopped first. */
void rec_writer_destroy(struct rec_writer *w);
/* Wait until everything queued so far is on disk (tests). Blocks. */
void rec_writer_sync(struct rec_writer *w);
const char *rec_writer_dir(const struct rec_writer *w);
/* Chunks replaced by silence because the queue was full, and files that
 * failed (open or write error), since creation. Any thread. */
uint64_t rec_writer_dropped(const struct rec_writer *w);
uint64_t rec_writer_failed(const struct rec_writer *w);

/* Start recording name ([A-Za-z0-9._-], no "..") to <dir>/<name>.wav.
 * The file is created by the writer (failures are logged there, with
 * log_id). Media loop. Returns 0, -EINVAL or -ENOMEM. */
int rec_start(struct rec **rp, struct rec_writer *w, const char *name,
	      const char *log_id);
/* A caller frame (160 samples) as it arrives; mixed in at the next tick. */
void rec_audio_in(struct rec *r, const int16_t *pcm);
/* One 20 ms tick: out[160] is what voxgate sent; mixed with the oldest
 * caller frame buffered (or silence). Paused: silence of the same length. */
void rec_tick(struct rec *r, const int16_t *out);
void rec_pause(struct rec *r);
void rec_resume(struct rec *r);
/* Samples recorded so far (paused spans included). */
uint64_t rec_samples(const struct rec *r);
/* Hand the rest to the writer, which then finalizes the header and closes
 * the file; free r. NULL is a no-op. */
void rec_stop(struct rec *r);
#endif

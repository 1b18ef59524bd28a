/* Call recordings (record.h): mixing and buffering on the media loop, files
 * on one writer thread. One thread keeps the chunks of every file in order
 * without per-file locking; the queue is the only shared state. */
#include "call/record.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"

#define FRAME 160u
#define WAV_HDR 44u
#define DIR_MAX 1024u
#define DEFAULT_MAX_QUEUED (8u << 20)

/* Writer side of one file: touched only by the writer thread once the
 * OPEN message is queued. */
struct rec_file {
	char path[DIR_MAX + 96];
	char log_id[64];
	int fd;
	bool failed;
	uint64_t data_bytes;
};

enum msg_type { MSG_OPEN, MSG_DATA, MSG_GAP, MSG_CLOSE };

struct rec_msg {
	struct rec_msg *next;
	enum msg_type type;
	struct rec_file *f;
	size_t nsamples; /* DATA: pcm[]; GAP: silence */
	int16_t pcm[];
};

struct rec_writer {
	char dir[DIR_MAX];
	size_t max_queued;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;	/* work queued or stopping */
	pthread_cond_t idle_cv; /* queue drained */
	struct rec_msg *head, *tail;
	size_t queued_bytes;
	bool busy; /* the thread holds a message */
	bool stop;
	uint64_t dropped, failed;
};

struct rec {
	struct rec_writer *w;
	struct rec_file *f;
	int16_t in[REC_IN_FRAMES][FRAME];
	unsigned in_head, in_len;
	struct rec_msg *chunk; /* being filled */
	struct rec_msg *close; /* allocated up front: stop cannot fail */
	bool paused;
	uint64_t samples;
};

/* ---- writer thread ---- */

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

/* A four-byte chunk tag (not a C string in the file). */
static void put_tag(uint8_t *p, const char *tag)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)tag[i];
}

static void wav_header(uint8_t h[WAV_HDR], uint32_t data_bytes)
{
	put_tag(h, "RIFF");
	put_le32(h + 4, 36 + data_bytes);
	put_tag(h + 8, "WAVE");
	put_tag(h + 12, "fmt ");
	put_le32(h + 16, 16);
	put_le16(h + 20, 1); /* PCM */
	put_le16(h + 22, 1); /* mono */
	put_le32(h + 24, 8000);
	put_le32(h + 28, 16000);
	put_le16(h + 32, 2);
	put_le16(h + 34, 16);
	put_tag(h + 36, "data");
	put_le32(h + 40, data_bytes);
}

static int write_all(int fd, const void *buf, size_t len, off_t off)
{
	const uint8_t *p = buf;
	while (len) {
		ssize_t n =
			off >= 0 ? pwrite(fd, p, len, off) : write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
		if (off >= 0)
			off += n;
	}
	return 0;
}

static void file_fail(struct rec_writer *w, struct rec_file *f,
		      const char *stage, int err)
{
	if (f->failed)
		return;
	f->failed = true;
	LOGE(f->log_id[0] ? f->log_id : NULL, "recording_failed",
	     "path=%s stage=%s err=%d", log_esc(f->path), stage, err);
	pthread_mutex_lock(&w->mu);
	w->failed++;
	pthread_mutex_unlock(&w->mu);
}

static void file_append(struct rec_writer *w, struct rec_file *f,
			const int16_t *pcm, size_t n)
{
	if (f->failed || f->fd < 0)
		return;
	size_t bytes = n * sizeof(int16_t);
	if (f->data_bytes + bytes > REC_MAX_BYTES - WAV_HDR)
		bytes = (size_t)(REC_MAX_BYTES - WAV_HDR - f->data_bytes) & ~1u;
	if (!bytes)
		return;
	/* The file is little-endian; so is every target we build for. */
	int err = write_all(f->fd, pcm, bytes, -1);
	if (err) {
		file_fail(w, f, "write", err);
		return;
	}
	f->data_bytes += bytes;
}

static void file_gap(struct rec_writer *w, struct rec_file *f, size_t n)
{
	static const int16_t zero[FRAME];
	while (n) {
		size_t k = n < FRAME ? n : FRAME;
		file_append(w, f, zero, k);
		n -= k;
	}
}

static void file_open(struct rec_writer *w, struct rec_file *f)
{
	f->fd = open(f->path,
		     O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
		     0640);
	if (f->fd < 0) {
		file_fail(w, f, "open", -errno);
		return;
	}
	uint8_t h[WAV_HDR];
	wav_header(h, 0);
	int err = write_all(f->fd, h, sizeof(h), -1);
	if (err)
		file_fail(w, f, "write", err);
	else
		LOGI(f->log_id[0] ? f->log_id : NULL, "recording_open",
		     "path=%s", log_esc(f->path));
}

static void file_close(struct rec_writer *w, struct rec_file *f)
{
	if (f->fd >= 0) {
		uint8_t h[WAV_HDR];
		wav_header(h, (uint32_t)f->data_bytes);
		int err = write_all(f->fd, h, sizeof(h), 0);
		if (err)
			file_fail(w, f, "header", err);
		if (close(f->fd) && !f->failed)
			file_fail(w, f, "close", -errno);
		if (!f->failed)
			LOGI(f->log_id[0] ? f->log_id : NULL, "recording_done",
			     "path=%s ms=%llu", log_esc(f->path),
			     (unsigned long long)(f->data_bytes / 16));
	}
	free(f);
}

static void handle(struct rec_writer *w, struct rec_msg *m)
{
	switch (m->type) {
	case MSG_OPEN:
		file_open(w, m->f);
		break;
	case MSG_DATA:
		file_append(w, m->f, m->pcm, m->nsamples);
		break;
	case MSG_GAP:
		file_gap(w, m->f, m->nsamples);
		break;
	case MSG_CLOSE:
		file_close(w, m->f);
		break;
	}
}

static void *writer_main(void *arg)
{
	struct rec_writer *w = arg;
	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!w->head && !w->stop)
			pthread_cond_wait(&w->cv, &w->mu);
		struct rec_msg *m = w->head;
		if (!m)
			break; /* stopping with nothing left */
		w->head = m->next;
		if (!w->head)
			w->tail = NULL;
		if (m->type == MSG_DATA)
			w->queued_bytes -= m->nsamples * sizeof(int16_t);
		w->busy = true;
		pthread_mutex_unlock(&w->mu);
		handle(w, m);
		free(m);
		pthread_mutex_lock(&w->mu);
		w->busy = false;
		if (!w->head)
			pthread_cond_broadcast(&w->idle_cv);
	}
	pthread_cond_broadcast(&w->idle_cv);
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* Queue m (ownership passes). A DATA message that would overflow the
 * queue is turned into a GAP of the same length: the file keeps its
 * timing, the audio is lost (counted). */
static void post(struct rec_writer *w, struct rec_msg *m)
{
	pthread_mutex_lock(&w->mu);
	if (m->type == MSG_DATA) {
		size_t bytes = m->nsamples * sizeof(int16_t);
		if (w->queued_bytes + bytes > w->max_queued) {
			m->type = MSG_GAP;
			w->dropped++;
		} else {
			w->queued_bytes += bytes;
		}
	}
	m->next = NULL;
	if (w->tail)
		w->tail->next = m;
	else
		w->head = m;
	w->tail = m;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

int rec_writer_create(struct rec_writer **wp, const char *dir,
		      size_t max_queued_bytes)
{
	if (!wp || !dir || !*dir || strlen(dir) >= DIR_MAX)
		return -EINVAL;
	if (mkdir(dir, 0750) && errno != EEXIST)
		return -errno;
	struct rec_writer *w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	snprintf(w->dir, sizeof(w->dir), "%s", dir);
	w->max_queued =
		max_queued_bytes ? max_queued_bytes : DEFAULT_MAX_QUEUED;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	pthread_cond_init(&w->idle_cv, NULL);
	int err = pthread_create(&w->thread, NULL, writer_main, w);
	if (err) {
		pthread_cond_destroy(&w->idle_cv);
		pthread_cond_destroy(&w->cv);
		pthread_mutex_destroy(&w->mu);
		free(w);
		return -err;
	}
	*wp = w;
	return 0;
}

void rec_writer_sync(struct rec_writer *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	while (w->head || w->busy)
		pthread_cond_wait(&w->idle_cv, &w->mu);
	pthread_mutex_unlock(&w->mu);
}

void rec_writer_destroy(struct rec_writer *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	pthread_cond_destroy(&w->idle_cv);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
}

const char *rec_writer_dir(const struct rec_writer *w)
{
	return w->dir;
}

uint64_t rec_writer_dropped(const struct rec_writer *w)
{
	struct rec_writer *mw = (struct rec_writer *)w;
	pthread_mutex_lock(&mw->mu);
	uint64_t n = w->dropped;
	pthread_mutex_unlock(&mw->mu);
	return n;
}

uint64_t rec_writer_failed(const struct rec_writer *w)
{
	struct rec_writer *mw = (struct rec_writer *)w;
	pthread_mutex_lock(&mw->mu);
	uint64_t n = w->failed;
	pthread_mutex_unlock(&mw->mu);
	return n;
}

/* ---- media loop side ---- */

static bool name_ok(const char *name)
{
	size_t n = strlen(name);
	if (!n || n > 80 || strstr(name, "..") || name[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '-' || c == '_' ||
			  c == '.';
		if (!ok)
			return false;
	}
	return true;
}

static struct rec_msg *msg_new(enum msg_type t, struct rec_file *f, size_t cap)
{
	struct rec_msg *m = malloc(sizeof(*m) + cap * sizeof(int16_t));
	if (!m)
		return NULL;
	m->next = NULL;
	m->type = t;
	m->f = f;
	m->nsamples = 0;
	return m;
}

int rec_start(struct rec **rp, struct rec_writer *w, const char *name,
	      const char *log_id)
{
	if (!rp || !w || !name || !name_ok(name))
		return -EINVAL;
	struct rec *r = calloc(1, sizeof(*r));
	struct rec_file *f = calloc(1, sizeof(*f));
	struct rec_msg *m = msg_new(MSG_OPEN, f, 0);
	struct rec_msg *c = msg_new(MSG_CLOSE, f, 0);
	if (!r || !f || !m || !c) {
		free(r);
		free(f);
		free(m);
		free(c);
		return -ENOMEM;
	}
	r->close = c;
	snprintf(f->path, sizeof(f->path), "%s/%s.wav", w->dir, name);
	snprintf(f->log_id, sizeof(f->log_id), "%s", log_id ? log_id : "");
	f->fd = -1;
	r->w = w;
	r->f = f;
	post(w, m);
	*rp = r;
	return 0;
}

void rec_audio_in(struct rec *r, const int16_t *pcm)
{
	if (!r || !pcm)
		return;
	if (r->in_len == REC_IN_FRAMES) {
		/* The caller's clock runs ahead of ours: drop the oldest. */
		r->in_head = (r->in_head + 1) % REC_IN_FRAMES;
		r->in_len--;
	}
	memcpy(r->in[(r->in_head + r->in_len) % REC_IN_FRAMES], pcm,
	       sizeof(r->in[0]));
	r->in_len++;
}

/* Hand the chunk being filled to the writer. */
static void flush_chunk(struct rec *r)
{
	struct rec_msg *m = r->chunk;
	if (!m)
		return;
	r->chunk = NULL;
	if (!m->nsamples) {
		free(m);
		return;
	}
	post(r->w, m);
}

static void append(struct rec *r, const int16_t *pcm)
{
	if (!r->chunk) {
		r->chunk = msg_new(MSG_DATA, r->f, REC_CHUNK_SAMPLES);
		if (!r->chunk) {
			/* Keep the timing: a small gap message, or nothing
			 * if even that fails. */
			struct rec_msg *g = msg_new(MSG_GAP, r->f, 0);
			if (g) {
				g->nsamples = FRAME;
				post(r->w, g);
			}
			return;
		}
	}
	struct rec_msg *m = r->chunk;
	if (pcm)
		memcpy(m->pcm + m->nsamples, pcm, FRAME * sizeof(int16_t));
	else
		memset(m->pcm + m->nsamples, 0, FRAME * sizeof(int16_t));
	m->nsamples += FRAME;
	if (m->nsamples + FRAME > REC_CHUNK_SAMPLES)
		flush_chunk(r);
}

void rec_tick(struct rec *r, const int16_t *out)
{
	if (!r)
		return;
	const int16_t *in = NULL;
	if (r->in_len) {
		in = r->in[r->in_head];
		r->in_head = (r->in_head + 1) % REC_IN_FRAMES;
		r->in_len--;
	}
	r->samples += FRAME;
	if (r->paused) {
		append(r, NULL);
		return;
	}
	int16_t mix[FRAME];
	for (unsigned i = 0; i < FRAME; i++) {
		int32_t v = (out ? out[i] : 0) + (in ? in[i] : 0);
		if (v > INT16_MAX)
			v = INT16_MAX;
		else if (v < INT16_MIN)
			v = INT16_MIN;
		mix[i] = (int16_t)v;
	}
	append(r, mix);
}

void rec_pause(struct rec *r)
{
	if (!r)
		return;
	r->paused = true;
	/* Caller audio buffered before the pause must not leak into it
	 * either way: drop it. */
	r->in_len = 0;
}

void rec_resume(struct rec *r)
{
	if (!r)
		return;
	r->paused = false;
	/* Frames that arrived while paused are from the paused span. */
	r->in_len = 0;
}

uint64_t rec_samples(const struct rec *r)
{
	return r ? r->samples : 0;
}

void rec_stop(struct rec *r)
{
	if (!r)
		return;
	flush_chunk(r);
	post(r->w, r->close);
	free(r);
}

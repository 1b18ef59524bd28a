/* Audio streams: bounded appends, publication to a reader on another thread
 * (every sample it sees is the one written), finish and its error, clips
 * in and out, and refcounting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "audio/clip.h"
#include "audio/stream.h"

static void writes_are_bounded_and_refused_after_finish(void **st)
{
	(void)st;
	struct audio_stream *s = NULL;
	assert_int_equal(audio_stream_alloc(&s, 0, 8000), -EINVAL);
	assert_int_equal(audio_stream_alloc(&s, 100, 0), -EINVAL);
	assert_int_equal(audio_stream_alloc(NULL, 100, 8000), -EINVAL);
	assert_null(s);
	assert_int_equal(audio_stream_alloc(&s, 100, 8000), 0);
	assert_int_equal(audio_stream_rate(s), 8000);
	assert_int_equal(audio_stream_max(s), 100);
	assert_int_equal(audio_stream_first_us(s), 0);

	int16_t pcm[101];
	for (int i = 0; i < 101; i++)
		pcm[i] = (int16_t)(i * 3);
	assert_int_equal(audio_stream_write(s, pcm, 60), 0);
	assert_true(audio_stream_first_us(s) > 0);
	/* 41 more do not fit: nothing is appended. */
	assert_int_equal(audio_stream_write(s, pcm, 41), -ENOSPC);
	assert_int_equal(audio_stream_len(s), 60);
	assert_int_equal(audio_stream_write(s, pcm + 60, 40), 0);
	assert_int_equal(audio_stream_len(s), 100);
	assert_int_equal(audio_stream_write(s, pcm, 0), 0);

	int err = 1;
	assert_false(audio_stream_done(s, &err));
	assert_int_equal(err, 1);
	assert_null(audio_stream_to_clip(s));
	audio_stream_finish(s, 0);
	audio_stream_finish(s, -EIO); /* idempotent: the first one stands */
	assert_true(audio_stream_done(s, &err));
	assert_int_equal(err, 0);
	assert_int_equal(audio_stream_write(s, pcm, 1), -EALREADY);

	int16_t out[128];
	assert_int_equal(audio_stream_read(s, 90, out, 128), 10);
	assert_memory_equal(out, pcm + 90, 10 * sizeof(int16_t));
	assert_int_equal(audio_stream_read(s, 100, out, 128), 0);
	assert_int_equal(audio_stream_read(s, 5000, out, 128), 0);
	size_t n = 0;
	assert_null(audio_stream_peek(s, 100, &n));
	assert_int_equal(n, 0);
	const int16_t *p = audio_stream_peek(s, 10, &n);
	assert_int_equal(n, 90);
	assert_memory_equal(p, pcm + 10, 90 * sizeof(int16_t));

	struct audio_clip *c = audio_stream_to_clip(s);
	assert_non_null(c);
	assert_int_equal(c->nsamples, 100);
	assert_int_equal(c->rate_hz, 8000);
	assert_memory_equal(c->samples, pcm, 100 * sizeof(int16_t));
	audio_clip_deref(c);
	assert_null(audio_stream_deref(s));
}

static void failed_stream_keeps_its_samples_and_gives_no_clip(void **st)
{
	(void)st;
	struct audio_stream *s = NULL;
	assert_int_equal(audio_stream_alloc(&s, 1000, 8000), 0);
	int16_t pcm[10] = { 1, 2, 3 };
	assert_int_equal(audio_stream_write(s, pcm, 10), 0);
	audio_stream_finish(s, -EIO);
	int err = 0;
	assert_true(audio_stream_done(s, &err));
	assert_int_equal(err, -EIO);
	assert_int_equal(audio_stream_len(s), 10);
	assert_null(audio_stream_to_clip(s));
	audio_stream_deref(s);
}

static void clip_stream_is_finished_and_shares_the_clip(void **st)
{
	(void)st;
	struct audio_clip *c = audio_clip_alloc(320, 8000);
	assert_non_null(c);
	for (size_t i = 0; i < 320; i++)
		c->samples[i] = (int16_t)(i - 160);
	struct audio_stream *s = NULL;
	assert_int_equal(audio_stream_from_clip(&s, c), 0);
	assert_int_equal(atomic_load(&c->refs), 2);
	int err = 1;
	assert_true(audio_stream_done(s, &err));
	assert_int_equal(err, 0);
	assert_int_equal(audio_stream_len(s), 320);
	assert_true(audio_stream_first_us(s) > 0);
	assert_int_equal(audio_stream_write(s, c->samples, 1), -EALREADY);
	size_t n = 0;
	assert_ptr_equal(audio_stream_peek(s, 0, &n), c->samples);
	struct audio_clip *back = audio_stream_to_clip(s);
	assert_ptr_equal(back, c);
	audio_clip_deref(back);

	/* The stream's reference keeps the samples alive. */
	struct audio_stream *s2 = audio_stream_ref(s);
	audio_clip_deref(c);
	assert_null(audio_stream_deref(s));
	int16_t out[4];
	assert_int_equal(audio_stream_read(s2, 316, out, 8), 4);
	assert_int_equal(out[3], 159);
	audio_stream_deref(s2);
	assert_int_equal(audio_stream_from_clip(&s, NULL), -EINVAL);
}

/* The writer publishes a ramp in uneven pieces; the reader polls and checks
 * every sample it is shown (a torn publication would show garbage). */
enum { TOTAL = 400000 };

struct pair {
	struct audio_stream *s;
	size_t read;
	int bad;
};

static void *writer_main(void *arg)
{
	struct audio_stream *s = arg;
	int16_t buf[997];
	size_t pos = 0;
	while (pos < TOTAL) {
		size_t n = 1 + (pos * 7919) % 997;
		if (n > TOTAL - pos)
			n = TOTAL - pos;
		for (size_t i = 0; i < n; i++)
			buf[i] = (int16_t)((pos + i) * 31);
		if (audio_stream_write(s, buf, n))
			abort();
		pos += n;
	}
	audio_stream_finish(s, 0);
	audio_stream_deref(s); /* the writer's reference */
	return NULL;
}

static void *reader_main(void *arg)
{
	struct pair *p = arg;
	int16_t buf[1500];
	for (;;) {
		bool done = audio_stream_done(p->s, NULL);
		size_t n = audio_stream_read(p->s, p->read, buf, 1500);
		for (size_t i = 0; i < n; i++) {
			if (buf[i] != (int16_t)((p->read + i) * 31))
				p->bad++;
		}
		p->read += n;
		if (done && n == 0)
			return NULL;
	}
}

static void reader_thread_sees_exactly_what_the_writer_published(void **st)
{
	(void)st;
	struct pair p = { 0 };
	assert_int_equal(audio_stream_alloc(&p.s, TOTAL, 8000), 0);
	pthread_t w, r;
	assert_int_equal(pthread_create(&r, NULL, reader_main, &p), 0);
	assert_int_equal(
		pthread_create(&w, NULL, writer_main, audio_stream_ref(p.s)),
		0);
	pthread_join(w, NULL);
	pthread_join(r, NULL);
	assert_int_equal(p.bad, 0);
	assert_int_equal(p.read, TOTAL);
	assert_int_equal(audio_stream_len(p.s), TOTAL);
	audio_stream_deref(p.s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(writes_are_bounded_and_refused_after_finish),
		cmocka_unit_test(
			failed_stream_keeps_its_samples_and_gives_no_clip),
		cmocka_unit_test(clip_stream_is_finished_and_shares_the_clip),
		cmocka_unit_test(
			reader_thread_sees_exactly_what_the_writer_published),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

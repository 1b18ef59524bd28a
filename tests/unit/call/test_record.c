/* Call recordings: the writer thread's WAV files, mixing of both
 * directions, pause as silence (PCI), and the media call's record op on a
 * virtual clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "call/call.h"
#include "call/call_rig.h"
#include "call/record.h"

static char dir[64];

static int setup(void **s)
{
	(void)s;
	snprintf(dir, sizeof(dir), "/tmp/vg-rec-XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int teardown(void **s)
{
	(void)s;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

/* Read <dir>/<name>.wav: checks the header, returns the samples. */
static int16_t *read_wav(const char *name, size_t *n)
{
	char path[160];
	snprintf(path, sizeof(path), "%s/%s.wav", dir, name);
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	uint8_t h[44];
	assert_int_equal(fread(h, 1, 44, f), 44);
	assert_memory_equal(h, "RIFF", 4);
	assert_memory_equal(h + 8, "WAVEfmt ", 8);
	uint32_t riff = h[4] | h[5] << 8 | h[6] << 16 | (uint32_t)h[7] << 24;
	uint32_t rate =
		h[24] | h[25] << 8 | h[26] << 16 | (uint32_t)h[27] << 24;
	uint32_t data =
		h[40] | h[41] << 8 | h[42] << 16 | (uint32_t)h[43] << 24;
	assert_int_equal(h[20], 1);  /* PCM */
	assert_int_equal(h[22], 1);  /* mono */
	assert_int_equal(h[34], 16); /* bits */
	assert_int_equal(rate, 8000);
	assert_int_equal(riff, 36 + data);
	struct stat st;
	assert_int_equal(fstat(fileno(f), &st), 0);
	assert_int_equal((size_t)st.st_size, 44 + (size_t)data);
	int16_t *pcm = malloc(data ? data : 1);
	assert_non_null(pcm);
	assert_int_equal(fread(pcm, 1, data, f), data);
	fclose(f);
	*n = data / 2;
	return pcm;
}

static void fill(int16_t *f, int16_t v)
{
	for (int i = 0; i < 160; i++)
		f[i] = v;
}

static void mixes_both_directions_and_pause_is_silence(void **s)
{
	(void)s;
	struct rec_writer *w = NULL;
	assert_int_equal(rec_writer_create(&w, dir, 0), 0);
	struct rec *r = NULL;
	assert_int_equal(rec_start(&r, w, "call-1", "id"), 0);
	int16_t out[160], in[160];
	fill(out, 100);
	fill(in, 20);
	/* 10 frames with both sides; the mix is the sum */
	for (int i = 0; i < 10; i++) {
		rec_audio_in(r, in);
		rec_tick(r, out);
	}
	/* 5 frames paused: caller audio (a card number) must not appear */
	rec_pause(r);
	fill(in, 7777);
	for (int i = 0; i < 5; i++) {
		rec_audio_in(r, in);
		rec_tick(r, out);
	}
	rec_audio_in(r, in); /* arrived during the pause, ticked after */
	rec_resume(r);
	/* 3 frames of voxgate alone; saturation at the top */
	fill(out, 32000);
	fill(in, 32000);
	rec_tick(r, out);
	rec_audio_in(r, in);
	rec_tick(r, out);
	fill(out, 0);
	rec_tick(r, out);
	assert_int_equal(rec_samples(r), 18 * 160);
	rec_stop(r);
	rec_writer_sync(w);
	size_t n = 0;
	int16_t *pcm = read_wav("call-1", &n);
	assert_int_equal(n, 18 * 160);
	for (size_t i = 0; i < 10 * 160; i++)
		assert_int_equal(pcm[i], 120);
	for (size_t i = 10 * 160; i < 15 * 160; i++)
		assert_int_equal(pcm[i], 0);
	for (size_t i = 15 * 160; i < 16 * 160; i++)
		assert_int_equal(pcm[i], 32000); /* pause-time frame dropped */
	for (size_t i = 16 * 160; i < 17 * 160; i++)
		assert_int_equal(pcm[i], 32767);
	for (size_t i = 17 * 160; i < 18 * 160; i++)
		assert_int_equal(pcm[i], 0);
	free(pcm);
	assert_int_equal(rec_writer_dropped(w), 0);
	assert_int_equal(rec_writer_failed(w), 0);
	rec_writer_destroy(w);
}

static void long_recording_spans_chunks_in_order(void **s)
{
	(void)s;
	struct rec_writer *w = NULL;
	assert_int_equal(rec_writer_create(&w, dir, 0), 0);
	struct rec *r = NULL;
	assert_int_equal(rec_start(&r, w, "long", NULL), 0);
	int16_t out[160];
	for (int i = 0; i < 300; i++) { /* 6 s: several 1 s chunks */
		fill(out, (int16_t)i);
		rec_tick(r, out);
	}
	rec_stop(r);
	rec_writer_destroy(w); /* destroy writes out what is queued */
	size_t n = 0;
	int16_t *pcm = read_wav("long", &n);
	assert_int_equal(n, 300 * 160);
	for (int i = 0; i < 300; i++)
		assert_int_equal(pcm[i * 160 + 159], i);
	free(pcm);
}

static void full_queue_keeps_length_as_silence(void **s)
{
	(void)s;
	struct rec_writer *w = NULL;
	/* room for less than one chunk: every chunk becomes a gap */
	assert_int_equal(rec_writer_create(&w, dir, 1000), 0);
	struct rec *r = NULL;
	assert_int_equal(rec_start(&r, w, "gap", NULL), 0);
	int16_t out[160];
	fill(out, 5);
	for (int i = 0; i < 100; i++)
		rec_tick(r, out);
	rec_stop(r);
	rec_writer_sync(w);
	assert_true(rec_writer_dropped(w) >= 1);
	size_t n = 0;
	int16_t *pcm = read_wav("gap", &n);
	assert_int_equal(n, 100 * 160);
	free(pcm);
	rec_writer_destroy(w);
}

static void bad_names_and_dirs_are_refused(void **s)
{
	(void)s;
	struct rec_writer *w = NULL;
	assert_int_equal(rec_writer_create(&w, "", 0), -EINVAL);
	assert_int_equal(rec_writer_create(&w, "/proc/no/such/dir", 0),
			 -ENOENT);
	assert_null(w);
	assert_int_equal(rec_writer_create(&w, dir, 0), 0);
	struct rec *r = NULL;
	assert_int_equal(rec_start(&r, w, "../etc/x", NULL), -EINVAL);
	assert_int_equal(rec_start(&r, w, "a/b", NULL), -EINVAL);
	assert_int_equal(rec_start(&r, w, ".hidden", NULL), -EINVAL);
	assert_int_equal(rec_start(&r, w, "", NULL), -EINVAL);
	assert_null(r);
	rec_writer_destroy(w);
}

static void unwritable_dir_counts_a_failure(void **s)
{
	(void)s;
	if (geteuid() == 0)
		skip(); /* root writes anywhere */
	char sub[128];
	snprintf(sub, sizeof(sub), "%s/ro", dir);
	struct rec_writer *w = NULL;
	assert_int_equal(rec_writer_create(&w, sub, 0), 0);
	assert_int_equal(chmod(sub, 0500), 0);
	struct rec *r = NULL;
	assert_int_equal(rec_start(&r, w, "x", NULL), 0);
	int16_t out[160] = { 0 };
	rec_tick(r, out);
	rec_stop(r);
	rec_writer_sync(w);
	assert_int_equal(rec_writer_failed(w), 1);
	rec_writer_destroy(w);
	assert_int_equal(chmod(sub, 0700), 0);
}

/* ---- the media call's record op ---- */

static void call_records_start_pause_resume_stop(void **s)
{
	(void)s;
	struct rec_writer *w = NULL;
	assert_int_equal(rec_writer_create(&w, dir, 0), 0);
	struct call *c = rig_call_create();
	struct channel *ch = call_channel(c);
	/* recording not enabled for this call */
	assert_int_equal(channel_record(ch, CHANNEL_REC_START), -ENOTSUP);
	call_set_recorder(c, w);
	/* not answered */
	assert_int_equal(channel_record(ch, CHANNEL_REC_START), -ENOTCONN);
	call_answer(c, 1000);
	call_signal(c, CALL_EV_ACK, 1000);
	assert_int_equal(channel_record(ch, CHANNEL_REC_PAUSE), -EINVAL);
	assert_int_equal(channel_record(ch, CHANNEL_REC_START), 0);
	assert_int_equal(channel_record(ch, CHANNEL_REC_START), 0);
	uint64_t t = 1000;
	int16_t out[160], in[160];
	fill(in, 300);
	for (int i = 0; i < 50; i++) { /* 1 s of caller audio */
		t += 20;
		call_audio_in(c, in, 160, t);
		call_tick(c, t, out);
	}
	assert_int_equal(channel_record(ch, CHANNEL_REC_PAUSE), 0);
	for (int i = 0; i < 25; i++) { /* 0.5 s paused */
		t += 20;
		call_audio_in(c, in, 160, t);
		call_tick(c, t, out);
	}
	assert_int_equal(channel_record(ch, CHANNEL_REC_RESUME), 0);
	for (int i = 0; i < 25; i++) {
		t += 20;
		call_audio_in(c, in, 160, t);
		call_tick(c, t, out);
	}
	assert_int_equal(channel_record(ch, CHANNEL_REC_STOP), 0);
	assert_int_equal(channel_record(ch, CHANNEL_REC_STOP), 0);
	/* one recording per call */
	assert_int_equal(channel_record(ch, CHANNEL_REC_START), -EALREADY);
	for (int i = 0; i < 10; i++) {
		t += 20;
		call_tick(c, t, out);
	}
	rec_writer_sync(w);
	size_t n = 0;
	int16_t *pcm = read_wav(call_id(c), &n);
	assert_int_equal(n, 100 * 160);
	assert_int_equal(pcm[10], 300);
	assert_int_equal(pcm[50 * 160 + 10], 0);
	assert_int_equal(pcm[74 * 160 + 10], 0);
	assert_int_equal(pcm[76 * 160 + 10], 300);
	free(pcm);
	call_destroy(c);
	rec_writer_destroy(w);
}

static void hangup_finalizes_the_recording(void **s)
{
	(void)s;
	struct rec_writer *w = NULL;
	assert_int_equal(rec_writer_create(&w, dir, 0), 0);
	struct call *c = rig_call_create();
	struct channel *ch = call_channel(c);
	call_set_recorder(c, w);
	call_answer(c, 1000);
	call_signal(c, CALL_EV_ACK, 1000);
	assert_int_equal(channel_record(ch, CHANNEL_REC_START), 0);
	int16_t out[160];
	for (int i = 0; i < 20; i++)
		call_tick(c, 1000 + 20 * (uint64_t)i, out);
	call_signal(c, CALL_EV_REMOTE_BYE, 1500);
	assert_int_equal(channel_record(ch, CHANNEL_REC_RESUME), -ENOTCONN);
	rec_writer_sync(w);
	size_t n = 0;
	int16_t *pcm = read_wav(call_id(c), &n);
	assert_int_equal(n, 20 * 160);
	free(pcm);
	call_destroy(c);
	rec_writer_destroy(w);
}

static void destroy_while_recording_finalizes(void **s)
{
	(void)s;
	struct rec_writer *w = NULL;
	assert_int_equal(rec_writer_create(&w, dir, 0), 0);
	struct call *c = rig_call_create();
	call_set_recorder(c, w);
	call_answer(c, 1000);
	call_signal(c, CALL_EV_ACK, 1000);
	assert_int_equal(channel_record(call_channel(c), CHANNEL_REC_START), 0);
	int16_t out[160];
	for (int i = 0; i < 7; i++)
		call_tick(c, 1000 + 20 * (uint64_t)i, out);
	char id[40];
	snprintf(id, sizeof(id), "%s", call_id(c));
	call_destroy(c);
	rec_writer_destroy(w);
	size_t n = 0;
	int16_t *pcm = read_wav(id, &n);
	assert_int_equal(n, 7 * 160);
	free(pcm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			mixes_both_directions_and_pause_is_silence, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			long_recording_spans_chunks_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(
			full_queue_keeps_length_as_silence, setup, teardown),
		cmocka_unit_test_setup_teardown(bad_names_and_dirs_are_refused,
						setup, teardown),
		cmocka_unit_test_setup_teardown(unwritable_dir_counts_a_failure,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			call_records_start_pause_resume_stop, setup, teardown),
		cmocka_unit_test_setup_teardown(hangup_finalizes_the_recording,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			destroy_while_recording_finalizes, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

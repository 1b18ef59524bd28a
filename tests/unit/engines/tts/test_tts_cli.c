/* `voxgate say`: writes a WAV at the asked rate, and answers bad usage with
 * exit code 2 and failures with 1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audio/clip.h"
#include "audio/wav.h"
#include "engines/tts/cli.h"

static char dir[] = "/tmp/vg-say-test-XXXXXX";

/* Run say with stdout and stderr silenced (the figures and usage are for
 * people; the exit code and the file are what we check). */
static int say(int argc, const char **argv)
{
	fflush(stdout);
	fflush(stderr);
	int out = dup(1), err = dup(2);
	int null = open("/dev/null", O_WRONLY);
	dup2(null, 1);
	dup2(null, 2);
	int rc = tts_cli_say(argc, (char **)argv);
	fflush(stdout);
	fflush(stderr);
	dup2(out, 1);
	dup2(err, 2);
	close(out);
	close(err);
	close(null);
	return rc;
}

#define SAY(...)                                            \
	({                                                  \
		const char *v_[] = { "say", __VA_ARGS__ };  \
		say((int)(sizeof(v_) / sizeof(v_[0])), v_); \
	})

static struct audio_clip *load(const char *path)
{
	struct audio_clip *c = NULL;
	assert_int_equal(wav_read(path, &c, NULL, 0), 0);
	return c;
}

static void say_writes_8k_and_16k_wav_files(void **st)
{
	(void)st;
	char p8[64], p16[64];
	snprintf(p8, sizeof(p8), "%s/a8.wav", dir);
	snprintf(p16, sizeof(p16), "%s/a16.wav", dir);
	assert_int_equal(SAY("Welcome to voxgate bank.", "-o", p8), 0);
	assert_int_equal(SAY("--voice", "slt", "--rate", "16000",
			     "Welcome to voxgate bank.", "--output", p16),
			 0);
	struct audio_clip *a = load(p8), *b = load(p16);
	assert_int_equal(a->rate_hz, 8000);
	assert_true(a->nsamples > 4000);
	assert_int_equal(b->rate_hz, 16000);
	assert_true(b->nsamples > 8000);
	audio_clip_deref(a);
	audio_clip_deref(b);
}

static void say_reports_usage_errors_with_exit_code_2(void **st)
{
	(void)st;
	char p[64];
	snprintf(p, sizeof(p), "%s/u.wav", dir);
	assert_int_equal(SAY("Hello"), 2);	 /* no -o */
	assert_int_equal(SAY("-o", p), 2);	 /* no text */
	assert_int_equal(SAY("Hello", "-o"), 2); /* no value */
	assert_int_equal(SAY("Hello", "-o", p, "--rate", "44100"), 2);
	assert_int_equal(SAY("Hello", "-o", p, "--voice", "nobody"), 2);
	assert_int_equal(SAY("Hello", "there", "-o", p), 2);
	assert_int_equal(SAY("Hello", "-o", p, "--bogus"), 2);
	assert_int_equal(SAY("   ", "-o", p), 2);
	assert_int_equal(SAY("--help"), 0);
	assert_int_equal(access(p, F_OK), -1); /* nothing written */
}

static void say_fails_with_exit_code_1_when_it_cannot_write(void **st)
{
	(void)st;
	char p[96];
	snprintf(p, sizeof(p), "%s/no/such/dir/x.wav", dir);
	assert_int_equal(SAY("Hello", "-o", p), 1);
}

int main(void)
{
	if (!mkdtemp(dir))
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(say_writes_8k_and_16k_wav_files),
		cmocka_unit_test(say_reports_usage_errors_with_exit_code_2),
		cmocka_unit_test(
			say_fails_with_exit_code_1_when_it_cannot_write),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	char cmd[96];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		rc = 1;
	return rc;
}

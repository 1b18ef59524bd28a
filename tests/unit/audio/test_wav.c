/* WAV reader and writer: table-driven well-formed and malformed files
 * (every format, chunk skipping and padding, bad sizes, truncation, chunk
 * order, limits), and print/write round trips. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audio/clip.h"
#include "audio/g711.h"
#include "audio/wav.h"

/* How to build one test file. Zero fields take the defaults of a mono
 * 8 kHz PCM16 file with 4 frames. */
struct spec {
	const char *name;
	unsigned tag, channels, rate, bits, block_align;
	unsigned fmt_size;    /* 16 (default), 18, 40 (extensible) */
	unsigned ext_tag;     /* sub-format tag for extensible */
	int bad_guid;	      /* extensible with an unknown GUID */
	int junk_before;      /* an odd-sized unknown chunk before fmt */
	int list_after;	      /* an unknown chunk after data */
	int data_first;	      /* data chunk before fmt */
	int no_data, two_fmt; /* chunk set errors */
	unsigned frames;      /* data frames (default 4) */
	unsigned extra_bytes; /* bytes after the frames (partial) */
	int64_t riff_size;    /* override; 0: computed */
	int64_t data_size;    /* override; 0: computed, < 0: zero */
	size_t cut;	      /* truncate the file by this many bytes */
	const char *magic;    /* override "RIFF" */
	int rc;		      /* expected */
	size_t nsamples;      /* expected on success */
	unsigned want_rate;   /* expected on success */
};

static uint8_t *put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	return p + 2;
}

static uint8_t *put32(uint8_t *p, uint32_t v)
{
	return put16(put16(p, v & 0xffff), v >> 16);
}

static uint8_t *chunk(uint8_t *p, const char *id, uint32_t size)
{
	memcpy(p, id, 4);
	return put32(p + 4, size);
}

/* Frame i, channel c: a sample that depends on both. */
static int16_t sample(unsigned i, unsigned c)
{
	return (int16_t)(1000 * (int)i - 700 * (int)c + 3);
}

static uint8_t *fmt_chunk(uint8_t *p, const struct spec *s, unsigned tag,
			  unsigned ch, unsigned bits, unsigned align)
{
	unsigned size = s->fmt_size ? s->fmt_size : 16;
	p = chunk(p, "fmt ", size);
	uint8_t *start = p;
	p = put16(p, tag);
	p = put16(p, ch);
	p = put32(p, s->rate ? s->rate : 8000);
	p = put32(p, (s->rate ? s->rate : 8000) * align);
	p = put16(p, align);
	p = put16(p, bits);
	if (size >= 18)
		p = put16(p, size >= 40 ? 22 : 0);
	if (size >= 40) {
		p = put16(p, bits);
		p = put32(p, ch == 2 ? 3 : 4);
		p = put16(p, s->ext_tag);
		static const uint8_t tail[14] = { 0x00, 0x00, 0x00, 0x00, 0x10,
						  0x00, 0x80, 0x00, 0x00, 0xaa,
						  0x00, 0x38, 0x9b, 0x71 };
		memcpy(p, tail, 14);
		if (s->bad_guid)
			p[5] ^= 0xff;
		p += 14;
	}
	while ((unsigned)(p - start) < size)
		*p++ = 0;
	return p;
}

static size_t build(uint8_t *buf, const struct spec *s)
{
	unsigned tag = s->tag ? s->tag : 1;
	unsigned ch = s->channels == 99 ? 0 : s->channels ? s->channels : 1;
	unsigned bits = s->bits ? s->bits : (tag == 6 || tag == 7 ? 8 : 16);
	unsigned align = s->block_align ? s->block_align : ch * bits / 8;
	unsigned eff_tag = tag == 0xfffe ? s->ext_tag : tag;
	unsigned frames = s->frames ? s->frames : 4;
	uint8_t *p = buf + 12;

	if (s->junk_before) {
		p = chunk(p, "junk", 3);
		*p++ = 'a';
		*p++ = 'b';
		*p++ = 'c';
		*p++ = 0; /* pad */
	}
	uint8_t data[4096];
	uint8_t *d = data;
	for (unsigned i = 0; i < frames; i++) {
		for (unsigned c = 0; c < (ch ? ch : 1); c++) {
			int16_t v = sample(i, c);
			if (eff_tag == 7)
				*d++ = audio_ulaw_encode(v);
			else if (eff_tag == 6)
				*d++ = audio_alaw_encode(v);
			else if (bits == 8)
				*d++ = (uint8_t)((v >> 8) + 128);
			else
				d = put16(d, (uint16_t)v);
		}
	}
	for (unsigned i = 0; i < s->extra_bytes; i++)
		*d++ = 0x55;
	size_t dlen = (size_t)(d - data);
	uint32_t dsize = s->data_size > 0   ? (uint32_t)s->data_size
			 : s->data_size < 0 ? 0
					    : (uint32_t)dlen;

	if (!s->data_first)
		p = fmt_chunk(p, s, tag, ch, bits, align);
	if (s->two_fmt)
		p = fmt_chunk(p, s, tag, ch, bits, align);
	if (!s->no_data) {
		p = chunk(p, "data", dsize);
		memcpy(p, data, dlen);
		p += dlen;
		if (dlen & 1)
			*p++ = 0;
	}
	if (s->data_first)
		p = fmt_chunk(p, s, tag, ch, bits, align);
	if (s->list_after) {
		p = chunk(p, "LIST", 4);
		memcpy(p, "INFO", 4);
		p += 4;
	}
	size_t len = (size_t)(p - buf);
	memcpy(buf, s->magic ? s->magic : "RIFF", 4);
	put32(buf + 4,
	      s->riff_size > 0 ? (uint32_t)s->riff_size : (uint32_t)(len - 8));
	memcpy(buf + 8, "WAVE", 4);
	return len - s->cut;
}

static const struct spec cases[] = {
	{ "pcm16 mono 8k", .nsamples = 4, .want_rate = 8000 },
	{ "pcm16 stereo 16k mixed down", .channels = 2, .rate = 16000,
	  .nsamples = 4, .want_rate = 16000 },
	{ "pcm8 mono", .bits = 8, .nsamples = 4, .want_rate = 8000 },
	{ "u-law", .tag = 7, .nsamples = 4, .want_rate = 8000 },
	{ "A-law stereo", .tag = 6, .channels = 2, .nsamples = 4,
	  .want_rate = 8000 },
	{ "fmt of 18 bytes", .fmt_size = 18, .nsamples = 4, .want_rate = 8000 },
	{ "extensible pcm16", .tag = 0xfffe, .fmt_size = 40, .ext_tag = 1,
	  .nsamples = 4, .want_rate = 8000 },
	{ "extensible u-law", .tag = 0xfffe, .fmt_size = 40, .ext_tag = 7,
	  .bits = 8, .nsamples = 4, .want_rate = 8000 },
	{ "odd junk chunk skipped with its pad", .junk_before = 1,
	  .nsamples = 4, .want_rate = 8000 },
	{ "chunk after data ignored", .list_after = 1, .nsamples = 4,
	  .want_rate = 8000 },
	{ "partial trailing frame dropped", .extra_bytes = 1, .nsamples = 4,
	  .want_rate = 8000 },
	{ "streamed sizes (0xffffffff)", .riff_size = 0xffffffff,
	  .data_size = 0xffffffff, .nsamples = 4, .want_rate = 8000 },
	{ "empty data", .data_size = -1, .nsamples = 0, .want_rate = 8000 },
	{ "not RIFF", .magic = "RIFX", .rc = -EBADMSG },
	{ "truncated in data", .cut = 3, .rc = -EBADMSG },
	{ "truncated to the header", .frames = 1, .cut = 22, .rc = -EBADMSG },
	{ "RIFF size beyond the file", .riff_size = 1000, .rc = -EBADMSG },
	{ "RIFF size too small", .riff_size = 2, .rc = -EBADMSG },
	{ "data size beyond the file", .data_size = 100000, .rc = -EBADMSG },
	{ "huge data size", .data_size = 0xfffffff0, .rc = -EBADMSG },
	{ "zero channels", .channels = 99, .block_align = 2, .rc = -EBADMSG },
	{ "three channels", .channels = 3, .rc = -ENOTSUP },
	{ "rate too low", .rate = 1000, .rc = -ENOTSUP },
	{ "rate too high", .rate = 400000, .rc = -ENOTSUP },
	{ "float", .tag = 3, .bits = 32, .rc = -ENOTSUP },
	{ "24-bit pcm", .bits = 24, .rc = -ENOTSUP },
	{ "u-law of 16 bits", .tag = 7, .bits = 16, .rc = -ENOTSUP },
	{ "block align mismatch", .block_align = 3, .rc = -EBADMSG },
	{ "short fmt", .fmt_size = 14, .rc = -EBADMSG },
	{ "short extensible fmt", .tag = 0xfffe, .fmt_size = 18, .ext_tag = 1,
	  .rc = -EBADMSG },
	{ "extensible with an unknown GUID", .tag = 0xfffe, .fmt_size = 40,
	  .ext_tag = 1, .bad_guid = 1, .rc = -ENOTSUP },
	{ "data before fmt", .data_first = 1, .rc = -EBADMSG },
	{ "no data chunk", .no_data = 1, .rc = -EBADMSG },
	{ "two fmt chunks", .two_fmt = 1, .rc = -EBADMSG },
};

static void every_case_parses_or_fails_as_expected(void **st)
{
	(void)st;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct spec *s = &cases[i];
		uint8_t buf[8192];
		size_t len = build(buf, s);
		struct audio_clip *c = NULL;
		char err[128] = "";
		int rc = wav_parse(buf, len, &c, err, sizeof(err));
		if (rc != s->rc)
			fail_msg("%s: rc %d, want %d (%s)", s->name, rc, s->rc,
				 err);
		if (rc) {
			assert_null(c);
			if (!err[0])
				fail_msg("%s: no message", s->name);
			continue;
		}
		assert_non_null(c);
		if (c->nsamples != s->nsamples || c->rate_hz != s->want_rate)
			fail_msg("%s: %zu samples at %u", s->name, c->nsamples,
				 c->rate_hz);
		unsigned ch = s->channels ? s->channels : 1;
		unsigned tag = s->tag == 0xfffe ? s->ext_tag : s->tag;
		for (size_t k = 0; k < c->nsamples; k++) {
			int32_t want = 0;
			for (unsigned j = 0; j < ch; j++) {
				int16_t v = sample((unsigned)k, j);
				if (tag == 7)
					v = audio_ulaw_decode(
						audio_ulaw_encode(v));
				else if (tag == 6)
					v = audio_alaw_decode(
						audio_alaw_encode(v));
				else if (s->bits == 8)
					v = (int16_t)((v >> 8) * 256);
				want += v;
			}
			want /= (int32_t)ch;
			if (c->samples[k] != want)
				fail_msg("%s: sample %zu is %d, want %d",
					 s->name, k, c->samples[k], want);
		}
		audio_clip_deref(c);
	}
}

static void every_truncation_of_a_valid_file_is_safe(void **st)
{
	(void)st;
	struct spec s = { .junk_before = 1,
			  .list_after = 1,
			  .tag = 0xfffe,
			  .fmt_size = 40,
			  .ext_tag = 1 };
	uint8_t buf[8192];
	size_t len = build(buf, &s);
	for (size_t n = 0; n <= len; n++) {
		/* An exact-size heap copy, so ASan sees any over-read. */
		uint8_t *copy = malloc(n ? n : 1);
		memcpy(copy, buf, n);
		struct audio_clip *c = NULL;
		int rc = wav_parse(copy, n, &c, NULL, 0);
		assert_true(rc == 0 || rc == -EBADMSG);
		assert_true(rc != 0 || c != NULL);
		audio_clip_deref(c);
		free(copy);
	}
}

static void oversized_input_is_refused_before_reading(void **st)
{
	(void)st;
	uint8_t b[4] = { 0 };
	struct audio_clip *c = NULL;
	assert_int_equal(wav_parse(b, (size_t)WAV_MAX_BYTES + 1, &c, NULL, 0),
			 -E2BIG);
	assert_int_equal(wav_parse(NULL, 0, &c, NULL, 0), -EINVAL);
	assert_null(c);
}

static struct audio_clip *ramp(size_t n, unsigned rate)
{
	struct audio_clip *c = audio_clip_alloc(n, rate);
	for (size_t i = 0; i < n; i++)
		c->samples[i] = (int16_t)(i * 37 - 20000);
	return c;
}

static void printed_wav_parses_back_to_the_same_clip(void **st)
{
	(void)st;
	struct audio_clip *c = ramp(1001, 16000);
	uint8_t *buf = NULL;
	size_t len = 0;
	assert_int_equal(wav_print(c, &buf, &len), 0);
	assert_int_equal(len, 44 + 2002);
	assert_memory_equal(buf, "RIFF", 4);
	struct audio_clip *back = NULL;
	assert_int_equal(wav_parse(buf, len, &back, NULL, 0), 0);
	assert_int_equal(back->rate_hz, 16000);
	assert_int_equal(back->nsamples, 1001);
	assert_memory_equal(back->samples, c->samples, 2002);
	free(buf);
	audio_clip_deref(back);
	audio_clip_deref(c);
	assert_int_equal(wav_print(NULL, &buf, &len), -EINVAL);
}

static void write_is_atomic_and_reads_back(void **st)
{
	(void)st;
	char dir[] = "/tmp/vg-wav-test-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[128];
	snprintf(path, sizeof(path), "%s/a.wav", dir);
	struct audio_clip *c = ramp(800, 8000);
	assert_int_equal(wav_write(path, c), 0);
	/* Overwrite in place: readers see the old or the new file. */
	assert_int_equal(wav_write(path, c), 0);
	struct audio_clip *back = NULL;
	char err[128];
	assert_int_equal(wav_read(path, &back, err, sizeof(err)), 0);
	assert_int_equal(back->nsamples, 800);
	assert_memory_equal(back->samples, c->samples, 1600);
	audio_clip_deref(back);

	/* No temporary file left behind. */
	DIR *d = opendir(dir);
	int files = 0;
	for (struct dirent *e; (e = readdir(d));)
		files += e->d_name[0] != '.';
	closedir(d);
	assert_int_equal(files, 1);

	assert_int_equal(wav_read(dir, &back, err, sizeof(err)), -EINVAL);
	snprintf(path, sizeof(path), "%s/missing.wav", dir);
	assert_int_equal(wav_read(path, &back, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "missing.wav"));
	snprintf(path, sizeof(path), "%s/no/such/dir.wav", dir);
	assert_int_equal(wav_write(path, c), -ENOENT);
	audio_clip_deref(c);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_case_parses_or_fails_as_expected),
		cmocka_unit_test(every_truncation_of_a_valid_file_is_safe),
		cmocka_unit_test(oversized_input_is_refused_before_reading),
		cmocka_unit_test(printed_wav_parses_back_to_the_same_clip),
		cmocka_unit_test(write_is_atomic_and_reads_back),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

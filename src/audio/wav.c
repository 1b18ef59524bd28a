/* WAV reader and writer (see wav.h). The reader walks RIFF chunks with every
 * offset checked against the end of the buffer before it is used. */
#include "audio/wav.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audio/clip.h"
#include "audio/g711.h"

enum {
	FMT_PCM = 1,
	FMT_FLOAT = 3,
	FMT_ALAW = 6,
	FMT_ULAW = 7,
	FMT_EXTENSIBLE = 0xfffe,
	RATE_MIN = 4000,
	RATE_MAX = 192000,
	HEADER_LEN = 44,
};

/* The tail shared by every KSDATAFORMAT_SUBTYPE_* GUID; the first two bytes
 * of the sub-format are the classic format tag. */
static const uint8_t guid_tail[14] = {
	0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80,
	0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71
};

struct fmt {
	unsigned tag, channels, rate_hz, block_align, bits;
};

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

/* A four-character code, without its NUL. */
static void put_id(uint8_t *p, const char id[4])
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)id[i];
}

__attribute__((format(printf, 4, 5))) static int
fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

static int fmt_parse(const uint8_t *p, uint32_t size, struct fmt *f, char *err,
		     size_t errlen)
{
	if (size < 16)
		return fail(err, errlen, -EBADMSG, "fmt chunk of %u bytes",
			    size);
	*f = (struct fmt){
		.tag = le16(p),
		.channels = le16(p + 2),
		.rate_hz = le32(p + 4),
		.block_align = le16(p + 12),
		.bits = le16(p + 14),
	};
	if (f->tag == FMT_EXTENSIBLE) {
		/* cbSize (2) + valid bits (2) + channel mask (4) + GUID (16) */
		if (size < 40 || le16(p + 16) < 22)
			return fail(err, errlen, -EBADMSG,
				    "short WAVE_FORMAT_EXTENSIBLE fmt chunk");
		if (memcmp(p + 26, guid_tail, sizeof(guid_tail)))
			return fail(err, errlen, -ENOTSUP,
				    "unknown extensible sub-format");
		unsigned valid = le16(p + 18);
		if (valid > f->bits)
			return fail(err, errlen, -EBADMSG,
				    "%u valid bits in %u-bit samples", valid,
				    f->bits);
		f->tag = le16(p + 24);
	}
	if (f->channels == 0)
		return fail(err, errlen, -EBADMSG, "zero channels");
	if (f->channels > 2)
		return fail(err, errlen, -ENOTSUP, "%u channels", f->channels);
	if (f->rate_hz < RATE_MIN || f->rate_hz > RATE_MAX)
		return fail(err, errlen, -ENOTSUP, "rate %u Hz", f->rate_hz);
	bool ok = (f->tag == FMT_PCM && (f->bits == 16 || f->bits == 8)) ||
		  ((f->tag == FMT_ULAW || f->tag == FMT_ALAW) && f->bits == 8);
	if (!ok)
		return fail(err, errlen, -ENOTSUP,
			    "format %#x with %u bits (want PCM 8/16-bit, "
			    "u-law or A-law)",
			    f->tag, f->bits);
	if (f->block_align != f->channels * f->bits / 8)
		return fail(err, errlen, -EBADMSG,
			    "block align %u for %u channels of %u bits",
			    f->block_align, f->channels, f->bits);
	return 0;
}

static int16_t sample_at(const struct fmt *f, const uint8_t *p)
{
	switch (f->tag) {
	case FMT_ULAW:
		return audio_ulaw_decode(*p);
	case FMT_ALAW:
		return audio_alaw_decode(*p);
	default:
		/* 8-bit PCM is unsigned with 128 as zero. */
		return f->bits == 8 ? (int16_t)((*p - 128) * 256)
				    : (int16_t)le16(p);
	}
}

static int data_decode(const struct fmt *f, const uint8_t *p, size_t len,
		       struct audio_clip **clipp)
{
	/* A trailing partial frame (a truncated copy) is dropped. */
	size_t frames = len / f->block_align;
	struct audio_clip *c = audio_clip_alloc(frames, f->rate_hz);
	if (!c)
		return -ENOMEM;
	size_t width = f->bits / 8;
	for (size_t i = 0; i < frames; i++) {
		const uint8_t *fr = p + i * f->block_align;
		int32_t v = sample_at(f, fr);
		if (f->channels == 2)
			v = (v + sample_at(f, fr + width)) / 2;
		c->samples[i] = (int16_t)v;
	}
	*clipp = c;
	return 0;
}

int wav_parse(const uint8_t *buf, size_t len, struct audio_clip **clipp,
	      char *err, size_t errlen)
{
	if (!buf || !clipp)
		return fail(err, errlen, -EINVAL, "no buffer");
	if (len > WAV_MAX_BYTES)
		return fail(err, errlen, -E2BIG, "%zu bytes (max %u)", len,
			    WAV_MAX_BYTES);
	if (len < 12 || memcmp(buf, "RIFF", 4) || memcmp(buf + 8, "WAVE", 4))
		return fail(err, errlen, -EBADMSG, "not a RIFF/WAVE file");
	uint32_t riff = le32(buf + 4);
	size_t end = len;
	/* 0xffffffff is what streaming writers leave when they cannot seek
	 * back; otherwise the RIFF size must lie within the buffer. Bytes
	 * after it are not ours to parse. */
	if (riff != UINT32_MAX) {
		if (riff < 4 || riff > len - 8)
			return fail(err, errlen, -EBADMSG,
				    "RIFF size %u for %zu bytes (truncated?)",
				    riff, len);
		end = (size_t)riff + 8;
	}

	struct fmt f = { 0 };
	bool have_fmt = false;
	size_t off = 12;
	while (end - off >= 8) {
		const uint8_t *ck = buf + off;
		uint32_t size = le32(ck + 4);
		size_t room = end - off - 8;
		bool is_data = !memcmp(ck, "data", 4);
		if (size > room) {
			if (!is_data || size != UINT32_MAX)
				return fail(err, errlen, -EBADMSG,
					    "chunk '%.4s' of %u bytes with "
					    "%zu left",
					    (const char *)ck, size, room);
			size = (uint32_t)room; /* streamed: to the end */
		}
		if (!memcmp(ck, "fmt ", 4)) {
			if (have_fmt)
				return fail(err, errlen, -EBADMSG,
					    "two fmt chunks");
			int rc = fmt_parse(ck + 8, size, &f, err, errlen);
			if (rc)
				return rc;
			have_fmt = true;
		} else if (is_data) {
			if (!have_fmt)
				return fail(err, errlen, -EBADMSG,
					    "data chunk before fmt");
			int rc = data_decode(&f, ck + 8, size, clipp);
			if (rc)
				return fail(err, errlen, rc, "out of memory");
			return 0;
		}
		/* Chunks are padded to an even size; a missing pad byte at
		 * the very end is tolerated. */
		size_t step = 8 + (size_t)size + (size & 1);
		if (step > end - off)
			break;
		off += step;
	}
	return fail(err, errlen, -EBADMSG,
		    have_fmt ? "no data chunk" : "no fmt chunk");
}

int wav_read(const char *path, struct audio_clip **clipp, char *err,
	     size_t errlen)
{
	if (!path || !clipp)
		return fail(err, errlen, -EINVAL, "no path");
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(err, errlen, -errno, "%s: %s", path,
			    strerror(errno));
	struct stat st;
	int rc = 0;
	uint8_t *buf = NULL;
	if (fstat(fd, &st)) {
		rc = fail(err, errlen, -errno, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = fail(err, errlen, -EINVAL, "%s: not a regular file", path);
		goto out;
	}
	if ((uint64_t)st.st_size > WAV_MAX_BYTES) {
		rc = fail(err, errlen, -E2BIG, "%s: %lld bytes (max %u)", path,
			  (long long)st.st_size, WAV_MAX_BYTES);
		goto out;
	}
	size_t want = (size_t)st.st_size;
	buf = malloc(want ? want : 1);
	if (!buf) {
		rc = fail(err, errlen, -ENOMEM, "out of memory");
		goto out;
	}
	size_t got = 0;
	while (got < want) {
		ssize_t n = read(fd, buf + got, want - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = fail(err, errlen, -errno, "%s: %s", path,
				  strerror(errno));
			goto out;
		}
		if (n == 0)
			break; /* shrank meanwhile: parse what we have */
		got += (size_t)n;
	}
	rc = wav_parse(buf, got, clipp, err, errlen);
out:
	free(buf);
	close(fd);
	return rc;
}

int wav_print(const struct audio_clip *clip, uint8_t **bufp, size_t *lenp)
{
	if (!clip || !bufp || !lenp || !clip->rate_hz ||
	    clip->rate_hz > UINT32_MAX / 2 ||
	    clip->nsamples > (UINT32_MAX - HEADER_LEN) / 2)
		return -EINVAL;
	size_t data = clip->nsamples * 2;
	uint8_t *b = malloc(HEADER_LEN + data);
	if (!b)
		return -ENOMEM;
	put_id(b, "RIFF");
	put32(b + 4, (uint32_t)(36 + data));
	put_id(b + 8, "WAVE");
	put_id(b + 12, "fmt ");
	put32(b + 16, 16);
	put16(b + 20, FMT_PCM);
	put16(b + 22, 1);
	put32(b + 24, clip->rate_hz);
	put32(b + 28, clip->rate_hz * 2);
	put16(b + 32, 2);
	put16(b + 34, 16);
	put_id(b + 36, "data");
	put32(b + 40, (uint32_t)data);
	for (size_t i = 0; i < clip->nsamples; i++)
		put16(b + HEADER_LEN + 2 * i, (uint16_t)clip->samples[i]);
	*bufp = b;
	*lenp = HEADER_LEN + data;
	return 0;
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int wav_write(const char *path, const struct audio_clip *clip)
{
	static atomic_uint seq;
	if (!path || !clip)
		return -EINVAL;
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc = wav_print(clip, &buf, &len);
	if (rc)
		return rc;
	/* A unique temporary name in the same directory, so rename() is
	 * atomic and concurrent writers of one path never share a file. */
	char tmp[4096];
	int n = snprintf(tmp, sizeof(tmp), "%s.tmp.%ld.%u", path,
			 (long)getpid(), atomic_fetch_add(&seq, 1));
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		free(buf);
		return -ENAMETOOLONG;
	}
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		rc = -errno;
		free(buf);
		return rc;
	}
	rc = write_all(fd, buf, len);
	free(buf);
	if (close(fd) && !rc)
		rc = -errno;
	if (!rc && rename(tmp, path))
		rc = -errno;
	if (rc)
		unlink(tmp);
	return rc;
}

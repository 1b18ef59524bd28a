/* AudioHook audio de-interleaving (see ahmix.h). */
#include "telephony/genesys/ahmix.h"

#include <errno.h>
#include <string.h>

#include "audio/g711.h"

int ahmix_init(struct ahmix *x, const struct ahmsg_media *media)
{
	if (!x || !media || media->format == AHMSG_FMT_NONE ||
	    media->rate_hz != 8000 || media->nchannels < 1 ||
	    media->nchannels > 2)
		return -EINVAL;
	if (media->nchannels == 2 && media->channels[0] == media->channels[1])
		return -EINVAL;
	memset(x, 0, sizeof(*x));
	x->media = *media;
	return 0;
}

size_t ahmix_frame_bytes(const struct ahmix *x)
{
	size_t b = x->media.format == AHMSG_FMT_L16 ? 2 : 1;
	return b * x->media.nchannels;
}

size_t ahmix_max_frames(const struct ahmix *x, size_t len)
{
	return (x->ncarry + len) / ahmix_frame_bytes(x);
}

static int16_t sample_at(const struct ahmix *x, const uint8_t *p)
{
	if (x->media.format == AHMSG_FMT_L16)
		return (int16_t)(uint16_t)(p[0] | (p[1] << 8));
	return audio_ulaw_decode(p[0]);
}

static void put(const struct ahmix *x, const uint8_t *frame, int16_t *ext,
		int16_t *in, size_t i)
{
	size_t sb = x->media.format == AHMSG_FMT_L16 ? 2 : 1;
	for (unsigned c = 0; c < x->media.nchannels; c++) {
		int16_t v = sample_at(x, frame + c * sb);
		int16_t *dst =
			x->media.channels[c] == AHMSG_CH_EXTERNAL ? ext : in;
		if (dst)
			dst[i] = v;
	}
}

int ahmix_split(struct ahmix *x, const uint8_t *data, size_t len, int16_t *ext,
		int16_t *in, size_t cap)
{
	if (!x || (!data && len))
		return -EINVAL;
	size_t fb = ahmix_frame_bytes(x);
	size_t total = ahmix_max_frames(x, len);
	if (total > cap)
		return -ENOSPC;
	if (!len)
		return 0; /* nothing new; a partial frame stays carried */
	size_t n = 0;
	if (x->ncarry) {
		size_t need = fb - x->ncarry;
		if (len < need) {
			memcpy(x->carry + x->ncarry, data, len);
			x->ncarry += len;
			return 0;
		}
		uint8_t frame[4];
		memcpy(frame, x->carry, x->ncarry);
		memcpy(frame + x->ncarry, data, need);
		put(x, frame, ext, in, n++);
		data += need;
		len -= need;
		x->ncarry = 0;
	}
	while (len >= fb) {
		put(x, data, ext, in, n++);
		data += fb;
		len -= fb;
	}
	memcpy(x->carry, data, len);
	x->ncarry = len;
	x->frames += n;
	return (int)n;
}

int ahmix_join(const struct ahmix *x, const int16_t *ext, const int16_t *in,
	       size_t n, uint8_t *out, size_t cap)
{
	if (!x || !out)
		return -EINVAL;
	size_t fb = ahmix_frame_bytes(x);
	if (n > cap / fb)
		return -ENOSPC;
	size_t sb = x->media.format == AHMSG_FMT_L16 ? 2 : 1;
	uint8_t *o = out;
	for (size_t i = 0; i < n; i++) {
		for (unsigned c = 0; c < x->media.nchannels; c++) {
			const int16_t *src =
				x->media.channels[c] == AHMSG_CH_EXTERNAL ? ext
									  : in;
			int16_t v = src ? src[i] : 0;
			if (sb == 2) {
				o[0] = (uint8_t)((uint16_t)v & 0xff);
				o[1] = (uint8_t)((uint16_t)v >> 8);
			} else {
				o[0] = audio_ulaw_encode(v);
			}
			o += sb;
		}
	}
	return (int)(n * fb);
}

/* wav2pcap: wrap 8 kHz mono speech (WAV or raw s16le) as a pcap file of
 * RTP G.711 packets, one per 20 ms, for sipp's play_pcap_audio. A test tool
 * for tests/integration (a caller that speaks); standalone on purpose so
 * lib.sh can compile it with plain cc when the build dir has no copy.
 *
 *   wav2pcap [-a] [-p PT] [-s SSRC] [-q SEQ] [-T TS] [-l LEAD_MS]
 *            [-t TRAIL_MS] [-g GAIN_DB] [-r] IN.wav|IN.raw|- OUT.pcap
 *
 * -a   PCMA (A-law, payload type 8) instead of PCMU (u-law, 0)
 * -p   payload type written in the RTP header (default 0, or 8 with -a)
 * -s   SSRC (default 0x766f7867, "voxg")
 * -q   first sequence number, -T first RTP timestamp (default 0 and 0)
 * -l   silence (G.711 silence code) before the audio, ms, rounded up
 *      to 20 ms packets; -t the same after it
 * -g   gain in dB applied before encoding (clipped), default 0
 * -r   IN is raw signed 16-bit little-endian 8 kHz mono, not WAV
 *
 * The pcap is the classic format (magic a1b2c3d4, microseconds, link type
 * Ethernet), the shape of the pcaps in /usr/share/sip-tester: Ethernet, IPv4,
 * UDP 127.0.0.1:6000 -> 127.0.0.1:6002 (sipp replaces the addresses and
 * ports: it sends from its media port to the port of the SDP answer) and
 * RTP. Packet k has capture time k * 20 ms, which sipp uses to pace them.
 * Only the first packet has the marker bit (one talk spurt).
 *
 * Exit status: 0 written, 1 I/O or format error, 2 bad usage. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RATE_HZ 8000
#define FRAME_SAMPLES 160 /* 20 ms at 8 kHz */
#define PTIME_US 20000
/* 15 minutes of audio: far more than any test needs, and a hard cap on
 * what a bad header can make us allocate. */
#define MAX_SAMPLES (15u * 60u * RATE_HZ)
#define MAX_FILE (2u * MAX_SAMPLES + 1024u * 1024u)

#define ETH_LEN 14
#define IP_LEN 20
#define UDP_LEN 8
#define RTP_LEN 12
#define PKT_LEN (ETH_LEN + IP_LEN + UDP_LEN + RTP_LEN + FRAME_SAMPLES)

struct opts {
	bool alaw, raw;
	int pt;
	uint32_t ssrc, ts0;
	uint16_t seq0;
	unsigned lead_ms, trail_ms;
	double gain_db;
	const char *in, *out;
};

static void usage(void)
{
	fprintf(stderr, "usage: wav2pcap [-a] [-p PT] [-s SSRC] [-q SEQ] "
			"[-T TS] [-l LEAD_MS] [-t TRAIL_MS] [-g GAIN_DB] "
			"[-r] IN.wav|IN.raw|- OUT.pcap\n");
}

/* G.711 u-law (ITU-T G.711, the biased segment form). */
static uint8_t ulaw_encode(int16_t pcm)
{
	int s = pcm, sign = 0, exp = 7, mask;

	if (s < 0) {
		s = -s;
		sign = 0x80;
	}
	if (s > 32635)
		s = 32635;
	s += 0x84;
	for (mask = 0x4000; (s & mask) == 0 && exp > 0; mask >>= 1)
		exp--;
	return (uint8_t) ~(sign | (exp << 4) | ((s >> (exp + 3)) & 0x0f));
}

/* G.711 A-law: 13-bit magnitude, segment 0 is linear, then one segment per
 * power of two; even bits inverted (xor 0x55), sign bit set for >= 0. */
static uint8_t alaw_encode(int16_t pcm)
{
	int s = pcm, sign = 0x80, mag, seg, mant;

	if (s < 0) {
		s = -s - 1;
		sign = 0;
	}
	mag = s >> 3; /* 0..4095 */
	if (mag < 32) {
		seg = 0;
		mant = mag >> 1;
	} else {
		seg = 1;
		while (seg < 7 && mag >= (64 << (seg - 1)))
			seg++;
		mant = (mag >> seg) & 0x0f;
	}
	return (uint8_t)((sign | (seg << 4) | mant) ^ 0x55);
}

static uint32_t rd32le(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint16_t rd16le(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

/* Read a whole file (or stdin for "-"), at most MAX_FILE bytes. */
static int read_all(const char *path, uint8_t **bufp, size_t *lenp)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	uint8_t *buf;
	size_t len = 0, cap = 64 * 1024;
	int err = 0;

	if (!f)
		return -errno;
	buf = malloc(cap);
	if (!buf) {
		err = -ENOMEM;
		goto out;
	}
	for (;;) {
		size_t n;

		if (len == cap) {
			uint8_t *nb;

			if (cap >= MAX_FILE) {
				err = -EFBIG;
				goto out;
			}
			cap *= 2;
			nb = realloc(buf, cap);
			if (!nb) {
				err = -ENOMEM;
				goto out;
			}
			buf = nb;
		}
		n = fread(buf + len, 1, cap - len, f);
		if (n == 0)
			break;
		len += n;
	}
	if (ferror(f))
		err = -EIO;
out:
	if (f != stdin)
		fclose(f);
	if (err) {
		free(buf);
		return err;
	}
	*bufp = buf;
	*lenp = len;
	return 0;
}

/* Find the PCM samples of a RIFF/WAVE file: 16-bit, mono, 8000 Hz, PCM
 * (format 1, or WAVE_FORMAT_EXTENSIBLE whose sub-format is PCM). Sets
 * *datap and *nsamplesp into buf. */
static int parse_wav(const uint8_t *buf, size_t len, const uint8_t **datap,
		     size_t *nsamplesp)
{
	size_t off = 12;
	bool have_fmt = false;

	if (len < 12 || memcmp(buf, "RIFF", 4) || memcmp(buf + 8, "WAVE", 4)) {
		fprintf(stderr, "wav2pcap: not a RIFF/WAVE file\n");
		return -EBADMSG;
	}
	while (off + 8 <= len) {
		const uint8_t *ck = buf + off;
		uint32_t cklen = rd32le(ck + 4);
		size_t avail = len - off - 8;

		if (memcmp(ck, "fmt ", 4) == 0) {
			uint16_t fmt, ch, bits;
			uint32_t rate;

			if (cklen < 16 || cklen > avail) {
				fprintf(stderr, "wav2pcap: bad fmt chunk\n");
				return -EBADMSG;
			}
			fmt = rd16le(ck + 8);
			ch = rd16le(ck + 10);
			rate = rd32le(ck + 12);
			bits = rd16le(ck + 22);
			if (fmt == 0xfffe && cklen >= 40)
				fmt = rd16le(ck + 32); /* sub-format GUID */
			if (fmt != 1 || ch != 1 || bits != 16 ||
			    rate != RATE_HZ) {
				fprintf(stderr,
					"wav2pcap: need PCM 16-bit mono 8000 "
					"Hz "
					"(got format %u, %u ch, %u bits, %u "
					"Hz); convert with: sox IN -r 8000 -c "
					"1 "
					"-b 16 -e signed OUT.wav\n",
					fmt, ch, bits, rate);
				return -EINVAL;
			}
			have_fmt = true;
		} else if (memcmp(ck, "data", 4) == 0) {
			if (!have_fmt) {
				fprintf(stderr, "wav2pcap: data before fmt\n");
				return -EBADMSG;
			}
			/* Streaming writers (sox to a pipe) leave the size
			 * at 0 or 0xffffffff: take what the file holds. */
			if (cklen > avail || cklen == 0)
				cklen = (uint32_t)avail;
			*datap = ck + 8;
			*nsamplesp = cklen / 2;
			return 0;
		}
		if (cklen > avail)
			break;
		off += 8 + (size_t)cklen + (cklen & 1);
	}
	fprintf(stderr, "wav2pcap: no %s chunk\n", have_fmt ? "data" : "fmt");
	return -EBADMSG;
}

static void put16be(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32be(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void put32le(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint16_t ip_checksum(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* The Ethernet/IPv4/UDP/RTP headers of packet k; the payload follows. */
static void build_headers(uint8_t *pkt, const struct opts *o, uint32_t k)
{
	static const uint8_t dst_mac[6] = { 0x02, 0, 0, 0, 0, 0x02 };
	static const uint8_t src_mac[6] = { 0x02, 0, 0, 0, 0, 0x01 };
	uint8_t *ip = pkt + ETH_LEN, *udp = ip + IP_LEN, *rtp = udp + UDP_LEN;

	memcpy(pkt, dst_mac, 6);
	memcpy(pkt + 6, src_mac, 6);
	put16be(pkt + 12, 0x0800);

	memset(ip, 0, IP_LEN);
	ip[0] = 0x45;
	put16be(ip + 2, IP_LEN + UDP_LEN + RTP_LEN + FRAME_SAMPLES);
	put16be(ip + 4, (uint16_t)k);
	ip[6] = 0x40; /* don't fragment */
	ip[8] = 64;
	ip[9] = 17; /* UDP */
	put32be(ip + 12, 0x7f000001);
	put32be(ip + 16, 0x7f000001);
	put16be(ip + 10, ip_checksum(ip, IP_LEN));

	put16be(udp, 6000);
	put16be(udp + 2, 6002);
	put16be(udp + 4, UDP_LEN + RTP_LEN + FRAME_SAMPLES);
	put16be(udp + 6, 0); /* no checksum: allowed over IPv4 */

	rtp[0] = 0x80;
	rtp[1] = (uint8_t)((k == 0 ? 0x80 : 0) | (o->pt & 0x7f));
	put16be(rtp + 2, (uint16_t)(o->seq0 + k));
	put32be(rtp + 4, o->ts0 + k * FRAME_SAMPLES);
	put32be(rtp + 8, o->ssrc);
}

static int write_pcap(const struct opts *o, const int16_t *pcm, size_t nsamples,
		      uint32_t *npktp)
{
	uint32_t lead = (o->lead_ms + 19) / 20, trail = (o->trail_ms + 19) / 20;
	uint32_t nvoice =
		(uint32_t)((nsamples + FRAME_SAMPLES - 1) / FRAME_SAMPLES);
	uint32_t total = lead + nvoice + trail, k;
	uint8_t silence = o->alaw ? 0xd5 : 0xff;
	double gain = pow(10.0, o->gain_db / 20.0);
	uint8_t hdr[24], rec[16], pkt[PKT_LEN];
	FILE *f = fopen(o->out, "wb");
	int err = 0;

	if (!f)
		return -errno;
	put32le(hdr, 0xa1b2c3d4);
	hdr[4] = 2, hdr[5] = 0, hdr[6] = 4, hdr[7] = 0; /* version 2.4 */
	put32le(hdr + 8, 0);				/* thiszone */
	put32le(hdr + 12, 0);				/* sigfigs */
	put32le(hdr + 16, 65535);			/* snaplen */
	put32le(hdr + 20, 1);				/* Ethernet */
	if (fwrite(hdr, sizeof(hdr), 1, f) != 1)
		err = -EIO;
	for (k = 0; k < total && !err; k++) {
		uint8_t *pl = pkt + PKT_LEN - FRAME_SAMPLES;
		uint64_t t_us = (uint64_t)k * PTIME_US;
		size_t i;

		build_headers(pkt, o, k);
		for (i = 0; i < FRAME_SAMPLES; i++) {
			size_t idx = (size_t)(k - lead) * FRAME_SAMPLES + i;
			double v;

			if (k < lead || k >= lead + nvoice || idx >= nsamples) {
				pl[i] = silence;
				continue;
			}
			v = pcm[idx] * gain;
			if (v > 32767)
				v = 32767;
			if (v < -32768)
				v = -32768;
			pl[i] = o->alaw ? alaw_encode((int16_t)v)
					: ulaw_encode((int16_t)v);
		}
		put32le(rec, (uint32_t)(t_us / 1000000));
		put32le(rec + 4, (uint32_t)(t_us % 1000000));
		put32le(rec + 8, PKT_LEN);
		put32le(rec + 12, PKT_LEN);
		if (fwrite(rec, sizeof(rec), 1, f) != 1 ||
		    fwrite(pkt, PKT_LEN, 1, f) != 1)
			err = -EIO;
	}
	if (fclose(f) != 0 && !err)
		err = -EIO;
	if (!err)
		*npktp = total;
	return err;
}

static int parse_uint(const char *s, unsigned long max, unsigned long *vp)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || end == s || *end || v > max || s[0] == '-')
		return -EINVAL;
	*vp = v;
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = { .pt = -1, .ssrc = 0x766f7867 };
	const uint8_t *data;
	uint8_t *buf = NULL;
	int16_t *pcm = NULL;
	size_t len = 0, nsamples = 0, i;
	uint32_t npkt = 0;
	unsigned long v;
	int c, err;

	while ((c = getopt(argc, argv, "ap:s:q:T:l:t:g:rh")) != -1) {
		switch (c) {
		case 'a':
			o.alaw = true;
			break;
		case 'p':
			if (parse_uint(optarg, 127, &v))
				goto bad;
			o.pt = (int)v;
			break;
		case 's':
			if (parse_uint(optarg, UINT32_MAX, &v))
				goto bad;
			o.ssrc = (uint32_t)v;
			break;
		case 'q':
			if (parse_uint(optarg, UINT16_MAX, &v))
				goto bad;
			o.seq0 = (uint16_t)v;
			break;
		case 'T':
			if (parse_uint(optarg, UINT32_MAX, &v))
				goto bad;
			o.ts0 = (uint32_t)v;
			break;
		case 'l':
		case 't':
			if (parse_uint(optarg, 600000, &v))
				goto bad;
			if (c == 'l')
				o.lead_ms = (unsigned)v;
			else
				o.trail_ms = (unsigned)v;
			break;
		case 'g': {
			char *end;

			o.gain_db = strtod(optarg, &end);
			if (end == optarg || *end || o.gain_db < -60 ||
			    o.gain_db > 40)
				goto bad;
			break;
		}
		case 'r':
			o.raw = true;
			break;
		default:
			goto bad;
		}
	}
	if (argc - optind != 2)
		goto bad;
	o.in = argv[optind];
	o.out = argv[optind + 1];
	if (o.pt < 0)
		o.pt = o.alaw ? 8 : 0;

	err = read_all(o.in, &buf, &len);
	if (err) {
		fprintf(stderr, "wav2pcap: %s: %s\n", o.in, strerror(-err));
		return 1;
	}
	if (o.raw) {
		data = buf;
		nsamples = len / 2;
	} else if (parse_wav(buf, len, &data, &nsamples)) {
		free(buf);
		return 1;
	}
	if (nsamples > MAX_SAMPLES) {
		fprintf(stderr, "wav2pcap: over %u s of audio\n",
			MAX_SAMPLES / RATE_HZ);
		free(buf);
		return 1;
	}
	/* The samples are little-endian whatever the host is. */
	pcm = malloc((nsamples ? nsamples : 1) * sizeof(*pcm));
	if (!pcm) {
		free(buf);
		return 1;
	}
	for (i = 0; i < nsamples; i++)
		pcm[i] = (int16_t)rd16le(data + 2 * i);
	free(buf);

	if (nsamples == 0 && o.lead_ms == 0 && o.trail_ms == 0) {
		fprintf(stderr, "wav2pcap: %s: no audio\n", o.in);
		free(pcm);
		return 1;
	}
	err = write_pcap(&o, pcm, nsamples, &npkt);
	free(pcm);
	if (err) {
		fprintf(stderr, "wav2pcap: %s: %s\n", o.out, strerror(-err));
		return 1;
	}
	printf("packets=%u duration_ms=%u speech_ms=%zu pt=%d\n", npkt,
	       npkt * 20, nsamples * 1000 / RATE_HZ, o.pt);
	return 0;
bad:
	usage();
	return 2;
}

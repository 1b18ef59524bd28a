/* rtptiming: when does the audio of one RTP stream in a pcap start and
 * stop? A test tool for tests/integration (reply latency, barge-in stop
 * time): it decodes the G.711 payloads of the RTP packets to or from one
 * UDP port, computes the level of every 20 ms frame at its capture time,
 * and prints speech segments and RFC 4733 events as key=value lines.
 * Standalone (plain cc) like the other tools.
 *
 *   rtptiming -p PORT [-d dst|src|any] [-l THRESH_DBFS] [-g GAP_MS]
 *             [-m MIN_MS] [-e EVENT_PT] [-A MS] [-S MS] [-v] FILE.pcap
 *
 * -p   the UDP port; -d whether it is the destination (default: packets
 *      sent to PORT), the source, or either
 * -l   a frame is voiced above this level (default -45 dBFS)
 * -g   silence (or missing packets) shorter than this inside a segment
 *      does not end it (default 200 ms)
 * -m   segments shorter than this are dropped as clicks (default 60 ms)
 * -e   the telephone-event payload type (default 101)
 * -A MS  also print first_voiced_after=<ms>: the first voiced frame at or
 *      after MS (-1 if none)
 * -S MS  also print stop_after=<ms>: where the audio playing at MS stops,
 *      i.e. the end of the last voiced frame before the first stretch of
 *      GAP_MS without voiced frames that ends after MS (MS itself when
 *      nothing is voiced there; -1 when the capture ends first)
 * -v   one line per frame: frame t_ms=.. dbfs=.. pt=.. voiced=0|1
 *      hash=.. (FNV-1a of the frame's payload: identical audio in two
 *      calls has identical hashes)
 *
 * Times are integer milliseconds since the first packet of the file (of
 * any stream), so times printed by two runs on one capture (one per
 * direction) can be subtracted. t0_us= gives that origin as the epoch in
 * microseconds. A frame's time is its packet's capture time plus 20 ms per
 * earlier frame in the same packet; a segment ends 20 ms after its last
 * voiced frame starts. Payload types 0 (PCMU) and 8 (PCMA) are audio;
 * others (comfort noise, events) count as silence.
 *
 * Link types: Ethernet (what tcpdump -i lo writes on Linux), BSD loopback
 * (NULL/LOOP), raw IP, Linux cooked v1 and v2; IPv4 and IPv6 (no extension
 * headers); classic pcap in either byte order, micro- or nanoseconds.
 * pcapng is refused (tcpdump -w writes classic pcap).
 *
 * Output:
 *   stream port=P dir=D t0_us=.. packets=N audio=N first_ms=.. last_ms=..
 *          voiced_frames=N dbfs=..     (dbfs: level of all audio frames)
 *   segment n=1 start_ms=.. end_ms=.. dur_ms=.. dbfs=..   (one per segment)
 *   event n=1 t_ms=.. event=1 end_ms=..     (one per RFC 4733 event)
 *   first_voiced_after=.. / stop_after=..   (with -A / -S)
 *
 * Exit status: 0 read (even with no packets), 1 I/O or format error,
 * 2 bad usage. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FRAME_SAMPLES 160
#define FRAME_MS 20
#define MAX_PKT (256 * 1024)
/* One hour of 20 ms frames: a cap on what a capture can make us keep. */
#define MAX_FRAMES (3600 * 50)
#define MAX_EVENTS 10000

enum dir { DIR_DST, DIR_SRC, DIR_ANY };

struct opts {
	int port;
	enum dir dir;
	double thresh_db;
	int gap_ms, min_ms, event_pt;
	long long after_ms, stop_ms;
	bool have_after, have_stop, verbose;
	const char *file;
};

struct frame {
	long long t_ms;
	double energy; /* mean square of the samples, 0 for non-audio */
	int pt;
	bool voiced;
	size_t idx;    /* capture order */
	uint32_t hash; /* FNV-1a of the frame's payload bytes */
};

struct event {
	long long t_ms, end_ms;
	uint32_t ts;
	int code;
};

struct pcap {
	FILE *f;
	bool swap, nsec;
	uint32_t linktype;
};

static int16_t ulaw_decode(uint8_t b)
{
	int u = (uint8_t)~b, exp = (u >> 4) & 7, mant = u & 0x0f;
	int v = (((mant << 3) + 0x84) << exp) - 0x84;

	return (int16_t)((u & 0x80) ? -v : v);
}

static int16_t alaw_decode(uint8_t b)
{
	int a = b ^ 0x55, seg = (a >> 4) & 7, mant = a & 0x0f, v;

	if (seg == 0)
		v = (mant << 4) + 8;
	else
		v = ((mant << 4) + 0x108) << (seg - 1);
	return (int16_t)((a & 0x80) ? v : -v);
}

static uint32_t rd32(const uint8_t *p, bool swap)
{
	uint32_t v = (uint32_t)p[0] | (uint32_t)p[1] << 8 |
		     (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;

	if (swap)
		v = (v >> 24) | ((v >> 8) & 0xff00) | ((v << 8) & 0xff0000) |
		    (v << 24);
	return v;
}

static uint16_t rd16be(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32be(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static int pcap_open(struct pcap *pc, const char *path)
{
	uint8_t hdr[24];
	uint32_t magic;

	pc->f = fopen(path, "rb");
	if (!pc->f)
		return -errno;
	if (fread(hdr, sizeof(hdr), 1, pc->f) != 1)
		goto bad;
	magic = rd32(hdr, false);
	if (magic == 0xa1b2c3d4 || magic == 0xa1b23c4d) {
		pc->swap = false;
	} else if (magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1) {
		pc->swap = true;
		magic = rd32(hdr, true);
	} else {
		if (magic == 0x0a0d0d0a)
			fprintf(stderr, "rtptiming: pcapng is not supported "
					"(tcpdump -w writes classic pcap)\n");
		goto bad;
	}
	pc->nsec = magic == 0xa1b23c4d;
	pc->linktype = rd32(hdr + 20, pc->swap) & 0xffff;
	return 0;
bad:
	fclose(pc->f);
	pc->f = NULL;
	return -EBADMSG;
}

/* Next record: 1 and the data, 0 at the end, -EBADMSG when truncated. */
static int pcap_next(struct pcap *pc, uint8_t *buf, uint32_t *lenp,
		     long long *t_usp)
{
	uint8_t rec[16];
	uint32_t caplen, frac;

	if (fread(rec, sizeof(rec), 1, pc->f) != 1)
		return 0;
	caplen = rd32(rec + 8, pc->swap);
	if (caplen > MAX_PKT)
		return -EBADMSG;
	if (caplen && fread(buf, caplen, 1, pc->f) != 1)
		return -EBADMSG;
	frac = rd32(rec + 4, pc->swap);
	*t_usp = (long long)rd32(rec, pc->swap) * 1000000 +
		 (pc->nsec ? frac / 1000 : frac);
	*lenp = caplen;
	return 1;
}

/* Skip the link header: the offset of the IP header, or -1. */
static int link_offset(uint32_t linktype, const uint8_t *p, uint32_t len)
{
	uint16_t proto;
	uint32_t off;

	switch (linktype) {
	case 0:	  /* DLT_NULL: 4-byte address family, host order */
	case 108: /* DLT_LOOP: the same in network order */
		return len >= 4 ? 4 : -1;
	case 101: /* LINKTYPE_RAW */
	case 12:
	case 14:
		return 0;
	case 1: /* Ethernet, with any number of VLAN tags */
		off = 12;
		for (;;) {
			if (len < off + 2)
				return -1;
			proto = rd16be(p + off);
			if (proto != 0x8100 && proto != 0x88a8)
				break;
			off += 4;
		}
		off += 2;
		break;
	case 113: /* Linux cooked v1: protocol at 14, header 16 */
		if (len < 16)
			return -1;
		proto = rd16be(p + 14);
		off = 16;
		break;
	case 276: /* Linux cooked v2: protocol at 0, header 20 */
		if (len < 20)
			return -1;
		proto = rd16be(p);
		off = 20;
		break;
	default:
		return -1;
	}
	if (proto != 0x0800 && proto != 0x86dd)
		return -1;
	return (int)off;
}

/* The UDP payload of an IP packet: sets ports and payload; 0 or -1. */
static int udp_payload(const uint8_t *p, uint32_t len, uint16_t *sportp,
		       uint16_t *dportp, const uint8_t **plp, uint32_t *pllenp)
{
	uint32_t ihl, ulen;

	if (len < 1)
		return -1;
	if ((p[0] >> 4) == 4) {
		ihl = (uint32_t)(p[0] & 0x0f) * 4;
		if (ihl < 20 || len < ihl + 8 || p[9] != 17)
			return -1;
		/* A later fragment has no UDP header. */
		if ((rd16be(p + 6) & 0x1fff) != 0)
			return -1;
	} else if ((p[0] >> 4) == 6) {
		ihl = 40;
		if (len < ihl + 8 || p[6] != 17)
			return -1;
	} else {
		return -1;
	}
	p += ihl;
	len -= ihl;
	ulen = rd16be(p + 4);
	if (ulen < 8 || ulen > len)
		ulen = len; /* snapped or bogus: use what was captured */
	*sportp = rd16be(p);
	*dportp = rd16be(p + 2);
	*plp = p + 8;
	*pllenp = ulen - 8;
	return 0;
}

struct state {
	struct frame *frames;
	size_t nframes;
	struct event *events;
	size_t nevents;
	size_t packets, audio;
	long long t0_us;
	bool have_t0;
};

static int add_frame(struct state *st, const struct frame *fr)
{
	if (st->nframes == MAX_FRAMES)
		return -E2BIG;
	if (st->nframes % 4096 == 0) {
		struct frame *nf =
			realloc(st->frames, (st->nframes + 4096) * sizeof(*nf));
		if (!nf)
			return -ENOMEM;
		st->frames = nf;
	}
	st->frames[st->nframes] = *fr;
	st->frames[st->nframes].idx = st->nframes;
	st->nframes++;
	return 0;
}

static void add_event(struct state *st, const struct opts *o, long long t_ms,
		      const uint8_t *pl, uint32_t len, uint32_t ts)
{
	struct event *ev;

	(void)o;
	if (len < 4)
		return;
	/* All packets of one event share the RTP timestamp (RFC 4733 2.5). */
	if (st->nevents && st->events[st->nevents - 1].ts == ts) {
		st->events[st->nevents - 1].end_ms = t_ms;
		return;
	}
	if (st->nevents == MAX_EVENTS)
		return;
	if (st->nevents % 64 == 0) {
		ev = realloc(st->events, (st->nevents + 64) * sizeof(*ev));
		if (!ev)
			return;
		st->events = ev;
	}
	ev = &st->events[st->nevents++];
	ev->t_ms = t_ms;
	ev->end_ms = t_ms;
	ev->ts = ts;
	ev->code = pl[0];
}

/* Two calls that play the same cached prompt send the same bytes, so a
 * payload hash per frame shows where one call's audio leaves the other's
 * (tests/integration: the exact frame a barge-in cut). */
static uint32_t fnv1a(const uint8_t *p, uint32_t n)
{
	uint32_t h = 2166136261u, i;

	for (i = 0; i < n; i++) {
		h ^= p[i];
		h *= 16777619u;
	}
	return h;
}

static int handle_rtp(struct state *st, const struct opts *o, long long t_ms,
		      const uint8_t *pl, uint32_t len)
{
	uint32_t hlen, i, n, k, nfr;
	int pt, cc;

	if (len < 12 || (pl[0] >> 6) != 2)
		return 0;
	pt = pl[1] & 0x7f;
	/* RTCP multiplexed on the port (RFC 5761) is not audio. */
	if (pt >= 72 && pt <= 76)
		return 0;
	cc = pl[0] & 0x0f;
	hlen = 12 + 4 * (uint32_t)cc;
	if ((pl[0] & 0x10) && len >= hlen + 4)
		hlen += 4 + 4 * (uint32_t)rd16be(pl + hlen + 2);
	if (hlen > len)
		return 0;
	n = len - hlen;
	if ((pl[0] & 0x20) && n > 0) { /* padding */
		uint32_t pad = pl[len - 1];

		n = pad <= n ? n - pad : 0;
	}
	st->packets++;
	if (pt == o->event_pt) {
		add_event(st, o, t_ms, pl + hlen, n, rd32be(pl + 4));
		struct frame fr = { .t_ms = t_ms, .pt = pt };
		return add_frame(st, &fr);
	}
	if (pt != 0 && pt != 8) {
		struct frame fr = { .t_ms = t_ms, .pt = pt };
		return add_frame(st, &fr);
	}
	st->audio++;
	nfr = n ? (n + FRAME_SAMPLES - 1) / FRAME_SAMPLES : 1;
	for (k = 0; k < nfr; k++) {
		struct frame fr = { .t_ms = t_ms + (long long)k * FRAME_MS,
				    .pt = pt };
		uint32_t a = k * FRAME_SAMPLES, b = a + FRAME_SAMPLES;
		double sum = 0;
		int err;

		if (b > n)
			b = n;
		for (i = a; i < b; i++) {
			int v = pt == 0 ? ulaw_decode(pl[hlen + i])
					: alaw_decode(pl[hlen + i]);
			sum += (double)v * v;
		}
		fr.energy = b > a ? sum / (b - a) : 0;
		fr.hash = fnv1a(pl + hlen + a, b - a);
		err = add_frame(st, &fr);
		if (err)
			return err;
	}
	return 0;
}

static double to_dbfs(double energy)
{
	if (energy <= 0)
		return -120;
	return 10 * log10(energy / (32768.0 * 32768.0));
}

/* Frames in time order; packets of one stream mostly arrive in order, but
 * a reordered or hand-made capture must not change the result. Ties keep
 * capture order. */
static int cmp_frames(const void *a, const void *b)
{
	const struct frame *x = a, *y = b;

	if (x->t_ms != y->t_ms)
		return x->t_ms < y->t_ms ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static void sort_frames(struct frame *f, size_t n)
{
	if (n > 1)
		qsort(f, n, sizeof(*f), cmp_frames);
}

static void print_results(struct state *st, const struct opts *o)
{
	static const char *const dirs[] = { "dst", "src", "any" };
	double tot = 0, seg_e = 0;
	size_t i, naudio = 0, nvoiced = 0, seg_n = 0, nseg = 0;
	long long seg_start = 0, seg_last = 0;
	bool in_seg = false;

	sort_frames(st->frames, st->nframes);
	for (i = 0; i < st->nframes; i++) {
		struct frame *fr = &st->frames[i];

		if (fr->pt == 0 || fr->pt == 8) {
			naudio++;
			tot += fr->energy;
		}
		fr->voiced = (fr->pt == 0 || fr->pt == 8) &&
			     to_dbfs(fr->energy) > o->thresh_db;
		if (fr->voiced)
			nvoiced++;
	}
	printf("stream port=%d dir=%s t0_us=%lld packets=%zu audio=%zu "
	       "first_ms=%lld last_ms=%lld voiced_frames=%zu dbfs=%.1f\n",
	       o->port, dirs[o->dir], st->t0_us, st->packets, st->audio,
	       st->nframes ? st->frames[0].t_ms : -1,
	       st->nframes ? st->frames[st->nframes - 1].t_ms : -1, nvoiced,
	       naudio ? to_dbfs(tot / (double)naudio) : -120.0);
	if (o->verbose) {
		for (i = 0; i < st->nframes; i++)
			printf("frame t_ms=%lld dbfs=%.1f pt=%d voiced=%d "
			       "hash=%08x\n",
			       st->frames[i].t_ms,
			       to_dbfs(st->frames[i].energy), st->frames[i].pt,
			       st->frames[i].voiced, st->frames[i].hash);
	}

	/* Segments: voiced frames joined across gaps < gap_ms. */
	for (i = 0; i <= st->nframes; i++) {
		struct frame *fr = i < st->nframes ? &st->frames[i] : NULL;

		if (fr && !fr->voiced)
			continue;
		if (in_seg &&
		    (!fr || fr->t_ms - (seg_last + FRAME_MS) >= o->gap_ms)) {
			long long end = seg_last + FRAME_MS;

			if (end - seg_start >= o->min_ms)
				printf("segment n=%zu start_ms=%lld "
				       "end_ms=%lld "
				       "dur_ms=%lld dbfs=%.1f\n",
				       ++nseg, seg_start, end, end - seg_start,
				       to_dbfs(seg_e / (double)seg_n));
			in_seg = false;
		}
		if (!fr)
			break;
		if (!in_seg) {
			in_seg = true;
			seg_start = fr->t_ms;
			seg_e = 0;
			seg_n = 0;
		}
		seg_last = fr->t_ms;
		seg_e += fr->energy;
		seg_n++;
	}
	printf("segments=%zu\n", nseg);

	for (i = 0; i < st->nevents; i++)
		printf("event n=%zu t_ms=%lld event=%d end_ms=%lld\n", i + 1,
		       st->events[i].t_ms, st->events[i].code,
		       st->events[i].end_ms);

	if (o->have_after) {
		long long t = -1;

		for (i = 0; i < st->nframes; i++) {
			if (st->frames[i].voiced &&
			    st->frames[i].t_ms >= o->after_ms) {
				t = st->frames[i].t_ms;
				break;
			}
		}
		printf("first_voiced_after=%lld\n", t);
	}
	if (o->have_stop) {
		/* Walk the voiced frames from MS on; the audio stops at the
		 * end of the last voiced frame before a gap >= gap_ms. The
		 * last voiced frame at or before MS seeds the walk so a
		 * gap just after MS is measured from real audio. */
		long long last_end = o->stop_ms, t = -1;
		bool found = false;

		for (i = 0; i < st->nframes; i++) {
			const struct frame *fr = &st->frames[i];

			if (!fr->voiced)
				continue;
			if (fr->t_ms + FRAME_MS <= o->stop_ms)
				continue;
			if (fr->t_ms - last_end >= o->gap_ms) {
				t = last_end;
				found = true;
				break;
			}
			if (fr->t_ms + FRAME_MS > last_end)
				last_end = fr->t_ms + FRAME_MS;
		}
		/* No further voiced frame: stopped if the capture goes on
		 * for gap_ms of (silent or absent) audio after it. */
		if (!found && st->nframes &&
		    st->frames[st->nframes - 1].t_ms + FRAME_MS - last_end >=
			    o->gap_ms)
			t = last_end;
		printf("stop_after=%lld\n", t);
	}
}

static int parse_ll(const char *s, long long min, long long max, long long *vp)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -EINVAL;
	*vp = v;
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: rtptiming -p PORT [-d dst|src|any] [-l THRESH_DBFS] "
		"[-g GAP_MS] [-m MIN_MS] [-e EVENT_PT] [-A MS] [-S MS] [-v] "
		"FILE.pcap\n");
}

int main(int argc, char **argv)
{
	struct opts o = { .port = -1,
			  .dir = DIR_DST,
			  .thresh_db = -45,
			  .gap_ms = 200,
			  .min_ms = 60,
			  .event_pt = 101 };
	struct state st = { 0 };
	struct pcap pc = { 0 };
	uint8_t *buf;
	long long v;
	int c, err, rc = 0;

	while ((c = getopt(argc, argv, "p:d:l:g:m:e:A:S:vh")) != -1) {
		switch (c) {
		case 'p':
			if (parse_ll(optarg, 1, 65535, &v))
				goto bad;
			o.port = (int)v;
			break;
		case 'd':
			if (strcmp(optarg, "dst") == 0)
				o.dir = DIR_DST;
			else if (strcmp(optarg, "src") == 0)
				o.dir = DIR_SRC;
			else if (strcmp(optarg, "any") == 0)
				o.dir = DIR_ANY;
			else
				goto bad;
			break;
		case 'l':
			if (parse_ll(optarg, -120, 0, &v))
				goto bad;
			o.thresh_db = (double)v;
			break;
		case 'g':
		case 'm':
			if (parse_ll(optarg, 0, 600000, &v))
				goto bad;
			if (c == 'g')
				o.gap_ms = (int)v;
			else
				o.min_ms = (int)v;
			break;
		case 'e':
			if (parse_ll(optarg, 0, 127, &v))
				goto bad;
			o.event_pt = (int)v;
			break;
		case 'A':
		case 'S':
			if (parse_ll(optarg, -1000000000LL, 1000000000LL, &v))
				goto bad;
			if (c == 'A') {
				o.after_ms = v;
				o.have_after = true;
			} else {
				o.stop_ms = v;
				o.have_stop = true;
			}
			break;
		case 'v':
			o.verbose = true;
			break;
		default:
			goto bad;
		}
	}
	if (argc - optind != 1 || o.port < 0)
		goto bad;
	o.file = argv[optind];

	err = pcap_open(&pc, o.file);
	if (err) {
		fprintf(stderr, "rtptiming: %s: %s\n", o.file,
			err == -EBADMSG ? "not a pcap file" : strerror(-err));
		return 1;
	}
	buf = malloc(MAX_PKT);
	if (!buf) {
		fclose(pc.f);
		return 1;
	}
	for (;;) {
		const uint8_t *pl;
		uint32_t len, pllen;
		uint16_t sport, dport;
		long long t_us;
		int off;

		err = pcap_next(&pc, buf, &len, &t_us);
		if (err == 0)
			break;
		if (err < 0) {
			/* tcpdump killed mid-write leaves a torn record:
			 * keep what came before it. */
			fprintf(stderr, "rtptiming: %s: truncated record\n",
				o.file);
			break;
		}
		if (!st.have_t0) {
			st.t0_us = t_us;
			st.have_t0 = true;
		}
		off = link_offset(pc.linktype, buf, len);
		if (off < 0 || udp_payload(buf + off, len - (uint32_t)off,
					   &sport, &dport, &pl, &pllen))
			continue;
		if ((o.dir == DIR_DST && dport != o.port) ||
		    (o.dir == DIR_SRC && sport != o.port) ||
		    (o.dir == DIR_ANY && dport != o.port && sport != o.port))
			continue;
		err = handle_rtp(&st, &o, (t_us - st.t0_us) / 1000, pl, pllen);
		if (err) {
			fprintf(stderr, "rtptiming: %s\n", strerror(-err));
			rc = 1;
			break;
		}
	}
	fclose(pc.f);
	free(buf);
	if (rc == 0)
		print_results(&st, &o);
	free(st.frames);
	free(st.events);
	return rc;
bad:
	usage();
	return 2;
}

/* asclient: the Asterisk side of an AudioSocket session, for the
 * integration test and the capacity bench. Connects, sends the UUID, then
 * sends one 20 ms slin frame every 20 ms (absolute clock): silence until the
 * bot's opening prompts end (-g ms of silence after voiced audio), then the
 * WAV (8 kHz mono s16), then silence until -t ms passed or the bot hangs up.
 * Prints key=value results on one line: frames received, voiced frames,
 * when the speech was sent (speak_* = the WAV, voiced_end = its last
 * voiced frame), the bot's voiced frames while the caller talked
 * (voiced_during_speech: from speak_start to voiced_end), when the reply
 * started (the first voiced frame received after voiced_end), and the
 * jitter of the
 * bot's frame arrival (|interval - 20 ms|: p50, p99, max).
 *
 * With -a ms the WAV starts that long after the bot's first voiced frame
 * instead (barge-in): cut_ms is the arrival of the bot's first all-zero
 * frame at or after the speech onset (prompt audio, even its pauses, is
 * never exact digital silence; a held or stopped prompt is), and
 * playing_at_onset says whether the frame before the onset was prompt
 * audio.
 *
 *   asclient [-u uuid32hex] [-w speech.wav] [-g gap_ms | -a at_ms]
 *            [-t total_ms]
 *            [-s [-n sessions]] host port
 *   -s: silence only (no speech, no waiting for the prompts: the bench);
 *   -n: that many sessions from this one process (one poll loop), one
 *       result line each. */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define FRAME 160
#define MAXJ 200000

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000;
}

static int16_t *load_wav(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	uint8_t h[12];
	if (fread(h, 1, 12, f) != 12 || memcmp(h, "RIFF", 4) ||
	    memcmp(h + 8, "WAVE", 4)) {
		fclose(f);
		return NULL;
	}
	for (;;) {
		uint8_t ch[8];
		if (fread(ch, 1, 8, f) != 8)
			break;
		uint32_t len = ch[4] | ch[5] << 8 | ch[6] << 16 |
			       (uint32_t)ch[7] << 24;
		if (!memcmp(ch, "fmt ", 4)) {
			uint8_t fmt[64];
			if (len > sizeof(fmt) || fread(fmt, 1, len, f) != len)
				break;
			unsigned chans = fmt[2] | fmt[3] << 8;
			unsigned rate = fmt[4] | fmt[5] << 8 | fmt[6] << 16;
			unsigned bits = fmt[14] | fmt[15] << 8;
			if (chans != 1 || rate != 8000 || bits != 16) {
				fprintf(stderr, "need 8 kHz mono s16\n");
				break;
			}
			continue;
		}
		if (!memcmp(ch, "data", 4)) {
			int16_t *s = malloc(len + 2);
			if (!s)
				break;
			size_t got = fread(s, 1, len, f);
			fclose(f);
			*n = got / 2;
			return s;
		}
		if (fseek(f, len + (len & 1), SEEK_CUR))
			break;
	}
	fclose(f);
	return NULL;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static void send_all(int fd, const uint8_t *b, size_t len)
{
	while (len) {
		ssize_t n = send(fd, b, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		b += n;
		len -= (size_t)n;
	}
}

struct sess {
	int fd;
	uint8_t rbuf[8192];
	size_t rlen;
	uint64_t last_rx, frames_rx, voiced_rx, bad;
	uint32_t *jit;
	size_t njit;
	bool hangup, eof;
};

static int dial(const char *host, const char *port, const uint8_t uuid[16])
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_port = htons((uint16_t)atoi(port)) };
	inet_pton(AF_INET, host, &sin.sin_addr);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin))) {
		perror("connect");
		close(fd);
		return -1;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	uint8_t hdr[19] = { 0x01, 0x00, 0x10 };
	memcpy(hdr + 3, uuid, 16);
	send_all(fd, hdr, sizeof(hdr));
	return fd;
}

static void sess_read(struct sess *s)
{
	ssize_t n = recv(s->fd, s->rbuf + s->rlen, sizeof(s->rbuf) - s->rlen,
			 MSG_DONTWAIT);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		s->eof = true;
		return;
	}
	if (n < 0)
		return;
	s->rlen += (size_t)n;
	uint64_t at = now_us();
	size_t pos = 0;
	while (s->rlen - pos >= 3) {
		size_t len = (size_t)s->rbuf[pos + 1] << 8 | s->rbuf[pos + 2];
		if (s->rlen - pos < 3 + len)
			break;
		uint8_t kind = s->rbuf[pos];
		const uint8_t *pl = s->rbuf + pos + 3;
		pos += 3 + len;
		if (kind == 0x00) {
			s->hangup = true;
			continue;
		}
		if (kind != 0x10 || len != 320) {
			s->bad++;
			continue;
		}
		s->frames_rx++;
		if (s->last_rx && s->njit < MAXJ) {
			int64_t d = (int64_t)(at - s->last_rx) - 20000;
			s->jit[s->njit++] = (uint32_t)(d < 0 ? -d : d);
		}
		s->last_rx = at;
		if (pl[0] | pl[1])
			s->voiced_rx++;
	}
	memmove(s->rbuf, s->rbuf + pos, s->rlen - pos);
	s->rlen -= pos;
}

/* -s -n N: N silent sessions on one poll loop. */
static int run_many(unsigned n, unsigned total_ms, const char *host,
		    const char *port)
{
	struct sess *ss = calloc(n, sizeof(*ss));
	struct pollfd *pf = calloc(n, sizeof(*pf));
	size_t cap = total_ms / 20 + 16;
	if (!ss || !pf) {
		free(ss);
		free(pf);
		return 1;
	}
	for (unsigned i = 0; i < n; i++) {
		uint8_t uuid[16];
		for (int k = 0; k < 16; k++)
			uuid[k] = (uint8_t)rand();
		ss[i].fd = dial(host, port, uuid);
		ss[i].jit = calloc(cap, sizeof(uint32_t));
		if (ss[i].fd < 0 || !ss[i].jit) {
			fprintf(stderr, "session %u failed\n", i);
			exit(1);
		}
	}
	uint64_t t0 = now_us(), next = t0;
	const uint8_t fr[3 + 2 * FRAME] = { 0x10, 0x01, 0x40 };
	while (now_us() - t0 < (uint64_t)total_ms * 1000) {
		if (now_us() >= next) {
			for (unsigned i = 0; i < n; i++)
				if (!ss[i].eof)
					send_all(ss[i].fd, fr, sizeof(fr));
			next += 20000;
		}
		for (unsigned i = 0; i < n; i++)
			pf[i] = (struct pollfd){ .fd = ss[i].eof ? -1
								 : ss[i].fd,
						 .events = POLLIN };
		int wait =
			(int)((next > now_us() ? next - now_us() : 0) / 1000);
		if (poll(pf, n, wait) <= 0)
			continue;
		for (unsigned i = 0; i < n; i++)
			if (pf[i].revents)
				sess_read(&ss[i]);
	}
	for (unsigned i = 0; i < n; i++) {
		struct sess *s = &ss[i];
		if (!s->eof) {
			const uint8_t h[3] = { 0 };
			send_all(s->fd, h, 3);
		}
		close(s->fd);
		qsort(s->jit, s->njit, sizeof(s->jit[0]), cmp_u32);
		printf("frames_rx=%llu voiced_rx=%llu bad=%llu hangup=%d "
		       "eof=%d "
		       "jitter_p50_us=%u jitter_p99_us=%u jitter_max_us=%u\n",
		       (unsigned long long)s->frames_rx,
		       (unsigned long long)s->voiced_rx,
		       (unsigned long long)s->bad, s->hangup, s->eof,
		       s->njit ? s->jit[s->njit / 2] : 0,
		       s->njit ? s->jit[s->njit * 99 / 100] : 0,
		       s->njit ? s->jit[s->njit - 1] : 0);
		free(s->jit);
	}
	free(ss);
	free(pf);
	return 0;
}

int main(int argc, char **argv)
{
	const char *uuid_hex = NULL, *wav = NULL;
	unsigned gap_ms = 700, total_ms = 20000, nsess = 0;
	bool silent = false;
	int opt;
	int at_ms = -1;
	while ((opt = getopt(argc, argv, "u:w:g:t:sn:a:")) != -1) {
		switch (opt) {
		case 'u':
			uuid_hex = optarg;
			break;
		case 'w':
			wav = optarg;
			break;
		case 'a':
			at_ms = atoi(optarg);
			break;
		case 'g':
			gap_ms = (unsigned)atoi(optarg);
			break;
		case 't':
			total_ms = (unsigned)atoi(optarg);
			break;
		case 's':
			silent = true;
			break;
		case 'n':
			nsess = (unsigned)atoi(optarg);
			break;
		default:
			return 2;
		}
	}
	if (argc - optind != 2) {
		fprintf(stderr,
			"usage: asclient [-u uuid] [-w wav] [-g gap_ms] "
			"[-t total_ms] [-s] host port\n");
		return 2;
	}
	srand((unsigned)(now_us() ^ (uint64_t)getpid() << 16));
	if (silent && nsess)
		return run_many(nsess, total_ms, argv[optind],
				argv[optind + 1]);
	uint8_t uuid[16];
	for (int i = 0; i < 16; i++) {
		unsigned v = (unsigned)rand() & 0xff;
		if (uuid_hex && strlen(uuid_hex) == 32)
			sscanf(uuid_hex + 2 * i, "%2x", &v);
		uuid[i] = (uint8_t)v;
	}
	int16_t *speech = NULL;
	size_t nspeech = 0;
	if (wav && !(speech = load_wav(wav, &nspeech))) {
		fprintf(stderr, "cannot read %s\n", wav);
		return 2;
	}
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_port = htons(
					   (uint16_t)atoi(argv[optind + 1])) };
	inet_pton(AF_INET, argv[optind], &sin.sin_addr);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin))) {
		perror("connect");
		return 1;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	uint8_t hdr[19] = { 0x01, 0x00, 0x10 };
	memcpy(hdr + 3, uuid, 16);
	send_all(fd, hdr, sizeof(hdr));

	static uint32_t jit[MAXJ];
	size_t njit = 0;
	uint64_t t0 = now_us(), next = t0, last_rx = 0;
	uint64_t frames_rx = 0, voiced_rx = 0, bad = 0;
	int64_t first_voiced = -1, prompt_end = -1, speak_start = -1,
		speak_end = -1, reply = -1, voiced_in_speech = 0,
		voiced_end = -1, onset = -1, cut = -1;
	bool last_nonzero = false, playing_at_onset = false;
	/* Arrival (ms) of the bot's voiced frames. */
	static int64_t vrx[4096];
	size_t nvrx = 0;
	uint64_t last_voiced = 0;
	size_t spos = 0;
	bool hangup = false, eof = false;
	uint8_t rbuf[8192];
	size_t rlen = 0;
	while (now_us() - t0 < (uint64_t)total_ms * 1000 && !eof) {
		/* Our frame for this 20 ms. */
		uint64_t t = now_us();
		if (t >= next) {
			int64_t ms = (int64_t)(t - t0) / 1000;
			uint8_t fr[3 + 2 * FRAME] = { 0x10, 0x01, 0x40 };
			bool cue = at_ms >= 0
					   ? first_voiced >= 0 &&
						     ms >= first_voiced + at_ms
					   : prompt_end >= 0;
			bool talk = !silent && speech && cue && spos < nspeech;
			if (talk) {
				if (speak_start < 0)
					speak_start = ms;
				double e = 0;
				for (int i = 0; i < FRAME; i++) {
					int16_t s = spos < nspeech
							    ? speech[spos++]
							    : 0;
					e += (double)s * s;
					fr[3 + 2 * i] = (uint8_t)(s & 0xff);
					fr[4 + 2 * i] =
						(uint8_t)((uint16_t)s >> 8);
				}
				if (sqrt(e / FRAME) > 300) {
					if (onset < 0) {
						onset = ms;
						playing_at_onset = last_nonzero;
					}
					voiced_end = ms + 20;
				}
				if (spos >= nspeech)
					speak_end = ms + 20;
			}
			send_all(fd, fr, sizeof(fr));
			next += 20000;
		}
		/* Their frames until our next deadline. */
		int wait =
			(int)((next > now_us() ? next - now_us() : 0) / 1000);
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, wait) <= 0)
			continue;
		ssize_t n = recv(fd, rbuf + rlen, sizeof(rbuf) - rlen, 0);
		if (n <= 0) {
			eof = true;
			break;
		}
		rlen += (size_t)n;
		uint64_t at = now_us();
		int64_t ms = (int64_t)(at - t0) / 1000;
		size_t pos = 0;
		while (rlen - pos >= 3) {
			size_t len = (size_t)rbuf[pos + 1] << 8 | rbuf[pos + 2];
			if (rlen - pos < 3 + len)
				break;
			uint8_t kind = rbuf[pos];
			const uint8_t *pl = rbuf + pos + 3;
			pos += 3 + len;
			if (kind == 0x00) {
				hangup = true;
				continue;
			}
			if (kind != 0x10 || len != 320) {
				bad++;
				continue;
			}
			frames_rx++;
			if (last_rx && njit < MAXJ) {
				int64_t d = (int64_t)(at - last_rx) - 20000;
				jit[njit++] = (uint32_t)(d < 0 ? -d : d);
			}
			last_rx = at;
			double e = 0;
			for (int i = 0; i < FRAME; i++) {
				int16_t s = (int16_t)(pl[2 * i] | pl[2 * i + 1]
									  << 8);
				e += (double)s * s;
			}
			last_nonzero = e > 0;
			if (onset >= 0 && cut < 0 && e == 0)
				cut = ms;
			bool voiced = sqrt(e / FRAME) > 300;
			if (getenv("ASCLIENT_TRACE"))
				fprintf(stderr, "rx %lld %.0f\n", (long long)ms,
					sqrt(e / FRAME));
			if (!voiced) {
				if (first_voiced >= 0 && prompt_end < 0 &&
				    at - last_voiced >= (uint64_t)gap_ms * 1000)
					prompt_end = ms;
				continue;
			}
			voiced_rx++;
			last_voiced = at;
			if (first_voiced < 0)
				first_voiced = ms;
			if (nvrx < 4096)
				vrx[nvrx++] = ms;
		}
		memmove(rbuf, rbuf + pos, rlen - pos);
		rlen -= pos;
	}
	if (!eof) {
		const uint8_t h[3] = { 0 };
		send_all(fd, h, 3);
	}
	close(fd);
	/* The bot's voiced frames while the caller was talking: from the
	 * WAV's start to its last voiced frame (its trailing silence is the
	 * caller listening: an answer there is on time, not an overlap). */
	for (size_t i = 0; i < nvrx && speak_start >= 0; i++)
		if (vrx[i] >= speak_start &&
		    (voiced_end < 0 ? speak_end < 0 || vrx[i] < speak_end
				    : vrx[i] < voiced_end))
			voiced_in_speech++;
	for (size_t i = 0; i < nvrx && voiced_end >= 0 && reply < 0; i++)
		if (vrx[i] >= voiced_end)
			reply = vrx[i];
	qsort(jit, njit, sizeof(jit[0]), cmp_u32);
	printf("onset_ms=%lld playing_at_onset=%d cut_ms=%lld "
	       "voiced_end_ms=%lld ",
	       (long long)onset, playing_at_onset, (long long)cut,
	       (long long)voiced_end);
	printf("frames_rx=%llu voiced_rx=%llu bad=%llu first_voiced_ms=%lld "
	       "prompt_end_ms=%lld speak_start_ms=%lld speak_end_ms=%lld "
	       "voiced_during_speech=%lld reply_ms=%lld hangup=%d eof=%d "
	       "jitter_p50_us=%u jitter_p99_us=%u jitter_max_us=%u\n",
	       (unsigned long long)frames_rx, (unsigned long long)voiced_rx,
	       (unsigned long long)bad, (long long)first_voiced,
	       (long long)prompt_end, (long long)speak_start,
	       (long long)speak_end, (long long)voiced_in_speech,
	       (long long)reply, hangup, eof, njit ? jit[njit / 2] : 0,
	       njit ? jit[njit * 99 / 100] : 0, njit ? jit[njit - 1] : 0);
	free(speech);
	return 0;
}

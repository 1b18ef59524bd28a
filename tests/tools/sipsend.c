/* sipsend: send one file, byte for byte, to a SIP server over UDP or TCP
 * and print the status of every response that comes back. A test tool for
 * tests/integration (RFC 4475 torture messages, raw OPTIONS probes); it
 * never talks to anything but the address it is given.
 *
 *   sipsend [-t udp|tcp] [-s SRC_IP] [-w TOTAL_MS] [-q QUIET_MS] [-b] [-v]
 *           HOST PORT FILE|-
 *
 * Output, one line per response received: "<code> <CSeq method> <reason>"
 * (and "REQ <method>" per request from the server, "CLOSED" when the
 * server closes the TCP connection).
 * Nothing is printed when nothing comes back (a drop).
 *
 * Replies to a UDP request go to the source IP and the port of the top
 * Via (RFC 3261 18.2.2; rport only when the request asks for it), so over
 * UDP the socket is bound to SRC_IP:<top Via port, default 5060>. SRC_IP
 * defaults to a random 127.0.0.X (X in 2..254) where that port is free,
 * which keeps replies on loopback and away from any daemon on 127.0.0.1.
 *
 * -b   end calls at once: a 2xx to an INVITE is answered with ACK and BYE
 *      built from the response (and a BYE from the server gets 200).
 * -w   give up this long after sending (default 2000 ms)
 * -q   stop once no response arrived for this long after a final one
 *      (default 300 ms)
 * -v   print each response in full on stderr
 * -V   print the top Via value of FILE (unfolded) and exit: two messages
 *      with the same top Via belong to one server transaction, so a test
 *      can keep them apart
 *
 * Exit status: 0 after the exchange (whatever came back), 1 on a local or
 * network error (bind, connect, send), 2 on bad usage. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_MSG (256 * 1024)

struct opts {
	bool tcp, bye, verbose, print_via;
	bool sent_invite; /* the file's request method is INVITE */
	const char *src_ip;
	int total_ms, quiet_ms;
	const char *host;
	int port;
	const char *file;
	/* Call-ID of the message sent: a response with another Call-ID is a
	 * late answer to an earlier test message that used the same source
	 * address and port (they are random), not ours. "" when the file has
	 * none. */
	char call_id[256];
};

struct state {
	int fd;
	struct sockaddr_in dst;
	char src_ip[INET_ADDRSTRLEN];
	int src_port;
	bool got_final;
	unsigned cseq_next;
	char tcpbuf[MAX_MSG];
	size_t tcplen;
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void usage(void)
{
	fprintf(stderr, "usage: sipsend [-t udp|tcp] [-s SRC_IP] [-w TOTAL_MS] "
			"[-q QUIET_MS] [-b] [-v] HOST PORT FILE|-\n"
			"       sipsend -V FILE\n");
}

static char *read_all(const char *path, size_t *lenp)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	if (!f) {
		fprintf(stderr, "sipsend: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	char *buf = malloc(MAX_MSG);
	size_t n = buf ? fread(buf, 1, MAX_MSG, f) : 0;
	if (f != stdin)
		fclose(f);
	if (!buf || n == 0 || n == MAX_MSG) {
		fprintf(stderr, "sipsend: %s: empty or too large\n", path);
		free(buf);
		return NULL;
	}
	*lenp = n;
	return buf;
}

/* Copy the message's header block with folded lines joined (CRLF or LF
 * followed by SP/HT becomes one SP), lines ended by '\n' only. */
static size_t unfold(const char *m, size_t len, char *out, size_t cap)
{
	size_t o = 0;
	for (size_t i = 0; i < len && o + 1 < cap; i++) {
		char c = m[i];
		if (c == '\r')
			continue;
		if (c == '\n') {
			if (i + 1 < len &&
			    (m[i + 1] == ' ' || m[i + 1] == '\t')) {
				out[o++] = ' ';
				continue;
			}
			if (o > 0 && out[o - 1] == '\n')
				break; /* end of headers */
		}
		out[o++] = c;
	}
	out[o] = '\0';
	return o;
}

/* Find header NAME (or its compact form) in an unfolded block; copy its
 * (first) value, trimmed, into val. */
static bool header(const char *blk, const char *name, const char *compact,
		   char *val, size_t cap)
{
	const char *line = strchr(blk, '\n'); /* skip start line */
	while (line && *++line) {
		const char *end = strchr(line, '\n');
		if (!end)
			end = line + strlen(line);
		const char *colon = memchr(line, ':', (size_t)(end - line));
		if (colon) {
			const char *ne = colon;
			while (ne > line && (ne[-1] == ' ' || ne[-1] == '\t'))
				ne--;
			size_t nl = (size_t)(ne - line);
			if ((nl == strlen(name) &&
			     !strncasecmp(line, name, nl)) ||
			    (compact && nl == strlen(compact) &&
			     !strncasecmp(line, compact, nl))) {
				const char *v = colon + 1;
				while (v < end && (*v == ' ' || *v == '\t'))
					v++;
				const char *ve = end;
				while (ve > v && isspace((unsigned char)ve[-1]))
					ve--;
				size_t n = (size_t)(ve - v);
				if (n >= cap)
					n = cap - 1;
				memcpy(val, v, n);
				val[n] = '\0';
				return true;
			}
		}
		line = *end ? end : NULL;
	}
	return false;
}

/* Port of the top Via's sent-by; 5060 when absent or unparsable. */
static int top_via_port(const char *msg, size_t len)
{
	static char blk[MAX_MSG];
	unfold(msg, len, blk, sizeof(blk));
	char v[4096];
	if (!header(blk, "Via", "v", v, sizeof(v)))
		return 5060;
	/* sent-protocol: three '/'-separated tokens, LWS allowed around. */
	const char *p = v;
	for (int slashes = 0; *p && slashes < 2; p++)
		if (*p == '/')
			slashes++;
	while (*p == ' ' || *p == '\t')
		p++;
	while (*p && *p != ' ' && *p != '\t')
		p++; /* transport */
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '[') {
		p = strchr(p, ']');
		if (!p)
			return 5060;
		p++;
	} else {
		while (*p && *p != ':' && *p != ';' && *p != ',' && *p != ' ' &&
		       *p != '\t')
			p++;
	}
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p != ':')
		return 5060;
	p++;
	while (*p == ' ' || *p == '\t')
		p++;
	long port = strtol(p, NULL, 10);
	return port > 0 && port < 65536 ? (int)port : 5060;
}

static int open_socket(struct state *st, const struct opts *o, int want_port)
{
	for (int tries = 0; tries < 64; tries++) {
		char ip[INET_ADDRSTRLEN];
		if (o->src_ip)
			snprintf(ip, sizeof(ip), "%s", o->src_ip);
		else
			snprintf(ip, sizeof(ip), "127.0.0.%d",
				 2 + rand() % 253);
		int fd = socket(AF_INET, o->tcp ? SOCK_STREAM : SOCK_DGRAM, 0);
		if (fd < 0)
			return -errno;
		struct sockaddr_in sa = { .sin_family = AF_INET,
					  .sin_port =
						  htons((uint16_t)want_port) };
		if (inet_pton(AF_INET, ip, &sa.sin_addr) != 1) {
			close(fd);
			return -EINVAL;
		}
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			socklen_t sl = sizeof(sa);
			getsockname(fd, (struct sockaddr *)&sa, &sl);
			st->fd = fd;
			snprintf(st->src_ip, sizeof(st->src_ip), "%s", ip);
			st->src_port = ntohs(sa.sin_port);
			return 0;
		}
		int e = errno;
		close(fd);
		if (o->src_ip || e != EADDRINUSE)
			return -e;
	}
	return -EADDRINUSE;
}

static int send_buf(struct state *st, const struct opts *o, const char *buf,
		    size_t len)
{
	if (o->tcp) {
		size_t off = 0;
		while (off < len) {
			ssize_t n = send(st->fd, buf + off, len - off,
					 MSG_NOSIGNAL);
			if (n < 0) {
				if (errno == EINTR)
					continue;
				return -errno;
			}
			off += (size_t)n;
		}
		return 0;
	}
	ssize_t n = sendto(st->fd, buf, len, 0, (struct sockaddr *)&st->dst,
			   sizeof(st->dst));
	return n == (ssize_t)len ? 0 : -errno;
}

/* Builds and sends an in-dialog request (ACK or BYE) from a 2xx response,
 * or a 200 to a request (reply != NULL). */
static void send_in_dialog(struct state *st, const struct opts *o,
			   const char *blk, const char *method, unsigned cseq)
{
	char from[1024] = "", to[1024] = "", cid[512] = "", contact[1024] = "";
	header(blk, "From", "f", from, sizeof(from));
	header(blk, "To", "t", to, sizeof(to));
	header(blk, "Call-ID", "i", cid, sizeof(cid));
	header(blk, "Contact", "m", contact, sizeof(contact));
	char ruri[1024];
	const char *lt = strchr(contact, '<'),
		   *gt = lt ? strchr(lt, '>') : NULL;
	if (lt && gt)
		snprintf(ruri, sizeof(ruri), "%.*s", (int)(gt - lt - 1),
			 lt + 1);
	else if (contact[0])
		snprintf(ruri, sizeof(ruri), "%s", contact);
	else
		snprintf(ruri, sizeof(ruri), "sip:%s:%d", o->host, o->port);
	char out[4096];
	int n = snprintf(
		out, sizeof(out),
		"%s %s SIP/2.0\r\n"
		"Via: SIP/2.0/%s %s:%d;branch=z9hG4bK%08x%08x;rport\r\n"
		"Max-Forwards: 70\r\n"
		"From: %s\r\nTo: %s\r\nCall-ID: %s\r\n"
		"CSeq: %u %s\r\nContent-Length: 0\r\n\r\n",
		method, ruri, o->tcp ? "TCP" : "UDP", st->src_ip, st->src_port,
		(unsigned)rand(), (unsigned)rand(), from, to, cid, cseq,
		method);
	if (n > 0 && (size_t)n < sizeof(out))
		(void)send_buf(st, o, out, (size_t)n);
}

static void reply_200(struct state *st, const struct opts *o, const char *raw,
		      size_t len)
{
	/* Copy Via, From, To, Call-ID and CSeq lines verbatim. */
	static char blk[MAX_MSG];
	unfold(raw, len, blk, sizeof(blk));
	char out[8192];
	size_t pos = (size_t)snprintf(out, sizeof(out), "SIP/2.0 200 OK\r\n");
	const char *line = strchr(blk, '\n');
	while (line && *++line) {
		const char *end = strchr(line, '\n');
		if (!end)
			break;
		size_t ll = (size_t)(end - line);
		static const char *const keep[] = { "via",     "v",  "from",
						    "f",       "to", "t",
						    "call-id", "i",  "cseq" };
		for (size_t k = 0; k < sizeof(keep) / sizeof(keep[0]); k++) {
			size_t kl = strlen(keep[k]);
			if (ll > kl && !strncasecmp(line, keep[k], kl) &&
			    (line[kl] == ':' || line[kl] == ' ')) {
				if (pos + ll + 2 < sizeof(out)) {
					memcpy(out + pos, line, ll);
					pos += ll;
					memcpy(out + pos, "\r\n", 2);
					pos += 2;
				}
				break;
			}
		}
		line = end;
	}
	pos += (size_t)snprintf(out + pos, sizeof(out) - pos,
				"Content-Length: 0\r\n\r\n");
	if (pos < sizeof(out))
		(void)send_buf(st, o, out, pos);
}

static void handle_msg(struct state *st, const struct opts *o, const char *m,
		       size_t len)
{
	static char blk[MAX_MSG];
	unfold(m, len, blk, sizeof(blk));
	char cseq[256] = "";
	header(blk, "CSeq", NULL, cseq, sizeof(cseq));
	unsigned num = 0;
	char meth[64] = "?";
	sscanf(cseq, "%u %63s", &num, meth);
	if (o->verbose)
		fprintf(stderr, "---- received %zu bytes\n%.*s\n", len,
			(int)len, m);
	if (strncmp(m, "SIP/2.0 ", 8)) {
		/* A request from the server (BYE, NOTIFY...): acknowledge. */
		char rmeth[64] = "";
		sscanf(m, "%63s", rmeth);
		printf("REQ %s\n", rmeth);
		if (o->bye && strcmp(rmeth, "ACK"))
			reply_200(st, o, m, len);
		return;
	}
	char rcid[256] = "";
	header(blk, "Call-ID", "i", rcid, sizeof(rcid));
	if (o->call_id[0] && rcid[0] && strcmp(o->call_id, rcid)) {
		fprintf(stderr, "sipsend: ignored a response for Call-ID %s\n",
			rcid);
		return;
	}
	int code = atoi(m + 8);
	const char *rs = m + 8;
	while (*rs && *rs != ' ' && *rs != '\r' && *rs != '\n')
		rs++;
	const char *re = rs;
	while (*re && *re != '\r' && *re != '\n')
		re++;
	printf("%d %s%.*s\n", code, meth, (int)(re - rs), rs);
	fflush(stdout);
	if (code >= 200)
		st->got_final = true;
	if (o->bye && o->sent_invite && code >= 200 && code < 300 &&
	    !strcmp(meth, "INVITE")) {
		send_in_dialog(st, o, blk, "ACK", num);
		send_in_dialog(st, o, blk, "BYE", num + 1);
		st->got_final = false; /* wait for the BYE's answer */
	}
}

/* TCP: split the stream into messages by the header end and
 * Content-Length. */
static void drain_tcp(struct state *st, const struct opts *o)
{
	for (;;) {
		char *he = memmem(st->tcpbuf, st->tcplen, "\r\n\r\n", 4);
		if (!he)
			return;
		size_t hlen = (size_t)(he - st->tcpbuf) + 4;
		static char blk[MAX_MSG];
		unfold(st->tcpbuf, hlen, blk, sizeof(blk));
		char cl[64] = "0";
		header(blk, "Content-Length", "l", cl, sizeof(cl));
		size_t total = hlen + (size_t)strtoul(cl, NULL, 10);
		if (total > st->tcplen)
			return;
		handle_msg(st, o, st->tcpbuf, total);
		memmove(st->tcpbuf, st->tcpbuf + total, st->tcplen - total);
		st->tcplen -= total;
	}
}

int main(int argc, char **argv)
{
	struct opts o = { .total_ms = 2000, .quiet_ms = 300 };
	int c;
	while ((c = getopt(argc, argv, "t:s:w:q:bvV")) != -1) {
		switch (c) {
		case 't':
			if (!strcmp(optarg, "tcp"))
				o.tcp = true;
			else if (strcmp(optarg, "udp")) {
				usage();
				return 2;
			}
			break;
		case 's':
			o.src_ip = optarg;
			break;
		case 'w':
			o.total_ms = atoi(optarg);
			break;
		case 'q':
			o.quiet_ms = atoi(optarg);
			break;
		case 'b':
			o.bye = true;
			break;
		case 'v':
			o.verbose = true;
			break;
		case 'V':
			o.print_via = true;
			break;
		default:
			usage();
			return 2;
		}
	}
	if (o.print_via && argc - optind == 1) {
		size_t n = 0;
		char *m = read_all(argv[optind], &n);
		if (!m)
			return 1;
		static char blk[MAX_MSG];
		unfold(m, n, blk, sizeof(blk));
		char v[4096] = "";
		header(blk, "Via", "v", v, sizeof(v));
		printf("%s\n", v);
		free(m);
		return 0;
	}
	if (argc - optind != 3) {
		usage();
		return 2;
	}
	o.host = argv[optind];
	o.port = atoi(argv[optind + 1]);
	o.file = argv[optind + 2];
	srand((unsigned)(time(NULL) ^ getpid()));

	size_t len = 0;
	char *msg = read_all(o.file, &len);
	if (!msg)
		return 1;

	o.sent_invite = len > 7 && !memcmp(msg, "INVITE ", 7);
	{
		static char sblk[MAX_MSG];
		unfold(msg, len, sblk, sizeof(sblk));
		header(sblk, "Call-ID", "i", o.call_id, sizeof(o.call_id));
	}

	static struct state st;
	st.fd = -1;
	st.dst.sin_family = AF_INET;
	st.dst.sin_port = htons((uint16_t)o.port);
	if (inet_pton(AF_INET, o.host, &st.dst.sin_addr) != 1) {
		fprintf(stderr, "sipsend: HOST must be an IPv4 address\n");
		return 2;
	}
	int err = open_socket(&st, &o, o.tcp ? 0 : top_via_port(msg, len));
	if (err) {
		fprintf(stderr, "sipsend: bind: %s\n", strerror(-err));
		return 1;
	}
	if (o.tcp &&
	    connect(st.fd, (struct sockaddr *)&st.dst, sizeof(st.dst))) {
		fprintf(stderr, "sipsend: connect: %s\n", strerror(errno));
		return 1;
	}
	err = send_buf(&st, &o, msg, len);
	if (err) {
		fprintf(stderr, "sipsend: send: %s\n", strerror(-err));
		return 1;
	}
	free(msg);

	int64_t start = now_ms(), last = start;
	static char rbuf[MAX_MSG];
	for (;;) {
		int64_t t = now_ms();
		if (t - start >= o.total_ms)
			break;
		if (st.got_final && t - last >= o.quiet_ms)
			break;
		int wait = (int)(o.total_ms - (t - start));
		if (st.got_final && o.quiet_ms - (t - last) < wait)
			wait = (int)(o.quiet_ms - (t - last));
		struct pollfd p = { .fd = st.fd, .events = POLLIN };
		int pr = poll(&p, 1, wait > 0 ? wait : 0);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0)
			continue;
		if (o.tcp) {
			ssize_t n = recv(st.fd, st.tcpbuf + st.tcplen,
					 sizeof(st.tcpbuf) - st.tcplen, 0);
			if (n <= 0) {
				if (o.verbose)
					fprintf(stderr,
						"---- connection closed "
						"by server\n");
				printf("CLOSED\n");
				break;
			}
			st.tcplen += (size_t)n;
			drain_tcp(&st, &o);
		} else {
			ssize_t n = recv(st.fd, rbuf, sizeof(rbuf), 0);
			if (n > 0)
				handle_msg(&st, &o, rbuf, (size_t)n);
		}
		last = now_ms();
	}
	close(st.fd);
	return 0;
}

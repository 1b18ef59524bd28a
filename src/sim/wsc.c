/* WebSocket client of the simulator's stream transports, on libre's
 * websock. See wsc.h. */
#include "sim/wsc.h"

#include <re.h>

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#define KEEPALIVE_MS 0 /* the transports ping in their own protocol */

/* What all connections of the loop share: freed with the last one. */
struct wsenv {
	struct dnsc *dnsc;
	struct http_cli *cli;
	struct websock *sock;
};

#define CLOSE_WAIT_MS 2000 /* for the server's close reply */

static struct wsenv *g_env; /* the loop's; one loop per process */
static unsigned g_closing;  /* connections waiting for a close reply */
static bool g_flushing;	    /* sim_wsc_flush() runs the loop */

struct sim_wsc {
	struct wsenv *env; /* a reference */
	struct websock_conn *conn;
	struct sim_wsc_handlers h;
	void *arg;
	struct tmr tmr;
	bool open, closed;
	bool closing; /* closed by us, waiting for the server's reply */
};

static void env_destructor(void *arg)
{
	struct wsenv *e = arg;
	e->sock = mem_deref(e->sock);
	e->cli = mem_deref(e->cli);
	e->dnsc = mem_deref(e->dnsc);
	if (g_env == e)
		g_env = NULL;
}

static int env_get(struct wsenv **ep)
{
	if (g_env) {
		*ep = mem_ref(g_env);
		return 0;
	}
	struct wsenv *e = mem_zalloc(sizeof(*e), env_destructor);
	if (!e)
		return ENOMEM;
	/* Loopback targets are IP literals: the resolver is never asked,
	 * but libre's HTTP client needs one. */
	struct sa ns;
	int err = sa_set_str(&ns, "127.0.0.1", 53);
	if (!err)
		err = dnsc_alloc(&e->dnsc, NULL, &ns, 1);
	if (!err)
		err = http_client_alloc(&e->cli, e->dnsc);
	if (!err)
		err = websock_alloc(&e->sock, NULL, NULL);
	if (err) {
		mem_deref(e);
		return err;
	}
	g_env = e;
	*ep = e;
	return 0;
}

static void wsc_destructor(void *arg)
{
	struct sim_wsc *w = arg;
	tmr_cancel(&w->tmr);
	if (w->closing && g_closing) {
		g_closing--;
		if (!g_closing && g_flushing)
			re_cancel();
	}
	w->conn = mem_deref(w->conn);
	w->env = mem_deref(w->env);
}

static void on_estab(void *arg)
{
	struct sim_wsc *w = arg;
	w->open = true;
	/* Nagle would hold our 20 ms frames back (NOTES-libre.md). */
	struct tcp_conn *tc = websock_tcp(w->conn);
	int fd = tc ? tcp_conn_fd(tc) : -1;
	int one = 1;
	if (fd >= 0)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
				 sizeof(one));
	if (w->h.open)
		w->h.open(w->arg);
}

static void on_recv(const struct websock_hdr *hdr, struct mbuf *mb, void *arg)
{
	struct sim_wsc *w = arg;
	if (w->closed)
		return;
	const uint8_t *p = mbuf_buf(mb);
	size_t n = mbuf_get_left(mb);
	if (hdr->opcode == WEBSOCK_TEXT && w->h.text)
		w->h.text((const char *)p, n, w->arg);
	else if (hdr->opcode == WEBSOCK_BIN && w->h.binary)
		w->h.binary(p, n, w->arg);
	/* continuation frames: the servers we play against never
	 * fragment; ignored */
}

/* Free a connection we closed, outside libre's handler. */
static void deferred_free(void *arg)
{
	mem_deref(arg);
}

static void on_close(int err, void *arg)
{
	struct sim_wsc *w = arg;
	if (w->closing) {
		/* the server answered our close: the socket is down */
		tmr_start(&w->tmr, 0, deferred_free, w);
		return;
	}
	if (w->closed)
		return;
	w->closed = true;
	w->open = false;
	if (w->h.closed)
		w->h.closed(err, w->arg);
}

int sim_wsc_connect(struct sim_wsc **wp, const char *url, const char *headers,
		    const struct sim_wsc_handlers *h, void *arg)
{
	if (!wp || !url || !h)
		return -EINVAL;
	struct sim_wsc *w = mem_zalloc(sizeof(*w), wsc_destructor);
	if (!w)
		return -ENOMEM;
	w->h = *h;
	w->arg = arg;
	int err = env_get(&w->env);
	if (!err)
		err = websock_connect(&w->conn, w->env->sock, w->env->cli, url,
				      KEEPALIVE_MS, on_estab, on_recv, on_close,
				      w, "%s", headers ? headers : "");
	if (err) {
		mem_deref(w);
		return -err;
	}
	*wp = w;
	return 0;
}

int sim_wsc_send_text(struct sim_wsc *w, const char *text, size_t len)
{
	if (!w || !w->open)
		return -ENOTCONN;
	int err = websock_send(w->conn, WEBSOCK_TEXT, "%b", text, len);
	return -err;
}

int sim_wsc_send_binary(struct sim_wsc *w, const uint8_t *data, size_t len)
{
	if (!w || !w->open)
		return -ENOTCONN;
	int err = websock_send(w->conn, WEBSOCK_BIN, "%b", data, len);
	return -err;
}

int sim_wsc_is_open(const struct sim_wsc *w)
{
	return w && w->open;
}

void sim_wsc_close(struct sim_wsc *w)
{
	if (!w)
		return;
	w->closed = true;
	bool was_open = w->open;
	w->open = false;
	if (was_open && !websock_close(w->conn, WEBSOCK_NORMAL_CLOSURE, "")) {
		/* wait (bounded) for the server's close, so the socket goes
		 * down cleanly: freed in on_close or by the timer */
		w->closing = true;
		g_closing++;
		tmr_start(&w->tmr, CLOSE_WAIT_MS, deferred_free, w);
		return;
	}
	mem_deref(w);
}

static void flush_timeout(void *arg)
{
	(void)arg;
	re_cancel();
}

void sim_wsc_flush(unsigned max_ms)
{
	if (!g_closing)
		return;
	struct tmr t;
	tmr_init(&t);
	tmr_start(&t, max_ms, flush_timeout, NULL);
	g_flushing = true;
	(void)re_main(NULL);
	g_flushing = false;
	tmr_cancel(&t);
}

int sim_wsc_url_split(const char *url, char *host, size_t hcap, char *target,
		      size_t tcap)
{
	const char *p = url ? strstr(url, "://") : NULL;
	if (!p)
		return -EINVAL;
	p += 3;
	const char *slash = strchr(p, '/');
	const char *end = slash ? slash : p + strlen(p);
	const char *hend = end;
	if (*p == '[') { /* [v6]:port */
		const char *rb = memchr(p, ']', (size_t)(end - p));
		if (!rb)
			return -EINVAL;
		hend = rb + 1;
	} else {
		const char *colon = memchr(p, ':', (size_t)(end - p));
		if (colon)
			hend = colon;
	}
	if (hend == p)
		return -EINVAL;
	int n = snprintf(host, hcap, "%.*s", (int)(hend - p), p);
	if (n < 0 || (size_t)n >= hcap)
		return -ENOSPC;
	n = snprintf(target, tcap, "%s", slash ? slash : "/");
	if (n < 0 || (size_t)n >= tcap)
		return -ENOSPC;
	return 0;
}

void sim_wsc_close_all(void *state)
{
	(void)state;
	sim_wsc_flush(500);
}

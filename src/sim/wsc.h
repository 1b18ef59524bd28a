/* WebSocket client plumbing of the simulator's stream transports (Twilio
 * Media Streams, Genesys AudioHook / Audio Connector) on libre's websock,
 * on the simulator's loop: connect with extra upgrade headers, text and
 * binary messages in and out, one close callback.
 *
 * Rules: everything runs on the thread running the libre loop (the
 * simulator's). A connect that returns 0 calls exactly one of
 * h->closed (refused, reset, closed by the server) unless sim_wsc_close()
 * came first; after sim_wsc_close() no handler is called again. Never
 * call sim_wsc_close() from inside a handler of the same connection: mark
 * the owner closing and close it from the tick (run.c frees calls there).
 * The libre HTTP client and websock instance are shared by all
 * connections of the loop and freed with the last one. */
#ifndef VG_SIM_WSC_H
#define VG_SIM_WSC_H

#include <stddef.h>
#include <stdint.h>

struct sim_wsc;

struct sim_wsc_handlers {
	void (*open)(void *arg); /* upgrade accepted */
	void (*text)(const char *text, size_t len, void *arg);
	void (*binary)(const uint8_t *data, size_t len, void *arg);
	/* err 0: the server closed cleanly; else errno (ECONNREFUSED,
	 * EPROTO for a refused upgrade, ECONNRESET, ETIMEDOUT). */
	void (*closed)(int err, void *arg);
};

/* Connect to url (ws://host:port/path?query) with headers (each line
 * "Name: value\r\n", or NULL). *wp is set only on success. Returns 0,
 * -EINVAL (bad url), -ENOMEM, -errno of the connect. */
int sim_wsc_connect(struct sim_wsc **wp, const char *url, const char *headers,
		    const struct sim_wsc_handlers *h, void *arg);
/* Send one message. Returns 0, -ENOTCONN (not open), -errno. */
int sim_wsc_send_text(struct sim_wsc *w, const char *text, size_t len);
int sim_wsc_send_binary(struct sim_wsc *w, const uint8_t *data, size_t len);
/* Close and free; no handler is called after. An open connection sends
 * a close frame and lives on (bounded, 2 s) until the server's reply.
 * NULL is a no-op. */
void sim_wsc_close(struct sim_wsc *w);
/* Run the loop (at most max_ms) until the connections closed by
 * sim_wsc_close() got the server's close reply and were freed: a
 * transport's close() op, after the run. Returns at once when none. */
void sim_wsc_flush(unsigned max_ms);

/* The close() op of every WebSocket transport (transport.h): after the
 * run, let the closes still in flight finish (sim_wsc_flush, 500 ms at
 * most). state is unused. */
void sim_wsc_close_all(void *state);
/* Whether the upgrade completed and the connection is still up. */
int sim_wsc_is_open(const struct sim_wsc *w);

/* The host part of a ws:// URL as libre sends it in the Host header (no
 * port), and the request target (path + query, "/" when empty), for
 * signatures. Returns 0 or -EINVAL / -ENOSPC. Pure. */
int sim_wsc_url_split(const char *url, char *host, size_t hcap, char *target,
		      size_t tcap);

#endif

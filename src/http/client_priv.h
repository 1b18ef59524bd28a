/* Inside the http layer only: what webhook.c needs from the client beyond
 * the public contract in client.h. */
#ifndef VG_HTTP_CLIENT_PRIV_H
#define VG_HTTP_CLIENT_PRIV_H

struct http_client;
struct vg_loop;

/* The web loop the client belongs to (borrowed; any thread). */
struct vg_loop *http_client_loop(const struct http_client *c);
#endif

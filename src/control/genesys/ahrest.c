/* AudioHook pause/resume REST trigger (see ahrest.h). */
#include "control/genesys/ahrest.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <re.h>

#include <openssl/crypto.h>

#include "core/log.h"
#include "core/loop.h"
#include "telephony/genesys/audiohook.h"

struct ahrest {
	struct vg_loop *media, *web;
	struct audiohook *const *ahp;
	char api_key[256];
};

struct job {
	struct ahrest *r;
	struct http_conn *conn; /* a reference; web loop */
	char id[AHMSG_ID_LEN];
	bool pause;
	int err;
};

int ahrest_create(struct ahrest **rp, struct vg_loop *media,
		  struct vg_loop *web, struct audiohook *const *ahp,
		  const char *api_key)
{
	if (!rp || !media || !web || !ahp || !api_key || !api_key[0] ||
	    strlen(api_key) >= sizeof(((struct ahrest *)0)->api_key))
		return -EINVAL;
	struct ahrest *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->media = media;
	r->web = web;
	r->ahp = ahp;
	snprintf(r->api_key, sizeof(r->api_key), "%s", api_key);
	*rp = r;
	return 0;
}

void ahrest_destroy(struct ahrest *r)
{
	if (!r)
		return;
	OPENSSL_cleanse(r->api_key, sizeof(r->api_key));
	free(r);
}

static void reply(struct http_conn *conn, uint16_t code, const char *reason,
		  const char *body)
{
	(void)http_reply(conn, code, reason,
			 "Content-Type: application/json\r\n"
			 "Content-Length: %zu\r\n"
			 "\r\n"
			 "%s",
			 strlen(body), body);
}

static void error_reply(struct http_conn *conn, uint16_t code,
			const char *reason, const char *err)
{
	char body[256];
	snprintf(body, sizeof(body), "{\"error\":\"%s\",\"message\":\"%s\"}",
		 err, reason);
	reply(conn, code, reason, body);
}

/* Back on the web loop. */
static void job_done(void *arg)
{
	struct job *j = arg;
	const char *action = j->pause ? "pause" : "resume";
	switch (j->err) {
	case 0: {
		char body[256];
		snprintf(body, sizeof(body),
			 "{\"session\":\"%s\",\"action\":\"%s\"}", j->id,
			 action);
		reply(j->conn, 200, "OK", body);
		break;
	}
	case -ENOENT:
		error_reply(j->conn, 404, "Not Found", "no_session");
		break;
	case -EALREADY:
		error_reply(j->conn, 409, "Conflict",
			    j->pause ? "already_paused" : "not_paused");
		break;
	case -ESHUTDOWN:
		error_reply(j->conn, 503, "Service Unavailable",
			    "audiohook_off");
		break;
	default:
		error_reply(j->conn, 410, "Gone", "closing");
		break;
	}
	mem_deref(j->conn);
	free(j);
}

/* On the media loop. */
static void job_run(void *arg)
{
	struct job *j = arg;
	struct audiohook *ah = *j->r->ahp;
	struct ah_session *s = ah ? audiohook_find(ah, j->id) : NULL;
	if (!ah)
		j->err = -ESHUTDOWN;
	else if (!s || audiohook_session_kind(s) != AUDIOHOOK_MONITOR)
		j->err = -ENOENT;
	else
		j->err = j->pause ? audiohook_session_pause(s)
				  : audiohook_session_resume(s);
	LOGI(j->id, "audiohook_rest", "action=%s err=%d",
	     j->pause ? "pause" : "resume", j->err);
	if (loop_post(j->r->web, job_done, j)) {
		/* the web loop is gone (shutdown): nobody to answer */
		free(j);
	}
}

static bool key_ok(const struct ahrest *r, const struct http_msg *msg)
{
	const struct http_hdr *h = http_msg_xhdr(msg, "X-API-KEY");
	char got[sizeof(r->api_key)] = { 0 };
	char want[sizeof(r->api_key)] = { 0 };
	if (!h || !h->val.l || h->val.l >= sizeof(got))
		return false;
	pl_strcpy(&h->val, got, sizeof(got));
	memcpy(want, r->api_key, sizeof(want));
	return !CRYPTO_memcmp(got, want, sizeof(got));
}

static bool id_chars_ok(const struct pl *id)
{
	for (size_t i = 0; i < id->l; i++) {
		char c = id->p[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return false;
	}
	return true;
}

void ahrest_request(struct http_conn *conn, const struct http_msg *msg,
		    void *arg)
{
	struct ahrest *r = arg;
	/* /v1/audiohook/{id}/{pause|resume} */
	struct pl id, action;
	if (re_regex(msg->path.p, msg->path.l, "/v1/audiohook/[^/]+/[a-z]+",
		     &id, &action) ||
	    id.l >= AHMSG_ID_LEN || !id_chars_ok(&id) ||
	    (pl_strcmp(&action, "pause") && pl_strcmp(&action, "resume")) ||
	    (size_t)(action.p + action.l - msg->path.p) != msg->path.l) {
		error_reply(conn, 404, "Not Found", "not_found");
		return;
	}
	if (pl_strcmp(&msg->met, "POST")) {
		error_reply(conn, 405, "Method Not Allowed", "method");
		return;
	}
	if (!key_ok(r, msg)) {
		error_reply(conn, 401, "Unauthorized", "api_key");
		return;
	}
	struct job *j = calloc(1, sizeof(*j));
	if (!j) {
		error_reply(conn, 500, "Internal Server Error", "oom");
		return;
	}
	j->r = r;
	j->pause = !pl_strcmp(&action, "pause");
	pl_strcpy(&id, j->id, sizeof(j->id));
	j->conn = mem_ref(conn);
	if (loop_post(r->media, job_run, j)) {
		mem_deref(j->conn);
		free(j);
		error_reply(conn, 503, "Service Unavailable", "busy");
	}
}

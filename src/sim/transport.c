/* The registry of `voxgate simulate` transports and the helpers their
 * target checks share (sim/transport.h). */
#include "sim/transport.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Add a backend here (and its extern in transport.h). */
static const struct sim_transport_ops *const transports[] = {
	&sim_tr_sip,		/* tr_sip.c */
	&sim_tr_audiosocket,	/* tr_audiosocket.c */
	&sim_tr_twilio_media,	/* tr_twilio.c */
	&sim_tr_audioconnector, /* tr_genesys.c */
	&sim_tr_audiohook,	/* tr_genesys.c */
};

const struct sim_transport_ops *sim_transport_find(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < sizeof(transports) / sizeof(transports[0]); i++)
		if (!strcmp(transports[i]->name, name))
			return transports[i];
	return NULL;
}

void sim_transport_names(char *buf, size_t cap)
{
	if (!cap)
		return;
	buf[0] = '\0';
	size_t off = 0;
	for (size_t i = 0; i < sizeof(transports) / sizeof(transports[0]);
	     i++) {
		int k = snprintf(buf + off, cap - off, "%s%s", i ? ", " : "",
				 transports[i]->name);
		if (k < 0 || (size_t)k >= cap - off)
			return;
		off += (size_t)k;
	}
}

bool sim_transport_param_known(const struct sim_transport_ops *ops,
			       const char *key)
{
	if (!ops || !ops->params || !key)
		return false;
	for (const char *const *p = ops->params; *p; p++) {
		size_t n = strlen(*p);
		if (n && (*p)[n - 1] == '*') {
			if (!strncmp(key, *p, n - 1) && key[n - 1])
				return true;
		} else if (!strcmp(key, *p)) {
			return true;
		}
	}
	return false;
}

int sim_target_split(const char *target, const char *scheme, char *host,
		     size_t host_cap, uint16_t *port, uint16_t default_port,
		     char *path, size_t path_cap)
{
	if (!target || !scheme || !host || !host_cap || !port)
		return -EINVAL;
	size_t sl = strlen(scheme);
	if (strncmp(target, scheme, sl) || strncmp(target + sl, "://", 3))
		return -EINVAL;
	const char *h = target + sl + 3;
	for (const char *s = h; *s; s++)
		if (isspace((unsigned char)*s) || iscntrl((unsigned char)*s))
			return -EINVAL;
	const char *hend;
	const char *rest;
	if (*h == '[') {
		hend = strchr(h, ']');
		if (!hend)
			return -EINVAL;
		h++;
		rest = hend + 1;
	} else {
		hend = h + strcspn(h, ":/?#@");
		rest = hend;
	}
	size_t hl = (size_t)(hend - h);
	if (!hl || hl >= host_cap)
		return -EINVAL;
	for (size_t i = 0; i < hl; i++)
		if (!isalnum((unsigned char)h[i]) && !strchr(".-_:", h[i]))
			return -EINVAL;
	uint16_t p = default_port;
	if (*rest == ':') {
		rest++;
		if (!isdigit((unsigned char)*rest))
			return -EINVAL;
		char *end = NULL;
		unsigned long v = strtoul(rest, &end, 10);
		if (v == 0 || v > 65535 || end - rest > 5)
			return -EINVAL;
		p = (uint16_t)v;
		rest = end;
	}
	if (!p)
		return -EINVAL;
	if (*rest && *rest != '/')
		return -EINVAL;
	if (path) {
		if (strlen(rest) >= path_cap)
			return -EINVAL;
		memcpy(path, rest, strlen(rest) + 1);
	}
	memcpy(host, h, hl);
	host[hl] = '\0';
	*port = p;
	return 0;
}

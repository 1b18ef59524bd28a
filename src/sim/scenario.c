/* Scenario files for `voxgate simulate`: a strict reader on config/ydoc.h.
 * Every error names the file, line and column of the offending node. */
#include "sim/scenario.h"

#include "config/ydoc.h"
#include "sim/transport.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCENARIO_MAX_BYTES (1u << 20)

struct pctx {
	const char *name;
	char *err;
	const struct ydoc_node *transfer; /* the call's expect.transfer */
};

static int fail(struct pctx *p, const struct ydoc_node *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct pctx *p, const struct ydoc_node *n, const char *fmt, ...)
{
	int k = snprintf(p->err, SIM_ERR_MAX, "%s:%u:%u: ", p->name,
			 n ? ydoc_node_line(n) : 1, n ? ydoc_node_col(n) : 1);
	if (k > 0 && k < SIM_ERR_MAX) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(p->err + k, (size_t)(SIM_ERR_MAX - k), fmt, ap);
		va_end(ap);
	}
	return -EBADMSG;
}

int sim_duration_parse(const char *s, unsigned *ms)
{
	if (!s || !*s || !isdigit((unsigned char)*s))
		return -EINVAL;
	char *end = NULL;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || !isfinite(v) || v < 0)
		return -EINVAL;
	double mul;
	if (!*end || !strcmp(end, "ms"))
		mul = 1;
	else if (!strcmp(end, "s"))
		mul = 1000;
	else
		return -EINVAL;
	v *= mul;
	if (v > 24.0 * 3600 * 1000)
		return -EINVAL;
	*ms = (unsigned)llround(v);
	return 0;
}

static int get_str(struct pctx *p, const struct ydoc_node *n, char *out,
		   size_t cap, const char *what)
{
	if (ydoc_node_type(n) != YDOC_SCALAR || ydoc_scalar_is_null(n))
		return fail(p, n, "%s must be a string, not %s", what,
			    ydoc_node_type(n) == YDOC_SCALAR
				    ? "empty"
				    : ydoc_type_name(ydoc_node_type(n)));
	const char *s = ydoc_scalar_text(n);
	size_t len = ydoc_scalar_len(n);
	if (len != strlen(s))
		return fail(p, n, "%s contains a NUL byte", what);
	if (len >= cap)
		return fail(p, n, "%s is longer than %zu bytes", what, cap - 1);
	memcpy(out, s, len + 1);
	return 0;
}

static int get_dup(struct pctx *p, const struct ydoc_node *n, char **out,
		   size_t cap, const char *what)
{
	char *buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	int err = get_str(p, n, buf, cap, what);
	if (!err && !*buf)
		err = fail(p, n, "%s must not be empty", what);
	if (err) {
		free(buf);
		return err;
	}
	*out = buf;
	return 0;
}

static int get_ms(struct pctx *p, const struct ydoc_node *n, unsigned *ms,
		  unsigned max_ms, const char *what)
{
	char buf[32];
	if (ydoc_node_type(n) != YDOC_SCALAR || ydoc_scalar_quoted(n) ||
	    ydoc_scalar_len(n) >= sizeof(buf))
		return fail(p, n, "%s must be a duration such as 500ms or 2s",
			    what);
	memcpy(buf, ydoc_scalar_text(n), ydoc_scalar_len(n) + 1);
	unsigned v = 0;
	if (sim_duration_parse(buf, &v) || v > max_ms)
		return fail(p, n,
			    "%s: '%s' is not a duration up to %u ms (500ms, "
			    "2s)",
			    what, buf, max_ms);
	*ms = v;
	return 0;
}

static int get_num(struct pctx *p, const struct ydoc_node *n, double lo,
		   double hi, double *out, const char *what)
{
	const char *s = ydoc_scalar_text(n);
	char *end = NULL;
	if (ydoc_node_type(n) != YDOC_SCALAR || ydoc_scalar_quoted(n) || !s ||
	    !*s)
		return fail(p, n, "%s must be a number", what);
	errno = 0;
	double v = strtod(s, &end);
	if (errno || *end || !isfinite(v) || v < lo || v > hi)
		return fail(p, n, "%s must be a number from %g to %g", what, lo,
			    hi);
	*out = v;
	return 0;
}

/* A string or a list of 1..max strings. */
static int get_list(struct pctx *p, const struct ydoc_node *n, char **out,
		    size_t *count, size_t max, size_t cap, const char *what)
{
	if (ydoc_node_type(n) == YDOC_SCALAR) {
		int err = get_dup(p, n, &out[0], cap, what);
		if (!err)
			*count = 1;
		return err;
	}
	if (ydoc_node_type(n) != YDOC_SEQ)
		return fail(p, n, "%s must be a string or a list of strings",
			    what);
	size_t k = ydoc_node_count(n);
	if (!k)
		return fail(p, n, "%s must not be an empty list", what);
	if (k > max)
		return fail(p, n, "%s has %zu entries; at most %zu", what, k,
			    max);
	for (size_t i = 0; i < k; i++) {
		const struct ydoc_node *it = ydoc_seq_item(n, i);
		if (ydoc_node_type(it) != YDOC_SCALAR)
			return fail(p, it, "%s entries must be strings", what);
		int err = get_dup(p, it, &out[*count], cap, what);
		if (err)
			return err;
		(*count)++;
	}
	return 0;
}

static bool name_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-' &&
		    *s != '.')
			return false;
	return true;
}

static int parse_expect(struct pctx *p, const struct ydoc_node *n,
			struct sim_expect *e, bool per_call)
{
	if (ydoc_node_type(n) != YDOC_MAP)
		return fail(p, n, "expect must be a map");
	for (size_t i = 0; i < ydoc_node_count(n); i++) {
		const struct ydoc_node *k = ydoc_map_key(n, i);
		const struct ydoc_node *v = ydoc_map_value(n, i);
		const char *key = ydoc_scalar_text(k);
		int err = 0;
		if (!strcmp(key, "says")) {
			err = get_list(p, v, e->says, &e->nsays, SIM_WORDS_MAX,
				       512, "expect.says");
		} else if (!per_call && !strcmp(key, "intent")) {
			err = get_str(p, v, e->intent, sizeof(e->intent),
				      "expect.intent");
			if (!err && !name_ok(e->intent))
				err = fail(p, v,
					   "expect.intent: '%s' is not "
					   "an intent name",
					   e->intent);
		} else if (!per_call && !strcmp(key, "next")) {
			err = get_str(p, v, e->next, sizeof(e->next),
				      "expect.next");
			if (!err && !name_ok(e->next))
				err = fail(p, v,
					   "expect.next: '%s' is not a node "
					   "name",
					   e->next);
		} else if (!per_call && !strcmp(key, "reply")) {
			const char *s = ydoc_scalar_text(v);
			if (s && !ydoc_scalar_quoted(v) && !strcmp(s, "true"))
				e->reply = 1;
			else if (s && !ydoc_scalar_quoted(v) &&
				 !strcmp(s, "false"))
				e->reply = 0;
			else
				err = fail(p, v,
					   "expect.reply must be true or "
					   "false");
		} else if (per_call && !strcmp(key, "nodes")) {
			err = get_list(p, v, e->nodes, &e->nnodes,
				       SIM_WORDS_MAX, SIM_NAME_MAX,
				       "expect.nodes");
			for (size_t j = 0; !err && j < e->nnodes; j++)
				if (!name_ok(e->nodes[j]))
					err = fail(p, v,
						   "expect.nodes: '%s' is not "
						   "a node name",
						   e->nodes[j]);
		} else if (per_call && !strcmp(key, "transfer")) {
			p->transfer = v;
			err = get_str(p, v, e->transfer, sizeof(e->transfer),
				      "expect.transfer");
			if (!err && !*e->transfer)
				err = fail(p, v,
					   "expect.transfer must not be "
					   "empty (use none)");
		} else if (per_call && !strcmp(key, "end_reason")) {
			err = get_str(p, v, e->end_reason,
				      sizeof(e->end_reason),
				      "expect.end_reason");
			if (!err && !name_ok(e->end_reason))
				err = fail(p, v,
					   "expect.end_reason: '%s' is not "
					   "a reason such as completed",
					   e->end_reason);
		} else {
			err = fail(p, k,
				   "unknown key '%s' in %s expect (known: %s)",
				   key, per_call ? "the call's" : "a turn's",
				   per_call ? "nodes, transfer, end_reason, "
					      "says"
					    : "intent, next, says, reply");
		}
		if (err)
			return err;
	}
	return 0;
}

static int parse_turn(struct pctx *p, const struct ydoc_node *n,
		      struct sim_turn *t)
{
	t->barge_in_ms = -1;
	t->expect.reply = -1;
	t->line = ydoc_node_line(n);
	t->col = ydoc_node_col(n);
	if (ydoc_node_type(n) != YDOC_MAP)
		return fail(p, n,
			    "a turn must be a map with one of say, wav, "
			    "dtmf, silence");
	int kinds = 0;
	for (size_t i = 0; i < ydoc_node_count(n); i++) {
		const struct ydoc_node *k = ydoc_map_key(n, i);
		const struct ydoc_node *v = ydoc_map_value(n, i);
		const char *key = ydoc_scalar_text(k);
		int err = 0;
		bool kind = true;
		if (!strcmp(key, "say")) {
			t->kind = SIM_TURN_SAY;
			err = get_list(p, v, t->texts, &t->ntexts,
				       SIM_VARIANTS_MAX, 1024, "say");
		} else if (!strcmp(key, "wav")) {
			t->kind = SIM_TURN_WAV;
			err = get_dup(p, v, &t->wav, 1024, "wav");
		} else if (!strcmp(key, "dtmf")) {
			t->kind = SIM_TURN_DTMF;
			err = get_str(p, v, t->dtmf, sizeof(t->dtmf), "dtmf");
			if (!err && !*t->dtmf)
				err = fail(p, v, "dtmf must not be empty");
			for (const char *d = t->dtmf; !err && *d; d++)
				if (!strchr("0123456789*#ABCD", *d))
					err = fail(p, v,
						   "dtmf: '%c' is not a key "
						   "(0-9 * # A-D)",
						   *d);
		} else if (!strcmp(key, "silence")) {
			t->kind = SIM_TURN_SILENCE;
			err = get_ms(p, v, &t->silence_ms, 600000, "silence");
		} else {
			kind = false;
			if (!strcmp(key, "barge_in_ms")) {
				unsigned ms = 0;
				err = get_ms(p, v, &ms, 60000, "barge_in_ms");
				t->barge_in_ms = (int)ms;
			} else if (!strcmp(key, "expect")) {
				err = parse_expect(p, v, &t->expect, false);
			} else {
				err = fail(p, k,
					   "unknown key '%s' in a turn "
					   "(known: say, wav, dtmf, silence, "
					   "barge_in_ms, expect)",
					   key);
			}
		}
		if (err)
			return err;
		if (kind && ++kinds > 1)
			return fail(p, k,
				    "a turn has one of say, wav, dtmf, "
				    "silence; '%s' is a second one",
				    key);
	}
	if (!kinds)
		return fail(p, n,
			    "a turn needs one of say, wav, dtmf, silence");
	if (t->kind == SIM_TURN_SILENCE && t->barge_in_ms >= 0)
		return fail(p, n, "barge_in_ms needs something to say");
	const struct sim_expect *e = &t->expect;
	if (t->kind == SIM_TURN_SILENCE && (*e->intent || *e->next))
		return fail(p, n, "a silence turn has no intent or next");
	return 0;
}

static int parse_variation(struct pctx *p, const struct ydoc_node *n,
			   struct sim_scenario *sc)
{
	if (ydoc_node_type(n) != YDOC_MAP)
		return fail(p, n, "variation must be a map");
	for (size_t i = 0; i < ydoc_node_count(n); i++) {
		const struct ydoc_node *k = ydoc_map_key(n, i);
		const struct ydoc_node *v = ydoc_map_value(n, i);
		const char *key = ydoc_scalar_text(k);
		int err;
		if (!strcmp(key, "noise_db")) {
			err = get_num(p, v, -90, 0, &sc->noise_db,
				      "variation.noise_db");
			sc->noise = true;
		} else if (!strcmp(key, "rate")) {
			err = get_num(p, v, 0.5, 2.0, &sc->rate,
				      "variation.rate");
		} else if (!strcmp(key, "seed")) {
			double s = 0;
			err = get_num(p, v, 0, 4294967295.0, &s,
				      "variation.seed");
			if (!err && s != floor(s))
				err = fail(p, v,
					   "variation.seed must be a whole "
					   "number");
			sc->seed = (uint32_t)s;
		} else {
			err = fail(p, k,
				   "unknown key '%s' in variation (known: "
				   "noise_db, rate, seed)",
				   key);
		}
		if (err)
			return err;
	}
	return 0;
}

static bool host_is_loopback(const char *host)
{
	if (!strcmp(host, "localhost") || !strcmp(host, "::1"))
		return true;
	unsigned a, b, c, d;
	char extra;
	if (sscanf(host, "%u.%u.%u.%u%c", &a, &b, &c, &d, &extra) != 4)
		return false;
	return a == 127 && b < 256 && c < 256 && d < 256;
}

bool sim_uri_is_loopback(const char *uri)
{
	const char *h = uri;
	const char *sep = strstr(uri, "://");
	if (sep && sep > uri && (size_t)(sep - uri) < 16 &&
	    strncmp(uri, "sip", 3)) {
		char scheme[16];
		memcpy(scheme, uri, (size_t)(sep - uri));
		scheme[sep - uri] = '\0';
		char host[SIM_URI_MAX];
		uint16_t port = 0;
		if (sim_target_split(uri, scheme, host, sizeof(host), &port, 1,
				     NULL, 0))
			return false;
		return host_is_loopback(host);
	}
	if (!strncmp(h, "sip:", 4))
		h += 4;
	else if (!strncmp(h, "sips:", 5))
		h += 5;
	const char *at = strchr(h, '@');
	if (at)
		h = at + 1;
	if (!strncmp(h, "[::1]", 5))
		return true;
	char host[64];
	size_t n = strcspn(h, ":;>?");
	if (n >= sizeof(host))
		return false;
	memcpy(host, h, n);
	host[n] = '\0';
	return host_is_loopback(host);
}

static int parse_params(struct pctx *p, const struct ydoc_node *n,
			struct sim_scenario *sc)
{
	if (ydoc_node_type(n) != YDOC_MAP)
		return fail(p, n, "params must be a map of strings");
	if (ydoc_node_count(n) > SIM_PARAMS_MAX)
		return fail(p, n, "params has %zu entries; at most %d",
			    ydoc_node_count(n), SIM_PARAMS_MAX);
	for (size_t i = 0; i < ydoc_node_count(n); i++) {
		const struct ydoc_node *k = ydoc_map_key(n, i);
		const struct ydoc_node *v = ydoc_map_value(n, i);
		struct sim_param *pm = &sc->params[sc->nparams];
		int err =
			get_str(p, k, pm->key, sizeof(pm->key), "a params key");
		if (!err && !*pm->key)
			err = fail(p, k, "a params key must not be empty");
		for (size_t j = 0; !err && j < sc->nparams; j++)
			if (!strcmp(sc->params[j].key, pm->key))
				err = fail(p, k, "params: '%s' given twice",
					   pm->key);
		if (err)
			return err;
		if (ydoc_node_type(v) != YDOC_SCALAR)
			return fail(p, v, "params.%s must be a string",
				    pm->key);
		pm->value = calloc(1, SIM_PARAM_VALUE_MAX);
		if (!pm->value)
			return -ENOMEM;
		sc->nparams++; /* owned from here: freed with sc */
		if (ydoc_scalar_is_null(v))
			return fail(p, v,
				    "params.%s must be a string, not empty "
				    "(quote \"\" for an empty value)",
				    pm->key);
		err = get_str(p, v, pm->value, SIM_PARAM_VALUE_MAX,
			      "a params value");
		if (err)
			return err;
	}
	return 0;
}

/* After the whole map was read: target and params against the transport. */
static int check_transport(struct pctx *p, const struct ydoc_node *root,
			   const struct ydoc_node *target,
			   const struct ydoc_node *params,
			   struct sim_scenario *sc)
{
	const struct sim_transport_ops *tr = sc->transport;
	if (!*sc->target)
		return fail(p, root,
			    "target is missing (transport %s: e.g. %s)",
			    tr->name, tr->target_example);
	char why[256] = "";
	if (tr->target_check(sc->target, why, sizeof(why)))
		return fail(p, target,
			    "target '%s' does not fit transport %s: %s",
			    sc->target, tr->name, why);
	if (tr->no_transfer && *sc->expect.transfer &&
	    strcmp(sc->expect.transfer, "none"))
		return fail(p, p->transfer,
			    "expect.transfer: transport %s shows no transfers "
			    "(only none can be checked; use expect.nodes or "
			    "end_reason)",
			    tr->name);
	for (size_t i = 0; i < sc->nparams; i++) {
		if (sim_transport_param_known(tr, sc->params[i].key))
			continue;
		char known[512] = "none";
		size_t off = 0;
		for (const char *const *k = tr->params; k && *k; k++) {
			int w = snprintf(known + off, sizeof(known) - off,
					 "%s%s", off ? ", " : "", *k);
			if (w < 0 || (size_t)w >= sizeof(known) - off)
				break;
			off += (size_t)w;
		}
		return fail(p, ydoc_map_key(params, i),
			    "unknown params key '%s' for transport %s (known: "
			    "%s)",
			    sc->params[i].key, tr->name, known);
	}
	const char *bad = NULL;
	if (tr->params_check && tr->params_check(sc, &bad, why, sizeof(why))) {
		const struct ydoc_node *at = params ? params : root;
		for (size_t i = 0; params && bad && i < sc->nparams; i++)
			if (!strcmp(sc->params[i].key, bad))
				at = ydoc_map_value(params, i);
		return fail(p, at, "params.%s: %s", bad ? bad : "?", why);
	}
	return 0;
}

const char *sim_scenario_param(const struct sim_scenario *sc, const char *key)
{
	if (!sc || !key)
		return NULL;
	for (size_t i = 0; i < sc->nparams; i++)
		if (!strcmp(sc->params[i].key, key))
			return sc->params[i].value;
	return NULL;
}

static int parse_root(struct pctx *p, const struct ydoc_node *root,
		      struct sim_scenario *sc)
{
	if (!root)
		return fail(p, NULL, "the scenario is empty");
	if (ydoc_node_type(root) != YDOC_MAP)
		return fail(p, root, "a scenario must be a map");
	const struct ydoc_node *turns = NULL;
	const struct ydoc_node *target = NULL, *params = NULL;
	for (size_t i = 0; i < ydoc_node_count(root); i++) {
		const struct ydoc_node *k = ydoc_map_key(root, i);
		const struct ydoc_node *v = ydoc_map_value(root, i);
		const char *key = ydoc_scalar_text(k);
		int err = 0;
		if (!strcmp(key, "name")) {
			err = get_str(p, v, sc->name, sizeof(sc->name), "name");
		} else if (!strcmp(key, "target")) {
			target = v;
			err = get_str(p, v, sc->target, sizeof(sc->target),
				      "target");
		} else if (!strcmp(key, "transport")) {
			char name[SIM_NAME_MAX];
			err = get_str(p, v, name, sizeof(name), "transport");
			sc->transport = err ? NULL : sim_transport_find(name);
			if (!err && !sc->transport) {
				char names[256];
				sim_transport_names(names, sizeof(names));
				err = fail(p, v,
					   "unknown transport '%s' (known: %s)",
					   name, names);
			}
		} else if (!strcmp(key, "params")) {
			params = v;
			err = parse_params(p, v, sc);
		} else if (!strcmp(key, "from")) {
			err = get_str(p, v, sc->from, sizeof(sc->from), "from");
			for (const char *c = sc->from; !err && *c; c++)
				if (!isalnum((unsigned char)*c) &&
				    !strchr("+-_.", *c))
					err = fail(p, v,
						   "from must be a caller "
						   "number or user name "
						   "([A-Za-z0-9+-_.])");
		} else if (!strcmp(key, "voice")) {
			err = get_str(p, v, sc->voice, sizeof(sc->voice),
				      "voice");
		} else if (!strcmp(key, "quiet")) {
			err = get_ms(p, v, &sc->quiet_ms, 10000, "quiet");
		} else if (!strcmp(key, "reply_timeout")) {
			err = get_ms(p, v, &sc->reply_timeout_ms, 120000,
				     "reply_timeout");
		} else if (!strcmp(key, "max_duration")) {
			err = get_ms(p, v, &sc->max_duration_ms, 3600000,
				     "max_duration");
		} else if (!strcmp(key, "end_silence")) {
			err = get_ms(p, v, &sc->end_silence_ms, 120000,
				     "end_silence");
		} else if (!strcmp(key, "variation")) {
			err = parse_variation(p, v, sc);
		} else if (!strcmp(key, "expect")) {
			err = parse_expect(p, v, &sc->expect, true);
		} else if (!strcmp(key, "turns")) {
			turns = v;
			if (ydoc_node_type(v) != YDOC_SEQ)
				err = fail(p, v, "turns must be a list");
			else if (ydoc_node_count(v) > SIM_TURNS_MAX)
				err = fail(p, v, "%zu turns; at most %d",
					   ydoc_node_count(v), SIM_TURNS_MAX);
			for (size_t j = 0; !err && j < ydoc_node_count(v);
			     j++) {
				err = parse_turn(p, ydoc_seq_item(v, j),
						 &sc->turns[j]);
				sc->nturns = j + 1;
			}
		} else {
			err = fail(p, k,
				   "unknown key '%s' (known: name, transport, "
				   "target, params, from, voice, quiet, "
				   "reply_timeout, "
				   "max_duration, end_silence, variation, "
				   "expect, turns)",
				   key);
		}
		if (err)
			return err;
	}
	if (!sc->transport)
		sc->transport = &sim_tr_sip;
	int err = check_transport(p, root, target, params, sc);
	if (err)
		return err;
	if (!turns || !sc->nturns)
		return fail(p, turns ? turns : root,
			    "turns is missing or empty");
	if (sc->end_silence_ms == 0)
		sc->end_silence_ms = 4000;
	return 0;
}

int sim_scenario_parse(const char *name, const char *buf, size_t len,
		       struct sim_scenario **scp, char err[SIM_ERR_MAX])
{
	if (!name || !buf || !scp || !err)
		return -EINVAL;
	err[0] = '\0';
	struct ydoc_limits lim = { .max_bytes = SCENARIO_MAX_BYTES,
				   .max_depth = 8,
				   .max_nodes = 20000,
				   .max_scalar_len = 4096 };
	struct ydoc *doc = NULL;
	int rc =
		ydoc_parse_limits(name, buf, len, &lim, &doc, err, SIM_ERR_MAX);
	if (rc)
		return rc;
	struct sim_scenario *sc = calloc(1, sizeof(*sc));
	if (!sc) {
		ydoc_destroy(doc);
		return -ENOMEM;
	}
	sc->file = strdup(name);
	snprintf(sc->name, sizeof(sc->name), "%s", "scenario");
	snprintf(sc->voice, sizeof(sc->voice), "%s", "slt");
	snprintf(sc->from, sizeof(sc->from), "%s", "simulator");
	sc->seed = 1;
	sc->quiet_ms = 1500;
	sc->reply_timeout_ms = 10000;
	sc->max_duration_ms = 120000;
	sc->rate = 1.0;
	sc->expect.reply = -1;
	struct pctx p = { .name = name, .err = err };
	rc = sc->file ? parse_root(&p, ydoc_root(doc), sc) : -ENOMEM;
	ydoc_destroy(doc);
	if (rc) {
		sim_scenario_destroy(sc);
		return rc;
	}
	*scp = sc;
	return 0;
}

int sim_scenario_load(const char *path, struct sim_scenario **scp,
		      char err[SIM_ERR_MAX])
{
	if (!path || !err)
		return -EINVAL;
	FILE *f = fopen(path, "rb");
	if (!f) {
		int e = errno;
		snprintf(err, SIM_ERR_MAX, "%s: %s", path, strerror(e));
		return -e;
	}
	char *buf = malloc(SCENARIO_MAX_BYTES + 1);
	size_t n = buf ? fread(buf, 1, SCENARIO_MAX_BYTES + 1, f) : 0;
	int rerr = ferror(f);
	fclose(f);
	if (!buf)
		return -ENOMEM;
	if (rerr || n > SCENARIO_MAX_BYTES) {
		free(buf);
		snprintf(err, SIM_ERR_MAX, "%s: %s", path,
			 rerr ? "read error" : "larger than 1 MiB");
		return rerr ? -EIO : -E2BIG;
	}
	int rc = sim_scenario_parse(path, buf, n, scp, err);
	free(buf);
	return rc;
}

static void expect_free(struct sim_expect *e)
{
	for (size_t i = 0; i < e->nsays; i++)
		free(e->says[i]);
	for (size_t i = 0; i < e->nnodes; i++)
		free(e->nodes[i]);
}

void sim_scenario_destroy(struct sim_scenario *sc)
{
	if (!sc)
		return;
	for (size_t i = 0; i < sc->nturns; i++) {
		struct sim_turn *t = &sc->turns[i];
		for (size_t j = 0; j < t->ntexts; j++)
			free(t->texts[j]);
		free(t->wav);
		expect_free(&t->expect);
	}
	expect_free(&sc->expect);
	for (size_t i = 0; i < sc->nparams; i++) {
		/* values may be keys or secrets */
		if (sc->params[i].value)
			explicit_bzero(sc->params[i].value,
				       strlen(sc->params[i].value));
		free(sc->params[i].value);
	}
	free(sc->file);
	free(sc);
}

/* splitmix64: a good spread of (seed, call, turn) with no state. */
static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

const char *sim_scenario_text(const struct sim_scenario *sc, size_t turn,
			      uint64_t call_idx)
{
	if (!sc || turn >= sc->nturns || !sc->turns[turn].ntexts)
		return NULL;
	const struct sim_turn *t = &sc->turns[turn];
	uint64_t h = mix(mix((uint64_t)sc->seed ^ (call_idx << 20)) ^ turn);
	return t->texts[h % t->ntexts];
}

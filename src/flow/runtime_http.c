/* The flow runtime's back-end nodes: http (request rendering, JSON bodies,
 * the Amazon Connect Lambda event, response mapping into variables) and
 * lookup (CRM rows into variables under a prefix). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cJSON.h>

#include "core/log.h"
#include "flow/runtime_int.h"

#define URL_MAX (8u * 1024u)
#define HEADER_MAX (8u * 1024u)
#define BODY_MAX (1024u * 1024u)
#define JSON_DEPTH_MAX 32 /* nesting of a json: body template */
#define LOOKUP_ROWS_MAX 20

/* ---- request ---- */

/* A JSON string whose text is template t rendered (literals and values
 * alike are escaped). */
static int json_string(struct flow_run *r, const struct flow_tmpl *t,
		       struct strbuf *sb)
{
	const char *s = rt_render(r, t, NULL, TMPL_CTX_TEXT, BODY_MAX);

	if (!s)
		return -E2BIG;
	return strbuf_add_json_str(sb, s);
}

static int json_render(struct flow_run *r, const struct flow_json *j,
		       struct strbuf *sb, unsigned depth)
{
	int err = 0;

	if (depth > JSON_DEPTH_MAX)
		return -E2BIG;
	switch (j->kind) {
	case FLOW_JSON_NULL:
		return strbuf_addstr(sb, "null");
	case FLOW_JSON_BOOL:
	case FLOW_JSON_NUMBER:
		return strbuf_addstr(sb, j->literal ? j->literal : "null");
	case FLOW_JSON_STRING:
		return json_string(r, j->tmpl, sb);
	case FLOW_JSON_ARRAY:
	case FLOW_JSON_OBJECT:
		break;
	}
	err = strbuf_addstr(sb, j->kind == FLOW_JSON_ARRAY ? "[" : "{");
	for (unsigned i = 0; !err && i < j->nitems; i++) {
		const struct flow_json *c = &j->items[i];

		if (i)
			err = strbuf_add(sb, ",", 1);
		if (!err && j->kind == FLOW_JSON_OBJECT) {
			err = strbuf_add_json_str(sb, c->key ? c->key : "");
			if (!err)
				err = strbuf_add(sb, ":", 1);
		}
		if (!err)
			err = json_render(r, c, sb, depth + 1);
	}
	if (!err)
		err = strbuf_addstr(sb, j->kind == FLOW_JSON_ARRAY ? "]" : "}");
	return err;
}

struct attr_ctx {
	struct strbuf *sb;
	bool first;
	int err;
};

static int add_attr(const char *name, const char *value, void *arg)
{
	struct attr_ctx *a = arg;

	if (strncmp(name, "attr.", 5) || !name[5])
		return 0;
	if (!a->first)
		a->err = strbuf_add(a->sb, ",", 1);
	a->first = false;
	if (!a->err)
		a->err = strbuf_add_json_str(a->sb, name + 5);
	if (!a->err)
		a->err = strbuf_add(a->sb, ":", 1);
	if (!a->err)
		a->err = strbuf_add_json_str(a->sb, value);
	return a->err;
}

/* An endpoint address as Connect writes it (a phone number, no URI): the
 * user part of a sip:/sips:/tel: URI ("sip:+15551230000@pbx;x=y" ->
 * "+15551230000"), else the text as is. */
static int add_endpoint(struct strbuf *sb, const char *addr)
{
	const char *p = addr ? addr : "";
	size_t n;

	if (!strncasecmp(p, "sip:", 4) || !strncasecmp(p, "tel:", 4))
		p += 4;
	else if (!strncasecmp(p, "sips:", 5))
		p += 5;
	else
		return strbuf_add_json_str(sb, p);
	n = strcspn(p, "@;?>");
	char user[128];
	if (!n || n >= sizeof(user))
		return strbuf_add_json_str(sb, addr);
	memcpy(user, p, n);
	user[n] = '\0';
	return strbuf_add_json_str(sb, user);
}

/* The Amazon Connect Lambda event (ContactFlowEvent) for this call. */
static int connect_event(struct flow_run *r, const struct flow_node *n,
			 struct strbuf *sb)
{
	struct attr_ctx a = { .sb = sb, .first = true };
	int err;

	err = strbuf_addstr(sb, "{\"Details\":{\"ContactData\":{"
				"\"Attributes\":{");
	if (!err)
		err = flow_vars_foreach(r->vars, add_attr, &a);
	if (!err)
		err = a.err;
	if (!err)
		err = strbuf_printf(sb, "},\"Channel\":\"VOICE\","
					"\"ContactId\":");
	if (!err)
		err = strbuf_add_json_str(sb, r->call_id);
	if (!err)
		err = strbuf_addstr(sb, ",\"CustomerEndpoint\":{\"Address\":");
	if (!err)
		err = add_endpoint(sb, r->from);
	if (!err)
		err = strbuf_addstr(sb, ",\"Type\":\"TELEPHONE_NUMBER\"},"
					"\"InitialContactId\":");
	if (!err)
		err = strbuf_add_json_str(sb, r->call_id);
	if (!err)
		err = strbuf_addstr(sb, ",\"InitiationMethod\":\"INBOUND\","
					"\"SystemEndpoint\":{\"Address\":");
	if (!err)
		err = add_endpoint(sb, r->to);
	if (!err)
		err = strbuf_addstr(sb, ",\"Type\":\"TELEPHONE_NUMBER\"},"
					"\"LanguageCode\":\"en-US\","
					"\"PreviousContactId\":");
	if (!err)
		err = strbuf_add_json_str(sb, r->call_id);
	/* The queue a flow set (Connect's UpdateContactTargetQueue imports
	 * as `set queue:`), else null as Connect sends it. */
	const char *queue = flow_vars_get(r->vars, "queue");
	if (!err && queue && *queue) {
		err = strbuf_addstr(sb, ",\"Queue\":{\"Name\":");
		if (!err)
			err = strbuf_add_json_str(sb, queue);
		if (!err)
			err = strbuf_addstr(sb, "}");
	} else if (!err) {
		err = strbuf_addstr(sb, ",\"Queue\":null");
	}
	if (!err)
		err = strbuf_addstr(sb, "},\"Parameters\":");
	if (!err) {
		if (n->json && n->json->kind == FLOW_JSON_OBJECT)
			err = json_render(r, n->json, sb, 0);
		else
			err = strbuf_addstr(sb, "{}");
	}
	if (!err)
		err = strbuf_addstr(sb, "},\"Name\":\"ContactFlowEvent\"}");
	return err;
}

static bool has_header(const struct flow_action *a, const char *name)
{
	for (unsigned i = 0; i < a->http.nheaders; i++)
		if (!strcasecmp(a->http.header_names[i], name))
			return true;
	return false;
}

void rt_http_enter(struct flow_run *r, const struct flow_node *n)
{
	struct flow_action *a = &r->act;
	bool json = n->json || n->event_connect;
	const char *url;

	memset(a, 0, sizeof(*a));
	url = rt_render(r, n->url, NULL, TMPL_CTX_URL, URL_MAX);
	if (!url) {
		rt_error(r, "template");
		return;
	}
	a->http.method = n->method ? n->method : "GET";
	a->http.url = url;
	for (unsigned i = 0; i < n->nkvs && i < FLOW_ACT_HEADERS_MAX; i++) {
		const char *v = rt_render(r, n->kvs[i].value, NULL,
					  TMPL_CTX_HEADER, HEADER_MAX);

		if (!v) {
			rt_error(r, "template");
			return;
		}
		a->http.header_names[i] = n->kvs[i].name;
		a->http.header_values[i] = v;
		a->http.nheaders++;
	}
	if (json || n->body) {
		struct strbuf sb;
		int err;

		strbuf_init(&sb, BODY_MAX);
		if (n->event_connect)
			err = connect_event(r, n, &sb);
		else if (n->json)
			err = json_render(r, n->json, &sb, 0);
		else
			err = flow_tmpl_render(n->body, TMPL_CTX_TEXT, r->vars,
					       &sb);
		a->http.body = err ? NULL : rt_keep(r, strbuf_str(&sb), sb.len);
		a->http.body_len = sb.len;
		strbuf_fini(&sb);
		if (!a->http.body) {
			LOGW(r->call_id, "flow_http_body_failed",
			     "flow=%s node=%s err=%d", rt_top(r)->flow->name,
			     n->name, err);
			rt_error(r, "template");
			return;
		}
	}
	if (json && !has_header(a, "Content-Type") &&
	    a->http.nheaders < FLOW_ACT_HEADERS_MAX) {
		a->http.header_names[a->http.nheaders] = "Content-Type";
		a->http.header_values[a->http.nheaders] = "application/json";
		a->http.nheaders++;
	}
	a->http.timeout_ms = n->http_timeout_ms ? n->http_timeout_ms : 3000;
	a->http.retries = n->http_retries;
	rt_emit(r, FLOW_ACT_HTTP, RW_HTTP);
}

/* ---- response ---- */

/* A JSON value as a variable's text (kept until the next step). */
static const char *json_text(struct flow_run *r, const cJSON *v)
{
	const char *s;
	char *p;

	if (!v || cJSON_IsNull(v))
		return "";
	if (cJSON_IsString(v))
		return v->valuestring ? v->valuestring : "";
	if (cJSON_IsTrue(v))
		return "true";
	if (cJSON_IsFalse(v))
		return "false";
	p = cJSON_PrintUnformatted(v);
	if (!p)
		return NULL;
	s = rt_keep(r, p, strlen(p));
	cJSON_free(p);
	return s;
}

/* Item at a dotted path ("a.b", "items.0.id"), or NULL. */
static const cJSON *json_path(const cJSON *root, const char *path)
{
	const cJSON *cur = root;
	char seg[FLOW_VAR_NAME_MAX + 1];

	while (cur && *path) {
		const char *dot = strchr(path, '.');
		size_t len = dot ? (size_t)(dot - path) : strlen(path);
		char *end;

		if (len == 0 || len >= sizeof(seg))
			return NULL;
		memcpy(seg, path, len);
		seg[len] = '\0';
		if (cJSON_IsArray(cur)) {
			long i = strtol(seg, &end, 10);

			cur = *end || i < 0 ? NULL
					    : cJSON_GetArrayItem(cur, (int)i);
		} else if (cJSON_IsObject(cur)) {
			cur = cJSON_GetObjectItemCaseSensitive(cur, seg);
		} else {
			cur = NULL;
		}
		path += len + (dot ? 1 : 0);
	}
	return cur;
}

/* Every top-level member of obj into "<prefix>.<key>" (prefix reset). */
static void fill_prefix(struct flow_run *r, const char *prefix,
			const cJSON *obj)
{
	const cJSON *c;

	flow_vars_unset_prefix(r->vars, prefix);
	cJSON_ArrayForEach(c, obj)
	{
		char name[FLOW_VAR_NAME_MAX + 1];
		const char *v;
		int n;

		if (!c->string)
			continue;
		n = snprintf(name, sizeof(name), "%s.%s", prefix, c->string);
		v = json_text(r, c);
		if (n <= 0 || (size_t)n >= sizeof(name) || !v)
			continue;
		/* Keys that are not variable names are skipped. */
		if (flow_vars_set(r->vars, name, v) == -ENOSPC)
			LOGW(r->call_id, "flow_vars_full", "name=%s",
			     log_esc(name));
	}
}

static const char *http_error_name(int err)
{
	switch (err) {
	case -ETIMEDOUT:
		return "timeout";
	case -EBUSY:
		return "circuit_open";
	case -EACCES:
	case -EPERM:
	case -ENOTSUP:
	case -EAGAIN:
	case -ECANCELED:
		return "refused";
	default:
		return "connect";
	}
}

void rt_http_result(struct flow_run *r, const struct flow_node *n,
		    const struct flow_result *res)
{
	int status = res->http.status;
	bool want_json = n->nmaps || n->map_all || n->event_connect;
	const char *why = NULL;
	cJSON *doc = NULL;

	if (status > 0)
		rt_setf(r, "http.status", "%d", status);
	else
		rt_set(r, "http.status", "");
	if (res->err)
		why = http_error_name(res->err);
	else if (status < 200 || status > 299)
		why = "status";
	else if (want_json) {
		doc = res->http.body ? cJSON_ParseWithLength(res->http.body,
							     res->http.body_len)
				     : NULL;
		if (!cJSON_IsObject(doc))
			why = "json";
	}
	if (why) {
		cJSON_Delete(doc);
		LOGW(r->call_id, "flow_http_failed",
		     "flow=%s node=%s status=%d err=%d why=%s",
		     rt_top(r)->flow->name, n->name, status, res->err, why);
		rt_set(r, "http.error", why);
		if (n->on_error != FLOW_NO_NODE)
			rt_jump(r, n->on_error);
		else
			rt_error(r, "http");
		return;
	}
	rt_set(r, "http.error", "");
	for (unsigned i = 0; doc && i < n->nmaps; i++) {
		const char *v = json_text(r, json_path(doc, n->maps[i].path));

		rt_set(r, n->maps[i].var, v ? v : "");
	}
	if (doc && n->map_all)
		fill_prefix(r, n->map_all, doc);
	if (doc && n->event_connect)
		fill_prefix(r, "external", doc);
	cJSON_Delete(doc);
	rt_jump(r, n->next);
}

/* ---- lookup ---- */

static bool lookup_is_customer(enum flow_lookup_query q)
{
	return q == FLOW_LOOKUP_CUSTOMER || q == FLOW_LOOKUP_CUSTOMER_BY_PHONE;
}

static bool lookup_is_list(enum flow_lookup_query q)
{
	return q == FLOW_LOOKUP_ACCOUNTS || q == FLOW_LOOKUP_CARDS ||
	       q == FLOW_LOOKUP_TICKETS;
}

static const char *lookup_prefix(const struct flow_node *n)
{
	if (n->lookup_into)
		return n->lookup_into;
	switch (n->query) {
	case FLOW_LOOKUP_CUSTOMER:
	case FLOW_LOOKUP_CUSTOMER_BY_PHONE:
		return "customer";
	case FLOW_LOOKUP_ACCOUNTS:
		return "accounts";
	case FLOW_LOOKUP_CARDS:
		return "cards";
	case FLOW_LOOKUP_TICKETS:
		return "tickets";
	default:
		return "ticket";
	}
}

void rt_lookup_enter(struct flow_run *r, const struct flow_node *n)
{
	struct flow_action *a = &r->act;
	const char *key;

	memset(a, 0, sizeof(*a));
	if (n->key) {
		key = rt_render(r, n->key, NULL, TMPL_CTX_TEXT, 0);
	} else {
		key = flow_vars_get(r->vars,
				    n->query == FLOW_LOOKUP_CUSTOMER_BY_PHONE
					    ? "call.from"
					    : "customer.id");
		key = rt_keep(r, key ? key : "", key ? strlen(key) : 0);
	}
	if (!key) {
		rt_error(r, "template");
		return;
	}
	if (n->query == FLOW_LOOKUP_CREATE_TICKET) {
		a->lookup.subject =
			rt_render(r, n->subject, NULL, TMPL_CTX_TEXT, 0);
		if (!a->lookup.subject) {
			rt_error(r, "template");
			return;
		}
	}
	a->lookup.query = (int)n->query;
	a->lookup.key = key;
	rt_emit(r, FLOW_ACT_LOOKUP, RW_LOOKUP);
}

static void lookup_failed(struct flow_run *r, const struct flow_node *n)
{
	if (n->on_error != FLOW_NO_NODE)
		rt_jump(r, n->on_error);
	else
		rt_error(r, "lookup");
}

static void fill_rows(struct flow_run *r, const struct flow_node *n,
		      const char *p, const cJSON *arr)
{
	double total = 0;
	int count = 0;
	const cJSON *row;

	cJSON_ArrayForEach(row, arr)
	{
		char name[FLOW_VAR_NAME_MAX + 1];
		const cJSON *bal;

		if (count >= LOOKUP_ROWS_MAX)
			break;
		if (!cJSON_IsObject(row))
			continue;
		snprintf(name, sizeof(name), "%s.%d", p, count);
		fill_prefix(r, name, row);
		bal = cJSON_GetObjectItemCaseSensitive(row, "balance");
		if (cJSON_IsString(bal) && bal->valuestring)
			total += strtod(bal->valuestring, NULL);
		else if (cJSON_IsNumber(bal))
			total += bal->valuedouble;
		count++;
	}
	{
		char name[FLOW_VAR_NAME_MAX + 1];

		snprintf(name, sizeof(name), "%s.count", p);
		rt_setf(r, name, "%d", count);
		if (n->query == FLOW_LOOKUP_ACCOUNTS) {
			snprintf(name, sizeof(name), "%s.total_balance", p);
			rt_setf(r, name, "%.2f", total);
		}
	}
}

void rt_lookup_result(struct flow_run *r, const struct flow_node *n,
		      const struct flow_result *res)
{
	const char *p = lookup_prefix(n);
	char found[FLOW_VAR_NAME_MAX + 1];
	cJSON *doc = NULL;
	bool ok;

	snprintf(found, sizeof(found), "%s.found", p);
	if (res->err == -ENOENT) {
		flow_vars_unset_prefix(r->vars, p);
		rt_set(r, found, "false");
		if (lookup_is_list(n->query)) {
			char cnt[FLOW_VAR_NAME_MAX + 1];

			snprintf(cnt, sizeof(cnt), "%s.count", p);
			rt_set(r, cnt, "0");
		}
		rt_jump(r, n->on_not_found != FLOW_NO_NODE ? n->on_not_found
							   : n->next);
		return;
	}
	if (!res->err && res->lookup.json)
		doc = cJSON_ParseWithLength(res->lookup.json,
					    res->lookup.json_len);
	ok = !res->err && (lookup_is_list(n->query) ? cJSON_IsArray(doc)
						    : cJSON_IsObject(doc));
	if (!ok) {
		LOGW(r->call_id, "flow_lookup_failed",
		     "flow=%s node=%s err=%d json=%d", rt_top(r)->flow->name,
		     n->name, res->err, doc != NULL);
		cJSON_Delete(doc);
		lookup_failed(r, n);
		return;
	}
	if (lookup_is_list(n->query)) {
		flow_vars_unset_prefix(r->vars, p);
		fill_rows(r, n, p, doc);
	} else {
		fill_prefix(r, p, doc);
		if (lookup_is_customer(n->query))
			rt_set(r, found, "true");
	}
	cJSON_Delete(doc);
	rt_jump(r, n->next);
}

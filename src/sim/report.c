/* `voxgate simulate` results: the server's CDRs joined by the call reference
 * (SIP Call-ID, AudioSocket UUID, callSid...) (GET /v1/calls, GET
 * /v1/calls/{id}), the expectations, and the text and JSON reports. Runs after
 * the loop, on the main thread; blocking is fine. */
#include "sim/detect.h"
#include "sim/sim_int.h"

#include <cJSON.h>
#include <ctype.h>
#include <stdarg.h>
#include <curl/curl.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HTTP_MAX_BYTES (8u << 20)
#define CDR_WAIT_MS 10000
#define LIST_PAGES_MAX 50

struct body {
	char *buf;
	size_t len;
};

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	struct body *b = arg;
	size_t add = size * n;
	if (b->len + add > HTTP_MAX_BYTES)
		return 0;
	char *nb = realloc(b->buf, b->len + add + 1);
	if (!nb)
		return 0;
	memcpy(nb + b->len, p, add);
	b->buf = nb;
	b->len += add;
	b->buf[b->len] = '\0';
	return add;
}

/* GET url: the parsed JSON body of a 200, or NULL. */
static cJSON *http_get_json(const char *url)
{
	CURL *e = curl_easy_init();
	if (!e)
		return NULL;
	struct body b = { 0 };
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	CURLcode rc = curl_easy_perform(e);
	long code = 0;
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(e);
	cJSON *j = NULL;
	if (rc == CURLE_OK && code == 200 && b.buf)
		j = cJSON_ParseWithLength(b.buf, b.len);
	free(b.buf);
	return j;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* Find the CDR id of every call with a Call-ID; returns how many were
 * found ended. ids[i] gets a malloc'd id. */
static size_t find_ids(const char *api, struct sim_call_result *res, size_t n,
		       char **ids)
{
	size_t found = 0;
	char url[1024];
	long long before_ms = 0;
	char before_id[160] = "";
	for (int page = 0; page < LIST_PAGES_MAX; page++) {
		if (before_ms)
			snprintf(url, sizeof(url),
				 "%s/v1/calls?limit=1000&before_ms=%lld&"
				 "before_id=%s",
				 api, before_ms, before_id);
		else
			snprintf(url, sizeof(url), "%s/v1/calls?limit=1000",
				 api);
		cJSON *j = http_get_json(url);
		if (!j)
			return found;
		const cJSON *calls =
			cJSON_GetObjectItemCaseSensitive(j, "calls");
		const cJSON *it;
		cJSON_ArrayForEach(it, calls)
		{
			const char *cid = cJSON_GetStringValue(
				cJSON_GetObjectItemCaseSensitive(
					it, "sip_call_id"));
			const char *id = cJSON_GetStringValue(
				cJSON_GetObjectItemCaseSensitive(it, "id"));
			const cJSON *ended = cJSON_GetObjectItemCaseSensitive(
				it, "ended_ms");
			if (!cid || !id || !cJSON_IsNumber(ended) ||
			    ended->valuedouble <= 0)
				continue;
			for (size_t i = 0; i < n; i++)
				if (!ids[i] &&
				    !strcmp(res[i].sip_call_id, cid)) {
					ids[i] = strdup(id);
					found += ids[i] != NULL;
				}
		}
		const cJSON *nb =
			cJSON_GetObjectItemCaseSensitive(j, "next_before_ms");
		const char *nid = cJSON_GetStringValue(
			cJSON_GetObjectItemCaseSensitive(j, "next_before_id"));
		bool more = cJSON_IsNumber(nb) && nid && strlen(nid) < 150;
		if (more) {
			before_ms = (long long)nb->valuedouble;
			/* ids are printable ASCII without space or '/' */
			snprintf(before_id, sizeof(before_id), "%s", nid);
		}
		cJSON_Delete(j);
		if (!more)
			break;
	}
	return found;
}

static void fetch_cdrs(const char *api, struct sim_call_result *res, size_t n)
{
	char **ids = calloc(n ? n : 1, sizeof(*ids));
	if (!ids)
		return;
	size_t want = 0, have = 0;
	for (size_t i = 0; i < n; i++) /* a record from the wire: no fetch */
		want += res[i].sip_call_id[0] != '\0' && !res[i].cdr;
	/* the daemon writes a CDR when the call has ended: wait a little */
	for (int waited = 0; waited <= CDR_WAIT_MS; waited += 250) {
		have += find_ids(api, res, n, ids);
		if (have >= want)
			break;
		sleep_ms(250);
	}
	char url[1024];
	for (size_t i = 0; i < n; i++) {
		if (!ids[i])
			continue;
		snprintf(url, sizeof(url), "%s/v1/calls/%s", api, ids[i]);
		if (!res[i].cdr)
			res[i].cdr = http_get_json(url);
		free(ids[i]);
	}
	free(ids);
}

/* ---------- expectations ---------- */

static void add_fail(struct sim_call_result *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void add_fail(struct sim_call_result *r, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	size_t old = r->expect_fail ? strlen(r->expect_fail) : 0;
	if (old > 4096)
		return;
	char *nb = realloc(r->expect_fail, old + strlen(msg) + 3);
	if (!nb)
		return;
	if (old)
		memcpy(nb + old, "; ", 3);
	else
		nb[0] = '\0';
	strcat(nb, msg);
	r->expect_fail = nb;
}

static bool contains_ci(const char *hay, const char *needle)
{
	size_t n = strlen(needle);
	if (!n)
		return true;
	for (; *hay; hay++)
		if (!strncasecmp(hay, needle, n))
			return true;
	return false;
}

/* Does any prompt (with name == node, or any when node is NULL) say
 * words? */
static bool prompts_say(const cJSON *cdr, const char *node, const char *words)
{
	const cJSON *p;
	cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(cdr, "prompts"))
	{
		const char *name = cJSON_GetStringValue(
			cJSON_GetObjectItemCaseSensitive(p, "name"));
		const char *text = cJSON_GetStringValue(
			cJSON_GetObjectItemCaseSensitive(p, "text"));
		if (node && (!name || strcmp(name, node)))
			continue;
		if (text && contains_ci(text, words))
			return true;
	}
	return false;
}

/* The CDR turn the k-th speaking/keying scenario turn produced: CDR turns
 * that ended in no_input belong to silences and are skipped. */
static const cJSON *cdr_turn(const cJSON *cdr, size_t k)
{
	const cJSON *t;
	size_t i = 0;
	cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(cdr, "turns"))
	{
		const char *end = cJSON_GetStringValue(
			cJSON_GetObjectItemCaseSensitive(t, "end"));
		if (end && !strcmp(end, "no_input"))
			continue;
		if (i++ == k)
			return t;
	}
	return NULL;
}

static const char *jstr(const cJSON *o, const char *key)
{
	const char *s =
		cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));
	return s ? s : "null";
}

static void check_turns(const struct sim_scenario *sc,
			struct sim_call_result *r)
{
	size_t k = 0;
	for (size_t i = 0; i < sc->nturns; i++) {
		const struct sim_turn *t = &sc->turns[i];
		const struct sim_expect *e = &t->expect;
		const struct sim_turn_result *tr =
			i < r->nturns ? &r->turns[i] : NULL;
		if (t->kind == SIM_TURN_SILENCE)
			continue;
		size_t idx = k++;
		bool needs_cdr = *e->intent || *e->next || e->nsays;
		if (!needs_cdr)
			continue;
		if (*e->intent)
			r->intents_checked++;
		if (!tr || !tr->ran) {
			add_fail(r, "turn %zu (line %u): never ran", i + 1,
				 t->line);
			continue;
		}
		if (!r->cdr) {
			add_fail(r,
				 "turn %zu (line %u): no CDR to check "
				 "(pass --api)",
				 i + 1, t->line);
			continue;
		}
		const cJSON *ct = cdr_turn(r->cdr, idx);
		if (!ct) {
			add_fail(r,
				 "turn %zu (line %u): the server recorded "
				 "no turn for it",
				 i + 1, t->line);
			continue;
		}
		if (*e->intent) {
			const char *got = jstr(ct, "intent");
			if (strcmp(got, e->intent))
				add_fail(r,
					 "turn %zu (line %u): intent %s, "
					 "expected %s (transcript \"%s\")",
					 i + 1, t->line, got, e->intent,
					 jstr(ct, "transcript"));
			else
				r->intents_ok++;
		}
		if (*e->next && strcmp(jstr(ct, "next"), e->next))
			add_fail(r,
				 "turn %zu (line %u): next node %s, "
				 "expected %s",
				 i + 1, t->line, jstr(ct, "next"), e->next);
		const char *next = cJSON_GetStringValue(
			cJSON_GetObjectItemCaseSensitive(ct, "next"));
		for (size_t w = 0; w < e->nsays; w++)
			if (!prompts_say(r->cdr, next, e->says[w]))
				add_fail(r,
					 "turn %zu (line %u): the bot did "
					 "not say \"%s\" at %s",
					 i + 1, t->line, e->says[w],
					 next ? next : "any node");
	}
}

static void check_call(const struct sim_scenario *sc, struct sim_call_result *r)
{
	const struct sim_expect *e = &sc->expect;
	if (*e->transfer) {
		bool none = !strcmp(e->transfer, "none");
		if (none && r->refer_to[0])
			add_fail(r, "transferred to %s, expected no transfer",
				 r->refer_to);
		else if (!none && !contains_ci(r->refer_to, e->transfer))
			add_fail(r,
				 "transfer target \"%s\", expected one "
				 "with \"%s\"",
				 r->refer_to[0] ? r->refer_to : "(none)",
				 e->transfer);
	}
	bool needs_cdr = e->nnodes || e->nsays || *e->end_reason;
	if (!needs_cdr)
		return;
	if (!r->cdr) {
		add_fail(r, "no CDR to check the call's expectations (pass "
			    "--api)");
		return;
	}
	for (size_t i = 0; i < e->nnodes; i++) {
		bool seen = false;
		const cJSON *n;
		cJSON_ArrayForEach(n, cJSON_GetObjectItemCaseSensitive(
					      r->cdr, "flow_path"))
		{
			const char *s = cJSON_GetStringValue(n);
			seen |= s && !strcmp(s, e->nodes[i]);
		}
		if (!seen)
			add_fail(r, "the flow never reached node %s",
				 e->nodes[i]);
	}
	for (size_t i = 0; i < e->nsays; i++)
		if (!prompts_say(r->cdr, NULL, e->says[i]))
			add_fail(r, "the bot never said \"%s\"", e->says[i]);
	if (*e->end_reason && strcmp(jstr(r->cdr, "end_reason"), e->end_reason))
		add_fail(r, "end_reason %s, expected %s",
			 jstr(r->cdr, "end_reason"), e->end_reason);
}

size_t sim_report_check(const struct sim_opts *o, const struct sim_scenario *sc,
			struct sim_call_result *res, size_t n)
{
	if (o->api) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		fetch_cdrs(o->api, res, n);
	}
	size_t bad = 0;
	for (size_t i = 0; i < n; i++) {
		struct sim_call_result *r = &res[i];
		if (r->answered) {
			check_turns(sc, r);
			check_call(sc, r);
		}
		bad += r->failed || r->expect_fail;
	}
	if (o->api)
		curl_global_cleanup();
	return bad;
}

/* ---------- figures ---------- */

const char *const sim_stage_names[SIM_ST_N] = {
	"stt", "nlu", "business", "tts", "send", "server_total",
};

struct series {
	double *v;
	size_t n, cap;
	bool oom;
};

static void series_add(struct series *s, double x)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		double *nv = realloc(s->v, cap * sizeof(*nv));
		if (!nv) {
			s->oom = true;
			return;
		}
		s->v = nv;
		s->cap = cap;
	}
	s->v[s->n++] = x;
}

/* Percentiles of s (sorts it). */
static struct sim_pct pct_of(struct series *s)
{
	struct sim_pct p = {
		.n = s->n, .p50 = NAN, .p95 = NAN, .p99 = NAN, .max = NAN
	};
	if (!s->n)
		return p;
	p.p50 = sim_percentile(s->v, s->n, 50);
	p.p95 = sim_percentile(s->v, s->n, 95);
	p.p99 = sim_percentile(s->v, s->n, 99);
	p.max = s->v[s->n - 1]; /* sorted by sim_percentile */
	return p;
}

static bool tnum(const cJSON *t, const char *k, double *v)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(t, k);
	if (!cJSON_IsNumber(x))
		return false;
	*v = x->valuedouble;
	return true;
}

static void count_key(struct sim_count *c, size_t *n, const char *key)
{
	for (size_t i = 0; i < *n; i++)
		if (!strcmp(c[i].key, key)) {
			c[i].n++;
			return;
		}
	if (*n == SIM_KEYS_MAX - 1)
		key = "(other)"; /* the last slot collects the rest */
	else if (*n == SIM_KEYS_MAX) {
		c[SIM_KEYS_MAX - 1].n++;
		return;
	}
	snprintf(c[*n].key, sizeof(c[*n].key), "%s", key);
	c[(*n)++].n = 1;
}

static void collect_stages(const cJSON *cdr, struct series *st)
{
	const cJSON *t;
	cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(cdr, "turns"))
	{
		const cJSON *tm = cJSON_GetObjectItemCaseSensitive(t, "t_ms");
		double stt, nlu, resp, tts, first;
		if (!tnum(tm, "stt_final", &stt) ||
		    !tnum(tm, "nlu_done", &nlu) || !tnum(tm, "response", &resp))
			continue;
		series_add(&st[SIM_ST_STT], stt);
		series_add(&st[SIM_ST_NLU], nlu - stt);
		series_add(&st[SIM_ST_BUSINESS], resp - nlu);
		if (!tnum(tm, "tts_ready", &tts))
			continue;
		series_add(&st[SIM_ST_TTS], tts - resp);
		if (tnum(tm, "first_rtp", &first)) {
			series_add(&st[SIM_ST_SEND], first - tts);
			series_add(&st[SIM_ST_SERVER], first);
		}
	}
}

int sim_figures_compute(const struct sim_scenario *sc,
			const struct sim_call_result *res, size_t n,
			unsigned concurrency, double wall_ms,
			struct sim_figures *f)
{
	memset(f, 0, sizeof(*f));
	f->scenario = sc->name;
	f->target = sc->target;
	f->concurrency = concurrency;
	f->wall_ms = wall_ms;
	f->generated_s = (long long)time(NULL);
	f->res = res;
	f->nres = n;
	f->calls = n;
	f->sweep_max_concurrency = -1;
	f->sweep_p95_ms = NAN;
	struct series turn = { 0 }, setup = { 0 }, barge = { 0 }, dtmf = { 0 },
		      speech = { 0 }, st[SIM_ST_N] = { { 0 } };
	for (size_t i = 0; i < n; i++) {
		const struct sim_call_result *r = &res[i];
		f->failed += r->failed || r->expect_fail;
		f->intents_checked += r->intents_checked;
		f->intents_ok += r->intents_ok;
		if (!r->answered) {
			count_key(f->end_reasons, &f->nend_reasons,
				  "(not answered)");
			continue;
		}
		const char *why = cJSON_GetStringValue(
			cJSON_GetObjectItemCaseSensitive(r->cdr, "end_reason"));
		count_key(f->end_reasons, &f->nend_reasons,
			  why	   ? why
			  : r->cdr ? "(none)"
				   : "(no CDR)");
		f->answered++;
		if (r->refer_to[0]) {
			f->transferred++;
			count_key(f->transfers, &f->ntransfers, r->refer_to);
		}
		series_add(&setup, r->setup_ms);
		for (size_t j = 0; j < r->nturns && j < sc->nturns; j++) {
			const struct sim_turn_result *t = &r->turns[j];
			if (!t->ran)
				continue;
			f->turns++;
			if (t->barge_stop_ms >= 0)
				series_add(&barge, t->barge_stop_ms);
			if (!t->replied)
				continue;
			f->replied++;
			series_add(sc->turns[j].kind == SIM_TURN_DTMF ? &dtmf
								      : &speech,
				   t->latency_ms);
			series_add(&turn, t->latency_ms);
		}
		collect_stages(r->cdr, st);
	}
	f->intent_accuracy =
		f->intents_checked ? (double)f->intents_ok / f->intents_checked
				   : NAN;
	f->containment = f->answered ? (double)(f->answered - f->transferred) /
					       (double)f->answered
				     : NAN;
	bool oom = turn.oom || setup.oom || barge.oom || dtmf.oom || speech.oom;
	f->turn = pct_of(&turn);
	f->speech = pct_of(&speech);
	f->dtmf = pct_of(&dtmf);
	f->barge = pct_of(&barge);
	f->setup = pct_of(&setup);
	for (int i = 0; i < SIM_ST_N; i++) {
		oom |= st[i].oom;
		f->stage[i] = pct_of(&st[i]);
		free(st[i].v);
	}
	f->turn_ms = turn.v; /* sorted by pct_of */
	f->nturn_ms = turn.n;
	free(setup.v);
	free(barge.v);
	free(dtmf.v);
	free(speech.v);
	return oom ? -ENOMEM : 0;
}

void sim_figures_fini(struct sim_figures *f)
{
	free(f->turn_ms);
	f->turn_ms = NULL;
	f->nturn_ms = 0;
}

void sim_sweep_point_set(struct sim_sweep_point *p, unsigned concurrency,
			 const struct sim_figures *f)
{
	p->concurrency = concurrency;
	p->calls = f->calls;
	p->failed = f->failed;
	p->turn = f->turn;
	memcpy(p->stage, f->stage, sizeof(p->stage));
	p->wall_ms = f->wall_ms;
}

long sim_sweep_best(const struct sim_sweep_point *p, size_t n, double p95_ms)
{
	long best = -1;
	for (size_t i = 0; i < n; i++)
		if (!p[i].failed && p[i].turn.n && p[i].turn.p95 <= p95_ms &&
		    (long)p[i].concurrency > best)
			best = (long)p[i].concurrency;
	return best;
}

void sim_call_reason(const struct sim_call_result *r, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s%s%s", r->failed ? r->reason : "",
		 r->failed && r->expect_fail ? "; " : "",
		 r->expect_fail ? r->expect_fail : "");
}

/* ---------- JSON ---------- */

static cJSON *pct_json(const struct sim_pct *p)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "n", (double)p->n);
	if (!p->n) {
		cJSON_AddNullToObject(o, "p50");
		cJSON_AddNullToObject(o, "p95");
		cJSON_AddNullToObject(o, "p99");
		cJSON_AddNullToObject(o, "max");
		return o;
	}
	cJSON_AddNumberToObject(o, "p50", p->p50);
	cJSON_AddNumberToObject(o, "p95", p->p95);
	cJSON_AddNumberToObject(o, "p99", p->p99);
	cJSON_AddNumberToObject(o, "max", p->max);
	return o;
}

static cJSON *stages_json(const struct sim_pct *st)
{
	cJSON *o = cJSON_CreateObject();
	for (int i = 0; i < SIM_ST_N; i++)
		cJSON_AddItemToObject(o, sim_stage_names[i], pct_json(&st[i]));
	return o;
}

static void add_share(cJSON *j, const char *key, double v)
{
	if (isnan(v))
		cJSON_AddNullToObject(j, key);
	else
		cJSON_AddNumberToObject(j, key, v);
}

static cJSON *call_json(const struct sim_call_result *r)
{
	cJSON *c = cJSON_CreateObject();
	cJSON_AddNumberToObject(c, "call", (double)r->idx);
	cJSON_AddStringToObject(c, "sip_call_id", r->sip_call_id);
	const char *id = cJSON_GetStringValue(
		cJSON_GetObjectItemCaseSensitive(r->cdr, "id"));
	if (id)
		cJSON_AddStringToObject(c, "cdr_id", id);
	else
		cJSON_AddNullToObject(c, "cdr_id");
	cJSON_AddBoolToObject(c, "answered", r->answered);
	cJSON_AddNumberToObject(c, "setup_ms", r->setup_ms);
	cJSON_AddNumberToObject(c, "rtp_rx", (double)r->rtp_rx);
	cJSON_AddNumberToObject(c, "rtp_tx", (double)r->rtp_tx);
	cJSON_AddStringToObject(c, "transfer", r->refer_to);
	cJSON_AddStringToObject(c, "hangup",
				r->server_bye	? "server"
				: r->caller_bye ? "caller"
						: "none");
	cJSON *ts = cJSON_AddArrayToObject(c, "turns");
	for (size_t k = 0; k < r->nturns; k++) {
		const struct sim_turn_result *t = &r->turns[k];
		cJSON *tj = cJSON_CreateObject();
		cJSON_AddBoolToObject(tj, "ran", t->ran);
		cJSON_AddNumberToObject(tj, "variant", t->variant);
		if (t->replied)
			cJSON_AddNumberToObject(tj, "latency_ms",
						t->latency_ms);
		else
			cJSON_AddNullToObject(tj, "latency_ms");
		cJSON_AddBoolToObject(tj, "overlap", t->overlap);
		cJSON_AddBoolToObject(tj, "barged", t->barged);
		if (t->barge_stop_ms >= 0)
			cJSON_AddNumberToObject(tj, "barge_in_stop_ms",
						t->barge_stop_ms);
		if (t->barged && t->barge_gap_ms >= 0)
			cJSON_AddNumberToObject(tj, "barge_gap_ms",
						t->barge_gap_ms);
		cJSON_AddItemToArray(ts, tj);
	}
	return c;
}

static void print_json(const struct sim_figures *f, FILE *out)
{
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "scenario", f->scenario);
	cJSON_AddStringToObject(j, "target", f->target);
	cJSON_AddNumberToObject(j, "calls", (double)f->calls);
	cJSON_AddNumberToObject(j, "answered", (double)f->answered);
	cJSON_AddNumberToObject(j, "failed", (double)f->failed);
	cJSON_AddNumberToObject(j, "concurrency", f->concurrency);
	cJSON_AddNumberToObject(j, "wall_ms", f->wall_ms);
	cJSON_AddNumberToObject(j, "turns", (double)f->turns);
	cJSON_AddNumberToObject(j, "turns_replied", (double)f->replied);
	cJSON_AddItemToObject(j, "turn_latency_ms", pct_json(&f->turn));
	cJSON_AddItemToObject(j, "speech_latency_ms", pct_json(&f->speech));
	cJSON_AddItemToObject(j, "dtmf_latency_ms", pct_json(&f->dtmf));
	cJSON_AddItemToObject(j, "barge_in_stop_ms", pct_json(&f->barge));
	cJSON_AddItemToObject(j, "setup_ms", pct_json(&f->setup));
	cJSON_AddItemToObject(j, "stages_ms", stages_json(f->stage));
	add_share(j, "intent_accuracy", f->intent_accuracy);
	add_share(j, "containment", f->containment);
	cJSON *fl = cJSON_AddArrayToObject(j, "failures");
	cJSON *calls = cJSON_AddArrayToObject(j, "call_results");
	for (size_t i = 0; i < f->nres; i++) {
		const struct sim_call_result *r = &f->res[i];
		cJSON_AddItemToArray(calls, call_json(r));
		if (!r->failed && !r->expect_fail)
			continue;
		cJSON *x = cJSON_CreateObject();
		cJSON_AddNumberToObject(x, "call", (double)r->idx);
		cJSON_AddStringToObject(x, "sip_call_id", r->sip_call_id);
		char why[5120];
		sim_call_reason(r, why, sizeof(why));
		cJSON_AddStringToObject(x, "reason", why);
		cJSON_AddItemToArray(fl, x);
	}
	if (f->nsweep) {
		cJSON *sw = cJSON_AddArrayToObject(j, "sweep");
		for (size_t i = 0; i < f->nsweep; i++) {
			const struct sim_sweep_point *p = &f->sweep[i];
			cJSON *o = cJSON_CreateObject();
			cJSON_AddNumberToObject(o, "concurrency",
						p->concurrency);
			cJSON_AddNumberToObject(o, "calls", (double)p->calls);
			cJSON_AddNumberToObject(o, "failed", (double)p->failed);
			cJSON_AddItemToObject(o, "turn_latency_ms",
					      pct_json(&p->turn));
			cJSON_AddItemToObject(o, "stages_ms",
					      stages_json(p->stage));
			cJSON_AddNumberToObject(o, "wall_ms", p->wall_ms);
			cJSON_AddNumberToObject(o, "active_p50", p->active_p50);
			cJSON_AddNumberToObject(o, "active_max", p->active_max);
			cJSON_AddItemToArray(sw, o);
		}
		cJSON_AddNumberToObject(j, "sweep_p95_ms", f->sweep_p95_ms);
		cJSON_AddBoolToObject(j, "sweep_stopped", f->sweep_stopped);
		if (f->sweep_max_concurrency >= 0)
			cJSON_AddNumberToObject(
				j, "sweep_max_concurrency",
				(double)f->sweep_max_concurrency);
		else
			cJSON_AddNullToObject(j, "sweep_max_concurrency");
	}
	char *s = cJSON_Print(j);
	if (s)
		fprintf(out, "%s\n", s);
	free(s);
	cJSON_Delete(j);
}

/* ---------- text ---------- */

static void row(FILE *out, const char *name, const struct sim_pct *p)
{
	if (!p->n) {
		fprintf(out, "  %-22s %6s %8s %8s %8s %8s\n", name, "0", "-",
			"-", "-", "-");
		return;
	}
	fprintf(out, "  %-22s %6zu %8.1f %8.1f %8.1f %8.1f\n", name, p->n,
		p->p50, p->p95, p->p99, p->max);
}

static void cell(FILE *out, int width, double v)
{
	if (isnan(v))
		fprintf(out, " %*s", width, "-");
	else
		fprintf(out, " %*.1f", width, v);
}

static void print_sweep(const struct sim_figures *f, FILE *out)
{
	fprintf(out, "concurrency sweep (turn latency and server stage p50 "
		     "in ms):\n");
	fprintf(out, "  %5s %6s %6s %6s %8s %8s %8s", "conc", "calls", "failed",
		"up", "p50", "p95", "p99");
	for (int i = 0; i < SIM_ST_N; i++)
		fprintf(out, " %8.8s", sim_stage_names[i]);
	fprintf(out, " %8s\n", "wall s");
	for (size_t i = 0; i < f->nsweep; i++) {
		const struct sim_sweep_point *p = &f->sweep[i];
		fprintf(out, "  %5u %6zu %6zu %6.0f", p->concurrency, p->calls,
			p->failed, p->active_p50);
		cell(out, 8, p->turn.p50);
		cell(out, 8, p->turn.p95);
		cell(out, 8, p->turn.p99);
		for (int k = 0; k < SIM_ST_N; k++)
			cell(out, 8, p->stage[k].p50);
		cell(out, 8, p->wall_ms / 1000.0);
		fputc('\n', out);
	}
	fprintf(out, "  (up: median calls up when a turn started)\n");
	if (f->sweep_stopped)
		fprintf(out, "sweep stopped early: more than half of the "
			     "calls of the last level failed\n");
	if (f->sweep_max_concurrency >= 0)
		fprintf(out,
			"max concurrency with p95 turn latency <= %.1f ms "
			"and no failed call: %ld\n",
			f->sweep_p95_ms, f->sweep_max_concurrency);
	else
		fprintf(out,
			"max concurrency with p95 turn latency <= %.1f ms "
			"and no failed call: none\n",
			f->sweep_p95_ms);
}

void sim_report_print(const struct sim_opts *o, const struct sim_figures *f,
		      void *fp)
{
	FILE *out = fp;
	if (o->json) {
		print_json(f, out);
		return;
	}
	fprintf(out,
		"scenario %s -> %s: %zu calls, %zu answered, %zu failed "
		"(%.1f s)\n",
		f->scenario, f->target, f->calls, f->answered, f->failed,
		f->wall_ms / 1000.0);
	fprintf(out, "  %-22s %6s %8s %8s %8s %8s\n", "ms", "n", "p50", "p95",
		"p99", "max");
	row(out, "turn latency", &f->turn);
	row(out, "  after speech", &f->speech);
	row(out, "  after dtmf", &f->dtmf);
	row(out, "barge-in stop", &f->barge);
	row(out, "call setup", &f->setup);
	for (int i = 0; i < SIM_ST_N; i++) {
		char name[40];
		snprintf(name, sizeof(name), "server %s", sim_stage_names[i]);
		row(out, name, &f->stage[i]);
	}
	if (f->intents_checked)
		fprintf(out, "intent accuracy %.1f%% (%d/%d)\n",
			100.0 * f->intent_accuracy, f->intents_ok,
			f->intents_checked);
	if (f->answered)
		fprintf(out,
			"containment %.1f%% (%zu of %zu answered calls "
			"without transfer)\n",
			100.0 * f->containment, f->answered - f->transferred,
			f->answered);
	if (f->nsweep)
		print_sweep(f, out);
	size_t shown = 0;
	char why[5120];
	for (size_t i = 0; i < f->nres && shown < 20; i++) {
		const struct sim_call_result *r = &f->res[i];
		if (!r->failed && !r->expect_fail)
			continue;
		shown++;
		sim_call_reason(r, why, sizeof(why));
		fprintf(out, "FAIL call %llu (%s): %s\n",
			(unsigned long long)r->idx, r->sip_call_id, why);
	}
	if (f->failed > shown)
		fprintf(out, "... and %zu more failed calls\n",
			f->failed - shown);
}

/* Unit tests for the flow runtime's v2 nodes: set, switch, http (request
 * rendering, mapping, errors, the Connect event), lookup, record, hours on
 * a virtual clock, goto, play, transfer targets and context, subflows. */
#include <time.h>
#include <unistd.h>

#include <cJSON.h>

#include "runtime_driver.h"

static int64_t utc_ms(int y, int mo, int d, int h, int mi)
{
	struct tm tm = { .tm_year = y - 1900,
			 .tm_mon = mo - 1,
			 .tm_mday = d,
			 .tm_hour = h,
			 .tm_min = mi };
	return (int64_t)timegm(&tm) * 1000;
}

static const char *const switch_yaml =
	"name: sw\n"
	"start: init\n"
	"variables: {v: '', o: ''}\n"
	"nodes:\n"
	"  init:\n"
	"    type: set\n"
	"    vars: {a: '{{v}}', b: '<{{a}}>'}\n"
	"    next: test\n"
	"  test:\n"
	"    type: switch\n"
	"    value: '{{a}}'\n"
	"    cases:\n"
	"      - {empty: true, next: is_empty}\n"
	"      - {equals: GOLD, next: is_gold}\n"
	"      - {gt: '{{o}}', next: is_gt}\n"
	"      - {le: 5, next: is_le5}\n"
	"      - {contains: lat, next: has_lat}\n"
	"      - {starts_with: sil, next: starts_sil}\n"
	"      - {ends_with: ZE, next: ends_ze}\n"
	"      - {not_equals: plain, next: not_plain}\n"
	"    default: dflt\n"
	"  is_empty: {type: say, text: 'empty {{b}}', next: end}\n"
	"  is_gold: {type: say, text: 'gold {{b}}', next: end}\n"
	"  is_gt: {type: say, text: gt, next: end}\n"
	"  is_le5: {type: say, text: le5, next: end}\n"
	"  has_lat: {type: say, text: lat, next: end}\n"
	"  starts_sil: {type: say, text: sil, next: end}\n"
	"  ends_ze: {type: say, text: ze, next: end}\n"
	"  not_plain: {type: say, text: not_plain, next: end}\n"
	"  dflt: {type: say, text: default, next: end}\n"
	"  end: {type: hangup}\n";

static void set_and_switch_choose_by_every_operator(void **state)
{
	static const struct {
		const char *v, *o, *want;
	} cases[] = {
		{ "", "", "say:empty <>" },
		{ "gold", "", "say:gold <gold>" },
		{ "1000.5", "1000", "say:gt" },
		{ "1e3", "999", "say:gt" },
		{ "0x10", "1", "say:not_plain" }, /* hex is not a number */
		{ "4", "10", "say:le5" },
		{ "5", "", "say:le5" },
		{ " 6", "5", "say:gt" },
		{ "6 ", "5",
		  "say:not_plain" }, /* trailing space: not a number */
		{ "PLATINUM", "", "say:lat" },
		{ "Silver", "", "say:sil" },
		{ "bronze", "", "say:ze" },
		{ "other", "", "say:not_plain" },
		{ "PLAIN", "", "say:default" },
		{ "nan", "1", "say:not_plain" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct drv d;
		memset(&d, 0, sizeof(d));
		d.now_ms = 1;
		d.f = drv_load(switch_yaml);
		drv_env(&d, true);
		assert_int_equal(flow_run_create(&d.r, d.f, &d.env), 0);
		/* variables set before the start are the flow's inputs */
		assert_int_equal(
			flow_vars_set((struct flow_vars *)flow_run_vars(d.r),
				      "v", cases[i].v),
			0);
		assert_int_equal(
			flow_vars_set((struct flow_vars *)flow_run_vars(d.r),
				      "o", cases[i].o),
			0);
		drv_step(&d, NULL, "start");
		drv_describe(&d);
		if (fnmatch(cases[i].want, d.desc, 0))
			fail_msg("case %zu (%s vs %s): want %s got %s", i,
				 cases[i].v, cases[i].o, cases[i].want, d.desc);
		drv_free(&d);
	}
}

static const char *const http_yaml =
	"name: h\n"
	"start: call\n"
	"variables: {attr.segment: retail, note: 'say \"hi\"'}\n"
	"nodes:\n"
	"  call:\n"
	"    type: http\n"
	"    method: POST\n"
	"    url: 'https://api.example.com/c/{{call.from}}?q={{note}}'\n"
	"    headers: {Authorization: 'Bearer {{note}}', X-Id: '{{call.id}}'}\n"
	"    json:\n"
	"      phone: '{{call.from}}'\n"
	"      note: '{{note}}'\n"
	"      n: 3\n"
	"      ok: true\n"
	"      list: ['a{{note}}', null]\n"
	"    timeout: 2s\n"
	"    retries: 2\n"
	"    map:\n"
	"      balance: account.balance\n"
	"      first: items.0.id\n"
	"      flag: active\n"
	"      nothing: missing\n"
	"      obj: account\n"
	"    map_all: resp\n"
	"    next: ok\n"
	"    on_error: failed\n"
	"  ok:\n"
	"    type: say\n"
	"    text: '{{balance}} {{first}} {{flag}} [{{nothing}}] {{obj}} "
	"{{resp.active}}'\n"
	"    next: lambda\n"
	"  lambda:\n"
	"    type: http\n"
	"    method: POST\n"
	"    url: https://lambda.example.com/x\n"
	"    event: connect\n"
	"    json: {action: lookup}\n"
	"    next: said\n"
	"    on_error: failed\n"
	"  said:\n"
	"    type: say\n"
	"    text: '{{external.greeting}}'\n"
	"    next: end\n"
	"  failed:\n"
	"    type: say\n"
	"    text: 'failed {{http.status}} {{http.error}}'\n"
	"    next: end\n"
	"  end: {type: hangup}\n";

static void http_renders_the_request_and_maps_the_response(void **state)
{
	struct drv d;
	(void)state;
	drv_start(&d, http_yaml);
	drv_expect(&d, "http:POST https://api.example.com/c/%2B14155550100"
		       "?q=say%20%22hi%22");
	assert_int_equal(d.act.http.timeout_ms, 2000);
	assert_int_equal(d.act.http.retries, 2);
	assert_int_equal(d.act.http.nheaders, 3);
	assert_string_equal(d.act.http.header_names[0], "Authorization");
	assert_string_equal(d.act.http.header_values[0], "Bearer say \"hi\"");
	assert_string_equal(d.act.http.header_values[1], "call-1");
	assert_string_equal(d.act.http.header_names[2], "Content-Type");
	assert_string_equal(d.act.http.header_values[2], "application/json");
	assert_string_equal(d.act.http.body,
			    "{\"phone\":\"+14155550100\",\"note\":\"say "
			    "\\\"hi\\\"\",\"n\":3,\"ok\":true,\"list\":[\"asay "
			    "\\\"hi\\\"\",null]}");
	assert_int_equal(d.act.http.body_len, strlen(d.act.http.body));
	drv_step(
		&d, NULL,
		"http 200 {\"account\":{\"balance\":1250.4},\"items\":[{\"id\":"
		"\"x7\"}],\"active\":true,\"bad key\":1}");
	drv_expect(&d, "say:1250.4 x7 true [] {\"balance\":1250.4} true");
	assert_string_equal(drv_var(&d, "http.status"), "200");
	assert_string_equal(drv_var(&d, "http.error"), "");
	assert_string_equal(drv_var(&d, "resp.items"), "[{\"id\":\"x7\"}]");
	drv_step(&d, NULL, "played");
	/* the Connect Lambda event */
	drv_expect(&d, "http:POST https://lambda.example.com/x");
	assert_non_null(
		strstr(d.act.http.body, "\"Name\":\"ContactFlowEvent\""));
	assert_non_null(strstr(d.act.http.body, "\"ContactId\":\"call-1\""));
	assert_non_null(strstr(d.act.http.body,
			       "\"CustomerEndpoint\":{\"Address\":"
			       "\"+14155550100\""));
	assert_non_null(strstr(d.act.http.body,
			       "\"SystemEndpoint\":{\"Address\":"
			       "\"+18005550199\""));
	assert_non_null(strstr(d.act.http.body,
			       "\"Attributes\":{\"segment\":\"retail\"}"));
	assert_non_null(strstr(d.act.http.body,
			       "\"Parameters\":{\"action\":\"lookup\"}"));
	assert_non_null(
		strstr(d.act.http.body, "\"InitiationMethod\":\"INBOUND\""));
	assert_non_null(
		strstr(d.act.http.body, "\"PreviousContactId\":\"call-1\""));
	/* No queue set yet: null, as Connect sends it. */
	assert_non_null(strstr(d.act.http.body, "\"Queue\":null},"));
	drv_step(&d, NULL, "http 200 {\"greeting\":\"Hi Ann\",\"n\":2}");
	drv_expect(&d, "say:Hi Ann");
	assert_string_equal(drv_var(&d, "external.n"), "2");
	drv_free(&d);
}

/* Connect's endpoints are phone numbers: a SIP or tel URI gives its user
 * part; anything else goes as is. The queue set by the flow is sent. */
static void connect_event_endpoints_are_numbers(void **state)
{
	static const char *const yaml =
		"name: ev\n"
		"start: q\n"
		"variables: {queue: ''}\n"
		"nodes:\n"
		"  q: {type: set, vars: {queue: VIP}, next: lambda}\n"
		"  lambda:\n"
		"    type: http\n"
		"    method: POST\n"
		"    url: https://lambda.example.com/x\n"
		"    event: connect\n"
		"    next: end\n"
		"    on_error: end\n"
		"  end: {type: hangup}\n";
	static const struct {
		const char *from, *to, *want_from, *want_to;
	} cases[] = {
		{ "sip:+15551230000@pbx.example;user=phone",
		  "sips:4000@10.0.0.1:5061", "+15551230000", "4000" },
		{ "tel:+15551230000", "SIP:alice@x", "+15551230000", "alice" },
		{ "+15551230000", "4000", "+15551230000", "4000" },
		{ "sip:@host", "sip:", "sip:@host", "sip:" },
		{ "anonymous", "", "anonymous", "" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct drv d;
		memset(&d, 0, sizeof(d));
		d.now_ms = 1795500000000LL;
		d.f = drv_load(yaml);
		drv_env(&d, false);
		d.env.from = cases[i].from;
		d.env.to = cases[i].to;
		assert_int_equal(flow_run_create(&d.r, d.f, &d.env), 0);
		drv_step(&d, NULL, "start");
		drv_expect(&d, "http:POST https://lambda.example.com/x");
		cJSON *ev = cJSON_Parse(d.act.http.body);
		assert_non_null(ev);
		const cJSON *cd = cJSON_GetObjectItem(
			cJSON_GetObjectItem(ev, "Details"), "ContactData");
		assert_string_equal(
			cJSON_GetObjectItem(
				cJSON_GetObjectItem(cd, "CustomerEndpoint"),
				"Address")
				->valuestring,
			cases[i].want_from);
		assert_string_equal(
			cJSON_GetObjectItem(
				cJSON_GetObjectItem(cd, "SystemEndpoint"),
				"Address")
				->valuestring,
			cases[i].want_to);
		assert_string_equal(
			cJSON_GetObjectItem(cJSON_GetObjectItem(cd, "Queue"),
					    "Name")
				->valuestring,
			"VIP");
		cJSON_Delete(ev);
		drv_free(&d);
	}
}

static void http_failures_take_on_error_with_the_reason(void **state)
{
	static const struct {
		const char *answer, *want;
	} cases[] = {
		{ "http 500 {}", "say:failed 500 status" },
		{ "http 404", "say:failed 404 status" },
		{ "http 200 {\"account\": ", "say:failed 200 json" },
		{ "http 200 [1,2]", "say:failed 200 json" },
		{ "http 200", "say:failed 200 json" },
		{ "httperr -110", "say:failed  timeout" }, /* ETIMEDOUT */
		{ "httperr -111", "say:failed  connect" }, /* ECONNREFUSED */
		{ "httperr -16", "say:failed  circuit_open" }, /* EBUSY */
		{ "httperr -95", "say:failed  refused" },      /* ENOTSUP */
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct drv d;
		drv_start(&d, http_yaml);
		drv_step(&d, "http:*", cases[i].answer);
		drv_describe(&d);
		if (fnmatch(cases[i].want, d.desc, 0))
			fail_msg("case %s: want %s got %s", cases[i].answer,
				 cases[i].want, d.desc);
		drv_free(&d);
	}
}

static void a_raw_body_is_rendered_as_text(void **state)
{
	struct drv d;
	(void)state;
	drv_start(&d,
		  "name: raw\n"
		  "start: put\n"
		  "handlers: {error: end}\n"
		  "variables: {v: 'a&b c'}\n"
		  "nodes:\n"
		  "  put:\n"
		  "    type: http\n"
		  "    method: PUT\n"
		  "    url: 'http://127.0.0.1:9/x?v={{v}}&w={{v | url}}'\n"
		  "    headers: {Content-Type: text/plain, X-V: \"{{v}}\"}\n"
		  "    body: 'v={{v}}'\n"
		  "    timeout: 100ms\n"
		  "    retries: 0\n"
		  "    next: end\n"
		  "  end: {type: hangup}\n");
	drv_expect(&d, "http:PUT http://127.0.0.1:9/x?v=a%26b%20c&w=a%26b%20c");
	assert_string_equal(d.act.http.body, "v=a&b c");
	assert_int_equal(d.act.http.nheaders, 2); /* no JSON Content-Type */
	assert_string_equal(d.act.http.header_values[0], "text/plain");
	assert_int_equal(d.act.http.timeout_ms, 100);
	assert_int_equal(d.act.http.retries, 0);
	/* no mapping: any 2xx body goes on, http.error empty */
	drv_step(&d, NULL, "http 204 not json at all");
	drv_expect(&d, "hangup:completed");
	assert_string_equal(drv_var(&d, "http.status"), "204");
	assert_string_equal(drv_var(&d, "http.error"), "");
	drv_free(&d);
}

static const char *const lookup_yaml =
	"name: l\n"
	"start: who\n"
	"handlers: {error: broken}\n"
	"nodes:\n"
	"  who:\n"
	"    type: lookup\n"
	"    query: customer_by_phone\n"
	"    next: accts\n"
	"    not_found: stranger\n"
	"  accts:\n"
	"    type: lookup\n"
	"    query: accounts\n"
	"    next: hello\n"
	"  hello:\n"
	"    type: say\n"
	"    text: 'Hi {{customer.first_name}} ({{customer.found}}), "
	"{{accounts.count}} accounts: {{accounts.0.number}} "
	"{{accounts.1.balance}} total {{accounts.total_balance}}'\n"
	"    next: ticket\n"
	"  ticket:\n"
	"    type: lookup\n"
	"    query: create_ticket\n"
	"    subject: 'Callback for {{customer.first_name}}'\n"
	"    next: made\n"
	"  made: {type: say, text: 'ticket {{ticket.id}}', next: end}\n"
	"  stranger: {type: say, text: 'who? {{customer.found}}', next: end}\n"
	"  broken: {type: say, text: broken, next: end}\n"
	"  end: {type: hangup}\n";

static void lookup_fills_variables_under_the_prefix(void **state)
{
	struct drv d;
	(void)state;
	drv_start(&d, lookup_yaml);
	drv_expect(&d, "lookup:0 +14155550100");
	/* what a lookup fills is reset first */
	assert_int_equal(flow_vars_set((struct flow_vars *)flow_run_vars(d.r),
				       "customer.stale", "x"),
			 0);
	drv_step(&d, NULL,
		 "lookup {\"id\":\"c1\",\"first_name\":\"Ann\",\"pin_set\":"
		 "true}");
	drv_expect(&d, "lookup:2 c1");
	drv_step(&d, NULL,
		 "lookup [{\"number\":\"111\",\"balance\":\"1250.40\"},"
		 "{\"number\":\"222\",\"balance\":\"10.05\"}]");
	drv_expect(&d, "say:Hi Ann (true), 2 accounts: 111 10.05 total "
		       "1260.45");
	assert_string_equal(drv_var(&d, "customer.pin_set"), "true");
	assert_string_equal(drv_var(&d, "customer.stale"), "(unset)");
	drv_step(&d, NULL, "played");
	drv_expect(&d, "lookup:5 c1");
	assert_string_equal(d.act.lookup.subject, "Callback for Ann");
	drv_step(&d, NULL, "lookup {\"id\":42}");
	drv_expect(&d, "say:ticket 42");
	drv_free(&d);

	drv_start(&d, lookup_yaml);
	drv_step(&d, "lookup:*", "notfound");
	drv_expect(&d, "say:who? false");
	drv_free(&d);

	drv_start(&d, lookup_yaml);
	drv_step(&d, "lookup:*", "lookup not json");
	drv_expect(&d, "say:broken");
	drv_free(&d);

	drv_start(&d, lookup_yaml);
	drv_step(&d, "lookup:*", "lookuperr");
	drv_expect(&d, "say:broken");
	drv_free(&d);
}

static const char *const hours_yaml =
	"name: hrs\n"
	"start: rec\n"
	"nodes:\n"
	"  rec: {type: record, action: start, next: when}\n"
	"  when:\n"
	"    type: hours\n"
	"    utc_offset: '-05:00'\n"
	"    open:\n"
	"      mon-fri: '09:00-17:30'\n"
	"      sat: '10:00-14:00'\n"
	"    closed_dates: ['2026-12-25']\n"
	"    in_hours: open\n"
	"    out_of_hours: closed\n"
	"  open: {type: goto, next: open_msg}\n"
	"  open_msg: {type: say, text: open, next: stop}\n"
	"  closed: {type: say, text: closed, next: stop}\n"
	"  stop: {type: record, action: stop, next: end}\n"
	"  end: {type: hangup, reason: closed}\n";

static void hours_follow_the_virtual_clock_and_closed_dates(void **state)
{
	const struct {
		int64_t now;
		const char *want;
	} cases[] = {
		/* -05:00: 14:00 UTC is 09:00 local */
		{ utc_ms(2026, 11, 24, 14, 0), "say:open" },	/* Tue 09:00 */
		{ utc_ms(2026, 11, 24, 13, 59), "say:closed" }, /* Tue 08:59 */
		{ utc_ms(2026, 11, 24, 22, 29), "say:open" },	/* Tue 17:29 */
		{ utc_ms(2026, 11, 24, 22, 30), "say:closed" }, /* Tue 17:30 */
		{ utc_ms(2026, 12, 25, 15, 0), "say:closed" }, /* closed date */
		{ utc_ms(2026, 11, 28, 15, 0), "say:open" },   /* Sat 10:00 */
		{ utc_ms(2026, 11, 29, 15, 0), "say:closed" }, /* Sunday */
		{ utc_ms(2026, 11, 25, 3, 0), "say:closed" },  /* Tue 22:00 */
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct drv d;
		drv_start(&d, hours_yaml);
		drv_expect(&d, "record:0");
		/* the record result carries the virtual time */
		d.now_ms = cases[i].now - 1000;
		drv_step(&d, NULL, "recorded");
		drv_describe(&d);
		if (fnmatch(cases[i].want, d.desc, 0))
			fail_msg("case %zu: want %s got %s", i, cases[i].want,
				 d.desc);
		drv_step(&d, NULL, "played");
		drv_step(&d, "record:3", "recorded");
		drv_step(&d, "hangup:closed", "hangup");
		drv_expect(&d, "end:closed");
		drv_free(&d);
	}
}

static void transfer_targets_are_checked_at_run_time(void **state)
{
	static const char *const yaml =
		"name: t\n"
		"start: set\n"
		"variables: {dest: ''}\n"
		"nodes:\n"
		"  set: {type: gather, prompt: Where?, into: dest, next: go,"
		" max_digits: 4, on_max_retries: sorry}\n"
		"  go:\n"
		"    type: transfer\n"
		"    target: '{{dest}}'\n"
		"    context: {reason: 'wants {{dest}}', Tier: gold}\n"
		"    on_fail: sorry\n"
		"  sorry: {type: say, text: 'sorry {{transfer.status}}', next:"
		" end}\n"
		"  end: {type: hangup}\n";
	struct drv d;
	(void)state;
	/* keys make a bad target ("1234" has no scheme): on_fail */
	drv_start(&d, yaml);
	drv_step(&d, "gather:Where?", "dtmf 1234");
	drv_expect(&d, "say:sorry ");
	drv_free(&d);

	/* a good one, with the rendered context */
	drv_start(&d, yaml);
	assert_int_equal(flow_vars_set((struct flow_vars *)flow_run_vars(d.r),
				       "dest", "queue:billing"),
			 0);
	drv_step(&d, "gather:Where?", "speech queue:billing");
	drv_expect(&d, "transfer:queue:billing");
	assert_false(d.act.transfer.to_agent);
	assert_int_equal(d.act.transfer.ncontext, 2);
	assert_string_equal(d.act.transfer.context_keys[0], "reason");
	assert_string_equal(d.act.transfer.context_values[0],
			    "wants queue:billing");
	assert_string_equal(d.act.transfer.context_values[1], "gold");
	drv_step(&d, NULL, "ok 202");
	drv_expect(&d, "end:transferred");
	assert_string_equal(drv_var(&d, "transfer.status"), "202");
	assert_true(flow_run_done(d.r));
	drv_free(&d);
}

static void write_wav(const char *path)
{
	unsigned char h[44 + 320] = { 0 };
	uint32_t rate = 8000, byte_rate = 16000, data = 320;
	uint32_t riff = 36 + data;
	memcpy(h, "RIFF", 4);
	memcpy(h + 4, &riff, 4);
	memcpy(h + 8, "WAVEfmt ", 8);
	uint32_t fmt_len = 16;
	uint16_t pcm = 1, ch = 1, align = 2, bits = 16;
	memcpy(h + 16, &fmt_len, 4);
	memcpy(h + 20, &pcm, 2);
	memcpy(h + 22, &ch, 2);
	memcpy(h + 24, &rate, 4);
	memcpy(h + 28, &byte_rate, 4);
	memcpy(h + 32, &align, 2);
	memcpy(h + 34, &bits, 2);
	memcpy(h + 36, "data", 4);
	memcpy(h + 40, &data, 4);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(h, 1, sizeof(h), f), sizeof(h));
	fclose(f);
}

static void play_sends_the_clip_or_its_text(void **state)
{
	char wav[64], yaml[512];
	struct drv d;
	(void)state;
	snprintf(wav, sizeof(wav), "/tmp/vg_rt_beep_%d.wav", (int)getpid());
	write_wav(wav);
	snprintf(
		yaml, sizeof(yaml),
		"name: p\n"
		"start: beep\n"
		"nodes:\n"
		"  beep: {type: play, file: '%s', text: 'Beep for {{call.id}}',"
		" next: quiet}\n"
		"  quiet: {type: play, file: '%s', next: end}\n"
		"  end: {type: hangup}\n",
		wav, wav);
	drv_start(&d, yaml);
	drv_expect(&d, "play:/tmp/vg_rt_beep_*.wav");
	assert_non_null(d.act.play.clip);
	assert_string_equal(d.act.play.text, "Beep for call-1");
	drv_step(&d, NULL, "played");
	drv_step(&d, "play:*", "played");
	drv_expect(&d, "hangup:completed");
	drv_free(&d);

	/* a channel without audio: the text as a say, or nothing */
	memset(&d, 0, sizeof(d));
	d.f = drv_load(yaml);
	drv_env(&d, false);
	d.env.audio = false;
	assert_int_equal(flow_run_create(&d.r, d.f, &d.env), 0);
	drv_step(&d, NULL, "start");
	drv_step(&d, "say:Beep for call-1", "playfail");
	drv_expect(&d, "hangup:completed");
	drv_free(&d);
	unlink(wav);
}

static const char *const main_yaml =
	"name: main\n"
	"start: pre\n"
	"variables: {who: nobody, verified: ''}\n"
	"nodes:\n"
	"  pre: {type: set, vars: {who: caller}, next: sub}\n"
	"  sub: {type: subflow, flow: verify, next: after}\n"
	"  after: {type: say, text: 'back, {{who}} verified={{verified}}',"
	" next: end}\n"
	"  end: {type: return}\n";

static const char *const verify_yaml =
	"name: verify\n"
	"start: ask\n"
	"variables: {verified: 'no', who: default}\n"
	"nodes:\n"
	"  ask: {type: gather, prompt: 'PIN for {{who}}?', into: pin, next:"
	" mark, min_digits: 4, max_digits: 4, on_max_retries: done}\n"
	"  mark: {type: set, vars: {verified: 'yes'}, next: done}\n"
	"  done: {type: return}\n";

static void subflows_share_variables_and_return_to_next(void **state)
{
	struct drv d;
	(void)state;
	memset(&d, 0, sizeof(d));
	d.f = drv_load(main_yaml);
	drv_add_sub(&d, verify_yaml);
	drv_env(&d, true);
	assert_int_equal(flow_run_create(&d.r, d.f, &d.env), 0);
	drv_step(&d, NULL, "start");
	drv_expect(&d, "gather:PIN for caller?");
	assert_string_equal(flow_run_flow(d.r), "verify");
	assert_string_equal(flow_run_node(d.r), "ask");
	drv_step(&d, NULL, "dtmf 1234");
	drv_expect(&d, "say:back, caller verified=yes");
	assert_string_equal(flow_run_flow(d.r), "main");
	assert_string_equal(drv_var(&d, "pin"), "1234");
	drv_step(&d, NULL, "played");
	/* return in the top-level flow ends the call like hangup */
	drv_step(&d, "hangup:completed", "hangup");
	drv_expect(&d, "end:completed");
	assert_string_equal(d.path, "pre,sub,ask,mark,done,after,end,");
	drv_free(&d);
}

static void a_subflow_missing_at_run_time_is_an_error(void **state)
{
	struct drv d;
	(void)state;
	drv_start(&d, "name: lonely\n"
		      "start: sub\n"
		      "handlers: {error: oops}\n"
		      "nodes:\n"
		      "  sub: {type: subflow, flow: nowhere, next: end}\n"
		      "  oops: {type: say, text: '{{error.reason}} at "
		      "{{error.node}}', next: end}\n"
		      "  end: {type: hangup}\n");
	drv_expect(&d, "say:subflow at sub");
	drv_free(&d);
}

static void confirm_takes_yes_no_by_voice_or_keys_1_and_2(void **state)
{
	static const char *const yaml =
		"name: yn\n"
		"start: ok\n"
		"nodes:\n"
		"  ok: {type: gather, prompt: Is that right?, input: both,"
		" entity: confirm, into: yes, next: said, on_max_retries: "
		"end}\n"
		"  said: {type: say, text: '{{yes}}', next: end}\n"
		"  end: {type: hangup}\n";
	static const struct {
		const char *answer, *want;
	} cases[] = {
		{ "speech yeah that's right", "say:yes" },
		{ "speech nope", "say:no" },
		{ "dtmf 1", "say:yes" },
		{ "dtmf 2", "say:no" },
		{ "dtmf 3", "gather:Is that right?" },
		{ "speech maybe", "gather:Is that right?" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct drv d;
		drv_start(&d, yaml);
		drv_step(&d, "gather:Is that right?", cases[i].answer);
		drv_describe(&d);
		if (fnmatch(cases[i].want, d.desc, 0))
			fail_msg("case %s: want %s got %s", cases[i].answer,
				 cases[i].want, d.desc);
		drv_free(&d);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(set_and_switch_choose_by_every_operator),
		cmocka_unit_test(
			http_renders_the_request_and_maps_the_response),
		cmocka_unit_test(connect_event_endpoints_are_numbers),
		cmocka_unit_test(http_failures_take_on_error_with_the_reason),
		cmocka_unit_test(a_raw_body_is_rendered_as_text),
		cmocka_unit_test(lookup_fills_variables_under_the_prefix),
		cmocka_unit_test(
			hours_follow_the_virtual_clock_and_closed_dates),
		cmocka_unit_test(transfer_targets_are_checked_at_run_time),
		cmocka_unit_test(play_sends_the_clip_or_its_text),
		cmocka_unit_test(subflows_share_variables_and_return_to_next),
		cmocka_unit_test(a_subflow_missing_at_run_time_is_an_error),
		cmocka_unit_test(confirm_takes_yes_no_by_voice_or_keys_1_and_2),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Log line formats and the capped string buffer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/strbuf.h"

static void capture(char *out, size_t cap, enum log_format fmt, const char *id,
		    const char *value)
{
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	log_setup(LOG_LVL_INFO, fmt, fds[1]);
	LOGI(id, "call_end", "reason=%s from=%s", "hangup", log_esc(value));
	LOGD(id, "hidden", "x=1");
	close(fds[1]);
	ssize_t n = read(fds[0], out, cap - 1);
	close(fds[0]);
	out[n > 0 ? n : 0] = '\0';
	log_setup(LOG_LVL_INFO, LOG_FMT_KV, 2);
}

static void kv_line_has_event_call_and_escaped_values(void **s)
{
	(void)s;
	char line[1024];
	capture(line, sizeof(line), LOG_FMT_KV, "abc", "Bob \"B\" <sip:b@x>");
	assert_non_null(strstr(line, " level=info event=call_end call=abc "
				     "reason=hangup from=\"Bob \\\"B\\\" "
				     "<sip:b@x>\"\n"));
	assert_null(strstr(line, "hidden"));
	assert_int_equal(strchr(line, '\n'), line + strlen(line) - 1);
}

static void json_line_is_one_object_with_fields(void **s)
{
	(void)s;
	char line[1024];
	capture(line, sizeof(line), LOG_FMT_JSON, "abc", "a b\nc");
	assert_int_equal(line[0], '{');
	assert_non_null(strstr(line, "\"event\":\"call_end\""));
	assert_non_null(strstr(line, "\"call\":\"abc\""));
	assert_non_null(strstr(line, "\"reason\":\"hangup\""));
	assert_non_null(strstr(line, "\"from\":\"a b\\u000ac\""));
	assert_string_equal(line + strlen(line) - 2, "}\n");
}

static void level_and_format_names_parse(void **s)
{
	(void)s;
	enum log_level l;
	enum log_format f;
	assert_int_equal(log_level_parse("warn", &l), 0);
	assert_int_equal(l, LOG_LVL_WARN);
	assert_int_equal(log_level_parse("loud", &l), -EINVAL);
	assert_int_equal(log_format_parse("json", &f), 0);
	assert_int_equal(f, LOG_FMT_JSON);
	assert_int_equal(log_format_parse("xml", &f), -EINVAL);
}

static void strbuf_refuses_growth_past_its_cap(void **s)
{
	(void)s;
	struct strbuf sb;
	strbuf_init(&sb, 10);
	assert_int_equal(strbuf_addstr(&sb, "12345"), 0);
	assert_int_equal(strbuf_printf(&sb, "%d", 6789), 0);
	assert_int_equal(strbuf_addstr(&sb, "ab"), -E2BIG);
	assert_string_equal(strbuf_str(&sb), "123456789");
	assert_int_equal(strbuf_addstr(&sb, "x"), 0);
	assert_int_equal(sb.len, 10);
	strbuf_fini(&sb);
	assert_string_equal(strbuf_str(&sb), "");
}

static void strbuf_json_string_escapes(void **s)
{
	(void)s;
	struct strbuf sb;
	strbuf_init(&sb, 100);
	assert_int_equal(strbuf_add_json_str(&sb, "a\"b\\c\x01"), 0);
	assert_string_equal(strbuf_str(&sb), "\"a\\\"b\\\\c\\u0001\"");
	strbuf_fini(&sb);
	strbuf_init(&sb, 4);
	assert_int_equal(strbuf_add_json_str(&sb, "abcdef"), -E2BIG);
	assert_string_equal(strbuf_str(&sb), "");
	strbuf_fini(&sb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(kv_line_has_event_call_and_escaped_values),
		cmocka_unit_test(json_line_is_one_object_with_fields),
		cmocka_unit_test(level_and_format_names_parse),
		cmocka_unit_test(strbuf_refuses_growth_past_its_cap),
		cmocka_unit_test(strbuf_json_string_escapes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

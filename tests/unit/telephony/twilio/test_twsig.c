/* X-Twilio-Signature against every vector of
 * ../shared/vectors/twilio_signature_vectors.json (valid and negative). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "telephony/twilio/twform.h"
#include "telephony/twilio/twsig.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VECTORS VG_SHARED_DIR "/vectors/twilio_signature_vectors.json"

static cJSON *load_vectors(void)
{
	FILE *fp = fopen(VECTORS, "rb");
	assert_non_null(fp);
	static char buf[1 << 16];
	size_t n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	cJSON *j = cJSON_Parse(buf);
	assert_non_null(j);
	return j;
}

/* A form from a JSON object of string or string-array values (borrows the
 * JSON's strings). */
static void form_from_json(struct twform *f, const cJSON *params)
{
	twform_init(f);
	size_t n = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, params)
	{
		n += cJSON_IsArray(it) ? (size_t)cJSON_GetArraySize(it) : 1;
	}
	f->pairs = calloc(n + 1, sizeof(*f->pairs));
	assert_non_null(f->pairs);
	cJSON_ArrayForEach(it, params)
	{
		if (cJSON_IsArray(it)) {
			const cJSON *v;
			cJSON_ArrayForEach(v, it)
			{
				f->pairs[f->n].name = it->string;
				f->pairs[f->n++].value = v->valuestring;
			}
		} else {
			f->pairs[f->n].name = it->string;
			f->pairs[f->n++].value = it->valuestring;
		}
	}
}

static const char *str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void every_valid_vector_is_accepted(void **state)
{
	(void)state;
	cJSON *j = load_vectors();
	const cJSON *v;
	int checked = 0;
	cJSON_ArrayForEach(v, cJSON_GetObjectItem(j, "vectors"))
	{
		const char *kind = str(v, "kind");
		const char *id = str(v, "id");
		const char *expected = str(v, "expected");
		print_message("vector %s\n", id);
		if (!strcmp(kind, "body_sha256")) {
			/* bind the body to a URL by its hash, then sign it */
			char url[256];
			snprintf(url, sizeof(url),
				 "https://example.com/hook?bodySHA256=%s",
				 expected);
			char sig[TWSIG_LEN + 1];
			assert_int_equal(
				twilio_sig_compute("tok", url, NULL, sig), 0);
			const char *body = str(v, "body");
			assert_true(twilio_sig_valid("tok", url, NULL, body,
						     strlen(body), sig));
			/* one byte more in the body breaks the hash */
			assert_false(twilio_sig_valid("tok", url, NULL, body,
						      strlen(body) - 1, sig));
			checked++;
			continue;
		}
		struct twform f;
		form_from_json(&f, cJSON_GetObjectItem(v, "params"));
		const char *token = str(v, "token");
		const char *body = str(v, "body");
		size_t blen = body ? strlen(body) : 0;
		char sig[TWSIG_LEN + 1];
		/* the signer's own URL gives the expected signature */
		assert_int_equal(twilio_sig_compute(token, str(v, "signed_url"),
						    body ? NULL : &f, sig),
				 0);
		assert_string_equal(sig, expected);
		/* the validator accepts it on the URL it was requested at */
		assert_true(twilio_sig_valid(token, str(v, "request_url"), &f,
					     body, blen, expected));
		/* and rejects a one-character change or another token */
		char bad[TWSIG_LEN + 1];
		memcpy(bad, expected, sizeof(bad));
		bad[3] = bad[3] == 'A' ? 'B' : 'A';
		assert_false(twilio_sig_valid(token, str(v, "request_url"), &f,
					      body, blen, bad));
		assert_false(twilio_sig_valid("12346", str(v, "request_url"),
					      &f, body, blen, expected));
		twform_fini(&f);
		checked++;
	}
	assert_int_equal(checked, 16);
	cJSON_Delete(j);
}

static void every_negative_vector_is_rejected(void **state)
{
	(void)state;
	cJSON *j = load_vectors();
	const cJSON *v;
	int checked = 0;
	cJSON_ArrayForEach(v, cJSON_GetObjectItem(j, "negative"))
	{
		print_message("negative %s\n", str(v, "id"));
		struct twform f;
		form_from_json(&f, cJSON_GetObjectItem(v, "params"));
		const char *token = str(v, "token");
		const char *body = str(v, "body");
		const char *sig = str(v, "signature");
		char made[TWSIG_LEN + 1];
		if (!sig && str(v, "signed_url")) {
			/* a signature for another URL */
			assert_int_equal(
				twilio_sig_compute(token, str(v, "signed_url"),
						   &f, made),
				0);
			sig = made;
		}
		assert_false(twilio_sig_valid(token, str(v, "request_url"), &f,
					      body, body ? strlen(body) : 0,
					      sig));
		twform_fini(&f);
		checked++;
	}
	assert_int_equal(checked, 6);
	cJSON_Delete(j);
}

static void parsed_form_signs_like_the_vector(void **state)
{
	(void)state;
	/* the documented example as Twilio posts it, in another order */
	const char body[] =
		"To=%2B18005551212&From=%2B14158675309&Caller="
		"%2B14158675309&Digits=1234&CallSid=CA1234567890ABCDE";
	struct twform f;
	twform_init(&f);
	assert_int_equal(twform_parse(&f, body, strlen(body)), 0);
	assert_true(twilio_sig_valid(
		"12345", "https://mycompany.com/myapp.php?foo=1&bar=2", &f,
		NULL, 0, "RSOYDt4T1cUTdK1PDd93/VVr8B8="));
	/* a param added to the body changes the signature */
	twform_fini(&f);
	const char more[] =
		"To=%2B18005551212&From=%2B14158675309&Caller="
		"%2B14158675309&Digits=1234&CallSid=CA1234567890ABCDE"
		"&X=1";
	assert_int_equal(twform_parse(&f, more, strlen(more)), 0);
	assert_false(twilio_sig_valid(
		"12345", "https://mycompany.com/myapp.php?foo=1&bar=2", &f,
		NULL, 0, "RSOYDt4T1cUTdK1PDd93/VVr8B8="));
	twform_fini(&f);
}

static void empty_token_or_header_is_never_valid(void **state)
{
	(void)state;
	char sig[TWSIG_LEN + 1];
	assert_int_equal(twilio_sig_compute("", "https://a/b", NULL, sig), 0);
	assert_false(twilio_sig_valid("", "https://a/b", NULL, NULL, 0, sig));
	assert_false(twilio_sig_valid("k", "https://a/b", NULL, NULL, 0, ""));
	assert_false(twilio_sig_valid("k", "https://a/b", NULL, NULL, 0, NULL));
	assert_false(twilio_sig_valid(NULL, "https://a/b", NULL, NULL, 0,
				      "RSOYDt4T1cUTdK1PDd93/VVr8B8="));
	/* a JSON body without bodySHA256 is rejected even if signed */
	assert_int_equal(twilio_sig_compute("k", "https://a/b", NULL, sig), 0);
	assert_true(twilio_sig_valid("k", "https://a/b", NULL, NULL, 0, sig));
	assert_false(twilio_sig_valid("k", "https://a/b", NULL, "{}", 2, sig));
}

static void ipv6_host_port_variants(void **state)
{
	(void)state;
	char sig[TWSIG_LEN + 1];
	assert_int_equal(
		twilio_sig_compute("k", "https://[::1]:443/x", NULL, sig), 0);
	assert_true(
		twilio_sig_valid("k", "https://[::1]/x", NULL, NULL, 0, sig));
	assert_int_equal(twilio_sig_compute("k", "https://[::1]/x", NULL, sig),
			 0);
	assert_true(twilio_sig_valid("k", "https://[::1]:8443/x", NULL, NULL, 0,
				     sig));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_valid_vector_is_accepted),
		cmocka_unit_test(every_negative_vector_is_rejected),
		cmocka_unit_test(parsed_form_signs_like_the_vector),
		cmocka_unit_test(empty_token_or_header_is_never_valid),
		cmocka_unit_test(ipv6_host_port_variants),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

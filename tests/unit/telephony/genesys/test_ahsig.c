/* AudioHook upgrade signatures: every vector of
 * ../shared/vectors/audiohook_signature.json, then the verifier's refusals
 * (wrong key, tampered header, stale, replayed nonce, unknown key, not
 * covered, malformed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "telephony/genesys/ahsig.h"
#include "core/b64.h"
#include "telephony/twilio/mstream_msg.h"

#define VECTORS VG_SHARED_DIR "/vectors/audiohook_signature.json"

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

struct kv {
	const char *name[16];
	const char *val[16];
	unsigned n;
};

static const char *kv_lookup(const char *name, void *arg)
{
	const struct kv *kv = arg;
	for (unsigned i = 0; i < kv->n; i++)
		if (!strcmp(kv->name[i], name))
			return kv->val[i];
	return NULL;
}

static void kv_set(struct kv *kv, const char *name, const char *val)
{
	for (unsigned i = 0; i < kv->n; i++)
		if (!strcmp(kv->name[i], name)) {
			kv->val[i] = val;
			return;
		}
	kv->name[kv->n] = name;
	kv->val[kv->n++] = val;
}

/* The signature base and HMAC of every vector, built from the
 * components and params as the file gives them. */
static void every_vector_signs_as_expected(void **state)
{
	(void)state;
	cJSON *j = load_vectors();
	const cJSON *c;
	unsigned ncases = 0;
	cJSON_ArrayForEach(c, cJSON_GetObjectItem(j, "cases"))
	{
		struct kv kv = { 0 };
		struct ahsig_input in = { 0 };
		const cJSON *comp;
		cJSON_ArrayForEach(comp, cJSON_GetObjectItem(c, "components"))
		{
			const char *name =
				cJSON_GetArrayItem(comp, 0)->valuestring;
			snprintf(in.components[in.ncomponents++],
				 sizeof(in.components[0]), "%s", name);
			kv_set(&kv, name,
			       cJSON_GetArrayItem(comp, 1)->valuestring);
		}
		snprintf(in.params, sizeof(in.params), "%s",
			 cJSON_GetObjectItem(c, "params")->valuestring);
		char base[AHSIG_BASE_MAX];
		int blen = ahsig_base_build(base, sizeof(base), &in, kv_lookup,
					    &kv);
		assert_true(blen > 0);
		assert_null(strchr(base + blen - 1, '\n'));
		uint8_t key[256];
		const char *sec = cJSON_GetObjectItem(c, "client_secret_b64")
					  ->valuestring;
		/* decode through the verifier's own path: add the key */
		struct ahsig *s;
		assert_int_equal(ahsig_create(&s, NULL), 0);
		assert_int_equal(ahsig_key_add(s, "k", sec), 0);
		ahsig_destroy(s);
		/* and independently here for the HMAC */
		int kl = b64_decode(sec, strlen(sec), key, sizeof(key));
		assert_true(kl > 0);
		char sig[64];
		assert_true(ahsig_hmac_b64(key, (size_t)kl, base, (size_t)blen,
					   sig, sizeof(sig)) > 0);
		assert_string_equal(
			sig, cJSON_GetObjectItem(c, "expected_signature_b64")
				     ->valuestring);
		ncases++;
	}
	assert_true(ncases >= 2);
	cJSON_Delete(j);
}

/* The vectors that carry full headers: parsed from Signature-Input and
 * verified end to end at a time inside their window. */
struct doc {
	cJSON *j;
	const cJSON *c;
	struct kv kv;
	const char *secret;
	const char *api;
	int64_t created;
};

static void doc_load(struct doc *d)
{
	memset(d, 0, sizeof(*d));
	d->j = load_vectors();
	const cJSON *c;
	cJSON_ArrayForEach(c, cJSON_GetObjectItem(d->j, "cases"))
	{
		if (cJSON_GetObjectItem(c, "headers")) {
			d->c = c;
			break;
		}
	}
	assert_non_null(d->c);
	const cJSON *comp;
	cJSON_ArrayForEach(comp, cJSON_GetObjectItem(d->c, "components"))
		kv_set(&d->kv, cJSON_GetArrayItem(comp, 0)->valuestring,
		       cJSON_GetArrayItem(comp, 1)->valuestring);
	const cJSON *h = cJSON_GetObjectItem(d->c, "headers");
	kv_set(&d->kv, "signature-input",
	       cJSON_GetObjectItem(h, "Signature-Input")->valuestring);
	kv_set(&d->kv, "signature",
	       cJSON_GetObjectItem(h, "Signature")->valuestring);
	d->secret = cJSON_GetObjectItem(d->c, "client_secret_b64")->valuestring;
	d->api = kv_lookup("x-api-key", &d->kv);
	struct ahsig_input in;
	const char *si = kv_lookup("signature-input", &d->kv);
	assert_int_equal(ahsig_input_parse(si, strlen(si), &in), 0);
	assert_true(in.has_created);
	d->created = in.created;
}

static struct ahsig *verifier(const struct doc *d)
{
	struct ahsig *s;
	assert_int_equal(ahsig_create(&s, NULL), 0);
	assert_int_equal(ahsig_key_add(s, "other-key", "b3RoZXI="), 0);
	assert_int_equal(ahsig_key_add(s, d->api, d->secret), 0);
	return s;
}

static void signature_input_parses(void **state)
{
	(void)state;
	struct doc d;
	doc_load(&d);
	struct ahsig_input in;
	const char *si = kv_lookup("signature-input", &d.kv);
	assert_int_equal(ahsig_input_parse(si, strlen(si), &in), 0);
	assert_string_equal(in.label, "sig1");
	assert_int_equal(in.ncomponents, 6);
	assert_string_equal(in.components[0], "@request-target");
	assert_string_equal(in.components[5], "x-api-key");
	assert_string_equal(in.keyid, d.api);
	assert_string_equal(in.nonce, "VGhpc0lzQVVuaXF1ZU5vbmNl");
	assert_string_equal(in.alg, "hmac-sha256");
	assert_true(in.has_expires);
	assert_int_equal(in.created, 1641013200);
	uint8_t sig[64];
	const char *sg = kv_lookup("signature", &d.kv);
	assert_int_equal(
		ahsig_signature_get(sg, strlen(sg), "sig1", sig, sizeof(sig)),
		32);
	assert_int_equal(
		ahsig_signature_get(sg, strlen(sg), "sig2", sig, sizeof(sig)),
		-ENOENT);
	cJSON_Delete(d.j);
}

static void valid_upgrade_is_accepted_once(void **state)
{
	(void)state;
	struct doc d;
	doc_load(&d);
	struct ahsig *s = verifier(&d);
	assert_int_equal(ahsig_verify(s, kv_lookup, &d.kv, d.created + 5, true),
			 AHSIG_OK);
	assert_int_equal(ahsig_nonce_count(s), 1);
	/* the same nonce again: a replay */
	assert_int_equal(ahsig_verify(s, kv_lookup, &d.kv, d.created + 6, true),
			 AHSIG_REPLAY);
	ahsig_destroy(s);
	cJSON_Delete(d.j);
}

static void stale_and_future_signatures_are_refused(void **state)
{
	(void)state;
	struct doc d;
	doc_load(&d);
	struct ahsig *s = verifier(&d);
	assert_int_equal(
		ahsig_verify(s, kv_lookup, &d.kv, d.created + 301, true),
		AHSIG_STALE);
	assert_int_equal(
		ahsig_verify(s, kv_lookup, &d.kv, d.created - 31, true),
		AHSIG_STALE);
	/* a refused request does not burn its nonce */
	assert_int_equal(ahsig_nonce_count(s), 0);
	assert_int_equal(ahsig_verify(s, kv_lookup, &d.kv, d.created, true),
			 AHSIG_OK);
	ahsig_destroy(s);
	cJSON_Delete(d.j);
}

static void wrong_secret_or_tampered_header_is_refused(void **state)
{
	(void)state;
	struct doc d;
	doc_load(&d);
	struct ahsig *s;
	assert_int_equal(ahsig_create(&s, NULL), 0);
	/* right API key, other secret */
	assert_int_equal(ahsig_key_add(s, d.api, "d3Jvbmctc2VjcmV0"), 0);
	assert_int_equal(ahsig_verify(s, kv_lookup, &d.kv, d.created, true),
			 AHSIG_BAD_SIG);
	ahsig_destroy(s);
	s = verifier(&d);
	kv_set(&d.kv, "audiohook-session-id",
	       "30b0e395-84d3-4570-ac13-9a62d8f514c1");
	assert_int_equal(ahsig_verify(s, kv_lookup, &d.kv, d.created, true),
			 AHSIG_BAD_SIG);
	kv_set(&d.kv, "audiohook-session-id",
	       "30b0e395-84d3-4570-ac13-9a62d8f514c0");
	kv_set(&d.kv, "@authority", "evil.example.com");
	assert_int_equal(ahsig_verify(s, kv_lookup, &d.kv, d.created, true),
			 AHSIG_BAD_SIG);
	kv_set(&d.kv, "@authority", "audiohook.example.com");
	kv_set(&d.kv, "signature",
	       "sig1=:AAAAyBHRRyRoeLqy1IzOa9VYBuI8TgMFt2GRDkDuJh4=:");
	assert_int_equal(ahsig_verify(s, kv_lookup, &d.kv, d.created, true),
			 AHSIG_BAD_SIG);
	assert_int_equal(ahsig_nonce_count(s), 0);
	ahsig_destroy(s);
	cJSON_Delete(d.j);
}

static void unknown_or_missing_key_is_refused(void **state)
{
	(void)state;
	struct doc d;
	doc_load(&d);
	struct ahsig *s;
	assert_int_equal(ahsig_create(&s, NULL), 0);
	assert_int_equal(ahsig_key_add(s, "someone-else", d.secret), 0);
	assert_int_equal(ahsig_verify(s, kv_lookup, &d.kv, d.created, true),
			 AHSIG_UNKNOWN_KEY);
	/* without the signature headers too */
	struct kv bare = { 0 };
	kv_set(&bare, "x-api-key", d.api);
	assert_int_equal(ahsig_verify(s, kv_lookup, &bare, d.created, false),
			 AHSIG_UNKNOWN_KEY);
	struct kv none = { 0 };
	assert_int_equal(ahsig_verify(s, kv_lookup, &none, d.created, true),
			 AHSIG_NO_KEY);
	ahsig_destroy(s);
	s = verifier(&d);
	/* signature required but absent */
	assert_int_equal(ahsig_verify(s, kv_lookup, &bare, d.created, true),
			 AHSIG_MALFORMED);
	assert_int_equal(ahsig_verify(s, kv_lookup, &bare, d.created, false),
			 AHSIG_OK);
	ahsig_destroy(s);
	cJSON_Delete(d.j);
}

static void uncovered_component_is_refused(void **state)
{
	(void)state;
	/* a correct signature over fewer components than required */
	struct kv kv = { 0 };
	kv_set(&kv, "@request-target", "/genesys/audiohook");
	kv_set(&kv, "@authority", "127.0.0.1:8082");
	kv_set(&kv, "x-api-key", "key1");
	char si[512];
	snprintf(si, sizeof(si),
		 "sig1=(\"@request-target\" \"@authority\" \"x-api-key\")"
		 ";keyid=\"key1\";nonce=\"n1\";alg=\"hmac-sha256\""
		 ";created=1000;expires=1300");
	struct ahsig_input in;
	assert_int_equal(ahsig_input_parse(si, strlen(si), &in), 0);
	char base[1024];
	int bl = ahsig_base_build(base, sizeof(base), &in, kv_lookup, &kv);
	assert_true(bl > 0);
	char sig[64], hv[128];
	assert_true(ahsig_hmac_b64((const uint8_t *)"secret", 6, base,
				   (size_t)bl, sig, sizeof(sig)) > 0);
	snprintf(hv, sizeof(hv), "sig1=:%s:", sig);
	kv_set(&kv, "signature-input", si);
	kv_set(&kv, "signature", hv);
	struct ahsig *s;
	assert_int_equal(ahsig_create(&s, NULL), 0);
	assert_int_equal(ahsig_key_add(s, "key1", "c2VjcmV0"), 0);
	assert_int_equal(ahsig_verify(s, kv_lookup, &kv, 1010, true),
			 AHSIG_NOT_COVERED);
	/* expires passed */
	ahsig_destroy(s);
}

static void malformed_signature_headers_are_refused(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"",
		"sig1",
		"sig1=",
		"sig1=(\"@authority\"",
		"sig1=(\"@authority\" \"x-api-key\");keyid=",
		"sig1=(\"@authority\");keyid=\"unterminated",
		"sig1=(\"@Authority\");keyid=\"k\"",
		"sig1=(@authority);keyid=\"k\"",
		"sig1=(\"a\" \"b\" \"c\" \"d\" \"e\" \"f\" \"g\" \"h\" \"i\" "
		"\"j\" \"k\" \"l\" \"m\")",
		"sig1=(\"a\");created=abc",
		"sig1=(\"a\");created=99999999999999999999",
		"sig1=(\"a\")junk",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct ahsig_input in;
		assert_int_equal(ahsig_input_parse(bad[i], strlen(bad[i]), &in),
				 -EBADMSG);
	}
	uint8_t sig[64];
	static const char *const badsig[] = { "sig1=:abc",
					      "sig1=:@@@@:", "sig1=::x" };
	for (size_t i = 0; i < sizeof(badsig) / sizeof(badsig[0]); i++)
		assert_true(ahsig_signature_get(badsig[i], strlen(badsig[i]),
						"sig1", sig, sizeof(sig)) < 0);
	struct ahsig *s;
	assert_int_equal(ahsig_create(&s, NULL), 0);
	assert_int_equal(ahsig_key_add(s, "k", "not base64!"), -EINVAL);
	assert_int_equal(ahsig_key_add(s, "", "c2VjcmV0"), -EINVAL);
	ahsig_destroy(s);
}

static void nonce_cache_is_bounded(void **state)
{
	(void)state;
	struct ahsig_cfg cfg = { .nonce_cache = 4 };
	struct ahsig *s;
	assert_int_equal(ahsig_create(&s, &cfg), 0);
	assert_int_equal(ahsig_key_add(s, "key1", "c2VjcmV0"), 0);
	for (int i = 0; i < 10; i++) {
		struct kv kv = { 0 };
		kv_set(&kv, "@request-target", "/genesys/audiohook");
		kv_set(&kv, "@authority", "h");
		kv_set(&kv, "audiohook-organization-id", "o");
		kv_set(&kv, "audiohook-session-id", "s");
		kv_set(&kv, "audiohook-correlation-id", "c");
		kv_set(&kv, "x-api-key", "key1");
		char si[512];
		snprintf(si, sizeof(si),
			 "sig1=(\"@request-target\" \"@authority\" "
			 "\"audiohook-organization-id\" "
			 "\"audiohook-session-id\" "
			 "\"audiohook-correlation-id\" \"x-api-key\")"
			 ";keyid=\"key1\";nonce=\"n%d\";alg=\"hmac-sha256\""
			 ";created=1000;expires=1300",
			 i);
		struct ahsig_input in;
		assert_int_equal(ahsig_input_parse(si, strlen(si), &in), 0);
		char base[1024], sig[64], hv[128];
		int bl = ahsig_base_build(base, sizeof(base), &in, kv_lookup,
					  &kv);
		assert_true(ahsig_hmac_b64((const uint8_t *)"secret", 6, base,
					   (size_t)bl, sig, sizeof(sig)) > 0);
		snprintf(hv, sizeof(hv), "sig1=:%s:", sig);
		kv_set(&kv, "signature-input", si);
		kv_set(&kv, "signature", hv);
		assert_int_equal(ahsig_verify(s, kv_lookup, &kv, 1001, true),
				 AHSIG_OK);
		assert_int_equal(ahsig_verify(s, kv_lookup, &kv, 1001, true),
				 AHSIG_REPLAY);
		/* expired */
		assert_int_equal(ahsig_verify(s, kv_lookup, &kv, 1301, true),
				 AHSIG_STALE);
	}
	assert_int_equal(ahsig_nonce_count(s), 4);
	ahsig_destroy(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_vector_signs_as_expected),
		cmocka_unit_test(signature_input_parses),
		cmocka_unit_test(valid_upgrade_is_accepted_once),
		cmocka_unit_test(stale_and_future_signatures_are_refused),
		cmocka_unit_test(wrong_secret_or_tampered_header_is_refused),
		cmocka_unit_test(unknown_or_missing_key_is_refused),
		cmocka_unit_test(uncovered_component_is_refused),
		cmocka_unit_test(malformed_signature_headers_are_refused),
		cmocka_unit_test(nonce_cache_is_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

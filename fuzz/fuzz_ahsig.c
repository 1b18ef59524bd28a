/* libFuzzer target for the AudioHook upgrade signature parsing
 * (telephony/genesys/ahsig.h): the input is "Signature-Input\nSignature";
 * both parsers and the verifier must refuse garbage without crashing or
 * reading past it, and never accept a signature they did not compute. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "telephony/genesys/ahsig.h"

struct hdrs {
	char *si, *sig;
};

static const char *lookup(const char *name, void *arg)
{
	const struct hdrs *h = arg;
	if (!strcmp(name, "signature-input"))
		return h->si;
	if (!strcmp(name, "signature"))
		return h->sig;
	if (!strcmp(name, "x-api-key"))
		return "key1";
	if (!strcmp(name, "@request-target"))
		return "/genesys/audiohook";
	if (!strcmp(name, "@authority"))
		return "127.0.0.1:8082";
	return "v";
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 2);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	buf[size + 1] = '\0';
	struct hdrs h = { .si = buf, .sig = buf + size };
	char *nl = memchr(buf, '\n', size);
	if (nl) {
		*nl = '\0';
		h.sig = nl + 1;
	}
	static struct ahsig_input in;
	if (!ahsig_input_parse(h.si, strlen(h.si), &in)) {
		if (in.ncomponents > AHSIG_COMPONENTS_MAX)
			abort();
		static char base[AHSIG_BASE_MAX];
		(void)ahsig_base_build(base, sizeof(base), &in, lookup, &h);
	}
	uint8_t sig[64];
	(void)ahsig_signature_get(h.sig, strlen(h.sig), "sig1", sig,
				  sizeof(sig));
	static struct ahsig *s;
	if (!s &&
	    (ahsig_create(&s, NULL) || ahsig_key_add(s, "key1", "c2VjcmV0")))
		abort();
	/* a random input signed correctly is astronomically unlikely */
	if (ahsig_verify(s, lookup, &h, 1000, true) == AHSIG_OK)
		abort();
	free(buf);
	return 0;
}

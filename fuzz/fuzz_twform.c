/* libFuzzer target for the Twilio form parser (telephony/twilio/twform.h)
 * and the signature check over what it parses: no crash, no read past len,
 * every accepted form within its caps. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "telephony/twilio/twform.h"
#include "telephony/twilio/twsig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	struct twform f;
	twform_init(&f);
	int err = twform_parse(&f, buf, size);
	if (err == 0) {
		if (f.n > TWFORM_MAX_PAIRS || size > TWFORM_MAX_BYTES)
			abort();
		for (size_t i = 0; i < f.n; i++) {
			if (!f.pairs[i].name[0] ||
			    strlen(f.pairs[i].name) > size ||
			    strlen(f.pairs[i].value) > size)
				abort();
		}
		twform_sort(&f);
		for (size_t i = 1; i < f.n; i++) {
			if (strcmp(f.pairs[i - 1].name, f.pairs[i].name) > 0)
				abort();
		}
		char sig[TWSIG_LEN + 1];
		if (twilio_sig_compute("token", "https://h/x", &f, sig) == 0 &&
		    !twilio_sig_valid("token", "https://h/x", &f, NULL, 0, sig))
			abort();
	} else if (err != -EBADMSG && err != -E2BIG && err != -ENOMEM) {
		abort();
	} else if (f.n || f.pairs) {
		abort();
	}
	twform_fini(&f);
	free(buf);
	return 0;
}

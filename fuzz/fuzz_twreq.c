/* libFuzzer target for the Twilio webhook request input
 * (control/twilio/twreq.h). Input: "query\nform body". The step is -1 or
 * 0..TWREQ_STEP_MAX and only plain digits give one; an accepted CallSid is
 * 1..TWREQ_SID_MAX safe characters; the copied input is NUL-terminated
 * within its caps with a confidence in 0..1. No crash, no read past len. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/twilio/twreq.h"
#include "telephony/twilio/twform.h"

static void check_str(const char *s, size_t cap)
{
	if (strnlen(s, cap) == cap)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t ql = nl ? (size_t)(nl - data) : size;
	size_t bl = nl ? size - ql - 1 : 0;
	/* Exact-size copies, so ASan flags any read past them. */
	char *q = malloc(ql ? ql : 1);
	char *body = malloc(bl ? bl : 1);
	if (!q || !body)
		goto out;
	memcpy(q, data, ql);
	if (bl)
		memcpy(body, nl + 1, bl);

	long step = twreq_step(q, ql);
	if (step < -1 || step > TWREQ_STEP_MAX)
		abort();
	if (step >= 0) {
		/* The query really carries it. */
		if (!memmem(q, ql, "step=", 5))
			abort();
	}

	struct twform f;
	twform_init(&f);
	if (!twform_parse(&f, body, bl)) {
		const char *sid = twreq_sid(&f);
		if (sid) {
			size_t n = strlen(sid);
			if (!n || n > TWREQ_SID_MAX ||
			    strspn(sid, "abcdefghijklmnopqrstuvwxyz"
					"ABCDEFGHIJKLMNOPQRSTUVWXYZ"
					"0123456789_-") != n)
				abort();
		}
		struct twreq_input in;
		memset(&in, 0x55, sizeof(in));
		twreq_input_get(&in, &f);
		check_str(in.digits, sizeof(in.digits));
		check_str(in.speech, sizeof(in.speech));
		check_str(in.status, sizeof(in.status));
		if (!(in.conf >= 0.0f && in.conf <= 1.0f))
			abort();
	}
	twform_fini(&f);
out:
	free(q);
	free(body);
	return 0;
}

/* Twilio webhook request input (see twreq.h). */
#include "control/twilio/twreq.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "telephony/twilio/twform.h"

long twreq_step(const char *q, size_t len)
{
	if (!q || !len)
		return -1;
	if (q[0] == '?') {
		q++;
		len--;
	}
	struct twform f;
	twform_init(&f);
	long step = -1;
	if (!twform_parse(&f, q, len)) {
		const char *v = twform_get(&f, "step");
		size_t n = v ? strlen(v) : 0;
		/* Twilio requests our own URL back: plain digits only (no
		 * sign, space or hex that strtol would take). */
		if (n && n <= 7 && strspn(v, "0123456789") == n) {
			long s = strtol(v, NULL, 10);
			if (s <= TWREQ_STEP_MAX)
				step = s;
		}
	}
	twform_fini(&f);
	return step;
}

static bool sid_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '-';
}

const char *twreq_sid(const struct twform *f)
{
	const char *sid = f ? twform_get(f, "CallSid") : NULL;
	if (!sid)
		return NULL;
	size_t n = strnlen(sid, TWREQ_SID_MAX + 1);
	if (!n || n > TWREQ_SID_MAX)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (!sid_char(sid[i]))
			return NULL;
	return sid;
}

void twreq_input_get(struct twreq_input *in, const struct twform *f)
{
	const char *d = twform_get(f, "Digits");
	const char *s = twform_get(f, "SpeechResult");
	const char *conf = twform_get(f, "Confidence");
	const char *st = twform_get(f, "CallStatus");
	snprintf(in->digits, sizeof(in->digits), "%s", d ? d : "");
	snprintf(in->speech, sizeof(in->speech), "%s", s ? s : "");
	snprintf(in->status, sizeof(in->status), "%s", st ? st : "");
	in->conf = conf ? strtof(conf, NULL) : 0.0f;
	/* NaN fails both comparisons. */
	if (!(in->conf >= 0.0f && in->conf <= 1.0f))
		in->conf = 0.0f;
}

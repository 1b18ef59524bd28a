/* Request input of the Twilio voice webhooks (twctl.c), apart from the
 * form parser (telephony/twilio/twform.h) and the signature: the ?step= of
 * the query, the CallSid, and the caller's input (Digits, SpeechResult,
 * Confidence, CallStatus). Pure functions of their arguments, fuzzed by
 * fuzz/fuzz_twreq.c. */
#ifndef VG_CONTROL_TWILIO_TWREQ_H
#define VG_CONTROL_TWILIO_TWREQ_H
#include <stddef.h>

struct twform;

enum {
	TWREQ_SID_MAX = 64,
	TWREQ_DIGITS_MAX = 64,
	TWREQ_SPEECH_MAX = 2048,
	TWREQ_STATUS_MAX = 31,
	TWREQ_STEP_MAX = 1000000,
};

/* A webhook's caller input, each text cut at its maximum (NUL-terminated,
 * "" when absent). */
struct twreq_input {
	char digits[TWREQ_DIGITS_MAX + 1];
	char speech[TWREQ_SPEECH_MAX + 1];
	float conf; /* 0..1; absent, malformed or out of range: 0 */
	char status[TWREQ_STATUS_MAX + 1];
};

/* The step= of the query q[0..len) (a leading '?' is skipped): 0 to
 * TWREQ_STEP_MAX in plain decimal digits, else -1 (absent, malformed,
 * too large, or a query that is no form). */
long twreq_step(const char *q, size_t len);

/* The form's CallSid (borrowed from f) when it is 1 to TWREQ_SID_MAX
 * letters, digits, '_' or '-'; else NULL (it names the call in logs and
 * the store, so nothing else gets through). */
const char *twreq_sid(const struct twform *f);

/* Fill in from the form's Digits, SpeechResult, Confidence, CallStatus. */
void twreq_input_get(struct twreq_input *in, const struct twform *f);
#endif

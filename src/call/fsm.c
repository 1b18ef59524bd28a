/* Call state transitions (see fsm.h). End reasons are the strings the CDR
 * and /metrics use. */
#include "call/fsm.h"

#include <stddef.h>

const char *call_state_name(enum call_state s)
{
	static const char *const n[] = { "ringing", "answering", "active",
					 "ending", "ended" };
	return (unsigned)s < sizeof(n) / sizeof(n[0]) ? n[s] : "?";
}

const char *call_fsm_event_name(enum call_fsm_event ev)
{
	static const char *const n[] = { "answer",	  "ack",
					 "cancel",	  "remote_bye",
					 "local_hangup",  "ack_timeout",
					 "media_timeout", "transferred",
					 "closed",	  "error" };
	return (unsigned)ev < sizeof(n) / sizeof(n[0]) ? n[ev] : "?";
}

static struct call_fsm_result res(enum call_state s, enum call_fsm_action a,
				  const char *reason)
{
	struct call_fsm_result r = { s, a, reason, 0 };
	return r;
}

struct call_fsm_result call_fsm_next(enum call_state s, enum call_fsm_event ev,
				     const char *local_reason)
{
	const char *lr = local_reason ? local_reason : "hangup";
	struct call_fsm_result bad = { s, CALL_ACT_NONE, NULL, 1 };

	if (s == CALL_ENDED)
		return bad;

	switch (ev) {
	case CALL_EV_ANSWER:
		return s == CALL_RINGING
			       ? res(CALL_ANSWERING, CALL_ACT_SEND_ANSWER, NULL)
			       : bad;
	case CALL_EV_ACK:
		if (s == CALL_ANSWERING)
			return res(CALL_ACTIVE, CALL_ACT_NONE, NULL);
		return bad;
	case CALL_EV_CANCEL:
		/* A CANCEL that crosses our 200 OK has no effect (RFC 3261
		 * 9.2): the caller must BYE. */
		if (s == CALL_RINGING)
			return res(CALL_ENDED, CALL_ACT_RELEASE, "cancelled");
		return bad;
	case CALL_EV_REMOTE_BYE:
		/* BYE before ACK is legal (RFC 3261 15.1.1). */
		if (s == CALL_ENDING)
			return res(CALL_ENDED, CALL_ACT_RELEASE, NULL);
		return res(CALL_ENDED, CALL_ACT_RELEASE, "caller_hangup");
	case CALL_EV_LOCAL_HANGUP:
		if (s == CALL_RINGING)
			return res(CALL_ENDED, CALL_ACT_REJECT, lr);
		if (s == CALL_ENDING)
			return bad;
		return res(CALL_ENDING, CALL_ACT_SEND_BYE, lr);
	case CALL_EV_ACK_TIMEOUT:
		if (s == CALL_ANSWERING)
			return res(CALL_ENDED, CALL_ACT_RELEASE, "no_ack");
		return bad;
	case CALL_EV_MEDIA_TIMEOUT:
		if (s == CALL_ACTIVE || s == CALL_ANSWERING)
			return res(CALL_ENDING, CALL_ACT_SEND_BYE,
				   "media_timeout");
		return bad;
	case CALL_EV_TRANSFERRED:
		if (s == CALL_ACTIVE)
			return res(CALL_ENDING, CALL_ACT_SEND_BYE,
				   "transferred");
		return bad;
	case CALL_EV_CLOSED:
		if (s == CALL_ENDING)
			return res(CALL_ENDED, CALL_ACT_RELEASE, NULL);
		return res(CALL_ENDED, CALL_ACT_RELEASE, "error");
	case CALL_EV_ERROR:
		if (s == CALL_RINGING)
			return res(CALL_ENDED, CALL_ACT_REJECT, "error");
		return res(CALL_ENDED, CALL_ACT_SEND_BYE, "error");
	}
	return bad;
}

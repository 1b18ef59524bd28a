/* The call state machine, as a pure function so every transition can be
 * tested without sockets: (state, event) -> (state, action, end reason). */
#ifndef VG_CALL_FSM_H
#define VG_CALL_FSM_H

enum call_state {
	CALL_RINGING,	/* INVITE taken, not answered yet */
	CALL_ANSWERING, /* 200 OK sent, waiting for ACK */
	CALL_ACTIVE,	/* ACK received: media both ways */
	CALL_ENDING,	/* we sent BYE / REFER done: waiting for the stack */
	CALL_ENDED,	/* final; the CDR can be closed */
};

enum call_fsm_event {
	CALL_EV_ANSWER,	       /* we answer (200 OK) */
	CALL_EV_ACK,	       /* ACK arrived */
	CALL_EV_CANCEL,	       /* CANCEL before answer */
	CALL_EV_REMOTE_BYE,    /* BYE from the caller */
	CALL_EV_LOCAL_HANGUP,  /* flow or daemon hangs up */
	CALL_EV_ACK_TIMEOUT,   /* 200 OK retransmitted to no avail (64*T1) */
	CALL_EV_MEDIA_TIMEOUT, /* no RTP for media_timeout */
	CALL_EV_TRANSFERRED,   /* REFER accepted by the caller's UA */
	CALL_EV_CLOSED,	       /* the signalling stack released the dialog */
	CALL_EV_ERROR,	       /* transport or internal failure */
};

enum call_fsm_action {
	CALL_ACT_NONE,
	CALL_ACT_SEND_ANSWER, /* send 200 OK with SDP */
	CALL_ACT_SEND_BYE,    /* end the dialog from our side */
	CALL_ACT_REJECT,      /* answer the INVITE with a final error */
	CALL_ACT_RELEASE,     /* nothing to send: release resources */
};

struct call_fsm_result {
	enum call_state state;
	enum call_fsm_action action;
	const char *end_reason; /* set when the call ends here (static) */
	int invalid;		/* the event makes no sense in this state */
};

struct call_fsm_result call_fsm_next(enum call_state s, enum call_fsm_event ev,
				     const char *local_reason);
const char *call_state_name(enum call_state s);
const char *call_fsm_event_name(enum call_fsm_event ev);
#endif

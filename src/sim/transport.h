/* Transports of `voxgate simulate`: how a simulated caller reaches the
 * server under test. The caller (run.c: phases, turns, timing, detector,
 * noise, barge-in, load control, the shared 20 ms clock) is the same for
 * every transport; a backend (tr_<name>.c) speaks one wire protocol: SIP/RTP,
 * the platform side of Asterisk AudioSocket, Twilio Media Streams, Genesys
 * AudioHook / Audio Connector.
 *
 * Rules of the contract (method table = struct sim_transport_ops, called by
 * the caller; event functions = sim_call_*(), called by a backend):
 *
 *  1. One thread, one loop. sim_run() runs every call of a run on one libre
 *     loop, on the thread that called it. Ops and events run on that loop
 *     and never block: connect, DNS, TLS and writes are non-blocking, and
 *     a write that would block is queued (bounded) or fails the call.
 *  2. Order. open() once per run before any call, close() once after every
 *     call was freed (close may run the loop briefly, bounded, to flush
 *     goodbyes: re_main with a timer of at most 500 ms). start() once per
 *     call; free() exactly once for every call whose start() returned 0;
 *     hangup() at most once, only while the call has not ended, and always
 *     followed by free() (on a later tick or at once).
 *  3. Ownership. The caller owns struct sim_call and its result; backends
 *     get them borrowed and may use them until free() returns. A backend
 *     owns its struct sim_tr_call (allocated in start(), released in
 *     free()), and its per-run state (open()/close()).
 *  4. Exactly-once end. A backend calls sim_call_ended() at most once per
 *     call, and never after hangup() or free(). It may call it from inside
 *     one of its ops or its own I/O callbacks: the caller only marks the
 *     call; it frees it (free()) on a later tick, never inside a callback.
 *     After ended() the caller calls no op but free(). A start() that
 *     returns an error calls no event and needs no free().
 *  5. Events before the answer: only sim_call_ended() (a failed dial).
 *     sim_call_answered() once, then sim_call_heard() for every frame the
 *     caller hears, sim_call_transfer() when the server hands the call off.
 *  6. Time. The caller ticks every 20 ms from one absolute clock shared by
 *     all calls and calls send_audio() (or dtmf() during key presses) once
 *     per tick per answered call. sim_call_heard() is timed on the clock at
 *     the moment of the call: a datagram transport (RTP) calls it as
 *     packets arrive; a stream transport (TCP, WebSocket) must queue what
 *     it receives and play it out itself in real time, one 20 ms frame per
 *     tick of its own timer (or of send_audio()), from a bounded playout
 *     queue that it flushes on the protocol's "clear"; otherwise bursts of
 *     received audio would read as instant replies and stopped prompts.
 *  7. Audio is 8 kHz mono PCM16, SIM_TR_FRAME (160) samples per frame,
 *     borrowed only until the op or event returns. Backends convert to and
 *     from the wire's codec and rate.
 *  8. Results. A backend may write the fields of sim_call_res(c) that are
 *     about the wire: sip_call_id (the call reference the server records:
 *     the CDR's sip_call_id, used to join the CDR), sip_status, rtp_rx and
 *     rtp_tx (packets / frames / messages of audio). The caller writes the
 *     rest. sim_call_fail() records a failure reason (the first one wins)
 *     without ending the call; sim_call_record() hands over the call's
 *     record when the wire carried it (no CDR to fetch).
 *  9. Errors are negative errno; messages in results are plain text
 *     without secrets (params may hold keys: never print their values).
 */
#ifndef VG_SIM_TRANSPORT_H
#define VG_SIM_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sim_opts;
struct sim_scenario;
struct sim_call;	/* the caller (run.c), borrowed by backends */
struct sim_call_result; /* sim_int.h */
struct cJSON;
struct sim_tr_call; /* a backend's per-call state, opaque */

#define SIM_TR_FRAME 160u /* samples of one 20 ms frame at 8 kHz */
#define SIM_TR_TICK_US 20000u
#define SIM_TR_KEY_MS 100u /* how long a key is held (RFC 4733 duration) */

struct sim_transport_ops {
	/* The scenario's transport: value. */
	const char *name;
	/* An example target for messages: "tcp://127.0.0.1:9092". */
	const char *target_example;
	/* Known params: keys, NULL-terminated; an entry that ends in '*' is a
	 * prefix ("custom.*" takes "custom.anything"). NULL: no params. */
	const char *const *params;
	/* 0 when target (already checked to be a string) fits this
	 * transport, else -EINVAL with a reason in why[cap] (no position:
	 * the scenario reader adds it). Pure; any thread. */
	int (*target_check)(const char *target, char *why, size_t cap);
	/* The wire never shows a transfer (sim_call_transfer is never
	 * called): the scenario reader refuses expect.transfer other than
	 * none, which could never be met. */
	bool no_transfer;
	/* Checks of params: beyond known keys (values, keys that need each
	 * other). 0, or -EINVAL with *key set to the params: key at fault
	 * (borrowed from sc) and a reason in why[cap]. Pure. Optional. */
	int (*params_check)(const struct sim_scenario *sc, const char **key,
			    char *why, size_t cap);

	/* Once per run, before any call (see rule 2): shared sockets, a UA.
	 * *statep gets the backend's state (may stay NULL). o->bind is the
	 * local address. Optional (NULL: nothing to open). */
	int (*open)(void **statep, const struct sim_opts *o,
		    const struct sim_scenario *sc);
	/* After every call was freed. NULL state is a no-op. Optional. */
	void (*close)(void *state);

	/* Dial one call: sc->target with sc->params. idx is the call's
	 * number in the run (deterministic ids: seed and idx). Returns 0 and
	 * sets *tp, then reports the answer or the end through events; or
	 * -errno without any event and without setting *tp. */
	int (*start)(struct sim_tr_call **tp, void *state, struct sim_call *c,
		     const struct sim_scenario *sc, uint64_t idx);
	/* 20 ms of caller audio, pcm[SIM_TR_FRAME]; voiced marks speech
	 * (an RTP marker on its first frame). Once per tick after the
	 * answer, except the ticks given to dtmf(). Never fails: a backend
	 * that cannot send ends the call (sim_call_ended). */
	void (*send_audio)(struct sim_tr_call *t, const int16_t *pcm,
			   bool voiced);
	/* Key presses, one tick at a time, instead of send_audio(): key
	 * ('0'-'9', '*', '#', 'A'-'D') on every tick of a key, first set on
	 * its first tick; key '\0' on the gap ticks between keys (send
	 * silence or nothing). Returns 1 when the key is over (its last
	 * packet or message is out: the caller starts the gap), 0 to be
	 * called again on the next tick, or -ENOTSUP when this call cannot
	 * carry keys (set the reason with sim_call_fail first): the caller
	 * then hangs up. A backend with one message per key sends it on the
	 * first tick and returns 1 after SIM_TR_KEY_MS worth of ticks. */
	int (*dtmf)(struct sim_tr_call *t, char key, bool first);
	/* The caller ends the call (its last turn is done, max_duration,
	 * --duration, interrupted): send the protocol's goodbye (BYE,
	 * hangup frame, stop message) now or in free(). Optional. */
	void (*hangup)(struct sim_tr_call *t);
	/* Release t (close sockets; a call still up is torn down). Called
	 * exactly once per started call, never inside the backend's own
	 * callbacks (the caller defers it to its tick). */
	void (*free)(struct sim_tr_call *t);
};

/* The backend of a transport: value, or NULL. Borrowed, static. */
const struct sim_transport_ops *sim_transport_find(const char *name);

/* "sip, audiosocket, ..." into buf[cap] for messages. */
void sim_transport_names(char *buf, size_t cap);

/* True when key is one of ops->params (prefix entries match). */
bool sim_transport_param_known(const struct sim_transport_ops *ops,
			       const char *key);

/* Split "scheme://host[:port][/path]" (IPv6 hosts in brackets) with the
 * given scheme; host gets the host without brackets, *port the port or
 * default_port (0: a port is required), path the path from its '/' (""
 * when none). Returns 0 or -EINVAL. Pure; shared by the backends'
 * target_check and start. */
int sim_target_split(const char *target, const char *scheme, char *host,
		     size_t host_cap, uint16_t *port, uint16_t default_port,
		     char *path, size_t path_cap);

/* ---- events: backends call these on the loop (rules 4-6) ---- */

/* The call is up: the SIP 200, the TCP connection with the session
 * started, the WebSocket "start"/"open" acknowledged. Sets setup_ms from
 * start() to now. */
void sim_call_answered(struct sim_call *c);

/* The caller hears pcm[n] (8 kHz; normally one 20 ms frame) now. */
void sim_call_heard(struct sim_call *c, const int16_t *pcm, size_t n);

/* The server transfers the call to target (REFER-To, a transfer message);
 * the caller stops its turns and waits for the server to end the call
 * (then hangs up itself after 3 s). */
void sim_call_transfer(struct sim_call *c, const char *target);

/* The call is over. by_server: the server ended an answered call the
 * normal way (BYE, hangup frame, close); reason: why the call failed
 * (rejected, refused, protocol error, error frame) or NULL. The caller
 * judges a by_server end during a turn as a failure itself. */
void sim_call_ended(struct sim_call *c, bool by_server, const char *reason);

/* Record a failure reason (printf format; the first one wins) without
 * ending the call. */
void sim_call_fail(struct sim_call *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The server's record of the call came over the wire itself (a transport
 * whose server keeps no CDR to fetch, e.g. the AudioHook monitor: the
 * backend builds it from the events it received). Takes rec (a cJSON
 * object in the CDR's shape, docs/API.md); the first record wins, a later
 * one is freed. The report then joins this record instead of fetching
 * /v1/calls/{id}. */
void sim_call_record(struct sim_call *c, struct cJSON *rec);

/* The call's result, for the wire fields of rule 8. Borrowed. */
struct sim_call_result *sim_call_res(struct sim_call *c);

/* The backends (tr_*.c). */
extern const struct sim_transport_ops sim_tr_sip;
extern const struct sim_transport_ops sim_tr_audiosocket;
extern const struct sim_transport_ops sim_tr_twilio_media;   /* tr_twilio.c */
extern const struct sim_transport_ops sim_tr_audioconnector; /* tr_genesys.c */
extern const struct sim_transport_ops sim_tr_audiohook;	     /* tr_genesys.c */

#endif

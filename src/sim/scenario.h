/* `voxgate simulate` scenario files: what a simulated caller dials, says,
 * keys and expects. Strict YAML (config/ydoc.h): unknown keys and bad
 * values are errors with file:line:col. Format: docs/SIMULATOR.md. */
#ifndef VG_SIM_SCENARIO_H
#define VG_SIM_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIM_VARIANTS_MAX 16 /* phrasings of one say: turn */
#define SIM_WORDS_MAX 16    /* entries of one says: / nodes: list */
#define SIM_TURNS_MAX 64
#define SIM_DTMF_MAX 32
#define SIM_NAME_MAX 128
#define SIM_URI_MAX 256
#define SIM_ERR_MAX 512
#define SIM_PARAMS_MAX 32	 /* entries of params: */
#define SIM_PARAM_KEY_MAX 64	 /* bytes of a params: key, with NUL */
#define SIM_PARAM_VALUE_MAX 1024 /* bytes of a params: value, with NUL */

struct sim_transport_ops;

enum sim_turn_kind {
	SIM_TURN_SAY,	  /* synthesized text */
	SIM_TURN_WAV,	  /* a WAV file */
	SIM_TURN_DTMF,	  /* RFC 4733 key presses */
	SIM_TURN_SILENCE, /* say nothing for a while */
};

/* What must hold; empty strings and zero counts are "not checked". */
struct sim_expect {
	char intent[SIM_NAME_MAX];     /* turn: the CDR turn's intent */
	char next[SIM_NAME_MAX];       /* turn: the node the flow chose */
	char transfer[SIM_URI_MAX];    /* call: in the REFER target; "none" */
	char end_reason[SIM_NAME_MAX]; /* call: the CDR end_reason */
	char *says[SIM_WORDS_MAX];     /* words the bot must say (owned) */
	size_t nsays;
	char *nodes[SIM_WORDS_MAX]; /* call: nodes the flow must visit */
	size_t nnodes;
	int reply; /* turn: 1 a reply must be heard, 0 none, -1 default */
};

struct sim_turn {
	enum sim_turn_kind kind;
	char *texts[SIM_VARIANTS_MAX]; /* say: phrasings (owned) */
	size_t ntexts;
	char *wav; /* wav: path, relative to the scenario file (owned) */
	char dtmf[SIM_DTMF_MAX + 1];
	unsigned silence_ms;
	int barge_in_ms; /* speak this long after the prompt starts; -1 off */
	struct sim_expect expect;
	unsigned line, col; /* position of the turn, for reports */
};

/* One params: entry: a transport setting (an API key, a custom parameter).
 * Values may be secrets: never print them. */
struct sim_param {
	char key[SIM_PARAM_KEY_MAX];
	char *value; /* owned, may be "" */
};

struct sim_scenario {
	char *file; /* path given to sim_scenario_load (owned) */
	char name[SIM_NAME_MAX];
	/* transport: (default sip); never NULL after a parse. Static. */
	const struct sim_transport_ops *transport;
	char target[SIM_URI_MAX]; /* in the transport's form */
	struct sim_param params[SIM_PARAMS_MAX];
	size_t nparams;
	char from[SIM_NAME_MAX];  /* caller number: the From user */
	char voice[SIM_NAME_MAX]; /* caller TTS voice */
	uint32_t seed;
	unsigned quiet_ms;	   /* bot silence that ends a prompt */
	unsigned reply_timeout_ms; /* no reply after this: a failed turn */
	unsigned max_duration_ms;  /* whole call */
	unsigned end_silence_ms;   /* after the last turn: hang up */
	bool noise;		   /* variation.noise_db given */
	double noise_db;	   /* white noise level, dBFS */
	double rate;		   /* speaking rate, 1.0 = as synthesized */
	struct sim_turn turns[SIM_TURNS_MAX];
	size_t nturns;
	struct sim_expect expect; /* per call */
};

/* Parse a scenario from buf[0..len); name labels messages (and relative
 * wav: paths resolve against its directory). On success *scp gets a new
 * scenario (sim_scenario_destroy). On failure *scp is untouched and err
 * holds "name:line:col: message". Returns 0, -EBADMSG (syntax or a
 * validation error), -E2BIG, -ENOMEM, -EINVAL. Any thread. */
int sim_scenario_parse(const char *name, const char *buf, size_t len,
		       struct sim_scenario **scp, char err[SIM_ERR_MAX]);

/* Read and parse a file: sim_scenario_parse plus -errno of reading. */
int sim_scenario_load(const char *path, struct sim_scenario **scp,
		      char err[SIM_ERR_MAX]);

/* NULL is a no-op. */
void sim_scenario_destroy(struct sim_scenario *sc);

/* The phrasing of a say: turn that call number call_idx uses: picked
 * deterministically from (seed, call_idx, turn index). Borrowed. */
const char *sim_scenario_text(const struct sim_scenario *sc, size_t turn,
			      uint64_t call_idx);

/* The value of params: key, or NULL. Borrowed. */
const char *sim_scenario_param(const struct sim_scenario *sc, const char *key);

/* True when the target's host is a loopback address (127.0.0.0/8, ::1,
 * localhost): sip: URIs and scheme://host[:port][/path] forms. */
bool sim_uri_is_loopback(const char *uri);

/* "1500ms", "2s", "1.5s" or a plain number of ms: 0 or -EINVAL. */
int sim_duration_parse(const char *s, unsigned *ms);

#endif

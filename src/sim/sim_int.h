/* Internals of `voxgate simulate` shared by its files: the run options,
 * per-call results, the SIP/RTP runner and the report. */
#ifndef VG_SIM_SIM_INT_H
#define VG_SIM_SIM_INT_H

#include "sim/scenario.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct audio_clip;
struct cJSON;

#define SIM_CALLS_MAX 100000u
#define SIM_CONCURRENCY_MAX 2000u
#define SIM_REASON_MAX 256

struct sim_opts {
	const char *scenario;
	unsigned calls;
	unsigned concurrency;
	double rate;	      /* new calls per second; 0 = as fast as allowed */
	unsigned duration_ms; /* stop starting calls after this; 0 none */
	const char *api;      /* voxgate REST base URL or NULL */
	const char *bind;     /* local IP, default 127.0.0.1 */
	bool allow_remote;
	bool json;
	bool progress; /* progress line even when stderr is no terminal */
	bool quiet;
};

/* Audio of each turn's phrasings, prepared before the run (8 kHz). */
struct sim_audio {
	struct audio_clip *clips[SIM_TURNS_MAX][SIM_VARIANTS_MAX];
	size_t eos_samples[SIM_TURNS_MAX][SIM_VARIANTS_MAX];
};

struct sim_turn_result {
	bool ran;
	int variant;	      /* phrasing used, -1 none */
	bool replied;	      /* reply audio heard after the caller stopped */
	double latency_ms;    /* caller end of speech / keys -> first reply */
	bool overlap;	      /* the bot spoke while the caller did */
	bool barged;	      /* the caller started while the bot talked */
	double barge_stop_ms; /* caller onset -> prompt audio stopped; <0 */
};

struct sim_call_result {
	uint64_t idx;
	char sip_call_id[256];
	bool answered;
	double setup_ms; /* INVITE -> 200 */
	int sip_status;	 /* final status of a failed INVITE, else 0 */
	char refer_to[SIM_URI_MAX];
	bool server_bye, caller_bye;
	bool failed; /* the call itself (not an expectation) failed */
	char reason[SIM_REASON_MAX];
	struct sim_turn_result turns[SIM_TURNS_MAX];
	size_t nturns;
	double duration_ms;
	uint64_t rtp_rx, rtp_tx; /* packets */
	/* Filled by the report. */
	struct cJSON *cdr; /* GET /v1/calls/{id}, or NULL */
	char *expect_fail; /* malloc'd "; "-joined list, or NULL */
	int intents_checked, intents_ok;
};

/* Run opts->calls calls of sc on one libre loop (calls libre_init).
 * res[0..opts->calls) gets the results. Returns 0 or -errno when the run
 * could not start (SIP/RTP sockets). */
int sim_run(const struct sim_opts *opts, const struct sim_scenario *sc,
	    const struct sim_audio *audio, struct sim_call_result *res,
	    size_t *nres);

/* Fetch the CDRs of the calls (opts->api) and check every expectation.
 * Returns the number of calls that failed (call or expectation). */
size_t sim_report_check(const struct sim_opts *opts,
			const struct sim_scenario *sc,
			struct sim_call_result *res, size_t n);

/* Print the text table (or JSON with opts->json) to f. */
void sim_report_print(const struct sim_opts *opts,
		      const struct sim_scenario *sc,
		      const struct sim_call_result *res, size_t n,
		      double wall_ms, void *f);

#endif

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
#define SIM_SWEEP_MAX 32
#define SIM_KEYS_MAX 16 /* distinct transfer targets / end reasons counted */

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
	const char *html; /* --html: write the HTML report here, or NULL */
	/* --sweep: one load stage per level (concurrency = level, calls =
	 * max(level, calls)); nsweep 0 = a single run */
	unsigned sweep[SIM_SWEEP_MAX];
	size_t nsweep;
	double sweep_p95_ms; /* --sweep-p95 */
	/* --sweep-spread: each level's calls (2 x level) start evenly over
	 * this many seconds (rate level / spread), a steady load instead of
	 * every caller at once; 0 = all at once */
	double sweep_spread_s;
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
	/* the bot's quiet time at the caller's onset: 0 the caller spoke
	 * over a voiced frame, > 0 into a pause; <0 not barged */
	double barge_gap_ms;
	unsigned active; /* calls up in this run when the turn started */
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

/* ---------- figures: computed once, printed as text, JSON, HTML ---------- */

/* Percentiles of one figure (nearest rank); NAN in all but n when n is 0. */
struct sim_pct {
	size_t n;
	double p50, p95, p99, max;
};

enum sim_stage {
	SIM_ST_STT,
	SIM_ST_NLU,
	SIM_ST_BUSINESS,
	SIM_ST_TTS,
	SIM_ST_SEND,
	SIM_ST_SERVER,
	SIM_ST_N,
};
/* "stt", "nlu", "business", "tts", "send", "server_total" */
extern const char *const sim_stage_names[SIM_ST_N];

/* How often a key (transfer target, CDR end_reason) occurred. */
struct sim_count {
	char key[SIM_URI_MAX];
	size_t n;
};

/* One level of a --sweep. */
struct sim_sweep_point {
	unsigned concurrency;
	size_t calls, failed;
	struct sim_pct turn;
	struct sim_pct stage[SIM_ST_N];
	double wall_ms;
	/* calls up when a turn started: median and highest over the turns
	 * that ran (what the level really loaded) */
	double active_p50;
	unsigned active_max;
};

struct sim_figures {
	const char *scenario, *target; /* borrowed from the scenario */
	unsigned concurrency;
	double wall_ms;
	long long generated_s; /* unix time the report is made (header) */
	size_t calls, answered, failed, transferred, turns, replied;
	int intents_checked, intents_ok;
	double intent_accuracy, containment; /* shares 0..1; NAN when none */
	struct sim_pct turn, speech, dtmf, barge, setup;
	struct sim_pct stage[SIM_ST_N];
	double *turn_ms; /* every replied turn's latency, sorted (owned) */
	size_t nturn_ms;
	/* transfers by REFER target; CDR end_reason per call ("(no CDR)",
	 * "(not answered)"); more than SIM_KEYS_MAX - 1 keys: "(other)" */
	struct sim_count transfers[SIM_KEYS_MAX], end_reasons[SIM_KEYS_MAX];
	size_t ntransfers, nend_reasons;
	const struct sim_call_result *res; /* borrowed: calls, failures */
	size_t nres;
	/* --sweep (nsweep 0: a single run); set by the caller */
	const struct sim_sweep_point *sweep; /* borrowed */
	size_t nsweep;
	double sweep_p95_ms;
	long sweep_max_concurrency; /* -1: no level met the goal */
	bool sweep_stopped;	    /* stopped early (> half failed) */
};

/* Compute every figure of res[0..n) (sc: the kinds of the turns) into *f
 * (caller storage; sim_figures_fini). f borrows sc and res. Returns 0 or
 * -ENOMEM. Any thread. */
int sim_figures_compute(const struct sim_scenario *sc,
			const struct sim_call_result *res, size_t n,
			unsigned concurrency, double wall_ms,
			struct sim_figures *f);

void sim_figures_fini(struct sim_figures *f);

/* The figures of one sweep level, from that level's figures. */
void sim_sweep_point_set(struct sim_sweep_point *p, unsigned concurrency,
			 const struct sim_figures *f);

/* The highest level whose p95 turn latency is <= p95_ms with no failed
 * call, or -1. */
long sim_sweep_best(const struct sim_sweep_point *p, size_t n, double p95_ms);

/* Why call r failed ("" when it did not): buf gets the call's reason and
 * its failed expectations, "; "-joined, truncated to cap. */
void sim_call_reason(const struct sim_call_result *r, char *buf, size_t cap);

/* Print the text table (or JSON with opts->json) of f to out (a FILE *). */
void sim_report_print(const struct sim_opts *opts, const struct sim_figures *f,
		      void *out);

#endif

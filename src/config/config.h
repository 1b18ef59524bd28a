/* Daemon configuration: defaults, strict loading of voxgate.yaml with every
 * error reported as "file:line:col: message", and printing the effective
 * configuration back as YAML (voxgate check-config). See docs/CONFIG.md. */
#ifndef VG_CONFIG_CONFIG_H
#define VG_CONFIG_CONFIG_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/log.h"

#define CONFIG_LISTEN_MAX 8
#define CONFIG_CODECS_MAX 2
#define CONFIG_ROUTES_MAX 10000
#define CONFIG_QUEUES_MAX 32 /* transfer.queues */
#define CONFIG_HOST_LEN 46   /* INET6_ADDRSTRLEN: textual IPv4/IPv6 + NUL */
#define CONFIG_NAME_LEN 64   /* flow names and route numbers, with NUL */
#define CONFIG_STR_LEN 256   /* user agent, SIP URI, with NUL */
#define CONFIG_PATH_LEN 1024 /* file and directory paths, with NUL */
#define CONFIG_ERRORS_MAX 64 /* messages kept; the rest are only counted */
#define CONFIG_ERROR_LEN 512 /* one message, with NUL */
/* stt.partial_every's default (ms): docs/BENCHMARKS.md, "Partial
 * transcripts" */
#define CONFIG_STT_PARTIAL_EVERY_MS 500u
/* stt.degrade_after's default (ms): docs/BENCHMARKS.md, "PocketSphinx LM
 * mode under load" */
#define CONFIG_STT_DEGRADE_MS 300u
/* stt.continue_window's default (ms): docs/BENCHMARKS.md, "Continued
 * turns" */
#define CONFIG_STT_CONTINUE_MS 250u

/* connect.functions: Lambda-style functions (docs/CONNECT.md). */
#define CONFIG_CONNECT_FUNCS_MAX 16
#define CONFIG_CONNECT_INTENTS_MAX 32
enum config_connect_fn_type {
	CONFIG_CONNECT_CRM_LOOKUP,
	CONFIG_CONNECT_CLASSIFY,
	CONFIG_CONNECT_FLOW,
	CONFIG_CONNECT_HTTP,
};
struct config_connect_fn {
	char name[CONFIG_NAME_LEN]; /* /connect/lambda/{name} */
	enum config_connect_fn_type type;
	bool json;		     /* response: json (else string_map) */
	char param[CONFIG_NAME_LEN]; /* Parameters key read; "" default */
	char flow[CONFIG_NAME_LEN];  /* flow: "" = connect.flow */
	char model[CONFIG_NAME_LEN]; /* classify: "" = connect.model */
	char url[CONFIG_STR_LEN];    /* http */
	char method[8];		     /* http: GET or POST */
};
/* connect.lex_intents: what the Lex code hook needs per intent. */
struct config_connect_intent {
	char intent[CONFIG_NAME_LEN];
	char slots[CONFIG_STR_LEN]; /* "name[:entity],..." required */
	bool confirm;
	char prompt[CONFIG_STR_LEN]; /* message on Close */
};

enum config_transport { CONFIG_TRANSPORT_UDP, CONFIG_TRANSPORT_TCP };
enum config_codec { CONFIG_CODEC_PCMU, CONFIG_CODEC_PCMA };
enum config_voice { CONFIG_VOICE_KAL, CONFIG_VOICE_SLT };

/* Where a value came from: 1-based line and column in the source file, or
 * 0/0 when it is a default. */
struct config_pos {
	unsigned line;
	unsigned col;
};

/* An IP address (no brackets, even for IPv6) and a port (1..65535). */
struct config_addr {
	char host[CONFIG_HOST_LEN];
	uint16_t port;
};

struct config_listen {
	enum config_transport transport;
	struct config_addr addr;
};

/* One entry of flows.routes. number is the request-URI user part without
 * the trailing '*'; prefix is set when the file wrote "800*". */
struct config_route {
	char number[CONFIG_NAME_LEN];
	bool prefix;
	char flow[CONFIG_NAME_LEN];
	struct config_pos number_pos;
	struct config_pos flow_pos; /* for "unknown flow" from the daemon */
};

/* Every daemon setting, in plain fields with units in the names. Strings
 * are fixed arrays (their length is a hard cap); the route table is the
 * only heap memory and is released by config_free(). */
struct vg_config {
	char source[CONFIG_PATH_LEN]; /* file name for messages; "" = defaults
				       */

	struct {
		struct config_listen listen[CONFIG_LISTEN_MAX];
		unsigned nlisten;
		char user_agent[CONFIG_STR_LEN];
		uint32_t answer_delay_ms;
		char agent_uri[CONFIG_STR_LEN]; /* "" = none */
	} sip;

	struct {
		char address[CONFIG_HOST_LEN]; /* advertised in SDP */
		uint16_t port_min;	       /* even, < port_max */
		uint16_t port_max;
		enum config_codec
			codecs[CONFIG_CODECS_MAX]; /* preference order */
		unsigned ncodecs;
		uint8_t telephone_event_pt;
		uint32_t jitter_min_ms;
		uint32_t jitter_max_ms;
		uint32_t media_timeout_ms; /* 0 = never time out */
		uint32_t rtcp_interval_ms; /* 0 = no RTCP reports */
	} rtp;

	struct {
		struct config_addr listen;
	} http;

	struct {
		uint32_t max_calls;
		uint32_t worker_threads;
		uint32_t worker_queue;
		uint32_t media_rt_priority; /* 0 = normal scheduling */
	} limits;

	struct {
		char path[CONFIG_PATH_LEN];
		bool crm_demo; /* seed the CRM with the demo bank's customers
				  when it is empty; default false */
	} store;
	/* Outgoing HTTP for flows' http nodes (curl multi on the web loop). */
	struct {
		uint32_t max_host_connections;	/* per host; 8 */
		uint32_t max_total_connections; /* 64 */
		uint32_t max_queued;		/* requests waiting; 1000 */
		uint32_t breaker_failures;	/* consecutive, to open; 5 */
		uint32_t breaker_cooldown_ms;	/* fail fast this long; 30000 */
		uint32_t max_response_bytes;	/* 1 MiB */
	} http_client;
	/* Call events posted to these URLs, HMAC-SHA256 signed. */
#define CONFIG_WEBHOOKS_MAX 4

	struct {
		char urls[CONFIG_WEBHOOKS_MAX][CONFIG_STR_LEN];
		unsigned nurls;
		char secret[CONFIG_STR_LEN]; /* required when nurls > 0 */
		char events[CONFIG_STR_LEN]; /* "started,intent,transferred,
						ended" (default: all) */
		uint32_t timeout_ms;	     /* 5000 */
		uint32_t retries;	     /* 2 */
	} webhooks;
	struct {
		/* NLU model files for classify "model:" (<name>.vxn); "" =
		 * the built-in models dir (default.vxn: BANKING77). */
		char models_dir[CONFIG_PATH_LEN];
	} nlu;
	struct {
		char dir[CONFIG_PATH_LEN]; /* call recordings; "" = off */
	} recordings;
	/* Asterisk adapters ([5/7]): FastAGI (control) and AudioSocket
	 * (media). docs/ASTERISK.md. */
	struct {
		bool agi_enabled;		       /* default false */
		struct config_addr agi_listen;	       /* 127.0.0.1:4573 */
		bool audiosocket_enabled;	       /* default false */
		struct config_addr audiosocket_listen; /* 127.0.0.1:9092 */
		/* Where voxgate writes TTS prompts as 8 kHz WAV for STREAM
		 * FILE, and where Asterisk's RECORD FILE writes the caller's
		 * speech: a directory both can read and write. */
		char sounds_dir[CONFIG_PATH_LEN];
		char default_flow[CONFIG_NAME_LEN]; /* "" = flows.default */
		/* Transfers over FastAGI ([6/7]): Dial() strings with one
		 * "%s" (sip: the whole URI, tel: the number; "" = the
		 * built-in "PJSIP/voxgate/%s", "Local/%s@voxgate-transfer")
		 * and the application for an unmapped queue:NAME ("Queue"). */
		char dial_sip[CONFIG_NAME_LEN];
		char dial_tel[CONFIG_NAME_LEN];
		char queue_app[CONFIG_NAME_LEN];
	} asterisk;
	/* Twilio adapters ([5/7]): webhooks + TwiML (control) and Media
	 * Streams (media). docs/TWILIO.md. */
	struct {
		bool enabled;			 /* default false */
		char auth_token[CONFIG_STR_LEN]; /* required when enabled */
		char public_url[CONFIG_STR_LEN]; /* "https://vg.example.com" */
		char voice[CONFIG_NAME_LEN]; /* <Say voice>, "Polly.Joanna" */
		char language[16];	     /* "en-US" */
		bool media_enabled;	     /* Media Streams listener */
		/* Answer /twilio/voice with <Connect><Stream>: voxgate runs
		 * the whole pipeline over Media Streams (needs
		 * media_enabled); false: TwiML control (<Say>/<Gather>). */
		bool media_calls;
		struct config_addr media_listen; /* 127.0.0.1:8081 */
		/* A back-end step (http, lookup) of a webhook call: waited
		 * for at most backend_timeout_ms in all (10 s), the webhook
		 * answered with <Pause>+<Redirect> after backend_wait_ms
		 * (4 s), at most redirects_max times (8). */
		uint32_t backend_timeout_ms, backend_wait_ms, redirects_max;
	} twilio;
	/* Amazon Connect ([6/7]): Lambda-style functions and the Lex V2 code
	 * hook on the REST API port. docs/CONNECT.md. */
	struct {
		bool enabled;			 /* default false */
		char api_key[CONFIG_STR_LEN];	 /* X-Api-Key; required */
		char secret[CONFIG_STR_LEN];	 /* HMAC key; required */
		uint64_t max_body_bytes;	 /* 64 KB; more: 413 */
		uint32_t timeout_ms;		 /* back-end hold; 5 s */
		char flow[CONFIG_NAME_LEN];	 /* "" = route SystemEndpoint */
		char model[CONFIG_NAME_LEN];	 /* classify model; "default" */
		char lex_model[CONFIG_NAME_LEN]; /* "" = model */
		float lex_min_confidence;	 /* 0.6 */
		struct config_connect_fn functions[CONFIG_CONNECT_FUNCS_MAX];
		unsigned nfunctions;
		struct config_connect_intent
			intents[CONFIG_CONNECT_INTENTS_MAX];
		unsigned nintents; /* lex_intents */
	} connect;

	/* Genesys Bot Connector (text bots) and the Audio Connector bot
	 * ([6/7]): flows as Genesys bots. docs/GENESYS.md. */
	struct {
		bool enabled;		      /* default false */
		char api_key[CONFIG_STR_LEN]; /* required when enabled */
		char api_key_header[CONFIG_NAME_LEN]; /* "X-API-KEY" */
		char bots[CONFIG_STR_LEN];   /* "a,b" flows; "" = every flow */
		char language[16];	     /* supportedLanguages, "en-us" */
		uint32_t session_timeout_ms; /* when Genesys sends none; 30m */
		/* Audio Connector bot: the flow when open names none; "" =
		 * flows.default. */
		char audio_flow[CONFIG_NAME_LEN];
	} genesys_bot;

	/* Genesys AudioHook monitor ([6/7]): the WebSocket listener for
	 * /genesys/audiohook (and the Audio Connector's
	 * /genesys/audioconnector), transcripts and agent assist.
	 * docs/GENESYS.md. */
	struct {
		bool enabled;			    /* default false */
		struct config_addr listen;	    /* 127.0.0.1:8082 */
		char api_key[CONFIG_STR_LEN];	    /* X-API-KEY; required */
		char client_secret[CONFIG_STR_LEN]; /* base64; required */
		bool require_signature;		    /* default true */
		uint32_t signature_max_age_ms;	    /* 5 min */
		uint32_t idle_timeout_ms;	    /* 60 s */
		char knowledge[CONFIG_PATH_LEN];    /* "" = no suggestions */
		char model[CONFIG_NAME_LEN];	    /* NLU model; "default" */
		float min_confidence;		    /* intent shown from; 0.5 */
		char language[16];		    /* transcripts; "en-US" */
		bool partials; /* isFinal:false transcripts; default true */
	} genesys;

	/* Transfer targets ([6/7]): "transfer: queue:NAME" resolved to a
	 * SIP or tel URI on every adapter (docs/FLOWS.md, CONFIG.md). */
	struct {
		struct config_queue {
			char name[CONFIG_NAME_LEN];
			char uri[CONFIG_STR_LEN]; /* sip:, sips: or tel: */
		} queues[CONFIG_QUEUES_MAX];
		unsigned nqueues;
	} transfer;

	struct {
		char dir[CONFIG_PATH_LEN]; /* "" = built-in flows only */
		char default_flow[CONFIG_NAME_LEN];
		struct config_pos default_pos;
		struct config_route *routes; /* owned, nroutes entries */
		size_t nroutes;
	} flows;

	struct {
		enum config_voice voice;
		uint64_t cache_size_bytes;	 /* 0 = no cache */
		char cache_dir[CONFIG_PATH_LEN]; /* on-disk cache; "" = off */
	} tts;

	struct {
		/* Engines to open, default chain order, comma-separated:
		 * "moonshine,pocketsphinx". */
		char engines[CONFIG_STR_LEN];
		uint32_t deadline_ms; /* per turn, then fallback */
		uint32_t early_ms; /* early decode after this pause (0 off) */
		/* a turn whose caller speaks again within this much of its
		 * end continues (joined, the reply stopped; 0 off; default
		 * CONFIG_STT_CONTINUE_MS) */
		uint32_t continue_ms;
		/* calls stream a gather's speech to an engine that streams
		 * (and to any when "partial" webhooks are wanted); default
		 * true, docs/BENCHMARKS.md "Streaming in calls" */
		bool stream;
		/* emulated partials of engines that cannot stream: a
		 * re-decode per this much new audio at most (0 off; default
		 * CONFIG_STT_PARTIAL_EVERY_MS) */
		uint32_t partial_every_ms;
		char models_dir[CONFIG_PATH_LEN]; /* "" = the built-in deps dir
						   */
		uint32_t threads;		  /* per Moonshine decode */
		uint32_t decoders; /* PocketSphinx decoder pool */
		/* Moonshine with a step's domain LM: beam width, LM weight,
		 * per-word bonus (shallow fusion) */
		uint32_t lm_beam;
		float lm_weight, lm_word_bonus, lm_prune;
		/* Moonshine on open steps without one: beam width (1:
		 * greedy) and pruning margin; open_beam 0 (the default): the
		 * engine's measured width and margin, open_prune unused */
		uint32_t open_beam;
		float open_prune;
		/* decodes that waited degrade_ms (default
		 * CONFIG_STT_DEGRADE_MS) in the worker queue run degraded
		 * (PocketSphinx LM: fast decoders; Moonshine open speech:
		 * greedy) */
		bool degrade;
		uint32_t degrade_ms;
	} stt;

	struct {
		enum log_level level;
		enum log_format format;
	} log;

	struct {
		uint32_t drain_timeout_ms;
		uint32_t retry_after_ms; /* sent rounded up to whole seconds */
	} shutdown;
};

/* Error messages of one load, in file order (cross-field checks last). */
struct config_errors {
	unsigned count;	  /* messages in msg[] */
	unsigned dropped; /* further errors beyond CONFIG_ERRORS_MAX */
	char msg[CONFIG_ERRORS_MAX][CONFIG_ERROR_LEN];
};

/* Fill cfg with the built-in defaults (see docs/CONFIG.md). Owns nothing
 * afterwards; config_free() on it is harmless. */
void config_defaults(struct vg_config *cfg);

/* Parse and validate YAML in buf[0..len): defaults for every absent key,
 * every problem collected into errs (may be NULL) as "name:line:col: msg".
 * *cfg is not read; on success it is overwritten with the result (release
 * it with config_free); on failure it is left untouched. Any thread.
 * Returns 0, -EINVAL (errs lists why), or -ENOMEM. */
int config_load_buf(const char *name, const char *buf, size_t len,
		    struct vg_config *cfg, struct config_errors *errs);

/* As config_load_buf for the contents of the file at path (used as name).
 * Returns also -errno when the file cannot be read, -EFBIG when it is
 * larger than the YAML document limit (errs says so in both cases). */
int config_load_file(const char *path, struct vg_config *cfg,
		     struct config_errors *errs);

/* Release what cfg owns (the route table) and leave it with no routes.
 * NULL is a no-op. */
void config_free(struct vg_config *cfg);

/* Write the effective configuration to f as YAML that loads back to the
 * same values. Returns 0 or -EIO. */
int config_print(const struct vg_config *cfg, FILE *f);

/* Write each message on its own line, then "... and N more errors" when
 * some were dropped. */
void config_errors_print(const struct config_errors *errs, FILE *f);

/* The route for a request-URI user part: an exact number wins, then the
 * longest prefix; NULL means use flows.default_flow. Borrowed from cfg. */
const struct config_route *config_route_find(const struct vg_config *cfg,
					     const char *number);
#endif

/* The part of the sherpa-onnx 1.13.4 C API (libsherpa-onnx-c-api.so) that
 * voxgate calls, declared by us from the library's public documentation and
 * resolved with dlsym() at run time (sherpa.c). Only sherpa.c and its test
 * include it.
 *
 * The config structs are passed by pointer to a library built from another
 * header, so their layout must match version 1.13.4 EXACTLY: every engine
 * config nested in the offline model config is present, in the library's
 * order, even the ones we never set (a missing or extra field shifts every
 * later field: silent corruption). Plain C with natural alignment, no
 * packing, no padding of our own.
 *
 * How the layout was verified (2026-11-24, sherpa-onnx-linux-x64@1.13.4,
 * whose strings show which engine configs it knows: e.g. cohere_transcribe
 * and qwen3_asr, but no Qwen3 forced-aligner fields):
 * tests/unit/engines/stt/test_stt_moonshine.c
 * (`config_layout_matches_the_library`) fills every string field of the
 * recognizer config with a distinct marker ("f00", "f01", ...) and numbers
 * with distinct values, sets model_config.debug = 1, and checks that the
 * config the library prints on stderr (before validating it) shows each
 * marker after the library's own name for that field: moonshine
 * encoder/merged_decoder, tokens, decoding_method, feature sampling_rate=16000
 * feature_dim=80, and every other engine's fields. Swapping two fields makes
 * it fail. ctc_fst_decoder_config (last) is not printed by 1.13.4; it is
 * zeroed. The VAD config is checked the same way
 * (`vad_config_layout_matches_the_library`). The sizes below (x86-64) are
 * asserted at compile time, so an accidental edit fails the build. */
#ifndef VG_ENGINES_STT_SHERPA_SHERPA_CAPI_H
#define VG_ENGINES_STT_SHERPA_SHERPA_CAPI_H
#include <stdint.h>

/* ---- Offline (non-streaming) recognizer configuration ---- */

struct sherpa_c_offline_transducer {
	const char *encoder;
	const char *decoder;
	const char *joiner;
};

struct sherpa_c_one_model { /* paraformer, nemo_ctc, tdnn, dolphin, ... */
	const char *model;
};

struct sherpa_c_offline_whisper {
	const char *encoder;
	const char *decoder;
	const char *language;
	const char *task;
	int32_t tail_paddings;
	int32_t enable_token_timestamps;
	int32_t enable_segment_timestamps;
};

struct sherpa_c_offline_sense_voice {
	const char *model;
	const char *language;
	int32_t use_itn;
};

/* Moonshine v1 has preprocessor + encoder + uncached and cached decoders;
 * the ONNX export we ship (moonshine-js, Hugging Face optimum layout) has an
 * encoder and one merged decoder, which 1.13.x accepts. */
struct sherpa_c_offline_moonshine {
	const char *preprocessor;
	const char *encoder;
	const char *uncached_decoder;
	const char *cached_decoder;
	const char *merged_decoder;
};

struct sherpa_c_offline_fire_red_asr {
	const char *encoder;
	const char *decoder;
};

struct sherpa_c_offline_canary {
	const char *encoder;
	const char *decoder;
	const char *src_lang;
	const char *tgt_lang;
	int32_t use_pnc;
};

struct sherpa_c_offline_funasr_nano {
	const char *encoder_adaptor;
	const char *llm;
	const char *embedding;
	const char *tokenizer;
	const char *system_prompt;
	const char *user_prompt;
	int32_t max_new_tokens;
	float temperature;
	float top_p;
	int32_t seed;
	const char *language;
	int32_t itn;
	const char *hotwords;
};

/* 1.13.4 has no forced-aligner fields (later versions append four). */
struct sherpa_c_offline_qwen3_asr {
	const char *conv_frontend;
	const char *encoder;
	const char *decoder;
	const char *tokenizer;
	int32_t max_total_len;
	int32_t max_new_tokens;
	float temperature;
	float top_p;
	int32_t seed;
	const char *hotwords;
};

struct sherpa_c_offline_cohere_transcribe {
	const char *encoder;
	const char *decoder;
	const char *language;
	int32_t use_punct;
	int32_t use_itn;
};

struct sherpa_c_offline_model_config {
	struct sherpa_c_offline_transducer transducer;
	struct sherpa_c_one_model paraformer;
	struct sherpa_c_one_model nemo_ctc;
	struct sherpa_c_offline_whisper whisper;
	struct sherpa_c_one_model tdnn;
	const char *tokens;
	int32_t num_threads;
	int32_t debug; /* non-zero: the library prints its config on stderr */
	const char *provider; /* "cpu" */
	const char *model_type;
	const char *modeling_unit;
	const char *bpe_vocab;
	const char *telespeech_ctc;
	struct sherpa_c_offline_sense_voice sense_voice;
	struct sherpa_c_offline_moonshine moonshine;
	struct sherpa_c_offline_fire_red_asr fire_red_asr;
	struct sherpa_c_one_model dolphin;
	struct sherpa_c_one_model zipformer_ctc;
	struct sherpa_c_offline_canary canary;
	struct sherpa_c_one_model wenet_ctc;
	struct sherpa_c_one_model omnilingual;
	struct sherpa_c_one_model medasr;
	struct sherpa_c_offline_funasr_nano funasr_nano;
	struct sherpa_c_one_model fire_red_asr_ctc;
	struct sherpa_c_offline_qwen3_asr qwen3_asr;
	struct sherpa_c_offline_cohere_transcribe cohere_transcribe;
};

struct sherpa_c_feature_config {
	int32_t sample_rate; /* the model's rate: input is resampled to it */
	int32_t feature_dim;
};

struct sherpa_c_offline_lm {
	const char *model;
	float scale;
};

struct sherpa_c_homophone_replacer {
	const char *dict_dir;
	const char *lexicon;
	const char *rule_fsts;
};

struct sherpa_c_ctc_fst_decoder {
	const char *graph;
	int32_t max_active;
};

struct sherpa_c_offline_recognizer_config {
	struct sherpa_c_feature_config feat_config;
	struct sherpa_c_offline_model_config model_config;
	struct sherpa_c_offline_lm lm_config;
	const char *decoding_method; /* "greedy_search" */
	int32_t max_active_paths;
	const char *hotwords_file;
	float hotwords_score;
	const char *rule_fsts;
	const char *rule_fars;
	float blank_penalty;
	struct sherpa_c_homophone_replacer hr;
	struct sherpa_c_ctc_fst_decoder ctc_fst_decoder_config;
};

#if defined(__x86_64__) || defined(__aarch64__)
_Static_assert(sizeof(struct sherpa_c_offline_model_config) == 504,
	       "sherpa-onnx 1.13.4 offline model config layout");
_Static_assert(sizeof(struct sherpa_c_offline_recognizer_config) == 624,
	       "sherpa-onnx 1.13.4 offline recognizer config layout");
#endif

/* ---- Silero VAD configuration ---- */

struct sherpa_c_vad_model { /* silero_vad and ten_vad share this shape */
	const char *model;
	float threshold;	    /* speech probability threshold */
	float min_silence_duration; /* seconds */
	float min_speech_duration;  /* seconds */
	int32_t window_size;	    /* samples: 512 at 16 kHz for Silero */
	float max_speech_duration;  /* seconds */
};

struct sherpa_c_vad_config {
	struct sherpa_c_vad_model silero_vad;
	int32_t sample_rate;
	int32_t num_threads;
	const char *provider;
	int32_t debug;
	struct sherpa_c_vad_model ten_vad;
};

#if defined(__x86_64__) || defined(__aarch64__)
_Static_assert(sizeof(struct sherpa_c_vad_config) == 88,
	       "sherpa-onnx 1.13.4 VAD config layout");
#endif

/* Opaque handles of the library. */
struct sherpa_c_offline_recognizer;
struct sherpa_c_offline_stream;
struct sherpa_c_vad;

/* ---- Functions, resolved by name (sherpa.c) ---- */
struct sherpa_capi {
	const char *(*get_version_str)(void); /* SherpaOnnxGetVersionStr */
	/* NULL when the config is invalid (a model file missing, ...). */
	const struct sherpa_c_offline_recognizer *(*create_offline_recognizer)(
		const struct sherpa_c_offline_recognizer_config *config);
	void (*destroy_offline_recognizer)(
		const struct sherpa_c_offline_recognizer *r);
	const struct sherpa_c_offline_stream *(*create_offline_stream)(
		const struct sherpa_c_offline_recognizer *r);
	void (*destroy_offline_stream)(const struct sherpa_c_offline_stream *s);
	/* samples in [-1, 1]; resampled to feat_config.sample_rate inside.
	 * Once per stream. */
	void (*accept_waveform_offline)(const struct sherpa_c_offline_stream *s,
					int32_t sample_rate,
					const float *samples, int32_t n);
	void (*decode_offline_stream)(
		const struct sherpa_c_offline_recognizer *r,
		const struct sherpa_c_offline_stream *s);
	/* A new JSON document ("text", "tokens", "ys_log_probs", ...); freed
	 * with destroy_offline_stream_result_json. */
	const char *(*get_offline_stream_result_as_json)(
		const struct sherpa_c_offline_stream *s);
	void (*destroy_offline_stream_result_json)(const char *json);

	const struct sherpa_c_vad *(*create_vad)(
		const struct sherpa_c_vad_config *config,
		float buffer_size_in_seconds);
	void (*destroy_vad)(const struct sherpa_c_vad *v);
	void (*vad_accept_waveform)(const struct sherpa_c_vad *v,
				    const float *samples, int32_t n);
	int32_t (*vad_empty)(const struct sherpa_c_vad *v);    /* no segment */
	int32_t (*vad_detected)(const struct sherpa_c_vad *v); /* in speech */
	void (*vad_pop)(const struct sherpa_c_vad *v);
	void (*vad_reset)(const struct sherpa_c_vad *v);
};
#endif

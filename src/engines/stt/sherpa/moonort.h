/* voxgate's own Moonshine decoder on onnxruntime: the encoder and the merged
 * (KV-cached) decoder of deps/moonshine-tiny run through the onnxruntime C
 * API (ort_capi.h) of the libonnxruntime.so that ships with sherpa-onnx,
 * loaded with dlopen (absent: -ENOENT, voxgate runs on without it). It
 * exists for what sherpa-onnx 1.13.4 cannot do for Moonshine: beam search
 * with shallow fusion of the flow step's domain LM (beam.h, ngram.h). The
 * front end is sherpa.c's (sherpa_asr_samples), so greedy decoding here
 * matches sherpa-onnx's.
 *
 * One shared instance per process (refcounted like sherpa_asr); decode() is
 * reentrant: onnxruntime's Run is thread-safe on one session, and all decode
 * state lives in the call. */
#ifndef VG_ENGINES_STT_SHERPA_MOONORT_H
#define VG_ENGINES_STT_SHERPA_MOONORT_H
#include <stddef.h>
#include <stdint.h>

struct beam_cfg;
struct beam_out;
struct ngram_lm;
struct moonort;

/* lib_dir NULL: <deps>/sherpa-onnx (libonnxruntime.so); model_dir NULL:
 * <deps>/moonshine-tiny. threads: intra-op threads per Run (0: 1). Blocking
 * (~1 s). 0, -ENOENT (library or model files missing), -ELIBBAD (library
 * without the API), -EBADMSG (tokens.txt malformed), -EIO (a model does not
 * load or has unexpected inputs), -EBUSY (another model_dir is open),
 * -ENOMEM. Logs the reason. */
int moonort_create(struct moonort **mp, const char *lib_dir,
		   const char *model_dir, unsigned threads);
void moonort_destroy(struct moonort *m);

/* Decode pcm (n samples at rate_hz, at most 60 s) into text (normalized like
 * sherpa_asr_decode). lm NULL: no fusion. cfg: beam settings (width 1, no
 * LM: greedy; max_tokens 0: 15 per second of audio). *out (may be NULL)
 * gets the search's figures for the result (beam.h). Blocking. 0, -EINVAL,
 * -ENOMEM, -EIO. */
int moonort_decode(struct moonort *m, const int16_t *pcm, size_t n,
		   unsigned rate_hz, const struct ngram_lm *lm,
		   const struct beam_cfg *cfg, char *text, size_t cap,
		   struct beam_out *out);

/* Parse tokens.txt (lines "<base64 of the token's bytes> <id>") into
 * text[vocab] (NULL for ids without a line); a word-initial token's text
 * starts with a space. Returns 0, -EBADMSG (bad line: *line gets its number),
 * -ENOMEM. Exposed for tests. */
int moonort_tokens_parse(const char *buf, size_t len, size_t vocab,
			 char ***textp, unsigned *line);
void moonort_tokens_free(char **text, size_t vocab);
#endif

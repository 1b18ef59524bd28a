/* A generic English word trigram for shallow fusion in the Moonshine beam
 * search when a step has no domain text (an OPEN step: free speech): the
 * backoff trigram of pocketsphinx-en-us (en-us.lm.bin, sphinxbase's binary
 * format), read with sphinxbase's ngram_model (already linked through
 * pocketsphinx) and scored through beam.h's struct beam_lm.
 *
 * Scores are natural logs (sphinxbase's log base converted). A word the
 * model does not know (numbers, names) scores a fixed oov_logp; the model
 * has no <unk> of its own. sphinxbase caches the last history inside the
 * model, so lookups are serialized by a mutex: one instance is shared by
 * any number of threads. */
#ifndef VG_ENGINES_STT_SHERPA_GENLM_H
#define VG_ENGINES_STT_SHERPA_GENLM_H
#include <stddef.h>
#include <stdint.h>

struct beam_lm;
struct genlm;

/* Load the model at path (ARPA or sphinxbase DMP/binary). oov_logp < 0:
 * the log-probability of an unknown word. Blocking (~50 ms, ~35 MB for
 * en-us.lm.bin). 0, -EINVAL, -ENOENT (no file), -EBADMSG (not a model the
 * reader takes, or no <s> / </s>), -ENOMEM. */
int genlm_create(struct genlm **gp, const char *path, double oov_logp);
void genlm_destroy(struct genlm *g);

/* *blm scores with g (borrowed: g must outlive the searches). */
void genlm_beam_lm(const struct genlm *g, struct beam_lm *blm);

/* Words of the model (</s> and <s> included). */
size_t genlm_size(const struct genlm *g);
#endif

/* A pronunciation dictionary in memory (the CMU pronouncing dictionary
 * format: "word PH ONES", alternates "word(2) ..."; "#" and ";" lines are
 * comments). Immutable after load; any thread may look words up. Used by
 * the PocketSphinx builders (engines/stt/pocketsphinx) and by the intent
 * classifier's ASR-noise augmentation (engines/nlu/asrnoise.h). */
#ifndef VG_ENGINES_LEXICON_CMUDICT_H
#define VG_ENGINES_LEXICON_CMUDICT_H
#include <stddef.h>

struct cmudict;

/* Load a dictionary file (at most 64 MB). Returns 0, -ENOENT, -EIO,
 * -EBADMSG (no entry at all), -ENOMEM. *lp is set only on success. */
int cmudict_load(struct cmudict **lp, const char *path);
/* Build one from text (tests, fuzzing): same format. */
int cmudict_parse(struct cmudict **lp, const char *text, size_t len);
void cmudict_destroy(struct cmudict *l); /* NULL is a no-op */
size_t cmudict_count(const struct cmudict *l);
/* The i-th pronunciation (0: the main one) of word, borrowed; NULL when the
 * word has fewer. */
const char *cmudict_find(const struct cmudict *l, const char *word, unsigned i);
/* Entry i (0..count-1) in sorted order (word, then alternate): word,
 * phones and alternate number (0 main, 1 for "word(2)"), borrowed; any
 * out pointer may be NULL. 0 or -ENOENT past the end. */
int cmudict_entry(const struct cmudict *l, size_t i, const char **word,
		  const char **pron, unsigned *alt);

#endif

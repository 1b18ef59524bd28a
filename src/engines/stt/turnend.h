/* Semantic endpointing: whether the transcript of a caller's speech up to a
 * pause reads as a sentence still going on ("I want to check my"), so the
 * call waits longer before it declares the end of speech (endpoint_hold()).
 * Pure: no engine, no state; any thread. */
#ifndef VG_ENGINES_STT_TURNEND_H
#define VG_ENGINES_STT_TURNEND_H
#include <stdbool.h>

/* text: the early decode of the pause (any case and punctuation; NULL or
 * no word: finished, there is nothing to wait for). eos_logp: natural-log
 * probability that a sentence ends after text's last words under the
 * step's domain LM (ngram_lm_eos_logp()), NAN when the step has none.
 * True when text ends in a word English sentences do not end with (an
 * article, a possessive, a preposition, a conjunction, "I"), or, with an
 * LM, when the end is unlikely there (eos_logp below STT_TURN_EOS_LOGP). */
bool stt_turn_unfinished(const char *text, double eos_logp);

/* The LM threshold: log(0.01). */
#define STT_TURN_EOS_LOGP (-4.6)
#endif

/* The PocketSphinx engine: stt_pocketsphinx_ops (declared in stt.h) plus
 * what tests and benchmarks measure. Modes: GRAMMAR (JSGF), LM (domain
 * trigram LM built from the grammar's sentences), OPEN (the generic en-us
 * LM: poor on 8 kHz telephone audio, never the default). */
#ifndef VG_ENGINES_STT_POCKETSPHINX_STT_POCKETSPHINX_H
#define VG_ENGINES_STT_POCKETSPHINX_STT_POCKETSPHINX_H
#include "engines/stt/stt.h"

/* Milliseconds open() took to load one decoder (acoustic model and
 * dictionary), averaged over the pool. */
unsigned stt_pocketsphinx_load_ms(const struct stt_engine *e);
#endif

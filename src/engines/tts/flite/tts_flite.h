/* The flite engine (CMU Flite 2.x, linked in): voices "kal" (diphone,
 * 8 kHz) and "slt" (clustergen, 16 kHz, resampled to 8 kHz). */
#ifndef VG_ENGINES_TTS_FLITE_TTS_FLITE_H
#define VG_ENGINES_TTS_FLITE_TTS_FLITE_H
#include "engines/tts/tts.h"

/* Thread-safety: synth() runs concurrently without locks, see tts_flite.c.
 * Instances share flite's process-wide voices: the first open() registers
 * them, the last close() unregisters them. */
extern const struct tts_engine_ops tts_flite_ops;
#endif

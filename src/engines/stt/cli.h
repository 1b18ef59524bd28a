/* `voxgate transcribe`: recognize a WAV file from the shell with the same
 * engines, VAD and endpointer a call uses. */
#ifndef VG_ENGINES_STT_CLI_H
#define VG_ENGINES_STT_CLI_H

/* argv[0] is "transcribe":
 *   voxgate transcribe in.wav [--engine moonshine|pocketsphinx]
 *       [--grammar FILE [--class digits|yesno|number]... | --lm-from FILE]
 *       [--no-vad | --stream] [--degrade] [--json]
 * Reads a WAV (any rate; 16 kHz and others are resampled to 8 kHz), cuts it
 * into utterances with the VAD and endpointer (--no-vad: the whole file, at
 * most 30 s, is one utterance), decodes each on the calling thread and
 * prints text, confidence, engine and timings (decode ms, real-time factor,
 * segments decoded degraded); --json prints one object {"text","segments":
 * [{"start_ms","end_ms","text","confidence","engine","decode_ms",
 * "degraded"}],"engine","audio_ms","decode_ms","rtf","degraded"} (the last:
 * whether any segment was). --degrade: every engine degrades every decode
 * it can (stt_engine_cfg.degrade, degrade_ms 0), as a loaded daemon would.
 * --stream: see docs/SPEECH.md.
 * --grammar FILE: one phrase per line (GRAMMAR mode); --lm-from FILE: one
 * sentence or "label<TAB>text" per line (LM mode). Blocking (loads models).
 * Returns the exit code: 0 ok, 1 failure (also when a segment failed to
 * decode), 2 usage error. */
int stt_cli_transcribe(int argc, char **argv);

#endif

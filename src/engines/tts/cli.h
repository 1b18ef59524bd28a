/* `voxgate say`: synthesize one prompt to a WAV file from the shell, through
 * the same service (and streaming path) calls use. */
#ifndef VG_ENGINES_TTS_CLI_H
#define VG_ENGINES_TTS_CLI_H

/* argv[0] is "say". Usage:
 *   say TEXT -o OUT.wav [--voice kal|slt|engine:voice] [--rate 8000|16000]
 *       [--cache-dir DIR]
 * Prints the voice, the samples, the synthesis time and the first-frame
 * time on stdout; errors on stderr. Returns the process exit code: 0 ok,
 * 1 failure, 2 usage error. */
int tts_cli_say(int argc, char **argv);

#endif

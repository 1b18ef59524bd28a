/* `voxgate simulate`: simulated callers over SIP/RTP against voxgate (or
 * any SIP endpoint), with per-turn latency as the caller hears it, the
 * server's stage timings, expectations and a load mode. docs/SIMULATOR.md. */
#ifndef VG_SIM_SIM_H
#define VG_SIM_SIM_H

/* argv[0] is "simulate". Returns the exit code: 0 every call met its
 * expectations, 1 some failed, 2 usage or scenario error. Runs its own
 * libre loop on the calling thread; call from main() only. */
int sim_cli_main(int argc, char **argv);

#endif

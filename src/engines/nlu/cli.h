/* `voxgate nlu ...`: train, evaluate and try intent models from the shell. */
#ifndef VG_ENGINES_NLU_CLI_H
#define VG_ENGINES_NLU_CLI_H

/* argv[0] is "nlu"; argv[1] the subcommand (train, eval, classify).
 * Returns the process exit code: 0 ok, 1 failure, 2 usage error. */
int nlu_cli_main(int argc, char **argv);

#endif

/* cdrmin: the command line's subcommands beyond the filter (private to the binary). */
#ifndef CDRMIN_CLI_H
#define CDRMIN_CLI_H

/* `cdrmin store ...`: verify, purge, hold, release, find, export. Returns the exit code. */
int cm_cli_store(int argc, char **argv);

#endif

/*
 * main - the shadowmilter program: subcommand dispatch
 *
 *   shadowmilter replay -c CONF [--json] [--out DIR] FILE...
 */
#include "replay.h"

#include <stdio.h>
#include <string.h>

#define SM_VERSION "0.1.0"

static int
usage(void)
{
	fprintf(stderr,
	    "usage: shadowmilter replay -c CONF [--json] [--out DIR] [--now TIME] FILE|MAILDIR|- ...\n"
	    "       shadowmilter version\n");
	return 2;
}

int
main(int argc, char **argv)
{
	if (argc < 2)
		return usage();
	if (strcmp(argv[1], "replay") == 0)
		return replay_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "-V") == 0) {
		printf("shadowmilter %s\n", SM_VERSION);
		return 0;
	}
	return usage();
}

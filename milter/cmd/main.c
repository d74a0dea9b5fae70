/*
 * main - the shadowmilter program
 *
 *   shadowmilter -c CONF [-f] [-n]        the milter daemon (-f foreground, -n check config)
 *   shadowmilter replay -c CONF [--json] [--out DIR] [--now TIME] FILE...
 *   shadowmilter deliver -c CONF          drain the outbox once (cron, tests)
 *   shadowmilter preview TYPE|--all [--config CONF] [--history]   notices from sample findings
 *   shadowmilter overdue|status -c CONF [--state FILE] [--json] [--now TIME]
 *   shadowmilter history -c CONF [--state FILE] [--json] IP|ACCOUNT
 *   shadowmilter version
 */
#include "cmd/ops.h"
#include "cmd/daemon.h"
#include "cmd/preview.h"
#include "cmd/replay.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#define SM_VERSION "0.2.0"

static int
usage(void)
{
	fprintf(stderr,
	    "usage: shadowmilter -c CONF [-f] [-n]\n"
	    "       shadowmilter replay -c CONF [--json] [--out DIR] [--now TIME] FILE|MAILDIR|- ...\n"
	    "       shadowmilter deliver -c CONF\n"
	    "       shadowmilter preview TYPE|--all [--config CONF] [--history] [--now TIME]\n"
	    "       shadowmilter overdue -c CONF [--state FILE] [--json] [--now TIME]\n"
	    "       shadowmilter history -c CONF [--state FILE] [--json] IP|ACCOUNT\n"
	    "       shadowmilter status -c CONF [--state FILE] [--json] [--now TIME]\n"
	    "       shadowmilter version\n");
	return 2;
}

static int
daemon_command(int argc, char **argv, int deliver_only)
{
	const char *conf = "/etc/shadowmilter/shadowmilter.conf";
	int c, foreground = 0, check = 0;

	while ((c = getopt(argc, argv, "c:fn")) != -1) {
		switch (c) {
		case 'c': conf = optarg; break;
		case 'f': foreground = 1; break;
		case 'n': check = 1; break;
		default: return usage();
		}
	}
	if (optind != argc)
		return usage();
	return deliver_only ? deliver_once_main(conf) : daemon_main(conf, foreground, check);
}

int
main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "replay") == 0)
		return replay_main(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "preview") == 0)
		return preview_main(argc - 1, argv + 1);
	if (argc >= 2 && (strcmp(argv[1], "overdue") == 0 || strcmp(argv[1], "history") == 0 ||
	    strcmp(argv[1], "status") == 0))
		return history_main(argv[1], argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "deliver") == 0)
		return daemon_command(argc - 1, argv + 1, 1);
	if (argc >= 2 && (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "-V") == 0)) {
		printf("shadowmilter %s\n", SM_VERSION);
		return 0;
	}
	if (argc >= 2 && argv[1][0] != '-')
		return usage();
	return daemon_command(argc, argv, 0);
}

/*
 * main - the shadowmilter program
 *
 *   shadowmilter [-c CONF] [-f] [-n]      the milter daemon (-f foreground, -n check config)
 *   shadowmilter replay -c CONF [--json] [--out DIR] [--now TIME] [--trust-saved] FILE...
 *   shadowmilter deliver -c CONF [--dry-run]   drain the outbox once (cron, tests)
 *   shadowmilter pull -c CONF [--since DATE] [--until DATE] [--type T]... [--dry-run] [--json]
 *                     [--list | --types]   report files from the Reports API
 *   shadowmilter preview TYPE|--all [-c CONF] [--history]   notices from sample findings
 *   shadowmilter overdue|status -c CONF [--state FILE] [--json] [--now TIME]
 *   shadowmilter history -c CONF [--state FILE] [--json] IP|ACCOUNT
 *   shadowmilter catalogue -c CONF --update FILE|URL   the types ShadowServer added
 *   shadowmilter help [COMMAND], -h, --help, COMMAND --help
 *   shadowmilter version, -V, --version
 *
 * Exit status everywhere: 0 done, 1 failed (a message, a database, a check),
 * 2 a usage or configuration error. The synopses are usage.c's.
 */
#include "cmd/catalogue.h"
#include "cmd/ops.h"
#include "cmd/daemon.h"
#include "cmd/preview.h"
#include "cmd/pull.h"
#include "cmd/replay.h"
#include "cmd/usage.h"
#include "base/msg.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static int
daemon_command(int argc, char **argv, int deliver_only)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' }, { "dry-run", no_argument, NULL, 'n' },
		{ "digest-now", no_argument, NULL, 'D' },
		{ "offline", no_argument, NULL, 'F' }, { NULL, 0, NULL, 0 },
	};
	const char *conf = "/etc/shadowmilter/shadowmilter.conf", *cmd = deliver_only ? "deliver" : "daemon";
	int c, foreground = 0, check = 0, offline = 0, digest_now = 0;

	opterr = 0;
	while ((c = getopt_long(argc, argv, deliver_only ? ":c:n" : ":c:fn", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': conf = optarg; break;
		case 'f': foreground = 1; break;
		case 'n': check = 1; break;
		case 'F': offline = 1; break;
		case 'D':
			if (!deliver_only)
				return usage_bad_option(cmd, c, argv);
			digest_now = 1;
			break;
		default: return usage_bad_option(cmd, c, argv);
		}
	}
	if (optind != argc)
		return usage_error(cmd, "unexpected argument \"%s\"", argv[optind]);
	return deliver_only ? deliver_once_main(conf, check, digest_now) : daemon_main(conf, foreground, check, offline);
}

/* wants_help - "-h" or "--help" among a command's arguments (before "--") */
static int
wants_help(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return 1;
	return 0;
}

static int
help_command(int argc, char **argv)
{
	if (argc > 2)
		return usage_error("help", "one command at a time");
	if (argc == 2 && !usage_known(argv[1]))
		return usage_error("help", "unknown command \"%s\"", argv[1]);
	return usage_help(argc == 2 ? argv[1] : NULL);
}

static int
run(const char *cmd, int argc, char **argv)
{
	if (strcmp(cmd, "replay") == 0)
		return replay_main(argc, argv);
	if (strcmp(cmd, "preview") == 0)
		return preview_main(argc, argv);
	if (strcmp(cmd, "overdue") == 0 || strcmp(cmd, "history") == 0 || strcmp(cmd, "status") == 0)
		return history_main(cmd, argc, argv);
	if (strcmp(cmd, "deliver") == 0)
		return daemon_command(argc, argv, 1);
	if (strcmp(cmd, "catalogue") == 0)
		return catalogue_main(argc, argv);
	if (strcmp(cmd, "pull") == 0)
		return pull_main(argc, argv);
	if (strcmp(cmd, "help") == 0)
		return help_command(argc, argv);
	if (argc > 1)
		return usage_error(cmd, "takes no arguments");
	return usage_version();
}

int
main(int argc, char **argv)
{
	const char *cmd = argc >= 2 ? argv[1] : "";

	umask(027);	/* state, notices and the pid file are nobody else's business */
	msg_stderr_init("shadowmilter");	/* the daemon turns to syslog once it runs on its own */
	if (strcmp(cmd, "-V") == 0 || strcmp(cmd, "--version") == 0)
		return argc == 2 ? usage_version() : usage_error(NULL, "%s takes no arguments", cmd);
	if (*cmd == '-' || *cmd == '\0') {
		if (wants_help(argc, argv))
			return usage_help(NULL);
		return daemon_command(argc, argv, 0);
	}
	if (!usage_known(cmd) || strcmp(cmd, "daemon") == 0)
		return usage_error(NULL, "unknown command \"%s\"", cmd);
	if (strcmp(cmd, "help") != 0 && wants_help(argc - 1, argv + 1))
		return usage_help(cmd);
	return run(cmd, argc - 1, argv + 1);
}

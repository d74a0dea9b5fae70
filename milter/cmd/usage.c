/*
 * usage - the command line's words: usage lines, help, version
 *
 * See usage.h. The library versions are the ones linked at run time where
 * the library can say (SQLite, libpq, pcre2, libmilter, libopendkim); libcsv
 * has only its header's numbers.
 */
#include "cmd/usage.h"

#include <csv.h>
#include <dkim.h>
#include <libmilter/mfapi.h>
#include <libpq-fe.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <sqlite3.h>
#include <getopt.h>
#include <stdarg.h>
#include <string.h>

static const struct {
	const char *cmd;
	const char *synopsis;
	const char *options;
} commands[] = {
	{ "daemon", "shadowmilter [-c CONF] [-f] [-n [--offline]]",
	    "  -c CONF   the configuration (default /etc/shadowmilter/shadowmilter.conf)\n"
	    "  -f        stay in the foreground, log to stderr too\n"
	    "  -n        check the configuration and everything it names, then exit; with\n"
	    "            ReportsAPIKey, the Reports API's test/ping (not with --offline)\n"
	    "  -h, --help     this help\n"
	    "  -V, --version  the version and the libraries' versions\n" },
	{ "replay", "shadowmilter replay -c CONF [--json] [--out DIR] [--now TIME] [--state FILE] [--trust-saved] [--offline]"
	    " FILE|MAILDIR|- ...",
	    "  -c, --config CONF  the configuration\n"
	    "  --json        one JSON object per message on stdout\n"
	    "  --out DIR     write each notice to DIR (created, mode 0750)\n"
	    "  --now TIME    'YYYY-MM-DD HH:MM:SS' (UTC) instead of the clock\n"
	    "  --state FILE  keep the detection history in FILE (a dry run: nothing counts as sent)\n"
	    "  --trust-saved treat the given files as sent by ShadowServer (saved mail whose DKIM\n"
	    "                key has been rotated); each result is marked trusted_by_operator\n"
	    "  --offline     a link-only report's link is not fetched\n" },
	{ "deliver", "shadowmilter deliver -c CONF [--dry-run] [--digest-now]",
	    "  -c, --config CONF  the configuration\n"
	    "  -n, --dry-run      say what would be sent, send nothing\n"
	    "  --digest-now       build every daily digest now, of every notice waiting for\n"
	    "                     one, without waiting for DigestTime; then deliver\n" },
	{ "pull", "shadowmilter pull -c CONF [--since DATE] [--until DATE] [--type TYPE]... [--dry-run] [--json]"
	    " [--retry-refused] [--list | --types]",
	    "  -c, --config CONF  the configuration (ReportsAPIKey, ReportsAPISecretFile)\n"
	    "  --since DATE  the first day listed, YYYY-MM-DD (default: ReportsAPIWindow ago)\n"
	    "  --until DATE  the last day listed, YYYY-MM-DD (default: today, UTC)\n"
	    "  --type TYPE   only files of TYPE (again for more; default: ReportsAPITypes,\n"
	    "                else every type the catalogue knows)\n"
	    "  -n, --dry-run download and read the files, say what they would make; nothing\n"
	    "                applied, queued or mailed\n"
	    "  --retry-refused  download again the files refused before (too large,\n"
	    "                unreadable); else a pull skips them until the limit they\n"
	    "                met (MaxReportSize, MaxCSVSize, MaxRows, ...) is changed\n"
	    "  --json        one JSON object on stdout\n"
	    "  --list        what the API offers and what this store has applied; nothing fetched\n"
	    "  --types       the report types the API knows (reports/types)\n" },
	{ "preview", "shadowmilter preview TYPE|--all|--digest [TYPE...] [-c CONF] [--history] [--lang LANG]"
	    " [--now TIME]",
	    "  -c, --config CONF  the configuration (default: the shipped templates only)\n"
	    "  --all         every report type in the catalogue\n"
	    "  --digest      the daily digest of the TYPEs' notices (default: scan_portmapper,\n"
	    "                scan_ssh, scan_http), as a \"digest daily\" account gets it\n"
	    "  --history     with a made-up detection history (deadline, OVERDUE)\n"
	    "  --lang LANG   as a customer who reads LANG gets it (de: templates/de/)\n"
	    "  --now TIME    'YYYY-MM-DD HH:MM:SS' (UTC) instead of the clock\n" },
	{ "overdue", "shadowmilter overdue -c CONF [--state FILE] [--json] [--now TIME]",
	    "  -c, --config CONF  the configuration\n"
	    "  --state FILE  the detection history (default: StateDB)\n"
	    "  --json        JSON on stdout\n"
	    "  --now TIME    'YYYY-MM-DD HH:MM:SS' (UTC) instead of the clock\n" },
	{ "history", "shadowmilter history -c CONF [--state FILE] [--json] IP|ACCOUNT",
	    "  -c, --config CONF  the configuration\n"
	    "  --state FILE  the detection history (default: StateDB)\n"
	    "  --json        JSON on stdout\n" },
	{ "status", "shadowmilter status -c CONF [--state FILE] [--json] [--now TIME]",
	    "  -c, --config CONF  the configuration\n"
	    "  --state FILE  the detection history (default: StateDB)\n"
	    "  --json        JSON on stdout\n"
	    "  --now TIME    'YYYY-MM-DD HH:MM:SS' (UTC) instead of the clock\n" },
	{ "catalogue", "shadowmilter catalogue [-c CONF] --update FILE|URL",
	    "  -c, --config CONF  the configuration (default /etc/shadowmilter/shadowmilter.conf)\n"
	    "  --update FILE|URL  ShadowServer's schema (the IntelMQ schema, reports.json or a table of\n"
	    "                types): the types this site does not know go to UpdatedCatalogue\n" },
	{ "help", "shadowmilter help [COMMAND]", "" },
	{ "version", "shadowmilter version", "" },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static int
find(const char *cmd)
{
	size_t i;

	for (i = 0; cmd && i < NCOMMANDS; i++)
		if (strcmp(commands[i].cmd, cmd) == 0)
			return (int)i;
	return -1;
}

int
usage_known(const char *cmd)
{
	return find(cmd) >= 0;
}

void
usage_print(FILE *f, const char *cmd)
{
	int k = find(cmd);
	size_t i;

	if (k >= 0) {
		fprintf(f, "usage: %s\n", commands[k].synopsis);
		return;
	}
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(f, "%s %s\n", i ? "      " : "usage:", commands[i].synopsis);
}

int
usage_help(const char *cmd)
{
	int k = find(cmd);

	usage_print(stdout, k >= 0 ? cmd : NULL);
	if (k >= 0 && *commands[k].options)
		printf("\n%s", commands[k].options);
	if (k < 0 || strcmp(cmd, "daemon") == 0)
		printf("\n\"shadowmilter help COMMAND\" or \"shadowmilter COMMAND --help\" for a command's options;\n"
		    "shadowmilter(8) for the whole story. Exit status: 0 done, 1 failed, 2 usage or config error.\n");
	return 0;
}

int
usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "shadowmilter: %s%s", cmd && strcmp(cmd, "daemon") ? cmd : "", cmd && strcmp(cmd, "daemon") ?
	    ": " : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	usage_print(stderr, cmd);
	fprintf(stderr, "(\"shadowmilter help%s%s\" for more)\n", cmd ? " " : "", cmd ? cmd : "");
	return 2;
}

int
usage_bad_option(const char *cmd, int c, char **argv)
{
	const char *arg = argv[optind - 1];

	if (c == ':')
		return usage_error(cmd, "%s needs a value", arg);
	if (optopt && strncmp(arg, "--", 2) != 0)
		return usage_error(cmd, "unknown option -%c", optopt);
	return usage_error(cmd, "unknown option %s", arg);
}

int
usage_version(void)
{
	unsigned int major, minor, pl;
	unsigned long dkim = dkim_libversion();
	char pcre[64] = "";

	smfi_version(&major, &minor, &pl);
	pcre2_config(PCRE2_CONFIG_VERSION, pcre);
	printf("shadowmilter %s\n", SM_VERSION);
	printf("  libmilter %u.%u.%u\n", major, minor, pl);
	printf("  libopendkim %lu.%lu.%lu\n", (dkim >> 24) & 0xff, (dkim >> 16) & 0xff, (dkim >> 8) & 0xff);
	printf("  SQLite %s\n", sqlite3_libversion());
	printf("  libpq %d.%d\n", PQlibVersion() / 10000, PQlibVersion() % 10000);
	printf("  pcre2 %s\n", pcre);
	printf("  libcsv %d.%d.%d\n", CSV_MAJOR, CSV_MINOR, CSV_RELEASE);
	return 0;
}

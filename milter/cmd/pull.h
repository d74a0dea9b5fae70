/*
 * pull - the "shadowmilter pull" command, and the daemon's scheduled pull
 *
 *   shadowmilter pull -c CONF [--since DATE] [--until DATE] [--type T]...
 *                     [--dry-run] [--json]
 *   shadowmilter pull -c CONF --list [--json]     what the API offers, what is applied
 *   shadowmilter pull -c CONF --types [--json]    the API's report types
 *
 * The work is pipeline/pull.c's; here are the options, the log lines (one
 * per file, and the API's error text when a call fails), the output, the
 * ops summary mail and the exit status: 0 when every file offered is
 * applied or left alone, 1 when the API, the store or a file failed.
 *
 * Owns: nothing.
 */
#ifndef SM_CMD_PULL_H
#define SM_CMD_PULL_H

#include <time.h>

struct runtime;

int pull_main(int argc, char **argv);

/*
 * pull_scheduled - the daemon's pull (ReportsAPIInterval, with a key set),
 * over ReportsAPIWindow back from NOW, with RT's store: log lines and the
 * ops mail as the command's. 1 when notices were queued, 0 when none, -1
 * when it failed (logged; the next one tries again).
 */
int pull_scheduled(const struct runtime *rt, time_t now);

#endif

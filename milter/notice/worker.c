/*
 * worker - who holds an outbox claim, in words that survive the holder
 *
 * See worker.h. Linux /proc; elsewhere every worker counts as alive.
 */
#include "notice/worker.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BOOT_ID_LEN 8

void
worker_host_prefix(char *out, size_t outlen)
{
	char host[HOST_NAME_MAX + 1] = "localhost";

	gethostname(host, sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	snprintf(out, outlen, "%s:", host);
}

/* boot_id - the first BOOT_ID_LEN characters of this boot's id, or -1 */
static int
boot_id(char out[BOOT_ID_LEN + 1])
{
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
	int ok = f && fread(out, 1, BOOT_ID_LEN, f) == BOOT_ID_LEN;

	if (f)
		fclose(f);
	out[ok ? BOOT_ID_LEN : 0] = '\0';
	return ok ? 0 : -1;
}

/* start_ticks - when process PID started (field 22 of /proc/PID/stat, after
 * the parenthesised command name, which may hold spaces), or 0 when gone */
static unsigned long long
start_ticks(pid_t pid)
{
	char path[64], line[1024], *p;
	unsigned long long ticks = 0;
	FILE *f;
	int field;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	if (fgets(line, sizeof(line), f) != NULL && (p = strrchr(line, ')')) != NULL) {
		for (field = 2; p && field < 22; field++)	/* p is at the space before field FIELD + 1 */
			p = strchr(p + 1, ' ');
		if (p)
			ticks = strtoull(p + 1, NULL, 10);
	}
	fclose(f);
	return ticks;
}

int
worker_name(pid_t pid, char *out, size_t outlen)
{
	char prefix[HOST_NAME_MAX + 2], boot[BOOT_ID_LEN + 1];
	unsigned long long ticks = start_ticks(pid);

	worker_host_prefix(prefix, sizeof(prefix));
	if (ticks == 0 || boot_id(boot) != 0) {
		snprintf(out, outlen, "%s%ld", prefix, (long)pid);
		return -1;
	}
	snprintf(out, outlen, "%s%ld:%llu:%s", prefix, (long)pid, ticks, boot);
	return 0;
}

int
worker_is_dead(const char *name)
{
	char prefix[HOST_NAME_MAX + 2], boot[BOOT_ID_LEN + 1], theirs[BOOT_ID_LEN + 2], *end;
	size_t plen;
	long pid;
	unsigned long long ticks;

	worker_host_prefix(prefix, sizeof(prefix));
	plen = strlen(prefix);
	if (strncmp(name, prefix, plen) != 0 || boot_id(boot) != 0)
		return 0;	/* another host's, or we cannot tell */
	errno = 0;
	pid = strtol(name + plen, &end, 10);
	if (errno || pid <= 0 || *end != ':')
		return 0;
	ticks = strtoull(end + 1, &end, 10);
	if (ticks == 0 || *end != ':' || strlen(end + 1) != BOOT_ID_LEN)
		return 0;	/* an older form of name ("HOST:PID"): its lease decides */
	snprintf(theirs, sizeof(theirs), "%s", end + 1);
	if (strcmp(theirs, boot) != 0)
		return 1;	/* from before the last boot */
	return start_ticks((pid_t)pid) != ticks;	/* gone, or the pid is another process's now */
}

/*
 * worker - who holds an outbox claim, in words that survive the holder
 *
 * A claim names its worker "HOST:PID:START:BOOT": the host name, the
 * process id, the process's start time (clock ticks since boot, from
 * /proc/PID/stat) and the first 8 characters of the kernel's boot id. A
 * daemon that starts can then tell for certain that a claim of its own
 * host belongs to a process that is gone - no such pid, the pid reused by
 * a process that started at another time, or a claim from before the last
 * boot - and take its notices back at once instead of waiting out the
 * lease. Anything it cannot be sure of (another host, a name in an older
 * form, a system without /proc) counts as alive.
 *
 * Owns: nothing.
 */
#ifndef SM_WORKER_H
#define SM_WORKER_H

#include <stddef.h>
#include <sys/types.h>

/* worker_name - the name of process PID of this host into OUT; -1 when the
 * process is not there (or /proc cannot say), then OUT is "HOST:PID" */
int worker_name(pid_t pid, char *out, size_t outlen);

/* worker_host_prefix - "HOST:" of this host into OUT */
void worker_host_prefix(char *out, size_t outlen);

/* worker_is_dead - 1 when NAME is a worker of this host whose process is
 * certainly gone, else 0 */
int worker_is_dead(const char *name);

#endif

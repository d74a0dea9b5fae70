/*
 * reaper - frees, on a thread of its own, what a busy thread let go of
 *
 * A milter callback that drops the last reference to the map a refresh
 * replaced would free it before the MTA gets its reply: a million-prefix
 * map is some 120 MiB of trie, accounts and strings, and handing that back
 * (munmap, page-table teardown) took 49 ms on a loaded machine. With the
 * reaper started, reaper_defer queues the work and returns at once; the
 * reaper thread (at a lower priority, nice 10) runs it. Without it (the
 * commands, the unit tests that do not start it) reaper_defer runs the work
 * at once, on the caller's thread.
 *
 * Library code: nothing here logs. Owns: the queue and the reaper thread.
 */
#ifndef SM_REAPER_H
#define SM_REAPER_H

#include <stddef.h>

/* reaper_start - start the reaper thread (once; again is a no-op); 0, or -1 with ERR */
int reaper_start(char *err, size_t errlen);

/* reaper_defer - FN(ARG) on the reaper thread, or at once when none was started */
void reaper_defer(void (*fn)(void *), void *arg);

/* reaper_drain - return once everything deferred before the call has run */
void reaper_drain(void);

/* reaper_stop - drain, then stop the thread; reaper_defer runs work at once again */
void reaper_stop(void);

#endif

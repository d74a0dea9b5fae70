/*
 * msg - what the program's shells say, in one way: msg_info, msg_warn,
 * msg_error and msg_fatal, in the style of Postfix's msg(3)
 *
 * The backend is chosen once, before the messages it is for: the commands
 * write to stderr, "shadowmilter: TEXT" ("shadowmilter: warning: TEXT" for a
 * warning), which is also where every message goes until a backend is chosen;
 * the daemon, once it runs on its own (and "deliver"), writes to syslog
 * (facility mail, with its pid; ALSO_STDERR copies each line to stderr, as
 * syslog's LOG_PERROR does), the severity in the priority.
 *
 * A message about one mail starts with its queue id, "QUEUEID: TEXT"
 * (NOQUEUE when it has none), so one grep follows a report to its notices.
 * Library code (everything outside milter/cmd/) does not call this: it
 * returns its error to the shell, which says it once.
 *
 * Owns: the backend choice.
 */
#ifndef SM_MSG_H
#define SM_MSG_H

#include <stdarg.h>

/* msg_stderr_init - messages to stderr, each line "PROGNAME: TEXT" */
void msg_stderr_init(const char *progname);

/* msg_syslog_init - messages to syslog as IDENT[pid], facility mail; ALSO_STDERR: a copy on stderr */
void msg_syslog_init(const char *ident, int also_stderr);

/* msg_log - one message at syslog PRIORITY (LOG_INFO, LOG_WARNING, LOG_ERR) */
void msg_log(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void msg_vlog(int priority, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

void msg_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void msg_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void msg_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* msg_fatal - msg_error, then exit(1) */
_Noreturn void msg_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif

/*
 * msg - what the program's shells say, to stderr or syslog
 *
 * See msg.h. Only the choice of backend is state; syslog and stdio lock for
 * themselves, so the daemon's threads share it.
 */
#include "base/msg.h"

#include <stdio.h>
#include <stdlib.h>
#include <syslog.h>

static const char *msg_progname = "shadowmilter";
static int msg_to_syslog;

void
msg_stderr_init(const char *progname)
{
	msg_progname = progname;
	msg_to_syslog = 0;
}

void
msg_syslog_init(const char *ident, int also_stderr)
{
	openlog(ident, LOG_PID | (also_stderr ? LOG_PERROR : 0), LOG_MAIL);
	msg_to_syslog = 1;
}

void
msg_vlog(int priority, const char *fmt, va_list ap)
{
	if (msg_to_syslog) {
		vsyslog(priority, fmt, ap);
		return;
	}
	flockfile(stderr);	/* one line, whoever else writes */
	fprintf(stderr, "%s: %s", msg_progname, priority == LOG_WARNING ? "warning: " : "");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	funlockfile(stderr);
}

void
msg_log(int priority, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	msg_vlog(priority, fmt, ap);
	va_end(ap);
}

void
msg_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	msg_vlog(LOG_INFO, fmt, ap);
	va_end(ap);
}

void
msg_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	msg_vlog(LOG_WARNING, fmt, ap);
	va_end(ap);
}

void
msg_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	msg_vlog(LOG_ERR, fmt, ap);
	va_end(ap);
}

void
msg_fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	msg_vlog(LOG_ERR, fmt, ap);
	va_end(ap);
	exit(1);
}

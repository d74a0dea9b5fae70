/*
 * test_msg - the shells' messages on the stderr backend: the program's name,
 * "warning: " for a warning, one line each
 */
#include "test.h"
#include "base/msg.h"

#include <stdlib.h>
#include <unistd.h>

/* captured - what the messages written by FN said on stderr */
static char *
captured(void (*fn)(void))
{
	char *dir = test_tmpdir(), path[512], *text;
	int saved = dup(2);
	FILE *f;

	snprintf(path, sizeof(path), "%s/stderr", dir);
	fflush(stderr);
	if (saved < 0 || (f = fopen(path, "w")) == NULL || dup2(fileno(f), 2) < 0)
		abort();
	fn();
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	fclose(f);
	text = test_read_file(path, NULL);
	free(dir);
	return text;
}

static void
say_each(void)
{
	msg_stderr_init("prog");
	msg_info("ready on %s", "unix:/x.sock");
	msg_warn("--trust-saved: %d files", 2);
	msg_error("%s: %s", "conf", "no such file");
	msg_stderr_init("shadowmilter");
}

TEST(msg, stderr_lines_carry_the_program_name_and_warnings_say_so)
{
	char *text = captured(say_each);

	CHECK_STR(text, "prog: ready on unix:/x.sock\n"
	    "prog: warning: --trust-saved: 2 files\n"
	    "prog: conf: no such file\n");
	free(text);
}

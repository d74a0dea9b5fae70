/*
 * fakemta - the MTA's side of the milter's stage logic (see fakemta.h).
 */
#include "fakemta.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static int
fake_add_header(void *ctx, const char *name, const char *value)
{
	struct buf *b = &((struct fake_mta *)ctx)->added;

	buf_printf(b, "%s: ", name);
	for (; *value; value++)		/* recorded unfolded */
		if (*value != '\n')
			buf_putc(b, *value);
	buf_putc(b, '\n');
	return 0;
}

static int
fake_change_header(void *ctx, const char *name, int index, const char *value)
{
	buf_printf(&((struct fake_mta *)ctx)->changed, "%s[%d]=%s\n", name, index, value ? value : "(deleted)");
	return 0;
}

static int
fake_add_rcpt(void *ctx, const char *rcpt)
{
	buf_printf(&((struct fake_mta *)ctx)->rcpts, "+%s\n", rcpt);
	return 0;
}

static int
fake_del_rcpt(void *ctx, const char *rcpt)
{
	buf_printf(&((struct fake_mta *)ctx)->rcpts, "-%s\n", rcpt);
	return 0;
}

static int
fake_set_reply(void *ctx, const char *rcode, const char *xcode, const char *text)
{
	buf_printf(&((struct fake_mta *)ctx)->reply, "%s %s %s\n", rcode, xcode, text);
	return 0;
}

static void fake_log(void *ctx, int priority, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
fake_log(void *ctx, int priority, const char *fmt, ...)
{
	struct fake_mta *m = ctx;
	va_list ap;

	(void)priority;
	va_start(ap, fmt);
	buf_vprintf(&m->log, fmt, ap);
	va_end(ap);
	buf_putc(&m->log, '\n');
}

struct filter_io
fake_mta_io(struct fake_mta *m)
{
	struct filter_io io = { .add_header = fake_add_header, .change_header = fake_change_header,
	    .add_rcpt = fake_add_rcpt, .del_rcpt = fake_del_rcpt, .log = fake_log, .ctx = m,
	    .set_reply = fake_set_reply };

	return io;
}

enum filter_action
fake_mta_run(struct fake_mta *m, const struct filter_env *env, const char *queue_id, const char *msg, time_t now)
{
	struct filter_io io = fake_mta_io(m);
	struct filter_msg *fm = filter_begin(env, queue_id, "<autoreports@shadowserver.org>");
	const char *p = msg, *body;
	enum filter_action a = FILTER_CONTINUE;

	m->body_chunks = 0;
	filter_rcpt(fm, "<abuse@example.net>");
	while (*p && *p != '\n') {	/* a header: its value runs on over folded lines */
		const char *colon = strchr(p, ':'), *end;
		struct buf value = BUF_INIT;
		char *name = xstrndup(p, (size_t)(colon - p));

		for (end = colon + 1; !(*end == '\n' && end[1] != ' ' && end[1] != '\t'); end++)
			buf_putc(&value, *end);
		a = filter_header(fm, &io, name, ascii_trim(value.data));
		free(name);
		buf_free(&value);
		p = end + 1;
		if (a == FILTER_ACCEPT)
			goto done;
	}
	if ((a = filter_eoh(fm, &io)) == FILTER_ACCEPT)
		goto done;
	for (body = p + 1; *body; body += strlen(body) < 100 ? strlen(body) : 100) {
		size_t n = strlen(body) < 100 ? strlen(body) : 100;

		if (filter_body(fm, &io, body, n) == FILTER_SKIP)
			break;
		m->body_chunks++;
	}
	a = filter_eom(fm, &io, now);
done:
	filter_end(fm);
	return a;
}

void
fake_mta_free(struct fake_mta *m)
{
	buf_free(&m->added);
	buf_free(&m->changed);
	buf_free(&m->rcpts);
	buf_free(&m->log);
	buf_free(&m->reply);
}

/*
 * milter - the libmilter callbacks
 *
 * Thin adapters onto filter.c: every libmilter call goes through the
 * filter_io table below, so the stage logic is tested with a fake MTA. A
 * message holds a reference to the runtime (config, customer map, outbox,
 * history) it started with; see runtime.h. The daemon around it (socket,
 * privileges, supervisor, delivery worker) is daemon.c.
 *
 * Owns: the per-connection state.
 */
#include "cmd/milter.h"
#include "pipeline/filter.h"
#include "cmd/runtime.h"
#include "base/msg.h"
#include "base/util.h"

#include <libmilter/mfapi.h>
#include <stdarg.h>
#include <stdlib.h>
#include <time.h>

/* per SMTP connection */
/* the daemon's hook: a message queued notices (milter_register) */
static void (*wake_delivery)(void);

struct conn {
	struct runtime *rt;
	struct filter_msg *msg;
	int can_skip;
	int leading_space;		/* SMFIP_HDR_LEADSPC: header values keep their leading space,
					 * both ways: DKIM needs the header exactly as it came */
};

/* --- the filter_io over libmilter ---------------------------------------- */

/* spaced - VALUE as the MTA wants it: with SMFIP_HDR_LEADSPC it adds no space after the colon */
static char *
spaced(SMFICTX *ctx, const char *value)
{
	const struct conn *c = smfi_getpriv(ctx);
	struct buf b = BUF_INIT;

	if (c && c->leading_space)
		buf_putc(&b, ' ');
	buf_puts(&b, value);
	return buf_steal(&b);
}

static int
io_add_header(void *ctx, const char *name, const char *value)
{
	char *v = spaced(ctx, value);
	int rc = smfi_addheader(ctx, (char *)name, v) == MI_SUCCESS ? 0 : -1;

	free(v);
	return rc;
}

static int
io_change_header(void *ctx, const char *name, int index, const char *value)
{
	char *v = value ? spaced(ctx, value) : NULL;
	int rc = smfi_chgheader(ctx, (char *)name, index, v) == MI_SUCCESS ? 0 : -1;

	free(v);
	return rc;
}

static int
io_add_rcpt(void *ctx, const char *rcpt)
{
	return smfi_addrcpt(ctx, (char *)rcpt) == MI_SUCCESS ? 0 : -1;
}

static int
io_del_rcpt(void *ctx, const char *rcpt)
{
	return smfi_delrcpt(ctx, (char *)rcpt) == MI_SUCCESS ? 0 : -1;
}

static int
io_set_reply(void *ctx, const char *rcode, const char *xcode, const char *text)
{
	return smfi_setreply(ctx, (char *)rcode, (char *)xcode, (char *)text) == MI_SUCCESS ? 0 : -1;
}

static void io_log(void *ctx, int priority, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
io_log(void *ctx, int priority, const char *fmt, ...)
{
	va_list ap;

	(void)ctx;
	va_start(ap, fmt);
	msg_vlog(priority, fmt, ap);
	va_end(ap);
}

static struct filter_io
io_for(SMFICTX *ctx)
{
	struct filter_io io = { .add_header = io_add_header, .change_header = io_change_header,
	    .add_rcpt = io_add_rcpt, .del_rcpt = io_del_rcpt, .log = io_log, .ctx = ctx, .set_reply = io_set_reply };

	return io;
}

static sfsistat
to_milter(const struct conn *c, enum filter_action a)
{
	switch (a) {
	case FILTER_ACCEPT: return SMFIS_ACCEPT;
	case FILTER_SKIP: return c->can_skip ? SMFIS_SKIP : SMFIS_CONTINUE;
	case FILTER_TEMPFAIL: return SMFIS_TEMPFAIL;
	case FILTER_DISCARD: return SMFIS_DISCARD;
	case FILTER_CONTINUE: break;
	}
	return SMFIS_CONTINUE;
}

/* --- callbacks ----------------------------------------------------------- */

static void
message_done(struct conn *c)
{
	filter_end(c->msg);
	c->msg = NULL;
	runtime_release(c->rt);
	c->rt = NULL;
}

/*
 * settled - RC of a header, end-of-headers or body callback; when it ends the
 * message (accepted, discarded, refused), libmilter calls us no more for it,
 * so its state and its reference to the configuration go now, not at the
 * connection's next MAIL or its close: an idle SMTP session must not keep a
 * replaced customer map alive.
 */
static sfsistat
settled(struct conn *c, sfsistat rc)
{
	if (rc != SMFIS_CONTINUE && rc != SMFIS_SKIP)
		message_done(c);
	return rc;
}

static sfsistat
cb_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2, unsigned long f3,
    unsigned long *pf0, unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	unsigned long need = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_ADDRCPT | SMFIF_DELRCPT;
	struct conn *c = xcalloc(1, sizeof(*c));

	(void)f2;
	(void)f3;
	if ((f0 & need) != need) {
		msg_error("the MTA does not offer the actions shadowmilter needs "
		    "(add/change headers, add/delete recipients): offered 0x%lx", f0);
		free(c);
		return SMFIS_REJECT;
	}
	*pf0 = need;
	/* only what we use: skip body chunks we do not need, no DATA/unknown
	 * callbacks; header values as they came (our DKIM verification hashes them) */
	*pf1 = f1 & (SMFIP_SKIP | SMFIP_NODATA | SMFIP_NOUNKNOWN | SMFIP_HDR_LEADSPC);
	*pf2 = *pf3 = 0;
	c->can_skip = (f1 & SMFIP_SKIP) != 0;
	c->leading_space = (f1 & SMFIP_HDR_LEADSPC) != 0;
	smfi_setpriv(ctx, c);
	return SMFIS_CONTINUE;
}

static struct conn *
conn_of(SMFICTX *ctx)
{
	struct conn *c = smfi_getpriv(ctx);

	if (c == NULL) {	/* an MTA that did not negotiate (old protocol) */
		c = xcalloc(1, sizeof(*c));
		smfi_setpriv(ctx, c);
	}
	return c;
}

static sfsistat
cb_connect(SMFICTX *ctx, char *host, struct sockaddr *addr)
{
	(void)host;
	(void)addr;
	conn_of(ctx);
	return SMFIS_CONTINUE;
}

static sfsistat
cb_helo(SMFICTX *ctx, char *helo)
{
	(void)ctx;
	(void)helo;
	return SMFIS_CONTINUE;
}

static sfsistat
cb_envfrom(SMFICTX *ctx, char **argv)
{
	struct conn *c = conn_of(ctx);

	message_done(c);
	c->rt = runtime_acquire();
	c->msg = filter_begin(&c->rt->env, smfi_getsymval(ctx, "i"), argv[0]);
	filter_set_leading_space(c->msg, c->leading_space);
	return SMFIS_CONTINUE;
}

static sfsistat
cb_envrcpt(SMFICTX *ctx, char **argv)
{
	struct conn *c = conn_of(ctx);

	return c->msg ? to_milter(c, filter_rcpt(c->msg, argv[0])) : SMFIS_CONTINUE;
}

static sfsistat
cb_header(SMFICTX *ctx, char *name, char *value)
{
	struct conn *c = conn_of(ctx);
	struct filter_io io = io_for(ctx);

	if (c->msg == NULL)
		return SMFIS_ACCEPT;
	filter_set_queue_id(c->msg, smfi_getsymval(ctx, "i"));
	return settled(c, to_milter(c, filter_header(c->msg, &io, name, value)));
}

static sfsistat
cb_eoh(SMFICTX *ctx)
{
	struct conn *c = conn_of(ctx);
	struct filter_io io = io_for(ctx);

	return c->msg ? settled(c, to_milter(c, filter_eoh(c->msg, &io))) : SMFIS_ACCEPT;
}

static sfsistat
cb_body(SMFICTX *ctx, unsigned char *data, size_t len)
{
	struct conn *c = conn_of(ctx);
	struct filter_io io = io_for(ctx);

	return c->msg ? settled(c, to_milter(c, filter_body(c->msg, &io, (const char *)data, len))) : SMFIS_ACCEPT;
}

static sfsistat
cb_eom(SMFICTX *ctx)
{
	struct conn *c = conn_of(ctx);
	struct filter_io io = io_for(ctx);
	sfsistat rc;

	if (c->msg == NULL)
		return SMFIS_CONTINUE;
	filter_set_queue_id(c->msg, smfi_getsymval(ctx, "i"));
	rc = to_milter(c, filter_eom(c->msg, &io, time(NULL)));
	if (filter_notices_queued(c->msg) > 0 && wake_delivery)
		wake_delivery();
	message_done(c);
	return rc;
}

static sfsistat
cb_abort(SMFICTX *ctx)
{
	struct conn *c = smfi_getpriv(ctx);

	if (c && c->msg)
		msg_info("%s: message aborted by the MTA", filter_queue_id(c->msg));
	if (c)
		message_done(c);
	return SMFIS_CONTINUE;
}

static sfsistat
cb_close(SMFICTX *ctx)
{
	struct conn *c = smfi_getpriv(ctx);

	if (c) {
		message_done(c);
		free(c);
		smfi_setpriv(ctx, NULL);
	}
	return SMFIS_CONTINUE;
}

static struct smfiDesc filter_desc = {
	.xxfi_name = (char *)"shadowmilter",
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_ADDRCPT | SMFIF_DELRCPT,
	.xxfi_connect = cb_connect,
	.xxfi_helo = cb_helo,
	.xxfi_envfrom = cb_envfrom,
	.xxfi_envrcpt = cb_envrcpt,
	.xxfi_header = cb_header,
	.xxfi_eoh = cb_eoh,
	.xxfi_body = cb_body,
	.xxfi_eom = cb_eom,
	.xxfi_abort = cb_abort,
	.xxfi_close = cb_close,
	.xxfi_negotiate = cb_negotiate,
};

int
milter_register(void (*wake)(void))
{
	wake_delivery = wake;
	return smfi_register(filter_desc) == MI_SUCCESS ? 0 : -1;
}

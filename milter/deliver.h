/*
 * deliver - hand queued notices to the MTA: sendmail(1) or an SMTP relay
 *
 * Transport "sendmail:PATH" runs PATH -i -f NoticeFrom -- RCPT... with an
 * argv (fork/execv, never a shell, never -t: recipients come from the
 * outbox, not from headers). Transport "smtp:HOST:PORT" speaks SMTP through
 * libcurl.
 *
 * Each notice is claimed first (outbox.h: a lease, so any number of
 * deliverers, on any host, never hand the same notice to the MTA at once),
 * and marked sent as soon as the MTA accepted it: right after the 250 reply
 * to the end of DATA, before QUIT (libcurl keeps the connection open after
 * the transfer; QUIT goes out when it is cleaned up, after the mark), or
 * right after sendmail exited 0. The window that remains: a crash between
 * the MTA's acceptance and the mark's commit (one round trip to the
 * database) resends that notice once its lease expires; it keeps its
 * Message-ID, so the receiving side can tell. Failures back off exponentially
 * (RetryInterval doubling to 1 h); a notice still failing after MaxRetryDays
 * is marked failed and reported to OpsAddress. A stop (deliver_request_stop)
 * aborts an SMTP transfer in progress and gives its claim back.
 * Sent notices are kept RetainDays, then pruned; failed ones stay.
 * TestRecipient sends every notice to one mailbox, naming the real
 * recipients in an X-Shadowmilter-Original-To header.
 *
 * Owns: nothing between calls.
 */
#ifndef SM_DELIVER_H
#define SM_DELIVER_H

#include <stddef.h>
#include <time.h>

struct config;
struct store;

/* called the moment the MTA has accepted a message, before the session ends */
typedef void (*deliver_accepted_fn)(void *ctx);

/* deliver_message - one message to RCPTS; 0 when the MTA accepted it (ACCEPTED,
 * if not NULL, was called then) */
int deliver_message(const struct config *cfg, char *const *rcpts, size_t n, const char *message,
    deliver_accepted_fn accepted, void *ctx, char *err, size_t errlen);

/* deliver_request_stop - a clean stop: no new notice is claimed, an SMTP
 * transfer in progress is abandoned and its claim given back */
void deliver_request_stop(void);
int deliver_stop_requested(void);

struct deliver_stats {
	unsigned long sent, retried, failed, released;
	long long pruned;		/* sent notices older than RetainDays, removed */
};

/* called once per notice tried, for the caller's log */
struct outbox_entry;
typedef void (*deliver_log_fn)(void *ctx, const struct outbox_entry *e, const char *outcome,
    const char *detail);

/*
 * deliver_pending - claim and try every due notice once. Returns 0, or -1
 * with ERR when the store itself failed (the caller retries later).
 */
int deliver_pending(const struct config *cfg, struct store *st, time_t now, deliver_log_fn log, void *ctx,
    struct deliver_stats *stats, char *err, size_t errlen);

/* deliver_backoff - seconds to wait after ATTEMPTS failures: BASE doubling,
 * at most an hour (or BASE, if that is longer) */
long deliver_backoff(long base, int attempts);

#endif

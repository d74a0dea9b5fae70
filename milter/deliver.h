/*
 * deliver - hand queued notices to the MTA: sendmail(1) or an SMTP relay
 *
 * Transport "sendmail:PATH" runs PATH -i -f NoticeFrom -- RCPT... with an
 * argv (fork/execv, never a shell, never -t: recipients come from the
 * outbox, not from headers). Transport "smtp:HOST:PORT" speaks SMTP through
 * libcurl. A notice is marked sent only after the MTA accepted it; failures
 * back off exponentially (RetryInterval doubling to 1 h); a notice still failing
 * after MaxRetryDays is marked failed and reported to OpsAddress.
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
struct outbox;

/* deliver_message - one message to RCPTS; 0 when the MTA accepted it */
int deliver_message(const struct config *cfg, char *const *rcpts, size_t n, const char *message,
    char *err, size_t errlen);

struct deliver_stats {
	unsigned long sent, retried, failed;
	long long pruned;		/* sent notices older than RetainDays, removed */
};

/* called once per notice tried, for the caller's log */
struct outbox_entry;
typedef void (*deliver_log_fn)(void *ctx, const struct outbox_entry *e, const char *outcome,
    const char *detail);

/*
 * deliver_pending - try every due notice once. Returns 0, or -1 with ERR
 * when the outbox itself failed (the caller retries later).
 */
int deliver_pending(const struct config *cfg, struct outbox *ob, time_t now, deliver_log_fn log, void *ctx,
    struct deliver_stats *stats, char *err, size_t errlen);

/* deliver_backoff - seconds to wait after ATTEMPTS failures: BASE doubling,
 * at most an hour (or BASE, if that is longer) */
long deliver_backoff(long base, int attempts);

#endif

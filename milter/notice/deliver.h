/*
 * deliver - hand queued notices to the MTA: sendmail(1) or an SMTP relay
 *
 * Transport "sendmail:PATH" runs PATH -i -f NoticeFrom -- RCPT... with an
 * argv (fork/execv, never a shell, never -t: recipients come from the
 * outbox, not from headers). Transport "smtp:HOST:PORT" speaks SMTP through
 * libcurl.
 *
 * Each notice is claimed first (outbox.h: a lease, so any number of
 * deliverers, on any host, never hand the same notice to the MTA at once).
 * Its "sent" mark is prepared before the MTA gets the end of the message:
 * once the whole body is handed over, before libcurl sends the final dot
 * (or before sendmail is started: it reads the message from an anonymous
 * file, so a crash never hands it a truncated one), a transaction marks it
 * sent if the claim is still ours. Then the end goes out, and the MTA's 250 (before
 * QUIT) or sendmail's exit 0 commits the mark: one cheap step. Anything else
 * rolls it back. A mark that cannot be prepared (the store failed, or the
 * claim was taken over) withholds the end, so the MTA never accepts the
 * message. The window that remains: a crash after the end went out and
 * before the mark's commit (the MTA's time to answer the end of DATA, or
 * sendmail's whole run; then one write) resends that notice once its lease expires; it keeps its
 * Message-ID, so the receiving side can tell. SQLite's write lock is held
 * while the MTA answers, MARK_HOLD_MS at most: past that the mark is rolled
 * back and made after the answer instead, so a slow MTA never makes report
 * commits wait out their busy timeout.
 * Failures back off exponentially (RetryInterval doubling to 1 h); a notice
 * still failing after MaxRetryDays is marked failed and reported to
 * OpsAddress. A stop (deliver_request_stop) aborts an SMTP transfer in
 * progress and gives its claim back; once the end of the message went out,
 * it first waits for the MTA's answer (STOP_WAIT_MS at most), since the MTA
 * may be accepting the message.
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

/*
 * What a transport tells its caller about the end of a message (any field
 * may be NULL):
 *   before_end  the last moment before the MTA can accept the message: the
 *               whole body is with it but not SMTP's final dot; sendmail is
 *               not started yet. -1 withholds the end (sendmail is never
 *               started), so the MTA never accepts the message
 *   waiting     called again and again (at least about once a second) while
 *               the MTA has not answered the end
 *   accepted    the MTA accepted it (250 to the end of DATA, before QUIT;
 *               sendmail exited 0)
 */
struct deliver_hooks {
	int (*before_end)(void *ctx);
	void (*waiting)(void *ctx);
	void (*accepted)(void *ctx);
	void *ctx;
};

/* deliver_message - one message to RCPTS; 0 when the MTA accepted it. HOOKS may be NULL. */
int deliver_message(const struct config *cfg, char *const *rcpts, size_t n, const char *message,
    const struct deliver_hooks *hooks, char *err, size_t errlen);

/* deliver_request_stop - a clean stop: no new notice is claimed, an SMTP
 * transfer in progress is abandoned (once the MTA answered its end, if that
 * went out) and its claim given back */
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

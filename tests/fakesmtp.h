/*
 * fakesmtp - an SMTP server on loopback for the delivery tests
 *
 * One session, served by a thread: it accepts every command, answers the end
 * of DATA with dot_reply ("250 2.0.0 queued" when NULL), and records what it
 * saw. on_data runs when DATA arrives (before the body), on_dot when the
 * final dot arrives (before the reply): the moments a test wants to look at
 * the outbox from outside. The flags are read and written with __atomic
 * builtins (fakesmtp_flag).
 *
 * Owns: the listening socket and the thread.
 */
#ifndef SM_FAKESMTP_H
#define SM_FAKESMTP_H

#include <pthread.h>
#include <stddef.h>

struct fakesmtp {
	const char *dot_reply;
	void (*on_data)(struct fakesmtp *f);
	void (*on_dot)(struct fakesmtp *f);
	void *ctx;			/* the test's, for the hooks */
	int dot_seen;			/* the final dot arrived */
	int dot_answered;		/* the reply to it is going out (set before it is written) */
	int quit_seen;			/* the client said QUIT */
	int listener, port;
	pthread_t thread;
};

/* fakesmtp_start - listen on 127.0.0.1 and serve one session in a thread; 0 or -1 */
int fakesmtp_start(struct fakesmtp *f);

/* fakesmtp_transport - the Transport value that reaches it: "smtp:127.0.0.1:PORT" */
void fakesmtp_transport(const struct fakesmtp *f, char *out, size_t outlen);

/* fakesmtp_finish - wait for the session's end (10 s at most for a client) and close */
void fakesmtp_finish(struct fakesmtp *f);

int fakesmtp_flag(const int *flag);

#endif

/*
 * milterdrive - the MTA's side of the milter protocol, for the benchmarks
 *
 * Speaks to a filter over a unix socket as Postfix does: negotiate, connect,
 * HELO, then messages (MAIL, RCPT, headers, EOH, body chunks, EOM), honouring
 * ACCEPT and SKIP the way an MTA does: a stage the filter accepted at is the
 * message's end. A message's verdict is the reply that ended it ('a' accept,
 * 'c' continue, 't' tempfail, 'r' reject, 'd' discard, ...). Headers the
 * filter adds at EOM ('h') are kept for the caller (md_added).
 *
 * Used by bench_passthrough (ordinary mail against the no-op filter and
 * shadowmilter) and bench_refreshload (mail and signed reports while the
 * CustomerMap is refreshed). A broken connection or a protocol error ends
 * the program with a message: a benchmark has no use for half an answer.
 */
#ifndef SM_BENCH_MILTERDRIVE_H
#define SM_BENCH_MILTERDRIVE_H

#include <stddef.h>

struct md_conn {
	int fd;
	char added[1024];	/* "Name: value\n" per header added at the last EOM, cut at the size */
	size_t added_len;
};

/* md_open - connect to the filter at PATH (waits for it up to 30 s), negotiate, connect and HELO */
void md_open(struct md_conn *c, const char *path);

/* md_close - QUIT and close */
void md_close(struct md_conn *c);

/* md_ordinary - one ordinary message: 20 headers (From: Alice), a body of BODYLEN bytes; the verdict */
char md_ordinary(struct md_conn *c, const char *body, size_t bodylen);

/*
 * md_eml - the mail MSG (headers, blank line, body; LF or CRLF) from FROM to
 * RCPT, with queue id QID; headers unfolded, the body in 64 KiB chunks; the verdict
 */
char md_eml(struct md_conn *c, const char *qid, const char *from, const char *rcpt, const char *msg, size_t len);

/* md_added - the value of header NAME added at the last EOM, copied into OUT; 0, or -1 if none */
int md_added(const struct md_conn *c, const char *name, char *out, size_t outlen);

/* md_filler_body - LEN bytes of 76-column text lines for md_ordinary */
void md_filler_body(char *body, size_t len);

#endif

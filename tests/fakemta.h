/*
 * fakemta - the MTA's side of the milter's stage logic (filter.h), for the tests
 *
 * A fake MTA records what the filter asks of it (headers added and changed,
 * recipients, log lines, the SMTP reply) and drives a message through the
 * stages as an MTA does: envelope sender and recipient, each header (a
 * folded value as the MTA hands it over), end of headers, the body in
 * 100-byte chunks while the filter wants it, end of message.
 */
#ifndef SM_FAKEMTA_H
#define SM_FAKEMTA_H

#include "pipeline/filter.h"
#include "base/util.h"

#include <time.h>

struct fake_mta {
	struct buf added;	/* "Name: value\n" per added header, recorded unfolded */
	struct buf changed;	/* "Name[index]=value\n" ("(deleted)" for NULL) */
	struct buf rcpts;	/* "+rcpt\n" / "-rcpt\n" */
	struct buf log;		/* a line per log call */
	struct buf reply;	/* "rcode xcode text\n" per reply set */
	int body_chunks;	/* the body chunks the filter took in the last run */
};
#define FAKE_MTA_INIT { BUF_INIT, BUF_INIT, BUF_INIT, BUF_INIT, BUF_INIT, 0 }

/* fake_mta_io - the callbacks that record into M */
struct filter_io fake_mta_io(struct fake_mta *m);

/*
 * fake_mta_run - MSG (LF line ends) from <autoreports@shadowserver.org> to
 * <abuse@example.net> through ENV's filter under QUEUE_ID, ending at NOW;
 * the action the filter settled on (at a header, the end of the headers or
 * the end of the message)
 */
enum filter_action fake_mta_run(struct fake_mta *m, const struct filter_env *env, const char *queue_id,
    const char *msg, time_t now);

void fake_mta_free(struct fake_mta *m);

#endif

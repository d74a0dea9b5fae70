/*
 * mailsource - saved messages for replay: .eml files, mbox, Maildir, stdin
 *
 * Each message is streamed to the caller in chunks (memory does not grow
 * with message size). An mbox is split on "From " lines and ">From " quoting
 * is undone (mboxrd); a Maildir's new/ and cur/ are read in name order; a
 * plain directory is read as one message per file. Each message's end says
 * whether it is a mail message at all: empty input, binary data (a NUL in
 * its first 64 KiB) or a first line that is not a header field is not.
 *
 * Owns: the open file while it is read.
 */
#ifndef SM_MAILSOURCE_H
#define SM_MAILSOURCE_H

#include <stddef.h>

struct mailsource_callbacks {
	/* a message starts; NAME is "file", "file:N" (mbox) or a Maildir path */
	void (*begin)(void *ctx, const char *name);
	void (*data)(void *ctx, const char *data, size_t len);
	/* the message ended; NOT_MAIL is NULL, or why it is no mail message
	 * ("not a mail message (empty input)" and the like) */
	void (*end)(void *ctx, const char *not_mail);
};

/* mailsource_read - every message in PATH ("-" is stdin); -1 with ERR when
 * PATH cannot be read at all */
int mailsource_read(const char *path, const struct mailsource_callbacks *cb, void *ctx,
    char *err, size_t errlen);

/* mailsource_read_one - PATH as one message called NAME (a spooled mbox
 * member read again); -1 with ERR when PATH cannot be read */
int mailsource_read_one(const char *path, const char *name, const struct mailsource_callbacks *cb, void *ctx,
    char *err, size_t errlen);

#endif

/*
 * mailsource - saved messages for replay: .eml files, mbox, Maildir, stdin
 *
 * Each message is streamed to the caller in chunks (memory does not grow
 * with message size). An mbox is split on "From " lines and ">From " quoting
 * is undone (mboxrd); a Maildir's new/ and cur/ are read in name order; a
 * plain directory is read as one message per file.
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
	void (*end)(void *ctx);
};

/* mailsource_read - every message in PATH ("-" is stdin); -1 with ERR when
 * PATH cannot be read at all */
int mailsource_read(const char *path, const struct mailsource_callbacks *cb, void *ctx,
    char *err, size_t errlen);

#endif

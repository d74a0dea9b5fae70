/*
 * ziparchive - the CSV members of a spooled zip attachment, via libarchive
 *
 * See ziparchive.h.
 */
#include "report/ziparchive.h"
#include "base/util.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int
has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && ascii_strcasecmp(s + n - m, suffix) == 0;
}

/*
 * error_kind - what stopped A: an errno of the system (EIO, ENOMEM, ENOSPC:
 * reading the spool file failed here, reading it again may work), or the
 * archive's form (libarchive's file-format and miscellaneous codes: zlib,
 * truncation, a method it does not know). libarchive's own codes are not
 * in its public headers: ARCHIVE_ERRNO_FILE_FORMAT is EILSEQ where EFTYPE
 * is missing (Linux), ARCHIVE_ERRNO_PROGRAMMER EINVAL, ARCHIVE_ERRNO_MISC -1
 */
static enum zip_error
error_kind(struct archive *a)
{
	int e = archive_errno(a);

	return e > 0 && e != EILSEQ && e != EINVAL ? ZIP_ERROR_IO :
	    ZIP_ERROR_FORMAT;
}

/* read_member - stream one member; returns NULL or an error message (*KIND);
 * *STOP when the caller wants nothing more of the zip */
static const char *
read_member(struct archive *a, unsigned long long max_member, const struct zip_callbacks *cb, void *ctx,
    int *stop, enum zip_error *kind, char *msg, size_t msglen)
{
	int rc;

	char block[65536];
	unsigned long long total = 0;
	la_ssize_t n;

	while ((n = archive_read_data(a, block, sizeof(block))) > 0) {
		total += (unsigned long long)n;
		if (total > max_member) {
			snprintf(msg, msglen, "zip member larger than %llu bytes uncompressed (MaxCSVSize)",
			    max_member);
			*kind = ZIP_ERROR_LIMIT;
			return msg;
		}
		if ((rc = cb->member_data(ctx, block, (size_t)n)) != 0) {
			*stop = rc < 0;
			return NULL;
		}
	}
	if (n < 0) {
		snprintf(msg, msglen, "zip member unreadable: %s", archive_error_string(a));
		*kind = error_kind(a);
		return msg;
	}
	return NULL;
}

int
zip_read_csv_members(int fd, unsigned long long max_member, const struct zip_callbacks *cb, void *ctx,
    enum zip_error *kind, char *err, size_t errlen)
{
	struct archive *a = archive_read_new();
	struct archive_entry *entry;
	enum zip_error member_kind;
	const char *why;
	char msg[256];
	int count = 0, rc, stop = 0;

	if (a == NULL || lseek(fd, 0, SEEK_SET) != 0)
		abort();
	archive_read_support_format_zip(a);
	if (archive_read_open_fd(a, fd, 65536) != ARCHIVE_OK) {
		err_set(err, errlen, "not a readable zip: %s", archive_error_string(a));
		*kind = error_kind(a);
		archive_read_free(a);
		return -1;
	}
	while (!stop && ((rc = archive_read_next_header(a, &entry)) == ARCHIVE_OK || rc == ARCHIVE_WARN)) {
		const char *name = archive_entry_pathname(entry);

		if (name == NULL || !has_suffix(name, ".csv") || archive_entry_filetype(entry) != AE_IFREG)
			continue;
		count++;
		if ((stop = cb->member_begin(ctx, name)) != 0)
			break;
		member_kind = ZIP_ERROR_FORMAT;
		if (archive_entry_is_encrypted(entry))
			cb->member_end(ctx, "zip member is encrypted", ZIP_ERROR_FORMAT);
		else {
			why = read_member(a, max_member, cb, ctx, &stop, &member_kind, msg, sizeof(msg));
			cb->member_end(ctx, why, member_kind);
		}
	}
	if (!stop && rc != ARCHIVE_EOF) {
		why = archive_error_string(a);	/* NULL when libarchive gives no reason */
		err_set(err, errlen, "damaged zip: %s", why ? why : "not a readable zip archive");
		*kind = error_kind(a);
		count = -1;
	}
	archive_read_free(a);
	return count;
}

/*
 * ziparchive - the CSV members of a spooled zip attachment, via libarchive
 *
 * The milter receives a zip as base64 in the body; we spool the decoded
 * bytes to an unlinked temporary file (memory stays flat), then libarchive
 * reads its members. Members named *.csv are streamed to the caller; other
 * members are skipped. Encrypted members, members over the size cap and
 * corrupt archives are errors for the caller to report.
 *
 * Owns: the libarchive reader for the duration of one call.
 */
#ifndef SM_ZIPARCHIVE_H
#define SM_ZIPARCHIVE_H

#include <stddef.h>

/* what stopped a zip or a member being read: its form, the size cap, or I/O here */
enum zip_error {
	ZIP_ERROR_FORMAT,
	ZIP_ERROR_LIMIT,
	ZIP_ERROR_IO
};

struct zip_callbacks {
	/* a *.csv member begins; return non-zero to stop the walk (nothing more is read) */
	int (*member_begin)(void *ctx, const char *name);
	/* data of the current member; return non-zero to stop reading it,
	 * negative to stop the walk as well */
	int (*member_data)(void *ctx, const char *data, size_t len);
	/* the member ended; ERROR is NULL or why it could not be read fully (KIND says what stopped it) */
	void (*member_end)(void *ctx, const char *error, enum zip_error kind);
};

/*
 * zip_read_csv_members - walk the zip in FD (from its start). MAX_MEMBER caps
 * each member's uncompressed size. Returns the number of CSV members begun
 * (up to where a callback stopped the walk), or -1 with ERR and *KIND when
 * the archive itself cannot be read (damaged, or an I/O error reading FD).
 */
int zip_read_csv_members(int fd, unsigned long long max_member, const struct zip_callbacks *cb, void *ctx,
    enum zip_error *kind, char *err, size_t errlen);

/* has_suffix - case-insensitive "ends with" */
int has_suffix(const char *s, const char *suffix);

#endif

/*
 * safefile - files created where someone else may have planted a symlink
 *
 * `replay --out DIR` and the PidFile write into directories that another
 * user may share. A file is only ever created new (O_CREAT|O_EXCL|O_NOFOLLOW,
 * relative to a directory opened once, so a symlink in its place is never
 * followed and the directory cannot change under us), in a directory that
 * passes safefile_dir's checks. An old file by the same name is unlinked
 * first (unlinking a symlink removes the link, never its target).
 *
 * Owns: nothing; the caller closes the descriptors.
 */
#ifndef SM_SAFEFILE_H
#define SM_SAFEFILE_H

#include <stddef.h>
#include <sys/types.h>

enum safefile_owner {
	SAFEFILE_OWN_DIR,	/* the directory belongs to the running user */
	SAFEFILE_ROOT_DIR	/* ... or to root (a PidFile in /run) */
};

/*
 * safefile_dir - descriptor of directory PATH (created 0750 when missing and
 * CREATE is set), or -1 with ERR: a directory owned by another user (see
 * OWNER), or writable by everyone without the sticky bit, is refused
 */
int safefile_dir(const char *path, int create, enum safefile_owner owner, char *err, size_t errlen);

/*
 * safefile_create - a new file NAME in directory DIRFD with MODE, opened for
 * writing, or -1 with ERR; an existing NAME (file or symlink) is unlinked
 * first and never written through
 */
int safefile_create(int dirfd, const char *name, mode_t mode, char *err, size_t errlen);

#endif

/*
 * safefile - files created where someone else may have planted a symlink
 *
 * See safefile.h.
 */
#include "base/safefile.h"
#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* dir_refused - why directory ST may not hold our files, or NULL */
static const char *
dir_refused(const struct stat *st, enum safefile_owner owner)
{
	if (!S_ISDIR(st->st_mode))
		return "not a directory";
	if (st->st_uid != geteuid() && !(owner == SAFEFILE_ROOT_DIR && st->st_uid == 0))
		return owner == SAFEFILE_ROOT_DIR ? "the directory belongs to another user (not root, not us)" :
		    "the directory belongs to another user";
	if ((st->st_mode & S_IWOTH) && !(st->st_mode & S_ISVTX))
		return "the directory is writable by everyone and has no sticky bit";
	return NULL;
}

int
safefile_dir(const char *path, int create, enum safefile_owner owner, char *err, size_t errlen)
{
	struct stat st;
	const char *why;
	int fd;

	if (create && mkdir(path, 0750) != 0 && errno != EEXIST) {
		err_set(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	/* O_NOFOLLOW: the directory itself may not be a planted symlink either */
	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		err_set(err, errlen, "%s: %s", path, errno == ELOOP ? "is a symbolic link" : strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0)
		why = strerror(errno);
	else
		why = dir_refused(&st, owner);
	if (why != NULL) {
		err_set(err, errlen, "%s: refused: %s", path, why);
		close(fd);
		return -1;
	}
	return fd;
}

int
safefile_create(int dirfd, const char *name, mode_t mode, char *err, size_t errlen)
{
	int fd;

	if (strchr(name, '/') != NULL) {
		err_set(err, errlen, "%s: a file name, not a path", name);
		return -1;
	}
	if (unlinkat(dirfd, name, 0) != 0 && errno != ENOENT) {
		err_set(err, errlen, "%s: cannot replace: %s", name, strerror(errno));
		return -1;
	}
	fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		err_set(err, errlen, "%s: %s", name, strerror(errno));
	return fd;
}

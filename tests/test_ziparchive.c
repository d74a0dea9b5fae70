/*
 * test_ziparchive - what stopped a zip being read: its form, or I/O here
 *
 * A pull refuses a file for its form (it stays so) but tries again after an
 * I/O error reading its own spool file: zip_read_csv_members must tell the two
 * apart (report/ziparchive.h).
 */
#include "test.h"
#include "report/ziparchive.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int member_begin(void *ctx, const char *name) { (void)ctx, (void)name; return 0; }
static int member_data(void *ctx, const char *data, size_t len) { (void)ctx, (void)data, (void)len; return 0; }
static void member_end(void *ctx, const char *error, enum zip_error kind) { (void)ctx, (void)error, (void)kind; }

static const struct zip_callbacks cb = { member_begin, member_data, member_end };

/* read_zip - the file PATH opened with FLAGS, walked: the count, the kind of its failure */
static int
read_zip(const char *path, int flags, enum zip_error *kind, char *err, size_t errlen)
{
	int fd = open(path, flags), n;

	if (fd < 0)
		abort();
	*kind = ZIP_ERROR_LIMIT;	/* neither answer: must be set on failure */
	n = zip_read_csv_members(fd, 1 << 20, &cb, NULL, kind, err, errlen);
	close(fd);
	return n;
}

TEST(ziparchive, a_damaged_zip_is_its_form_a_failed_read_is_io)
{
	char *dir = test_tmpdir(), path[4096], err[256];
	enum zip_error kind;

	snprintf(path, sizeof(path), "%s/spool.zip", dir);
	test_write_file(path, "PK\003\004this is no zip at all, only its first bytes\n");
	CHECK_INT(read_zip(path, O_RDONLY, &kind, err, sizeof(err)), -1);
	CHECK_INT(kind, ZIP_ERROR_FORMAT);
	CHECK_INT(read_zip(path, O_WRONLY, &kind, err, sizeof(err)), -1);	/* read(2) fails: EBADF */
	CHECK_INT(kind, ZIP_ERROR_IO);
	free(dir);
}

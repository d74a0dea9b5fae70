/*
 * mailsource - saved messages for replay: .eml files, mbox, Maildir, stdin
 *
 * See mailsource.h.
 */
#include "pipeline/mailsource.h"
#include "base/util.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CHUNK 65536

static int
is_mbox_from_line(const char *line)
{
	return strncmp(line, "From ", 5) == 0;
}

/* read_mbox - F is positioned at a "From " line */
static void
read_mbox(FILE *f, const char *path, const struct mailsource_callbacks *cb, void *ctx)
{
	char *line = xmalloc(CHUNK);
	int at_line_start = 1, in_message = 0, n = 0;
	struct buf name = BUF_INIT;

	while (fgets(line, CHUNK, f) != NULL) {
		size_t len = strlen(line);	/* a NUL in the data ends the piece early: harmless */
		const char *p = line;

		if (at_line_start && is_mbox_from_line(line)) {
			if (in_message)
				cb->end(ctx);
			buf_reset(&name);
			buf_printf(&name, "%s:%d", path, ++n);
			cb->begin(ctx, buf_cstr(&name));
			in_message = 1;
			at_line_start = len > 0 && line[len - 1] == '\n';
			continue;
		}
		if (at_line_start && line[0] == '>' && is_mbox_from_line(line + strspn(line, ">")))
			p++, len--;	/* mboxrd: ">From " was "From " */
		if (in_message)
			cb->data(ctx, p, len);
		at_line_start = len > 0 && p[len - 1] == '\n';
	}
	if (in_message)
		cb->end(ctx);
	buf_free(&name);
	free(line);
}

static void
read_single(FILE *f, const char *name, const struct mailsource_callbacks *cb, void *ctx)
{
	char *chunk = xmalloc(CHUNK);
	size_t n;

	cb->begin(ctx, name);
	while ((n = fread(chunk, 1, CHUNK, f)) > 0)
		cb->data(ctx, chunk, n);
	cb->end(ctx);
	free(chunk);
}

/* read_file - an mbox when it opens with a "From " line, else one message */
static int
read_file(const char *path, const struct mailsource_callbacks *cb, void *ctx, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char head[5];
	size_t n;

	if (f == NULL) {
		err_set(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	n = fread(head, 1, sizeof(head), f);
	rewind(f);
	if (n == 5 && is_mbox_from_line(head))
		read_mbox(f, path, cb, ctx);
	else
		read_single(f, path, cb, ctx);
	fclose(f);
	return 0;
}

static int
name_order(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* read_dir - every regular file in DIR, in name order */
static int
read_dir(const char *dir, const struct mailsource_callbacks *cb, void *ctx, char *err, size_t errlen)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, i;
	int rc = 0;

	if (d == NULL) {
		err_set(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		struct buf path = BUF_INIT;
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		buf_printf(&path, "%s/%s", dir, de->d_name);
		if (stat(path.data, &st) == 0 && S_ISREG(st.st_mode)) {
			names = xreallocarray(names, n + 1, sizeof(char *));
			names[n++] = buf_steal(&path);
		} else
			buf_free(&path);
	}
	closedir(d);
	if (n > 1)
		qsort(names, n, sizeof(char *), name_order);
	for (i = 0; i < n; i++) {
		if (read_file(names[i], cb, ctx, err, errlen) != 0)
			rc = -1;
		free(names[i]);
	}
	free(names);
	return rc;
}

static int
is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int
read_maildir(const char *path, const struct mailsource_callbacks *cb, void *ctx, char *err, size_t errlen)
{
	const char *subdirs[2] = { "new", "cur" };
	int i, rc = 0;

	for (i = 0; i < 2; i++) {
		struct buf sub = BUF_INIT;

		buf_printf(&sub, "%s/%s", path, subdirs[i]);
		if (is_dir(sub.data) && read_dir(sub.data, cb, ctx, err, errlen) != 0)
			rc = -1;
		buf_free(&sub);
	}
	return rc;
}

int
mailsource_read(const char *path, const struct mailsource_callbacks *cb, void *ctx, char *err, size_t errlen)
{
	struct buf cur = BUF_INIT;
	int maildir;

	if (strcmp(path, "-") == 0) {
		/* stdin cannot be rewound: one message */
		read_single(stdin, "-", cb, ctx);
		return 0;
	}
	if (!is_dir(path))
		return read_file(path, cb, ctx, err, errlen);
	buf_printf(&cur, "%s/cur", path);
	maildir = is_dir(cur.data);
	buf_reset(&cur);
	buf_printf(&cur, "%s/new", path);
	maildir = maildir || is_dir(cur.data);
	buf_free(&cur);
	return maildir ? read_maildir(path, cb, ctx, err, errlen) : read_dir(path, cb, ctx, err, errlen);
}

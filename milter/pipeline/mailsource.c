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

/* mail_shape - what the first bytes of a message say: a mail message starts
 * with a header field ("Name:") or an mbox "From " line, and holds no NUL */
struct mail_shape {
	size_t bytes;			/* read so far */
	int binary;			/* a NUL byte in the first 64 KiB */
	int no_header;			/* the first line is not a header field */
};

/* reading - the caller's callbacks, and the shape of the message being read */
struct reading {
	const struct mailsource_callbacks *cb;
	void *ctx;
	struct mail_shape shape;
};

/* shape_first_line - does DATA (the input's first bytes) open with a header
 * field name and its colon? A first chunk too short to tell counts as yes. */
static int
shape_first_line(const char *data, size_t len)
{
	size_t i;

	if (len >= 5 && memcmp(data, "From ", 5) == 0)
		return 1;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)data[i];

		if (c == ':')
			return i > 0;
		if (c < 33 || c > 126)
			return 0;
	}
	return 1;
}

/* shape_feed - note what DATA says of the input's shape */
static void
shape_feed(struct mail_shape *s, const char *data, size_t len)
{
	size_t head = s->bytes < 65536 ? 65536 - s->bytes : 0;

	if (s->bytes == 0 && len > 0 && !shape_first_line(data, len))
		s->no_header = 1;
	if (head > 0 && memchr(data, '\0', len < head ? len : head) != NULL)
		s->binary = 1;
	s->bytes += len;
}

/* shape_error - why the input is not a mail message, or NULL */
static const char *
shape_error(const struct mail_shape *s)
{
	if (s->bytes == 0)
		return "not a mail message (empty input)";
	if (s->binary)
		return "not a mail message (binary data: a NUL byte in its first 64 KiB)";
	if (s->no_header)
		return "not a mail message (its first line is not a header field)";
	return NULL;
}

static void
message_begin(struct reading *rd, const char *name)
{
	memset(&rd->shape, 0, sizeof(rd->shape));
	rd->cb->begin(rd->ctx, name);
}

static void
message_data(struct reading *rd, const char *data, size_t len)
{
	shape_feed(&rd->shape, data, len);
	rd->cb->data(rd->ctx, data, len);
}

static void
message_end(struct reading *rd)
{
	rd->cb->end(rd->ctx, shape_error(&rd->shape));
}

static int
is_mbox_from_line(const char *line)
{
	return strncmp(line, "From ", 5) == 0;
}

/* read_mbox - F is positioned at a "From " line */
static void
read_mbox(FILE *f, const char *path, struct reading *rd)
{
	char *line = xmalloc(CHUNK);
	int at_line_start = 1, in_message = 0, n = 0;
	struct buf name = BUF_INIT;

	while (fgets(line, CHUNK, f) != NULL) {
		size_t len = strlen(line);	/* a NUL in the data ends the piece early: harmless */
		const char *p = line;

		if (at_line_start && is_mbox_from_line(line)) {
			if (in_message)
				message_end(rd);
			buf_reset(&name);
			buf_printf(&name, "%s:%d", path, ++n);
			message_begin(rd, buf_cstr(&name));
			in_message = 1;
			at_line_start = len > 0 && line[len - 1] == '\n';
			continue;
		}
		if (at_line_start && line[0] == '>' && is_mbox_from_line(line + strspn(line, ">")))
			p++, len--;	/* mboxrd: ">From " was "From " */
		if (in_message)
			message_data(rd, p, len);
		at_line_start = len > 0 && p[len - 1] == '\n';
	}
	if (in_message)
		message_end(rd);
	buf_free(&name);
	free(line);
}

static void
read_single(FILE *f, const char *name, struct reading *rd)
{
	char *chunk = xmalloc(CHUNK);
	size_t n;

	message_begin(rd, name);
	while ((n = fread(chunk, 1, CHUNK, f)) > 0)
		message_data(rd, chunk, n);
	message_end(rd);
	free(chunk);
}

/* read_file - an mbox when it opens with a "From " line, else one message */
static int
read_file(const char *path, struct reading *rd, char *err, size_t errlen)
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
		read_mbox(f, path, rd);
	else
		read_single(f, path, rd);
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
read_dir(const char *dir, struct reading *rd, char *err, size_t errlen)
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
		if (read_file(names[i], rd, err, errlen) != 0)
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
read_maildir(const char *path, struct reading *rd, char *err, size_t errlen)
{
	const char *subdirs[2] = { "new", "cur" };
	int i, rc = 0;

	for (i = 0; i < 2; i++) {
		struct buf sub = BUF_INIT;

		buf_printf(&sub, "%s/%s", path, subdirs[i]);
		if (is_dir(sub.data) && read_dir(sub.data, rd, err, errlen) != 0)
			rc = -1;
		buf_free(&sub);
	}
	return rc;
}

int
mailsource_read(const char *path, const struct mailsource_callbacks *cb, void *ctx, char *err, size_t errlen)
{
	struct reading reading = { cb, ctx, { 0, 0, 0 } }, *rd = &reading;
	struct buf cur = BUF_INIT;
	int maildir;

	if (strcmp(path, "-") == 0) {
		/* stdin cannot be rewound: one message */
		read_single(stdin, "-", rd);
		return 0;
	}
	if (!is_dir(path))
		return read_file(path, rd, err, errlen);
	buf_printf(&cur, "%s/cur", path);
	maildir = is_dir(cur.data);
	buf_reset(&cur);
	buf_printf(&cur, "%s/new", path);
	maildir = maildir || is_dir(cur.data);
	buf_free(&cur);
	return maildir ? read_maildir(path, rd, err, errlen) : read_dir(path, rd, err, errlen);
}

int
mailsource_read_one(const char *path, const char *name, const struct mailsource_callbacks *cb, void *ctx,
    char *err, size_t errlen)
{
	struct reading reading = { cb, ctx, { 0, 0, 0 } };
	FILE *f = fopen(path, "rb");

	if (f == NULL) {
		err_set(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	read_single(f, name, &reading);
	fclose(f);
	return 0;
}

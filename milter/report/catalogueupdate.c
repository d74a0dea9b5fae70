/*
 * catalogueupdate - the site's catalogue of the types ShadowServer added
 *
 * See catalogueupdate.h. The old file is read with the catalogue's loader;
 * the new one is assembled in memory (a few hundred rows at most), written
 * with safefile beside the old one, read back, fsync'd and renamed.
 */
#include "report/catalogueupdate.h"
#include "report/catalogue.h"
#include "report/schema.h"
#include "base/safefile.h"
#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define UPDATED_MARK "# updated "

/* csv_field - S as one CSV field: quoted when it holds a comma, a quote or a line break */
static void
csv_field(struct buf *b, const char *s, int last)
{
	const char *p;

	if (strpbrk(s, ",\"\r\n") == NULL)
		buf_puts(b, s);
	else {
		buf_putc(b, '"');
		for (p = s; *p; p++) {
			if (*p == '"')
				buf_putc(b, '"');
			buf_putc(b, *p);
		}
		buf_putc(b, '"');
	}
	buf_putc(b, last ? '\n' : ',');
}

static const char header[] = "type,title,severity,kind,service,port,protocol,info_url,evidence_columns,template,alias_of";

/* the languages the old rows have words in (title.LANG, service.LANG), each once */
struct langs {
	const char **v;
	size_t n;
};

static void
langs_of(const struct catalogue *old, struct langs *l)
{
	size_t i, j, k;

	for (i = 0; i < catalogue_count(old); i++) {
		const struct catalogue_entry *e = catalogue_at(old, i);

		for (j = 0; j < e->ntexts; j++) {
			for (k = 0; k < l->n && strcmp(l->v[k], e->texts[j].lang) != 0; k++)
				;
			if (k == l->n) {
				l->v = xreallocarray(l->v, l->n + 1, sizeof(*l->v));
				l->v[l->n++] = e->texts[j].lang;
			}
		}
	}
}

/* put_header - the header line, a title and service column per language */
static void
put_header(struct buf *out, const struct langs *l)
{
	size_t i;

	buf_puts(out, header);
	for (i = 0; i < l->n; i++)
		buf_printf(out, ",title.%s,service.%s", l->v[i], l->v[i]);
	buf_putc(out, '\n');
}

/* empty_texts - the language columns of a row that has no words in them */
static void
empty_texts(struct buf *b, const struct langs *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		buf_puts(b, ",,");
	buf_putc(b, '\n');
}

/* entry_texts - E's words in each language of L, as the row's last columns */
static void
entry_texts(struct buf *b, const struct catalogue_entry *e, const struct langs *l)
{
	size_t i, j;

	for (i = 0; i < l->n; i++) {
		const struct catalogue_text *t = NULL;

		for (j = 0; j < e->ntexts; j++)
			if (strcmp(e->texts[j].lang, l->v[i]) == 0)
				t = &e->texts[j];
		csv_field(b, t ? t->title : "", 0);
		csv_field(b, t ? t->service : "", i + 1 == l->n);
	}
}

/* entry_row - an old row, as it was */
static void
entry_row(struct buf *b, const struct catalogue_entry *e, const struct langs *l)
{
	struct buf ev = BUF_INIT;
	size_t i;

	for (i = 0; i < e->nevidence; i++)
		buf_printf(&ev, "%s%s", i ? ";" : "", e->evidence[i]);
	csv_field(b, e->type, 0);
	csv_field(b, e->title, 0);
	csv_field(b, e->severity, 0);
	csv_field(b, *e->alias_of ? "" : e->kind == CATALOGUE_EVENT ? "event" : "exposed", 0);
	csv_field(b, e->service, 0);
	csv_field(b, e->port, 0);
	csv_field(b, e->protocol, 0);
	csv_field(b, e->info_url, 0);
	csv_field(b, buf_cstr(&ev), 0);
	csv_field(b, e->template, 0);
	csv_field(b, e->alias_of, l->n == 0);
	entry_texts(b, e, l);
	buf_free(&ev);
}

/* schema_row - a type new to the site */
static void
schema_row(struct buf *b, const struct schema_type *t, const struct langs *l)
{
	csv_field(b, t->type, 0);
	csv_field(b, t->title, 0);
	csv_field(b, t->severity, 0);
	csv_field(b, t->event ? "event" : "exposed", 0);
	buf_puts(b, ",,,");
	csv_field(b, t->info_url, 0);
	buf_puts(b, ",,");
	empty_texts(b, l);
}

/* old_rows - the rows PATH has now (an empty catalogue when there is no file) */
static struct catalogue *
old_rows(const char *path, char *err, size_t errlen)
{
	struct catalogue *old = catalogue_new();
	struct stat st;

	if (lstat(path, &st) != 0 && errno == ENOENT)
		return old;
	if (catalogue_load(old, path, err, errlen) != 0) {
		catalogue_free(old);
		return NULL;
	}
	return old;
}

/* assemble - the new file: old rows and new types, in type order */
static void
assemble(struct buf *out, const struct catalogue *known, const struct catalogue *old, const struct schema *s,
    const char *source, time_t now, struct catalogue_update_stats *st)
{
	size_t i = 0, j = 0, n = catalogue_count(old);
	struct tm tm;
	char when[64], *src = xstrdup(source);
	struct langs l = { NULL, 0 };

	langs_of(old, &l);
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	src[strcspn(src, "\r\n")] = '\0';
	put_header(out, &l);
	buf_printf(out, "\"%s%s from ", UPDATED_MARK, when);
	for (const char *p = src; *p; p++) {
		if (*p == '"')
			buf_putc(out, '"');
		buf_putc(out, *p);
	}
	buf_puts(out, "\",,,,,,,,,,");
	empty_texts(out, &l);
	free(src);
	while (i < n || j < s->n) {
		const struct catalogue_entry *e = catalogue_at(old, i);
		int cmp = i == n ? 1 : j == s->n ? -1 : strcmp(e->type, s->v[j].type);

		if (cmp <= 0) {
			entry_row(out, e, &l);
			st->kept++;
			i++;
			j += cmp == 0;
		} else if (catalogue_lookup(known, s->v[j].type) != NULL) {
			st->known++;
			j++;
		} else {
			schema_row(out, &s->v[j], &l);
			st->added_types = xreallocarray(st->added_types, st->added + 1, sizeof(char *));
			st->added_types[st->added++] = xstrdup(s->v[j++].type);
		}
	}
	free(l.v);
}

/* split - PATH's directory and base name */
static void
split(const char *path, char **dir, const char **base)
{
	const char *slash = strrchr(path, '/');

	*dir = slash ? xstrndup(path, slash == path ? 1 : (size_t)(slash - path)) : xstrdup(".");
	*base = slash ? slash + 1 : path;
}

static int
write_all(int fd, const char *data, size_t len)
{
	ssize_t w;

	while (len > 0) {
		if ((w = write(fd, data, len)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		data += w;
		len -= (size_t)w;
	}
	return 0;
}

/* check_back - the new file loads as the daemon will load it */
static int
check_back(const char *dir, const char *tmpname, char *err, size_t errlen)
{
	struct catalogue *c = catalogue_new();
	struct buf p = BUF_INIT;
	int rc;

	buf_printf(&p, "%s/%s", dir, tmpname);
	rc = catalogue_load(c, buf_cstr(&p), err, errlen);
	catalogue_free(c);
	buf_free(&p);
	return rc;
}

/* replace - write DATA as PATH: a new file beside it, read back, then renamed over it */
static int
replace(const char *path, const struct buf *data, char *err, size_t errlen)
{
	char *dir;
	const char *base;
	struct buf tmp = BUF_INIT;
	int dfd, fd = -1, rc = -1;

	split(path, &dir, &base);
	buf_printf(&tmp, ".%s.new", base);
	if ((dfd = safefile_dir(dir, 1, SAFEFILE_OWN_DIR, err, errlen)) < 0)
		goto out;
	if ((fd = safefile_create(dfd, buf_cstr(&tmp), 0640, err, errlen)) < 0)
		goto out;
	if (write_all(fd, data->data, data->len) != 0 || fsync(fd) != 0) {
		err_set(err, errlen, "%s/%s: %s", dir, buf_cstr(&tmp), strerror(errno));
		goto out;
	}
	if (check_back(dir, buf_cstr(&tmp), err, errlen) != 0)
		goto out;
	if (renameat(dfd, buf_cstr(&tmp), dfd, base) != 0) {
		err_set(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	fsync(dfd);
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (rc != 0 && dfd >= 0)
		unlinkat(dfd, buf_cstr(&tmp), 0);
	if (dfd >= 0)
		close(dfd);
	buf_free(&tmp);
	free(dir);
	return rc;
}

int
catalogue_update(const struct catalogue *known, const char *path, const struct schema *s, const char *source,
    time_t now, struct catalogue_update_stats *st, char *err, size_t errlen)
{
	struct catalogue *old;
	struct buf out = BUF_INIT;
	int rc;

	memset(st, 0, sizeof(*st));
	if ((old = old_rows(path, err, errlen)) == NULL)
		return -1;
	assemble(&out, known, old, s, source, now, st);
	rc = replace(path, &out, err, errlen);
	buf_free(&out);
	catalogue_free(old);
	return rc;
}

void
catalogue_update_stats_free(struct catalogue_update_stats *st)
{
	size_t i;

	for (i = 0; i < st->added; i++)
		free(st->added_types[i]);
	free(st->added_types);
	memset(st, 0, sizeof(*st));
}

/* written_at - the time of the comment row, or -1 */
static time_t
written_at(FILE *f)
{
	char line[1024];
	struct tm tm;
	int lines = 0;

	while (fgets(line, sizeof(line), f) && lines++ < 5) {
		const char *p = strstr(line, UPDATED_MARK);

		memset(&tm, 0, sizeof(tm));
		if (p && sscanf(p + strlen(UPDATED_MARK), "%4d-%2d-%2d %2d:%2d:%2d", &tm.tm_year, &tm.tm_mon,
		    &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec) == 6) {
			tm.tm_year -= 1900;
			tm.tm_mon -= 1;
			return timegm(&tm);
		}
	}
	return -1;
}

int
catalogue_update_info(const char *path, time_t *when, size_t *ntypes, char *err, size_t errlen)
{
	struct catalogue *c;
	struct stat st;
	FILE *f;

	if (stat(path, &st) != 0 && errno == ENOENT)
		return 0;
	if ((f = fopen(path, "r")) == NULL) {
		err_set(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	*when = written_at(f);
	if (*when == (time_t)-1)
		*when = st.st_mtime;
	fclose(f);
	c = catalogue_new();
	if (catalogue_load(c, path, err, errlen) != 0) {
		catalogue_free(c);
		return -1;
	}
	*ntypes = catalogue_count(c);
	catalogue_free(c);
	return 1;
}

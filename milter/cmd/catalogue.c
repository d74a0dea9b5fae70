/*
 * catalogue - "shadowmilter catalogue --update FILE|URL": the types ShadowServer added
 *
 * See catalogue.h.
 */
#include "cmd/catalogue.h"
#include "cmd/privs.h"
#include "cmd/usage.h"
#include "config/config.h"
#include "pipeline/linkfetch.h"
#include "report/catalogueupdate.h"
#include "report/fetch.h"
#include "report/schema.h"
#include "base/msg.h"
#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SCHEMA_HOST "interchange.shadowserver.org"	/* where ShadowServer publishes the schema */
#define SCHEMA_FILE_MAX (64ULL << 20)			/* a schema file read from disk, at most */

/* read_fd - all of FD, at most MAX bytes; 0, or -1 with ERR */
static int
read_fd(int fd, unsigned long long max, struct buf *out, const char *name, char *err, size_t errlen)
{
	char chunk[65536];
	ssize_t n;

	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err_set(err, errlen, "%s: %s", name, strerror(errno));
			return -1;
		}
		if (out->len + (size_t)n > max) {
			err_set(err, errlen, "%s: larger than %llu bytes: not a schema", name, max);
			return -1;
		}
		buf_append(out, chunk, (size_t)n);
	}
	return 0;
}

/* fetch_schema - URL's body under the fetch rules, with the schema's host allowed too */
static int
fetch_schema(const struct config *cfg, const char *url, struct buf *out, char *err, size_t errlen)
{
	struct fetch_opts o = linkfetch_opts(cfg);
	char **hosts = xcalloc(cfg->nlink_hosts + 1, sizeof(char *));
	struct fetch_result res;
	int rc = -1;

	memcpy(hosts, cfg->link_hosts, cfg->nlink_hosts * sizeof(char *));
	hosts[cfg->nlink_hosts] = SCHEMA_HOST;
	o.hosts = hosts;
	o.nhosts = cfg->nlink_hosts + 1;
	if (fetch_document(&o, url, &res, err, errlen) == FETCH_OK) {
		rc = read_fd(res.fd, o.max_size, out, url, err, errlen);
		fetch_result_free(&res);
	}
	free(hosts);
	return rc;
}

static int
read_source(const struct config *cfg, const char *src, struct buf *out, char *err, size_t errlen)
{
	int fd, rc;

	if (strncmp(src, "https://", 8) == 0 || strncmp(src, "http://", 7) == 0 || strstr(src, "://"))
		return fetch_schema(cfg, src, out, err, errlen);
	if ((fd = open(src, O_RDONLY | O_CLOEXEC)) < 0) {
		err_set(err, errlen, "%s: %s", src, strerror(errno));
		return -1;
	}
	rc = read_fd(fd, SCHEMA_FILE_MAX, out, src, err, errlen);
	close(fd);
	return rc;
}

static void
print_result(const struct config *cfg, const char *src, const struct schema *s,
    const struct catalogue_update_stats *st)
{
	size_t i;

	printf("%s: %zu report types in the schema: %zu known, %zu added, %zu kept as the site had them",
	    src, s->n, st->known, st->added, st->kept);
	if (s->skipped)
		printf(", %lu entries skipped (not report type names)", s->skipped);
	printf("\n");
	for (i = 0; i < st->added; i++)
		printf("added %s\n", st->added_types[i]);
	printf("written to %s; the daemon reads it at its next start or SIGHUP\n", cfg->updated_catalogue_path);
}

/* update - SRC into the config's UpdatedCatalogue; the exit status */
static int
update(const struct config *cfg, const char *src)
{
	struct buf data = BUF_INIT;
	struct schema s;
	struct catalogue_update_stats st;
	char err[1024];
	int rc = 1;

	memset(&s, 0, sizeof(s));
	memset(&st, 0, sizeof(st));
	if (*cfg->updated_catalogue_path == '\0')
		msg_error("%s: UpdatedCatalogue is empty: there is no file to write the types to", cfg->path);
	else if (privs_as_user(cfg, cfg->updated_catalogue_path, "catalogue", err, sizeof(err)) != 0 ||
	    read_source(cfg, src, &data, err, sizeof(err)) != 0)
		msg_error("%s", err);
	else if (schema_parse(data.data ? data.data : "", data.len, &s, err, sizeof(err)) != 0)
		msg_error("%s: %s", src, err);
	else if (catalogue_update(cfg->catalogue, cfg->updated_catalogue_path, &s, src, time(NULL), &st, err,
	    sizeof(err)) != 0)
		msg_error("%s", err);
	else {
		print_result(cfg, src, &s, &st);
		rc = 0;
	}
	catalogue_update_stats_free(&st);
	schema_free(&s);
	buf_free(&data);
	return rc;
}

int
catalogue_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' }, { "update", required_argument, NULL, 'u' },
		{ NULL, 0, NULL, 0 },
	};
	const char *conf = "/etc/shadowmilter/shadowmilter.conf", *src = NULL;
	struct config *cfg;
	char err[1024];
	int c, rc;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":c:", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': conf = optarg; break;
		case 'u': src = optarg; break;
		default: return usage_bad_option("catalogue", c, argv);
		}
	}
	if (optind != argc)
		return usage_error("catalogue", "unexpected argument \"%s\"", argv[optind]);
	if (src == NULL)
		return usage_error("catalogue", "--update FILE|URL is needed");
	if ((cfg = config_load(conf, err, sizeof(err))) == NULL) {
		msg_error("%s", err);
		return 2;
	}
	rc = update(cfg, src);
	config_free(cfg);
	return rc;
}

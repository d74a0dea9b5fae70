/*
 * check - "shadowmilter -n": what the daemon would refuse or trip over
 *
 * See check.h. Reachability is asked as UserID itself (privs_access), so
 * groups and every directory on the way count as they will for the daemon;
 * not run as root (nor as UserID), it can only be asked as ourselves.
 */
#include "cmd/check.h"
#include "cmd/privs.h"
#include "config/config.h"
#include "customers/tablesource.h"
#include "report/catalogue.h"
#include "report/catalogueupdate.h"
#include "base/msg.h"
#include "base/util.h"

#include <dirent.h>
#include <errno.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct check {
	const struct config *cfg;
	struct privs_user user;
	int have_user;
	int problems;
};

static void
report(struct check *c, FILE *f, const char *kind, const char *key, const char *fmt, va_list ap)
{
	char where[1024];

	config_where(c->cfg, key, where, sizeof(where));
	fprintf(f, "shadowmilter: %s: %s", where, kind);
	vfprintf(f, fmt, ap);
	fputc('\n', f);
}

/* problem - one thing the daemon would refuse or trip over */
static void __attribute__((format(printf, 3, 4)))
problem(struct check *c, const char *key, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report(c, stderr, "", key, fmt, ap);
	va_end(ap);
	c->problems++;
}

static void __attribute__((format(printf, 3, 4)))
warning(struct check *c, const char *key, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report(c, stdout, "warning: ", key, fmt, ap);
	va_end(ap);
}

/* reach - can the daemon's user reach PATH with MODE; 1 yes, 0 no, -1 cannot tell */
static int
reach(const struct check *c, const char *path, int mode)
{
	return c->have_user ? privs_access(&c->user, path, mode) : access(path, mode) == 0;
}

static const char *
who(const struct check *c)
{
	return c->have_user ? c->user.name : "this user";
}

static void
check_user(struct check *c)
{
	char why[256];

	if (c->cfg->user_id == NULL) {
		if (geteuid() == 0)
			problem(c, "UserID", "not set: the daemon refuses to run as root without one");
		return;
	}
	if (privs_lookup(c->cfg->user_id, &c->user, why, sizeof(why)) != 0)
		problem(c, "UserID", "%s", why);
	else
		c->have_user = 1;
}

/* check_dir - DIR exists, is a directory, and the user can MODE it */
static int
check_dir(struct check *c, const char *key, const char *dir, int mode, const char *what)
{
	struct stat st;

	if (stat(dir, &st) != 0) {
		problem(c, key, "directory %s: %s", dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		problem(c, key, "%s is not a directory", dir);
		return -1;
	}
	if (reach(c, dir, mode) == 0) {
		problem(c, key, "%s cannot %s %s", who(c), what, dir);
		return -1;
	}
	return 0;
}

/* check_file - PATH exists and the user can MODE it */
static void
check_file(struct check *c, const char *key, const char *path, int mode, const char *what)
{
	struct stat st;

	if (stat(path, &st) != 0)
		problem(c, key, "%s: %s", path, strerror(errno));
	else if (!S_ISREG(st.st_mode))
		problem(c, key, "%s is not a file", path);
	else if (reach(c, path, mode) == 0)
		problem(c, key, "%s cannot %s %s", who(c), what, path);
}

static void
check_pg(struct check *c, const char *key, const char *uri)
{
	PGconn *pg = PQconnectdb(uri);
	char *label = table_label(uri), *msg;

	if (PQstatus(pg) != CONNECTION_OK) {
		msg = xstrdup(PQerrorMessage(pg));
		msg[strcspn(msg, "\n")] = '\0';
		problem(c, key, "%s does not connect: %s", label, msg);
		free(msg);
	}
	PQfinish(pg);
	free(label);
}

/* check_database - a SQLite file the user can create and write, or a URI that connects */
static void
check_database(struct check *c, const char *key, const char *value)
{
	char *dir;
	struct stat st;

	if (value == NULL)
		return;
	if (strncmp(value, "postgresql://", 13) == 0 || strncmp(value, "postgres://", 11) == 0) {
		check_pg(c, key, value);
		return;
	}
	dir = xstrdup(value);
	if (strrchr(dir, '/'))
		*(strrchr(dir, '/') == dir ? dir + 1 : strrchr(dir, '/')) = '\0';
	else
		strcpy(dir, ".");
	if (check_dir(c, key, dir, W_OK | X_OK, "create files in") == 0 && stat(value, &st) == 0)
		check_file(c, key, value, R_OK | W_OK, "write");
	free(dir);
}

/* check_table - KEY's source (CustomerMap, AccountSettings) can be read (run, reached) as UserID */
static void
check_table(struct check *c, const char *key, const char *map)
{
	char *path;

	switch (table_kind(map)) {
	case TABLE_CSV:
		check_file(c, key, map, R_OK, "read");
		break;
	case TABLE_SQLITE:
		check_file(c, key, map + 7, R_OK, "read");
		break;
	case TABLE_EXEC:
		path = xstrndup(map + 5, strcspn(map + 5, " \t"));
		check_file(c, key, path, X_OK, "run");
		free(path);
		break;
	case TABLE_PG:
		check_pg(c, key, map);
		break;
	}
}

static void
check_customer_map(struct check *c)
{
	check_table(c, "CustomerMap", c->cfg->customer_map);
	if (c->cfg->account_settings)
		check_table(c, "AccountSettings", c->cfg->account_settings);
}

/* check_template_types - a TYPE.tmpl whose TYPE the catalogue does not know is never used */
static void
check_template_types(struct check *c)
{
	DIR *d = opendir(c->cfg->template_dir);
	struct dirent *e;
	size_t len;
	char *type;

	while (d && (e = readdir(d)) != NULL) {
		len = strlen(e->d_name);
		if (len <= 5 || strcmp(e->d_name + len - 5, ".tmpl") != 0)
			continue;
		type = xstrndup(e->d_name, len - 5);
		if (strcmp(type, "generic") != 0 && strcmp(type, "generic_event") != 0 &&
		    catalogue_lookup(c->cfg->catalogue, type) == NULL)
			warning(c, "TemplateDir", "%s/%s: report type %s is not in the catalogue, so this template "
			    "is never used (a typo? add the type to your Catalogue)", c->cfg->template_dir,
			    e->d_name, type);
		free(type);
	}
	if (d)
		closedir(d);
}

static void
check_templates(struct check *c)
{
	if (*c->cfg->template_dir == '\0')
		return;
	if (check_dir(c, "TemplateDir", c->cfg->template_dir, R_OK | X_OK, "read") == 0)
		check_template_types(c);
}

static void
check_transport(struct check *c)
{
	const char *t = c->cfg->transport;

	if (strncmp(t, "sendmail:", 9) == 0)
		check_file(c, "Transport", t + 9, X_OK, "run");
	/* smtp:HOST:PORT was parsed with the config */
}

/* smtpd_chrooted - Postfix's master.cf runs smtpd chrooted (Debian's does) */
static int
smtpd_chrooted(void)
{
	FILE *f = fopen("/etc/postfix/master.cf", "r");
	char line[1024], svc[64], type[16], priv[8], unpriv[8], chroot[8];
	int yes = 0;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %15s %7s %7s %7s", svc, type, priv, unpriv, chroot) == 5 &&
		    strcmp(type, "inet") == 0 && strstr(line, "smtpd") && strcmp(chroot, "y") == 0)
			yes = 1;
	if (f)
		fclose(f);
	return yes;
}

/* check_socket - a unix socket's directory exists and the MTA's user can reach it */
static void
check_socket(struct check *c)
{
	const char *s = c->cfg->socket, *path = strchr(s, ':') + 1;
	struct privs_user mta;
	char *dir, why[128];

	if (strncmp(s, "unix:", 5) != 0 && strncmp(s, "local:", 6) != 0)
		return;
	dir = xstrndup(path, (size_t)(strrchr(path, '/') - path));
	if (*dir == '\0')
		strcpy(dir, "/");
	if (check_dir(c, "Socket", dir, X_OK, "reach") == 0 && privs_lookup("postfix", &mta, why, sizeof(why)) == 0 &&
	    privs_access(&mta, dir, X_OK) == 0)
		problem(c, "Socket", "the MTA's user postfix cannot reach %s", dir);
	if (strncmp(path, "/var/spool/postfix/", 19) != 0 && smtpd_chrooted())
		warning(c, "Socket", "Postfix runs smtpd chrooted into /var/spool/postfix (master.cf), so it looks "
		    "for %s inside the chroot; put the socket under /var/spool/postfix/ and name it as smtpd sees it, "
		    "or use inet:PORT@127.0.0.1", path);
	free(dir);
}

#define CATALOGUE_STALE_DAYS 30	/* an UpdatedCatalogue older than this earns a warning */

/* check_updated_catalogue - how old the types "catalogue --update" added are, and whether the daemon reads them */
static void
check_updated_catalogue(struct check *c)
{
	const char *path = c->cfg->updated_catalogue_path;
	char err[512], day[32];
	time_t when, now = time(NULL);
	size_t ntypes = 0;
	struct tm tm;
	long days;
	int rc;

	if (*path == '\0')
		return;
	if ((rc = catalogue_update_info(path, &when, &ntypes, err, sizeof(err))) < 0) {
		problem(c, "UpdatedCatalogue", "%s", err);
		return;
	}
	if (rc == 0) {
		printf("UpdatedCatalogue %s: not written yet (shadowmilter catalogue --update URL adds the report "
		    "types ShadowServer published after this release)\n", path);
		return;
	}
	check_file(c, "UpdatedCatalogue", path, R_OK, "read");
	gmtime_r(&when, &tm);
	strftime(day, sizeof(day), "%Y-%m-%d %H:%M UTC", &tm);
	days = when < now ? (long)((now - when) / 86400) : 0;
	printf("UpdatedCatalogue %s: %zu report types, updated %s (%ld day%s ago)\n", path, ntypes, day, days,
	    days == 1 ? "" : "s");
	if (days > CATALOGUE_STALE_DAYS)
		warning(c, "UpdatedCatalogue", "%s was updated %ld days ago: run shadowmilter catalogue --update "
		    "https://interchange.shadowserver.org/intelmq/v1/schema", path, days);
}

int
check_setup(const char *conf)
{
	struct check c;
	struct config *cfg;
	char err[1024];

	if ((cfg = config_load(conf, err, sizeof(err))) == NULL) {
		msg_error("%s", err);
		return 1;
	}
	memset(&c, 0, sizeof(c));
	c.cfg = cfg;
	check_user(&c);
	check_database(&c, "StateDB", cfg->state_db);
	check_database(&c, "OutboxDB", cfg->outbox_db);
	check_customer_map(&c);
	check_templates(&c);
	check_updated_catalogue(&c);
	check_transport(&c);
	check_socket(&c);
	if (cfg->test_recipient)
		warning(&c, "TestRecipient", "rehearsal: every notice goes to %s, not to the customers",
		    cfg->test_recipient);
	config_free(cfg);
	return c.problems ? 1 : 0;
}

/*
 * config - the shadowmilter.conf file: opendkim-style "Key value" lines
 *
 * See config.h. Each key has one setter in the table below; the table is the
 * list of keys, so config_set and the README reference stay in step.
 */
#include "config/config.h"
#include "report/catalogue.h"
#include "trust/dkimverify.h"
#include "base/regex.h"
#include "notice/template.h"
#include "base/util.h"

#include <errno.h>
#include <sys/stat.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* Fallback when a file name carries no type: "Shadowserver scan_ntp-sample
 * Report" names it; otherwise match the human title. */
static const char *default_subject_rules[][2] = {
	{ "$1", "(?i)\\bshadowserver\\s+((?:scan6?|dns|sinkhole6?|honeypot|compromised|event4?|blocklist)_?[a-z0-9_]*)" },
	{ "scan_portmapper", "(?i)\\bopen\\s+portmapper\\b" },
	{ "scan_ntp", "(?i)\\bopen\\s+ntp\\b" },
	{ "scan_snmp", "(?i)\\bopen\\s+snmp\\b" },
	{ "scan_ssdp", "(?i)\\bopen\\s+ssdp\\b" },
	{ "scan_memcached", "(?i)\\bopen\\s+memcached\\b" },
	{ "scan_dns", "(?i)\\bopen\\s+(?:dns\\s+)?resolvers?\\b" },
};

static void
set_string(char **slot, const char *value)
{
	free(*slot);
	*slot = xstrdup(value);
}

/* resolve_path - VALUE relative to the config file's directory */
static char *
resolve_path(const struct config *cfg, const char *value)
{
	const char *slash;
	struct buf b = BUF_INIT;

	if (value[0] == '/' || cfg->path == NULL || (slash = strrchr(cfg->path, '/')) == NULL)
		return xstrdup(value);
	buf_append(&b, cfg->path, (size_t)(slash - cfg->path) + 1);
	buf_puts(&b, value);
	return buf_steal(&b);
}

static int
parse_unsigned(const char *value, unsigned long long max, unsigned long long *out)
{
	unsigned long long v;
	char *end;

	if (*value < '0' || *value > '9')
		return -1;
	errno = 0;
	v = strtoull(value, &end, 10);
	if (errno || v > max)
		return -1;
	switch (*end) {
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	}
	if (*end != '\0' || v > max)
		return -1;
	*out = v;
	return 0;
}

/* a plausible addr-spec: one '@', no spaces, controls or specials */
static int
valid_address(const char *s)
{
	const char *at = strchr(s, '@');
	const unsigned char *p;

	if (at == NULL || at == s || at[1] == '\0' || strchr(at + 1, '@') || strlen(s) > 254)
		return 0;
	for (p = (const unsigned char *)s; *p; p++)
		if (*p <= ' ' || *p >= 0x7f || strchr("<>()[]\\,;:\"", *p))
			return 0;
	return 1;
}

/* parse_plain_number - decimal digits only, no unit */
static int
parse_plain_number(const char *value, unsigned long long *out)
{
	char *end;

	if (*value < '0' || *value > '9')
		return -1;
	errno = 0;
	*out = strtoull(value, &end, 10);
	return errno || *end != '\0' ? -1 : 0;
}

static int
set_report_senders(struct config *cfg, const char *value, char *err, size_t errlen)
{
	char why[256];
	struct regex *re = regex_compile(value, why, sizeof(why));

	if (re == NULL) {
		err_set(err, errlen, "ReportSenders: \"%s\" is not a valid PCRE2 pattern: %s", value, why);
		return -1;
	}
	regex_free(cfg->report_senders);
	cfg->report_senders = re;
	return 0;
}

static int
set_report_envelope_senders(struct config *cfg, const char *value, char *err, size_t errlen)
{
	char why[256];
	struct regex *re = regex_compile(value, why, sizeof(why));

	if (re == NULL) {
		err_set(err, errlen, "ReportEnvelopeSenders: \"%s\" is not a valid PCRE2 pattern: %s", value, why);
		return -1;
	}
	regex_free(cfg->report_envelope_senders);
	cfg->report_envelope_senders = re;
	return 0;
}

static int
set_trusted_ids(struct config *cfg, const char *value, char *err, size_t errlen)
{
	char *copy = xstrdup(value), *tok, *save = NULL;
	size_t before = cfg->ntrusted;

	for (tok = strtok_r(copy, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
		cfg->trusted_authserv_ids = xreallocarray(cfg->trusted_authserv_ids,
		    cfg->ntrusted + 1, sizeof(char *));
		cfg->trusted_authserv_ids[cfg->ntrusted++] = xstrdup(tok);
	}
	free(copy);
	if (cfg->ntrusted == before) {
		err_set(err, errlen, "TrustedAuthservIDs: \"%s\" is not a list of one or more authserv-ids", value);
		return -1;
	}
	return 0;
}

/* ReportLinkHosts: the hosts a report link (or a Reports API download) is fetched from; replaces the default */
static int
set_link_hosts(struct config *cfg, const char *value, char *err, size_t errlen)
{
	char *copy = xstrdup(value), *tok, *save = NULL;
	size_t i;

	for (i = 0; i < cfg->nlink_hosts; i++)
		free(cfg->link_hosts[i]);
	cfg->nlink_hosts = 0;
	for (tok = strtok_r(copy, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
		cfg->link_hosts = xreallocarray(cfg->link_hosts, cfg->nlink_hosts + 1, sizeof(char *));
		cfg->link_hosts[cfg->nlink_hosts++] = xstrdup(tok);
	}
	free(copy);
	if (cfg->nlink_hosts == 0) {
		err_set(err, errlen, "ReportLinkHosts: \"%s\" is not a list of one or more host names", value);
		return -1;
	}
	return 0;
}

/* set_words - VALUE's words (space or comma separated) replace *LIST; -1 when there are none */
static int
set_words(char ***list, size_t *n, const char *key, const char *value, char *err, size_t errlen)
{
	char *copy = xstrdup(value), *tok, *save = NULL;
	size_t i;

	for (i = 0; i < *n; i++)
		free((*list)[i]);
	*n = 0;
	for (tok = strtok_r(copy, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
		*list = xreallocarray(*list, *n + 1, sizeof(char *));
		(*list)[(*n)++] = xstrdup(tok);
	}
	free(copy);
	if (*n == 0) {
		err_set(err, errlen, "%s: \"%s\" is not a list of one or more names", key, value);
		return -1;
	}
	return 0;
}

/* ReportsAPILists: the report lists ("reports") a pull asks for; unset: every one subscribed */
static int
set_api_lists(struct config *cfg, const char *value, char *err, size_t errlen)
{
	return set_words(&cfg->reports_api_lists, &cfg->nreports_api_lists, "ReportsAPILists", value, err, errlen);
}

/* ReportsAPITypes: the report types a pull fetches; unset: every type the catalogue knows */
static int
set_api_types(struct config *cfg, const char *value, char *err, size_t errlen)
{
	return set_words(&cfg->reports_api_types, &cfg->nreports_api_types, "ReportsAPITypes", value, err, errlen);
}

/* "SubjectType TYPE PATTERN": site rules go before the built-in ones */
static int
add_subject_rule(struct config *cfg, const char *value, char *err, size_t errlen)
{
	const char *sp = value + strcspn(value, " \t");
	struct subject_rule rule;

	char why[256];

	if (*sp == '\0') {
		err_set(err, errlen, "SubjectType: \"%s\" is not a report type followed by a pattern", value);
		return -1;
	}
	rule.type = xstrndup(value, (size_t)(sp - value));
	sp += strspn(sp, " \t");
	if ((rule.re = regex_compile(sp, why, sizeof(why))) == NULL) {
		err_set(err, errlen, "SubjectType: \"%s\" is not a report type followed by a valid PCRE2 pattern: %s",
		    value, why);
		free(rule.type);
		return -1;
	}
	cfg->subject_rules = xreallocarray(cfg->subject_rules, cfg->nsubject_rules + 1, sizeof(rule));
	memmove(cfg->subject_rules + cfg->nsite_subject_rules + 1,
	    cfg->subject_rules + cfg->nsite_subject_rules,
	    (cfg->nsubject_rules - cfg->nsite_subject_rules) * sizeof(rule));
	cfg->subject_rules[cfg->nsite_subject_rules++] = rule;
	cfg->nsubject_rules++;
	return 0;
}

/* NoticeSignature may span lines with a literal "\n" */
static char *
unescape_newlines(const char *value)
{
	struct buf b = BUF_INIT;

	for (; *value; value++) {
		if (value[0] == '\\' && value[1] == 'n') {
			buf_putc(&b, '\n');
			value++;
		} else
			buf_putc(&b, *value);
	}
	return buf_steal(&b);
}

static int
parse_bool(const char *value, int *out)
{
	if (!ascii_strcasecmp(value, "yes") || !ascii_strcasecmp(value, "true") || !strcmp(value, "1"))
		*out = 1;
	else if (!ascii_strcasecmp(value, "no") || !ascii_strcasecmp(value, "false") || !strcmp(value, "0"))
		*out = 0;
	else
		return -1;
	return 0;
}

static int
parse_octal_mode(const char *value, unsigned long long *out)
{
	char *end;

	if (*value < '0' || *value > '7')
		return -1;
	errno = 0;
	*out = strtoull(value, &end, 8);
	return errno || *end != '\0' || *out > 0777 ? -1 : 0;
}

/* parse_port - "1" to "65535", digits only */
static int
parse_port(const char *s, size_t len)
{
	unsigned long v = 0;
	size_t i;

	if (len == 0 || len > 5)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	return v >= 1 && v <= 65535 ? 0 : -1;
}

/* "sendmail:/PATH" or "smtp:HOST:PORT" (HOST may be [IPv6]) */
static int
set_transport(struct config *cfg, const char *value)
{
	const char *colon;

	if (strncmp(value, "sendmail:/", 10) == 0 && strlen(value) >= 11)
		;
	else if (strncmp(value, "smtp:", 5) != 0 || (colon = strrchr(value + 5, ':')) == NULL ||
	    colon == value + 5 || parse_port(colon + 1, strlen(colon + 1)) != 0)
		return -1;
	set_string(&cfg->transport, value);
	return 0;
}

/* "HH:MM", 00:00 to 23:59: the daily digests' time of day, in the host's local time */
static int
set_digest_time(struct config *cfg, const char *value)
{
	if (strlen(value) != 5 || value[2] != ':' || strspn(value, "0123456789:") != 5 ||
	    (value[0] - '0') * 10 + (value[1] - '0') > 23 || value[3] > '5')
		return -1;
	cfg->digest_minute = (unsigned)(((value[0] - '0') * 10 + (value[1] - '0')) * 60 +
	    (value[3] - '0') * 10 + (value[4] - '0'));
	return 0;
}

static int
set_report_action(struct config *cfg, const char *value)
{
	if (!ascii_strcasecmp(value, "pass"))
		cfg->report_action = REPORT_PASS;
	else if (!ascii_strcasecmp(value, "discard"))
		cfg->report_action = REPORT_DISCARD;
	else if (!ascii_strncasecmp(value, "redirect ", 9) && valid_address(value + 9 + strspn(value + 9, " \t"))) {
		set_string(&cfg->redirect_to, value + 9 + strspn(value + 9, " \t"));
		cfg->report_action = REPORT_REDIRECT;
	} else
		return -1;
	return 0;
}

/* valid_socket - unix:/PATH (fits sun_path), or inet:PORT[@HOST] with PORT 1..65535 */
static int
valid_socket(const char *value)
{
	const char *rest = strchr(value, ':') + 1, *at;

	if (strncmp(value, "unix:", 5) == 0 || strncmp(value, "local:", 6) == 0)
		return rest[0] == '/' && strlen(rest) < 108;
	if ((at = strchr(rest, '@')) != NULL && at[1] == '\0')
		return 0;
	return parse_port(rest, at ? (size_t)(at - rest) : strlen(rest)) == 0;
}

static int
set_socket(struct config *cfg, const char *value)
{
	if ((strncmp(value, "unix:", 5) != 0 && strncmp(value, "local:", 6) != 0 &&
	    strncmp(value, "inet:", 5) != 0 && strncmp(value, "inet6:", 6) != 0) || !valid_socket(value))
		return -1;
	set_string(&cfg->socket, value);
	return 0;
}

/* "ActionSeverities critical high medium": the ratings that get ACTION REQUIRED */
static int
set_action_severities(struct config *cfg, const char *value)
{
	char *copy = xstrdup(value), *tok, *save = NULL;
	unsigned bits = 0, bit;
	int rc = 0;

	for (tok = strtok_r(copy, ", \t", &save); tok && rc == 0; tok = strtok_r(NULL, ", \t", &save))
		if ((bit = catalogue_severity_bit(tok)) == 0)
			rc = -1;
		else
			bits |= bit;
	free(copy);
	if (rc != 0 || bits == 0)
		return -1;
	cfg->action_severities = bits;
	return 0;
}

/* "CustomerMap customers.csv", "sqlite:map.db", "postgresql://...", "exec:/PATH ARGS" */
/* set_table_source - a CSV file (relative to the config), sqlite:FILE, a postgresql:// URI or exec:/PATH */
static int
set_table_source(struct config *cfg, char **field, const char *value)
{
	struct buf b = BUF_INIT;
	char *path;

	if (strncmp(value, "exec:", 5) == 0) {
		if (value[5] != '/')
			return -1;
		set_string(field, value);
	} else if (strncmp(value, "sqlite:", 7) == 0) {
		if (value[7] == '\0')
			return -1;
		path = resolve_path(cfg, value + 7);
		buf_printf(&b, "sqlite:%s", path);
		free(path);
		free(*field);
		*field = buf_steal(&b);
	} else if (strncmp(value, "postgresql://", 13) == 0 || strncmp(value, "postgres://", 11) == 0) {
		set_string(field, value);
	} else {
		free(*field);
		*field = resolve_path(cfg, value);
	}
	return 0;
}

static int
set_customer_map(struct config *cfg, const char *value)
{
	return set_table_source(cfg, &cfg->customer_map, value);
}

static int
set_account_settings(struct config *cfg, const char *value)
{
	return set_table_source(cfg, &cfg->account_settings, value);
}

static int
set_subject_tag(struct config *cfg, const char *value)
{
	set_string(&cfg->report_subject_tag, strcmp(value, "none") ? value : "");
	return 0;
}

/*
 * The keys. Each row names its key, its default (as the file would say it;
 * config_new applies it as it applies a line of the file, and test_config
 * checks it against shadowmilter.conf(5)), the kind of value, where it goes
 * and the rule a value must follow; an error message is always "Key: "value" is not
 * RULE", so it names all three. Numbers take MIN..MAX; a KEY_CUSTOM row has a
 * setter of its own that returns -1 when the value breaks the rule, and
 * KEY_CHECKED rows (regexes, lists) write their own message.
 */
enum key_kind {
	KEY_PATH,		/* a file name, relative to the config file's directory */
	KEY_STRING,		/* text as given */
	KEY_TEXT,		/* text where "\n" starts a new line */
	KEY_ADDRESS,		/* one addr-spec */
	KEY_NUMBER,		/* MIN..MAX, no suffix */
	KEY_SIZE,		/* MIN..MAX, with an optional k, M or G suffix */
	KEY_DURATION,		/* "0" or a number with s, m, h, d or w; seconds */
	KEY_BOOL,		/* yes/no, true/false, 1/0 */
	KEY_OCTAL,		/* a file mode, 0 to 0777 */
	KEY_DATABASE,		/* a SQLite file (a KEY_PATH), or a PostgreSQL URI kept as it is */
	KEY_CUSTOM,		/* set(cfg, value): -1 when the value breaks the rule */
	KEY_CHECKED,		/* check(cfg, value, err): writes its own message */
};

struct config_key {
	const char *name;
	enum key_kind kind;
	size_t offset;			/* of the field in struct config */
	size_t width;			/* of the field, for numbers */
	unsigned long long min, max;
	const char *rule;		/* what a valid value is, for the error message */
	int (*set)(struct config *, const char *);
	int (*check)(struct config *, const char *, char *, size_t);
	const char *def;		/* the default, as the file would say it; NULL: none (unset) */
};

#define FIELD(f)	offsetof(struct config, f), sizeof(((struct config *)0)->f)
#define PATH(k, d, f)	{ k, KEY_PATH, FIELD(f), 0, 0, "a file name", NULL, NULL, d }
#define DATABASE(k, d, f) { k, KEY_DATABASE, FIELD(f), 0, 0, "a SQLite file name or a postgresql:// URI", NULL, NULL, d }
#define STRING(k, d, f)	{ k, KEY_STRING, FIELD(f), 0, 0, "text", NULL, NULL, d }
#define ADDRESS(k, d, f) { k, KEY_ADDRESS, FIELD(f), 0, 0, "a mail address such as abuse@example.net", NULL, NULL, d }
#define NUMBER(k, d, f, lo, hi, what) { k, KEY_NUMBER, FIELD(f), lo, hi, what, NULL, NULL, d }
#define SIZE(k, d, f, lo, hi, what) { k, KEY_SIZE, FIELD(f), lo, hi, what, NULL, NULL, d }
#define CUSTOM(k, d, fn, what) { k, KEY_CUSTOM, 0, 0, 0, 0, what, fn, NULL, d }
#define CHECKED(k, d, fn) { k, KEY_CHECKED, 0, 0, 0, 0, NULL, NULL, fn, d }

static const struct config_key keys[] = {
	/* what a report is and who may send one */
	CHECKED("ReportSenders", "(?i)^autoreports@shadowserver\\.org$", set_report_senders),
	CHECKED("TrustedAuthservIDs", NULL, set_trusted_ids),
	STRING("ReportDKIMDomain", "shadowserver.org", report_dkim_domain),
	{ "VerifyDKIM", KEY_BOOL, FIELD(verify_dkim), 0, 1, "yes or no", NULL, NULL, "yes" },
	PATH("TestPublicKeys", NULL, test_public_keys),
	NUMBER("DNSTimeout", "5", dns_timeout, 1, 60, "a number of seconds from 1 to 60"),
	CHECKED("ReportEnvelopeSenders", NULL, set_report_envelope_senders),
	CHECKED("SubjectType", NULL, add_subject_rule),
	/* the customers and the notices */
	CUSTOM("CustomerMap", NULL, set_customer_map,
	    "a CSV file, sqlite:FILE, a postgresql:// URI or exec:/PATH [ARGS]"),
	STRING("CustomerMapQuery", NULL, customer_map_query),
	{ "CustomerMapTimeout", KEY_DURATION, FIELD(customer_map_timeout), 1, 3600,
	    "a duration from 1s to 1h, such as 60s", NULL, NULL, "60s" },
	{ "CustomerMapRefresh", KEY_DURATION, FIELD(customer_map_refresh), 0, 0,
	    "0 (only on SIGHUP) or a duration such as 15m", NULL, NULL, "15m" },
	NUMBER("CustomerMapMaxShrink", "50", customer_map_max_shrink, 0, 100, "a percentage from 0 to 100"),
	{ "AllowEmptyCustomerMap", KEY_BOOL, FIELD(allow_empty_map), 0, 1, "yes or no", NULL, NULL, "no" },
	CUSTOM("AccountSettings", NULL, set_account_settings,
	    "a CSV file, sqlite:FILE, a postgresql:// URI or exec:/PATH [ARGS]"),
	STRING("AccountSettingsQuery", NULL, account_settings_query),
	PATH("TemplateDir", "", template_dir),
	PATH("Catalogue", "", catalogue_path),
	PATH("UpdatedCatalogue", "/var/lib/shadowmilter/catalogue-updates.csv", updated_catalogue_path),
	STRING("Organization", "Example Hosting", organization),
	ADDRESS("NoticeFrom", "abuse@example.net", notice_from),
	ADDRESS("SupportAddress", "support@example.net", support_address),
	STRING("PolicyURL", "", policy_url),
	{ "NoticeSignature", KEY_TEXT, FIELD(signature), 0, 0, "text", NULL, NULL, "" },
	NUMBER("GraceDays", "21", grace_days, 0, 3650, "a number of days from 0 to 3650"),
	CUSTOM("ActionSeverities", "critical high medium", set_action_severities,
	    "a list of one or more of critical, high, medium, low and info"),
	{ "InfoNotices", KEY_BOOL, FIELD(info_notices), 0, 1, "yes or no", NULL, NULL, "yes" },
	/* limits on what a report may cost */
	PATH("TempDir", "/tmp", tmp_dir),
	SIZE("MaxAttachmentSize", "512M", max_attachment_size, 1, 1ULL << 40, "a size from 1 to 1T, such as 512M"),
	SIZE("MaxCSVSize", "2G", max_csv_size, 1, 1ULL << 40, "a size from 1 to 1T, such as 2G"),
	SIZE("MaxRows", "5000000", max_rows, 1, 1ULL << 40, "a number of rows from 1 to 1T, such as 5M"),
	NUMBER("MaxReportFiles", "64", max_report_files, 1, 1000000, "a number of files from 1 to 1000000"),
	NUMBER("MaxColumns", "1024", max_columns, 1, 1000000, "a number of columns from 1 to 1000000"),
	SIZE("MaxReportMemory", "64M", max_report_memory, 1, 1ULL << 40, "a size from 1 to 1T, such as 64M"),
	NUMBER("MaxHeaders", "1000", max_headers, 0, 100000, "a number of headers from 0 to 100000"),
	SIZE("MaxHeaderBytes", "1M", max_header_bytes, 1, 1ULL << 40, "a size from 1 to 1T, such as 1M"),
	SIZE("MaxReportSize", "1G", max_report_size, 1, 1ULL << 40, "a size from 1 to 1T, such as 1G"),
	/* reports fetched from ShadowServer (link-only mails) */
	CHECKED("ReportLinkHosts", "dl.shadowserver.org", set_link_hosts),
	{ "FetchTimeout", KEY_DURATION, FIELD(fetch_timeout), 1, 3600,
	    "a duration from 1s to 1h, such as 5m", NULL, NULL, "5m" },
	PATH("CAFile", "", ca_file),
	/* the Reports API */
	STRING("ReportsAPIKey", "", reports_api_key),
	PATH("ReportsAPISecretFile", "", reports_api_secret_file),
	STRING("ReportsAPIURL", "https://transform.shadowserver.org/api2/", reports_api_url),
	STRING("ReportDownloadURL", "https://dl.shadowserver.org/", report_download_url),
	CHECKED("ReportsAPILists", NULL, set_api_lists),
	CHECKED("ReportsAPITypes", NULL, set_api_types),
	{ "ReportsAPIInterval", KEY_DURATION, FIELD(reports_api_interval), 0, 0,
	    "0 (never) or a duration such as 1h", NULL, NULL, "0" },
	{ "ReportsAPIWindow", KEY_DURATION, FIELD(reports_api_window), 86400, 366 * 86400,
	    "a duration from 1d to 366d, such as 2d", NULL, NULL, "2d" },
	/* the daemon */
	CUSTOM("Socket", "unix:/var/spool/postfix/shadowmilter/shadowmilter.sock", set_socket,
	    "unix:/PATH or inet:PORT@HOST with a PORT from 1 to 65535"),
	STRING("UserID", NULL, user_id),
	PATH("PidFile", "", pid_file),
	{ "SocketMode", KEY_OCTAL, FIELD(socket_mode), 0, 0777, "an octal file mode such as 0660", NULL, NULL, "0660" },
	CUSTOM("ReportSubjectTag", "none", set_subject_tag, "text, or none"),
	CUSTOM("ReportAction", "pass", set_report_action, "pass, discard or redirect ADDRESS"),
	/* the outbox and its delivery */
	DATABASE("OutboxDB", "/var/lib/shadowmilter/outbox.db", outbox_db),
	CUSTOM("Transport", "sendmail:/usr/sbin/sendmail", set_transport,
	    "sendmail:/PATH or smtp:HOST:PORT with a PORT from 1 to 65535"),
	ADDRESS("TestRecipient", NULL, test_recipient),
	ADDRESS("OpsAddress", NULL, ops_address),
	NUMBER("MaxRetryDays", "5", max_retry_days, 0, 365, "a number of days from 0 to 365"),
	NUMBER("DeliverInterval", "30", deliver_interval, 1, 86400, "a number of seconds from 1 to 86400"),
	NUMBER("RetryInterval", "60", retry_interval, 1, 86400, "a number of seconds from 1 to 86400"),
	{ "DeliveryLease", KEY_DURATION, FIELD(delivery_lease), 5, 86400,
	    "a duration from 5s to 1d, such as 15m", NULL, NULL, "15m" },
	CUSTOM("DigestTime", "08:00", set_digest_time, "a local time of day HH:MM, from 00:00 to 23:59"),
	SIZE("DigestMaxSize", "4M", digest_max_size, 1, 1ULL << 40, "a size from 1 to 1T, such as 4M"),
	/* the detection history */
	DATABASE("StateDB", NULL, state_db),
	{ "RenotifyInterval", KEY_DURATION, FIELD(renotify_interval), 0, 0,
	    "0 or a duration such as 12h or 7d", NULL, NULL, "0" },
	{ "InfoRenotifyInterval", KEY_DURATION, FIELD(info_renotify_interval), 0, 0,
	    "0 or a duration such as 30d or 4w", NULL, NULL, "30d" },
	{ "NotifyResolved", KEY_BOOL, FIELD(notify_resolved), 0, 1, "yes or no", NULL, NULL, "no" },
	NUMBER("ResolveAfterDays", "7", resolve_after_days, 0, 3650, "a number of days from 0 (never) to 3650"),
	NUMBER("RetainDays", "365", retain_days, 1, 36500, "a number of days from 1 to 36500"),
};

static const struct config_key *
find_key(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!ascii_strcasecmp(keys[i].name, name))
			return &keys[i];
	return NULL;
}

/* store_number - V into a numeric field of WIDTH bytes (unsigned, long or long long) */
static void
store_number(void *slot, size_t width, unsigned long long v)
{
	if (width == sizeof(unsigned))
		*(unsigned *)slot = (unsigned)v;
	else if (width == sizeof(unsigned long))
		*(unsigned long *)slot = (unsigned long)v;
	else
		*(unsigned long long *)slot = v;
}

/* apply_key - 0, or -1 when VALUE breaks K's rule (the caller says so) */
static int
apply_key(struct config *cfg, const struct config_key *k, const char *value)
{
	void *slot = (char *)cfg + k->offset;
	unsigned long long n = 0;
	unsigned long seconds;
	int flag;

	switch (k->kind) {
	case KEY_PATH:
		free(*(char **)slot);
		*(char **)slot = resolve_path(cfg, value);
		return 0;
	case KEY_DATABASE:	/* any libpq URI goes to libpq untouched */
		free(*(char **)slot);
		*(char **)slot = strncmp(value, "postgresql://", 13) == 0 || strncmp(value, "postgres://", 11) == 0 ?
		    xstrdup(value) : resolve_path(cfg, value);
		return 0;
	case KEY_STRING:
		set_string(slot, value);
		return 0;
	case KEY_TEXT:
		free(*(char **)slot);
		*(char **)slot = unescape_newlines(value);
		return 0;
	case KEY_ADDRESS:
		if (!valid_address(value))
			return -1;
		set_string(slot, value);
		return 0;
	case KEY_NUMBER:
	case KEY_SIZE:
		if ((k->kind == KEY_NUMBER ? parse_plain_number(value, &n) : parse_unsigned(value, k->max, &n)) != 0 ||
		    n < k->min || n > k->max)
			return -1;
		store_number(slot, k->width, n);
		return 0;
	case KEY_DURATION:	/* MIN..MAX seconds when MAX is set */
		if (duration_parse(value, &seconds) != 0 || (k->max && (seconds < k->min || seconds > k->max)))
			return -1;
		*(unsigned long *)slot = seconds;
		return 0;
	case KEY_BOOL:
		if (parse_bool(value, &flag) != 0)
			return -1;
		*(int *)slot = flag;
		return 0;
	case KEY_OCTAL:
		if (parse_octal_mode(value, &n) != 0)
			return -1;
		store_number(slot, k->width, n);
		return 0;
	case KEY_CUSTOM:
		return k->set(cfg, value);
	case KEY_CHECKED:
		break;
	}
	return -1;
}

int
config_set(struct config *cfg, const char *key, const char *value, char *err, size_t errlen)
{
	const struct config_key *k = find_key(key);

	if (k == NULL) {
		err_set(err, errlen, "unknown key \"%s\"", key);
		return -1;
	}
	if (k->kind == KEY_CHECKED)
		return k->check(cfg, value, err, errlen);
	if (apply_key(cfg, k, value) != 0) {
		err_set(err, errlen, "%s: \"%s\" is not %s", k->name, value, k->rule);
		return -1;
	}
	return 0;
}

size_t
config_key_count(void)
{
	return sizeof(keys) / sizeof(keys[0]);
}

const char *
config_key_name(size_t i)
{
	return i < config_key_count() ? keys[i].name : NULL;
}

const char *
config_key_default(size_t i)
{
	return i < config_key_count() ? keys[i].def : NULL;
}

/* add_builtin_subject_rules - the SubjectType rules tried after the site's */
static void
add_builtin_subject_rules(struct config *cfg)
{
	char err[256];
	size_t i;

	for (i = 0; i < sizeof(default_subject_rules) / sizeof(default_subject_rules[0]); i++) {
		cfg->subject_rules = xreallocarray(cfg->subject_rules, cfg->nsubject_rules + 1,
		    sizeof(*cfg->subject_rules));
		cfg->subject_rules[cfg->nsubject_rules].type = xstrdup(default_subject_rules[i][0]);
		cfg->subject_rules[cfg->nsubject_rules].re =
		    regex_compile(default_subject_rules[i][1], err, sizeof(err));
		cfg->nsubject_rules++;
	}
}

struct config *
config_new(void)
{
	struct config *cfg = xcalloc(1, sizeof(*cfg));
	char err[512];
	size_t i;

	for (i = 0; i < config_key_count(); i++)
		if (keys[i].def && config_set(cfg, keys[i].name, keys[i].def, err, sizeof(err)) != 0) {
			fprintf(stderr, "shadowmilter: the default of %s\n", err);	/* a bug: test_config fails */
			abort();
		}
	add_builtin_subject_rules(cfg);
	return cfg;
}

/* config_check - what must hold once the whole file is read */
static int
config_check(const struct config *cfg, char *err, size_t errlen)
{
	if (cfg->customer_map == NULL) {
		err_set(err, errlen, "%s: CustomerMap is required", cfg->path);
		return -1;
	}
	if ((strncmp(cfg->customer_map, "sqlite:", 7) == 0 || strncmp(cfg->customer_map, "postgres", 8) == 0) &&
	    cfg->customer_map_query == NULL) {
		err_set(err, errlen, "%s: CustomerMapQuery is required with an SQL CustomerMap "
		    "(SELECT prefix, account, email FROM ...)", cfg->path);
		return -1;
	}
	if (cfg->account_settings && (strncmp(cfg->account_settings, "sqlite:", 7) == 0 ||
	    strncmp(cfg->account_settings, "postgres", 8) == 0) && cfg->account_settings_query == NULL) {
		err_set(err, errlen, "%s: AccountSettingsQuery is required with an SQL AccountSettings "
		    "(SELECT account, language, cc, notify, renotify, digest FROM ...)", cfg->path);
		return -1;
	}
	if (!cfg->verify_dkim && cfg->ntrusted == 0) {
		err_set(err, errlen, "%s: TrustedAuthservIDs is required with VerifyDKIM no "
		    "(the authserv-id your DKIM verifier writes in Authentication-Results)", cfg->path);
		return -1;
	}
	return 0;
}

/* open_dkim_keys - the key source our own verification uses (VerifyDKIM yes) */
static int
open_dkim_keys(struct config *cfg, char *err, size_t errlen)
{
	char why[512];

	if (!cfg->verify_dkim)
		return 0;
	if ((cfg->dkim_keys = dkim_keys_new(cfg->test_public_keys, cfg->dns_timeout, why, sizeof(why))) == NULL) {
		err_set(err, errlen, "%s: %s", cfg->path, why);
		return -1;
	}
	return 0;
}

static int
parse_line(struct config *cfg, char *line, unsigned lineno, char *err, size_t errlen)
{
	char *key, *value, *hash;

	if ((hash = strchr(line, '#')) != NULL && (hash == line || hash[-1] == ' ' || hash[-1] == '\t'))
		*hash = '\0';
	key = ascii_trim(line);
	if (*key == '\0')
		return 0;
	value = key + strcspn(key, " \t");
	if (*value != '\0')
		*value++ = '\0';
	value = ascii_trim(value);
	if (*value == '\0') {
		err_set(err, errlen, "%s: no value given", key);
		return -1;
	}
	if (config_set(cfg, key, value, err, errlen) != 0)
		return -1;
	if (cfg->key_lines == NULL)
		cfg->key_lines = xcalloc(config_key_count(), sizeof(*cfg->key_lines));
	cfg->key_lines[find_key(key) - keys] = lineno;
	return 0;
}

unsigned
config_key_line(const struct config *cfg, const char *key)
{
	const struct config_key *k = find_key(key);

	return k && cfg->key_lines ? cfg->key_lines[k - keys] : 0;
}

void
config_where(const struct config *cfg, const char *key, char *out, size_t outlen)
{
	unsigned line = config_key_line(cfg, key);

	if (line)
		snprintf(out, outlen, "%s:%u: %s", cfg->path, line, key);
	else
		snprintf(out, outlen, "%s: %s (default)", cfg->path ? cfg->path : "(no file)", key);
}

struct config *
config_load(const char *path, char *err, size_t errlen)
{
	struct config *cfg = config_new();
	char *line = NULL, msg[512];
	size_t cap = 0;
	unsigned lineno = 0;
	FILE *f;

	cfg->path = xstrdup(path);
	if ((f = fopen(path, "r")) == NULL) {
		err_set(err, errlen, "%s: %s", path, strerror(errno));
		config_free(cfg);
		return NULL;
	}
	while (getline(&line, &cap, f) != -1) {
		lineno++;
		if (parse_line(cfg, line, lineno, msg, sizeof(msg)) != 0) {
			err_set(err, errlen, "%s:%u: %s", path, lineno, msg);
			free(line);
			fclose(f);
			config_free(cfg);
			return NULL;
		}
	}
	free(line);
	fclose(f);
	if (config_check(cfg, err, errlen) != 0 || open_dkim_keys(cfg, err, errlen) != 0) {
		config_free(cfg);
		return NULL;
	}
	if (config_load_catalogue(cfg, msg, sizeof(msg)) != 0) {	/* the site's file, most likely: say which key */
		char where[512];
		const char *upd = cfg->updated_catalogue_path;
		int updated = *upd && strncmp(msg, upd, strlen(upd)) == 0 && msg[strlen(upd)] == ':';

		config_where(cfg, updated ? "UpdatedCatalogue" : "Catalogue", where, sizeof(where));
		err_set(err, errlen, "%s: %s", *cfg->catalogue_path || updated ? where : cfg->path, msg);
		config_free(cfg);
		return NULL;
	}
	return cfg;
}

/*
 * load_updated_catalogue - the types "catalogue --update" added, when it has
 * written its file. A file this user cannot even see (the state directory is
 * the daemon's, 0750: an admin's replay) is left out, not an error: the
 * types it adds only change wording, and "shadowmilter -n" checks that the
 * daemon's user can read it.
 */
static int
load_updated_catalogue(const struct config *cfg, struct catalogue *c, char *err, size_t errlen)
{
	const char *path = cfg->updated_catalogue_path;
	struct stat st;

	if (*path == '\0' || stat(path, &st) != 0)
		return 0;
	return catalogue_load_new(c, path, err, errlen);
}

int
config_load_catalogue(struct config *cfg, char *err, size_t errlen)
{
	struct catalogue *c = catalogue_new();
	struct buf shipped = BUF_INIT;
	int rc = -1;

	buf_printf(&shipped, "%s/catalogue.csv", template_shipped_dir());
	if (catalogue_load(c, buf_cstr(&shipped), err, errlen) == 0 &&
	    (*cfg->catalogue_path == '\0' || catalogue_load(c, cfg->catalogue_path, err, errlen) == 0) &&
	    load_updated_catalogue(cfg, c, err, errlen) == 0 && catalogue_check(c, err, errlen) == 0) {
		catalogue_free(cfg->catalogue);
		cfg->catalogue = c;
		c = NULL;
		rc = 0;
	}
	catalogue_free(c);
	buf_free(&shipped);
	return rc;
}

int
config_is_trusted_authserv(const struct config *cfg, const char *id)
{
	size_t i;

	for (i = 0; i < cfg->ntrusted; i++)
		if (!ascii_strcasecmp(cfg->trusted_authserv_ids[i], id))
			return 1;
	return 0;
}

void
config_free(struct config *cfg)
{
	size_t i;

	if (cfg == NULL)
		return;
	for (i = 0; i < cfg->ntrusted; i++)
		free(cfg->trusted_authserv_ids[i]);
	free(cfg->trusted_authserv_ids);
	for (i = 0; i < cfg->nlink_hosts; i++)
		free(cfg->link_hosts[i]);
	free(cfg->link_hosts);
	free(cfg->ca_file);
	free(cfg->reports_api_key);
	free(cfg->reports_api_secret_file);
	free(cfg->reports_api_url);
	free(cfg->report_download_url);
	for (i = 0; i < cfg->nreports_api_lists; i++)
		free(cfg->reports_api_lists[i]);
	free(cfg->reports_api_lists);
	for (i = 0; i < cfg->nreports_api_types; i++)
		free(cfg->reports_api_types[i]);
	free(cfg->reports_api_types);
	for (i = 0; i < cfg->nsubject_rules; i++) {
		free(cfg->subject_rules[i].type);
		regex_free(cfg->subject_rules[i].re);
	}
	free(cfg->subject_rules);
	regex_free(cfg->report_senders);
	free(cfg->path);
	free(cfg->customer_map);
	free(cfg->customer_map_query);
	free(cfg->account_settings);
	free(cfg->account_settings_query);
	free(cfg->report_dkim_domain);
	free(cfg->test_public_keys);
	dkim_keys_free(cfg->dkim_keys);
	regex_free(cfg->report_envelope_senders);
	free(cfg->template_dir);
	free(cfg->catalogue_path);
	free(cfg->updated_catalogue_path);
	catalogue_free(cfg->catalogue);
	free(cfg->organization);
	free(cfg->notice_from);
	free(cfg->support_address);
	free(cfg->policy_url);
	free(cfg->signature);
	free(cfg->tmp_dir);
	free(cfg->socket);
	free(cfg->user_id);
	free(cfg->pid_file);
	free(cfg->outbox_db);
	free(cfg->transport);
	free(cfg->test_recipient);
	free(cfg->ops_address);
	free(cfg->report_subject_tag);
	free(cfg->redirect_to);
	free(cfg->state_db);
	free(cfg->key_lines);
	free(cfg);
}

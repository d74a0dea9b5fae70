/*
 * config - the shadowmilter.conf file: opendkim-style "Key value" lines
 *
 * See config.h. Each key has one setter in the table below; the table is the
 * list of keys, so config_set and the README reference stay in step.
 */
#include "config.h"
#include "catalogue.h"
#include "regex.h"
#include "template.h"
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_REPORT_SENDERS	"(?i)^autoreports@shadowserver\\.org$"

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

struct config *
config_defaults(void)
{
	struct config *cfg = xcalloc(1, sizeof(*cfg));
	char err[256];
	size_t i;

	cfg->report_senders = regex_compile(DEFAULT_REPORT_SENDERS, err, sizeof(err));
	cfg->report_dkim_domain = xstrdup("shadowserver.org");
	cfg->template_dir = xstrdup("");
	cfg->catalogue_path = xstrdup("");
	cfg->organization = xstrdup("Example Hosting");
	cfg->notice_from = xstrdup("abuse@example.net");
	cfg->support_address = xstrdup("support@example.net");
	cfg->policy_url = xstrdup("");
	cfg->signature = xstrdup("");
	cfg->grace_days = 21;
	cfg->tmp_dir = xstrdup("/tmp");
	cfg->max_attachment_size = 512ULL << 20;
	cfg->max_csv_size = 2048ULL << 20;
	cfg->max_rows = 5000000;
	cfg->socket = xstrdup("unix:/run/shadowmilter/shadowmilter.sock");
	cfg->pid_file = xstrdup("");
	cfg->socket_mode = 0660;
	cfg->outbox_db = xstrdup("/var/lib/shadowmilter/outbox.db");
	cfg->transport = xstrdup("sendmail:/usr/sbin/sendmail");
	cfg->max_retry_days = 5;
	cfg->report_subject_tag = xstrdup("[shadowmilter]");
	cfg->report_action = REPORT_PASS;
	cfg->max_headers = 1000;
	cfg->max_header_bytes = 1ULL << 20;
	cfg->max_report_size = 1ULL << 30;
	cfg->deliver_interval = 30;
	cfg->retry_interval = 60;
	cfg->resolve_after_days = 7;
	cfg->retain_days = 365;
	for (i = 0; i < sizeof(default_subject_rules) / sizeof(default_subject_rules[0]); i++) {
		cfg->subject_rules = xreallocarray(cfg->subject_rules, cfg->nsubject_rules + 1,
		    sizeof(*cfg->subject_rules));
		cfg->subject_rules[cfg->nsubject_rules].type = xstrdup(default_subject_rules[i][0]);
		cfg->subject_rules[cfg->nsubject_rules].re =
		    regex_compile(default_subject_rules[i][1], err, sizeof(err));
		cfg->nsubject_rules++;
	}
	return cfg;
}

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

static int
set_address(char **slot, const char *value, char *err, size_t errlen)
{
	if (!valid_address(value)) {
		err_set(err, errlen, "not a mail address: \"%s\"", value);
		return -1;
	}
	set_string(slot, value);
	return 0;
}

static int
set_regex(struct regex **slot, const char *value, char *err, size_t errlen)
{
	struct regex *re = regex_compile(value, err, errlen);

	if (re == NULL)
		return -1;
	regex_free(*slot);
	*slot = re;
	return 0;
}

static int
set_trusted_ids(struct config *cfg, const char *value, char *err, size_t errlen)
{
	char *copy = xstrdup(value), *tok, *save = NULL;

	for (tok = strtok_r(copy, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
		cfg->trusted_authserv_ids = xreallocarray(cfg->trusted_authserv_ids,
		    cfg->ntrusted + 1, sizeof(char *));
		cfg->trusted_authserv_ids[cfg->ntrusted++] = xstrdup(tok);
	}
	free(copy);
	if (cfg->ntrusted == 0) {
		err_set(err, errlen, "TrustedAuthservIDs needs at least one name");
		return -1;
	}
	return 0;
}

/* "SubjectType TYPE PATTERN": site rules go before the built-in ones */
static int
add_subject_rule(struct config *cfg, const char *value, char *err, size_t errlen)
{
	const char *sp = value + strcspn(value, " \t");
	struct subject_rule rule;

	if (*sp == '\0') {
		err_set(err, errlen, "SubjectType needs a report type and a pattern");
		return -1;
	}
	rule.type = xstrndup(value, (size_t)(sp - value));
	sp += strspn(sp, " \t");
	if ((rule.re = regex_compile(sp, err, errlen)) == NULL) {
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
set_size(unsigned long long *slot, const char *key, const char *value, char *err, size_t errlen)
{
	if (parse_unsigned(value, 1ULL << 40, slot) != 0 || *slot == 0) {
		err_set(err, errlen, "%s: not a size: \"%s\"", key, value);
		return -1;
	}
	return 0;
}

static int
set_transport(struct config *cfg, const char *value, char *err, size_t errlen)
{
	if ((strncmp(value, "sendmail:/", 10) != 0 || strlen(value) < 11) &&
	    (strncmp(value, "smtp:", 5) != 0 || strchr(value + 5, ':') == NULL)) {
		err_set(err, errlen, "Transport must be sendmail:/PATH or smtp:HOST:PORT, not \"%s\"", value);
		return -1;
	}
	set_string(&cfg->transport, value);
	return 0;
}

static int
set_report_action(struct config *cfg, const char *value, char *err, size_t errlen)
{
	if (!ascii_strcasecmp(value, "pass"))
		cfg->report_action = REPORT_PASS;
	else if (!ascii_strcasecmp(value, "discard"))
		cfg->report_action = REPORT_DISCARD;
	else if (!ascii_strncasecmp(value, "redirect ", 9)) {
		if (set_address(&cfg->redirect_to, ascii_trim((char *)value + 9), err, errlen) != 0)
			return -1;
		cfg->report_action = REPORT_REDIRECT;
	} else {
		err_set(err, errlen, "ReportAction must be pass, discard or redirect ADDRESS, not \"%s\"", value);
		return -1;
	}
	return 0;
}

static int
set_socket(struct config *cfg, const char *value, char *err, size_t errlen)
{
	if (strncmp(value, "unix:", 5) != 0 && strncmp(value, "local:", 6) != 0 &&
	    strncmp(value, "inet:", 5) != 0 && strncmp(value, "inet6:", 6) != 0) {
		err_set(err, errlen, "Socket must be unix:PATH or inet:PORT@HOST, not \"%s\"", value);
		return -1;
	}
	set_string(&cfg->socket, value);
	return 0;
}

static int
set_number(unsigned long long *out, const char *key, const char *value, unsigned long long max, char *err,
    size_t errlen)
{
	if (parse_unsigned(value, max, out) != 0) {
		err_set(err, errlen, "%s: not a number up to %llu: \"%s\"", key, max, value);
		return -1;
	}
	return 0;
}

/* parse_duration - "0", or a number with s, m, h, d or w: "12h", "7d" */
static int
parse_duration(const char *value, unsigned long *out)
{
	static const struct { char unit; unsigned long seconds; } units[] = {
		{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 }, { 'w', 7 * 86400 },
	};
	unsigned long long v;
	char *end;
	size_t i;

	if (strcmp(value, "0") == 0) {
		*out = 0;
		return 0;
	}
	if (*value < '0' || *value > '9')
		return -1;
	errno = 0;
	v = strtoull(value, &end, 10);
	if (errno || v == 0 || v > 100000 || end[0] == '\0' || end[1] != '\0')
		return -1;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (ascii_strncasecmp(end, &units[i].unit, 1) == 0) {
			*out = (unsigned long)v * units[i].seconds;
			return 0;
		}
	return -1;
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

/* config_set_history - the detection history keys (state.h) */
static int
config_set_history(struct config *cfg, const char *key, const char *value, char *err, size_t errlen)
{
	unsigned long long n;

	if (!ascii_strcasecmp(key, "StateDB")) {
		free(cfg->state_db);
		cfg->state_db = resolve_path(cfg, value);
	} else if (!ascii_strcasecmp(key, "RenotifyInterval")) {
		if (parse_duration(value, &cfg->renotify_interval) != 0) {
			err_set(err, errlen, "RenotifyInterval: 0 or a duration such as 12h or 7d, not \"%s\"", value);
			return -1;
		}
	} else if (!ascii_strcasecmp(key, "NotifyResolved")) {
		if (parse_bool(value, &cfg->notify_resolved) != 0) {
			err_set(err, errlen, "NotifyResolved: yes or no, not \"%s\"", value);
			return -1;
		}
	} else if (!ascii_strcasecmp(key, "ResolveAfterDays")) {
		if (set_number(&n, key, value, 3650, err, errlen) != 0)
			return -1;
		cfg->resolve_after_days = (unsigned)n;
	} else if (!ascii_strcasecmp(key, "RetainDays")) {
		if (set_number(&n, key, value, 36500, err, errlen) != 0)
			return -1;
		if (n == 0) {
			err_set(err, errlen, "RetainDays: at least 1");
			return -1;
		}
		cfg->retain_days = (unsigned)n;
	} else {
		err_set(err, errlen, "unknown key \"%s\"", key);
		return -1;
	}
	return 0;
}

/* config_set_daemon - the keys only the milter daemon reads */
static int
config_set_daemon(struct config *cfg, const char *key, const char *value, char *err, size_t errlen)
{
	unsigned long long n;
	char *end;

	if (!ascii_strcasecmp(key, "Socket"))
		return set_socket(cfg, value, err, errlen);
	if (!ascii_strcasecmp(key, "UserID"))
		set_string(&cfg->user_id, value);
	else if (!ascii_strcasecmp(key, "PidFile")) {
		free(cfg->pid_file);
		cfg->pid_file = resolve_path(cfg, value);
	} else if (!ascii_strcasecmp(key, "SocketMode")) {
		n = strtoull(value, &end, 8);
		if (*end != '\0' || n > 0777) {
			err_set(err, errlen, "SocketMode must be octal, e.g. 0660: \"%s\"", value);
			return -1;
		}
		cfg->socket_mode = (unsigned)n;
	} else if (!ascii_strcasecmp(key, "OutboxDB")) {
		free(cfg->outbox_db);
		cfg->outbox_db = resolve_path(cfg, value);
	} else if (!ascii_strcasecmp(key, "Transport"))
		return set_transport(cfg, value, err, errlen);
	else if (!ascii_strcasecmp(key, "TestRecipient"))
		return set_address(&cfg->test_recipient, value, err, errlen);
	else if (!ascii_strcasecmp(key, "OpsAddress"))
		return set_address(&cfg->ops_address, value, err, errlen);
	else if (!ascii_strcasecmp(key, "MaxRetryDays")) {
		if (set_number(&n, key, value, 365, err, errlen) != 0)
			return -1;
		cfg->max_retry_days = (unsigned)n;
	} else if (!ascii_strcasecmp(key, "ReportSubjectTag"))
		set_string(&cfg->report_subject_tag, strcmp(value, "none") ? value : "");
	else if (!ascii_strcasecmp(key, "ReportAction"))
		return set_report_action(cfg, value, err, errlen);
	else if (!ascii_strcasecmp(key, "MaxHeaders")) {
		if (set_number(&n, key, value, 100000, err, errlen) != 0)
			return -1;
		cfg->max_headers = (unsigned long)n;
	} else if (!ascii_strcasecmp(key, "MaxHeaderBytes"))
		return set_size(&cfg->max_header_bytes, key, value, err, errlen);
	else if (!ascii_strcasecmp(key, "MaxReportSize"))
		return set_size(&cfg->max_report_size, key, value, err, errlen);
	else if (!ascii_strcasecmp(key, "DeliverInterval")) {
		if (set_number(&n, key, value, 86400, err, errlen) != 0 || n == 0)
			return -1;
		cfg->deliver_interval = (unsigned)n;
	} else if (!ascii_strcasecmp(key, "RetryInterval")) {
		if (set_number(&n, key, value, 86400, err, errlen) != 0 || n == 0)
			return -1;
		cfg->retry_interval = (unsigned)n;
	} else
		return config_set_history(cfg, key, value, err, errlen);
	return 0;
}

int
config_set(struct config *cfg, const char *key, const char *value, char *err, size_t errlen)
{
	unsigned long long n;

	if (!ascii_strcasecmp(key, "CustomerMap")) {
		free(cfg->customer_map);
		cfg->customer_map = resolve_path(cfg, value);
	} else if (!ascii_strcasecmp(key, "TemplateDir")) {
		free(cfg->template_dir);
		cfg->template_dir = resolve_path(cfg, value);
	} else if (!ascii_strcasecmp(key, "Catalogue")) {
		free(cfg->catalogue_path);
		cfg->catalogue_path = resolve_path(cfg, value);
	} else if (!ascii_strcasecmp(key, "TempDir")) {
		free(cfg->tmp_dir);
		cfg->tmp_dir = resolve_path(cfg, value);
	} else if (!ascii_strcasecmp(key, "ReportSenders"))
		return set_regex(&cfg->report_senders, value, err, errlen);
	else if (!ascii_strcasecmp(key, "TrustedAuthservIDs"))
		return set_trusted_ids(cfg, value, err, errlen);
	else if (!ascii_strcasecmp(key, "ReportDKIMDomain"))
		set_string(&cfg->report_dkim_domain, value);
	else if (!ascii_strcasecmp(key, "Organization"))
		set_string(&cfg->organization, value);
	else if (!ascii_strcasecmp(key, "NoticeFrom"))
		return set_address(&cfg->notice_from, value, err, errlen);
	else if (!ascii_strcasecmp(key, "SupportAddress"))
		return set_address(&cfg->support_address, value, err, errlen);
	else if (!ascii_strcasecmp(key, "PolicyURL"))
		set_string(&cfg->policy_url, value);
	else if (!ascii_strcasecmp(key, "NoticeSignature")) {
		free(cfg->signature);
		cfg->signature = unescape_newlines(value);
	} else if (!ascii_strcasecmp(key, "GraceDays")) {
		if (parse_unsigned(value, 3650, &n) != 0) {
			err_set(err, errlen, "GraceDays: not a number of days (0-3650): \"%s\"", value);
			return -1;
		}
		cfg->grace_days = (unsigned)n;
	} else if (!ascii_strcasecmp(key, "SubjectType"))
		return add_subject_rule(cfg, value, err, errlen);
	else if (!ascii_strcasecmp(key, "MaxAttachmentSize"))
		return set_size(&cfg->max_attachment_size, key, value, err, errlen);
	else if (!ascii_strcasecmp(key, "MaxCSVSize"))
		return set_size(&cfg->max_csv_size, key, value, err, errlen);
	else if (!ascii_strcasecmp(key, "MaxRows")) {
		if (set_size(&n, key, value, err, errlen) != 0)
			return -1;
		cfg->max_rows = (unsigned long)n;
	} else
		return config_set_daemon(cfg, key, value, err, errlen);
	return 0;
}

/* config_check - what must hold once the whole file is read */
static int
config_check(const struct config *cfg, char *err, size_t errlen)
{
	if (cfg->customer_map == NULL) {
		err_set(err, errlen, "%s: CustomerMap is required", cfg->path);
		return -1;
	}
	if (cfg->ntrusted == 0) {
		err_set(err, errlen, "%s: TrustedAuthservIDs is required "
		    "(the authserv-id your DKIM verifier writes in Authentication-Results)", cfg->path);
		return -1;
	}
	return 0;
}

static int
parse_line(struct config *cfg, char *line, char *err, size_t errlen)
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
		err_set(err, errlen, "%s has no value", key);
		return -1;
	}
	return config_set(cfg, key, value, err, errlen);
}

struct config *
config_load(const char *path, char *err, size_t errlen)
{
	struct config *cfg = config_defaults();
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
		if (parse_line(cfg, line, msg, sizeof(msg)) != 0) {
			err_set(err, errlen, "%s:%u: %s", path, lineno, msg);
			free(line);
			fclose(f);
			config_free(cfg);
			return NULL;
		}
	}
	free(line);
	fclose(f);
	if (config_check(cfg, err, errlen) != 0 || config_load_catalogue(cfg, err, errlen) != 0) {
		config_free(cfg);
		return NULL;
	}
	return cfg;
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
	    catalogue_check(c, err, errlen) == 0) {
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
	for (i = 0; i < cfg->nsubject_rules; i++) {
		free(cfg->subject_rules[i].type);
		regex_free(cfg->subject_rules[i].re);
	}
	free(cfg->subject_rules);
	regex_free(cfg->report_senders);
	free(cfg->path);
	free(cfg->customer_map);
	free(cfg->report_dkim_domain);
	free(cfg->template_dir);
	free(cfg->catalogue_path);
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
	free(cfg);
}

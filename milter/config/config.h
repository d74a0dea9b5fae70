/*
 * config - the shadowmilter.conf file: opendkim-style "Key value" lines
 *
 * One file configures replay and the daemon. Keys are case-insensitive, '#'
 * starts a comment, the value is the rest of the line. Unknown keys and bad
 * values are errors naming the file and line. Relative paths are taken
 * relative to the directory of the config file, so a config and its customer
 * map can travel together.
 *
 * Owns: the parsed values, the compiled pcre2 patterns.
 */
#ifndef SM_CONFIG_H
#define SM_CONFIG_H

#include <stddef.h>

struct regex;
struct catalogue;
struct dkim_keys;

/* a SubjectType rule: subjects matching PATTERN are of report type TYPE
 * ("$1" takes the first capture group) */
struct subject_rule {
	char *type;
	struct regex *re;
};

struct config {
	char *path;
	char *customer_map;		/* CustomerMap: a CSV file, sqlite:FILE, postgresql://, exec:/PATH ARGS */
	char *customer_map_query;	/* CustomerMapQuery: for an SQL CustomerMap, or NULL */
	unsigned long customer_map_timeout;	/* CustomerMapTimeout, seconds: a command, a query */
	unsigned long customer_map_refresh;	/* CustomerMapRefresh, seconds: SQL and command maps; 0: SIGHUP only */
	unsigned customer_map_max_shrink;	/* CustomerMapMaxShrink: a refresh losing more prefixes (%) is refused */
	int allow_empty_map;		/* AllowEmptyCustomerMap: a map with no prefix is not an error */
	char *account_settings;		/* AccountSettings: as CustomerMap, or NULL (customers/accounts.h) */
	char *account_settings_query;	/* AccountSettingsQuery: for an SQL AccountSettings, or NULL */
	unsigned *key_lines;		/* per key (the table's order): its line in the file, 0 for the default */
	struct regex *report_senders;	/* ReportSenders */
	char **trusted_authserv_ids;	/* TrustedAuthservIDs, comma/space list */
	size_t ntrusted;
	char *report_dkim_domain;	/* ReportDKIMDomain */
	int verify_dkim;		/* VerifyDKIM: verify signatures ourselves (else trust Authentication-Results) */
	char *test_public_keys;		/* TestPublicKeys: keys from this file instead of DNS, or NULL */
	unsigned dns_timeout;		/* DNSTimeout: seconds per DKIM key lookup */
	struct dkim_keys *dkim_keys;	/* the key source, opened by config_load when VerifyDKIM is yes */
	struct regex *report_envelope_senders;	/* ReportEnvelopeSenders, or NULL: the envelope decides nothing */
	char *template_dir;		/* TemplateDir: the site's, searched before the shipped one */
	char *catalogue_path;		/* Catalogue: the site's rows over the shipped catalogue, or "" */
	char *updated_catalogue_path;	/* UpdatedCatalogue: types "catalogue --update" added, or "" */
	struct catalogue *catalogue;	/* the report types, loaded by config_load_catalogue */
	char *organization;		/* Organization */
	char *notice_from;		/* NoticeFrom */
	char *support_address;		/* SupportAddress */
	char *policy_url;		/* PolicyURL */
	char *signature;		/* NoticeSignature, "\n" allowed */
	unsigned grace_days;		/* GraceDays */
	unsigned action_severities;	/* ActionSeverities: catalogue_severity_bit()s that need action */
	int info_notices;		/* InfoNotices: send the informational notices at all */
	struct subject_rule *subject_rules;	/* SubjectType, in file order, then defaults */
	size_t nsubject_rules;
	size_t nsite_subject_rules;	/* how many of them came from the file */
	char *tmp_dir;			/* TempDir */
	unsigned long long max_attachment_size;	/* MaxAttachmentSize */
	unsigned long long max_csv_size;	/* MaxCSVSize (uncompressed, per file) */
	unsigned long max_rows;		/* MaxRows per file */
	unsigned long max_report_files;	/* MaxReportFiles: CSV files in one message */
	unsigned long max_columns;	/* MaxColumns: of any one CSV file */
	unsigned long long max_report_memory;	/* MaxReportMemory: findings and rows of one message */

	/* the daemon */
	char *socket;			/* Socket: unix:PATH or inet:PORT@HOST */
	char *user_id;			/* UserID: user[:group] to run as */
	char *pid_file;			/* PidFile */
	unsigned socket_mode;		/* SocketMode (octal), for a unix socket */
	char *outbox_db;		/* OutboxDB */
	unsigned long delivery_lease;	/* DeliveryLease, seconds: how long a claim on a notice lasts */
	char *transport;		/* Transport: sendmail:PATH or smtp:HOST:PORT */
	char *test_recipient;		/* TestRecipient, or NULL */
	char *ops_address;		/* OpsAddress: delivery failures go here, or NULL */
	unsigned max_retry_days;	/* MaxRetryDays */
	char *report_subject_tag;	/* ReportSubjectTag ("" for none) */
	int report_action;		/* ReportAction */
	char *redirect_to;		/* ReportAction redirect ADDRESS */
	unsigned long max_headers;	/* MaxHeaders */
	unsigned long long max_header_bytes;	/* MaxHeaderBytes */
	unsigned long long max_report_size;	/* MaxReportSize: whole message, or a fetched file */
	char **link_hosts;		/* ReportLinkHosts: hosts report links are fetched from */
	size_t nlink_hosts;
	unsigned long fetch_timeout;	/* FetchTimeout, seconds: one whole fetch */
	char *ca_file;			/* CAFile: a private CA for the fetches, or "": the system's */
	char *reports_api_key;		/* ReportsAPIKey, or "" */
	char *reports_api_secret_file;	/* ReportsAPISecretFile, or "" */
	char *reports_api_url;		/* ReportsAPIURL */
	char *report_download_url;	/* ReportDownloadURL: a Reports API file is GET <this><id> */
	char **reports_api_lists;	/* ReportsAPILists: the reports/list "reports" filter, or none */
	size_t nreports_api_lists;
	char **reports_api_types;	/* ReportsAPITypes: the types pulled, or none: the catalogue's */
	size_t nreports_api_types;
	unsigned long reports_api_interval;	/* ReportsAPIInterval, seconds; 0: the daemon never pulls */
	unsigned long reports_api_window;	/* ReportsAPIWindow, seconds: how far back a pull lists */
	unsigned deliver_interval;	/* DeliverInterval, seconds */
	unsigned digest_minute;		/* DigestTime: the daily digests go out this many minutes
					 * after the host's local midnight */
	unsigned long long digest_max_size;	/* DigestMaxSize: the most one digest mail holds; more
					 * parts make another digest */
	unsigned retry_interval;	/* RetryInterval: first backoff, seconds */

	/* detection history (state.h) */
	char *state_db;			/* StateDB, or NULL: no history kept */
	unsigned long renotify_interval;	/* RenotifyInterval, seconds; 0: every report notifies */
	unsigned long info_renotify_interval;	/* InfoRenotifyInterval: the same for informational notices */
	int notify_resolved;		/* NotifyResolved: confirm when a case is all fixed */
	unsigned resolve_after_days;	/* ResolveAfterDays: a silent report stream resolves; 0: never */
	unsigned retain_days;		/* RetainDays: resolved history and sent notices kept this long */
};

enum { REPORT_PASS, REPORT_DISCARD, REPORT_REDIRECT };

/* config_load - parse PATH and load the catalogue; NULL with "file:line: message" in ERR */
struct config *config_load(const char *path, char *err, size_t errlen);

/* config_new - a config with every key at its default (the key table's) and no file; no catalogue */
struct config *config_new(void);

/*
 * config_load_catalogue - the shipped catalogue.csv (template_shipped_dir),
 * then the site's Catalogue file over it, then the types of UpdatedCatalogue
 * (when the file exists) that neither has. config_load calls it; tests and
 * previews built on config_new call it themselves. 0, or -1 with ERR
 * (the config keeps its previous catalogue).
 */
int config_load_catalogue(struct config *cfg, char *err, size_t errlen);

void config_free(struct config *cfg);

/* config_is_trusted_authserv - is ID one of TrustedAuthservIDs (case-insensitive) */
int config_is_trusted_authserv(const struct config *cfg, const char *id);

/* config_set - apply one "Key value" (also used by tests); 0 or -1 with ERR,
 * which names the key, the value and the rule it breaks */
int config_set(struct config *cfg, const char *key, const char *value, char *err, size_t errlen);

/* config_key_line - the line of PATH that set KEY, 0 when it was left at its default */
unsigned config_key_line(const struct config *cfg, const char *key);

/* config_where - "PATH:LINE: KEY", or "PATH: KEY (default)", for messages about a key's value */
void config_where(const struct config *cfg, const char *key, char *out, size_t outlen);

/* config_key_count, config_key_name - the known keys, in the table's order
 * (the documentation test walks them) */
size_t config_key_count(void);
const char *config_key_name(size_t i);
/* config_key_default - key I's default as the file would say it, or NULL (none) */
const char *config_key_default(size_t i);

#endif

/*
 * catalogue - what each ShadowServer report type is: title, severity, service
 *
 * A catalogue CSV (header names, by name: type, title, severity, kind,
 * service, port, protocol, info_url, evidence_columns, template, alias_of;
 * only type and title are required) describes every report type, so a report
 * nobody wrote a template for still gets a notice that says what was found.
 * The shipped templates/catalogue.csv covers all of ShadowServer's types; a
 * site's Catalogue file is loaded on top of it, each of its rows replacing
 * the shipped row of the same type or adding a new one.
 *
 *   kind              "exposed" (a service open to the Internet; the default)
 *                     or "event" (a compromise, infection or attack seen)
 *   evidence_columns  for events: the CSV columns a customer needs to find the
 *                     cause (infection, destination, ...), ';'-separated
 *   template          the template to use when there is no TYPE.tmpl (an
 *                     IPv6 twin such as scan6_ntp shares scan_ntp's)
 *   alias_of          an older name of another type (dns_openresolver is
 *                     scan_dns): the row holds nothing else
 *   title.LANG, service.LANG
 *                     the title and service in language LANG (title.de,
 *                     service.de; any tag lang_code_ok takes): a notice in
 *                     that language uses them, English where a field is
 *                     empty or the column missing
 * A row whose type starts with '#' is a comment.
 *
 * Owns: the entries. A loaded catalogue is immutable and shared by every
 * message of one configuration.
 */
#ifndef SM_CATALOGUE_H
#define SM_CATALOGUE_H

#include <stddef.h>

enum catalogue_kind { CATALOGUE_EXPOSED, CATALOGUE_EVENT };

/* a row's wording in one other language (columns title.LANG, service.LANG) */
struct catalogue_text {
	char *lang;		/* normalised tag: "de", "pt-br" */
	char *title;		/* "Offener Memcached-Server", or "" (the English one) */
	char *service;		/* or "" */
};

struct catalogue_entry {
	char *type;		/* report type, e.g. scan_ntp */
	char *title;		/* "Open Memcached Server" */
	char *severity;		/* critical, high, medium, low, info */
	char *service;		/* the service in plain words, "memcached" */
	char *port;		/* usual port, "11211", or "" */
	char *protocol;		/* "UDP", "TCP" or "" */
	char *info_url;		/* ShadowServer's page about the report, or "" */
	enum catalogue_kind kind;
	char **evidence;	/* column names (lowercase) that matter for an event */
	size_t nevidence;
	char *template;		/* template name when TYPE.tmpl is missing, or "" */
	char *alias_of;		/* the type this is an older name of, or "" */
	struct catalogue_text *texts;	/* other languages, in column order */
	size_t ntexts;
};

struct catalogue;

struct catalogue *catalogue_new(void);
void catalogue_free(struct catalogue *c);

/*
 * catalogue_load - add the rows of the CSV file PATH; a row replaces an
 * earlier one of the same type (a type twice in one file is an error).
 * Returns 0, or -1 with "PATH: row N (type \"x\"): message" in ERR; the
 * catalogue is then partly loaded and should be thrown away.
 */
int catalogue_load(struct catalogue *c, const char *path, char *err, size_t errlen);

/*
 * catalogue_load_new - the same, but a row only adds a type C does not have
 * yet (the rows of other types are read, checked and skipped): the types
 * "shadowmilter catalogue --update" found (UpdatedCatalogue) never replace
 * a shipped row or the site's Catalogue
 */
int catalogue_load_new(struct catalogue *c, const char *path, char *err, size_t errlen);

/* catalogue_check - every alias names a type that is not an alias itself */
int catalogue_check(const struct catalogue *c, char *err, size_t errlen);

/* catalogue_lookup - the entry for TYPE, aliases followed; NULL if unknown (or C is NULL) */
const struct catalogue_entry *catalogue_lookup(const struct catalogue *c, const char *type);

/*
 * catalogue_title, catalogue_service - E's title and service in language
 * LANG (a tag as lang_code_ok takes it: "de-AT" reads title.de-at, then
 * title.de), the English field where that language has none (LANG NULL or
 * "" is English)
 */
const char *catalogue_title(const struct catalogue_entry *e, const char *lang);
const char *catalogue_service(const struct catalogue_entry *e, const char *lang);

/* catalogue_severity_bit - a bit of its own for each severity name (any
 * case): info, low, medium, high, critical; 0 for anything else */
unsigned catalogue_severity_bit(const char *name);

/* catalogue_count, catalogue_at - every row in type order, aliases included */
size_t catalogue_count(const struct catalogue *c);
const struct catalogue_entry *catalogue_at(const struct catalogue *c, size_t i);

#endif

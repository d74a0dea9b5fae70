/*
 * lang - what a notice's language changes besides its templates
 *
 * See lang.h. One row per language; a language without a row gets the
 * fallback row: English words, ISO 8601 dates.
 */
#include "base/lang.h"
#include "base/util.h"

#include <string.h>

enum date_style { DATES_ISO, DATES_DOTS };	/* 2026-12-07; 07.12.2026 */

struct lang {
	const char *code;
	enum date_style style;
	const char *months[12];		/* NULL: long dates are ISO too */
	const char *long_day_suffix;	/* "7. Dezember": "." */
	const char *words[LANG_NWORDS];
	const char *severities[5];	/* critical, high, medium, low, info; NULL: as the catalogue has them */
};

static const char *const severity_names[5] = { "critical", "high", "medium", "low", "info" };

#define ENGLISH_WORDS { "from port", "your part of the listed network", "connections between", "and", \
	"ports", "was", "were", "is", "are", "has", "have", "it", "them", "Shadowserver report" }

static const struct lang langs[] = {
	{ "en", DATES_ISO, { "January", "February", "March", "April", "May", "June", "July", "August",
	    "September", "October", "November", "December" }, "", ENGLISH_WORDS, { NULL } },
	{ "de", DATES_DOTS, { "Januar", "Februar", "M\xc3\xa4rz", "April", "Mai", "Juni", "Juli", "August",
	    "September", "Oktober", "November", "Dezember" }, ".",
	    { "Quellport", "Ihr Teil des gemeldeten Netzes", "Verbindungen zwischen", "und", "Ports",
	    "wurde", "wurden", "ist", "sind", "hat", "haben", "ihn", "sie", "Shadowserver-Bericht" },
	    { "kritisch", "hoch", "mittel", "niedrig", "Info" } },
};

static const struct lang fallback = { "", DATES_ISO, { NULL }, "", ENGLISH_WORDS, { NULL } };

#define NLANGS (sizeof(langs) / sizeof(langs[0]))
#define LANGS_MAX 2	/* the languages of langs[], for the table below */

/*
 * The headings of report columns a notice prints (an event's evidence, by
 * the catalogue's evidence_columns, and the columns a site is likely to add
 * there), one column per language in the order of langs[]; NULL: the column
 * name as it is. English keeps ShadowServer's names, which its documentation
 * uses.
 */
static const struct {
	const char *column;
	const char *heading[LANGS_MAX];
} headings[] = {
	{ "application", { NULL, "Anwendung" } },
	{ "asn", { NULL, "ASN" } },
	{ "attack", { NULL, "Angriff" } },
	{ "beacon_host", { NULL, "Beacon-Host" } },
	{ "category", { NULL, "Kategorie" } },
	{ "city", { NULL, "Ort" } },
	{ "detail", { NULL, "Details" } },
	{ "device_model", { NULL, "Ger\xc3\xa4temodell" } },
	{ "device_type", { NULL, "Ger\xc3\xa4tetyp" } },
	{ "device_vendor", { NULL, "Ger\xc3\xa4tehersteller" } },
	{ "dst_asn", { NULL, "Ziel-ASN" } },
	{ "dst_host", { NULL, "Ziel-Host" } },
	{ "dst_ip", { NULL, "Ziel-IP" } },
	{ "dst_port", { NULL, "Zielport" } },
	{ "duration", { NULL, "Dauer" } },
	{ "email", { NULL, "E-Mail" } },
	{ "entity_name", { NULL, "Name der Organisation" } },
	{ "family", { NULL, "Schadsoftware-Familie" } },
	{ "hostname", { NULL, "Hostname" } },
	{ "http_host", { NULL, "HTTP-Host" } },
	{ "http_referer", { NULL, "HTTP-Referer" } },
	{ "http_url", { NULL, "HTTP-URL" } },
	{ "infection", { NULL, "Infektion" } },
	{ "ip", { NULL, "IP-Adresse" } },
	{ "md5", { NULL, "MD5" } },
	{ "network", { NULL, "Netz" } },
	{ "port", { NULL, "Port" } },
	{ "product", { NULL, "Produkt" } },
	{ "protocol", { NULL, "Protokoll" } },
	{ "query", { NULL, "Abfrage" } },
	{ "ransomware", { NULL, "Ransomware" } },
	{ "reason", { NULL, "Grund" } },
	{ "request", { NULL, "Anfrage" } },
	{ "routedspoof", { NULL, "Gef\xc3\xa4lschte Pakete weitergeleitet" } },
	{ "service", { NULL, "Dienst" } },
	{ "source", { NULL, "Quelle" } },
	{ "src_ip", { NULL, "Quell-IP" } },
	{ "src_port", { NULL, "Quellport" } },
	{ "status", { NULL, "Status" } },
	{ "subject", { NULL, "Betreff" } },
	{ "tag", { NULL, "Merkmal" } },
	{ "timestamp", { NULL, "Zeitpunkt" } },
	{ "type", { NULL, "Typ" } },
	{ "url", { NULL, "URL" } },
	{ "user_agent", { NULL, "User-Agent" } },
	{ "username", { NULL, "Benutzername" } },
	{ "vendor", { NULL, "Hersteller" } },
	{ "version", { NULL, "Version" } },
	{ "website", { NULL, "Website" } },
};

static int
is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
is_alnum(int c)
{
	return is_alpha(c) || (c >= '0' && c <= '9');
}

int
lang_code_ok(const char *tag)
{
	size_t n = 0, m = 0;

	if (tag == NULL)
		return 0;
	while (is_alpha((unsigned char)tag[n]))
		n++;
	if (n < 2 || n > 3)
		return 0;
	if (tag[n] == '\0')
		return 1;
	if (tag[n] != '-' && tag[n] != '_')
		return 0;
	tag += n + 1;
	while (is_alnum((unsigned char)tag[m]))
		m++;
	return m >= 2 && m <= 8 && tag[m] == '\0';
}

void
lang_normalise(const char *tag, char *out, size_t outlen)
{
	size_t i;

	if (outlen == 0)
		return;
	*out = '\0';
	if (!lang_code_ok(tag) || strlen(tag) >= outlen)
		return;
	for (i = 0; tag[i]; i++)
		out[i] = tag[i] == '_' ? '-' : (tag[i] >= 'A' && tag[i] <= 'Z') ? (char)(tag[i] + 32) : tag[i];
	out[i] = '\0';
}

const struct lang *
lang_get(const char *tag)
{
	char code[16];
	size_t i, primary;

	if (tag == NULL || *tag == '\0')
		return &langs[0];
	lang_normalise(tag, code, sizeof(code));
	primary = strcspn(code, "-");
	for (i = 0; primary && i < NLANGS; i++)
		if (strlen(langs[i].code) == primary && strncmp(langs[i].code, code, primary) == 0)
			return &langs[i];
	return &fallback;
}

const char *
lang_code(const struct lang *l)
{
	return l->code;
}

const char *
lang_word(const struct lang *l, enum lang_word w)
{
	return w < LANG_NWORDS ? l->words[w] : "";
}

const char *
lang_severity(const struct lang *l, const char *severity)
{
	size_t i;

	for (i = 0; l->severities[0] && i < 5; i++)
		if (ascii_strcasecmp(severity, severity_names[i]) == 0)
			return l->severities[i];
	return severity;
}

const char *
lang_column(const struct lang *l, const char *column)
{
	size_t i, li = (size_t)(l - langs);

	if (l < langs || li >= NLANGS || li >= LANGS_MAX)
		return column;
	for (i = 0; i < sizeof(headings) / sizeof(headings[0]); i++)
		if (strcmp(headings[i].column, column) == 0)
			return headings[i].heading[li] ? headings[i].heading[li] : column;
	return column;
}

static void
utc(time_t t, struct tm *tm)
{
	gmtime_r(&t, tm);
}

static void
date_of(const struct lang *l, const struct tm *tm, struct buf *out)
{
	if (l->style == DATES_DOTS)
		buf_printf(out, "%02d.%02d.%04d", tm->tm_mday, tm->tm_mon + 1, tm->tm_year + 1900);
	else
		buf_printf(out, "%04d-%02d-%02d", tm->tm_year + 1900, tm->tm_mon + 1, tm->tm_mday);
}

void
lang_date(const struct lang *l, time_t t, struct buf *out)
{
	struct tm tm;

	utc(t, &tm);
	date_of(l, &tm, out);
}

void
lang_long_date(const struct lang *l, time_t t, struct buf *out)
{
	struct tm tm;

	utc(t, &tm);
	if (l->months[0] == NULL)
		date_of(l, &tm, out);
	else
		buf_printf(out, "%d%s %s %d", tm.tm_mday, l->long_day_suffix, l->months[tm.tm_mon],
		    tm.tm_year + 1900);
}

void
lang_date_minute(const struct lang *l, time_t t, struct buf *out)
{
	struct tm tm;

	utc(t, &tm);
	date_of(l, &tm, out);
	buf_printf(out, " %02d:%02d", tm.tm_hour, tm.tm_min);
}

void
lang_time(const struct lang *l, time_t t, struct buf *out)
{
	struct tm tm;

	utc(t, &tm);
	date_of(l, &tm, out);
	buf_printf(out, " %02d:%02d:%02d UTC", tm.tm_hour, tm.tm_min, tm.tm_sec);
}

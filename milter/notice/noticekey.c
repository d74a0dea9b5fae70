/*
 * noticekey - the one identity of an outgoing message
 *
 * See noticekey.h. Both forms are what earlier releases made, so a report
 * retried across an upgrade is still recognised.
 */
#include "notice/noticekey.h"
#include "base/util.h"

#include <stdint.h>
#include <string.h>

/* report_part - a confirmation answers the same report under its own name */
static void
report_part(const struct notice_key *k, struct buf *b)
{
	buf_puts(b, k->report_ref ? k->report_ref : "");
	if (k->kind == NOTICE_RESOLUTION)
		buf_puts(b, "#resolved");
}

char *
notice_key_text(const struct notice_key *k)
{
	struct buf ref = BUF_INIT, b = BUF_INIT;

	report_part(k, &ref);
	buf_printf(&b, "%zu:%s|%zu:%s|%s", ref.len, buf_cstr(&ref), strlen(k->report_type), k->report_type,
	    k->account);
	buf_free(&ref);
	return buf_steal(&b);
}

char *
notice_key_message_id(const struct notice_key *k, const char *domain)
{
	struct buf ref = BUF_INIT, b = BUF_INIT;
	const char *parts[3];
	uint64_t h = 1469598103934665603ULL, h2 = 0x9E3779B97F4A7C15ULL;
	int i;

	report_part(k, &ref);
	parts[0] = buf_cstr(&ref);
	parts[1] = k->report_type;
	parts[2] = k->account;
	for (i = 0; i < 3; i++)
		for (const char *p = parts[i]; ; p++) {
			h = (h ^ (unsigned char)*p) * 1099511628211ULL;
			h2 = (h2 ^ (unsigned char)*p) * 0x100000001B3ULL + (h >> 17);
			if (*p == '\0')
				break;
		}
	buf_printf(&b, "shadowmilter.%016llx%016llx@%s", (unsigned long long)h, (unsigned long long)h2, domain);
	buf_free(&ref);
	return buf_steal(&b);
}

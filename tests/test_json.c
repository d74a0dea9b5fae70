/*
 * test_json - the replay --json objects: escaping of hostile strings, the
 * shape of a failed message and of a report with notices and unmatched
 */
#include "test.h"
#include "testmail.h"

#include "config/config.h"
#include "pipeline/json.h"
#include "pipeline/pipeline.h"
#include "customers/prefixmap.h"
#include "base/util.h"

#include <stdlib.h>
#include <string.h>

static char *
json_of(const char *s)
{
	struct buf b = BUF_INIT;

	json_string(&b, s);
	return buf_steal(&b);
}

TEST(json, strings_are_escaped_and_made_valid_utf8)
{
	char *s;

	s = json_of("say \"hi\" \\ bye");
	CHECK_STR(s, "\"say \\\"hi\\\" \\\\ bye\"");
	free(s);
	s = json_of("line\r\nbreak\x01\x7f");	/* controls never reach the stream */
	CHECK_STR(s, "\"line break\"");
	free(s);
	s = json_of("caf\xC3\xA9 \xFF");	/* UTF-8 kept, a stray byte replaced */
	CHECK_STR(s, "\"caf\xC3\xA9 ?\"");
	free(s);
	s = json_of(NULL);
	CHECK_STR(s, "\"\"");
	free(s);
}

TEST(json, a_message_the_pipeline_could_not_handle_keeps_the_documented_fields_as_null)
{
	struct buf b = BUF_INIT;

	json_result(&b, "inbox/1.eml", NULL, "spool: No space left on device");
	CHECK_STR(buf_cstr(&b), "{\"message\":\"inbox/1.eml\",\"report\":false,\"authenticated\":false,"
	    "\"reason\":\"\",\"error\":\"spool: No space left on device\",\"message_id\":null,\"subject\":null,"
	    "\"link\":null,\"reports\":[]}\n");
	buf_free(&b);
}

TEST(json, a_report_with_notices_and_unmatched_is_one_line)
{
	static const char *map_csv = "prefix,account,email\n192.0.2.0/24,acme,ops@acme.example\n";
	static const char *csv = "timestamp,ip,port,protocol\n"
	    "2026-11-24 01:00:00,192.0.2.10,111,udp\n2026-11-24 01:00:00,203.0.113.1,111,udp\n";
	struct testmail tm = { TRUSTED_AUTHRES, NULL, "[Test] \"Open\" \\ Portmapper Report: 2026-11-24",
	    "2026-11-24-scan_portmapper-x.csv", csv, NULL, NULL };
	struct config *cfg = test_catalogue_config();
	struct prefixmap *map = test_map(map_csv);
	char *msg = testmail_build(&tm);
	struct pipeline_result *r = test_run(cfg, map, msg, strlen(msg), 0);
	struct buf b = BUF_INIT;
	const char *j;

	REQUIRE(r != NULL);
	json_result(&b, "m.eml", r, NULL);
	j = buf_cstr(&b);
	CHECK(strncmp(j, "{\"message\":\"m.eml\",\"report\":true,\"authenticated\":true,", 54) == 0);
	CHECK(strstr(j, "\"type\":\"scan_portmapper\"") != NULL);
	CHECK(strstr(j, "\"rows\":2,\"skipped_rows\":0") != NULL);
	CHECK(strstr(j, "\"account\":\"acme\"") != NULL);
	CHECK(strstr(j, "\"findings\":[{\"ip\":\"192.0.2.10\",\"port\":111,\"protocol\":\"udp\"") != NULL);
	CHECK(strstr(j, "\"unmatched\":[{\"ip\":\"203.0.113.1\",\"port\":111") != NULL);
	CHECK(strstr(j, "\"subject\":\"[Test] \\\"Open\\\" \\\\ Portmapper Report: 2026-11-24\"") != NULL);
	/* one object, one line */
	CHECK(strchr(j, '\n') == j + b.len - 1);
	CHECK(strstr(j, "\"error\":null") != NULL);
	buf_free(&b);
	pipeline_result_free(r);
	free(msg);
	prefixmap_free(map);
	config_free(cfg);
}

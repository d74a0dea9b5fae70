/*
 * test_stream - notices leave the pipeline one by one: a sink (replay) or
 * the outbox (the milter) gets each as it is made, and the result does not
 * hold them, so memory stays flat however many customers a report names
 */
#include "test.h"
#include "testmail.h"

#include "config/config.h"
#include "pipeline/json.h"
#include "notice/notice.h"
#include "pipeline/pipeline.h"
#include "customers/prefixmap.h"
#include "base/util.h"

#include <stdlib.h>
#include <string.h>

static const char *MAP = "prefix,account,email\n192.0.2.0/26,acme,ops@acme.example\n"
    "192.0.2.64/26,bob,bob@bob.example\n192.0.2.128/26,carol,carol@carol.example\n";

/* two files of two types: four notices over two reports, and an unmatched address */
static char *
mail(void)
{
	struct testreport tr = { .message_id = "stream@x.example", .zip = 1, .files = {
	    { "2026-11-24-scan_portmapper-net.csv", "timestamp,ip,port,protocol\n2026-11-24 01:00:00,192.0.2.10,111,udp\n"
		"2026-11-24 01:00:00,192.0.2.70,111,udp\n2026-11-24 01:00:00,192.0.2.130,111,udp\n"
		"2026-11-24 01:00:00,203.0.113.9,111,udp\n" },
	    { "2026-11-24-scan_ntp-net.csv", "timestamp,ip,port,protocol\n2026-11-24 02:00:00,192.0.2.11,123,udp\n" } } };

	return testreport_build(&tr);
}

struct stream {
	struct buf json;
	int opened;
	size_t next_report, in_report, seen;
};

static int
sink(void *ctx, const struct pipeline_result *r, const struct report_output *ro, const struct notice *n)
{
	struct stream *s = ctx;
	size_t report = (size_t)(ro - r->reports);

	s->seen++;
	if (!s->opened++)
		json_message_open(&s->json, "m", r);
	while (s->next_report <= report) {
		if (s->next_report > 0)
			json_report_close(&s->json, &r->reports[s->next_report - 1]);
		json_report_open(&s->json, &r->reports[s->next_report], s->next_report == 0);
		s->next_report++;
		s->in_report = 0;
	}
	json_report_notice(&s->json, n, s->in_report++ == 0);
	return 0;
}

static struct pipeline_result *
run(const struct config *cfg, const struct prefixmap *map, const char *msg, struct stream *s)
{
	struct pipeline *p = pipeline_new(cfg, map);
	struct pipeline_result *r = NULL;
	char err[512];

	pipeline_set_now(p, 1795000000);
	if (s)
		pipeline_set_notice_sink(p, sink, s);
	pipeline_feed(p, msg, strlen(msg));
	if (pipeline_finish(p, &r, err, sizeof(err)) != 0)
		fprintf(stderr, "  %s\n", err);
	pipeline_free(p);
	return r;
}

TEST(stream, notices_streamed_to_a_sink_make_the_same_json_and_are_not_kept)
{
	struct config *cfg = test_config();
	struct prefixmap *map = test_map(MAP);
	char *msg = mail();
	struct stream s = { BUF_INIT, 0, 0, 0, 0 };
	struct pipeline_result *whole = run(cfg, map, msg, NULL), *streamed = run(cfg, map, msg, &s);
	struct buf want = BUF_INIT;
	size_t i, j;

	REQUIRE(whole != NULL && streamed != NULL);
	CHECK_INT(s.seen, 4);
	for (i = 0; i < streamed->nreports; i++)
		for (j = 0; j < streamed->reports[i].nnotices; j++)
			CHECK(streamed->reports[i].notices[j].message == NULL);	/* not kept */
	CHECK_INT(streamed->reports[0].nmade + streamed->reports[1].nmade, 4);	/* but counted */
	while (s.next_report < streamed->nreports) {	/* what replay does at the end */
		if (s.next_report > 0)
			json_report_close(&s.json, &streamed->reports[s.next_report - 1]);
		json_report_open(&s.json, &streamed->reports[s.next_report], s.next_report == 0);
		s.next_report++;
	}
	json_report_close(&s.json, &streamed->reports[s.next_report - 1]);
	json_message_close(&s.json);
	json_result(&want, "m", whole, NULL);
	CHECK_STR(buf_cstr(&s.json), buf_cstr(&want));
	buf_free(&want);
	buf_free(&s.json);
	pipeline_result_free(whole);
	pipeline_result_free(streamed);
	free(msg);
	prefixmap_free(map);
	config_free(cfg);
}

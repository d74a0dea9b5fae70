/*
 * fuzz_reportslist - libFuzzer target: the Reports API's reports/list and
 * reports/types answers, as "shadowmilter pull" reads them off the network
 *
 * Every entry kept must have an id that may be appended to a download URL
 * (reportslist_id_ok: no "/", no blank, no leading dot) and a file name, and
 * no string it keeps may hold a control character (they reach log lines and
 * the ops mail); every type name from reports/types is non-empty and clean.
 *
 *   make fuzz   (tests/fuzz/run.sh: seeds are a list answer and a types answer)
 */
#include "fuzzutil.h"

#include "report/reportslist.h"

#include <stdlib.h>
#include <string.h>

static void
check_clean(const char *what, const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			fuzz_fail("a kept string holds a control character", what);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct api_list l;
	char **types, err[512];
	size_t i, n;

	if (reportslist_parse((const char *)data, size, &l, err, sizeof(err)) == 0) {
		for (i = 0; i < l.n; i++) {
			if (!reportslist_id_ok(l.v[i].id) || *l.v[i].file == '\0')
				fuzz_fail("an entry kept has an unusable id or no file", l.v[i].id);
			check_clean("file", l.v[i].file);
			check_clean("type", l.v[i].type);
			check_clean("report", l.v[i].report);
			check_clean("timestamp", l.v[i].timestamp);
		}
		reportslist_free(&l);
	}
	if (reportslist_types((const char *)data, size, &types, &n, err, sizeof(err)) == 0) {
		for (i = 0; i < n; i++) {
			if (*types[i] == '\0')
				fuzz_fail("an empty type name is kept", "");
			check_clean("type name", types[i]);
			free(types[i]);
		}
		free(types);
	}
	return 0;
}

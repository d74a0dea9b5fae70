/*
 * reportid - the one identity of a ShadowServer report file
 *
 * See reportid.h.
 */
#include "report/reportid.h"
#include "base/util.h"

#include <stdlib.h>
#include <string.h>

/* is_date - "\d{4}-\d{2}-\d{2}" at S */
static int
is_date(const char *s)
{
	static const char shape[] = "dddd-dd-dd";
	size_t i;

	for (i = 0; shape[i]; i++)
		if (shape[i] == 'd' ? !(s[i] >= '0' && s[i] <= '9') : s[i] != shape[i])
			return 0;
	return 1;
}

/* base_len - the length of BASE without ".zip" (after ".csv") and ".csv"; 0: no ".csv" end */
static size_t
base_len(const char *base)
{
	size_t len = strlen(base);

	if (len > 8 && strcmp(base + len - 8, ".csv.zip") == 0)
		len -= 4;
	if (len < 4 || strncmp(base + len - 4, ".csv", 4) != 0)
		return 0;
	return len - 4;
}

int
report_id_parse(const char *name, struct report_id *id)
{
	const char *base = strrchr(name, '/'), *type, *dash, *c;
	struct buf key = BUF_INIT;
	size_t len;

	memset(id, 0, sizeof(*id));
	base = base ? base + 1 : name;
	for (c = base; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return -1;
	if ((len = base_len(base)) < 11 || !is_date(base) || base[10] != '-')
		return -1;
	type = base + 11;
	dash = memchr(type, '-', len - 11);
	if (dash == NULL || dash == type || dash + 1 >= base + len)	/* [^-]+ and .+ are not empty */
		return -1;
	memcpy(id->date, base, 10);
	id->type = xstrndup(type, (size_t)(dash - type));
	for (char *t = id->type; *t; t++)
		if (*t >= 'A' && *t <= 'Z')
			*t += 'a' - 'A';
	id->list = xstrndup(dash + 1, (size_t)(base + len - dash - 1));
	buf_printf(&key, "%s-%s-%s", id->date, id->type, id->list);
	id->key = buf_steal(&key);
	return 0;
}

void
report_id_free(struct report_id *id)
{
	free(id->type);
	free(id->list);
	free(id->key);
	memset(id, 0, sizeof(*id));
}

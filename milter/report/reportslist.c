/*
 * reportslist - what the Reports API offers: the answers of reports/list and
 * reports/types read
 *
 * See reportslist.h.
 */
#include "report/reportslist.h"
#include "base/util.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define ID_MAX 512

int
reportslist_id_ok(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > ID_MAX || *id == '.')
		return 0;
	for (; *id; id++)
		if (!((*id >= 'a' && *id <= 'z') || (*id >= 'A' && *id <= 'Z') || (*id >= '0' && *id <= '9') ||
		    strchr("-_.~?=&%+", *id)))
			return 0;
	return 1;
}

/* load - ANSWER as a JSON array, or NULL with WHY saying what came instead */
static json_t *
load(const char *what, const char *answer, size_t len, char *why, size_t whylen)
{
	json_error_t e;
	json_t *root = json_loadb(answer, len, JSON_REJECT_DUPLICATES, &e);

	if (root == NULL) {
		char head[61];
		size_t i, n = len < 60 ? len : 60;	/* ANSWER need not end in a NUL */

		for (i = 0; i < n; i++)		/* one log line, whatever came */
			head[i] = (unsigned char)answer[i] < 0x20 || answer[i] == 0x7f ? ' ' : answer[i];
		head[n] = '\0';
		err_set(why, whylen, "%s: the answer is not JSON (%s at byte %d): %s", what, e.text, e.position, head);
		return NULL;
	}
	if (!json_is_array(root)) {
		err_set(why, whylen, "%s: the answer is not a JSON array", what);
		json_decref(root);
		return NULL;
	}
	return root;
}

/* clean - S (or "") as a new string without control characters */
static char *
clean(const char *s)
{
	char *out = xstrdup(s ? s : ""), *c;

	for (c = out; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = ' ';
	return out;
}

/* text - member KEY of O, cleaned; "" when it is no string */
static char *
text(json_t *o, const char *key)
{
	return clean(json_string_value(json_object_get(o, key)));
}

int
reportslist_parse(const char *answer, size_t len, struct api_list *list, char *why, size_t whylen)
{
	json_t *root = load("reports/list", answer, len, why, whylen), *o;
	size_t i;

	memset(list, 0, sizeof(*list));
	if (root == NULL)
		return -1;
	list->v = xcalloc(json_array_size(root) + 1, sizeof(*list->v));
	json_array_foreach(root, i, o) {
		struct api_report *r = &list->v[list->n];
		const char *id = json_string_value(json_object_get(o, "id"));
		const char *file = json_string_value(json_object_get(o, "file"));

		if (!json_is_object(o) || id == NULL || file == NULL || *file == '\0' || !reportslist_id_ok(id)) {
			list->dropped++;
			continue;
		}
		r->id = xstrdup(id);
		r->file = text(o, "file");
		r->type = text(o, "type");
		r->report = text(o, "report");
		r->timestamp = text(o, "timestamp");
		list->n++;
	}
	json_decref(root);
	return 0;
}

void
reportslist_free(struct api_list *list)
{
	size_t i;

	for (i = 0; i < list->n; i++) {
		free(list->v[i].id);
		free(list->v[i].file);
		free(list->v[i].type);
		free(list->v[i].report);
		free(list->v[i].timestamp);
	}
	free(list->v);
	memset(list, 0, sizeof(*list));
}

int
reportslist_types(const char *answer, size_t len, char ***types, size_t *n, char *why, size_t whylen)
{
	json_t *root = load("reports/types", answer, len, why, whylen), *o;
	size_t i;

	*types = NULL;
	*n = 0;
	if (root == NULL)
		return -1;
	*types = xcalloc(json_array_size(root) + 1, sizeof(char *));
	json_array_foreach(root, i, o) {
		json_t *s = json_is_string(o) ? o : json_object_get(o, "type");

		if (!json_is_string(s))
			s = json_object_get(o, "name");
		if (json_is_string(s) && *json_string_value(s))
			(*types)[(*n)++] = clean(json_string_value(s));
	}
	json_decref(root);
	return 0;
}

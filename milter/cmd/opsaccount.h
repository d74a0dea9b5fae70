/*
 * opsaccount - what "history ACCOUNT" adds to the timeline: the account's
 * AccountSettings, the notices they withheld and those waiting for the
 * account's daily digest
 *
 * The settings are read from the source the configuration names (as the
 * daemon reads them: customers/accounts.h); the withheld notices come from
 * the detection history (state_withheld), the waiting ones from the outbox
 * (digest_parts_list). Any of them failing is said in the view, not fatal:
 * the timeline above it stands.
 *
 * Owns: the view's settings table, withheld and waiting lists.
 */
#ifndef SM_OPSACCOUNT_H
#define SM_OPSACCOUNT_H

#include <stddef.h>

struct buf;
struct config;
struct store;
struct account_table;
struct account_settings;
struct state_withheld;

struct account_view {
	const char *account;
	char *source;				/* AccountSettings as it may be shown, or NULL: none */
	struct account_table *table;		/* NULL: none, or it could not be read */
	const struct account_settings *s;	/* the account's row, or NULL: the defaults */
	char error[512];			/* why the settings could not be read, or "" */
	struct state_withheld *withheld;
	size_t nwithheld;
	char withheld_error[512];		/* why the history could not say, or "" */
	struct digest_waiting *waiting;		/* notices kept for the daily digest, oldest first */
	size_t nwaiting;
	char waiting_error[512];		/* why the outbox could not say, or "" */
};

/* a notice waiting for the account's daily digest (store/digestparts.h) */
struct digest_waiting {
	char *report_type;
	int action;				/* an ACTION REQUIRED section */
	long long at;				/* when it was kept (time_t) */
};

/* account_view_load - ACCOUNT's settings (CFG's AccountSettings) and withheld notices (ST) into V */
void account_view_load(struct account_view *v, const struct config *cfg, struct store *st, const char *account);

/* account_view_text - "Settings of ACCOUNT: ..." and the withheld notices, on stdout */
void account_view_text(const struct account_view *v);

/* account_view_json - ,"settings":{...},"withheld":[...],"digest_waiting":[...] appended to B */
void account_view_json(struct buf *b, const struct account_view *v);

void account_view_free(struct account_view *v);

#endif

/*
 * hostilemail - the memory-exhaustion mails of issue 17, built at run time
 *
 * SYNOPSIS
 *	char *m = hostile_members_mail(40000, 1, key_file, 1, &len);
 *	char *w = hostile_wide_mail(200000, 2000, key_file, 1, &len);
 *
 * DESCRIPTION
 *	No blob is committed: the unit tests (with small counts) and
 *	tests/bench/bench_hostile (with the counts) build the mails
 *	here. Each is a report mail from autoreports@shadowserver.org,
 *	DKIM-signed with KEY_FILE (d=shadowserver.org s=test, the throwaway
 *	test key), CRLF line ends.
 *
 *	hostile_members_mail: MEMBERS two-line CSV files (a header and one
 *	address of 192.0.2.0/24), all in one zip attachment (ZIPPED) or each
 *	an attachment of its own.
 *
 *	hostile_wide_mail: one zipped CSV of COLUMNS columns (timestamp and ip
 *	first) and ROWS rows, each a time, an address and empty fields; the zip is
 *	written as it is deflated, never whole in memory.
 *
 *	SWAP_BODY: the attack of the issue: a genuine report is signed, then
 *	its body is swapped for the hostile one, so the header signature
 *	verifies and only the body hash, known at the end, fails. Otherwise
 *	the hostile mail itself is signed (a real report of that size).
 */
#ifndef SM_HOSTILEMAIL_H
#define SM_HOSTILEMAIL_H

#include <stddef.h>

char *hostile_members_mail(unsigned members, int zipped, const char *key_file, int swap_body, size_t *len);
char *hostile_wide_mail(unsigned columns, unsigned rows, const char *key_file, int swap_body, size_t *len);

#endif

/*
 * pgmap - the benchmarks' million-prefix CustomerMap table in PostgreSQL
 *
 * See pgmap.h. Owns: the table bench_map in the database it is given.
 */
#include "pgmap.h"

#include <arpa/inet.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>

static int
exec_ok(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK;

	if (!ok)
		fprintf(stderr, "pgmap: %s: %s", sql, PQerrorMessage(c));
	PQclear(r);
	return ok;
}

/* row - row I of the table as COPY text; its length */
static int
row(long i, char *line, size_t len)
{
	long a = i % PGMAP_ACCOUNTS;

	if (i % 5 != 4)	/* IPv4 /24s from 16.0.0.0 up */
		return snprintf(line, len, "%ld.%ld.%ld.0/24\tacct%ld\tnoc@acct%ld.example\n",
		    16 + (i >> 16), (i >> 8) & 255, i & 255, a, a);
	return snprintf(line, len, "2001:db8:%lx:%lx::/64\tacct%ld\tnoc@acct%ld.example\n",
	    (i >> 16) & 0xffff, i & 0xffff, a, a);
}

int
pgmap_fill(const char *uri, long count)
{
	PGconn *c = PQconnectdb(uri);
	char line[160];
	PGresult *r;
	long i;
	int ok;

	if (PQstatus(c) != CONNECTION_OK || !exec_ok(c, "DROP TABLE IF EXISTS bench_map") ||
	    !exec_ok(c, "CREATE TABLE bench_map (prefix cidr, account text, email text)") ||
	    PQresultStatus(r = PQexec(c, "COPY bench_map FROM STDIN")) != PGRES_COPY_IN) {
		fprintf(stderr, "pgmap: %s", PQerrorMessage(c));
		PQfinish(c);
		return -1;
	}
	PQclear(r);
	for (i = 0; i < count; i++)
		if (PQputCopyData(c, line, row(i, line, sizeof(line))) != 1)
			break;
	ok = PQputCopyEnd(c, NULL) == 1 && PQresultStatus(r = PQgetResult(c)) == PGRES_COMMAND_OK;
	if (!ok)
		fprintf(stderr, "pgmap: COPY: %s", PQerrorMessage(c));
	PQclear(r);
	ok = ok && exec_ok(c, "VACUUM ANALYZE bench_map");	/* hint bits set, as on a table in use for a while */
	PQfinish(c);
	return ok ? 0 : -1;
}

void
pgmap_host(long i, int host, char *out, unsigned long outlen)
{
	unsigned char a[16] = { 0 };

	if (i % 5 != 4) {
		a[0] = (unsigned char)(16 + (i >> 16));
		a[1] = (unsigned char)((i >> 8) & 255);
		a[2] = (unsigned char)(i & 255);
		a[3] = (unsigned char)host;
		inet_ntop(AF_INET, a, out, (socklen_t)outlen);
		return;
	}
	a[0] = 0x20, a[1] = 0x01, a[2] = 0x0d, a[3] = 0xb8;
	a[4] = (unsigned char)((i >> 24) & 255);
	a[5] = (unsigned char)((i >> 16) & 255);
	a[6] = (unsigned char)((i >> 8) & 255);
	a[7] = (unsigned char)(i & 255);
	a[15] = (unsigned char)host;
	inet_ntop(AF_INET6, a, out, (socklen_t)outlen);
}

/*
 * pguri - a libpq connection URI as it may be shown: never its password
 *
 * Every message, status line and JSON field that names a PostgreSQL
 * connection (the store's StateDB/OutboxDB, a CustomerMap or
 * AccountSettings query) shows it through pguri_redacted.
 *
 * Owns: nothing past the call.
 */
#ifndef SM_PGURI_H
#define SM_PGURI_H

/* pguri_is_pg - URI is postgresql:// or postgres:// */
int pguri_is_pg(const char *uri);

/* pguri_redacted - URI as libpq reads it, written back without password or
 * sslpassword (malloc'd; "(a connection libpq cannot parse)" in place of
 * the rest when libpq cannot parse it) */
char *pguri_redacted(const char *uri);

#endif

/*
 * check - "shadowmilter -n": what the daemon would refuse or trip over
 *
 * Before the customer map and templates are loaded and rendered (daemon.c),
 * check_setup reads the config and checks what it names on this host: the
 * UserID exists; each SQLite database's directory exists and UserID can
 * create files in it (a PostgreSQL URI connects); TemplateDir, Catalogue
 * and CustomerMap exist and UserID can read them; the sendmail transport is
 * executable; the socket's directory exists and the MTA's user can reach it.
 * Every problem is one line on stderr naming the file, the line and the key;
 * warnings (TestRecipient on, a template for a type the catalogue does not
 * know, a chrooted Postfix) go to stdout and do not fail the check.
 */
#ifndef SM_CHECK_H
#define SM_CHECK_H

/* check_setup - 0 when nothing is wrong, else 1 (each problem printed) */
int check_setup(const char *conf);

#endif

/*
 * usage - the command line's words: usage lines, help, version
 *
 * Every command's synopsis lives here, once, so "-h", "CMD --help",
 * "help CMD" and a usage error all print the same text. Help goes to
 * stdout with exit 0; a usage error says what was wrong on stderr, then the
 * command's synopsis, and returns 2.
 *
 * Owns: the synopsis table and the version line.
 */
#ifndef SM_USAGE_H
#define SM_USAGE_H

#include <stdio.h>

#define SM_VERSION "0.2.0"

/* usage_known - is CMD a command ("daemon" for the bare program) */
int usage_known(const char *cmd);

/* usage_print - CMD's synopsis on F; NULL: every command's */
void usage_print(FILE *f, const char *cmd);

/* usage_help - CMD's synopsis and options on stdout; 0 */
int usage_help(const char *cmd);

/* usage_error - "shadowmilter: CMD: WHY" and CMD's synopsis on stderr; 2 */
int usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* usage_bad_option - usage_error for getopt's '?' (unknown option) or ':'
 * (missing value); call with opterr 0 and an optstring starting with ':' */
int usage_bad_option(const char *cmd, int c, char **argv);

/* usage_version - the version and the libraries' versions on stdout; 0 */
int usage_version(void);

#endif

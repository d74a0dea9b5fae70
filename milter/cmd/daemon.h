/*
 * daemon - the shadowmilter daemon and the one-shot delivery command
 */
#ifndef SM_DAEMON_H
#define SM_DAEMON_H

/* daemon_main - run the filter (CHECK_ONLY: validate the config and exit; with ReportsAPIKey it
 * also calls the API's test/ping, unless OFFLINE) */
int daemon_main(const char *conf, int foreground, int check_only, int offline);

/* deliver_once_main - "shadowmilter deliver": drain the outbox once;
 * DRY_RUN: say what would be sent, change nothing; DIGEST_NOW: first build
 * every daily digest of every waiting notice (deliver --digest-now) */
int deliver_once_main(const char *conf, int dry_run, int digest_now);

#endif

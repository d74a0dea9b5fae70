/*
 * ops - the ops commands over the detection history: overdue, history, status
 *
 *   shadowmilter overdue -c CONF [--state FILE] [--json] [--now TIME]
 *   shadowmilter history -c CONF [--state FILE] [--json] IP|ACCOUNT
 *   shadowmilter status  -c CONF [--state FILE] [--json] [--now TIME]
 *
 * Text for people, one JSON object for automation. The state database is
 * StateDB from the config, or --state FILE.
 */
#ifndef SM_HISTORY_H
#define SM_HISTORY_H

/* history_main - COMMAND ("overdue", "history", "status") with its arguments */
int history_main(const char *command, int argc, char **argv);

#endif

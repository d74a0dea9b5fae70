/*
 * milter - the libmilter callbacks (the daemon around them is daemon.c)
 */
#ifndef SM_MILTER_H
#define SM_MILTER_H

/*
 * milter_register - hand libmilter our callbacks; 0 or -1. WAKE runs when a
 * message queued notices (the daemon's delivery worker delivers them now, not
 * at its next interval), so the callbacks need not know the daemon.
 */
int milter_register(void (*wake)(void));

#endif

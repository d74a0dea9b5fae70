/*
 * milter - the libmilter callbacks (the daemon around them is daemon.c)
 */
#ifndef SM_MILTER_H
#define SM_MILTER_H

/* milter_register - hand libmilter our callbacks; 0 or -1 */
int milter_register(void);

#endif

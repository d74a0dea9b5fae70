/*
 * privs - who a command runs as: UserID looked up, checked, become
 *
 * The daemon opens its socket as root and then becomes UserID; so must a
 * command run by root that writes a database (replay --state, deliver,
 * history, status), or the daemon later finds a root-owned file it cannot
 * write. "-n" uses privs_access to ask whether UserID could reach a path.
 *
 * Owns: nothing past the call.
 */
#ifndef SM_PRIVS_H
#define SM_PRIVS_H

#include <stddef.h>
#include <sys/types.h>

struct privs_user {
	uid_t uid;
	gid_t gid;
	char name[64];
};

/* privs_lookup - SPEC "user" or "user:group"; 0, or -1 with ERR ("no such user") */
int privs_lookup(const char *spec, struct privs_user *u, char *err, size_t errlen);

/* privs_become - root becomes U for good (groups, gid, uid; each checked); 0 or -1 with ERR */
int privs_become(const struct privs_user *u, char *err, size_t errlen);

/* privs_access - could U reach PATH with MODE (access(2) bits)? 1 yes, 0 no,
 * -1 cannot be known (we are neither root nor U) */
int privs_access(const struct privs_user *u, const char *path, int mode);

/* privs_as_user - root becomes the database's user before opening DB (a
 * SQLite file or a URI), so what it creates is the daemon's: UserID when
 * set, else the owner of DB's directory when that is not root; 0 (also when
 * not root), or -1 with ERR saying how to run COMMAND instead */
struct config;
int privs_as_user(const struct config *cfg, const char *db, const char *command, char *err, size_t errlen);

#endif

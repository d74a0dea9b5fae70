/*
 * privs - who a command runs as: UserID looked up, checked, become
 *
 * See privs.h. privs_access asks in a child that has become the user, so
 * group membership, ACLs and every directory on the way count exactly as
 * they will for the daemon.
 */
#include "cmd/privs.h"
#include "config/config.h"
#include "base/util.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int
privs_lookup(const char *spec, struct privs_user *u, char *err, size_t errlen)
{
	char *copy = xstrdup(spec), *colon = strchr(copy, ':');
	struct passwd *pw;
	struct group *gr = NULL;
	int rc = -1;

	if (colon)
		*colon++ = '\0';
	if ((pw = getpwnam(copy)) == NULL)
		err_set(err, errlen, "no such user \"%s\"", copy);
	else if (colon && (gr = getgrnam(colon)) == NULL)
		err_set(err, errlen, "no such group \"%s\"", colon);
	else if (strlen(copy) >= sizeof(u->name))
		err_set(err, errlen, "user name \"%s\" too long", copy);
	else {
		u->uid = pw->pw_uid;
		u->gid = gr ? gr->gr_gid : pw->pw_gid;
		snprintf(u->name, sizeof(u->name), "%s", copy);
		rc = 0;
	}
	free(copy);
	return rc;
}

int
privs_become(const struct privs_user *u, char *err, size_t errlen)
{
	if (initgroups(u->name, u->gid) != 0 || setgid(u->gid) != 0 || setuid(u->uid) != 0) {
		err_set(err, errlen, "cannot become %s: %s", u->name, strerror(errno));
		return -1;
	}
	if (u->uid != 0 && (setuid(0) == 0 || geteuid() == 0)) {
		err_set(err, errlen, "could regain root after becoming %s", u->name);
		return -1;
	}
	return 0;
}

int
privs_access(const struct privs_user *u, const char *path, int mode)
{
	char err[256];
	pid_t pid;
	int status;

	if (geteuid() == u->uid)
		return access(path, mode) == 0;
	if (geteuid() != 0)
		return -1;
	if ((pid = fork()) < 0)
		return -1;
	if (pid == 0)
		_exit(privs_become(u, err, sizeof(err)) != 0 ? 2 : access(path, mode) == 0 ? 0 : 1);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) == 2)
		return -1;
	return WEXITSTATUS(status) == 0;
}

/* dir_owner - the owner of DB's directory, for a SQLite file; 0 if none or unknown */
static int
dir_owner(const char *db, struct privs_user *u)
{
	char *dir = xstrdup(db), *slash = strrchr(dir, '/');
	struct passwd *pw;
	struct stat st;
	int found = 0;

	if (slash)
		*(slash == dir ? slash + 1 : slash) = '\0';
	if (strstr(db, "://") == NULL && stat(slash ? dir : ".", &st) == 0 && st.st_uid != 0 &&
	    (pw = getpwuid(st.st_uid)) != NULL && strlen(pw->pw_name) < sizeof(u->name)) {
		u->uid = pw->pw_uid;
		u->gid = pw->pw_gid;
		snprintf(u->name, sizeof(u->name), "%s", pw->pw_name);
		found = 1;
	}
	free(dir);
	return found;
}

int
privs_as_user(const struct config *cfg, const char *db, const char *command, char *err, size_t errlen)
{
	struct privs_user u;
	char why[256];

	if (geteuid() != 0)
		return 0;
	if (cfg->user_id == NULL) {
		if (db && dir_owner(db, &u) && privs_become(&u, why, sizeof(why)) != 0) {
			err_set(err, errlen, "%s: %s; run it as %s (runuser -u %s -- shadowmilter %s ...)", command, why,
			    u.name, u.name, command);
			return -1;
		}
		return 0;	/* the directory is root's: so is the database */
	}
	if (privs_lookup(cfg->user_id, &u, why, sizeof(why)) != 0 || privs_become(&u, why, sizeof(why)) != 0) {
		err_set(err, errlen, "%s: UserID %s: %s; as root it runs as UserID so the daemon can write what it "
		    "creates: fix UserID, or run it as the daemon's user (runuser -u USER -- shadowmilter %s ...)",
		    command, cfg->user_id, why, command);
		return -1;
	}
	return 0;
}

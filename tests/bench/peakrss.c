/*
 * peakrss - run a command, print its wall time and peak RSS
 *
 *   build/bench/peakrss LABEL OUTFILE CMD ARGS...
 *
 * runs CMD with its standard output in OUTFILE, then prints
 * "LABEL  T s  peak RSS M MiB" and exits with the command's status.
 * The peak RSS is the child's ru_maxrss from wait4(): that process alone,
 * from exec to exit.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	struct timespec t0, t1;
	struct rusage ru;
	int status;
	pid_t pid;

	if (argc < 4) {
		fprintf(stderr, "usage: peakrss LABEL OUTFILE CMD ARGS...\n");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if ((pid = fork()) < 0) {
		perror("fork");
		return 1;
	}
	if (pid == 0) {
		if (freopen(argv[2], "w", stdout) == NULL) {
			fprintf(stderr, "peakrss: %s: %s\n", argv[2], strerror(errno));
			_exit(127);
		}
		execvp(argv[3], argv + 3);
		fprintf(stderr, "peakrss: %s: %s\n", argv[3], strerror(errno));
		_exit(127);
	}
	while (wait4(pid, &status, 0, &ru) < 0)
		if (errno != EINTR) {
			perror("wait4");
			return 1;
		}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("%-44s %7.2f s  peak RSS %7.1f MiB%s\n", argv[1],
	    (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
	    (double)ru.ru_maxrss / 1024.0,
	    WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "" : "  (FAILED)");
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

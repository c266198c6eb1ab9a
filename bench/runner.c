/*
 * \summary: runs a command several times and reports its median wall time
 * and its peak resident set size, without GNU time.
 *
 *   runner [-n RUNS] [-i IN] [-o OUT] [-v] -- CMD [ARG...]
 *   runner [-n RUNS] [-i IN] [-o OUT] [-v] -c 'SHELL PIPELINE'
 *
 * Each run forks, points stdin at IN and stdout at OUT (both /dev/null by
 * default; stderr is inherited), execs CMD (or /bin/sh -c PIPELINE) and
 * waits for it with wait4. Wall time is CLOCK_MONOTONIC from before the
 * fork to after the wait. The peak RSS is wait4's ru_maxrss: for a shell
 * pipeline that is the largest of the shell and the processes it waited for
 * (Linux folds the children's maximum into the shell's), not their sum.
 *
 * Prints one line on stdout:
 *   runs=3 median_s=0.912345 min_s=0.9 max_s=0.95 maxrss_kb=12800 status=0
 * status is the first non-zero exit status (128 + N for signal N), else 0;
 * the runner exits 1 when any run failed, 64 on a usage error, 71 when it
 * cannot fork or exec.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_RUNS 101

static void usage(void)
{
	fputs("usage: runner [-n RUNS] [-i IN] [-o OUT] [-v] -- CMD [ARG...]\n"
	      "       runner [-n RUNS] [-i IN] [-o OUT] [-v] -c 'SHELL PIPELINE'\n",
	      stderr);
	exit(64);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/*
 * Runs argv once with stdin from in and stdout to out. Stores its wall time
 * in *secs and its ru_maxrss (KiB) in *rss; returns its exit status, 128 + N
 * for a signal N, or -1 when it could not be started.
 */
static int run_once(char *const argv[], const char *in, const char *out, double *secs, long *rss)
{
	struct rusage ru;
	int st;
	pid_t pid;
	double t0 = now();

	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "runner: fork: %s\n", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		int fi = open(in, O_RDONLY), fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fi < 0 || fo < 0 || dup2(fi, 0) < 0 || dup2(fo, 1) < 0) {
			fprintf(stderr, "runner: %s: %s\n", fi < 0 ? in : out, strerror(errno));
			_exit(71);
		}
		close(fi);
		close(fo);
		execvp(argv[0], argv);
		fprintf(stderr, "runner: %s: %s\n", argv[0], strerror(errno));
		_exit(71);
	}
	while (wait4(pid, &st, 0, &ru) < 0) {
		if (errno != EINTR) {
			fprintf(stderr, "runner: wait4: %s\n", strerror(errno));
			return -1;
		}
	}
	*secs = now() - t0;
	*rss = ru.ru_maxrss;
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return WEXITSTATUS(st);
}

int main(int argc, char **argv)
{
	const char *in = "/dev/null", *out = "/dev/null";
	static char sh[] = "/bin/sh", dash_c[] = "-c";
	char *shell[4] = {sh, dash_c, NULL, NULL};
	char **cmd = NULL;
	double secs[MAX_RUNS];
	long maxrss = 0;
	int runs = 1, verbose = 0, status = 0, i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--") == 0) {
			cmd = argv + i + 1;
			break;
		} else if (strcmp(a, "-v") == 0) {
			verbose = 1;
		} else if (i + 1 >= argc) {
			usage();
		} else if (strcmp(a, "-n") == 0) {
			char *end;
			long n = strtol(argv[++i], &end, 10);

			if (*end || n < 1 || n > MAX_RUNS)
				usage();
			runs = (int)n;
		} else if (strcmp(a, "-i") == 0) {
			in = argv[++i];
		} else if (strcmp(a, "-o") == 0) {
			out = argv[++i];
		} else if (strcmp(a, "-c") == 0) {
			shell[2] = argv[++i];
			cmd = shell;
			if (i + 1 != argc)
				usage();
			break;
		} else {
			usage();
		}
	}
	if (!cmd || !cmd[0])
		usage();
	for (i = 0; i < runs; i++) {
		long rss = 0;
		int rc = run_once(cmd, in, out, &secs[i], &rss);

		if (rc < 0)
			return 71;
		if (rc != 0 && status == 0)
			status = rc;
		if (rss > maxrss)
			maxrss = rss;
		if (verbose)
			fprintf(stderr, "runner: run %d: %.6f s, %ld KiB, status %d\n", i + 1, secs[i], rss, rc);
	}
	qsort(secs, (size_t)runs, sizeof secs[0], cmp_double);
	printf("runs=%d median_s=%.6f min_s=%.6f max_s=%.6f maxrss_kb=%ld status=%d\n", runs,
	       runs % 2 ? secs[runs / 2] : (secs[runs / 2 - 1] + secs[runs / 2]) / 2, secs[0],
	       secs[runs - 1], maxrss, status);
	return status ? 1 : 0;
}

/*
 * trickle: a live producer for the end-to-end tests. It starts a filter
 * (the command after "--") with pipes on its stdin and stdout, writes CSV
 * records to it one at a time, and measures when each comes out.
 *
 *   trickle [-n N] [-p MS] [-i MS] [-b MS] [-s] [-c] [-x CODE] -- CMD ARG...
 *
 *   -n N     records to send (default 20): "rK,x,2024-01-01 10:00:00"
 *   -p MS    wait mode: send a record, wait until it is out, pause MS (default 50)
 *   -i MS    stream mode instead: send a record every MS ms without waiting
 *   -b MS    each record must be out within MS ms of being sent (default 100)
 *   -f       wait mode with filler: while waiting, keep sending blank lines so
 *            that the input is never idle (only the --flush-ms timer flushes)
 *   -s       end with SIGTERM instead of closing the filter's stdin
 *   -k SIG   the signal number -s sends (default 15, SIGTERM)
 *   -c       before the SIGTERM, send half a record (no newline)
 *   -x CODE  the exit status expected of the filter (default 0)
 *
 * The filter's output must be a header line and then "rK,..." in order.
 * Prints the latencies measured; exits 0 when every record came out within
 * the bound and the filter exited as expected, 1 otherwise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WAIT_MAX_MS 5000
#define MAX_RECORDS 10000

/* Per record: when it was sent and when its line came out (0: not yet). */
static double sent[MAX_RECORDS], arrival[MAX_RECORDS];

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void sleep_ms(double ms)
{
	struct timespec ts;

	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)((ms - (double)ts.tv_sec * 1000) * 1e6);
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

struct reader {
	int fd;
	char line[4096];
	size_t n;
	long lines;     /* complete lines seen, the header included */
	double *arrival; /* per record: when its line was complete */
	long nrec;
	int eof, bad;
};

/* Reads what is ready (waiting up to timeout ms), noting when each line ends. */
static void pump(struct reader *r, int timeout)
{
	struct pollfd pfd = {.fd = r->fd, .events = POLLIN};
	char buf[4096];
	ssize_t k, i;

	if (r->eof || poll(&pfd, 1, timeout) <= 0)
		return;
	k = read(r->fd, buf, sizeof buf);
	if (k <= 0) {
		r->eof = 1;
		return;
	}
	for (i = 0; i < k; i++) {
		if (buf[i] != '\n') {
			if (r->n < sizeof r->line - 1)
				r->line[r->n++] = buf[i];
			continue;
		}
		r->line[r->n] = '\0';
		if (r->lines > 0) {
			long rec = r->lines - 1;
			char want[32];

			snprintf(want, sizeof want, "r%ld,", rec);
			if (rec >= r->nrec || strncmp(r->line, want, strlen(want)) != 0) {
				fprintf(stderr, "trickle: unexpected output line %ld: %s\n", r->lines, r->line);
				r->bad = 1;
			} else {
				r->arrival[rec] = now_ms();
			}
		}
		r->lines++;
		r->n = 0;
	}
}

int main(int argc, char **argv)
{
	long n = 20, i, late = 0, missing = 0;
	double pause = 50, interval = -1, bound = 100, worst = 0, sum = 0;
	int term = 0, cut = 0, filler = 0, want_code = 0, sig = SIGTERM, c, in[2], out[2], status;
	struct reader r;
	pid_t pid;

	while ((c = getopt(argc, argv, "n:p:i:b:fsk:cx:")) != -1) {
		switch (c) {
		case 'n': n = atol(optarg); break;
		case 'p': pause = atof(optarg); break;
		case 'i': interval = atof(optarg); break;
		case 'b': bound = atof(optarg); break;
		case 'f': filler = 1; break;
		case 's': term = 1; break;
		case 'k': sig = atoi(optarg); break;
		case 'c': cut = 1; break;
		case 'x': want_code = atoi(optarg); break;
		default: return 2;
		}
	}
	if (optind >= argc || n <= 0 || n > MAX_RECORDS) {
		fprintf(stderr, "usage: trickle [options] -- CMD ARG...\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (pipe(in) != 0 || pipe(out) != 0)
		return 2;
	pid = fork();
	if (pid < 0)
		return 2;
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[0]), close(in[1]), close(out[0]), close(out[1]);
		execvp(argv[optind], argv + optind);
		perror("trickle: exec");
		_exit(127);
	}
	close(in[0]);
	close(out[1]);

	memset(&r, 0, sizeof r);
	r.fd = out[0];
	r.nrec = n;
	r.arrival = arrival;

	for (i = 0; i < n; i++) {
		char rec[64];
		int len = snprintf(rec, sizeof rec, "r%ld,x,2024-01-01 10:00:00\n", i);
		double t;

		if (write(in[1], rec, (size_t)len) != len) {
			fprintf(stderr, "trickle: write to the filter failed\n");
			return 1;
		}
		sent[i] = now_ms();
		if (interval >= 0) {
			/* stream mode: keep reading while the next send is due */
			while ((t = now_ms()) < sent[i] + interval)
				pump(&r, (int)(sent[i] + interval - t) + 1);
			continue;
		}
		/* wait mode: record i must be out before record i + 1 is sent */
		while (r.arrival[i] == 0 && !r.eof && now_ms() - sent[i] < WAIT_MAX_MS) {
			static char blank[4096];

			if (filler) {
				/* keep the pipe from running dry: the filter never sees it idle */
				if (!blank[0])
					memset(blank, '\n', sizeof blank);
				if (write(in[1], blank, sizeof blank) != (ssize_t)sizeof blank)
					return 1;
			}
			pump(&r, filler ? 0 : 10);
		}
		if (r.arrival[i] == 0) {
			fprintf(stderr, "trickle: record %ld not out after %d ms\n", i, WAIT_MAX_MS);
			break;
		}
		sleep_ms(pause);
	}
	if (cut && write(in[1], "rX,half", 7) != 7)
		return 1;
	/* let the filter take what was sent before the signal */
	if (term) {
		double t0 = now_ms();

		while (now_ms() - t0 < 200)
			pump(&r, 10);
		kill(pid, sig);
	} else {
		close(in[1]);
	}
	while (!r.eof)
		pump(&r, WAIT_MAX_MS);
	if (waitpid(pid, &status, 0) != pid)
		return 2;

	for (i = 0; i < n; i++) {
		double lat;

		if (r.arrival[i] == 0) {
			missing++;
			continue;
		}
		lat = r.arrival[i] - sent[i];
		sum += lat;
		if (lat > worst)
			worst = lat;
		if (lat > bound)
			late++;
	}
	printf("trickle: %ld records, %ld missing, latency max %.1f ms, mean %.1f ms, %ld over %.0f ms\n",
	       n, missing, worst, n > missing ? sum / (double)(n - missing) : 0.0, late, bound);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != want_code) {
		printf("trickle: the filter exited %s %d, expected %d\n",
		       WIFEXITED(status) ? "with" : "by signal",
		       WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), want_code);
		return 1;
	}
	return missing || late || r.bad ? 1 : 0;
}

/*
 * \summary: crash test of the segment layer, driven by tests/segment-kill.sh
 *
 *   segkill write DIR STOREKEY EVERY
 *       Creates a segment in DIR, prints "segment IDHEX", then appends
 *       frames "record 1", "record 2", ... (every 61st padded with '.' to
 *       PAD bytes, so that some writes are long enough to be cut by a
 *       signal), calls cm_seg_sync after every EVERY frames and then prints
 *       "durable N". Each line is flushed before the next frame. Stops, and
 *       closes the segment, after MAX frames: it is meant to be killed.
 *
 *   segkill check DIR STOREKEY QDIR DURABLE [IDHEX]
 *       Reads the segment of a killed writer: every frame must be the
 *       expected record, in order; the end must be UNCLOSED or a data fault
 *       at the frame after the last good one; at least DURABLE frames must
 *       be there. Recovers it into QDIR, then reads it again: the same
 *       frames, then the end. Without IDHEX (the writer died before it
 *       printed one) a segment file that does not open counts as never
 *       created, and its frames as promised to nobody. Prints "ok ..." and
 *       exits 0, or prints the reason and exits 1.
 *
 * Not part of the unit tests: it needs a process to kill.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cdrmin/buf.h"
#include "cdrmin/err.h"
#include "cdrmin/key.h"
#include "cdrmin/segment.h"

#define PAD 200000
#define MAX 200000

/* The expected bytes of record i. */
static void record(struct cm_buf *b, unsigned long long i)
{
	cm_buf_reset(b);
	cm_buf_adds(b, "record ");
	cm_buf_addu(b, i);
	if (i % 61 == 0)
		while (b->n < PAD && !b->oom)
			cm_buf_addc(b, '.');
}

static int fail(const char *what, const char *why)
{
	printf("FAIL %s: %s\n", what, why);
	return 1;
}

static int do_write(const char *dir, const struct cm_key *key, unsigned long every)
{
	struct cm_err err = { 0 };
	struct cm_seg *s;
	struct cm_buf b;
	unsigned long long i;

	s = cm_seg_create(dir, "traffic", "kill-test", key->k, &err);
	if (!s)
		return fail("create", err.msg);
	printf("segment %s\n", cm_seg_info(s)->idhex);
	fflush(stdout);
	cm_buf_init(&b);
	for (i = 1; i <= MAX; i++) {
		record(&b, i);
		if (b.oom || cm_seg_append(s, b.p, b.n, &err) != 0)
			return fail("append", b.oom ? "out of memory" : err.msg);
		if (i % every == 0) {
			if (cm_seg_sync(s, &err) != 0)
				return fail("sync", err.msg);
			printf("durable %llu\n", (unsigned long long)cm_seg_durable(s));
			fflush(stdout);
		}
	}
	if (cm_seg_close(s, &err) != 0)
		return fail("close", err.msg);
	printf("closed %llu\n", i - 1);
	cm_buf_deinit(&b);
	return 0;
}

/*
 * Reads every frame, checking each against record(). Returns the last
 * cm_seg_next result, or CM_FAIL for a frame that is not the expected one.
 */
static int read_all(struct cm_seg *s, unsigned long long *n, struct cm_err *err)
{
	struct cm_buf got, want;
	int rc;

	*n = 0;
	cm_buf_init(&got);
	cm_buf_init(&want);
	while ((rc = cm_seg_next(s, &got, err)) == CM_SEG_FRAME) {
		record(&want, *n + 1);
		if (got.n != want.n || memcmp(got.p, want.p, got.n) != 0) {
			snprintf(err->msg, sizeof err->msg, "frame %llu is not record %llu", *n + 1,
				 *n + 1);
			err->code = CM_E_INTERNAL;
			rc = CM_FAIL;
			break;
		}
		++*n;
	}
	cm_buf_deinit(&got);
	cm_buf_deinit(&want);
	return rc;
}

/* The one IDHEX.seg in dir, if any, into idhex. */
static int find_segment(const char *dir, char idhex[2 * CM_SEG_ID_BYTES + 1])
{
	struct dirent *e;
	DIR *d = opendir(dir);
	size_t n;
	int found = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)) != NULL) {
		n = strlen(e->d_name);
		if (n == 2 * CM_SEG_ID_BYTES + 4 && strcmp(e->d_name + n - 4, ".seg") == 0) {
			memcpy(idhex, e->d_name, 2 * CM_SEG_ID_BYTES);
			idhex[2 * CM_SEG_ID_BYTES] = '\0';
			found++;
		}
	}
	closedir(d);
	return found == 1;
}

static int do_check(const char *dir, const struct cm_key *key, const char *qdir,
		    unsigned long long durable, const char *given)
{
	struct cm_err err = { 0 };
	struct cm_seg *s;
	char idhex[2 * CM_SEG_ID_BYTES + 1], why[400];
	unsigned long long n, again;
	const char *end;
	int rc;

	if (given) {
		snprintf(idhex, sizeof idhex, "%s", given);
	} else if (!find_segment(dir, idhex)) {
		printf("ok not-created\n");
		return 0;
	}
	s = cm_seg_open_read(dir, idhex, key->k, &err);
	if (!s) {
		/* Killed inside cm_seg_create: nothing was promised. */
		if (!given && durable == 0 && (err.code == CM_E_DATA || err.code == CM_E_NOINPUT)) {
			printf("ok not-created (%s)\n", err.msg);
			return 0;
		}
		return fail("open", err.msg);
	}
	rc = read_all(s, &n, &err);
	if (rc == CM_SEG_UNCLOSED) {
		end = "unclosed";
	} else if (rc == CM_SEG_END) {
		end = "closed";
	} else if (err.code == CM_E_DATA) {
		snprintf(why, sizeof why, "frame %llu:", n + 1);
		if (!strstr(err.msg, why)) {
			cm_seg_free(s);
			return fail("fault at the wrong frame", err.msg);
		}
		end = "torn";
	} else {
		cm_seg_free(s);
		return fail("read", err.msg);
	}
	if (n < durable) {
		cm_seg_free(s);
		snprintf(why, sizeof why, "%llu frames reported durable, %llu readable", durable, n);
		return fail("durability", why);
	}
	if (rc != CM_SEG_END && cm_seg_recover(s, qdir, &err) != 0) {
		cm_seg_free(s);
		return fail("recover", err.msg);
	}
	cm_seg_free(s);

	s = cm_seg_open_read(dir, idhex, key->k, &err);
	if (!s)
		return fail("reopen", err.msg);
	rc = read_all(s, &again, &err);
	cm_seg_free(s);
	if (rc != CM_SEG_END)
		return fail("after recovery", rc == CM_SEG_UNCLOSED ? "unclosed" : err.msg);
	if (again != n) {
		snprintf(why, sizeof why, "%llu frames before, %llu after", n, again);
		return fail("after recovery", why);
	}
	printf("ok %s frames %llu durable %llu\n", end, n, durable);
	return 0;
}

int main(int argc, char **argv)
{
	struct cm_err err = { 0 };
	struct cm_key key;
	int rc;

	if (argc < 4 || (strcmp(argv[1], "write") != 0 && strcmp(argv[1], "check") != 0) ||
	    (strcmp(argv[1], "write") == 0 && argc != 5) ||
	    (strcmp(argv[1], "check") == 0 && argc != 6 && argc != 7)) {
		fprintf(stderr, "usage: segkill write DIR STOREKEY EVERY\n"
				"       segkill check DIR STOREKEY QDIR DURABLE [IDHEX]\n");
		return 64;
	}
	if (cm_crypto_init(&err) != 0 || cm_key_load(&key, argv[3], &err) != 0) {
		fprintf(stderr, "segkill: %s\n", err.msg);
		return 1;
	}
	if (strcmp(argv[1], "write") == 0) {
		unsigned long every = strtoul(argv[4], NULL, 10);

		rc = do_write(argv[2], &key, every ? every : 1);
	} else {
		rc = do_check(argv[2], &key, argv[4], strtoull(argv[5], NULL, 10),
			      argc == 7 ? argv[6] : NULL);
	}
	cm_key_free(&key);
	return rc;
}

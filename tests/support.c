/* Helpers shared by the unit tests. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "support.h"

struct cm_pseudo *cmt_engine(struct cm_key *key, const unsigned char k[CM_KEY_BYTES], size_t cache)
{
	char path[] = "/tmp/cdrmin-test-key-XXXXXX";
	struct cm_pseudo *ps;
	struct cm_err err;
	int fd;

	cr_assert_eq(cm_crypto_init(&err), 0, "%s", err.msg);
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(fchmod(fd, 0600), 0);
	cr_assert_eq(write(fd, k, CM_KEY_BYTES), (ssize_t)CM_KEY_BYTES);
	close(fd);
	cr_assert_eq(cm_key_load(key, path, &err), 0, "%s", err.msg);
	unlink(path);
	ps = cm_pseudo_new(key, cache, &err);
	cr_assert_not_null(ps, "%s", err.msg);
	return ps;
}

size_t cmt_utf8(uint32_t cp, char *b)
{
	if (cp < 0x80) {
		b[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		b[0] = (char)(0xc0 | cp >> 6);
		b[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		b[0] = (char)(0xe0 | cp >> 12);
		b[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	b[0] = (char)(0xf0 | cp >> 18);
	b[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	b[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	b[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

long cmt_status_kib(const char *name)
{
	char line[256];
	size_t n = strlen(name);
	long kib = -1;
	FILE *f = fopen("/proc/self/status", "r");

	cr_assert_not_null(f);
	while (kib < 0 && fgets(line, sizeof line, f))
		if (strncmp(line, name, n) == 0 && line[n] == ':' &&
		    sscanf(line + n + 1, "%ld kB", &kib) != 1)
			kib = -1;
	fclose(f);
	cr_assert_geq(kib, 0, "no %s line in /proc/self/status", name);
	return kib;
}

int cmt_may_lock(size_t bytes)
{
	char line[256];
	unsigned long long cap = 0;
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	struct rlimit rl;
	FILE *f = fopen("/proc/self/status", "r");

	cr_assert_not_null(f);
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "CapEff: %llx", &cap) == 1)
			break;
	fclose(f);
	if (cap >> 14 & 1) /* CAP_IPC_LOCK: no limit applies */
		return 1;
	cr_assert_eq(getrlimit(RLIMIT_MEMLOCK, &rl), 0);
	bytes = (bytes + page - 1) / page * page;
	return rl.rlim_cur == RLIM_INFINITY ||
	       (rlim_t)cmt_status_kib("VmLck") * 1024 + bytes <= rl.rlim_cur;
}

const char *cmt_action_alone(const struct cm_action *a, struct cm_pseudo *ps,
			     const struct cm_numbering *np, const char *v)
{
	static char ring[8][256];
	static unsigned at;
	char *s = ring[at++ % 8];
	struct cm_buf out, tmp, dec;
	struct cm_action_ctx c;

	memset(&c, 0, sizeof c);
	cm_buf_init(&out);
	cm_buf_init(&tmp);
	cm_buf_init(&dec);
	c.ps = ps;
	c.np = np;
	c.tmp = &tmp;
	c.dec = &dec;
	cr_assert_eq(cm_action_apply(a, &c, v, strlen(v), &out), 0);
	cr_assert_lt(out.n, sizeof ring[0]);
	if (out.n)
		memcpy(s, out.p, out.n);
	s[out.n] = '\0';
	cm_buf_deinit(&out);
	cm_buf_deinit(&tmp);
	cm_buf_deinit(&dec);
	return s;
}

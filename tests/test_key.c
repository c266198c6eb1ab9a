/* \summary: unit tests of the master key: load checks, generation, wiping */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <sodium.h>

#include "cdrmin/key.h"
#include "cdrmin/pseudo.h"

static char kdir[64];

static void key_setup(void)
{
	struct cm_err err = { 0 };

	strcpy(kdir, "/tmp/cdrmin-key-XXXXXX");
	cr_assert_not_null(mkdtemp(kdir));
	cr_assert_eq(cm_crypto_init(&err), 0, "%s", err.msg);
}

static void key_teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", kdir);
	cr_expect_eq(system(cmd), 0);
}

TestSuite(key, .init = key_setup, .fini = key_teardown);

/* Writes n bytes 0x00, 0x01, ... to kdir/name with mode, and returns the path. */
static const char *put_key(const char *name, size_t n, mode_t mode)
{
	static char path[128];
	unsigned char b[64];
	size_t i;
	int fd;

	for (i = 0; i < n; i++)
		b[i] = (unsigned char)i;
	snprintf(path, sizeof path, "%s/%s", kdir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, b, n), (ssize_t)n);
	cr_assert_eq(close(fd), 0);
	cr_assert_eq(chmod(path, mode), 0); /* not through the umask */
	return path;
}

/* Asserts that loading path fails with CM_E_KEY and a message containing want. */
static void expect_refused(const char *path, const char *want)
{
	struct cm_key key;
	struct cm_err err = { 0 };

	cr_assert_eq(cm_key_load(&key, path, &err), CM_FAIL);
	cr_expect_eq(err.code, CM_E_KEY);
	cr_expect_not_null(strstr(err.msg, want), "message \"%s\" lacks \"%s\"", err.msg, want);
	cr_expect_not_null(strstr(err.msg, path), "message \"%s\" does not name the file",
			   err.msg);
	cr_expect_null(key.k);
	cm_key_free(&key);
}

Test(key, crypto_init_is_idempotent_and_stops_core_dumps)
{
	struct cm_err err = { 0 };
	struct rlimit rl;

	cr_assert_eq(cm_crypto_init(&err), 0);
	cr_assert_eq(cm_crypto_init(&err), 0);
	cr_assert_eq(getrlimit(RLIMIT_CORE, &rl), 0);
	cr_expect_eq(rl.rlim_cur, 0);
	cr_expect_eq(rl.rlim_max, 0);
}

Test(key, good_key_loads)
{
	const char *path = put_key("good", 32, 0600);
	struct cm_key key;
	struct cm_err err = { 0 };
	unsigned char want[32];
	int i;

	for (i = 0; i < 32; i++)
		want[i] = (unsigned char)i;
	cr_assert_eq(cm_key_load(&key, path, &err), 0, "%s", err.msg);
	cr_assert_not_null(key.k);
	cr_expect_eq(memcmp(key.k, want, 32), 0);
	/* Known answer, from tests/test_pseudo.c (python hashlib). */
	cr_expect_str_eq(key.id, "c5sm");
	cm_key_free(&key);
	cr_expect_null(key.k);
	cr_expect_eq(key.id[0], '\0');
}

Test(key, owner_only_modes_load)
{
	struct cm_key key;
	struct cm_err err = { 0 };

	cr_assert_eq(cm_key_load(&key, put_key("ro", 32, 0400), &err), 0, "%s", err.msg);
	cm_key_free(&key);
}

Test(key, group_or_other_access_refused)
{
	static const struct {
		mode_t mode;
		const char *text;
	} cases[] = { { 0644, "(mode 0644)" }, { 0660, "(mode 0660)" }, { 0604, "(mode 0604)" },
		      { 0640, "(mode 0640)" }, { 0602, "(mode 0602)" } };
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *path = put_key("open", 32, cases[i].mode);

		expect_refused(path, "readable or writable by group or others");
		expect_refused(path, cases[i].text);
		expect_refused(path, "chmod 600");
	}
}

Test(key, wrong_length_refused)
{
	expect_refused(put_key("short", 31, 0600), "wrong length (31 bytes, expected 32)");
	expect_refused(put_key("long", 33, 0600), "wrong length (33 bytes, expected 32)");
	expect_refused(put_key("empty", 0, 0600), "wrong length (0 bytes, expected 32)");
}

Test(key, directory_refused)
{
	char path[128];

	snprintf(path, sizeof path, "%s/d", kdir);
	cr_assert_eq(mkdir(path, 0700), 0);
	expect_refused(path, "not a regular file");
}

Test(key, fifo_refused_without_hanging, .timeout = 10)
{
	char path[128];

	snprintf(path, sizeof path, "%s/fifo", kdir);
	cr_assert_eq(mkfifo(path, 0600), 0);
	expect_refused(path, "not a regular file");
}

Test(key, missing_file_refused)
{
	char path[128];

	snprintf(path, sizeof path, "%s/nope", kdir);
	expect_refused(path, "cannot open: ");
}

Test(key, free_is_safe_on_zeroed_and_freed_keys)
{
	struct cm_key key;
	struct cm_err err = { 0 };

	memset(&key, 0, sizeof key);
	cm_key_free(&key);
	cm_key_free(NULL);
	cr_assert_eq(cm_key_load(&key, put_key("k", 32, 0600), &err), 0, "%s", err.msg);
	cm_key_free(&key);
	cm_key_free(&key);
}

Test(key, generate_makes_an_owner_only_32_byte_key)
{
	char path[128];
	struct cm_key key;
	struct cm_err err = { 0 };
	struct stat st;
	mode_t old = umask(0); /* the mode must not depend on the umask */

	snprintf(path, sizeof path, "%s/new.key", kdir);
	cr_assert_eq(cm_key_generate(path, &err), 0, "%s", err.msg);
	umask(old);
	cr_assert_eq(stat(path, &st), 0);
	cr_expect(S_ISREG(st.st_mode));
	cr_expect_eq(st.st_mode & 07777, 0600, "mode %o", (unsigned)(st.st_mode & 07777));
	cr_expect_eq(st.st_size, 32);
	cr_assert_eq(cm_key_load(&key, path, &err), 0, "%s", err.msg);
	cm_key_free(&key);
}

Test(key, generate_refuses_an_existing_path)
{
	char path[128], link[128];
	struct cm_err err = { 0 };
	unsigned char before[32], after[32];
	int fd;

	snprintf(path, sizeof path, "%s/k", kdir);
	cr_assert_eq(cm_key_generate(path, &err), 0, "%s", err.msg);
	fd = open(path, O_RDONLY);
	cr_assert_eq(read(fd, before, 32), 32);
	close(fd);

	cr_assert_eq(cm_key_generate(path, &err), CM_FAIL);
	cr_expect_eq(err.code, CM_E_KEY);
	cr_expect_not_null(strstr(err.msg, "exists: refusing to overwrite"), "%s", err.msg);
	fd = open(path, O_RDONLY);
	cr_assert_eq(read(fd, after, 32), 32);
	close(fd);
	cr_expect_eq(memcmp(before, after, 32), 0, "existing key was changed");

	/* A dangling symbolic link must not be followed to create its target. */
	snprintf(link, sizeof link, "%s/link", kdir);
	snprintf(path, sizeof path, "%s/target", kdir);
	cr_assert_eq(symlink(path, link), 0);
	cr_assert_eq(cm_key_generate(link, &err), CM_FAIL);
	cr_expect_eq(access(path, F_OK), -1);
}

Test(key, generate_reports_an_uncreatable_path)
{
	char path[128];
	struct cm_err err = { 0 };

	snprintf(path, sizeof path, "%s/no/such/dir/k", kdir);
	cr_assert_eq(cm_key_generate(path, &err), CM_FAIL);
	cr_expect_eq(err.code, CM_E_KEY);
	cr_expect_not_null(strstr(err.msg, "cannot create"), "%s", err.msg);
}

Test(key, two_generated_keys_differ)
{
	char p1[128], p2[128];
	struct cm_key k1, k2;
	struct cm_err err = { 0 };

	snprintf(p1, sizeof p1, "%s/a", kdir);
	snprintf(p2, sizeof p2, "%s/b", kdir);
	cr_assert_eq(cm_key_generate(p1, &err), 0, "%s", err.msg);
	cr_assert_eq(cm_key_generate(p2, &err), 0, "%s", err.msg);
	cr_assert_eq(cm_key_load(&k1, p1, &err), 0, "%s", err.msg);
	cr_assert_eq(cm_key_load(&k2, p2, &err), 0, "%s", err.msg);
	cr_expect_neq(memcmp(k1.k, k2.k, CM_KEY_BYTES), 0);
	cm_key_free(&k1);
	cm_key_free(&k2);
}

/* ---- key schedules (rotation) ---- */

/* Writes a 32-byte key whose bytes are 0x00.. with the last byte last to kdir/name. */
static const char *put_key_last(const char *name, unsigned char last)
{
	static char path[128];
	unsigned char b[CM_KEY_BYTES];
	int fd, i;

	for (i = 0; i < CM_KEY_BYTES; i++)
		b[i] = (unsigned char)i;
	b[CM_KEY_BYTES - 1] = last;
	snprintf(path, sizeof path, "%s/%s", kdir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, b, sizeof b), (ssize_t)sizeof b);
	cr_assert_eq(close(fd), 0);
	return path;
}

/* kdir/name, with "@date" when date is not NULL. */
static const char *karg(const char *name, const char *date)
{
	static char a[160];

	snprintf(a, sizeof a, "%s/%s%s%s", kdir, name, date ? "@" : "", date ? date : "");
	return a;
}

Test(key, schedule_keeps_date_order_whatever_the_order_given)
{
	struct cm_key_schedule s;
	struct cm_err err = { 0 };

	memset(&s, 0, sizeof s);
	put_key_last("a", 0x1f);
	put_key_last("b", 0x20);
	put_key_last("c", 0x21);
	cr_assert_eq(cm_key_schedule_add(&s, karg("c", "2027-03-01"), &err), 0, "%s", err.msg);
	cr_assert_eq(cm_key_schedule_add(&s, karg("a", NULL), &err), 0, "%s", err.msg);
	cr_assert_eq(cm_key_schedule_add(&s, karg("b", "2027-01-01"), &err), 0, "%s", err.msg);
	cr_assert_eq(cm_key_schedule_check(&s, &err), 0, "%s", err.msg);
	cr_assert_eq(s.n, 3);
	cr_expect_str_eq(s.key[0].id, "c5sm"); /* bytes 00..1f: the known id */
	cr_expect_str_eq(s.date[0], "");
	cr_expect_eq(s.from[0], 0);
	cr_expect_str_eq(s.date[1], "2027-01-01");
	cr_expect_eq(s.from[1], 1798761600); /* date -u -d 2027-01-01 +%s */
	cr_expect_eq(s.key[1].k[31], 0x20);
	cr_expect_str_eq(s.date[2], "2027-03-01");
	cr_expect_eq(s.from[2], 1798761600 + 59 * 86400);
	cr_expect_eq(s.key[2].k[31], 0x21);
	cr_expect_str_eq(s.path[2], karg("c", NULL));
	cm_key_schedule_free(&s);
	cr_expect_eq(s.n, 0);
	cr_expect_null(s.key[0].k);
	cm_key_schedule_free(&s); /* twice is fine */
	cm_key_schedule_free(NULL);
}

/* Asserts that adding arg to s fails with code and a message holding want, leaving s as it was. */
static void expect_add_refused(struct cm_key_schedule *s, const char *arg, enum cm_errcode code,
			       const char *want)
{
	struct cm_err err = { 0 };
	size_t n = s->n;

	cr_assert_eq(cm_key_schedule_add(s, arg, &err), CM_FAIL, "%s was accepted", arg);
	cr_expect_eq(err.code, code, "%s: code %d: %s", arg, err.code, err.msg);
	cr_expect_not_null(strstr(err.msg, want), "\"%s\" lacks \"%s\"", err.msg, want);
	cr_expect_eq(s->n, n);
}

Test(key, schedule_refusals)
{
	struct cm_key_schedule s;
	struct cm_err err = { 0 };
	char name[16];
	int i;

	memset(&s, 0, sizeof s);
	put_key_last("a", 0x1f);
	put_key_last("b", 0x20);
	put_key_last("a-copy", 0x1f);
	cr_assert_eq(cm_key_schedule_add(&s, karg("a", NULL), &err), 0, "%s", err.msg);
	expect_add_refused(&s, karg("b", NULL), CM_E_USAGE, "a second key without a date");
	expect_add_refused(&s, karg("b", "2027-02-30"), CM_E_USAGE, "is not a date");
	expect_add_refused(&s, karg("b", "2027-1-1"), CM_E_USAGE, "is not a date");
	expect_add_refused(&s, karg("b", "1969-12-31"), CM_E_USAGE, "is not a date");
	expect_add_refused(&s, karg("b", "2027-01-01x"), CM_E_USAGE, "is not a date");
	/* the same key bytes under another name: its id is taken */
	expect_add_refused(&s, karg("a-copy", "2027-01-01"), CM_E_KEY, "key id c5sm is already");
	expect_add_refused(&s, karg("missing", "2027-01-01"), CM_E_KEY, "cannot open");
	cr_assert_eq(cm_key_schedule_add(&s, karg("b", "2027-01-01"), &err), 0, "%s", err.msg);
	put_key_last("c", 0x21);
	expect_add_refused(&s, karg("c", "2027-01-01"), CM_E_USAGE, "already takes effect on 2027-01-01");
	for (i = 2; i < CM_KEYS_MAX; i++) {
		char date[32];

		snprintf(name, sizeof name, "k%d", i);
		snprintf(date, sizeof date, "%04d-01-01", 2028 + i);
		put_key_last(name, (unsigned char)(0x40 + i));
		cr_assert_eq(cm_key_schedule_add(&s, karg(name, date), &err), 0, "%s", err.msg);
	}
	expect_add_refused(&s, karg("c", "2099-01-01"), CM_E_USAGE, "at most 8 keys");
	cm_key_schedule_free(&s);
}

Test(key, schedule_needs_an_undated_first_key)
{
	struct cm_key_schedule s;
	struct cm_err err = { 0 };

	memset(&s, 0, sizeof s);
	cr_expect_eq(cm_key_schedule_check(&s, &err), CM_FAIL);
	put_key_last("b", 0x20);
	cr_assert_eq(cm_key_schedule_add(&s, karg("b", "2027-01-01"), &err), 0, "%s", err.msg);
	cr_assert_eq(cm_key_schedule_check(&s, &err), CM_FAIL);
	cr_expect_eq(err.code, CM_E_USAGE);
	cr_expect_not_null(strstr(err.msg, "no key serves the records before 2027-01-01"), "%s", err.msg);
	cm_key_schedule_free(&s);
}

Test(key, an_at_sign_without_a_date_is_part_of_the_name)
{
	struct cm_key_schedule s;
	struct cm_err err = { 0 };

	memset(&s, 0, sizeof s);
	put_key_last("k@home", 0x1f);
	cr_assert_eq(cm_key_schedule_add(&s, karg("k@home", NULL), &err), 0, "%s", err.msg);
	cr_expect_str_eq(s.path[0], karg("k@home", NULL));
	cr_expect_str_eq(s.date[0], "");
	cm_key_schedule_free(&s);
}

/* ---- key memory: core dumps off, no key bytes left behind ---- */

/* Loading a key is enough to switch core dumps off: no caller can forget it. */
Test(key_nodump, load_switches_core_dumps_off)
{
	char dir[] = "/tmp/cdrmin-nodump-XXXXXX", path[96];
	unsigned char b[CM_KEY_BYTES] = { 1, 2, 3 };
	struct rlimit rl = { 4096, RLIM_INFINITY };
	struct cm_key key;
	struct cm_err err = { 0 };
	int fd;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/k", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, b, sizeof b), (ssize_t)sizeof b);
	close(fd);
	/* a dumpable process allowed core files, as a careless caller might leave it */
	(void)getrlimit(RLIMIT_CORE, &rl);
	rl.rlim_cur = rl.rlim_max;
	cr_assert_eq(setrlimit(RLIMIT_CORE, &rl), 0);
	cr_assert_eq(prctl(PR_SET_DUMPABLE, 1, 0, 0, 0), 0);
	cr_assert_eq(cm_key_load(&key, path, &err), 0, "%s", err.msg);
	cr_expect_eq(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 0);
	cr_assert_eq(getrlimit(RLIMIT_CORE, &rl), 0);
	cr_expect_eq(rl.rlim_cur, 0);
	cr_expect_eq(rl.rlim_max, 0);
	cm_key_free(&key);
	unlink(path);
	rmdir(dir);
}

/*
 * The residue tests look for a key's 32 bytes in the process's own memory
 * (every readable mapping except read-only file mappings: heap, stack,
 * .data/.bss, anonymous maps, libraries' writable data), read through
 * /proc/self/mem so that no mapping can fault. The key is made on the fly
 * from pat(), so the test itself holds no copy; the scan buffer is its own
 * mapping and is not searched. Code under test runs below a deep stack
 * frame, so that the scan (called from the test's frame) does not overwrite
 * the stack it left behind, which is searched too.
 */
static unsigned char pat(size_t i)
{
	return (unsigned char)(0x5a ^ (i * 37 + 11));
}

#define SCAN_CHUNK ((size_t)1 << 20)

#define MAPS_MAX ((size_t)1 << 20)
#define SCAN_MAP_MAX ((unsigned long)1 << 30)

/*
 * Occurrences of pat()[0..32) in readable memory, not counting one at skip.
 * It allocates nothing from the heap (no stdio, no malloc): a freed heap
 * block that held a key would otherwise be handed to the scan and
 * overwritten before it is searched.
 */
static size_t residue(const void *skip)
{
	size_t map = MAPS_MAX + SCAN_CHUNK + CM_KEY_BYTES, found = 0, mlen = 0;
	unsigned char *area = mmap(NULL, map, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *maps = (char *)area, *line, *nl;
	unsigned char *buf = area + MAPS_MAX;
	size_t bufcap = SCAN_CHUNK + CM_KEY_BYTES;
	uintptr_t al = (uintptr_t)area, ah = al + map;
	int fd, mem;
	ssize_t r;

	cr_assert_neq(area, MAP_FAILED);
	fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	while ((r = read(fd, maps + mlen, MAPS_MAX - 1 - mlen)) > 0)
		mlen += (size_t)r;
	close(fd);
	maps[mlen] = '\0';
	mem = open("/proc/self/mem", O_RDONLY | O_CLOEXEC);
	cr_assert_geq(mem, 0);
	for (line = maps; *line; line = nl + 1) {
		unsigned long lo, hi;
		char perm[8] = "", path[256] = "";
		uintptr_t a;

		nl = strchr(line, '\n');
		if (!nl)
			break;
		*nl = '\0';
		if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %255s", &lo, &hi, perm, path) < 3)
			continue;
		if (perm[0] != 'r' || strcmp(path, "[vvar]") == 0 || strcmp(path, "[vsyscall]") == 0)
			continue;
		if (perm[1] != 'w' && path[0] == '/')
			continue; /* code and constants of a file: not where a loaded key could be */
		/*
		 * Terabytes of reserved, never touched address space (AddressSanitizer's
		 * shadow) would take hours to read as zero pages; the heap, stacks and
		 * data the code under test uses are far smaller.
		 */
		if (hi - lo > SCAN_MAP_MAX)
			continue;
		for (a = lo; a < hi; a += SCAN_CHUNK) {
			size_t want = hi - a < bufcap ? hi - a : bufcap, j, k;
			ssize_t got = pread(mem, buf, want, (off_t)a);

			if (got < CM_KEY_BYTES)
				continue;
			for (j = 0; j + CM_KEY_BYTES <= (size_t)got && j < SCAN_CHUNK; j++) {
				if (buf[j] != pat(0))
					continue;
				for (k = 1; k < CM_KEY_BYTES && buf[j + k] == pat(k); k++)
					;
				if (k == CM_KEY_BYTES && a + j != (uintptr_t)skip && !(a + j >= al && a + j < ah))
					found++;
			}
		}
	}
	close(mem);
	sodium_memzero(area, map);
	munmap(area, map);
	return found;
}

/* Runs fn(arg) 32 KB below the caller's frame (see above). */
static __attribute__((noinline)) void at_depth(void (*fn)(void *), void *arg)
{
	volatile unsigned char pad[32768];

	pad[0] = 0;
	pad[sizeof pad - 1] = 0;
	fn(arg);
	__asm__ volatile("" ::: "memory");
}

/* Writes the pat() key to path through protected memory. */
static void put_pat_key(const char *path)
{
	unsigned char *b = sodium_malloc(CM_KEY_BYTES);
	size_t i;
	int fd;

	cr_assert_not_null(b);
	for (i = 0; i < CM_KEY_BYTES; i++)
		b[i] = pat(i);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, b, CM_KEY_BYTES), (ssize_t)CM_KEY_BYTES);
	close(fd);
	sodium_free(b);
}

static __attribute__((noinline)) void plant_on_stack(void *arg)
{
	volatile unsigned char copy[CM_KEY_BYTES];
	size_t i;

	(void)arg;
	for (i = 0; i < CM_KEY_BYTES; i++)
		copy[i] = pat(i);
	__asm__ volatile("" : : "r"(copy) : "memory"); /* the copy is used: not optimized away */
}

/* The scan can fail: a copy left on the heap or on a dead stack frame is found. */
Test(key, residue_scan_finds_planted_copies)
{
	unsigned char *heap = malloc(64);
	size_t i;

	cr_assert_eq(residue(NULL), 0);
	cr_assert_not_null(heap);
	for (i = 0; i < CM_KEY_BYTES; i++)
		heap[16 + i] = pat(i);
	cr_expect_eq(residue(NULL), 1, "a heap copy");
	cr_expect_eq(residue(heap + 16), 0, "skip works");
	sodium_memzero(heap, 64);
	free(heap);
	cr_expect_eq(residue(NULL), 0);
	at_depth(plant_on_stack, NULL);
	cr_expect_eq(residue(NULL), 1, "a copy on a dead stack frame");
	/* freed without a wipe: still there (past the allocator's own words) */
	heap = malloc(4096);
	cr_assert_not_null(heap);
	for (i = 0; i < CM_KEY_BYTES; i++)
		heap[64 + i] = pat(i);
	free(heap);
	cr_expect_eq(residue(NULL), 2, "a freed heap block, and the stack copy");
}

struct load_job {
	const char *path;
	struct cm_key *key;
	struct cm_pseudo *ps;
};

static void load_job(void *arg)
{
	struct load_job *j = arg;
	struct cm_err err = { 0 };

	cr_assert_eq(cm_key_load(j->key, j->path, &err), 0, "%s", err.msg);
}

/* Tokens (subkey derivations), Crypto-PAn engines, and the engine's end. */
static void use_job(void *arg)
{
	struct load_job *j = arg;
	struct cm_err err = { 0 };
	uint8_t ip[4] = { 192, 0, 2, 1 }, out[4];
	struct cm_buf b;
	int e;

	j->ps = cm_pseudo_new(j->key, 64, &err);
	cr_assert_not_null(j->ps, "%s", err.msg);
	cm_buf_init(&b);
	for (e = 0; e < 40; e++) { /* more epochs than prepared states are kept */
		cr_assert_eq(cm_pseudo_token(j->ps, CM_KIND_PHONE, cm_epoch_id(CM_EPOCH_DAY, 20000 + e),
					     "+442079460123", 13, 128, &b), 0);
		cr_assert_eq(cm_pseudo_cryptopan(j->ps, cm_epoch_id(CM_EPOCH_DAY, 20000 + e), 4, ip, out), 0);
	}
	cm_buf_deinit(&b);
	cm_pseudo_free(j->ps);
	j->ps = NULL;
}

static void free_job(void *arg)
{
	cm_key_free(((struct load_job *)arg)->key);
}

/*
 * While a key is loaded its bytes are in its protected page only: not in a
 * read buffer, not on the stack of the load, the key id derivation, the
 * subkey and Crypto-PAn derivations; after cm_key_free, nowhere.
 */
Test(key, key_bytes_stay_in_protected_memory)
{
	struct cm_key key;
	struct load_job j = { NULL, &key, NULL };
	char path[128];

	snprintf(path, sizeof path, "%s/pat.key", kdir);
	put_pat_key(path);
	j.path = path;
	cr_assert_eq(residue(NULL), 0, "a copy before the test");
	at_depth(load_job, &j);
	cr_expect_eq(residue(key.k), 0, "a copy besides the protected one after load");
	cr_expect_eq(residue(NULL), 1, "the protected copy is where the scan looks");
	at_depth(use_job, &j);
	cr_expect_eq(residue(key.k), 0, "a copy besides the protected one after use");
	at_depth(free_job, &j);
	cr_expect_eq(residue(NULL), 0, "a copy after cm_key_free");
}

struct sched_job {
	struct cm_key_schedule *s;
	const char *arg;
};

static void sched_add_job(void *arg)
{
	struct sched_job *j = arg;
	struct cm_err err = { 0 };

	cr_assert_eq(cm_key_schedule_add(j->s, j->arg, &err), 0, "%s", err.msg);
}

static void sched_free_job(void *arg)
{
	cm_key_schedule_free(((struct sched_job *)arg)->s);
}

/* Keys moved into date order keep their bytes in protected memory only. */
Test(key, schedule_keys_stay_in_protected_memory)
{
	struct cm_key_schedule s;
	struct sched_job j = { &s, NULL };
	char path[128], arg[160];

	memset(&s, 0, sizeof s);
	put_key_last("other", 0x20);
	snprintf(path, sizeof path, "%s/pat.key", kdir);
	put_pat_key(path);
	snprintf(arg, sizeof arg, "%s@2027-01-01", path);
	j.arg = arg;
	at_depth(sched_add_job, &j);
	j.arg = karg("other", NULL); /* sorts before: the dated key moves */
	at_depth(sched_add_job, &j);
	cr_assert_eq(s.n, 2);
	cr_assert_str_eq(s.date[1], "2027-01-01");
	cr_expect_eq(residue(s.key[1].k), 0);
	at_depth(sched_free_job, &j);
	cr_expect_eq(residue(NULL), 0);
}

/* \summary: unit tests of the master key: load checks, generation, wiping */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "cdrmin/key.h"

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

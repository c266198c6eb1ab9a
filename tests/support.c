/* Helpers shared by the unit tests. */
#include <criterion/criterion.h>
#include <stdlib.h>
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

/*
 * cdrmin: errors.
 *
 * Library code never prints and never exits: it returns a status and fills
 * the caller's struct cm_err. Only the CLI turns an error into a message
 * and an exit code. A message names a place (file, line, column, byte
 * offset) and a reason; it never quotes the value of a protected field.
 */
#ifndef CDRMIN_ERR_H
#define CDRMIN_ERR_H

#include <stddef.h>
#include <stdint.h>

/* Return values shared by the decoders (picohttpparser style). */
#define CM_NEED_MORE (-2) /* a partial record: feed more bytes */
#define CM_FAIL      (-1) /* failure: see struct cm_err */

/* What kind of failure: the CLI maps each to a sysexits code. */
enum cm_errcode {
	CM_E_NONE = 0,
	CM_E_USAGE,    /* 64 EX_USAGE */
	CM_E_DATA,     /* 65 EX_DATAERR */
	CM_E_NOINPUT,  /* 66 EX_NOINPUT */
	CM_E_NOMEM,    /* 71 EX_OSERR */
	CM_E_IO,       /* 74 EX_IOERR */
	CM_E_KEY,      /* 77 EX_NOPERM */
	CM_E_RULES,    /* 78 EX_CONFIG */
	CM_E_INTERNAL  /* 70 EX_SOFTWARE */
};

#define CM_ERR_MSG 320

struct cm_err {
	enum cm_errcode code;
	uint64_t line;   /* 1-based, 0 when not applicable */
	uint64_t col;    /* 1-based, 0 when not applicable */
	char msg[CM_ERR_MSG];
};

/*
 * Fill err (when not NULL) with code and a printf-style message.
 * Always returns CM_FAIL so that callers can write `return cm_err_set(...)`.
 */
int cm_err_set(struct cm_err *err, enum cm_errcode code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* As cm_err_set, with a line and column for file:line:col messages. */
int cm_err_at(struct cm_err *err, enum cm_errcode code, uint64_t line, uint64_t col,
	      const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* The sysexits code for an error class. */
int cm_err_exit_code(enum cm_errcode code);

#endif

/* \summary: error values shared by the library and the CLI */
#include <stdarg.h>
#include <stdio.h>

#include "cdrmin/err.h"

static void err_vset(struct cm_err *err, enum cm_errcode code, uint64_t line, uint64_t col,
		     const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));

static void err_vset(struct cm_err *err, enum cm_errcode code, uint64_t line, uint64_t col,
		     const char *fmt, va_list ap)
{
	if (!err)
		return;
	err->code = code;
	err->line = line;
	err->col = col;
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
}

int cm_err_set(struct cm_err *err, enum cm_errcode code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_vset(err, code, 0, 0, fmt, ap);
	va_end(ap);
	return CM_FAIL;
}

int cm_err_at(struct cm_err *err, enum cm_errcode code, uint64_t line, uint64_t col,
	      const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_vset(err, code, line, col, fmt, ap);
	va_end(ap);
	return CM_FAIL;
}

int cm_err_exit_code(enum cm_errcode code)
{
	switch (code) {
	case CM_E_NONE: return 0;
	case CM_E_USAGE: return 64;
	case CM_E_DATA: return 65;
	case CM_E_NOINPUT: return 66;
	case CM_E_NOMEM: return 71;
	case CM_E_IO: return 74;
	case CM_E_KEY: return 77;
	case CM_E_RULES: return 78;
	case CM_E_INTERNAL: break;
	}
	return 70;
}

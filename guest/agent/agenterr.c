#include "agenterr.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

int agent_err_set(struct agent_err *e, int errnum, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
	e->errnum = errnum;
	return -1;
}

int agent_err_sys(struct agent_err *e, int errnum, const char *fmt, ...)
{
	/* Shorter than msg, so the reason always fits after a step that was cut. */
	char what[sizeof e->msg - 128];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	e->errnum = errnum;
	snprintf(e->msg, sizeof e->msg, "%s: %s", what, strerror(errnum));
	return -1;
}

void agent_err_log(const struct agent_err *e)
{
	log_error("%s", e->msg);
}

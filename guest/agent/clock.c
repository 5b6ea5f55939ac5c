#include "clock.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "log.h"

long long clock_ms(void)
{
	struct timespec ts = {0, 0};
	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		log_error("clock_gettime: %s", strerror(errno));
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void clock_mark(const char *what)
{
	if (log_debug_enabled())
		log_debug("timing: %s at %lld ms", what, clock_ms());
}

/* The agent's one monotonic clock reading, for timeouts and pacing. */
#ifndef RUNCVM_CLOCK_H
#define RUNCVM_CLOCK_H

/* Milliseconds of CLOCK_MONOTONIC; a failure is logged and reads as 0. */
long long clock_ms(void);

#endif

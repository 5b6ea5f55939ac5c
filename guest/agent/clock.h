/* The agent's one monotonic clock reading, for timeouts and pacing. */
#ifndef RUNCVM_CLOCK_H
#define RUNCVM_CLOCK_H

/* Milliseconds of CLOCK_MONOTONIC; a failure is logged and reads as 0. */
long long clock_ms(void);

/* With debug logging on: "timing: WHAT at N ms" (CLOCK_MONOTONIC, ~time since the guest
 * booted), so the start path's steps can be measured with the guest's own clock
 * (docs/performance.md, "Start path"). */
void clock_mark(const char *what);

#endif

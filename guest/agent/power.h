/* Ending the VM. */
#ifndef RUNCVM_POWER_H
#define RUNCVM_POWER_H

/* on: end with a reset instead of a power-off (Firecracker on x86 exits only on a reset). */
void power_set_reset(int on);

/* Kills every process, syncs, unmounts lazily and powers off (or resets). Never returns. */
void power_off(const char *why) __attribute__((noreturn));

#endif

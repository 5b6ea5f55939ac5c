/* Ending the VM. */
#ifndef RUNCVM_POWER_H
#define RUNCVM_POWER_H

/* Kills every process, syncs, unmounts lazily and powers off. Never returns. */
void power_off(const char *why) __attribute__((noreturn));

#endif

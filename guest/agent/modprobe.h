/* The kernel's module helper (/sbin/modprobe in the initramfs): loads what the kernel asks for. */
#ifndef RUNCVM_MODPROBE_H
#define RUNCVM_MODPROBE_H

/* Keeps the initramfs reachable before the switch to the workload's root: an O_PATH fd on its
 * root, held for the VM's life, or -1 (logged: no modules on demand). */
int modprobe_keep_initramfs(void);
/* After the switch: points the kernel's module helper at the initramfs copy of the agent through
 * that fd (-1: nothing to do). Kernel threads share PID 1's root, so a plain /sbin/modprobe would
 * be looked up in the image. */
void modprobe_install(int initramfs_fd);
/* True when the agent was started as the helper (argv[0] ends in "modprobe"). */
int modprobe_invoked(const char *argv0);
/* `modprobe [-q] [--] NAME`: loads NAME's chain from /modules.ondemand. Returns the exit status. */
int modprobe_main(int argc, char **argv);

#endif

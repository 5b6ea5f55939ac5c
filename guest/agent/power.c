#include "power.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/reboot.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "mounts.h"
#include "rcu.h"

/* Module-wide by design, set once at boot from the kernel command line: power_off is the end of
 * every fatal path, at any depth, and must not depend on state the failing caller may lack. */
static int reset_to_exit;

void power_set_reset(int on)
{
	reset_to_exit = on;
}

void power_off(const char *why)
{
	log_info("powering off: %s", why);
	clock_mark("power-off");
	/* Unmounting waits for grace periods too (rcu.h). */
	rcu_expedite(1);
	/* As PID 1, kill(-1) reaches everyone but us; their files then unmount cleanly. */
	if (kill(-1, SIGKILL) != 0 && errno != ESRCH)
		log_warn("kill all processes: %s", strerror(errno));
	sync();
	clock_mark("power-off: killed, synced");
	mounts_unmount_all();
	clock_mark("power-off: unmounted");
	sync();
	clock_mark("power-off: synced again");
	/* With reboot=k on the command line a reset goes through the keyboard controller, which
	 * Firecracker turns into its own clean exit. */
	reboot(reset_to_exit ? RB_AUTOBOOT : RB_POWER_OFF);
	log_error("reboot(%s): %s", reset_to_exit ? "RB_AUTOBOOT" : "RB_POWER_OFF",
		  strerror(errno));
	/* PID 1 must not exit (that panics the kernel): wait for the host to kill the VM. */
	for (;;)
		pause();
}

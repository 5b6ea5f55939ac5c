#include "rcu.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

#define RCU_EXPEDITED "/sys/kernel/rcu_expedited"

void rcu_expedite(int on)
{
	int fd = open(RCU_EXPEDITED, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		log_debug("open %s: %s", RCU_EXPEDITED, strerror(errno));
		return;
	}
	if (write(fd, on ? "1" : "0", 1) != 1)
		log_debug("write %s: %s", RCU_EXPEDITED, strerror(errno));
	if (close(fd) != 0)
		log_debug("close %s: %s", RCU_EXPEDITED, strerror(errno));
}

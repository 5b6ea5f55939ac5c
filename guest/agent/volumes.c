#include "volumes.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "net.h"

#define MS_USER_FLAGS (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)
/* On the guest's own devtmpfs: never in the image, never seen by the host. */
#define STAGE "/dev/.runcvm-vol"

int volumes_link_up(const struct vol_link *l, struct agent_err *e)
{
	struct agent_err link;
	if (net_configure_link(&l->nic, &link) != 0)
		return agent_err_set(e, link.errnum, "volume link: %s", link.msg);
	return 0;
}

/* A single-file bind: the export is a directory holding the file; it is mounted on a private
 * staging point, the file bound at its destination, and the staging mount detached (the bind
 * keeps the 9P superblock alive). */
static int mount_file(const char *server, const struct mount_req *m, unsigned long fl,
		      struct agent_err *e)
{
	if (mkdir(STAGE, 0700) != 0 && errno != EEXIST)
		return agent_err_sys(e, errno, "create %s", STAGE);
	if (mount(server, STAGE, "9p", MS_NOSUID | MS_NODEV | MS_NOEXEC, m->data) != 0)
		return agent_err_sys(e, errno, "mount 9p %s (%s) for %s", server, m->data, m->dest);
	int rc = 0;
	struct stat st;
	if (stat(m->dest, &st) != 0) {
		char parent[4096];
		snprintf(parent, sizeof parent, "%s", m->dest);
		char *slash = strrchr(parent, '/');
		if (slash && slash != parent)
			*slash = 0;
		int fd = -1;
		if ((slash == parent || mkdir_p(parent, 0755) == 0) &&
		    (fd = open(m->dest, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644)) >= 0)
			close(fd);
		else
			rc = agent_err_sys(e, errno, "create mount point %s", m->dest);
	}
	char src[300];
	snprintf(src, sizeof src, STAGE "/%s", m->file);
	if (rc == 0 && mount(src, m->dest, NULL, MS_BIND, NULL) != 0)
		rc = agent_err_sys(e, errno, "bind %s on %s", src, m->dest);
	if (rc == 0 && mount(NULL, m->dest, NULL, MS_BIND | MS_REMOUNT | fl, NULL) != 0)
		rc = agent_err_sys(e, errno, "remount %s with flags 0x%lx", m->dest, fl);
	if (umount2(STAGE, MNT_DETACH) != 0)
		log_warn("detach %s: %s", STAGE, strerror(errno));
	if (rmdir(STAGE) != 0)
		log_warn("rmdir %s: %s", STAGE, strerror(errno));
	return rc;
}

int volumes_mount(const struct vol_link *l, const struct mount_req *m, struct agent_err *e)
{
	if (!l->present)
		return agent_err_sys(e, EINVAL, "9p volume %s without a VOLUME_LINK", m->dest);
	char server[16];
	snprintf(server, sizeof server, "%u.%u.%u.%u", l->server[0], l->server[1], l->server[2],
		 l->server[3]);
	unsigned long fl = m->flags & MS_USER_FLAGS;
	if (m->file[0]) {
		if (mount_file(server, m, fl, e) != 0)
			return -1;
	} else {
		if (mkdir_p(m->dest, 0755) != 0)
			return agent_err_sys(e, errno, "create mount point %s for 9p", m->dest);
		if (mount(server, m->dest, "9p", fl, m->data) != 0)
			return agent_err_sys(e, errno, "mount 9p %s (%s) on %s", server, m->data,
					     m->dest);
	}
	log_debug("9p %s%s on %s flags 0x%lx", m->data, m->file[0] ? " (file)" : "", m->dest, fl);
	return 0;
}

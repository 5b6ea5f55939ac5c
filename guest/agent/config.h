/* CONFIG and START payloads decoded from their TLV records. */
#ifndef RUNCVM_CONFIG_H
#define RUNCVM_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "agenterr.h"
#include "net.h"
#include "sysctl.h"

struct mount_req {
	int tmpfs; /* else BIND, or VOLUME_9P when ninep */
	int ninep;
	uint32_t flags; /* MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC */
	char *dest;
	char *data; /* tmpfs: mount data; 9p: mount options */
	char *file; /* 9p only: the export holds a single file by this name ("" for a directory) */
};

/* VOLUME_LINK (RUNCVM_VOLUMES=9p): the guest's NIC to its volume server. */
struct vol_link {
	int present;
	struct nic_req nic;
	uint8_t server[4];
};

/* DISK record (RUNCVM_DISKS): a virtio-blk disk found by serial, mounted at dest. */
struct disk_req {
	uint32_t flags;
	char *serial;
	char *dest;
	char *fstype;
};

struct vm_config {
	char *hostname;
	char *root_tag;
	int root_readonly;
	/* Image root (ROOT_LOWER/ROOT_UPPER): layer drive serials, top first, and the writable one.
	 */
	char **root_lowers;
	size_t nlowers;
	char *root_upper;
	/* ROOT_HOST_9P: 9P mount options of the container's root on the volume server. */
	char *root_host_9p;
	int debug;
	/* BIND and TMPFS records in the host's order: a later one may sit below an earlier one. */
	struct mount_req *mounts;
	size_t nmounts;
	struct disk_req *disks;
	size_t ndisks;
	/* DRIVE_ORDER: disk serials in the VMM's attach order, for VMMs without serials
	 * (Firecracker). */
	char **drive_order;
	size_t ndrive_order;
	struct net_config net;
	struct vol_link vol_link;
	/* WRITEBACK_ONLY: no workload; write an image root's upper drive back into the container's
	 * layer and report it as process 1's EXIT (a container that was killed, docs/storage.md).
	 */
	int writeback_only;
	/* SYSCTL records (linux.sysctl), written in order once the network is up. */
	struct sysctl_req *sysctls;
	size_t nsysctls;
};

struct start_req {
	char **argv; /* NULL-terminated */
	size_t argc;
	char **envp; /* NULL-terminated */
	size_t envc;
	char *cwd;
	uid_t uid;
	gid_t gid;
	gid_t *groups;
	size_t ngroups;
	int terminal;
	uint16_t rows, cols;
	/* runcvm debug: run in the agent's own PID and mount namespaces, not the workload's. */
	int debug;
	/* The program is the first tool_size bytes of the process's STDIN (0: ARG[0] from PATH). */
	uint32_t tool_size;
	/* CONTAINER (a pod VM): a further container with its own root /.runcvm-pod/<name>, mount,
	 * PID, UTS and cgroup namespaces, cgroup limit MEMORY_MAX (0 = none) and HOSTNAME. */
	char *container;
	char *hostname;
	uint64_t memory_max;
	/* SHARE_PID: the container joins process 1's PID namespace (shareProcessNamespace). */
	int share_pid;
	/* JOIN: an exec in that running container's namespaces and cgroup. */
	char *join;
	/* PORT: a PortForward stream to localhost:port in the VM's network namespace (portfwd.h).
	 */
	uint16_t port;
	/* CPU_MAX: cpu.max of the CONTAINER's cgroup, microseconds (quota 0 = no limit). */
	uint64_t cpu_quota, cpu_period;
	/* CPU_WEIGHT: cpu.weight of the CONTAINER's cgroup (1 to 10000; 0 = the kernel's 100). */
	uint32_t cpu_weight;
	/* Which of MEMORY_MAX and CPU_MAX were sent: UPDATE changes only those (0 then means no
	 * limit). */
	int has_memory_max, has_cpu_max;
	/* UPDATE: no process; the limits above replace those of this running container. */
	char *update;
	/* STATS: no process; the answer is this running container's guest cgroup figures. */
	char *stats;
};

/* Largest program START may carry in its STDIN (TOOL): a static busybox is about 2 MiB. */
#define TOOL_MAX (16u << 20)

/* A container name is one path component: [A-Za-z0-9_.-], 1 to 128 bytes, not . or .. */
int container_name_ok(const char *name);

/* Both return 0, or -1 with e filled (EINVAL, or ENOMEM). */
int config_parse(const uint8_t *p, size_t len, struct vm_config *c, struct agent_err *e);
void config_free(struct vm_config *c);
int start_parse(const uint8_t *p, size_t len, struct start_req *s, struct agent_err *e);
void start_free(struct start_req *s);

#endif

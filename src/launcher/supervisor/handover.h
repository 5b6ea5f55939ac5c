/* The state the Node control plane hands the supervisor once the VMM runs: a file of TLV records
 * (the agent protocol's u16 tag, u32 length, bytes), written atomically into the container's
 * private run dir (docs/architecture.md, The supervisor). Tags are checked against
 * src/launcher/handover.ts by its unit test, which parses this header. */
#ifndef RUNCVM_SUPERVISOR_HANDOVER_H
#define RUNCVM_SUPERVISOR_HANDOVER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "netwatch.h"

#define HANDOVER_PATH	   "/run/runcvm/supervisor.state"
#define HANDOVER_MAX	   (4u * 1024 * 1024)
#define HANDOVER_HELPERS   16
#define HANDOVER_ARGS	   16
#define HANDOVER_PATH_MAX  256
#define HANDOVER_STOP_CMDS 4

enum handover_tag {
	HO_AGENT_SOCKET = 1,
	HO_CONFIG = 2,
	HO_START = 3,
	HO_VMM_PID = 4,
	HO_HELPER_PID = 5,
	HO_CONSOLE_LOG = 6,
	HO_HELLO_TIMEOUT_MS = 7,
	HO_STARTED_TIMEOUT_MS = 8,
	HO_FLAGS = 9,
	HO_TIMING = 10,
	HO_NET_SYNC_ARG = 11,
	HO_VMM_NAME = 12,
	HO_WRITTEN_BACK = 13,
	/* The container's interfaces as handed over, NUL-separated: the network watch's first
	 * look compares the namespace with them instead of running the net-sync step. */
	HO_NET_IFACES = 14,
	/* The start plan's (startplan.h): create's file when no launcher starts the VM. */
	HO_FS_ARG = 20,
	HO_VMM_ARG = 21,
	HO_FS_SOCKET = 22,
	HO_START_LINE = 23,
	/* Firecracker (fcvsock.h, fcapi.h): AGENT_SOCKET is its vsock Unix socket, reached with
	 * `CONNECT <VSOCK_PORT>`; API_SOCKET takes SendCtrlAltDel when the guest does not power
	 * off. */
	HO_VSOCK_PORT = 40,
	HO_API_SOCKET = 41,
	HO_POD_LOG = 30,	/* a pod VM's log file: what the supervisor says goes there too */
	HO_POD_LOG_BUDGET = 31, /* bytes of it the launcher left (of POD_LOG_MAX) */
	HO_PORT_FORWARD_PORT = 32,   /* CRI PortForward: the relay port the REDIRECT rule targets */
	HO_PORT_FORWARD_CLIENT = 33, /* the program each stream is handed to (runcvm-exec) */
	HO_PORT_FORWARD_START = 34,  /* the START each stream sends, base64 (its environment) */
	HO_STOP_CMD = 35,	     /* argv, NUL-separated: run once the VM and helpers are gone */
};

enum handover_flag {
	HOF_TERMINAL = 1,
	HOF_DEBUG = 2,
	HOF_DNS_RELAY = 4,
	HOF_ROOT_IMAGE = 8,
	HOF_NET_WATCH = 16,
	HOF_PRINT_TIMING = 32,
	HOF_POD_SOCKET = 64,	  /* serve the pod socket too: other containers run in this VM */
	HOF_CONSOLE_STDERR = 128, /* start plan: QEMU's stdout is the container's stderr */
};

struct handover {
	char agent_socket[108];
	const uint8_t *config;
	uint32_t config_len;
	const uint8_t *start;
	uint32_t start_len;
	pid_t vmm_pid;
	pid_t helpers[HANDOVER_HELPERS];
	int nhelpers;
	char console_log[HANDOVER_PATH_MAX];
	uint32_t hello_timeout_ms, started_timeout_ms;
	uint32_t flags;
	char timing[4096];
	char net_sync_buf[4096]; /* the helper's argv, NUL-separated */
	char *net_sync[HANDOVER_ARGS + 1];
	int nnet_sync;
	struct netwatch_ifaces net_ifaces;
	int net_ifaces_known; /* HO_NET_IFACES was there */
	char vmm_name[32];
	char written_back[HANDOVER_PATH_MAX];
	int start_plan;	     /* start records present: the VMM's pids come once it is spawned */
	uint32_t vsock_port; /* 0: AGENT_SOCKET is the agent's own stream socket (QEMU) */
	char api_socket[108];
	char pod_log[HANDOVER_PATH_MAX];
	uint32_t pod_log_budget;
	uint32_t port_forward_port; /* 0: no PortForward relay */
	char port_forward_client[HANDOVER_PATH_MAX];
	char port_forward_start[8192];
	/* The volume server's teardown (its firewall rule, its tap): argv of each, NUL-separated in
	 * stop_buf, run in order after the VM and the helpers are gone. */
	char stop_buf[2048];
	char *stop_cmds[HANDOVER_STOP_CMDS][HANDOVER_ARGS + 1];
	int nstop_cmds;
};

/* Parses buf (which must outlive h: CONFIG and START point into it). 0, or -1 with the reason. */
int handover_parse(const uint8_t *buf, size_t len, struct handover *h, char *err, size_t errlen);

#endif

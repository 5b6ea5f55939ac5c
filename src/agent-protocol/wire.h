/*
 * The agent protocol's wire definitions (docs/agent-protocol.md), the one source of truth for
 * every C side: the guest agent (guest/agent), the host supervisor (src/launcher/supervisor)
 * and the exec client. The TypeScript side (frame.ts, flow.ts, messages.ts) is checked against
 * this file by src/agent-protocol/wire-header.test.ts, which parses it: keep one definition per
 * line, `NAME = value` in enums and `#define NAME value` for constants.
 */
#ifndef RUNCVM_WIRE_H
#define RUNCVM_WIRE_H

/* 2: the host says HELLO too, and guest output is flow-controlled (WINDOW); 3: pod-VM containers
 * (START CONTAINER, JOIN, ...). */
#define PROTO_VERSION 3
/* Frame header: u32 payload length, u8 type, u8[3] reserved, u32 id (little-endian). */
#define FRAME_HDR 12
#define FRAME_MAX (1024u * 1024)
/* Largest STDIN/STDOUT/STDERR payload a sender puts in one frame. */
#define DATA_MAX (64u * 1024)
/* Credit per output stream at START: the most a process may have sent that the host has not
 * granted back (docs/agent-protocol.md, Flow control). */
#define STREAM_WINDOW (1024u * 1024)
/* The host grants consumed bytes back in batches of at least this many. */
#define GRANT_BATCH (256u * 1024)

enum msg_type {
	MSG_HELLO = 0x01,
	MSG_CONFIG = 0x02,
	MSG_START = 0x03,
	MSG_STDIN = 0x04,
	MSG_STDOUT = 0x05,
	MSG_STDERR = 0x06,
	MSG_SIGNAL = 0x07,
	MSG_RESIZE = 0x08,
	MSG_STARTED = 0x09,
	MSG_EXIT = 0x0A,
	MSG_ERROR = 0x0B,
	MSG_SHUTDOWN = 0x0C,
	MSG_LOG = 0x0D,
	MSG_DNS = 0x0E,
	MSG_NET_ATTACH = 0x0F,
	MSG_NET_DETACH = 0x10,
	MSG_WINDOW = 0x11,
	MSG_STATS = 0x12,
};

/* From this type on, messages are per-process requests a host relay (the supervisor's exec
 * server) forwards without knowing them: a new kind of exec request needs no relay change. */
#define MSG_PROCESS_EXT_FIRST 0x20

/* DNS: a token with this bit set is a query that came over TCP in the guest: the host asks over
 * TCP too, so an answer too large for UDP (truncated there) still arrives whole. */
#define DNS_TOKEN_TCP 0x80000000u

/* EXIT payload: u8 kind, u8 flags, u8[2] 0, i32 value (the exit code, or the signal number when
 * the kind is EXIT_KIND_SIGNALED; any other kind is an exit code). */
#define EXIT_KIND_SIGNALED 1
/* Process 1's image-root write-back failed: the writable drive keeps the changes. */
#define EXIT_FLAG_WRITEBACK_FAILED 1
/* A pod-VM container's first process ended after its cgroup's OOM killer killed a process of it. */
#define EXIT_FLAG_OOM_KILLED 2

/* CONFIG payload TLV tags. */
enum config_tag {
	CFG_HOSTNAME = 1,
	CFG_ROOT_TAG = 2,
	CFG_ROOT_READONLY = 3,
	CFG_BIND = 4,
	CFG_TMPFS = 5,
	CFG_DEBUG = 6,
	CFG_NIC = 7,
	CFG_ROUTE = 8,
	CFG_DNS_RELAY = 9,
	CFG_DISK = 10,
	CFG_SPARE = 11,
	CFG_ROOT_LOWER = 12,
	CFG_ROOT_UPPER = 13,
	CFG_ROOT_HOST_9P = 14,
	CFG_VOLUME_LINK = 15,
	CFG_VOLUME_9P = 16,
	CFG_DRIVE_ORDER = 22,
	CFG_WRITEBACK_ONLY = 23,
	CFG_SYSCTL = 24,
};

/* START payload TLV tags. */
enum start_tag {
	ST_ARG = 1,
	ST_ENV = 2,
	ST_CWD = 3,
	ST_UID = 4,
	ST_GID = 5,
	ST_GROUP = 6,
	ST_TERMINAL = 7,
	ST_ROWS_COLS = 8,
	ST_DEBUG = 9,
	ST_TOOL = 10,
	ST_CONTAINER = 11,
	ST_HOSTNAME = 12,
	ST_MEMORY_MAX = 13,
	ST_JOIN = 14,
	ST_SHARE_PID = 15,
	ST_PORT = 16,
	ST_CPU_MAX = 17,
	ST_CPU_WEIGHT = 18,
	ST_UPDATE = 19,
	ST_STATS = 20,
};

/* STATS payload (the answer to a START with STATS): TLV records, each a u64 (little-endian)
 * read from the container's guest cgroup; a figure the guest kernel does not have is absent.
 * Bytes unless named otherwise; a limit of "max" is UINT64_MAX. */
enum stats_tag {
	STAT_MEMORY_USAGE = 1,
	STAT_MEMORY_LIMIT = 2,
	STAT_ANON = 3,
	STAT_FILE = 4,
	STAT_KERNEL_STACK = 5,
	STAT_SLAB = 6,
	STAT_SOCK = 7,
	STAT_SHMEM = 8,
	STAT_FILE_MAPPED = 9,
	STAT_FILE_DIRTY = 10,
	STAT_INACTIVE_ANON = 11,
	STAT_ACTIVE_ANON = 12,
	STAT_INACTIVE_FILE = 13,
	STAT_ACTIVE_FILE = 14,
	STAT_UNEVICTABLE = 15,
	STAT_PGFAULT = 16,
	STAT_PGMAJFAULT = 17,
	STAT_CPU_USAGE_USEC = 18,
	STAT_CPU_USER_USEC = 19,
	STAT_CPU_SYSTEM_USEC = 20,
	STAT_CPU_NR_PERIODS = 21,
	STAT_CPU_NR_THROTTLED = 22,
	STAT_CPU_THROTTLED_USEC = 23,
	STAT_PIDS_CURRENT = 24,
	STAT_PIDS_LIMIT = 25,
	STAT_SWAP_USAGE = 26,
	STAT_SWAP_LIMIT = 27,
	STAT_OOM_KILL = 28,
};

#endif

#include "stats.h"

#include <string.h>

#include "../agent-protocol/wire.h"
#include "pb.h"

int task_id_ok(const char *id)
{
	size_t n = strlen(id);
	if (n == 0 || n > 128)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = id[i];
		int alnum =
			(c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
		if (!alnum && (i == 0 || (c != '_' && c != '.' && c != '-')))
			return 0;
	}
	return 1;
}

int task_request_id(const uint8_t *p, size_t n, char *id, size_t cap)
{
	struct pb_in in = {.p = p, .len = n};
	struct pb_field f;
	int got, found = 0;
	while ((got = pb_next(&in, &f)) == 1) {
		if (f.num != 1)
			continue;
		if (f.type != PB_LEN || f.n >= cap || memchr(f.b, 0, f.n))
			return -1;
		memcpy(id, f.b, f.n);
		id[f.n] = 0;
		found = 1;
	}
	return got == 0 && found && task_id_ok(id) ? 0 : -1;
}

/* Where each STATS record goes in Metrics (cgroups v2 stats/metrics.proto): the submessage's
 * field in Metrics and the value's field in it. */
struct place {
	uint8_t sub, field;
};

enum { SUB_PIDS = 1, SUB_CPU = 2, SUB_MEMORY = 4, SUB_MEMORY_EVENTS = 8, NSUB = 9 };

static const struct place PLACES[] = {
	[STAT_MEMORY_USAGE] = {SUB_MEMORY, 32},
	[STAT_MEMORY_LIMIT] = {SUB_MEMORY, 33},
	[STAT_ANON] = {SUB_MEMORY, 1},
	[STAT_FILE] = {SUB_MEMORY, 2},
	[STAT_KERNEL_STACK] = {SUB_MEMORY, 3},
	[STAT_SLAB] = {SUB_MEMORY, 4},
	[STAT_SOCK] = {SUB_MEMORY, 5},
	[STAT_SHMEM] = {SUB_MEMORY, 6},
	[STAT_FILE_MAPPED] = {SUB_MEMORY, 7},
	[STAT_FILE_DIRTY] = {SUB_MEMORY, 8},
	[STAT_INACTIVE_ANON] = {SUB_MEMORY, 11},
	[STAT_ACTIVE_ANON] = {SUB_MEMORY, 12},
	[STAT_INACTIVE_FILE] = {SUB_MEMORY, 13},
	[STAT_ACTIVE_FILE] = {SUB_MEMORY, 14},
	[STAT_UNEVICTABLE] = {SUB_MEMORY, 15},
	[STAT_PGFAULT] = {SUB_MEMORY, 18},
	[STAT_PGMAJFAULT] = {SUB_MEMORY, 19},
	[STAT_SWAP_USAGE] = {SUB_MEMORY, 34},
	[STAT_SWAP_LIMIT] = {SUB_MEMORY, 35},
	[STAT_CPU_USAGE_USEC] = {SUB_CPU, 1},
	[STAT_CPU_USER_USEC] = {SUB_CPU, 2},
	[STAT_CPU_SYSTEM_USEC] = {SUB_CPU, 3},
	[STAT_CPU_NR_PERIODS] = {SUB_CPU, 4},
	[STAT_CPU_NR_THROTTLED] = {SUB_CPU, 5},
	[STAT_CPU_THROTTLED_USEC] = {SUB_CPU, 6},
	[STAT_PIDS_CURRENT] = {SUB_PIDS, 1},
	[STAT_PIDS_LIMIT] = {SUB_PIDS, 2},
	[STAT_OOM_KILL] = {SUB_MEMORY_EVENTS, 5},
};

#define NPLACES (sizeof PLACES / sizeof *PLACES)

size_t stats_response(const uint8_t *tlv, size_t n, uint8_t *out, size_t cap)
{
	/* One buffer per submessage, filled in the order the records come. */
	uint8_t sub[NSUB][512];
	struct pb_out subs[NSUB];
	for (int i = 0; i < NSUB; i++)
		subs[i] = (struct pb_out){.p = sub[i], .cap = sizeof sub[i]};
	int usage = 0;
	for (size_t off = 0; off < n;) {
		if (n - off < 6)
			return 0;
		uint16_t tag = (uint16_t)(tlv[off] | tlv[off + 1] << 8);
		uint32_t len = (uint32_t)tlv[off + 2] | (uint32_t)tlv[off + 3] << 8 |
			       (uint32_t)tlv[off + 4] << 16 | (uint32_t)tlv[off + 5] << 24;
		off += 6;
		if (len > n - off)
			return 0;
		/* A record of a newer agent this shim does not know is skipped; a known one must
		 * be a u64. */
		if (tag < NPLACES && PLACES[tag].sub) {
			if (len != 8)
				return 0;
			uint64_t v = 0;
			for (int i = 7; i >= 0; i--)
				v = v << 8 | tlv[off + i];
			pb_u64(&subs[PLACES[tag].sub], PLACES[tag].field, v);
			usage |= tag == STAT_MEMORY_USAGE;
		}
		off += len;
	}
	/* Without the memory usage the working set would read 0: refuse instead. */
	if (!usage)
		return 0;
	uint8_t metrics[NSUB * 512 + 64];
	struct pb_out m = {.p = metrics, .cap = sizeof metrics};
	for (int i = 0; i < NSUB; i++) {
		if (subs[i].err)
			return 0;
		if (subs[i].len)
			pb_bytes(&m, (uint32_t)i, sub[i], subs[i].len);
	}
	uint8_t any[sizeof metrics + 64];
	struct pb_out a = {.p = any, .cap = sizeof any};
	pb_str(&a, 1, METRICS_V2_URL);
	pb_bytes(&a, 2, metrics, m.len);
	struct pb_out r = {.p = out, .cap = cap};
	pb_bytes(&r, 1, any, a.len);
	return m.err || a.err || r.err ? 0 : r.len;
}

#include "handover.h"

#include <stdio.h>
#include <string.h>

#include "wireio.h"

/* Copies a TLV string into dst: no NUL inside, room for the terminator. */
static int str(char *dst, size_t cap, const uint8_t *v, uint32_t len)
{
	if (len >= cap || memchr(v, 0, len))
		return -1;
	memcpy(dst, v, len);
	dst[len] = 0;
	return 0;
}

static int u32(uint32_t *dst, const uint8_t *v, uint32_t len)
{
	if (len != 4)
		return -1;
	*dst = rd_u32(v);
	return 0;
}

static int pid(pid_t *dst, const uint8_t *v, uint32_t len)
{
	uint32_t p;
	if (u32(&p, v, len) != 0 || p < 2 || p > 0x3fffffff)
		return -1;
	*dst = (pid_t)p;
	return 0;
}

static int add_arg(struct handover *h, size_t *used, const uint8_t *v, uint32_t len)
{
	if (h->nnet_sync == HANDOVER_ARGS || *used + len + 1 > sizeof h->net_sync_buf)
		return -1;
	char *dst = h->net_sync_buf + *used;
	if (str(dst, len + 1, v, len) != 0)
		return -1;
	h->net_sync[h->nnet_sync++] = dst;
	h->net_sync[h->nnet_sync] = NULL;
	*used += len + 1;
	return 0;
}

/* One teardown command: its arguments NUL-separated (none empty), kept in stop_buf. */
static int add_stop_cmd(struct handover *h, size_t *used, const uint8_t *v, uint32_t len)
{
	if (h->nstop_cmds == HANDOVER_STOP_CMDS || len == 0 || *used + len + 1 > sizeof h->stop_buf)
		return -1;
	char *dst = h->stop_buf + *used;
	memcpy(dst, v, len);
	dst[len] = 0;
	char **argv = h->stop_cmds[h->nstop_cmds];
	int n = 0;
	for (char *a = dst; a < dst + len + 1; a += strlen(a) + 1) {
		if (!*a || n == HANDOVER_ARGS)
			return -1;
		argv[n++] = a;
	}
	argv[n] = NULL;
	h->nstop_cmds++;
	*used += len + 1;
	return 0;
}

static int field(struct handover *h, size_t *used, size_t *stop_used, uint16_t tag,
		 const uint8_t *v, uint32_t len)
{
	switch (tag) {
	case HO_AGENT_SOCKET: return str(h->agent_socket, sizeof h->agent_socket, v, len);
	case HO_CONFIG:
	case HO_START:
		if (len > FRAME_MAX)
			return -1;
		*(tag == HO_CONFIG ? &h->config : &h->start) = v;
		*(tag == HO_CONFIG ? &h->config_len : &h->start_len) = len;
		return 0;
	case HO_VMM_PID: return pid(&h->vmm_pid, v, len);
	case HO_HELPER_PID:
		if (h->nhelpers == HANDOVER_HELPERS)
			return -1;
		return pid(&h->helpers[h->nhelpers++], v, len);
	case HO_CONSOLE_LOG: return str(h->console_log, sizeof h->console_log, v, len);
	case HO_HELLO_TIMEOUT_MS: return u32(&h->hello_timeout_ms, v, len);
	case HO_STARTED_TIMEOUT_MS: return u32(&h->started_timeout_ms, v, len);
	case HO_FLAGS: return u32(&h->flags, v, len);
	case HO_TIMING: return str(h->timing, sizeof h->timing, v, len);
	case HO_NET_SYNC_ARG: return add_arg(h, used, v, len);
	case HO_NET_IFACES: h->net_ifaces_known = 1; return netwatch_parse(&h->net_ifaces, v, len);
	case HO_VMM_NAME: return str(h->vmm_name, sizeof h->vmm_name, v, len);
	case HO_WRITTEN_BACK: return str(h->written_back, sizeof h->written_back, v, len);
	case HO_POD_LOG: return str(h->pod_log, sizeof h->pod_log, v, len);
	case HO_POD_LOG_BUDGET: return u32(&h->pod_log_budget, v, len);
	case HO_PORT_FORWARD_PORT:
		if (u32(&h->port_forward_port, v, len) != 0 || h->port_forward_port == 0 ||
		    h->port_forward_port > 65535)
			return -1;
		return 0;
	case HO_PORT_FORWARD_CLIENT:
		return str(h->port_forward_client, sizeof h->port_forward_client, v, len);
	case HO_PORT_FORWARD_START:
		return str(h->port_forward_start, sizeof h->port_forward_start, v, len);
	case HO_STOP_CMD: return add_stop_cmd(h, stop_used, v, len);
	case HO_FS_ARG:
	case HO_VMM_ARG:
	case HO_FS_SOCKET:
	case HO_START_LINE: h->start_plan = 1; return 0; /* startplan_parse reads them */
	case HO_VSOCK_PORT: return u32(&h->vsock_port, v, len) != 0 || !h->vsock_port ? -1 : 0;
	case HO_API_SOCKET: return str(h->api_socket, sizeof h->api_socket, v, len);
	default: return -1; /* both halves are built together: an unknown tag is a mismatch */
	}
}

int handover_parse(const uint8_t *buf, size_t len, struct handover *h, char *err, size_t errlen)
{
	memset(h, 0, sizeof *h);
	size_t used = 0, stop_used = 0;
	const uint8_t *p = buf;
	size_t left = len;
	uint16_t tag;
	const uint8_t *v;
	uint32_t vlen;
	int r;
	while ((r = tlv_step(&p, &left, &tag, &v, &vlen)) == 1) {
		if (field(h, &used, &stop_used, tag, v, vlen) != 0) {
			snprintf(err, errlen, "handover state: bad record (tag %u, %u bytes)", tag,
				 vlen);
			return -1;
		}
	}
	if (r < 0) {
		snprintf(err, errlen, "handover state: truncated record");
		return -1;
	}
	if (!h->agent_socket[0] || !h->config || !h->start || (!h->vmm_pid && !h->start_plan) ||
	    !h->vmm_name[0]) {
		snprintf(err, errlen,
			 "handover state: agent socket, CONFIG, START, VMM pid or name missing");
		return -1;
	}
	if (!h->hello_timeout_ms || !h->started_timeout_ms) {
		snprintf(err, errlen, "handover state: a timeout is missing");
		return -1;
	}
	if (h->port_forward_port && (!h->port_forward_client[0] || !h->port_forward_start[0])) {
		snprintf(err, errlen, "handover state: PortForward without its client or START");
		return -1;
	}
	return 0;
}

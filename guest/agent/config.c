#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

static char *dupn(const uint8_t *p, size_t n)
{
	char *s = malloc(n + 1);
	if (s) {
		memcpy(s, p, n);
		s[n] = 0;
	}
	return s;
}

/* Appends one element to a growing array; the caller's count is bumped on success. */
static int grow(void **arr, size_t count, size_t elem, size_t extra)
{
	void *n = realloc(*arr, (count + 1 + extra) * elem);
	if (!n)
		return -1;
	*arr = n;
	return 0;
}

static int add_mount(struct mount_req **arr, size_t *n, const uint8_t *v, uint32_t len, int tmpfs)
{
	if (len < 5 || grow((void **)arr, *n, sizeof **arr, 0) != 0)
		return -1;
	struct mount_req *m = &(*arr)[*n];
	memset(m, 0, sizeof *m);
	m->tmpfs = tmpfs;
	m->flags = get_u32(v);
	const uint8_t *s = v + 4;
	size_t slen = len - 4;
	const uint8_t *nul = tmpfs ? memchr(s, 0, slen) : NULL;
	size_t dlen = nul ? (size_t)(nul - s) : slen;
	m->dest = dupn(s, dlen);
	m->data = nul ? dupn(nul + 1, slen - dlen - 1) : NULL;
	if (!m->dest || (nul && !m->data) || m->dest[0] != '/')
		return -1;
	(*n)++;
	return 0;
}

/* VOLUME_9P: u32 flags, then "dest\0options\0file". */
static int add_9p(struct mount_req **arr, size_t *n, const uint8_t *v, uint32_t len)
{
	if (len < 4 || grow((void **)arr, *n, sizeof **arr, 0) != 0)
		return -1;
	struct mount_req *m = &(*arr)[*n];
	memset(m, 0, sizeof *m);
	m->ninep = 1;
	m->flags = get_u32(v);
	const uint8_t *s = v + 4, *end = v + len;
	char **fields[] = {&m->dest, &m->data, &m->file};
	for (size_t i = 0; i < 3; i++) {
		const uint8_t *nul = i < 2 ? memchr(s, 0, (size_t)(end - s)) : end;
		if (!nul || !(*fields[i] = dupn(s, (size_t)(nul - s))))
			goto bad;
		s = nul < end ? nul + 1 : end;
	}
	if (m->dest[0] != '/' || !m->data[0] || strchr(m->file, '/'))
		goto bad;
	(*n)++;
	return 0;
bad:
	free(m->dest);
	free(m->data);
	free(m->file);
	return -1;
}

/* VOLUME_LINK: mac[6], u16 mtu, u8 prefix, u8 0, guest ipv4[4], server ipv4[4], name. */
static int set_vol_link(struct vol_link *l, const uint8_t *v, uint32_t len)
{
	if (len < 19 || len - 18 >= IFNAMSIZ || memchr(v + 18, 0, len - 18))
		return -1;
	memset(l, 0, sizeof *l);
	memcpy(l->nic.mac, v, 6);
	l->nic.mtu = get_u16(v + 6);
	l->nic.prefix = v[8];
	memcpy(l->nic.ip, v + 10, 4);
	memcpy(l->server, v + 14, 4);
	memcpy(l->nic.name, v + 18, len - 18);
	l->present = 1;
	return l->nic.prefix > 32 ? -1 : 0;
}

/* u32 flags, then "serial\0dest\0fstype". */
static int add_disk(struct vm_config *c, const uint8_t *v, uint32_t len)
{
	if (len < 4 || grow((void **)&c->disks, c->ndisks, sizeof *c->disks, 0) != 0)
		return -1;
	struct disk_req *d = &c->disks[c->ndisks];
	memset(d, 0, sizeof *d);
	d->flags = get_u32(v);
	const uint8_t *s = v + 4, *end = v + len;
	char **fields[] = {&d->serial, &d->dest, &d->fstype};
	for (size_t i = 0; i < 3; i++) {
		const uint8_t *nul = i < 2 ? memchr(s, 0, (size_t)(end - s)) : end;
		if (!nul || !(*fields[i] = dupn(s, (size_t)(nul - s))))
			goto bad;
		s = nul < end ? nul + 1 : end;
	}
	if (!d->serial[0] || d->dest[0] != '/' || !d->fstype[0])
		goto bad;
	c->ndisks++;
	return 0;
bad:
	free(d->serial);
	free(d->dest);
	free(d->fstype);
	return -1;
}

static int config_record(struct vm_config *c, uint16_t tag, const uint8_t *v, uint32_t len)
{
	switch (tag) {
	case CFG_HOSTNAME: free(c->hostname); return (c->hostname = dupn(v, len)) ? 0 : -1;
	case CFG_ROOT_TAG: free(c->root_tag); return (c->root_tag = dupn(v, len)) ? 0 : -1;
	case CFG_ROOT_READONLY:
		if (len != 1)
			return -1;
		c->root_readonly = v[0] != 0;
		return 0;
	case CFG_BIND:
	case CFG_TMPFS: return add_mount(&c->mounts, &c->nmounts, v, len, tag == CFG_TMPFS);
	case CFG_DEBUG:
		if (len != 1)
			return -1;
		c->debug = v[0] != 0;
		return 0;
	case CFG_DISK: return add_disk(c, v, len);
	case CFG_ROOT_LOWER:
		if (len == 0 ||
		    grow((void **)&c->root_lowers, c->nlowers, sizeof *c->root_lowers, 0) != 0)
			return -1;
		return (c->root_lowers[c->nlowers] = dupn(v, len)) ? (c->nlowers++, 0) : -1;
	case CFG_ROOT_UPPER:
		free(c->root_upper);
		return len && (c->root_upper = dupn(v, len)) ? 0 : -1;
	case CFG_ROOT_HOST_9P:
		free(c->root_host_9p);
		return len && (c->root_host_9p = dupn(v, len)) ? 0 : -1;
	case CFG_DRIVE_ORDER:
		if (len == 0 ||
		    grow((void **)&c->drive_order, c->ndrive_order, sizeof *c->drive_order, 0) !=
			    0 ||
		    !(c->drive_order[c->ndrive_order] = dupn(v, len)))
			return -1;
		c->ndrive_order++;
		return 0;
	case CFG_VOLUME_LINK: return set_vol_link(&c->vol_link, v, len);
	case CFG_WRITEBACK_ONLY:
		if (len != 1)
			return -1;
		c->writeback_only = v[0] != 0;
		return 0;
	case CFG_VOLUME_9P: return add_9p(&c->mounts, &c->nmounts, v, len);
	case CFG_SYSCTL: return sysctl_add(&c->sysctls, &c->nsysctls, v, len);
	default: {
		int r = net_config_record(&c->net, tag, v, len);
		return r == 1 ? 0 : r; /* unknown tags are skipped for forward compatibility */
	}
	}
}

/* Feeds every record of a TLV payload to `record`; what names the payload in errors. */
static int tlv_walk(const uint8_t *p, size_t len,
		    int (*record)(void *, uint16_t, const uint8_t *, uint32_t), void *ctx,
		    const char *what, struct agent_err *e)
{
	struct tlv_iter it = {p, len};
	uint16_t tag;
	const uint8_t *v;
	uint32_t vlen;
	int r;
	while ((r = tlv_next(&it, &tag, &v, &vlen)) == 1) {
		if (record(ctx, tag, v, vlen) != 0)
			return agent_err_set(e, EINVAL, "%s: bad record tag %u (%u bytes)", what,
					     tag, vlen);
	}
	if (r < 0)
		return agent_err_set(e, EINVAL, "%s: truncated TLV record", what);
	return 0;
}

static int config_record_cb(void *ctx, uint16_t tag, const uint8_t *v, uint32_t len)
{
	return config_record(ctx, tag, v, len);
}

int config_parse(const uint8_t *p, size_t len, struct vm_config *c, struct agent_err *e)
{
	memset(c, 0, sizeof *c);
	if (tlv_walk(p, len, config_record_cb, c, "config", e) != 0)
		return -1;
	if (c->nlowers > 0 ? !c->root_upper : (!c->root_tag || !c->root_tag[0]))
		return agent_err_set(e, EINVAL, "%s",
				     c->nlowers > 0 ? "config: ROOT_LOWER without ROOT_UPPER"
						    : "config: no ROOT_TAG");
	return 0;
}

void config_free(struct vm_config *c)
{
	for (size_t i = 0; i < c->nmounts; i++) {
		free(c->mounts[i].dest);
		free(c->mounts[i].data);
		free(c->mounts[i].file);
	}
	free(c->mounts);
	for (size_t i = 0; i < c->ndisks; i++) {
		free(c->disks[i].serial);
		free(c->disks[i].dest);
		free(c->disks[i].fstype);
	}
	free(c->disks);
	for (size_t i = 0; i < c->nlowers; i++)
		free(c->root_lowers[i]);
	free(c->root_lowers);
	free(c->root_upper);
	for (size_t i = 0; i < c->ndrive_order; i++)
		free(c->drive_order[i]);
	free(c->drive_order);
	sysctl_free(c->sysctls, c->nsysctls);
	net_config_free(&c->net);
	free(c->hostname);
	free(c->root_tag);
	memset(c, 0, sizeof *c);
}

/* Adds a string to a NULL-terminated vector. */
static int push_str(char ***vec, size_t *n, const uint8_t *v, uint32_t len)
{
	if (grow((void **)vec, *n, sizeof **vec, 1) != 0)
		return -1;
	char *s = dupn(v, len);
	if (!s)
		return -1;
	(*vec)[(*n)++] = s;
	(*vec)[*n] = NULL;
	return 0;
}

static int start_record(struct start_req *s, uint16_t tag, const uint8_t *v, uint32_t len)
{
	switch (tag) {
	case ST_ARG: return push_str(&s->argv, &s->argc, v, len);
	case ST_ENV: return push_str(&s->envp, &s->envc, v, len);
	case ST_CWD: free(s->cwd); return (s->cwd = dupn(v, len)) ? 0 : -1;
	case ST_UID:
	case ST_GID:
		if (len != 4)
			return -1;
		if (tag == ST_UID)
			s->uid = (uid_t)get_u32(v);
		else
			s->gid = (gid_t)get_u32(v);
		return 0;
	case ST_GROUP:
		if (len != 4 || grow((void **)&s->groups, s->ngroups, sizeof *s->groups, 0) != 0)
			return -1;
		s->groups[s->ngroups++] = (gid_t)get_u32(v);
		return 0;
	case ST_TERMINAL:
		if (len != 1)
			return -1;
		s->terminal = v[0] != 0;
		return 0;
	case ST_ROWS_COLS:
		if (len != 4)
			return -1;
		s->rows = get_u16(v);
		s->cols = get_u16(v + 2);
		return 0;
	case ST_DEBUG:
		if (len != 1)
			return -1;
		s->debug = v[0] != 0;
		return 0;
	case ST_TOOL:
		if (len != 4 || get_u32(v) > TOOL_MAX)
			return -1;
		s->tool_size = get_u32(v);
		return 0;
	case ST_CONTAINER: free(s->container); return (s->container = dupn(v, len)) ? 0 : -1;
	case ST_HOSTNAME: free(s->hostname); return (s->hostname = dupn(v, len)) ? 0 : -1;
	case ST_JOIN: free(s->join); return (s->join = dupn(v, len)) ? 0 : -1;
	case ST_SHARE_PID:
		if (len != 1)
			return -1;
		s->share_pid = v[0] != 0;
		return 0;
	case ST_PORT:
		if (len != 2 || get_u16(v) == 0)
			return -1;
		s->port = get_u16(v);
		return 0;
	case ST_CPU_MAX:
		if (len != 16)
			return -1;
		s->cpu_quota = (uint64_t)get_u32(v) | (uint64_t)get_u32(v + 4) << 32;
		s->cpu_period = (uint64_t)get_u32(v + 8) | (uint64_t)get_u32(v + 12) << 32;
		s->has_cpu_max = 1;
		/* The kernel's bounds (kernel/sched/core.c): period 1 ms to 1 s, quota at least 1
		 * ms, or 0 for none ("max"). */
		return s->cpu_period >= 1000 && s->cpu_period <= 1000000 &&
				       (s->cpu_quota == 0 ||
					(s->cpu_quota >= 1000 && s->cpu_quota <= (1ull << 40)))
			       ? 0
			       : -1;
	case ST_CPU_WEIGHT:
		/* cgroup v2's range (CGROUP_WEIGHT_MIN..MAX). */
		if (len != 4 || get_u32(v) < 1 || get_u32(v) > 10000)
			return -1;
		s->cpu_weight = get_u32(v);
		return 0;
	case ST_UPDATE: free(s->update); return (s->update = dupn(v, len)) ? 0 : -1;
	case ST_STATS: free(s->stats); return (s->stats = dupn(v, len)) ? 0 : -1;
	case ST_MEMORY_MAX:
		if (len != 8)
			return -1;
		s->memory_max = (uint64_t)get_u32(v) | (uint64_t)get_u32(v + 4) << 32;
		s->has_memory_max = 1;
		return 0;
	default: return 0;
	}
}

static int start_record_cb(void *ctx, uint16_t tag, const uint8_t *v, uint32_t len)
{
	return start_record(ctx, tag, v, len);
}

int start_parse(const uint8_t *p, size_t len, struct start_req *s, struct agent_err *e)
{
	memset(s, 0, sizeof *s);
	if (tlv_walk(p, len, start_record_cb, s, "start", e) != 0)
		return -1;
	if (s->argc == 0 || s->argv[0][0] == 0)
		return agent_err_set(e, EINVAL, "start: no ARG");
	/* execve wants a non-NULL envp even when the host sent no ENV. */
	if (!s->envp && push_str(&s->envp, &s->envc, (const uint8_t *)"", 0) == 0) {
		free(s->envp[0]);
		s->envp[0] = NULL;
		s->envc = 0;
	}
	if (!s->envp || (!s->cwd && !(s->cwd = strdup("/"))))
		return agent_err_sys(e, ENOMEM, "start");
	if (!!s->container + !!s->join + !!s->update + !!s->stats > 1)
		return agent_err_set(e, EINVAL,
				     "start: two of CONTAINER, JOIN, UPDATE and STATS together");
	const char *name = s->container ? s->container
			   : s->join	? s->join
			   : s->update	? s->update
					: s->stats;
	if (name && !container_name_ok(name))
		return agent_err_set(e, EINVAL,
				     "start: container name \"%s\" is not [A-Za-z0-9_.-]{1,128}",
				     name);
	if ((s->update || s->stats) && (s->debug || s->tool_size || s->terminal || s->port))
		return agent_err_set(e, EINVAL, "start: %s with DEBUG, TOOL, TERMINAL or PORT",
				     s->update ? "UPDATE" : "STATS");
	if (s->port && (s->container || s->join || s->debug || s->tool_size || s->terminal))
		return agent_err_set(e, EINVAL,
				     "start: PORT with CONTAINER, JOIN, DEBUG, TOOL or TERMINAL");
	if (s->hostname && strlen(s->hostname) > 64)
		return agent_err_set(e, EINVAL, "start: HOSTNAME longer than 64 bytes");
	return 0;
}

void start_free(struct start_req *s)
{
	for (size_t i = 0; i < s->argc; i++)
		free(s->argv[i]);
	for (size_t i = 0; i < s->envc; i++)
		free(s->envp[i]);
	free(s->argv);
	free(s->envp);
	free(s->cwd);
	free(s->groups);
	free(s->container);
	free(s->hostname);
	free(s->join);
	free(s->update);
	free(s->stats);
	memset(s, 0, sizeof *s);
}

int container_name_ok(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > 128 || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return 0;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '.' || *p == '-'))
			return 0;
	return 1;
}

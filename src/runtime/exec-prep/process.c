/* See process.h. */
#define _GNU_SOURCE
#include "process.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* START record tags (docs/agent-protocol.md; StartTag in src/agent-protocol/messages.ts). */
enum {
	START_ARG = 1,
	START_ENV_VAR = 2,
	START_CWD = 3,
	START_UID = 4,
	START_GID = 5,
	START_GROUP = 6,
	START_TERMINAL = 7,
	START_ROWS_COLS = 8
};

/* An array of strings (absent or null: none); entries with the prefix skip are left out. */
static int string_array(const struct json_doc *d, int i, const char *field, const char *skip,
			char ***out, size_t *n, char *err, size_t errlen)
{
	*out = NULL;
	*n = 0;
	if (i < 0 || json_is_null(d, i))
		return 0;
	if (d->tok[i].type != JSMN_ARRAY) {
		snprintf(err, errlen, "%s is not an array", field);
		return -1;
	}
	*out = calloc((size_t)d->tok[i].size + 1, sizeof **out);
	if (!*out) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	char why[128];
	for (int k = 0, t = i + 1; k < d->tok[i].size; k++, t = json_skip(d, t)) {
		char *s;
		if (json_string(d, t, &s, why, sizeof why) != 0) {
			snprintf(err, errlen, "%s[%d]: %s", field, k, why);
			return -1;
		}
		if (skip && strncmp(s, skip, strlen(skip)) == 0)
			free(s);
		else
			(*out)[(*n)++] = s;
	}
	return 0;
}

static int read_user(const struct json_doc *d, int user, struct exec_process *p, char *err,
		     size_t errlen)
{
	if (user < 0 || d->tok[user].type != JSMN_OBJECT) {
		snprintf(err, errlen, "process.user is missing or not an object");
		return -1;
	}
	if (json_u32(d, json_get(d, user, "uid"), &p->uid) != 0 ||
	    json_u32(d, json_get(d, user, "gid"), &p->gid) != 0) {
		snprintf(err, errlen,
			 "process.user.uid and gid must be integers from 0 to 4294967295");
		return -1;
	}
	int g = json_get(d, user, "additionalGids");
	if (g < 0 || json_is_null(d, g))
		return 0;
	if (d->tok[g].type != JSMN_ARRAY) {
		snprintf(err, errlen, "process.user.additionalGids is not an array");
		return -1;
	}
	p->groups = calloc((size_t)d->tok[g].size + 1, sizeof *p->groups);
	if (!p->groups) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (int k = 0, t = g + 1; k < d->tok[g].size; k++, t = json_skip(d, t)) {
		if (json_u32(d, t, &p->groups[p->ngroups++]) != 0) {
			snprintf(err, errlen, "process.user.additionalGids[%d] is not a group id",
				 k);
			return -1;
		}
	}
	return 0;
}

static int read_console(const struct json_doc *d, int cs, struct exec_process *p, char *err,
			size_t errlen)
{
	if (cs < 0 || json_is_null(d, cs))
		return 0;
	uint32_t h, w;
	if (d->tok[cs].type != JSMN_OBJECT || json_u32(d, json_get(d, cs, "height"), &h) != 0 ||
	    json_u32(d, json_get(d, cs, "width"), &w) != 0) {
		snprintf(err, errlen, "process.consoleSize must have integer height and width");
		return -1;
	}
	/* The agent's window size is 16 bits per side, as the kernel's struct winsize. */
	p->has_size = 1;
	p->rows = (uint16_t)(h & 0xffff);
	p->cols = (uint16_t)(w & 0xffff);
	return 0;
}

int process_read(const struct json_doc *d, struct exec_process *p, char *err, size_t errlen)
{
	memset(p, 0, sizeof *p);
	if (string_array(d, json_get(d, 0, "args"), "process.args", NULL, &p->args, &p->nargs, err,
			 errlen) != 0)
		return -1;
	if (p->nargs == 0) {
		snprintf(err, errlen, "process.args missing or empty");
		return -1;
	}
	if (string_array(d, json_get(d, 0, "env"), "process.env", "RUNCVM_", &p->env, &p->nenv, err,
			 errlen) != 0)
		return -1;
	int cwd = json_get(d, 0, "cwd");
	char why[128];
	if (cwd >= 0 && !json_is_null(d, cwd) && json_string(d, cwd, &p->cwd, why, sizeof why)) {
		snprintf(err, errlen, "process.cwd: %s", why);
		return -1;
	}
	if (!p->cwd || !*p->cwd) {
		free(p->cwd);
		p->cwd = strdup("/");
		if (!p->cwd) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	if (read_user(d, json_get(d, 0, "user"), p, err, errlen) != 0)
		return -1;
	int term = json_get(d, 0, "terminal");
	if (term >= 0 && json_bool(d, term, &p->terminal) != 0) {
		snprintf(err, errlen, "process.terminal is not a boolean");
		return -1;
	}
	return read_console(d, json_get(d, 0, "consoleSize"), p, err, errlen);
}

static void free_strings(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void process_free(struct exec_process *p)
{
	free_strings(p->args, p->nargs);
	free_strings(p->env, p->nenv);
	free(p->cwd);
	free(p->groups);
	memset(p, 0, sizeof *p);
}

const char *process_env(const struct exec_process *p, const char *key)
{
	size_t kl = strlen(key);
	const char *found = NULL;
	for (size_t i = 0; i < p->nenv; i++)
		if (strncmp(p->env[i], key, kl) == 0 && p->env[i][kl] == '=')
			found = p->env[i] + kl + 1;
	return found;
}

static int tlv(struct buf *b, uint16_t tag, const void *v, size_t n)
{
	if (n > UINT32_MAX)
		return -1;
	uint8_t h[6] = {(uint8_t)tag,	   (uint8_t)(tag >> 8), (uint8_t)n,
			(uint8_t)(n >> 8), (uint8_t)(n >> 16),	(uint8_t)(n >> 24)};
	return buf_add(b, h, sizeof h) || buf_add(b, v, n) ? -1 : 0;
}

static int tlv_u32(struct buf *b, uint16_t tag, uint32_t v)
{
	uint8_t le[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
	return tlv(b, tag, le, sizeof le);
}

int process_start_payload(const struct exec_process *p, struct buf *out)
{
	for (size_t i = 0; i < p->nargs; i++)
		if (tlv(out, START_ARG, p->args[i], strlen(p->args[i])))
			return -1;
	for (size_t i = 0; i < p->nenv; i++)
		if (tlv(out, START_ENV_VAR, p->env[i], strlen(p->env[i])))
			return -1;
	if (tlv(out, START_CWD, p->cwd, strlen(p->cwd)) || tlv_u32(out, START_UID, p->uid) ||
	    tlv_u32(out, START_GID, p->gid))
		return -1;
	for (size_t i = 0; i < p->ngroups; i++)
		if (tlv_u32(out, START_GROUP, p->groups[i]))
			return -1;
	uint8_t term = p->terminal ? 1 : 0;
	if (tlv(out, START_TERMINAL, &term, 1))
		return -1;
	if (p->has_size) {
		uint8_t ws[4] = {(uint8_t)p->rows, (uint8_t)(p->rows >> 8), (uint8_t)p->cols,
				 (uint8_t)(p->cols >> 8)};
		if (tlv(out, START_ROWS_COLS, ws, sizeof ws))
			return -1;
	}
	return 0;
}

/* Members of the original process runc must not see: the exec client replaces them. */
static int replaced(const struct json_doc *d, int key)
{
	static const char *const names[] = {"args", "env", "cwd", "user", "capabilities"};
	size_t n = (size_t)(d->tok[key].end - d->tok[key].start);
	for (size_t i = 0; i < sizeof names / sizeof *names; i++)
		if (strlen(names[i]) == n && memcmp(d->text + d->tok[key].start, names[i], n) == 0)
			return 1;
	return 0;
}

/* The text of token i as it stands in the document, quotes included for a string. */
static int raw(struct buf *b, const struct json_doc *d, int i)
{
	int q = d->tok[i].type == JSMN_STRING;
	return buf_add(b, d->text + d->tok[i].start - q,
		       (size_t)(d->tok[i].end - d->tok[i].start + 2 * q));
}

int process_client_json(const struct json_doc *d, const char *start_b64, struct buf *out)
{
	if (buf_str(out, "{"))
		return -1;
	/* Kept members are copied as they are (rlimits, noNewPrivileges, apparmorProfile, ...):
	 * runc parses them again. The client's own come last, so even a key spelled another way
	 * that Go's decoder would also take for args (it matches names case-insensitively)
	 * is overridden by them. */
	for (int m = 0, k = 1; m < d->tok[0].size; m++, k = json_skip(d, k + 1)) {
		if (replaced(d, k))
			continue;
		if (raw(out, d, k) || buf_str(out, ":") || raw(out, d, k + 1) || buf_str(out, ","))
			return -1;
	}
	if (buf_str(out,
		    "\"args\":[\"" EXEC_CLIENT "\"],"
		    "\"env\":[\"PATH=/usr/sbin:/usr/bin:/sbin:/bin\",\"HOME=/run\",\"" START_ENV
		    "=") ||
	    buf_str(out, start_b64) ||
	    buf_str(out, "\"],\"cwd\":\"/\",\"user\":{\"uid\":0,\"gid\":0},"
			 "\"capabilities\":{\"bounding\":[],\"effective\":[],\"inheritable\":[],"
			 "\"permitted\":[],\"ambient\":[]}}\n"))
		return -1;
	return 0;
}

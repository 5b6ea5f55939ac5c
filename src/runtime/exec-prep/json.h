/*
 * Reading JSON that runcvm-exec-prep is handed (containerd's process.json, runc's state, our own
 * spec.json) on top of the vendored jsmn tokenizer. Every input is bounded by the caller (size
 * and token count) and every value is checked for the type and range the caller needs: the
 * process JSON carries whatever the user and the image put in args and env.
 */
#ifndef EXEC_PREP_JSON_H
#define EXEC_PREP_JSON_H

#include <stddef.h>
#include <stdint.h>

#define JSMN_HEADER
#define JSMN_STRICT
#include "vendor/jsmn.h"

struct json_doc {
	const char *text;
	size_t len;
	jsmntok_t *tok;
	int ntok;
};

/* Tokenizes text (len bytes) into d; the top level must be one object. 0, or -1 with err set. */
int json_parse(struct json_doc *d, const char *text, size_t len, int max_tokens, char *err,
	       size_t errlen);
void json_free(struct json_doc *d);
/* Index of the token after value i and everything inside it. */
int json_skip(const struct json_doc *d, int i);
/* Value of member key of object obj (the last one if repeated, as Go and JavaScript read it);
 * -1 when absent. */
int json_get(const struct json_doc *d, int obj, const char *key);
/* 1 when token i is the literal null. */
int json_is_null(const struct json_doc *d, int i);
/* String value i, unescaped into a new NUL-terminated buffer (*out, free it); a string holding
 * NUL or a raw control character is refused. 0, or -1 with err set. */
int json_string(const struct json_doc *d, int i, char **out, char *err, size_t errlen);
/* A non-negative integer of at most 32 bits, written as plain digits. 0 or -1. */
int json_u32(const struct json_doc *d, int i, uint32_t *v);
/* true or false; null counts as false (an absent OCI boolean). 0 or -1. */
int json_bool(const struct json_doc *d, int i, int *v);

#endif

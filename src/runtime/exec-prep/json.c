/* See json.h. jsmn's definitions are compiled here, once: its header comes first, without
 * JSMN_HEADER (json.h then finds it already included). */
#define JSMN_STRICT
#include "vendor/jsmn.h"

#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Checks the shape jsmn produced (keys are strings with one value each, every token inside
 * the array) so that walking it later never leaves the array; returns the index after value i,
 * or -1. Nesting is capped: the documents read here are a few levels deep. */
static int check_tree(const struct json_doc *d, int i, int depth)
{
	if (i >= d->ntok || depth > 32)
		return -1;
	const jsmntok_t *t = &d->tok[i];
	if (t->start < 0 || t->end < t->start || (size_t)t->end > d->len)
		return -1;
	if (t->type == JSMN_STRING || t->type == JSMN_PRIMITIVE)
		return t->size == 0 ? i + 1 : -1;
	if (t->type != JSMN_OBJECT && t->type != JSMN_ARRAY)
		return -1;
	int k = i + 1;
	for (int m = 0; m < t->size && k >= 0; m++) {
		if (t->type == JSMN_OBJECT) {
			if (k >= d->ntok || d->tok[k].type != JSMN_STRING || d->tok[k].size != 1)
				return -1;
			k++;
		}
		k = check_tree(d, k, depth + 1);
	}
	return k;
}

static int only_space(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\n' && p[i] != '\r')
			return 0;
	return 1;
}

int json_parse(struct json_doc *d, const char *text, size_t len, int max_tokens, char *err,
	       size_t errlen)
{
	memset(d, 0, sizeof *d);
	if (len > (size_t)1 << 30) {
		snprintf(err, errlen, "too large");
		return -1;
	}
	jsmn_parser p;
	jsmn_init(&p);
	/* A first pass without tokens only counts them, so the array is never larger than needed.
	 */
	int n = jsmn_parse(&p, text, len, NULL, 0);
	if (n < 0 || n > max_tokens) {
		if (n > max_tokens)
			snprintf(err, errlen, "too many JSON values (%d, at most %d)", n,
				 max_tokens);
		else
			snprintf(err, errlen, "%s",
				 n == JSMN_ERROR_PART ? "truncated JSON" : "not valid JSON");
		return -1;
	}
	d->tok = calloc((size_t)(n > 0 ? n : 1), sizeof *d->tok);
	if (!d->tok) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	jsmn_init(&p);
	int got = jsmn_parse(&p, text, len, d->tok, (unsigned)n);
	d->text = text;
	d->len = len;
	d->ntok = n;
	if (got < 0) {
		/* Only this pass sees unclosed containers: counting keeps no tokens to check. */
		snprintf(err, errlen, "%s",
			 got == JSMN_ERROR_PART ? "truncated JSON" : "not valid JSON");
		json_free(d);
		return -1;
	}
	if (got != n || n == 0 || d->tok[0].type != JSMN_OBJECT || check_tree(d, 0, 0) != n ||
	    !only_space(text + d->tok[0].end, len - (size_t)d->tok[0].end)) {
		snprintf(err, errlen, "not one JSON object");
		json_free(d);
		return -1;
	}
	return 0;
}

void json_free(struct json_doc *d)
{
	free(d->tok);
	d->tok = NULL;
	d->ntok = 0;
}

int json_skip(const struct json_doc *d, int i)
{
	/* jsmn gives containers their number of children and every object key one child, its value.
	 */
	int end = i + 1;
	for (int pending = d->tok[i].size; pending > 0; end++)
		pending += d->tok[end].size - 1;
	return end;
}

static int token_is(const struct json_doc *d, int i, const char *s)
{
	size_t n = (size_t)(d->tok[i].end - d->tok[i].start);
	return strlen(s) == n && memcmp(d->text + d->tok[i].start, s, n) == 0;
}

int json_get(const struct json_doc *d, int obj, const char *key)
{
	if (obj < 0 || d->tok[obj].type != JSMN_OBJECT)
		return -1;
	int found = -1;
	int k = obj + 1;
	for (int m = 0; m < d->tok[obj].size; m++) {
		/* A key is a string without escapes in every document we read; an escaped key
		 * never matches, which only makes a field look absent (then refused if required).
		 */
		if (d->tok[k].type == JSMN_STRING && token_is(d, k, key))
			found = k + 1;
		k = json_skip(d, k + 1);
	}
	return found;
}

int json_is_null(const struct json_doc *d, int i)
{
	return d->tok[i].type == JSMN_PRIMITIVE && token_is(d, i, "null");
}

static int hex4(const char *p, uint32_t *v)
{
	*v = 0;
	for (int i = 0; i < 4; i++) {
		char c = p[i];
		int h = c >= '0' && c <= '9'   ? c - '0'
			: c >= 'a' && c <= 'f' ? c - 'a' + 10
			: c >= 'A' && c <= 'F' ? c - 'A' + 10
					       : -1;
		if (h < 0)
			return -1;
		*v = *v << 4 | (uint32_t)h;
	}
	return 0;
}

static size_t put_utf8(char *o, uint32_t cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | cp >> 12);
		o[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | cp >> 18);
	o[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	o[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* One \uXXXX escape (or a surrogate pair) at s[*i] (just after the backslash-u); a lone
 * surrogate becomes U+FFFD, as Go's and JavaScript's decoders make it. */
static int unicode_escape(const char *s, size_t n, size_t *i, uint32_t *cp)
{
	if (*i + 4 > n || hex4(s + *i, cp) != 0)
		return -1;
	*i += 4;
	if (*cp >= 0xd800 && *cp < 0xdc00) {
		uint32_t lo;
		if (*i + 6 <= n && s[*i] == '\\' && s[*i + 1] == 'u' &&
		    hex4(s + *i + 2, &lo) == 0 && lo >= 0xdc00 && lo < 0xe000) {
			*i += 6;
			*cp = 0x10000 + ((*cp - 0xd800) << 10) + (lo - 0xdc00);
			return 0;
		}
		*cp = 0xfffd;
	} else if (*cp >= 0xdc00 && *cp < 0xe000) {
		*cp = 0xfffd;
	}
	return 0;
}

int json_string(const struct json_doc *d, int i, char **out, char *err, size_t errlen)
{
	if (i < 0 || d->tok[i].type != JSMN_STRING) {
		snprintf(err, errlen, "not a string");
		return -1;
	}
	const char *s = d->text + d->tok[i].start;
	size_t n = (size_t)(d->tok[i].end - d->tok[i].start);
	/* An escape never produces more bytes than it takes (\uXXXX: 6 in, at most 3 out;
	 * a surrogate pair: 12 in, 4 out). */
	char *o = malloc(n + 1);
	if (!o) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	size_t w = 0;
	for (size_t r = 0; r < n;) {
		unsigned char c = (unsigned char)s[r++];
		uint32_t cp = c;
		if (c < 0x20)
			goto bad;
		if (c == '\\') {
			if (r >= n)
				goto bad;
			char e = s[r++];
			switch (e) {
			case '"': cp = '"'; break;
			case '\\': cp = '\\'; break;
			case '/': cp = '/'; break;
			case 'b': cp = '\b'; break;
			case 'f': cp = '\f'; break;
			case 'n': cp = '\n'; break;
			case 'r': cp = '\r'; break;
			case 't': cp = '\t'; break;
			case 'u':
				if (unicode_escape(s, n, &r, &cp) != 0)
					goto bad;
				break;
			default: goto bad;
			}
			if (cp == 0) {
				snprintf(err, errlen, "a string holds a NUL character");
				free(o);
				return -1;
			}
			w += put_utf8(o + w, cp);
			continue;
		}
		o[w++] = (char)c;
	}
	o[w] = '\0';
	*out = o;
	return 0;
bad:
	snprintf(err, errlen, "a string holds an invalid escape or control character");
	free(o);
	return -1;
}

int json_u32(const struct json_doc *d, int i, uint32_t *v)
{
	if (i < 0 || d->tok[i].type != JSMN_PRIMITIVE)
		return -1;
	const char *s = d->text + d->tok[i].start;
	int n = d->tok[i].end - d->tok[i].start;
	if (n < 1 || n > 10 || (n > 1 && s[0] == '0'))
		return -1;
	uint64_t x = 0;
	for (int k = 0; k < n; k++) {
		if (s[k] < '0' || s[k] > '9')
			return -1;
		x = x * 10 + (uint64_t)(s[k] - '0');
	}
	if (x > UINT32_MAX)
		return -1;
	*v = (uint32_t)x;
	return 0;
}

int json_bool(const struct json_doc *d, int i, int *v)
{
	if (i < 0 || d->tok[i].type != JSMN_PRIMITIVE)
		return -1;
	if (token_is(d, i, "true") || token_is(d, i, "false") || token_is(d, i, "null")) {
		*v = token_is(d, i, "true");
		return 0;
	}
	return -1;
}

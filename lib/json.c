/* json.c - see json.h. A recursive-descent parser; nesting is limited so
 * that hostile input cannot exhaust the stack. */
#include "json.h"
#include "cli.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 256

/* Every node and string of a document comes from one arena, freed at once. */
typedef struct chunk {
	struct chunk *next;
	size_t used, cap;
	_Alignas(16) char data[];
} chunk;

struct json_doc {
	chunk *chunks;
	json_value root;
};

typedef struct {
	json_doc *doc;
	const char *s, *p, *end;
	char *err;
	size_t errlen;
	int failed;
} parser;

static void fail(parser *ps, const char *msg)
{
	if (!ps->failed && ps->err)
		snprintf(ps->err, ps->errlen, "invalid JSON at byte %zu: %s", (size_t)(ps->p - ps->s), msg);
	ps->failed = 1;
}

static void fail_memory(parser *ps)
{
	if (!ps->failed)
		errf(ps->err, ps->errlen, "out of memory (for a JSON document of %zu bytes)",
		     (size_t)(ps->end - ps->s));
	ps->failed = 1;
}

/* NULL, the parse failed, when out of memory. */
static void *arena_alloc(parser *ps, size_t n)
{
	json_doc *d = ps->doc;
	n = (n + 15) & ~(size_t)15;
	chunk *c = d->chunks;
	if (!c || c->cap - c->used < n) {
		size_t cap = n > 65536 ? n : 65536;
		c = malloc(sizeof *c + cap);
		if (!c) {
			fail_memory(ps);
			return NULL;
		}
		c->used = 0;
		c->cap = cap;
		c->next = d->chunks;
		d->chunks = c;
	}
	void *r = c->data + c->used;
	c->used += n;
	return r;
}

static void skip_ws(parser *ps)
{
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

static int hex4(const char *p, unsigned *out)
{
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		char c = p[i];
		v <<= 4;
		if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
		else return 0;
	}
	*out = v;
	return 1;
}

static size_t put_utf8(char *o, unsigned cp)
{
	if (cp < 0x80) { o[0] = (char)cp; return 1; }
	if (cp < 0x800) { o[0] = (char)(0xC0 | (cp >> 6)); o[1] = (char)(0x80 | (cp & 0x3F)); return 2; }
	if (cp < 0x10000) {
		o[0] = (char)(0xE0 | (cp >> 12)); o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		o[2] = (char)(0x80 | (cp & 0x3F)); return 3;
	}
	o[0] = (char)(0xF0 | (cp >> 18)); o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); o[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* The end of the run of plain string bytes at p (not '"', '\\' or a control
 * character), 8 bytes at a time: the text of a document is most of a line
 * of JSON, and a byte at a time was a tenth of tokenizing it. A byte's
 * flag can be wrong only above a byte that is rightly flagged (a borrow
 * runs upwards), so the lowest flag is the first such byte. */
static const char *plain_end(const char *p, const char *end)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
	while (end - p >= 8) {
		uint64_t x, q, b;
		memcpy(&x, p, 8);
		q = x ^ (ones * '"');
		b = x ^ (ones * '\\');
		uint64_t m = (((q - ones) & ~q) | ((b - ones) & ~b) | ((x - ones * 0x20) & ~x)) & high;
		if (m)
			return p + (__builtin_ctzll(m) >> 3);
		p += 8;
	}
#endif
	while (p < end && *p != '"' && *p != '\\' && (unsigned char)*p >= 0x20)
		p++;
	return p;
}

/* Decodes a string literal at ps->p (the opening quote). The decoded text is
 * never longer than the literal, so one allocation of that size suffices. */
static char *parse_string(parser *ps, size_t *out_len)
{
	const char *start = ++ps->p;
	/* fast scan for the closing quote when there are no escapes */
	const char *q = plain_end(start, ps->end);
	size_t cap = (size_t)(q - start);
	const char *close = q;
	if (q < ps->end && *q != '"') {
		/* find the real end to size the buffer */
		while (close < ps->end && *close != '"') {
			if (*close == '\\')
				close++;
			close++;
		}
		cap = (size_t)(close - start);
	}
	char *o = arena_alloc(ps, cap + 1);
	if (!o)
		return NULL;
	size_t n = (size_t)(q - start);
	memcpy(o, start, n);
	const char *p = q;
	while (p < ps->end && *p != '"') {
		unsigned char c = (unsigned char)*p;
		if (c < 0x20) {
			ps->p = p;
			fail(ps, "control character in string");
			return NULL;
		}
		if (c != '\\') { /* a run of plain bytes at once */
			const char *r = plain_end(p + 1, ps->end);
			memcpy(o + n, p, (size_t)(r - p));
			n += (size_t)(r - p);
			p = r;
			continue;
		}
		if (p + 1 >= ps->end)
			break;
		char e = p[1];
		p += 2;
		switch (e) {
		case '"': o[n++] = '"'; break;
		case '\\': o[n++] = '\\'; break;
		case '/': o[n++] = '/'; break;
		case 'b': o[n++] = '\b'; break;
		case 'f': o[n++] = '\f'; break;
		case 'n': o[n++] = '\n'; break;
		case 'r': o[n++] = '\r'; break;
		case 't': o[n++] = '\t'; break;
		case 'u': {
			unsigned cp;
			if (p + 4 > ps->end || !hex4(p, &cp)) {
				ps->p = p;
				fail(ps, "bad \\u escape");
				return NULL;
			}
			p += 4;
			if (cp >= 0xD800 && cp < 0xDC00) {
				unsigned lo;
				if (p + 6 <= ps->end && p[0] == '\\' && p[1] == 'u' && hex4(p + 2, &lo) &&
				    lo >= 0xDC00 && lo < 0xE000) {
					cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
					p += 6;
				} else {
					cp = 0xFFFD; /* lone high surrogate */
				}
			} else if (cp >= 0xDC00 && cp < 0xE000) {
				cp = 0xFFFD; /* lone low surrogate */
			}
			n += put_utf8(o + n, cp);
			break;
		}
		default:
			ps->p = p - 1;
			fail(ps, "bad escape");
			return NULL;
		}
	}
	if (p >= ps->end) {
		ps->p = p;
		fail(ps, "unterminated string");
		return NULL;
	}
	ps->p = p + 1;
	o[n] = '\0';
	*out_len = n;
	return o;
}

static void parse_value(parser *ps, json_value *v, int depth);

static void parse_number(parser *ps, json_value *v)
{
	const char *p = ps->p;
	if (p < ps->end && *p == '-') p++;
	if (p < ps->end && *p == '0') p++;
	else if (p < ps->end && *p >= '1' && *p <= '9') while (p < ps->end && *p >= '0' && *p <= '9') p++;
	else { fail(ps, "bad number"); return; }
	if (p < ps->end && *p == '.') {
		p++;
		if (p >= ps->end || *p < '0' || *p > '9') { ps->p = p; fail(ps, "bad number"); return; }
		while (p < ps->end && *p >= '0' && *p <= '9') p++;
	}
	if (p < ps->end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < ps->end && (*p == '+' || *p == '-')) p++;
		if (p >= ps->end || *p < '0' || *p > '9') { ps->p = p; fail(ps, "bad number"); return; }
		while (p < ps->end && *p >= '0' && *p <= '9') p++;
	}
	char tmp[64];
	size_t n = (size_t)(p - ps->p);
	if (n < sizeof tmp) {
		memcpy(tmp, ps->p, n);
		tmp[n] = '\0';
		v->number = strtod(tmp, NULL);
	} else {
		char *t = malloc(n + 1);
		if (!t) {
			fail_memory(ps);
			return;
		}
		memcpy(t, ps->p, n);
		t[n] = '\0';
		v->number = strtod(t, NULL);
		free(t);
	}
	v->type = JSON_NUMBER;
	ps->p = p;
}

static int match(parser *ps, const char *word)
{
	size_t n = strlen(word);
	if ((size_t)(ps->end - ps->p) >= n && memcmp(ps->p, word, n) == 0) {
		ps->p += n;
		return 1;
	}
	return 0;
}

/* Members are first collected in a temporary growable array, then copied to
 * the arena, so that the tree holds exact-size arrays. */
typedef struct {
	json_value item;
	char *key;
	size_t key_len;
} member;

/* Copies the n members to v's arrays in the arena. */
static void store_members(parser *ps, json_value *v, const member *m, size_t n, int is_obj)
{
	v->items = arena_alloc(ps, n * sizeof *v->items);
	if (is_obj) {
		v->keys = arena_alloc(ps, n * sizeof *v->keys);
		v->key_lens = arena_alloc(ps, n * sizeof *v->key_lens);
	}
	if (ps->failed)
		return;
	for (size_t i = 0; i < n; i++) {
		v->items[i] = m[i].item;
		if (is_obj) {
			v->keys[i] = m[i].key;
			v->key_lens[i] = m[i].key_len;
		}
	}
}

static void parse_container(parser *ps, json_value *v, int depth, int is_obj)
{
	char close = is_obj ? '}' : ']';
	ps->p++;
	size_t n = 0, cap = 0;
	member *m = NULL;
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == close) {
		ps->p++;
		goto done;
	}
	for (;;) {
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			member *grown = reallocarray(m, cap, sizeof *m);
			if (!grown) {
				fail_memory(ps);
				break;
			}
			m = grown;
		}
		memset(&m[n], 0, sizeof m[n]);
		skip_ws(ps);
		if (is_obj) {
			if (ps->p >= ps->end || *ps->p != '"') { fail(ps, "expected a key"); break; }
			m[n].key = parse_string(ps, &m[n].key_len);
			if (ps->failed) break;
			skip_ws(ps);
			if (ps->p >= ps->end || *ps->p != ':') { fail(ps, "expected ':'"); break; }
			ps->p++;
		}
		parse_value(ps, &m[n].item, depth + 1);
		if (ps->failed) break;
		n++;
		skip_ws(ps);
		if (ps->p < ps->end && *ps->p == ',') { ps->p++; continue; }
		if (ps->p < ps->end && *ps->p == close) { ps->p++; break; }
		fail(ps, is_obj ? "expected ',' or '}'" : "expected ',' or ']'");
		break;
	}
done:
	v->type = is_obj ? JSON_OBJECT : JSON_ARRAY;
	v->len = n;
	if (n && !ps->failed)
		store_members(ps, v, m, n, is_obj);
	free(m);
}

static void parse_value(parser *ps, json_value *v, int depth)
{
	if (depth > MAX_DEPTH) { fail(ps, "nested too deeply"); return; }
	skip_ws(ps);
	if (ps->p >= ps->end) { fail(ps, "unexpected end of input"); return; }
	const char *start = ps->p;
	switch (*ps->p) {
	case '{': parse_container(ps, v, depth, 1); break;
	case '[': parse_container(ps, v, depth, 0); break;
	case '"':
		v->type = JSON_STRING;
		v->str = parse_string(ps, &v->len);
		break;
	case 't': if (match(ps, "true")) v->type = JSON_TRUE; else fail(ps, "bad literal"); break;
	case 'f': if (match(ps, "false")) v->type = JSON_FALSE; else fail(ps, "bad literal"); break;
	case 'n': if (match(ps, "null")) v->type = JSON_NULL; else fail(ps, "bad literal"); break;
	default: parse_number(ps, v); break;
	}
	v->raw = start;
	v->raw_len = (size_t)(ps->p - start);
}

size_t json_bom_len(const char *s, size_t n)
{
	return n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
}

json_doc *json_parse(const char *text, size_t n, char *err, size_t errlen)
{
	json_doc *d = calloc(1, sizeof *d);
	if (!d) {
		errf(err, errlen, "out of memory (for a JSON document of %zu bytes)", n);
		return NULL;
	}
	parser ps = {d, text, text, text + n, err, errlen, 0};
	/* (a JSON Lines file's first line: it was "bad number" at byte 0) */
	ps.p += json_bom_len(text, n);
	parse_value(&ps, &d->root, 0);
	if (!ps.failed) {
		skip_ws(&ps);
		if (ps.p != ps.end)
			fail(&ps, "trailing characters after the value");
	}
	if (ps.failed) {
		json_free(d);
		return NULL;
	}
	return d;
}

json_value *json_root(json_doc *doc) { return &doc->root; }

void json_free(json_doc *doc)
{
	if (!doc)
		return;
	chunk *c = doc->chunks;
	while (c) {
		chunk *next = c->next;
		free(c);
		c = next;
	}
	free(doc);
}

json_value *json_get(const json_value *obj, const char *key)
{
	if (!obj || obj->type != JSON_OBJECT)
		return NULL;
	size_t kl = strlen(key);
	for (size_t i = 0; i < obj->len; i++)
		if (obj->key_lens[i] == kl && memcmp(obj->keys[i], key, kl) == 0)
			return &obj->items[i];
	return NULL;
}

const char *json_get_str(const json_value *obj, const char *key)
{
	json_value *v = json_get(obj, key);
	return v && v->type == JSON_STRING ? v->str : NULL;
}

double json_get_num(const json_value *obj, const char *key, double def)
{
	json_value *v = json_get(obj, key);
	return v && v->type == JSON_NUMBER ? v->number : def;
}

int json_get_finite(const json_value *obj, const char *key, double *out)
{
	const json_value *v = json_get(obj, key);
	if (!v)
		return 0;
	if (v->type != JSON_NUMBER || !isfinite(v->number))
		return -1;
	*out = v->number;
	return 1;
}

int json_int(const json_value *v, int64_t lo, int64_t hi, int64_t *out)
{
	if (!v || v->type != JSON_NUMBER || !(v->number >= (double)lo && v->number <= (double)hi) ||
	    v->number != floor(v->number))
		return -1;
	*out = (int64_t)v->number;
	return 0;
}

void json_write_string(buf_t *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	buf_reserve(b, n + 2);
	buf_putc(b, '"');
	size_t run = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		buf_append(b, s + run, i - run);
		run = i + 1;
		switch (c) {
		case '"': buf_append(b, "\\\"", 2); break;
		case '\\': buf_append(b, "\\\\", 2); break;
		case '\n': buf_append(b, "\\n", 2); break;
		case '\r': buf_append(b, "\\r", 2); break;
		case '\t': buf_append(b, "\\t", 2); break;
		case '\b': buf_append(b, "\\b", 2); break;
		case '\f': buf_append(b, "\\f", 2); break;
		default: {
			char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
			buf_append(b, e, 6);
		}
		}
	}
	buf_append(b, s + run, n - run);
	buf_putc(b, '"');
}

int utf8_valid(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;
	while (i < n) {
		unsigned c = s[i];
		if (c < 0x80) { i++; continue; }
		size_t k;
		unsigned cp, min;
		if ((c & 0xE0) == 0xC0) { k = 1; cp = c & 0x1F; min = 0x80; }
		else if ((c & 0xF0) == 0xE0) { k = 2; cp = c & 0x0F; min = 0x800; }
		else if ((c & 0xF8) == 0xF0) { k = 3; cp = c & 0x07; min = 0x10000; }
		else return 0;
		for (size_t j = 1; j <= k; j++) {
			if (i + j >= n || (s[i + j] & 0xC0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + j] & 0x3F);
		}
		if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp < 0xE000))
			return 0;
		i += k + 1;
	}
	return 1;
}

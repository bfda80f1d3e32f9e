/* safetensors.c - see safetensors.h. */
#include "safetensors.h"
#include "buf.h"
#include "cli.h"
#include "hash.h"
#include "json.h"
#include "xio.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const dtype_names[ST_NDTYPES] = { "F32", "F64", "BF16", "F16", "I32", "I64" };
static const size_t dtype_sizes[ST_NDTYPES] = { 4, 8, 2, 2, 4, 8 };

const char *st_dtype_name(st_dtype d) { return d < ST_NDTYPES ? dtype_names[d] : "?"; }
size_t st_dtype_size(st_dtype d) { return d < ST_NDTYPES ? dtype_sizes[d] : 0; }

static int failf(char *err, size_t errlen, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int failf(char *err, size_t errlen, const char *name, const char *fmt, ...)
{
	if (err && errlen) {
		int k = snprintf(err, errlen, "%s: ", name);
		if (k < 0 || (size_t)k >= errlen)
			k = 0;
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err + k, errlen - k, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* A JSON number that is a whole number in [0, 2^53]. */
static int json_uint(const json_value *v, uint64_t *out)
{
	int64_t x;
	if (json_int(v, 0, (int64_t)1 << 53, &x))
		return -1;
	*out = (uint64_t)x;
	return 0;
}

static int cmp_begin(const void *a, const void *b)
{
	const st_tensor *x = a, *y = b;
	if (x->begin != y->begin)
		return x->begin < y->begin ? -1 : 1;
	return x->end < y->end ? -1 : x->end > y->end;
}

static void free_fields(safetensors *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->t[i].name);
	free(f->t);
	for (size_t i = 0; i < f->n_meta; i++) {
		free(f->meta_keys[i]);
		free(f->meta_vals[i]);
	}
	free(f->meta_keys);
	free(f->meta_vals);
	free(f->path);
}

static int parse_tensor(const char *name, const char *key, const json_value *v, st_tensor *t,
			uint64_t data_len, char *err, size_t errlen)
{
	if (v->type != JSON_OBJECT)
		return failf(err, errlen, name, "tensor '%s': header entry is not an object", key);
	for (size_t i = 0; i < v->len; i++)
		if (strcmp(v->keys[i], "dtype") && strcmp(v->keys[i], "shape") &&
		    strcmp(v->keys[i], "data_offsets"))
			return failf(err, errlen, name, "tensor '%s': unknown field '%s'", key, v->keys[i]);
	const char *dt = json_get_str(v, "dtype");
	if (!dt)
		return failf(err, errlen, name, "tensor '%s': no dtype", key);
	int d = -1;
	for (int i = 0; i < ST_NDTYPES; i++)
		if (!strcmp(dt, dtype_names[i]))
			d = i;
	if (d < 0)
		return failf(err, errlen, name, "tensor '%s': unsupported dtype '%s'", key, dt);
	t->dtype = (st_dtype)d;
	const json_value *sh = json_get(v, "shape");
	if (!sh || sh->type != JSON_ARRAY)
		return failf(err, errlen, name, "tensor '%s': no shape array", key);
	if (sh->len > ST_MAX_DIMS)
		return failf(err, errlen, name, "tensor '%s': %zu dimensions (at most %d)", key,
			     sh->len, ST_MAX_DIMS);
	t->ndim = (int)sh->len;
	uint64_t numel = 1;
	for (size_t i = 0; i < sh->len; i++) {
		uint64_t x;
		if (json_uint(&sh->items[i], &x))
			return failf(err, errlen, name, "tensor '%s': shape[%zu] is not a non-negative integer",
				     key, i);
		t->shape[i] = (int64_t)x;
		if (x && numel > UINT64_MAX / 8 / x)
			return failf(err, errlen, name, "tensor '%s': shape too large", key);
		numel *= x;
	}
	t->numel = numel;
	const json_value *off = json_get(v, "data_offsets");
	if (!off || off->type != JSON_ARRAY || off->len != 2 || json_uint(&off->items[0], &t->begin) ||
	    json_uint(&off->items[1], &t->end))
		return failf(err, errlen, name, "tensor '%s': data_offsets is not [begin, end]", key);
	if (t->begin > t->end)
		return failf(err, errlen, name, "tensor '%s': data_offsets begin %llu > end %llu", key,
			     (unsigned long long)t->begin, (unsigned long long)t->end);
	if (t->end > data_len)
		return failf(err, errlen, name,
			     "tensor '%s': data_offsets end %llu past the data section (%llu bytes): file truncated?",
			     key, (unsigned long long)t->end, (unsigned long long)data_len);
	if (t->end - t->begin != numel * dtype_sizes[d])
		return failf(err, errlen, name, "tensor '%s': %llu bytes for %llu elements of %s", key,
			     (unsigned long long)(t->end - t->begin), (unsigned long long)numel, dt);
	return 0;
}

/* The __metadata__ object m: string values only. */
static int parse_meta(safetensors *f, const json_value *m, char *err, size_t errlen)
{
	if (m->type != JSON_OBJECT)
		return failf(err, errlen, f->path, "__metadata__ is not an object");
	f->meta_keys = calloc(m->len ? m->len : 1, sizeof *f->meta_keys);
	f->meta_vals = calloc(m->len ? m->len : 1, sizeof *f->meta_vals);
	if (!f->meta_keys || !f->meta_vals)
		return failf(err, errlen, f->path, "out of memory (for %zu metadata entries)", m->len);
	for (size_t j = 0; j < m->len; j++) {
		if (m->items[j].type != JSON_STRING)
			return failf(err, errlen, f->path, "__metadata__ value '%s' is not a string", m->keys[j]);
		/* counted at once, so that free_fields() frees a key without its value */
		f->meta_keys[f->n_meta] = strdup(m->keys[j]);
		f->meta_vals[f->n_meta++] = strdup(m->items[j].str);
		if (!f->meta_keys[f->n_meta - 1] || !f->meta_vals[f->n_meta - 1])
			return failf(err, errlen, f->path, "out of memory (for the metadata)");
	}
	return 0;
}

safetensors *st_parse(const void *buf, size_t len, const char *name, char *err, size_t errlen)
{
	const unsigned char *p = buf;
	if (!name)
		name = "safetensors";
	if (len < 8) {
		failf(err, errlen, name, "too short for a safetensors file (%zu bytes)", len);
		return NULL;
	}
	uint64_t hlen = 0;
	for (int i = 7; i >= 0; i--)
		hlen = hlen << 8 | p[i];
	if (hlen > ST_MAX_HEADER || hlen > len - 8) {
		failf(err, errlen, name, "header length %llu does not fit the file (%zu bytes)",
		      (unsigned long long)hlen, len);
		return NULL;
	}
	if (hlen < 2) {
		failf(err, errlen, name, "header too short");
		return NULL;
	}
	char jerr[256];
	json_doc *doc = json_parse((const char *)p + 8, hlen, jerr, sizeof jerr);
	if (!doc) {
		failf(err, errlen, name, "header: %s", jerr);
		return NULL;
	}
	const json_value *root = json_root(doc);
	safetensors *f = calloc(1, sizeof *f);
	if (!f || !(f->path = strdup(name))) {
		free(f);
		json_free(doc);
		failf(err, errlen, name, "out of memory");
		return NULL;
	}
	f->data = p + 8 + hlen;
	f->data_len = len - 8 - hlen;
	if (root->type != JSON_OBJECT) {
		failf(err, errlen, name, "header is not a JSON object");
		goto fail;
	}
	f->t = calloc(root->len ? root->len : 1, sizeof *f->t);
	if (!f->t)
		goto no_memory;
	for (size_t i = 0; i < root->len; i++) {
		const char *key = root->keys[i];
		const json_value *v = &root->items[i];
		if (strlen(key) != root->key_lens[i]) {
			failf(err, errlen, name, "a header key contains a NUL byte");
			goto fail;
		}
		for (size_t j = 0; j < i; j++)
			if (!strcmp(root->keys[j], key)) {
				failf(err, errlen, name, "'%s' appears twice in the header", key);
				goto fail;
			}
		if (!strcmp(key, "__metadata__")) {
			if (parse_meta(f, v, err, errlen))
				goto fail;
			continue;
		}
		st_tensor *t = &f->t[f->n];
		if (parse_tensor(name, key, v, t, f->data_len, err, errlen))
			goto fail;
		if (!(t->name = strdup(key)))
			goto no_memory;
		f->n++;
	}
	/* Tensors must tile the data section exactly: no overlap, no hole. */
	qsort(f->t, f->n, sizeof *f->t, cmp_begin);
	uint64_t at = 0;
	for (size_t i = 0; i < f->n; i++) {
		if (f->t[i].begin < at) {
			failf(err, errlen, name, "tensors '%s' and '%s' overlap", f->t[i - 1].name, f->t[i].name);
			goto fail;
		}
		if (f->t[i].begin > at) {
			failf(err, errlen, name, "a hole of %llu bytes in the data section before '%s'",
			      (unsigned long long)(f->t[i].begin - at), f->t[i].name);
			goto fail;
		}
		at = f->t[i].end;
	}
	if (at != f->data_len) {
		failf(err, errlen, name, "%llu bytes after the last tensor",
		      (unsigned long long)(f->data_len - at));
		goto fail;
	}
	json_free(doc);
	return f;
no_memory:
	failf(err, errlen, name, "out of memory (for a header of %llu bytes)", (unsigned long long)hlen);
fail:
	json_free(doc);
	free_fields(f);
	free(f);
	return NULL;
}

safetensors *st_open(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0) {
		failf(err, errlen, path, "%s", strerror(errno));
		return NULL;
	}
	struct stat st;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		failf(err, errlen, path, "not a regular file");
		close(fd);
		return NULL;
	}
	size_t len = (size_t)st.st_size;
	void *map = NULL;
	if (len > 0) {
		map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
		if (map == MAP_FAILED) {
			failf(err, errlen, path, "mmap: %s", strerror(errno));
			close(fd);
			return NULL;
		}
	}
	close(fd);
	safetensors *f = st_parse(map ? map : "", len, path, err, errlen);
	if (!f) {
		if (map)
			munmap(map, len);
		return NULL;
	}
	f->map = map;
	f->map_len = len;
	return f;
}

void st_close(safetensors *f)
{
	if (!f)
		return;
	if (f->map)
		munmap(f->map, f->map_len);
	free(f->owned);
	free_fields(f);
	free(f);
}

const st_tensor *st_find(const safetensors *f, const char *name)
{
	for (size_t i = 0; i < f->n; i++)
		if (!strcmp(f->t[i].name, name))
			return &f->t[i];
	return NULL;
}

const char *st_meta(const safetensors *f, const char *key)
{
	for (size_t i = 0; i < f->n_meta; i++)
		if (!strcmp(f->meta_keys[i], key))
			return f->meta_vals[i];
	return NULL;
}

static float bf16_to_f32(uint16_t h)
{
	uint32_t u = (uint32_t)h << 16;
	float x;
	memcpy(&x, &u, 4);
	return x;
}

static float f16_to_f32(uint16_t h)
{
	uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 31, man = h & 1023;
	float x;
	if (exp == 0)
		x = ldexpf((float)man, -24); /* zero or subnormal */
	else if (exp == 31)
		x = man ? NAN : INFINITY;
	else
		x = ldexpf((float)(man | 1024), (int)exp - 25);
	return sign ? -x : x;
}

/* Element i as double; data is little-endian and maybe unaligned. */
static double elem(const unsigned char *p, st_dtype d, uint64_t i)
{
	switch (d) {
	case ST_F32: { float x; memcpy(&x, p + 4 * i, 4); return x; }
	case ST_F64: { double x; memcpy(&x, p + 8 * i, 8); return x; }
	case ST_BF16: { uint16_t h; memcpy(&h, p + 2 * i, 2); return bf16_to_f32(h); }
	case ST_F16: { uint16_t h; memcpy(&h, p + 2 * i, 2); return f16_to_f32(h); }
	case ST_I32: { int32_t x; memcpy(&x, p + 4 * i, 4); return x; }
	case ST_I64: { int64_t x; memcpy(&x, p + 8 * i, 8); return (double)x; }
	default: return NAN;
	}
}

void st_to_f32(const safetensors *f, const st_tensor *t, float *out)
{
	const unsigned char *p = f->data + t->begin;
	if (t->dtype == ST_F32) {
		memcpy(out, p, t->numel * 4);
		return;
	}
	for (uint64_t i = 0; i < t->numel; i++)
		out[i] = (float)elem(p, t->dtype, i);
}

void st_to_f64(const safetensors *f, const st_tensor *t, double *out)
{
	const unsigned char *p = f->data + t->begin;
	for (uint64_t i = 0; i < t->numel; i++)
		out[i] = elem(p, t->dtype, i);
}

static void shape_str(char *s, size_t n, int ndim, const int64_t *shape)
{
	size_t k = 0;
	k += snprintf(s + k, n - k, "[");
	for (int i = 0; i < ndim && k < n; i++)
		k += snprintf(s + k, n - k, "%s%lld", i ? "," : "", (long long)shape[i]);
	if (k < n)
		snprintf(s + k, n - k, "]");
}

int st_check_shape(const st_tensor *t, int ndim, const int64_t *shape, char *err, size_t errlen)
{
	int same = t->ndim == ndim;
	for (int i = 0; same && i < ndim; i++)
		same = t->shape[i] == shape[i];
	if (same)
		return 0;
	char a[128], b[128];
	shape_str(a, sizeof a, t->ndim, t->shape);
	shape_str(b, sizeof b, ndim, shape);
	if (err && errlen)
		snprintf(err, errlen, "tensor '%s' has shape %s, expected %s", t->name, a, b);
	return -1;
}

/* ---- sharded sets ---- */

static int ends_with(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);
	return a >= b && !strcmp(s + a - b, suf);
}

static int is_dir(const char *p)
{
	struct stat st;
	return !stat(p, &st) && S_ISDIR(st.st_mode);
}

static int exists(const char *p)
{
	struct stat st;
	return !stat(p, &st);
}

/* Takes f into s; on running out of memory closes f instead. */
static int set_add(st_set *s, safetensors *f, char *err, size_t errlen)
{
	safetensors **files = reallocarray(s->files, s->n_files + 1, sizeof *s->files);
	if (!files) {
		failf(err, errlen, f->path, "out of memory");
		st_close(f);
		return -1;
	}
	s->files = files;
	s->files[s->n_files++] = f;
	return 0;
}

/* The path of file beside the index (in the index's folder); NULL when
 * out of memory. */
static char *beside(const char *index, const char *file)
{
	const char *slash = strrchr(index, '/');
	size_t d = slash ? (size_t)(slash - index) + 1 : 0, n = strlen(file);
	char *p = malloc(d + n + 1);
	if (p) {
		memcpy(p, index, d);
		memcpy(p + d, file, n + 1);
	}
	return p;
}

/* Opens a file the index lists, once per file name: names[] are the names
 * opened so far, files[j] opened from names[j]. */
static int open_listed(st_set *s, const char ***names, const char *index, const char *file,
		       char *err, size_t errlen)
{
	for (size_t j = 0; j < s->n_files; j++)
		if (!strcmp((*names)[j], file))
			return 0;
	const char **grown = reallocarray(*names, s->n_files + 1, sizeof **names);
	char *path = grown ? beside(index, file) : NULL;
	if (grown)
		*names = grown;
	if (!path)
		return failf(err, errlen, index, "out of memory");
	(*names)[s->n_files] = file;
	safetensors *f = st_open(path, err, errlen);
	free(path);
	return f ? set_add(s, f, err, errlen) : -1;
}

static st_set *open_index(const char *index, char *err, size_t errlen)
{
	/* "INDEX: reason", as st_open() words it */
	int fd = open(index, O_RDONLY);
	if (fd < 0) {
		failf(err, errlen, index, "%s", strerror(errno));
		return NULL;
	}
	close(fd);
	size_t len;
	char *text = read_file_err(index, &len, err, errlen);
	if (!text)
		return NULL;
	char jerr[256];
	json_doc *doc = json_parse(text, len, jerr, sizeof jerr);
	free(text);
	if (!doc) {
		failf(err, errlen, index, "%s", jerr);
		return NULL;
	}
	const json_value *wm = json_get(json_root(doc), "weight_map");
	if (!wm || wm->type != JSON_OBJECT) {
		failf(err, errlen, index, "no weight_map object");
		json_free(doc);
		return NULL;
	}
	st_set *s = calloc(1, sizeof *s);
	const char **names = NULL;
	if (!s) {
		failf(err, errlen, index, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < wm->len; i++) {
		const json_value *v = &wm->items[i];
		if (v->type != JSON_STRING || !v->str[0] || strchr(v->str, '/') || !strcmp(v->str, "..")) {
			failf(err, errlen, index, "weight_map['%s'] is not a file name", wm->keys[i]);
			goto fail;
		}
		/* the directory of the index holds the shards */
		if (open_listed(s, &names, index, v->str, err, errlen))
			goto fail;
	}
	/* Every tensor the index names must be in the file it names. */
	for (size_t i = 0; i < wm->len; i++) {
		const safetensors *f = NULL;
		for (size_t j = 0; j < s->n_files; j++) /* files[j] was opened from names[j] */
			if (!strcmp(names[j], wm->items[i].str) && st_find(s->files[j], wm->keys[i]))
				f = s->files[j];
		if (!f) {
			failf(err, errlen, index, "tensor '%s' is not in %s", wm->keys[i], wm->items[i].str);
			goto fail;
		}
	}
	free(names);
	json_free(doc);
	return s;
fail:
	free(names);
	json_free(doc);
	st_set_close(s);
	return NULL;
}

st_set *st_set_open(const char *path, char *err, size_t errlen)
{
	if (ends_with(path, ".json"))
		return open_index(path, err, errlen);
	if (is_dir(path)) {
		char *p = path_join(path, "model.safetensors");
		st_set *s = NULL;
		if (p && exists(p)) {
			s = st_set_open(p, err, errlen);
		} else if (p) {
			free(p);
			p = path_join(path, "model.safetensors.index.json");
			if (p && exists(p))
				s = open_index(p, err, errlen);
			else if (p)
				failf(err, errlen, path, "no model.safetensors or model.safetensors.index.json");
		}
		if (!p)
			failf(err, errlen, path, "out of memory");
		free(p);
		return s;
	}
	safetensors *f = st_open(path, err, errlen);
	if (!f)
		return NULL;
	st_set *s = calloc(1, sizeof *s);
	if (!s) {
		failf(err, errlen, path, "out of memory");
		st_close(f);
		return NULL;
	}
	if (set_add(s, f, err, errlen)) {
		free(s);
		return NULL;
	}
	return s;
}

const st_tensor *st_set_find(const st_set *s, const char *name, const safetensors **file)
{
	for (size_t i = 0; i < s->n_files; i++) {
		const st_tensor *t = st_find(s->files[i], name);
		if (t) {
			if (file)
				*file = s->files[i];
			return t;
		}
	}
	return NULL;
}

void st_set_close(st_set *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_files; i++)
		st_close(s->files[i]);
	free(s->files);
	free(s);
}

/* ---- writing ---- */

static uint64_t out_bytes(const st_out *t)
{
	uint64_t n = 1;
	for (int i = 0; i < t->ndim; i++)
		n *= (uint64_t)t->shape[i];
	return n * st_dtype_size(t->dtype);
}

/* The header, padded with spaces so that the data starts 8-aligned. */
static void build_header(buf_t *h, const st_out *t, size_t n, const char *const *mk,
			 const char *const *mv, size_t n_meta)
{
	buf_puts(h, "{");
	if (n_meta) {
		buf_puts(h, "\"__metadata__\":{");
		for (size_t i = 0; i < n_meta; i++) {
			if (i)
				buf_puts(h, ",");
			json_write_string(h, mk[i], strlen(mk[i]));
			buf_puts(h, ":");
			json_write_string(h, mv[i], strlen(mv[i]));
		}
		buf_puts(h, "}");
	}
	uint64_t at = 0;
	for (size_t i = 0; i < n; i++) {
		char tmp[64];
		if (n_meta || i)
			buf_puts(h, ",");
		json_write_string(h, t[i].name, strlen(t[i].name));
		buf_puts(h, ":{\"dtype\":\"");
		buf_puts(h, st_dtype_name(t[i].dtype));
		buf_puts(h, "\",\"shape\":[");
		for (int d = 0; d < t[i].ndim; d++) {
			snprintf(tmp, sizeof tmp, "%s%lld", d ? "," : "", (long long)t[i].shape[d]);
			buf_puts(h, tmp);
		}
		uint64_t nb = out_bytes(&t[i]);
		snprintf(tmp, sizeof tmp, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)at,
			 (unsigned long long)(at + nb));
		buf_puts(h, tmp);
		at += nb;
	}
	buf_puts(h, "}");
	/* a buffer out of memory stops growing */
	while (h->len % 8 && !h->failed)
		buf_putc(h, ' ');
}

static void le64(unsigned char *p, uint64_t x)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(x >> (8 * i));
}

/* The header of t[0..n) in a checked buffer: 0, or -1 with the message. */
static int header(buf_t *h, const char *name, const st_out *t, size_t n, const char *const *mk,
		  const char *const *mv, size_t n_meta, char *err, size_t errlen)
{
	build_header(h, t, n, mk, mv, n_meta);
	if (!h->failed)
		return 0;
	buf_free(h);
	return failf(err, errlen, name, "out of memory (for the header of %zu tensors)", n);
}

int st_write(const char *path, const st_out *t, size_t n, const char *const *mk,
	     const char *const *mv, size_t n_meta, char *err, size_t errlen)
{
	buf_t h = BUF_CHECKED;
	if (header(&h, path, t, n, mk, mv, n_meta, err, errlen))
		return -1;
	unsigned char len8[8];
	le64(len8, h.len);
	outfile *o = outfile_open_err(path, err, errlen);
	int bad = !o || outfile_write_err(o, len8, 8, err, errlen) ||
		  outfile_write_err(o, h.data, h.len, err, errlen);
	for (size_t i = 0; i < n && !bad; i++)
		bad = outfile_write_err(o, t[i].data, out_bytes(&t[i]), err, errlen);
	buf_free(&h);
	if (bad) {
		if (o)
			outfile_abort(o);
		return -1;
	}
	return outfile_commit_err(o, err, errlen);
}

unsigned char *st_write_mem(const st_out *t, size_t n, const char *const *mk,
			    const char *const *mv, size_t n_meta, size_t *len, char *err,
			    size_t errlen)
{
	buf_t h = BUF_CHECKED;
	if (header(&h, "safetensors", t, n, mk, mv, n_meta, err, errlen))
		return NULL;
	size_t total = 8 + h.len;
	for (size_t i = 0; i < n; i++)
		total += out_bytes(&t[i]);
	unsigned char *p = malloc(total);
	if (!p) {
		buf_free(&h);
		failf(err, errlen, "safetensors", "out of memory (for a file of %zu bytes)", total);
		return NULL;
	}
	unsigned char *q = p + 8 + h.len;
	le64(p, h.len);
	memcpy(p + 8, h.data, h.len);
	for (size_t i = 0; i < n; i++) {
		memcpy(q, t[i].data, out_bytes(&t[i]));
		q += out_bytes(&t[i]);
	}
	buf_free(&h);
	*len = total;
	return p;
}

uint64_t st_data_hash(const st_out *t, size_t n)
{
	xxh64_state s;
	xxh64_init(&s, 0);
	for (size_t i = 0; i < n; i++)
		xxh64_update(&s, t[i].data, out_bytes(&t[i]));
	return xxh64_digest(&s);
}

uint64_t st_file_data_hash(const safetensors *f)
{
	return xxh64(f->data, f->data_len, 0);
}

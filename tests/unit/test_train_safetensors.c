/* test_train_safetensors.c - the safetensors reader on good, bad and
 * randomly mutated input; the writer; loading a Gemma 3 model with wrong
 * shapes and dtypes refused; the export of the fixture equals its tensors. */
#include "tap.h"

#include "cli.h"
#include "gemma3.h"
#include "safetensors.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A file from a literal header and n bytes of data. */
static unsigned char *make(const char *hdr, size_t ndata, size_t *len)
{
	size_t h = strlen(hdr);
	*len = 8 + h + ndata;
	unsigned char *p = xcalloc(*len, 1);
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)((uint64_t)h >> (8 * i));
	memcpy(p + 8, hdr, h);
	for (size_t i = 0; i < ndata; i++)
		p[8 + h + i] = (unsigned char)i;
	return p;
}

static int parses(const char *hdr, size_t ndata, char *err, size_t errlen)
{
	size_t len;
	unsigned char *p = make(hdr, ndata, &len);
	safetensors *f = st_parse(p, len, "t", err, errlen);
	int ok_ = f != NULL;
	st_close(f);
	free(p);
	return ok_;
}

static void refused(const char *hdr, size_t ndata, const char *want, const char *what)
{
	char err[512] = "";
	int r = parses(hdr, ndata, err, sizeof err);
	ok(!r && strstr(err, want), "refused: %s (%s)", what, err);
}

static uint64_t rng = 99;
static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)rng;
}

int main(void)
{
	cli_init("test_train_safetensors");
	char err[512];

	/* Good files, every dtype converted. */
	ok(parses("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, err, sizeof err),
	   "one tensor parses");
	ok(parses("{\"__metadata__\":{\"k\":\"v\"},\"e\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}}", 0,
		  err, sizeof err), "empty tensor and metadata parse");
	{
		float f32[2] = { 1.5f, -2.25f };
		double f64[1] = { 3.125 };
		uint16_t bf[2] = { 0x3FC0, 0xC010 }, h[2] = { 0x3E00, 0x0001 };
		int32_t i32[1] = { -7 };
		int64_t i64[1] = { 1LL << 40 };
		st_out t[] = {
			{ "f32", ST_F32, 1, { 2 }, f32 },
			{ "i32", ST_I32, 1, { 1 }, i32 },
		};
		size_t len;
		unsigned char *p = st_write_mem(t, 2, NULL, NULL, 0, &len, err, sizeof err);
		safetensors *f = st_parse(p, len, "w", err, sizeof err);
		ok(f && f->n == 2, "writer output parses");
		float back[2];
		st_to_f32(f, st_find(f, "f32"), back);
		ok(back[0] == 1.5f && back[1] == -2.25f, "F32 round trip");
		double d;
		st_to_f64(f, st_find(f, "i32"), &d);
		ok(d == -7, "I32 read");
		st_close(f);
		free(p);
		/* Hand-made data for the other dtypes. */
		unsigned char raw[8 + 4 + 4 + 8 + 256];
		char hdr[256];
		snprintf(hdr, sizeof hdr,
			 "{\"f64\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]},"
			 "\"bf\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[8,12]},"
			 "\"h\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[12,16]},"
			 "\"i64\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[16,24]}}");
		size_t hl = strlen(hdr);
		for (int i = 0; i < 8; i++)
			raw[i] = (unsigned char)((uint64_t)hl >> (8 * i));
		memcpy(raw + 8, hdr, hl);
		memcpy(raw + 8 + hl, f64, 8);
		memcpy(raw + 8 + hl + 8, bf, 4);
		memcpy(raw + 8 + hl + 12, h, 4);
		memcpy(raw + 8 + hl + 16, i64, 8);
		f = st_parse(raw, 8 + hl + 24, "raw", err, sizeof err);
		ok(f != NULL, "mixed dtypes parse: %s", f ? "" : err);
		if (f) {
			float x[2];
			st_to_f32(f, st_find(f, "f64"), x);
			ok(x[0] == 3.125f, "F64 read");
			st_to_f32(f, st_find(f, "bf"), x);
			ok(x[0] == 1.5f && x[1] == -2.25f, "BF16 read");
			st_to_f32(f, st_find(f, "h"), x);
			ok(x[0] == 1.5f && x[1] == ldexpf(1, -24), "F16 read (normal and subnormal)");
			st_to_f64(f, st_find(f, "i64"), &d);
			ok(d == (double)(1LL << 40), "I64 read");
			st_close(f);
		}
	}

	/* Bad files. */
	{
		unsigned char shortf[4] = { 0 };
		ok(!st_parse(shortf, 4, "s", err, sizeof err), "4-byte file refused");
		size_t len;
		unsigned char *p = make("{}", 0, &len);
		p[0] = 0xff; p[5] = 0x01; /* header length past the file */
		ok(!st_parse(p, len, "s", err, sizeof err) && strstr(err, "header length"),
		   "header length past the end refused (%s)", err);
		free(p);
	}
	refused("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4, "past the data",
		"offsets past the end (truncated file)");
	refused("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
		"\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, "overlap",
		"overlapping tensors");
	refused("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "hole", "hole");
	refused("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, "bytes for",
		"size not dtype x shape");
	refused("{\"a\":{\"dtype\":\"Q4\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "dtype", "unknown dtype");
	refused("{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8, "shape", "negative dim");
	refused("{\"a\":{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,8]}}", 8, "shape", "fractional dim");
	refused("{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4294967296],\"data_offsets\":[0,8]}}", 8,
		"large", "overflowing shape");
	refused("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8, "begin", "begin > end");
	refused("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
		"\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}", 16, "twice", "duplicate name");
	refused("{\"__metadata__\":{\"k\":1}}", 0, "not a string", "non-string metadata");
	refused("[1,2]", 0, "not a JSON object", "header not an object");
	refused("{\"a\":1}", 0, "not an object", "entry not an object");
	refused("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}", 8, "JSON", "broken JSON");
	refused("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 12, "after the last",
		"trailing bytes");

	/* Mutation fuzzing: random byte edits, insertions and deletions of a
	 * valid file must give either a clean parse or a clean refusal (under
	 * ASan/UBSan: no out-of-bounds read, no overflow). Every successful
	 * parse must have in-bounds tensors. */
	{
		float data[12] = { 0 };
		st_out t[] = {
			{ "model.embed_tokens.weight", ST_F32, 2, { 2, 3 }, data },
			{ "b", ST_F32, 1, { 4 }, data + 6 },
			{ "c", ST_I32, 1, { 2 }, data + 10 },
		};
		const char *mk[] = { "format" }, *mv[] = { "pt" };
		size_t len;
		unsigned char *base = st_write_mem(t, 3, mk, mv, 1, &len, err, sizeof err);
		long runs = 0, accepted = 0, bad = 0;
		for (int it = 0; it < 20000; it++) {
			size_t n = len;
			unsigned char *p = xmalloc(len + 64);
			memcpy(p, base, len);
			int edits = 1 + (int)(rnd() % 4);
			for (int e = 0; e < edits; e++) {
				uint32_t r = rnd(), pos = (uint32_t)(rnd() % (n ? n : 1));
				switch (r % 5) {
				case 0: p[pos] = (unsigned char)rnd(); break;
				case 1: p[pos] ^= (unsigned char)(1u << (rnd() % 8)); break;
				case 2: /* a digit or JSON punctuation */
					p[pos] = "0123456789[]{},:\"-e.9"[rnd() % 21];
					break;
				case 3: if (n > 1) { memmove(p + pos, p + pos + 1, n - pos - 1); n--; } break;
				case 4: if (n < len + 60) { memmove(p + pos + 1, p + pos, n - pos); p[pos] = (unsigned char)rnd(); n++; } break;
				}
			}
			if (rnd() % 8 == 0)
				n = rnd() % (n + 1); /* truncation */
			/* The parser must not read past n: copy to an exact-size buffer. */
			unsigned char *q = xmalloc(n ? n : 1);
			memcpy(q, p, n);
			safetensors *f = st_parse(q, n, "fuzz", err, sizeof err);
			runs++;
			if (f) {
				accepted++;
				for (size_t i = 0; i < f->n; i++)
					if (f->t[i].end > f->data_len || f->t[i].begin > f->t[i].end ||
					    f->t[i].end - f->t[i].begin != f->t[i].numel * st_dtype_size(f->t[i].dtype))
						bad++;
				for (size_t i = 0; i < f->n; i++) {
					double *x = xmalloc((f->t[i].numel ? f->t[i].numel : 1) * sizeof *x);
					st_to_f64(f, &f->t[i], x);
					free(x);
				}
				st_close(f);
			}
			free(q);
			free(p);
		}
		ok(bad == 0, "fuzz: %ld mutated files, %ld accepted, none out of bounds", runs, accepted);
		free(base);
	}

	/* Gemma 3 loading: the fixture's model with one tensor of the wrong
	 * shape or dtype is refused. */
	char fx[1024];
	snprintf(fx, sizeof fx, "%s/fixtures/gemma3_tiny", shared_dir());
	struct stat sb;
	if (stat(fx, &sb)) {
		printf("# %s absent: skipping the fixture tests\n", fx);
		return done_testing();
	}
	char cfgp[1200], modp[1200];
	snprintf(cfgp, sizeof cfgp, "%s/config.json", fx);
	snprintf(modp, sizeof modp, "%s/model.safetensors", fx);
	gemma3_config c;
	ok(gemma3_config_load(cfgp, 0, &c, err, sizeof err) == 0, "fixture config loads");
	size_t np = gemma3_num_params(&c);
	float *p = xmalloc(np * sizeof *p);
	ok(gemma3_load_safetensors(&c, fx, p, err, sizeof err) == 0, "fixture weights load");
	safetensors *orig = st_open(modp, err, sizeof err);
	ok(orig != NULL, "fixture opens");
	gemma3_param_info *pt;
	int nt = gemma3_param_table(&c, &pt, err, sizeof err);
	is_int(nt, (int)orig->n, "the table names every tensor of the fixture");
	int all = 1;
	for (int i = 0; i < nt; i++) {
		const st_tensor *t = st_find(orig, pt[i].name);
		all = all && t && t->numel == pt[i].numel &&
		      !memcmp(orig->data + t->begin, p + pt[i].offset, pt[i].numel * 4);
	}
	ok(all, "every parameter lands at its offset, bit for bit");

	char dir[] = "/tmp/test_train_st_XXXXXX";
	ok(mkdtemp(dir) != NULL, "temp dir");
	char path[256];
	snprintf(path, sizeof path, "%s/model.safetensors", dir);
	st_out *o = xcalloc(nt, sizeof *o);
	for (int i = 0; i < nt; i++) {
		o[i].name = pt[i].name;
		o[i].dtype = ST_F32;
		o[i].ndim = pt[i].ndim;
		o[i].shape[0] = pt[i].shape[0];
		o[i].shape[1] = pt[i].shape[1];
		o[i].data = p + pt[i].offset;
	}
	/* Wrong shape: k_proj transposed. */
	o[3].shape[0] = pt[3].shape[1];
	o[3].shape[1] = pt[3].shape[0];
	if (st_write(path, o, nt, NULL, NULL, 0, err, sizeof err))
		die("%s", err);
	ok(gemma3_load_safetensors(&c, path, p, err, sizeof err) && strstr(err, "shape"),
	   "wrong shape refused (%s)", err);
	o[3].shape[0] = pt[3].shape[0];
	o[3].shape[1] = pt[3].shape[1];
	/* Wrong dtype: a norm stored as I32. */
	o[1].dtype = ST_I32;
	if (st_write(path, o, nt, NULL, NULL, 0, err, sizeof err))
		die("%s", err);
	ok(gemma3_load_safetensors(&c, path, p, err, sizeof err) && strstr(err, "dtype"),
	   "integer dtype refused (%s)", err);
	o[1].dtype = ST_F32;
	/* A missing tensor. */
	if (st_write(path, o, nt - 1, NULL, NULL, 0, err, sizeof err))
		die("%s", err);
	ok(gemma3_load_safetensors(&c, path, p, err, sizeof err) && strstr(err, "missing"),
	   "missing tensor refused (%s)", err);
	/* Sharded: two files and an index.json. */
	char p1[300], p2[300], idx[300];
	snprintf(p1, sizeof p1, "%s/model-00001-of-00002.safetensors", dir);
	snprintf(p2, sizeof p2, "%s/model-00002-of-00002.safetensors", dir);
	snprintf(idx, sizeof idx, "%s/model.safetensors.index.json", dir);
	int half = nt / 2;
	if (st_write(p1, o, half, NULL, NULL, 0, err, sizeof err))
		die("%s", err);
	if (st_write(p2, o + half, nt - half, NULL, NULL, 0, err, sizeof err))
		die("%s", err);
	FILE *fi = fopen(idx, "w");
	fprintf(fi, "{\"metadata\":{},\"weight_map\":{");
	for (int i = 0; i < nt; i++)
		fprintf(fi, "%s\"%s\":\"model-0000%d-of-00002.safetensors\"", i ? "," : "", pt[i].name,
			i < half ? 1 : 2);
	fprintf(fi, "}}");
	fclose(fi);
	unlink(path);
	float *p2v = xmalloc(np * sizeof *p2v);
	err[0] = 0;
	ok(gemma3_load_safetensors(&c, dir, p2v, err, sizeof err) == 0, "sharded checkpoint loads: %s", err);
	ok(!memcmp(p, p2v, np * 4), "sharded = single file");
	/* An index naming a file that lacks the tensor. */
	fi = fopen(idx, "w");
	fprintf(fi, "{\"weight_map\":{\"%s\":\"model-00002-of-00002.safetensors\"}}", pt[0].name);
	fclose(fi);
	ok(gemma3_load_safetensors(&c, dir, p2v, err, sizeof err) && strstr(err, "not in"),
	   "index pointing to the wrong shard refused (%s)", err);
	fi = fopen(idx, "w");
	fprintf(fi, "{\"weight_map\":{\"x\":\"../etc/passwd\"}}");
	fclose(fi);
	ok(gemma3_load_safetensors(&c, dir, p2v, err, sizeof err) && strstr(err, "file name"),
	   "index with a path outside the directory refused (%s)", err);
	unlink(p1);
	unlink(p2);
	unlink(idx);

	/* bonsai-train export of the fixture: every tensor equal to the original. */
	char cmd[3000];
	snprintf(cmd, sizeof cmd, "bin/bonsai-train export '%s' -o '%s/exp'", fx, dir);
	if (access("bin/bonsai-train", X_OK) == 0 && system(cmd) == 0) {
		snprintf(path, sizeof path, "%s/exp/model.safetensors", dir);
		safetensors *ex = st_open(path, err, sizeof err);
		int same = ex && ex->n == orig->n;
		for (size_t i = 0; same && i < orig->n; i++) {
			const st_tensor *a = &orig->t[i], *b = st_find(ex, a->name);
			same = b && b->dtype == a->dtype && b->ndim == a->ndim &&
			       !memcmp(b->shape, a->shape, sizeof a->shape[0] * a->ndim) &&
			       b->end - b->begin == a->end - a->begin &&
			       !memcmp(ex->data + b->begin, orig->data + a->begin, a->end - a->begin);
		}
		ok(same, "export of the fixture: same names, shapes, dtypes and bytes as the original");
		st_close(ex);
		unlink(path);
		snprintf(path, sizeof path, "%s/exp/config.json", dir);
		gemma3_config c2;
		ok(gemma3_config_load(path, 0, &c2, err, sizeof err) == 0 && !memcmp(&c, &c2, sizeof c),
		   "exported config.json reads back as the same config");
		unlink(path);
		snprintf(path, sizeof path, "%s/exp", dir);
		rmdir(path);
	} else {
		ok(1, "# SKIP bin/bonsai-train not built");
		ok(1, "# SKIP bin/bonsai-train not built");
	}
	rmdir(dir);

	free(p2v);
	free(o);
	free(pt);
	free(p);
	st_close(orig);
	return done_testing();
}

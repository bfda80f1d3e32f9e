/* gemma3_model.c - loading Gemma 3 parameters: Hugging Face safetensors
 * (single or sharded), bonsai-train checkpoints (read by
 * gemma3_checkpoint.c) and run directories. */
#include "gemma3.h"
#include "gemma3_checkpoint.h"
#include "cli.h"
#include "xio.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct gemma3_model {
	gemma3_config c;
	float *params;
	size_t n;
};

/* The names a parameter may have: plain Gemma3ForCausalLM, or the language
 * model inside Gemma3ForConditionalGeneration (transformers 4 and 5). */
static const st_tensor *find_param(const st_set *s, const char *name, const safetensors **f)
{
	char alt[160];
	const st_tensor *t = st_set_find(s, name, f);
	if (t)
		return t;
	const char *rest = name + strlen("model.");
	snprintf(alt, sizeof alt, "model.language_model.%s", rest);
	if ((t = st_set_find(s, alt, f)))
		return t;
	snprintf(alt, sizeof alt, "language_model.%s", name);
	if ((t = st_set_find(s, alt, f)))
		return t;
	return st_set_find(s, rest, f);
}

int gemma3_load_safetensors(const gemma3_config *c, const char *path, float *params, char *err,
			    size_t errlen)
{
	st_set *s = st_set_open(path, err, errlen);
	if (!s)
		return -1;
	gemma3_param_info *pt;
	int n = gemma3_param_table(c, &pt, err, errlen), rc = -1;
	if (n < 0) {
		st_set_close(s);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		const safetensors *f = NULL;
		const st_tensor *t = find_param(s, pt[i].name, &f);
		char e2[512];
		if (!t) {
			errf(err, errlen, "%s: tensor '%s' is missing", path, pt[i].name);
			goto out;
		}
		if (t->dtype != ST_F32 && t->dtype != ST_F64 && t->dtype != ST_BF16 && t->dtype != ST_F16) {
			errf(err, errlen, "%s: tensor '%s' has dtype %s, not a float type", f->path,
			     t->name, st_dtype_name(t->dtype));
			goto out;
		}
		if (st_check_shape(t, pt[i].ndim, pt[i].shape, e2, sizeof e2)) {
			errf(err, errlen, "%s: %s", f->path, e2);
			goto out;
		}
		st_to_f32(f, t, params + pt[i].offset);
	}
	rc = 0;
out:
	free(pt);
	st_set_close(s);
	return rc;
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

/* A model of config c with room for its parameters; NULL with a message
 * naming what (path) when out of memory. */
static gemma3_model *model_alloc(const gemma3_config *c, const char *what, char *err, size_t errlen)
{
	gemma3_model *m = calloc(1, sizeof *m);
	size_t n = gemma3_num_params(c);
	if (m)
		m->params = malloc(n * sizeof(float));
	if (!m || !m->params) {
		free(m);
		errf(err, errlen, "%s: out of memory for %zu parameters (%zu MB)", what, n,
		     n * sizeof(float) >> 20);
		return NULL;
	}
	m->c = *c;
	m->n = n;
	return m;
}

static gemma3_model *open_checkpoint(const char *path, char *err, size_t errlen)
{
	gemma3_config c;
	safetensors *f = gemma3_checkpoint_open(path, &c, err, errlen);
	if (!f)
		return NULL;
	gemma3_model *m = model_alloc(&c, path, err, errlen);
	if (m)
		st_to_f32(f, st_find(f, "params"), m->params);
	st_close(f);
	return m;
}

/* config.json next to the weights, then the weights. */
static gemma3_model *open_hf(const char *dir, const char *weights, char *err, size_t errlen)
{
	char *cfg = path_join(dir, "config.json");
	gemma3_model *m = NULL;
	gemma3_config c;
	if (!cfg)
		errf(err, errlen, "%s: out of memory", dir);
	else if (!exists(cfg))
		errf(err, errlen, "%s: no config.json next to the weights", dir);
	else if (!gemma3_config_load(cfg, 0, &c, err, errlen) &&
		 (m = model_alloc(&c, weights, err, errlen)) &&
		 gemma3_load_safetensors(&m->c, weights, m->params, err, errlen)) {
		gemma3_model_free(m);
		m = NULL;
	}
	free(cfg);
	return m;
}

gemma3_model *gemma3_model_open(const char *path, char *err, size_t errlen)
{
	if (is_dir(path)) {
		/* A run directory (it has a config.json too) or a model directory. */
		char *ck;
		if (gemma3_latest_checkpoint(path, &ck, err, errlen))
			return NULL;
		if (ck) {
			gemma3_model *m = open_checkpoint(ck, err, errlen);
			free(ck);
			return m;
		}
		char *cfg = path_join(path, "config.json");
		if (!cfg) {
			errf(err, errlen, "%s: out of memory", path);
			return NULL;
		}
		int hf = exists(cfg);
		free(cfg);
		if (!hf) {
			errf(err, errlen,
			     "%s: neither a model directory (config.json) nor a run directory with "
			     "checkpoints",
			     path);
			return NULL;
		}
		return open_hf(path, path, err, errlen);
	}
	size_t plen = strlen(path);
	int ck = 0;
	if (!(plen > 5 && !strcmp(path + plen - 5, ".json"))) {
		safetensors *f = st_open(path, err, errlen);
		if (!f)
			return NULL;
		ck = gemma3_is_checkpoint(f);
		st_close(f);
	}
	if (ck)
		return open_checkpoint(path, err, errlen);
	/* A Hugging Face weights file (or index): config.json in its directory. */
	char *dir = strdup(path);
	if (!dir) {
		errf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = 0;
	else
		strcpy(dir, ".");
	gemma3_model *m = open_hf(dir, path, err, errlen);
	free(dir);
	return m;
}

gemma3_model *gemma3_model_new(const gemma3_config *c, const float *params, char *err,
			       size_t errlen)
{
	gemma3_model *m = model_alloc(c, "model", err, errlen);
	if (!m)
		return NULL;
	if (params)
		memcpy(m->params, params, m->n * sizeof(float));
	else
		memset(m->params, 0, m->n * sizeof(float));
	return m;
}

const gemma3_config *gemma3_model_config(const gemma3_model *m) { return &m->c; }
float *gemma3_model_params(gemma3_model *m) { return m->params; }

void gemma3_model_free(gemma3_model *m)
{
	if (!m)
		return;
	free(m->params);
	free(m);
}

/* Round to nearest, ties to even; a NaN stays a (quiet) NaN rather than
 * rounding into an infinity. */
uint16_t gemma3_f32_to_bf16(float f)
{
	uint32_t u;
	memcpy(&u, &f, 4);
	if ((u & 0x7fffffffu) > 0x7f800000u)
		return (uint16_t)((u >> 16) | 0x40);
	u += 0x7fffu + ((u >> 16) & 1);
	return (uint16_t)(u >> 16);
}

/* config.json for c at path, naming the weights' dtype. */
static int write_config(const char *path, const gemma3_config *c, int bf16, char *err,
			size_t errlen)
{
	char *text = gemma3_config_to_json(c, bf16, err, errlen);
	int rc = text ? write_file_err(path, text, strlen(text), err, errlen) : -1;
	free(text);
	return rc;
}

int gemma3_save_dir(const char *dir, const gemma3_config *c, const float *params,
		    const char *train_state, int bf16, char *err, size_t errlen)
{
	int made = !exists(dir), rc = -1;
	if (mkdir_p_err(dir, err, errlen))
		return -1;
	/* Everything that can run out of memory first, then the two files
	 * (config.json's text is made as it is written, before the weights). */
	gemma3_param_info *pt = NULL;
	st_out *t = NULL;
	uint16_t *half = NULL;
	size_t np = gemma3_num_params(c);
	char *wpath = path_join(dir, "model.safetensors"), *cpath = path_join(dir, "config.json");
	int n = wpath && cpath ? gemma3_param_table(c, &pt, err, errlen) : -1;
	if (!wpath || !cpath) {
		errf(err, errlen, "%s: out of memory", dir);
		goto out;
	}
	if (n < 0)
		goto out;
	t = calloc((size_t)n, sizeof *t);
	if (t && bf16 && (half = malloc(np * sizeof *half)))
		for (size_t i = 0; i < np; i++)
			half[i] = gemma3_f32_to_bf16(params[i]);
	if (!t || (bf16 && !half)) {
		errf(err, errlen, "%s: out of memory for the tensors of %zu parameters", dir, np);
		goto out;
	}
	for (int i = 0; i < n; i++) {
		t[i].name = pt[i].name;
		t[i].dtype = bf16 ? ST_BF16 : ST_F32;
		t[i].ndim = pt[i].ndim;
		t[i].shape[0] = pt[i].shape[0];
		t[i].shape[1] = pt[i].shape[1];
		t[i].data = bf16 ? (const void *)(half + pt[i].offset) : (const void *)(params + pt[i].offset);
	}
	if (write_config(cpath, c, bf16, err, errlen))
		goto out;
	const char *k[] = { "format", "state" }, *v[] = { "pt", train_state };
	if (st_write(wpath, t, (size_t)n, k, v, train_state ? 2 : 1, err, errlen)) {
		unlink(cpath); /* no config without its weights */
		goto out;
	}
	rc = 0;
out:
	if (rc && made)
		rmdir(dir); /* only when empty */
	free(half);
	free(t);
	free(pt);
	free(cpath);
	free(wpath);
	return rc;
}

int gemma3_write_config(const char *dir, const gemma3_config *c, char *err, size_t errlen)
{
	char *path = path_join(dir, "config.json");
	int rc = path ? write_config(path, c, 0, err, errlen)
		      : errf(err, errlen, "%s: out of memory", dir);
	free(path);
	return rc;
}

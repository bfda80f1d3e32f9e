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
	int n = gemma3_param_table(c, &pt), rc = -1;
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

static gemma3_model *open_checkpoint(const char *path, char *err, size_t errlen)
{
	gemma3_model *m = xcalloc(1, sizeof *m);
	safetensors *f = gemma3_checkpoint_open(path, &m->c, err, errlen);
	if (!f) {
		free(m);
		return NULL;
	}
	m->n = gemma3_num_params(&m->c);
	m->params = xmalloc(m->n * sizeof(float));
	st_to_f32(f, st_find(f, "params"), m->params);
	st_close(f);
	return m;
}

/* config.json next to the weights, then the weights. */
static gemma3_model *open_hf(const char *dir, const char *weights, char *err, size_t errlen)
{
	char *cfg = xpath_join(dir, "config.json");
	gemma3_model *m = NULL;
	if (!exists(cfg)) {
		errf(err, errlen, "%s: no config.json next to the weights", dir);
		goto out;
	}
	m = xcalloc(1, sizeof *m);
	if (gemma3_config_load(cfg, 0, &m->c, err, errlen))
		goto fail;
	m->n = gemma3_num_params(&m->c);
	m->params = xmalloc(m->n * sizeof(float));
	if (gemma3_load_safetensors(&m->c, weights, m->params, err, errlen))
		goto fail;
	goto out;
fail:
	gemma3_model_free(m);
	m = NULL;
out:
	free(cfg);
	return m;
}

gemma3_model *gemma3_model_open(const char *path, char *err, size_t errlen)
{
	if (is_dir(path)) {
		/* A run directory (it has a config.json too) or a model directory. */
		char *ck = gemma3_latest_checkpoint(path);
		if (ck) {
			gemma3_model *m = open_checkpoint(ck, err, errlen);
			free(ck);
			return m;
		}
		char *cfg = xpath_join(path, "config.json");
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
	char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = 0;
	else
		strcpy(dir, ".");
	gemma3_model *m = open_hf(dir, path, err, errlen);
	free(dir);
	return m;
}

gemma3_model *gemma3_model_new(const gemma3_config *c, const float *params)
{
	gemma3_model *m = xcalloc(1, sizeof *m);
	m->c = *c;
	m->n = gemma3_num_params(c);
	m->params = xmalloc(m->n * sizeof(float));
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

static void write_config(const char *dir, const gemma3_config *c, int bf16)
{
	char *path = xpath_join(dir, "config.json");
	char *cfg = gemma3_config_to_json(c);
	/* the weights' dtype, which transformers loads them in by default */
	char *dt = bf16 ? strstr(cfg, "\"dtype\": \"float32\"") : NULL;
	outfile *o = outfile_open(path);
	if (dt) {
		outfile_write(o, cfg, (size_t)(dt - cfg));
		outfile_write(o, "\"dtype\": \"bfloat16\"", 19);
		dt += strlen("\"dtype\": \"float32\"");
		outfile_write(o, dt, strlen(dt));
	} else {
		outfile_write(o, cfg, strlen(cfg));
	}
	outfile_commit(o);
	free(cfg);
	free(path);
}

void gemma3_save_dir(const char *dir, const gemma3_config *c, const float *params,
		     const char *train_state, int bf16)
{
	mkdir_p(dir);
	gemma3_param_info *pt;
	int n = gemma3_param_table(c, &pt);
	st_out *t = xcalloc((size_t)n, sizeof *t);
	uint16_t *half = NULL;
	if (bf16) {
		size_t np = gemma3_num_params(c);
		half = xmalloc(np * sizeof *half);
		for (size_t i = 0; i < np; i++)
			half[i] = gemma3_f32_to_bf16(params[i]);
	}
	for (int i = 0; i < n; i++) {
		t[i].name = pt[i].name;
		t[i].dtype = bf16 ? ST_BF16 : ST_F32;
		t[i].ndim = pt[i].ndim;
		t[i].shape[0] = pt[i].shape[0];
		t[i].shape[1] = pt[i].shape[1];
		t[i].data = bf16 ? (const void *)(half + pt[i].offset) : (const void *)(params + pt[i].offset);
	}
	char *path = xpath_join(dir, "model.safetensors");
	const char *k[] = { "format", "state" }, *v[] = { "pt", train_state };
	char err[600];
	/* dies until the model library returns errors */
	if (st_write(path, t, (size_t)n, k, v, train_state ? 2 : 1, err, sizeof err))
		die("%s", err);
	free(path);
	write_config(dir, c, bf16);
	free(half);
	free(t);
	free(pt);
}

void gemma3_write_config(const char *dir, const gemma3_config *c)
{
	write_config(dir, c, 0);
}

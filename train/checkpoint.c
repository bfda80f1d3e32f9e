/* checkpoint.c - see checkpoint.h. */
#include "checkpoint.h"
#include "buf.h"
#include "cli.h"
#include "json.h"
#include "xio.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *state_json(const train_state *s)
{
	buf_t b = { 0 };
	buf_printf(&b,
		   "{\"step\":%ld,\"tokens\":%" PRIu64 ",\"seed\":%" PRIu64 ",\"epoch\":%" PRIu64
		   ",\"index\":%" PRIu64 ",\"fingerprint\":\"%016" PRIx64 "\",\"seq\":%d,"
		   "\"micro_batch\":%d,\"batch_tokens\":%ld}",
		   s->step, s->tokens, s->seed, s->epoch, s->index, s->fingerprint, s->seq,
		   s->micro_batch, s->batch_tokens);
	/* hparams goes in as a JSON string: append it before the closing brace. */
	b.len--;
	buf_puts(&b, ",\"hparams\":");
	json_write_string(&b, s->hparams, strlen(s->hparams));
	buf_puts(&b, "}");
	char *r = xstrdup(buf_cstr(&b));
	buf_free(&b);
	return r;
}

/* Removes all but the newest keep checkpoints of a run. */
static void prune(const char *run, int keep)
{
	gemma3_ckpt *l;
	size_t n = gemma3_list_checkpoints(run, &l);
	for (size_t i = 0; i + (size_t)keep < n; i++) {
		char *p = path_join(run, l[i].name);
		if (unlink(p) && errno != ENOENT)
			warnx_("%s: cannot remove: %s", p, strerror(errno));
		free(p);
	}
	gemma3_free_checkpoints(l, n);
}

char *ckpt_save(const char *run, const gemma3_config *c, const float *params, const float *m,
		const float *v, const train_state *s, int keep)
{
	int64_t n = (int64_t)gemma3_num_params(c);
	st_out t[3] = {
		{ "params", ST_F32, 1, { n }, params },
		{ "adam_m", ST_F32, 1, { n }, m },
		{ "adam_v", ST_F32, 1, { n }, v },
	};
	char sum[32];
	snprintf(sum, sizeof sum, "%016" PRIx64, st_data_hash(t, 3));
	char *cfg = gemma3_config_to_json(c), *st = state_json(s);
	const char *keys[] = { "format", "config", "state", "checksum" };
	const char *vals[] = { GEMMA3_CKPT_FORMAT, cfg, st, sum };
	char *name = gemma3_checkpoint_name(s->step);
	char *path = path_join(run, name);
	free(name);
	st_write(path, t, 3, keys, vals, 4);
	free(cfg);
	free(st);
	if (keep > 0)
		prune(run, keep);
	return path;
}

static uint64_t get_u64(const json_value *o, const char *key, const char *path)
{
	const json_value *v = json_get(o, key);
	if (!v || v->type != JSON_NUMBER || v->number < 0 || v->number > 9007199254740992.0)
		die("%s: checkpoint state has no valid '%s'", path, key);
	return (uint64_t)v->number;
}

void ckpt_load(const char *path, gemma3_config *c, float **params, float **m, float **v,
	       train_state *s)
{
	char err[1024];
	safetensors *f = gemma3_checkpoint_open(path, c, err, sizeof err);
	if (!f)
		die("%s", err);
	int64_t n = (int64_t)gemma3_num_params(c);
	const char *names[3] = { "params", "adam_m", "adam_v" };
	float **outs[3] = { params, m, v };
	for (int i = 0; i < 3; i++) {
		const st_tensor *t = st_find(f, names[i]);
		if (!t || t->dtype != ST_F32 || st_check_shape(t, 1, &n, err, sizeof err))
			die("%s: no float32 '%s' tensor of %lld values", path, names[i], (long long)n);
		*outs[i] = xmalloc((size_t)n * sizeof(float));
		st_to_f32(f, t, *outs[i]);
	}
	const char *st = st_meta(f, "state");
	if (!st)
		die("%s: no training state in the checkpoint", path);
	json_doc *doc = json_parse(st, strlen(st), err, sizeof err);
	if (!doc)
		die("%s: training state: %s", path, err);
	const json_value *o = json_root(doc);
	if (o->type != JSON_OBJECT)
		die("%s: training state is not an object", path);
	s->step = (long)get_u64(o, "step", path);
	s->tokens = get_u64(o, "tokens", path);
	s->seed = get_u64(o, "seed", path);
	s->epoch = get_u64(o, "epoch", path);
	s->index = get_u64(o, "index", path);
	s->seq = (int)get_u64(o, "seq", path);
	s->micro_batch = (int)get_u64(o, "micro_batch", path);
	s->batch_tokens = (long)get_u64(o, "batch_tokens", path);
	const char *hp = json_get_str(o, "hparams");
	snprintf(s->hparams, sizeof s->hparams, "%s", hp ? hp : "");
	const char *fp = json_get_str(o, "fingerprint");
	if (!fp || sscanf(fp, "%" SCNx64, &s->fingerprint) != 1)
		die("%s: checkpoint state has no valid 'fingerprint'", path);
	json_free(doc);
	st_close(f);
}

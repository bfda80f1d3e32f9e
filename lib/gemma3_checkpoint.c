/* gemma3_checkpoint.c - bonsai-train checkpoints: writing, reading and
 * checking them, and finding them in a run directory. See
 * gemma3_checkpoint.h; the format is in bonsai-formats(5). */
#include "gemma3_checkpoint.h"
#include "buf.h"
#include "cli.h"
#include "hash.h"
#include "json.h"
#include "xio.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Before the header checksum: read, with a warning. */
#define CKPT_FORMAT_UNCHECKED "bonsai-checkpoint-1"

static const char *const tensor_names[3] = { "params", "adam_m", "adam_v" };

static char *state_json(const gemma3_train_state *s, char *err, size_t errlen)
{
	buf_t b = BUF_CHECKED;
	buf_printf(&b,
		   "{\"step\":%ld,\"tokens\":%" PRIu64 ",\"seed\":%" PRIu64 ",\"epoch\":%" PRIu64
		   ",\"index\":%" PRIu64 ",\"fingerprint\":\"%016" PRIx64 "\",\"seq\":%d,"
		   "\"micro_batch\":%d,\"batch_tokens\":%ld,\"hparams\":",
		   s->step, s->tokens, s->seed, s->epoch, s->index, s->fingerprint, s->seq,
		   s->micro_batch, s->batch_tokens);
	json_write_string(&b, s->hparams, strlen(s->hparams));
	buf_puts(&b, "}");
	char *text = buf_take(&b, NULL);
	if (!text)
		errf(err, errlen, "out of memory for a checkpoint's training state");
	return text;
}

/* What the header checksum covers: every metadata value the readers use
 * and where each tensor lies, so that a changed config value (a RoPE base,
 * an eps), a changed training position or two swapped tensor offsets are
 * all refused. */
typedef struct {
	const char *format, *config, *state, *checksum;
	struct { const char *name; int dtype; int ndim; const int64_t *shape; uint64_t begin, end; } t[3];
} header_fields;

/* The hash in *out; -1 with a message when out of memory. */
static int header_hash(const header_fields *h, uint64_t *out, char *err, size_t errlen)
{
	buf_t b = BUF_CHECKED;
	buf_printf(&b, "format=%s\nconfig=%s\nstate=%s\nchecksum=%s\n", h->format, h->config, h->state,
		   h->checksum);
	for (int i = 0; i < 3; i++) {
		buf_printf(&b, "tensor=%s dtype=%d shape=", h->t[i].name, h->t[i].dtype);
		for (int d = 0; d < h->t[i].ndim; d++)
			buf_printf(&b, "%s%" PRId64, d ? "," : "", h->t[i].shape[d]);
		buf_printf(&b, " offsets=%" PRIu64 ",%" PRIu64 "\n", h->t[i].begin, h->t[i].end);
	}
	int failed = b.failed;
	if (!failed)
		*out = xxh64(b.data, b.len, 0);
	buf_free(&b);
	return failed ? errf(err, errlen, "out of memory for a checkpoint's header") : 0;
}

/* Removes all but the newest keep checkpoints of a run (what cannot be
 * removed is warned about); -1 with a message when out of memory. */
static int prune(const char *run, int keep, char *err, size_t errlen)
{
	gemma3_ckpt *l;
	long n = gemma3_list_checkpoints(run, &l, err, errlen);
	int rc = n < 0 ? -1 : 0;
	for (long i = 0; i + keep < n; i++) {
		char *p = path_join(run, l[i].name);
		if (!p) {
			rc = errf(err, errlen, "%s: out of memory", run);
			break;
		}
		if (unlink(p) && errno != ENOENT)
			warnx_("%s: cannot remove: %s", p, strerror(errno));
		free(p);
	}
	gemma3_free_checkpoints(l, n < 0 ? 0 : (size_t)n);
	return rc;
}

char *gemma3_checkpoint_save(const char *run, const gemma3_config *c, const float *params,
			     const float *m, const float *v, const gemma3_train_state *s, int keep,
			     char *err, size_t errlen)
{
	int64_t n = (int64_t)gemma3_num_params(c);
	const float *data[3] = { params, m, v };
	st_out t[3];
	header_fields h = { 0 };
	for (int i = 0; i < 3; i++) {
		t[i] = (st_out){ tensor_names[i], ST_F32, 1, { n }, data[i] };
		/* st_write lays the tensors out in this order, unpadded */
		h.t[i].name = tensor_names[i];
		h.t[i].dtype = ST_F32;
		h.t[i].ndim = 1;
		h.t[i].shape = t[i].shape;
		h.t[i].begin = (uint64_t)i * (uint64_t)n * sizeof(float);
		h.t[i].end = h.t[i].begin + (uint64_t)n * sizeof(float);
	}
	char sum[32], hsum[32];
	snprintf(sum, sizeof sum, "%016" PRIx64, st_data_hash(t, 3));
	char *cfg = gemma3_config_to_json(c, 0, err, errlen);
	char *st = cfg ? state_json(s, err, errlen) : NULL;
	char *name = st ? gemma3_checkpoint_name(s->step, err, errlen) : NULL;
	char *path = name ? path_join(run, name) : NULL;
	uint64_t hh;
	h.format = GEMMA3_CKPT_FORMAT;
	h.config = cfg;
	h.state = st;
	h.checksum = sum;
	if (name && !path)
		errf(err, errlen, "%s: out of memory", run);
	if (!path || header_hash(&h, &hh, err, errlen))
		goto fail;
	snprintf(hsum, sizeof hsum, "%016" PRIx64, hh);
	const char *keys[] = { "format", "config", "state", "checksum", "header_checksum" };
	const char *vals[] = { GEMMA3_CKPT_FORMAT, cfg, st, sum, hsum };
	if (st_write(path, t, 3, keys, vals, 5, err, errlen))
		goto fail;
	if (keep > 0 && prune(run, keep, err, errlen))
		goto fail;
	goto out;
fail:
	free(path);
	path = NULL;
out:
	free(name);
	free(cfg);
	free(st);
	return path;
}

int gemma3_is_checkpoint(const safetensors *f)
{
	const char *fmt = st_meta(f, "format");
	return fmt && !strncmp(fmt, "bonsai-checkpoint", 17);
}

/* Format and header checksum: before any metadata value is trusted. */
static int check_header(const safetensors *f, char *err, size_t errlen)
{
	const char *fmt = st_meta(f, "format");
	if (fmt && !strcmp(fmt, CKPT_FORMAT_UNCHECKED)) {
		warnx_("%s: a checkpoint of an older bonsai-train (%s), without a header checksum: its config "
		       "and training state cannot be checked",
		       f->path, fmt);
		return 0;
	}
	if (!fmt || strcmp(fmt, GEMMA3_CKPT_FORMAT))
		return errf(err, errlen, "%s: not a bonsai checkpoint (format '%s', want '%s')", f->path,
			    fmt ? fmt : "(none)", GEMMA3_CKPT_FORMAT);
	header_fields h = { fmt, st_meta(f, "config"), st_meta(f, "state"), st_meta(f, "checksum"), { { 0 } } };
	const char *stored = st_meta(f, "header_checksum");
	if (!h.config || !h.state || !h.checksum || !stored)
		return errf(err, errlen, "%s: damaged checkpoint header (no %s)", f->path,
			    !h.config ? "config" : !h.state ? "training state" : !h.checksum ? "checksum"
											 : "header_checksum");
	for (int i = 0; i < 3; i++) {
		const st_tensor *t = st_find(f, tensor_names[i]);
		if (!t)
			return errf(err, errlen, "%s: damaged checkpoint header (no '%s' tensor)", f->path,
				    tensor_names[i]);
		h.t[i].name = tensor_names[i];
		h.t[i].dtype = (int)t->dtype;
		h.t[i].ndim = t->ndim;
		h.t[i].shape = t->shape;
		h.t[i].begin = t->begin;
		h.t[i].end = t->end;
	}
	char want[32];
	uint64_t hh;
	if (header_hash(&h, &hh, err, errlen))
		return -1;
	snprintf(want, sizeof want, "%016" PRIx64, hh);
	if (strcmp(stored, want))
		return errf(err, errlen,
			    "%s: header checksum mismatch (stored %s, computed %s): the checkpoint's config, "
			    "state or tensor table is damaged",
			    f->path, stored, want);
	return 0;
}

safetensors *gemma3_checkpoint_open(const char *path, gemma3_config *c, char *err, size_t errlen)
{
	safetensors *f = st_open(path, err, errlen);
	if (!f)
		return NULL;
	if (check_header(f, err, errlen))
		goto fail;
	const char *cfg = st_meta(f, "config"), *sum = st_meta(f, "checksum");
	char want[32];
	snprintf(want, sizeof want, "%016" PRIx64, st_file_data_hash(f));
	if (!sum || strcmp(sum, want)) {
		errf(err, errlen, "%s: checksum mismatch (stored %s, computed %s): the checkpoint is corrupted",
		     path, sum ? sum : "(none)", want);
		goto fail;
	}
	if (!cfg) {
		errf(err, errlen, "%s: no config in the checkpoint", path);
		goto fail;
	}
	char e2[512];
	if (gemma3_config_parse(cfg, strlen(cfg), path, c, e2, sizeof e2)) {
		errf(err, errlen, "%s", e2);
		goto fail;
	}
	const st_tensor *t = st_find(f, "params");
	int64_t n = (int64_t)gemma3_num_params(c);
	if (!t || t->dtype != ST_F32 || st_check_shape(t, 1, &n, e2, sizeof e2)) {
		errf(err, errlen, "%s: no float32 params tensor of %lld values", path, (long long)n);
		goto fail;
	}
	return f;
fail:
	st_close(f);
	return NULL;
}

static int get_u64(const json_value *o, const char *key, uint64_t *out, const char *path, char *err,
		   size_t errlen)
{
	int64_t x;
	if (json_int(json_get(o, key), 0, (int64_t)1 << 53, &x)) {
		errf(err, errlen, "%s: checkpoint state has no valid '%s'", path, key);
		return -1; /* a literal: the compiler then knows *out is set on 0 */
	}
	*out = (uint64_t)x;
	return 0;
}

/* The state without the header check: for gemma3_checkpoint_open()ed
 * files and gemma3_checkpoint_state(). */
int gemma3_state_parse(const safetensors *f, gemma3_train_state *s, char *err, size_t errlen)
{
	const char *st = st_meta(f, "state");
	if (!st)
		return errf(err, errlen, "%s: no training state in the checkpoint", f->path);
	char e2[512];
	json_doc *doc = json_parse(st, strlen(st), e2, sizeof e2);
	if (!doc)
		return errf(err, errlen, "%s: training state: %s", f->path, e2);
	const json_value *o = json_root(doc);
	int rc = -1;
	uint64_t step, seq, mb, bt;
	if (o->type != JSON_OBJECT) {
		errf(err, errlen, "%s: training state is not an object", f->path);
		goto out;
	}
	if (get_u64(o, "step", &step, f->path, err, errlen) || get_u64(o, "tokens", &s->tokens, f->path, err, errlen) ||
	    get_u64(o, "seed", &s->seed, f->path, err, errlen) || get_u64(o, "epoch", &s->epoch, f->path, err, errlen) ||
	    get_u64(o, "index", &s->index, f->path, err, errlen) || get_u64(o, "seq", &seq, f->path, err, errlen) ||
	    get_u64(o, "micro_batch", &mb, f->path, err, errlen) ||
	    get_u64(o, "batch_tokens", &bt, f->path, err, errlen))
		goto out;
	if (step > LONG_MAX || seq > INT_MAX || mb > INT_MAX || bt > LONG_MAX) {
		errf(err, errlen, "%s: checkpoint state has an out-of-range count", f->path);
		goto out;
	}
	s->step = (long)step;
	s->seq = (int)seq;
	s->micro_batch = (int)mb;
	s->batch_tokens = (long)bt;
	const char *hp = json_get_str(o, "hparams");
	snprintf(s->hparams, sizeof s->hparams, "%s", hp ? hp : "");
	const char *fp = json_get_str(o, "fingerprint");
	if (!fp || sscanf(fp, "%" SCNx64, &s->fingerprint) != 1) {
		errf(err, errlen, "%s: checkpoint state has no valid 'fingerprint'", f->path);
		goto out;
	}
	rc = 0;
out:
	json_free(doc);
	return rc;
}

int gemma3_checkpoint_state(const safetensors *f, gemma3_train_state *s, char *err, size_t errlen)
{
	if (check_header(f, err, errlen))
		return -1;
	return gemma3_state_parse(f, s, err, errlen);
}

int gemma3_checkpoint_load(const char *path, gemma3_config *c, float **params, float **m, float **v,
			   gemma3_train_state *s, char *err, size_t errlen)
{
	safetensors *f = gemma3_checkpoint_open(path, c, err, errlen);
	if (!f)
		return -1;
	int64_t n = (int64_t)gemma3_num_params(c);
	float **outs[3] = { params, m, v };
	char e2[512];
	for (int i = 0; i < 3; i++)
		*outs[i] = NULL;
	for (int i = 0; i < 3; i++) {
		const st_tensor *t = st_find(f, tensor_names[i]);
		if (!t || t->dtype != ST_F32 || st_check_shape(t, 1, &n, e2, sizeof e2)) {
			errf(err, errlen, "%s: no float32 '%s' tensor of %lld values", path, tensor_names[i],
			     (long long)n);
			goto fail;
		}
		if (!(*outs[i] = malloc((size_t)n * sizeof(float)))) {
			errf(err, errlen, "%s: out of memory for the '%s' tensor (%lld values)", path,
			     tensor_names[i], (long long)n);
			goto fail;
		}
		st_to_f32(f, t, *outs[i]);
	}
	if (gemma3_state_parse(f, s, err, errlen))
		goto fail;
	st_close(f);
	return 0;
fail:
	for (int i = 0; i < 3; i++) {
		free(*outs[i]);
		*outs[i] = NULL;
	}
	st_close(f);
	return -1;
}

#define CKPT_NAME_FMT "ckpt-%08ld.safetensors"

char *gemma3_checkpoint_name(long step, char *err, size_t errlen)
{
	char name[64];
	snprintf(name, sizeof name, CKPT_NAME_FMT, step);
	char *r = strdup(name);
	if (!r)
		errf(err, errlen, "%s: out of memory", name);
	return r;
}

int gemma3_checkpoint_step(const char *name, long *step)
{
	if (strncmp(name, "ckpt-", 5) != 0)
		return 0;
	const char *p = name + 5;
	long v = 0;
	if (*p < '0' || *p > '9')
		return 0;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (LONG_MAX - (*p - '0')) / 10)
			return 0;
		v = v * 10 + (*p - '0');
	}
	/* Only the name the writer makes: no other padding, no suffix. */
	char canon[64];
	snprintf(canon, sizeof canon, CKPT_NAME_FMT, v);
	if (strcmp(canon, name) != 0)
		return 0;
	*step = v;
	return 1;
}

static int by_step(const void *a, const void *b)
{
	long x = ((const gemma3_ckpt *)a)->step, y = ((const gemma3_ckpt *)b)->step;
	return x < y ? -1 : x > y;
}

long gemma3_list_checkpoints(const char *run_dir, gemma3_ckpt **list, char *err, size_t errlen)
{
	*list = NULL;
	DIR *d = opendir(run_dir);
	if (!d)
		return 0;
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		long step;
		if (!gemma3_checkpoint_step(e->d_name, &step))
			continue;
		gemma3_ckpt *l = reallocarray(*list, n + 1, sizeof **list);
		char *name = l ? strdup(e->d_name) : NULL;
		if (l)
			*list = l;
		if (!name) {
			closedir(d);
			gemma3_free_checkpoints(*list, n);
			*list = NULL;
			return errf(err, errlen, "%s: out of memory for the list of checkpoints", run_dir);
		}
		(*list)[n].step = step;
		(*list)[n++].name = name;
	}
	closedir(d);
	if (n)
		qsort(*list, n, sizeof **list, by_step);
	return (long)n;
}

void gemma3_free_checkpoints(gemma3_ckpt *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(list[i].name);
	free(list);
}

int gemma3_latest_checkpoint(const char *run_dir, char **path, char *err, size_t errlen)
{
	gemma3_ckpt *l;
	long n = gemma3_list_checkpoints(run_dir, &l, err, errlen);
	*path = NULL;
	if (n < 0)
		return -1;
	if (n && !(*path = path_join(run_dir, l[n - 1].name)))
		errf(err, errlen, "%s: out of memory", run_dir);
	gemma3_free_checkpoints(l, (size_t)n);
	return n && !*path ? -1 : 0;
}

int gemma3_state_file(const char *path, safetensors **f, char *err, size_t errlen)
{
	struct stat sb;
	*f = NULL;
	if (stat(path, &sb))
		return 0;
	char *file = NULL;
	if (S_ISDIR(sb.st_mode)) {
		if (gemma3_latest_checkpoint(path, &file, err, errlen))
			return -1;
		if (!file && !(file = path_join(path, "model.safetensors")))
			return errf(err, errlen, "%s: out of memory", path);
	} else if (!(file = strdup(path))) {
		return errf(err, errlen, "%s: out of memory", path);
	}
	char e2[512];
	*f = st_open(file, e2, sizeof e2);
	free(file);
	/* a file that is not a safetensors one holds no state; running out
	 * of memory is no answer */
	if (!*f && err_out_of_memory(e2))
		return errf(err, errlen, "%s", e2);
	return 0;
}

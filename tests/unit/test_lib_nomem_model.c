/* The CPU Gemma 3 model (lib/gemma3_*.c) when memory runs out: every
 * entry point that allocates returns an error with "out of memory" in its
 * message when any of its allocations fails (tests/unit/failalloc.h), and
 * what used to end the process on bad input (a token outside the
 * vocabulary, a full decoder cache, an output that cannot be written) is
 * an error with its message. The sweeps with OpenMP regions (forward,
 * backward, decoding) run with the threads there are: those regions
 * allocate nothing. Once its activations and scratch are made, a training
 * step (forward, loss, backward) allocates nothing at all. */
#include "cli.h"
#include "failalloc.h"
#include "gemma3.h"
#include "gemma3_checkpoint.h"
#include "xio.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { B = 2, T = 5, BT = B * T };

typedef struct {
	gemma3_config c;
	float *p, *g, *gref, *lref;
	int32_t in[BT], tg[BT];
	gemma3_model *m;
	char dir[64];       /* scratch folder */
	char out[128];      /* dir/export: made and removed by save_dir's sweep */
	char model[128];    /* dir/model: a saved model */
	char run[128];      /* dir/run: a run directory with checkpoints */
	char ckpt[192];     /* its checkpoint of step 3 */
} fixture;

static int oom(char *err, size_t errlen, const char *what)
{
	return errf(err, errlen, "%s: out of memory (no message)", what);
}

/* ---- the sweeps ---- */

static int do_model_new(void *ctx, char *err, size_t errlen)
{
	fixture *f = ctx;
	gemma3_model *m = gemma3_model_new(&f->c, f->p, err, errlen);
	if (!m)
		return -1;
	int same = !memcmp(gemma3_model_params(m), f->p, gemma3_num_params(&f->c) * sizeof(float));
	gemma3_model_free(m);
	return same ? 0 : errf(err, errlen, "model_new: parameters not copied");
}

static int do_param_table(void *ctx, char *err, size_t errlen)
{
	fixture *f = ctx;
	gemma3_param_info *t;
	int n = gemma3_param_table(&f->c, &t, err, errlen);
	if (n < 0)
		return -1;
	free(t);
	return n == 2 + f->c.num_layers * G3_PER_LAYER ? 0 : errf(err, errlen, "%d tensors", n);
}

static int do_config_to_json(void *ctx, char *err, size_t errlen)
{
	fixture *f = ctx;
	char *js = gemma3_config_to_json(&f->c, 0, err, errlen);
	if (!js)
		return -1;
	int good = strstr(js, "\"vocab_size\": 37") != NULL;
	free(js);
	return good ? 0 : errf(err, errlen, "config.json without its vocabulary");
}

static int do_acts_new(void *ctx, char *err, size_t errlen)
{
	fixture *f = ctx;
	for (int save_all = 0; save_all < 2; save_all++) {
		gemma3_acts *a = gemma3_acts_new(&f->c, B, T, save_all, err, errlen);
		if (!a)
			return -1;
		gemma3_acts_free(a);
	}
	return 0;
}

/* forward + loss, and with train set the backward pass, whose gradients
 * must be the reference's bit for bit. */
static int forward_backward(fixture *f, int train, char *err, size_t errlen)
{
	int rc = -1;
	double loss;
	long n;
	size_t np = gemma3_num_params(&f->c);
	grad_scratch *s = NULL;
	gemma3_acts *a = gemma3_acts_new(&f->c, B, T, train, err, errlen);
	if (!a || (train && !(s = grad_scratch_new(&f->c, B, T, err, errlen))))
		goto out;
	if (gemma3_forward(&f->c, f->p, a, f->in, err, errlen) ||
	    gemma3_loss(&f->c, a, f->tg, &loss, &n, err, errlen))
		goto out;
	if (!isfinite(loss) || n != BT - 1) {
		errf(err, errlen, "loss %g over %ld positions", loss, n);
		goto out;
	}
	if (train) {
		memset(f->g, 0, np * sizeof *f->g);
		if (gemma3_backward(&f->c, f->p, a, f->in, f->tg, 1.0f / (float)n, f->g, s, err, errlen))
			goto out;
		if (f->gref && memcmp(f->g, f->gref, np * sizeof *f->g)) {
			errf(err, errlen, "gradients differ from the reference");
			goto out;
		}
	}
	rc = 0;
out:
	grad_scratch_free(s);
	gemma3_acts_free(a);
	return rc;
}

static int do_forward(void *ctx, char *err, size_t errlen)
{
	return forward_backward(ctx, 0, err, errlen);
}

static int do_backward(void *ctx, char *err, size_t errlen)
{
	return forward_backward(ctx, 1, err, errlen);
}

static int do_logits(void *ctx, char *err, size_t errlen)
{
	fixture *f = ctx;
	size_t n = (size_t)BT * f->c.vocab_size;
	float *lg = malloc(n * sizeof *lg);
	if (!lg)
		return oom(err, errlen, "test logits");
	int rc = gemma3_logits(f->m, f->in, B, T, lg, err, errlen);
	if (!rc && memcmp(lg, f->lref, n * sizeof *lg))
		rc = errf(err, errlen, "logits differ from the training forward's");
	free(lg);
	return rc;
}

static int do_decode(void *ctx, char *err, size_t errlen)
{
	fixture *f = ctx;
	float *lg = malloc((size_t)f->c.vocab_size * sizeof *lg);
	gemma3_kv *kv = lg ? gemma3_kv_new(f->m, T, err, errlen) : NULL;
	int rc = -1;
	if (!lg)
		oom(err, errlen, "test logits");
	for (int t = 0; kv && t < T; t++)
		if ((rc = gemma3_decode_step(f->m, kv, f->in[t], lg, err, errlen)))
			break;
	gemma3_kv_free(kv);
	free(lg);
	return rc;
}

/* Whether dir has any entry but . and .. (-1: it is gone). */
static int has_files(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	struct dirent *e;
	int n = 0;
	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return n > 0;
}

static void remove_export(const char *dir)
{
	char p[256];
	snprintf(p, sizeof p, "%s/config.json", dir);
	unlink(p);
	snprintf(p, sizeof p, "%s/model.safetensors", dir);
	unlink(p);
	rmdir(dir);
}

/* An error in err that says what was left in dir after it (and drops
 * "out of memory" from it, so that the sweep fails). */
static int left_behind(const char *dir, char *err, size_t errlen)
{
	char was[256];
	snprintf(was, sizeof was, "%s", err);
	char *oom = strstr(was, "out of memory");
	if (oom)
		memcpy(oom, "OUT OF MEMORY", 13);
	return errf(err, errlen, "%s was left behind after: %s", dir, was);
}

/* A bf16 export into a folder it makes: on a failure, nothing is left. */
static int do_save_dir(void *ctx, char *err, size_t errlen)
{
	fixture *f = ctx;
	int rc = gemma3_save_dir(f->out, &f->c, f->p, "{\"step\":1}", 1, err, errlen);
	int left = has_files(f->out);
	remove_export(f->out);
	if (rc && left >= 0)
		return left_behind(f->out, err, errlen);
	return rc;
}

static int do_write_config(void *ctx, char *err, size_t errlen)
{
	fixture *f = ctx;
	mkdir(f->out, 0777);
	int rc = gemma3_write_config(f->out, &f->c, err, errlen);
	int left = has_files(f->out);
	remove_export(f->out);
	if (rc && left > 0)
		return left_behind(f->out, err, errlen);
	return rc;
}

static int open_and_check(fixture *f, const char *path, char *err, size_t errlen)
{
	gemma3_model *m = gemma3_model_open(path, err, errlen);
	if (!m)
		return -1;
	int same = gemma3_model_config(m)->vocab_size == f->c.vocab_size;
	gemma3_model_free(m);
	return same ? 0 : errf(err, errlen, "%s: another model read back", path);
}

static int do_open_export(void *ctx, char *err, size_t errlen)
{
	fixture *f = ctx;
	return open_and_check(f, f->model, err, errlen);
}

static int do_open_run(void *ctx, char *err, size_t errlen)
{
	fixture *f = ctx;
	return open_and_check(f, f->run, err, errlen);
}

static gemma3_train_state test_state(long step)
{
	gemma3_train_state s = { 0 };
	s.step = step;
	s.seq = T;
	s.micro_batch = B;
	s.batch_tokens = BT;
	snprintf(s.hparams, sizeof s.hparams, "lr=0.001");
	return s;
}

/* A checkpoint of step 5 next to step 3's, keeping two (the pruning
 * lists them), then removed again. */
static int do_checkpoint_save(void *ctx, char *err, size_t errlen)
{
	fixture *f = ctx;
	gemma3_train_state s = test_state(5);
	char *p = gemma3_checkpoint_save(f->run, &f->c, f->p, f->p, f->p, &s, 2, err, errlen);
	if (!p)
		return -1;
	int rc = unlink(p) ? errf(err, errlen, "%s: %s", p, strerror(errno)) : 0;
	free(p);
	return rc;
}

static int do_checkpoint_load(void *ctx, char *err, size_t errlen)
{
	fixture *f = ctx;
	gemma3_config c;
	gemma3_train_state s;
	float *p, *m, *v;
	if (gemma3_checkpoint_load(f->ckpt, &c, &p, &m, &v, &s, err, errlen))
		return -1;
	int same = s.step == 3 && !memcmp(p, f->p, gemma3_num_params(&c) * sizeof *p);
	free(p);
	free(m);
	free(v);
	return same ? 0 : errf(err, errlen, "%s: another checkpoint read back", f->ckpt);
}

static int do_state_file(void *ctx, char *err, size_t errlen)
{
	fixture *f = ctx;
	safetensors *st;
	if (gemma3_state_file(f->run, &st, err, errlen))
		return -1;
	if (!st)
		return errf(err, errlen, "%s: no state file found", f->run);
	st_close(st);
	return 0;
}

static int do_list(void *ctx, char *err, size_t errlen)
{
	fixture *f = ctx;
	gemma3_ckpt *l;
	long n = gemma3_list_checkpoints(f->run, &l, err, errlen);
	if (n < 0)
		return -1;
	gemma3_free_checkpoints(l, (size_t)n);
	if (n != 1)
		return errf(err, errlen, "%ld checkpoints listed", n);
	char *latest, *name = gemma3_checkpoint_name(3, err, errlen);
	if (!name)
		return -1;
	int rc = gemma3_latest_checkpoint(f->run, &latest, err, errlen);
	if (!rc && (!latest || !strstr(latest, name)))
		rc = errf(err, errlen, "latest checkpoint %s", latest ? latest : "(none)");
	free(latest);
	free(name);
	return rc;
}

/* ---- set-up ---- */

static void fixture_init(fixture *f)
{
	char err[256];
	const char *json =
		"{\"vocab_size\":37,\"hidden_size\":24,\"intermediate_size\":40,\"num_hidden_layers\":2,"
		"\"num_attention_heads\":6,\"num_key_value_heads\":2,\"head_dim\":8,\"sliding_window\":3,"
		"\"query_pre_attn_scalar\":10,\"final_logit_softcapping\":6.0,\"attn_logit_softcapping\":4.0,"
		"\"layer_types\":[\"sliding_attention\",\"full_attention\"]}";
	if (gemma3_config_parse(json, strlen(json), "test", &f->c, err, sizeof err))
		die("%s", err);
	size_t np = gemma3_num_params(&f->c);
	f->p = xmalloc(np * sizeof *f->p);
	f->g = xmalloc(np * sizeof *f->g);
	gemma3_init_params(&f->c, f->p, 0.3f, 7);
	for (int i = 0; i < BT; i++) {
		f->in[i] = (int32_t)((i * 7 + 3) % f->c.vocab_size);
		f->tg[i] = (int32_t)((i * 11 + 5) % f->c.vocab_size);
	}
	f->tg[2] = -1; /* an ignored target */
	if (!(f->m = gemma3_model_new(&f->c, f->p, err, sizeof err)))
		die("%s", err);
	snprintf(f->dir, sizeof f->dir, "/tmp/test_lib_nomem_model.XXXXXX");
	if (!mkdtemp(f->dir))
		die("mkdtemp: %s", strerror(errno));
	snprintf(f->out, sizeof f->out, "%s/export", f->dir);
	snprintf(f->model, sizeof f->model, "%s/model", f->dir);
	snprintf(f->run, sizeof f->run, "%s/run", f->dir);
}

/* What the sweeps of opening and checkpointing read: a saved model, and a
 * run directory with the checkpoint of step 3. */
static void fixture_files(fixture *f)
{
	char err[512];
	gemma3_train_state s = test_state(3);
	if (gemma3_save_dir(f->model, &f->c, f->p, NULL, 0, err, sizeof err) ||
	    mkdir_p_err(f->run, err, sizeof err))
		die("%s", err);
	char *p = gemma3_checkpoint_save(f->run, &f->c, f->p, f->p, f->p, &s, 0, err, sizeof err);
	if (!p)
		die("%s", err);
	snprintf(f->ckpt, sizeof f->ckpt, "%s", p);
	free(p);
}

/* The references the sweeps compare with: gradients and logits made with
 * nothing failing. */
static void fixture_refs(fixture *f)
{
	char err[512];
	size_t np = gemma3_num_params(&f->c);
	if (forward_backward(f, 1, err, sizeof err))
		die("%s", err);
	f->gref = xmalloc(np * sizeof *f->gref);
	memcpy(f->gref, f->g, np * sizeof *f->g);
	gemma3_acts *a = gemma3_acts_new(&f->c, B, T, 1, err, sizeof err);
	if (!a || gemma3_forward(&f->c, f->p, a, f->in, err, sizeof err))
		die("%s", err);
	f->lref = xmalloc((size_t)BT * f->c.vocab_size * sizeof *f->lref);
	memcpy(f->lref, a->logits, (size_t)BT * f->c.vocab_size * sizeof *f->lref);
	gemma3_acts_free(a);
}

/* A training step once its buffers are made: every allocation would fail,
 * none is asked for, and the gradients are the reference's bits, also
 * with more threads than the scratch was made for (they use fewer). */
static void step_allocates_nothing(fixture *f)
{
	char err[512] = "";
	double loss;
	long n;
	size_t np = gemma3_num_params(&f->c);
	gemma3_acts *a = gemma3_acts_new(&f->c, B, T, 1, err, sizeof err);
	grad_scratch *s = a ? grad_scratch_new(&f->c, B, T, err, sizeof err) : NULL;
	if (!s)
		die("%s", err);
	for (int threads = 4; threads <= 8; threads += 4) {
		omp_set_num_threads(threads);
		memset(f->g, 0, np * sizeof *f->g);
		failalloc_hit = 0;
		failalloc_left = 0;
		int rc = gemma3_forward(&f->c, f->p, a, f->in, err, sizeof err) ||
			 gemma3_loss(&f->c, a, f->tg, &loss, &n, err, sizeof err) ||
			 gemma3_backward(&f->c, f->p, a, f->in, f->tg, 1.0f / (float)n, f->g, s, err,
					 sizeof err);
		failalloc_left = -1;
		ok(rc == 0 && !failalloc_hit && !memcmp(f->g, f->gref, np * sizeof *f->g),
		   "a training step on %d threads (scratch made for 4) allocates nothing and gives "
		   "the reference's gradients: %s", threads,
		   rc ? err : failalloc_hit ? "an allocation was asked for" : "");
	}
	omp_set_num_threads(4);
	gemma3_acts *other = gemma3_acts_new(&f->c, B, T - 1, 1, err, sizeof err);
	if (!other || gemma3_forward(&f->c, f->p, other, f->in, err, sizeof err))
		die("%s", err);
	err[0] = 0;
	ok(gemma3_backward(&f->c, f->p, other, f->in, f->tg, 1.0f, f->g, s, err, sizeof err) == -1 &&
	   strstr(err, "activations for B=2 T=4, scratch for B=2 T=5"),
	   "backward with a scratch made for another T: an error naming both: %s", err);
	gemma3_acts_free(other);
	grad_scratch_free(s);
	gemma3_acts_free(a);
}

/* ---- errors that are not about memory ---- */

static int says(const char *err, const char *what)
{
	return strstr(err, what) != NULL;
}

static void bad_input(fixture *f)
{
	char err[512];
	gemma3_acts *a = gemma3_acts_new(&f->c, B, T, 0, err, sizeof err);
	int32_t in[BT];
	memcpy(in, f->in, sizeof in);
	in[3] = f->c.vocab_size;
	err[0] = 0;
	ok(a && gemma3_forward(&f->c, f->p, a, in, err, sizeof err) == -1 &&
	   says(err, "token 37 out of range (vocabulary 37)"),
	   "forward: a token = vocab_size is an error naming it: %s", err);
	in[3] = -2;
	ok(a && gemma3_forward(&f->c, f->p, a, in, err, sizeof err) == -1 && says(err, "token -2"),
	   "forward: a negative token is an error naming it: %s", err);
	double loss = 0;
	int32_t tg[BT];
	memcpy(tg, f->tg, sizeof tg);
	tg[4] = f->c.vocab_size;
	ok(a && gemma3_forward(&f->c, f->p, a, f->in, err, sizeof err) == 0 &&
	   gemma3_loss(&f->c, a, tg, &loss, NULL, err, sizeof err) == -1 &&
	   says(err, "target token 37 out of range"),
	   "loss: a target = vocab_size is an error naming it: %s", err);
	grad_scratch *s = grad_scratch_new(&f->c, B, T, err, sizeof err);
	ok(s && gemma3_backward(&f->c, f->p, a, f->in, f->tg, 1.0f, f->g, s, err, sizeof err) == -1 &&
	   says(err, "did not keep activations"),
	   "backward after an inference forward: an error: %s", err);
	grad_scratch_free(s);
	gemma3_acts_free(a);
	float *lg = xmalloc((size_t)BT * f->c.vocab_size * sizeof *lg);
	ok(gemma3_logits(f->m, in, B, T, lg, err, sizeof err) == -1 && says(err, "token -2"),
	   "logits: a bad token is an error naming it: %s", err);

	ok(gemma3_kv_new(f->m, 0, err, sizeof err) == NULL && says(err, "max_T 0"),
	   "kv_new: max_T 0 is an error: %s", err);
	gemma3_kv *kv = gemma3_kv_new(f->m, 2, err, sizeof err);
	int step = kv && !gemma3_decode_step(f->m, kv, 1, lg, err, sizeof err);
	ok(step && gemma3_decode_step(f->m, kv, f->c.vocab_size, lg, err, sizeof err) == -1 &&
	   says(err, "token 37 out of range") && gemma3_kv_pos(kv) == 1,
	   "decoder: a bad token is an error, the cache unchanged: %s", err);
	step = kv && !gemma3_decode_step(f->m, kv, 2, lg, err, sizeof err);
	ok(step, "decoder: two steps in a cache of 2: %s", step ? "" : err);
	ok(kv && gemma3_decode_step(f->m, kv, 1, lg, err, sizeof err) == -1 &&
	   says(err, "more than 2 tokens") && gemma3_kv_pos(kv) == 2,
	   "decoder: a third token in a cache of 2 is an error, the cache unchanged: %s", err);
	gemma3_kv_free(kv);
	free(lg);

	/* outputs that cannot be written: the path in the message */
	ok(gemma3_save_dir("/dev/full", &f->c, f->p, NULL, 0, err, sizeof err) == -1 &&
	   says(err, "/dev/full: exists and is not a directory"),
	   "save_dir into /dev/full: an error naming it: %s", err);
	char below[256];
	snprintf(below, sizeof below, "%s/config.json/x", f->model);
	ok(gemma3_save_dir(below, &f->c, f->p, NULL, 0, err, sizeof err) == -1 && says(err, below),
	   "save_dir below a file: an error naming the path: %s", err);
	ok(gemma3_write_config("/dev/full", &f->c, err, sizeof err) == -1 &&
	   says(err, "/dev/full/config.json"), "write_config into /dev/full: an error: %s", err);
	/* config.json cannot be written (a folder of that name): no weights
	 * are left without it */
	char cfgdir[192];
	snprintf(cfgdir, sizeof cfgdir, "%s/config.json", f->out);
	if (mkdir_p_err(cfgdir, err, sizeof err))
		die("%s", err);
	int rc = gemma3_save_dir(f->out, &f->c, f->p, NULL, 0, err, sizeof err);
	char weights[192];
	snprintf(weights, sizeof weights, "%s/model.safetensors", f->out);
	ok(rc == -1 && says(err, cfgdir) && access(weights, F_OK) != 0,
	   "save_dir with config.json unwritable: an error naming it, no weights left: %s", err);
	rmdir(cfgdir);
	rmdir(f->out);
}

int main(void)
{
	cli_init("test_lib_nomem_model");
	fixture f = { 0 };
	fixture_init(&f);
	fixture_files(&f);
	failalloc_sweep("gemma3_save_dir", do_save_dir, &f);
	failalloc_sweep("gemma3_model_open (an export)", do_open_export, &f);
	failalloc_sweep("gemma3_model_open (a run directory)", do_open_run, &f);
	failalloc_sweep("gemma3_checkpoint_save", do_checkpoint_save, &f);
	failalloc_sweep("gemma3_checkpoint_load", do_checkpoint_load, &f);
	failalloc_sweep("gemma3_state_file", do_state_file, &f);

	failalloc_sweep("gemma3_model_new", do_model_new, &f);
	failalloc_sweep("gemma3_param_table", do_param_table, &f);
	failalloc_sweep("gemma3_config_to_json", do_config_to_json, &f);
	failalloc_sweep("gemma3_write_config", do_write_config, &f);
	failalloc_sweep("gemma3_list_checkpoints, _latest_checkpoint, _checkpoint_name", do_list, &f);
	failalloc_sweep("gemma3_acts_new", do_acts_new, &f);

	/* several threads even on a small machine: each has its own part of
	 * the buffers made before the parallel regions */
	omp_set_num_threads(4);
	fixture_refs(&f);
	failalloc_sweep("gemma3_forward and gemma3_loss", do_forward, &f);
	long n = failalloc_sweep("gemma3_backward (and its scratch)", do_backward, &f);
	ok(n > 15, "the backward sweep went through the scratch's buffers (%ld allocations)", n);
	step_allocates_nothing(&f);
	failalloc_sweep("gemma3_logits", do_logits, &f);
	failalloc_sweep("gemma3_kv_new and gemma3_decode_step", do_decode, &f);

	bad_input(&f);

	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", f.dir);
	if (system(cmd))
		return 1;
	gemma3_model_free(f.m);
	free(f.p);
	free(f.g);
	free(f.gref);
	free(f.lref);
	return done_testing();
}

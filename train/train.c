/* train.c - the training loop of bonsai-train: batches from the shards,
 * gradient accumulation, clipping, AdamW, the learning-rate schedule,
 * validation, checkpoints, resume and clean stops on signals; data
 * parallel over the ranks of a job (dist.h): each rank trains on its block
 * of every global batch, and rank 0 alone prints and saves. */
#include "backend.h"
#include "cli.h"
#include "hfcache.h"
#include "commands.h"
#include "data.h"
#include "dist.h"
#include "gemma3_checkpoint.h"
#include "hash.h"
#include "microbatch.h"
#include "progress.h"
#include "shard.h"
#include "xio.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum { O_DATA = 256, O_MODEL, O_INIT, O_STEPS, O_BT, O_SEQ, O_MB, O_LR, O_MINLR, O_WARM,
       O_SCHED, O_DECAY, O_WD, O_B1, O_B2, O_EPS, O_CLIP, O_SEED, O_EVAL, O_EVALT, O_SAVE,
       O_KEEP, O_RESUME, O_STOP, O_DEVICE, O_RECOMP, O_SKIPNF, O_PROGRESS, O_GPUS, O_DTIMEOUT,
       O_CHECK, O_NOSAVE, O_END };

typedef struct {
	const char *data, *model, *init, *out, *device, *schedule;
	long batch_tokens, steps, warmup, stop_at, eval_every, eval_tokens, save_every;
	int seq, micro_batch, keep, resume, recompute, skip_nonfinite, gpus, check, no_save;
	double dist_timeout;
	double lr, min_lr_ratio, decay_frac, wd, beta1, beta2, eps, clip;
	uint64_t seed;
	unsigned char given[O_END - 256]; /* by option code - 256: on the command line */
} options;


static void usage(FILE *f)
{
	fprintf(f,
		"usage: bonsai-train --data DIR --model NAME|config.json [--init MODEL] -o RUN --steps N\n"
		"                    [--batch-tokens N] [--seq T] [--micro-batch B] [--lr X] [--min-lr-ratio X]\n"
		"                    [--warmup N] [--schedule cosine|wsd] [--decay-frac X] [--weight-decay X]\n"
		"                    [--beta1 X] [--beta2 X] [--eps X] [--clip X] [--seed N]\n"
		"                    [--eval-every N] [--eval-tokens N] [--save-every N | --no-save]\n"
		"                    [--keep K] [--resume] [--stop-at STEP] [--device cpu|cuda]\n"
		"                    [--recompute] [--skip-nonfinite] [--gpus N] [--dist-timeout S]\n"
		"                    [--check] [-q | --progress]\n"
		"       bonsai-train verify DIR [--device cpu|cuda]\n"
		"       bonsai-train export RUN|CHECKPOINT -o DIR\n"
		"Trains a Gemma 3 model on token shards (bonsai-shard) with AdamW.\n"
		"  --data DIR          shard directory (train split; val split for --eval-every)\n"
		"  --model NAME|FILE   tiny, gemma3-270m, gemma3-1b, seed, small, or a config.json\n"
		"  --init MODEL        start from weights: HF dir/safetensors/index.json, run or checkpoint,\n"
		"                      or a Hub model id in the Hub cache (bonsai-fetch --model ID)\n"
		"  -o, --output RUN    run directory: checkpoints and config.json\n"
		"  --steps N           optimizer steps of the whole run (the schedule's length)\n"
		"  --batch-tokens N    tokens per step (default 524288; on the CPU 8192), a\n"
		"                      multiple of B*T\n"
		"  --seq T             tokens per sequence (default 1024; on the CPU 256)\n"
		"  --micro-batch B     sequences per forward/backward (default: a resumed run's,\n"
		"                      else on cuda the largest of at most 64 dividing a rank's\n"
		"                      sequences of a step whose estimate fits the GPU's free\n"
		"                      memory less 10%% + 1 GiB; on cpu of at most 8)\n"
		"  --lr X              peak learning rate (default 3e-4)\n"
		"  --min-lr-ratio X    final learning rate / peak (default 0.1)\n"
		"  --warmup N          linear warmup steps (default steps/10, at most 1000)\n"
		"  --schedule S        cosine (default) or wsd (constant, then linear decay)\n"
		"  --decay-frac X      wsd: fraction of steps spent decaying (default 0.2)\n"
		"  --weight-decay X    AdamW decoupled decay of matrices and embedding (default 0.1)\n"
		"  --beta1 X --beta2 X --eps X   AdamW (defaults 0.9, 0.95, 1e-8)\n"
		"  --clip X            clip the gradient's global norm to X (default 1; 0 = off)\n"
		"  --seed N            data order seed and initialisation seed (default 1)\n"
		"  --eval-every N      validation loss every N steps (default 0 = off)\n"
		"  --eval-tokens N     validation tokens per evaluation (default 1M)\n"
		"  --save-every N      checkpoint every N steps (default 1000); also at the end\n"
		"  --no-save           no checkpoint at all, not at the end nor on a signal (a\n"
		"                      measure of the speed; overrides --save-every)\n"
		"  --keep K            keep the newest K checkpoints (default 3, 0 = all)\n"
		"  --resume            continue from the newest checkpoint in RUN (start the run\n"
		"                      when it has none); options not given come from it\n"
		"  --stop-at STEP      save and exit after STEP (the schedule still spans --steps)\n"
		"  --device D          cpu or cuda (default: $BONSAI_DEVICE, else cuda when built\n"
		"                      with it and a GPU is present)\n"
		"  --recompute         cuda: recompute activations in the backward pass\n"
		"  --skip-nonfinite    a step whose loss or gradient is NaN/Inf is skipped (no\n"
		"                      update; 10 in a row stop the run) instead of stopping it\n"
		"  --gpus N            start N processes on this host, one per GPU, as one\n"
		"                      data-parallel job (with --device cpu: N CPU processes)\n"
		"  --dist-timeout S    seconds to wait for the other ranks at start (default 120)\n"
		"  --check             check the options, the model and the device as for a fresh\n"
		"                      start, without reading --data or writing RUN; one line, exit 0\n"
		"  -q, --quiet         no progress line\n"
		"  --progress          a progress line even when stderr is not a terminal\n"
		"  -h, --help          this text\n"
		"  -V, --version       the version\n");
}

/* Learning rate of step (1-based). */
static double lr_at(const options *o, long step)
{
	double peak = o->lr, low = o->lr * o->min_lr_ratio;
	if (step <= o->warmup)
		return peak * (double)step / (double)o->warmup;
	if (!strcmp(o->schedule, "wsd")) {
		long decay = (long)llround(o->decay_frac * (double)o->steps);
		long start = o->steps - decay;
		if (start < o->warmup)
			start = o->warmup;
		if (step <= start || o->steps == start)
			return peak;
		double p = (double)(step - start) / (double)(o->steps - start);
		return peak - (peak - low) * p;
	}
	if (o->steps == o->warmup)
		return peak;
	double p = (double)(step - o->warmup) / (double)(o->steps - o->warmup);
	return low + 0.5 * (peak - low) * (1.0 + cos(M_PI * p));
}

/* A tokenizer may have a few more entries than the model's vocabulary
 * (Gemma 3's tokenizer.json lists 262,145 tokens for a 262,144-row
 * embedding; the extra one is an image placeholder). That is fine as long
 * as no token of the data is outside the model, so look at the ids. */
static void check_ids_fit(const shardset *train, const shardset *val, uint32_t data_vocab, int model_vocab)
{
	const shardset *sets[2] = {train, val};
	for (int k = 0; k < 2; k++) {
		for (size_t i = 0; i < sets[k]->n; i++) {
			const shard *sh = sets[k]->shards[i];
			for (uint64_t t = 0; t < sh->h.n_tokens; t++)
				if (shard_token(sh, t) >= (uint32_t)model_vocab)
					die("%s: token id %u is outside the model's vocabulary of %d (the shards' "
					    "tokenizer has %u tokens)",
					    sh->path, shard_token(sh, t), model_vocab, data_vocab);
		}
	}
}

/* The same shapes (so that the parameters of one fit the other). */
static int same_shapes(const gemma3_config *a, const gemma3_config *b)
{
	return a->vocab_size == b->vocab_size && a->hidden_size == b->hidden_size &&
	       a->intermediate_size == b->intermediate_size && a->num_layers == b->num_layers &&
	       a->num_heads == b->num_heads && a->num_kv_heads == b->num_kv_heads &&
	       a->head_dim == b->head_dim;
}

/* A model's shapes, for messages. */
static void describe_model(const gemma3_config *c, char *s, size_t len)
{
	snprintf(s, len, "d %d, %d layers, %d/%d heads of %d, ff %d, window %d, vocabulary %d",
		 c->hidden_size, c->num_layers, c->num_heads, c->num_kv_heads, c->head_dim,
		 c->intermediate_size, c->sliding_window, c->vocab_size);
}

/* A resumed run goes on with its checkpoint's model; the --model of the
 * command line (given again at every requeue) must be that one, not
 * another that the run would seem to be training. */
static void check_resumed_model(const char *model, const gemma3_config *run, const char *from)
{
	char err[1024];
	gemma3_config c;
	if (gemma3_config_load(model, run->vocab_size, &c, err, sizeof err))
		die("%s", err);
	char *given = gemma3_config_to_json(&c, 0, err, sizeof err);
	char *had = given ? gemma3_config_to_json(run, 0, err, sizeof err) : NULL;
	if (!had)
		die("%s", err);
	int same = !strcmp(given, had);
	free(given);
	free(had);
	if (same)
		return;
	char a[160], b[160];
	describe_model(&c, a, sizeof a);
	describe_model(run, b, sizeof b);
	die("--model %s (%s%s) is not the model of %s (%s): a resumed run keeps its model; give "
	    "its --model, or another -o for a new run",
	    model, a, strcmp(a, b) ? "" : ", other settings", from, b);
}

/* Mean validation loss over the first eval_tokens of the val split. */
static double evaluate(backend *be, dist *d, const shardset *val, int B, int T, long eval_tokens,
		       long *tokens_used)
{
	uint64_t nw = val->n_tokens > 0 ? (val->n_tokens - 1) / (uint64_t)T : 0;
	uint64_t want = (uint64_t)(eval_tokens + T - 1) / (uint64_t)T;
	if (want > nw)
		want = nw;
	int32_t *in = xmalloc((size_t)B * T * sizeof *in), *tg = xmalloc((size_t)B * T * sizeof *tg);
	uint32_t *buf = xmalloc(((size_t)T + 1) * sizeof *buf);
	double total = 0;
	long count = 0;
	/* the ranks take turns by micro-batch */
	uint64_t from = (uint64_t)dist_rank(d) * (uint64_t)B, every = (uint64_t)B * dist_world(d);
	for (uint64_t w = from; w < want; w += every) {
		long here = 0;
		for (int b = 0; b < B; b++) {
			if (w + (uint64_t)b < want) {
				window_read(val, T, w + (uint64_t)b, in + (size_t)b * T, tg + (size_t)b * T, buf);
				here += T;
			} else {
				/* A short last batch: repeat a window, ignore its targets. */
				window_read(val, T, w, in + (size_t)b * T, tg + (size_t)b * T, buf);
				for (int t = 0; t < T; t++)
					tg[(size_t)b * T + t] = -1;
			}
		}
		total += be->eval_loss(be, in, tg) * (double)here;
		count += here;
	}
	free(in);
	free(tg);
	free(buf);
	double sum[2] = { total, (double)count };
	if (dist_allreduce_sum(d, sum, 2))
		die("%s", dist_error(d));
	*tokens_used = (long)sum[1];
	return sum[1] > 0 ? sum[0] / sum[1] : NAN;
}

static void parse_options(int argc, char **argv, options *o)
{
	static const struct option opts[] = {
		{ "data", required_argument, 0, O_DATA }, { "model", required_argument, 0, O_MODEL },
		{ "init", required_argument, 0, O_INIT }, { "steps", required_argument, 0, O_STEPS },
		{ "batch-tokens", required_argument, 0, O_BT }, { "seq", required_argument, 0, O_SEQ },
		{ "micro-batch", required_argument, 0, O_MB }, { "lr", required_argument, 0, O_LR },
		{ "min-lr-ratio", required_argument, 0, O_MINLR },
		{ "warmup", required_argument, 0, O_WARM }, { "schedule", required_argument, 0, O_SCHED },
		{ "decay-frac", required_argument, 0, O_DECAY },
		{ "weight-decay", required_argument, 0, O_WD }, { "beta1", required_argument, 0, O_B1 },
		{ "beta2", required_argument, 0, O_B2 }, { "eps", required_argument, 0, O_EPS },
		{ "clip", required_argument, 0, O_CLIP }, { "seed", required_argument, 0, O_SEED },
		{ "eval-every", required_argument, 0, O_EVAL },
		{ "eval-tokens", required_argument, 0, O_EVALT },
		{ "save-every", required_argument, 0, O_SAVE }, { "keep", required_argument, 0, O_KEEP },
		{ "resume", no_argument, 0, O_RESUME }, { "stop-at", required_argument, 0, O_STOP },
		{ "device", required_argument, 0, O_DEVICE }, { "recompute", no_argument, 0, O_RECOMP },
		{ "skip-nonfinite", no_argument, 0, O_SKIPNF },
		{ "gpus", required_argument, 0, O_GPUS },
		{ "dist-timeout", required_argument, 0, O_DTIMEOUT },
		{ "check", no_argument, 0, O_CHECK }, { "no-save", no_argument, 0, O_NOSAVE },
		{ "progress", no_argument, 0, O_PROGRESS }, { "quiet", no_argument, 0, 'q' },
		{ "output", required_argument, 0, 'o' }, { "help", no_argument, 0, 'h' },
		{ "version", no_argument, 0, 'V' }, { 0, 0, 0, 0 },
	};
	memset(o, 0, sizeof *o);
	o->schedule = "cosine";
	o->lr = 3e-4;
	o->min_lr_ratio = 0.1;
	o->decay_frac = 0.2;
	o->wd = 0.1;
	o->beta1 = 0.9;
	o->beta2 = 0.95;
	o->eps = 1e-8;
	o->clip = 1.0;
	o->seed = 1;
	o->eval_tokens = 1 << 20;
	o->save_every = 1000;
	o->keep = 3;
	o->stop_at = -1;
	o->dist_timeout = 120;
	const long long BIG = 1LL << 50;
	int ch;
	while ((ch = cli_getopt(argc, argv, "o:qhV", opts, NULL)) != -1) {
		if (ch >= 256 && ch - 256 < (int)sizeof o->given)
			o->given[ch - 256] = 1;
		switch (ch) {
		case O_DATA: o->data = optarg; break;
		case O_MODEL: o->model = optarg; break;
		case O_INIT: o->init = optarg; break;
		case 'o': o->out = optarg; break;
		case O_STEPS: o->steps = parse_ll("--steps", optarg, 1, BIG); break;
		case O_BT: o->batch_tokens = parse_size("--batch-tokens", optarg, 1, BIG); break;
		case O_SEQ: o->seq = (int)parse_ll("--seq", optarg, 1, 65536); break;
		case O_MB: o->micro_batch = (int)parse_ll("--micro-batch", optarg, 1, 65536); break;
		case O_LR: o->lr = parse_double("--lr", optarg, 0, 10); break;
		case O_MINLR: o->min_lr_ratio = parse_double("--min-lr-ratio", optarg, 0, 1); break;
		case O_WARM: o->warmup = parse_ll("--warmup", optarg, 0, BIG); break;
		case O_SCHED: o->schedule = optarg; break;
		case O_DECAY: o->decay_frac = parse_double("--decay-frac", optarg, 0, 1); break;
		case O_WD: o->wd = parse_double("--weight-decay", optarg, 0, 10); break;
		case O_B1: o->beta1 = parse_double("--beta1", optarg, 0, 0.999999); break;
		case O_B2: o->beta2 = parse_double("--beta2", optarg, 0, 0.999999999); break;
		case O_EPS: o->eps = parse_double("--eps", optarg, 0, 1); break;
		case O_CLIP: o->clip = parse_double("--clip", optarg, 0, 1e9); break;
		case O_SEED: o->seed = (uint64_t)parse_ll("--seed", optarg, 0, 1LL << 52); break;
		case O_EVAL: o->eval_every = parse_ll("--eval-every", optarg, 0, BIG); break;
		case O_EVALT: o->eval_tokens = parse_size("--eval-tokens", optarg, 1, BIG); break;
		case O_SAVE: o->save_every = parse_ll("--save-every", optarg, 0, BIG); break;
		case O_KEEP: o->keep = (int)parse_ll("--keep", optarg, 0, 1000000); break;
		case O_RESUME: o->resume = 1; break;
		case O_STOP: o->stop_at = parse_ll("--stop-at", optarg, 1, BIG); break;
		case O_DEVICE: o->device = optarg; break;
		case O_RECOMP: o->recompute = 1; break;
		case O_SKIPNF: o->skip_nonfinite = 1; break;
		case O_GPUS: o->gpus = (int)parse_ll("--gpus", optarg, 1, 1024); break;
		case O_DTIMEOUT: o->dist_timeout = parse_double("--dist-timeout", optarg, 1, 86400); break;
		case O_CHECK: o->check = 1; break;
		case O_NOSAVE: o->no_save = 1; break;
		case O_PROGRESS: progress_set(PROGRESS_ON); break;
		case 'q': progress_set(PROGRESS_OFF); break;
		case 'h': usage(stdout); exit(0);
		case 'V': print_version(); exit(0);
		}
	}
	if (optind != argc)
		die_usage("unexpected argument '%s'", argv[optind]);
	if (!o->data)
		die_usage("--data DIR is required");
	if (!o->out)
		die_usage("-o RUN is required");
	dir_expected(o->out, "-o names the run's folder");
	if (strcmp(o->schedule, "cosine") && strcmp(o->schedule, "wsd"))
		die_usage("--schedule: '%s' is not cosine or wsd", o->schedule);
	o->device = pick_device(o->device);
}

/* The value of key in a checkpoint's hparams ("key=value ..."), or NULL. */
static const char *hparam(const char *hp, const char *key, char *val, size_t len)
{
	size_t k = strlen(key);
	for (const char *p = hp; *p; p += strcspn(p, " "), p += strspn(p, " ")) {
		if (!strncmp(p, key, k) && p[k] == '=') {
			snprintf(val, len, "%.*s", (int)strcspn(p + k + 1, " "), p + k + 1);
			return val;
		}
	}
	return NULL;
}

/* Options not given: from the checkpoint of a resumed run (st), else the
 * defaults, which depend on the device (a CPU step of 8k tokens instead of a
 * GPU's 512k: minutes, not hours) and on the run's length. world: the job's
 * ranks, which share every step's sequences. warn: this process says what
 * it changed of the options given (one process of a job says it). */
static void settle_options(options *o, const gemma3_train_state *st, const char *from, int world,
			   int warn)
{
#define GIVEN(code) (o->given[(code) - 256])
	if (st) {
		char v[64];
		const char *hp = st->hparams;
		if (!GIVEN(O_SEQ))
			o->seq = st->seq;
		if (!GIVEN(O_BT))
			o->batch_tokens = st->batch_tokens;
		if (!GIVEN(O_STEPS) && hparam(hp, "steps", v, sizeof v))
			o->steps = atol(v);
		if (!GIVEN(O_WARM) && hparam(hp, "warmup", v, sizeof v))
			o->warmup = atol(v);
		if (!GIVEN(O_SCHED) && hparam(hp, "schedule", v, sizeof v))
			o->schedule = !strcmp(v, "wsd") ? "wsd" : "cosine";
		/* the schedule's numbers and the optimizer's: a plain --resume
		 * of a run started with --clip 0.5 must not go on at the default 1 */
		const struct { int code; const char *key; double *val; } from_run[] = {
			{ O_LR, "lr", &o->lr }, { O_MINLR, "min-lr-ratio", &o->min_lr_ratio },
			{ O_DECAY, "decay-frac", &o->decay_frac }, { O_WD, "weight-decay", &o->wd },
			{ O_B1, "beta1", &o->beta1 }, { O_B2, "beta2", &o->beta2 },
			{ O_EPS, "eps", &o->eps }, { O_CLIP, "clip", &o->clip },
		};
		for (size_t i = 0; i < sizeof from_run / sizeof *from_run; i++)
			if (!GIVEN(from_run[i].code) && hparam(hp, from_run[i].key, v, sizeof v))
				*from_run[i].val = atof(v);
		if (!GIVEN(O_SEED))
			o->seed = st->seed;
		/* The global batch decides the run; how it is split (ranks,
		 * micro-batches) only changes the order of a sum. */
		if (o->seq != st->seq || o->batch_tokens != st->batch_tokens)
			die("%s: --seq %d, --batch-tokens %ld differ from the run's (%d, %ld): the global "
			    "batch must stay the same",
			    from, o->seq, o->batch_tokens, st->seq, st->batch_tokens);
	}
	int cpu = !strcmp(o->device, "cpu");
	if (!o->steps)
		die_usage("--steps N is required");
	if (!st && !o->model && !o->init)
		die_usage(o->resume ? "--resume: %s has no checkpoint yet, and starting it needs --model "
			  "(or --init)" : "--model (or --init) is required", o->out);
	if (!GIVEN(O_SEQ) && !st)
		o->seq = cpu ? 256 : 1024;
	if (!GIVEN(O_WARM) && !st)
		o->warmup = o->steps / 10 < 1000 ? o->steps / 10 : 1000;
	if (o->warmup > o->steps) {
		/* the default never is; a checkpoint's is when --steps is cut short */
		if (GIVEN(O_WARM) && warn)
			warnx_("--warmup %ld is longer than --steps %ld: warming up over all %ld steps",
			       o->warmup, o->steps, o->steps);
		o->warmup = o->steps;
	}
	if (!GIVEN(O_BT) && !st)
		o->batch_tokens = o->micro_batch ? (long)o->micro_batch * o->seq : cpu ? 8192 : 524288;
	if (o->batch_tokens % o->seq)
		die_usage("--batch-tokens %ld is not a multiple of --seq %d", o->batch_tokens, o->seq);
	long seqs = o->batch_tokens / o->seq;
	if (seqs % world)
		die_usage("--batch-tokens %ld is %ld sequences of %d: not a multiple of the %d ranks",
			  o->batch_tokens, seqs, o->seq, world);
	seqs /= world;
	if (st && !GIVEN(O_MB) && st->micro_batch > 0 && seqs % st->micro_batch == 0)
		o->micro_batch = st->micro_batch; /* else picked anew for these ranks */
	/* without one it is chosen once the model is known (pick_micro_batch) */
	if (!o->micro_batch)
		return;
	if (seqs % o->micro_batch && world == 1)
		die_usage("--batch-tokens %ld is not a multiple of micro-batch x seq = %ld",
			  o->batch_tokens, (long)o->micro_batch * o->seq);
	if (seqs % o->micro_batch)
		die_usage("--batch-tokens %ld is not a multiple of ranks x micro-batch x seq = %d x %ld",
			  o->batch_tokens, world, (long)o->micro_batch * o->seq);
#undef GIVEN
}

/* --micro-batch, or the one microbatch.h chooses for the device from a
 * rank's sequences of a step; on the GPU rank 0 says how it fits. */
static int pick_micro_batch(const options *o, const gemma3_config *c, int world, int rank,
			    int ranks)
{
	char err[1024];
	int gpu = !strcmp(o->device, "cuda");
	microbatch_request r = { .seqs = o->batch_tokens / o->seq / world, .T = o->seq,
				 .given = o->micro_batch, .gpu = gpu, .recompute = o->recompute,
				 .ranks = ranks, .c = c, .bytes = cuda_backend_bytes_needed };
	size_t total = 0;
	if (gpu && cuda_backend_memory(&r.free_bytes, &total, err, sizeof err))
		die("%s", err);
	microbatch_choice ch;
	if (microbatch_pick(&r, &ch, err, sizeof err))
		die("%s", err);
	if (!gpu || rank)
		return ch.B;
	char how[128] = "--micro-batch";
	if (ch.chosen)
		snprintf(how, sizeof how, "chosen: the largest of at most %d that divides %ld and fits",
			 MICROBATCH_MAX, r.seqs);
	const double GiB = 1073741824.0;
	fprintf(stderr,
		"%s: micro-batch %d (%s), %ld accumulation step%s; GPU memory: about %.1f GiB "
		"estimated, %.1f GiB free of %.1f GiB, %.1f GiB usable after a margin of %d%% + %.0f GiB\n",
		cli_progname(), ch.B, how, ch.accum, ch.accum == 1 ? "" : "s", (double)ch.need / GiB,
		(double)r.free_bytes / GiB, (double)total / GiB, (double)ch.usable / GiB,
		MICROBATCH_MARGIN_PERCENT, (double)MICROBATCH_MARGIN_BYTES / GiB);
	return ch.B;
}

/* A step longer than this gets a warning after its first micro-batch. */
#define LONG_STEP_S 60.0

/* Ten non-finite steps in a row mean the run diverged: skipping more would
 * only burn the rest of the schedule. */
enum { MAX_SKIPPED_IN_ROW = 10 };

/* BONSAI_TRAIN_FAULT_NAN=STEP makes that step's loss NaN: the only way for
 * the tests to reach a non-finite step at a chosen point of a run. */
static double fault_nonfinite(long step, double loss)
{
	static long at = -2;
	if (at == -2) {
		const char *e = getenv("BONSAI_TRAIN_FAULT_NAN");
		at = e && *e ? atol(e) : -1;
	}
	return step == at ? NAN : loss;
}

/* The parameters were not updated by the bad step, but they are not saved
 * either: the user resumes from the newest checkpoint. */
static void stop_nonfinite(const options *o, long step, double loss, double norm, int in_row)
{
	progress_done();
	char *last, err[512];
	if (gemma3_latest_checkpoint(o->out, &last, err, sizeof err))
		die("%s", err);
	char why[96] = "";
	if (in_row >= MAX_SKIPPED_IN_ROW)
		snprintf(why, sizeof why, " (%d steps in a row)", in_row);
	die("step %ld: the loss (%g) or gradient norm (%g) is not finite%s; the run stops. "
	    "Last good checkpoint: %s%s",
	    step, loss, norm, why, last ? last : "none (no checkpoint was saved in this run)",
	    last ? " (resume with --resume, perhaps with a lower --lr, or --skip-nonfinite)" : "");
}

static const char *env_get(const char *name) { return getenv(name); }

/* The metrics lines go to standard output, often a pipe (| tee, | head):
 * a reader gone (tee ended by the Ctrl-C that asks the trainer to save) or
 * a full disk must not end the run with its last steps unsaved, so a write
 * that fails is kept in lost (the first one) and stops the run at its next
 * save, as a signal does. */
static void flush_metrics(long step, char *lost, size_t len, long *lost_step)
{
	char err[600];
	if (lost[0] || !fflush_err(stdout, "standard output", err, sizeof err))
		return;
	snprintf(lost, len, "%s", err);
	*lost_step = step;
}

/* What every rank of a job must agree on, hashed where long. */
enum { N_SAME = 11 };
static void job_fields(const options *o, const gemma3_config *c, const float *params,
		       const shardset *train, const gemma3_train_state *st, uint64_t *v)
{
	char err[512], *cfg = gemma3_config_to_json(c, 0, err, sizeof err);
	if (!cfg)
		die("%s", err);
	v[0] = xxh64(cfg, strlen(cfg), 0);
	free(cfg);
	xxh64_state h;
	xxh64_init(&h, 0);
	for (size_t i = 0; i < train->m->n; i++) {
		const manifest_entry *e = &train->m->entries[i];
		if (e->split == SPLIT_TRAIN) {
			xxh64_update(&h, &e->checksum, sizeof e->checksum);
			xxh64_update(&h, &e->n_tokens, sizeof e->n_tokens);
		}
	}
	v[1] = xxh64_digest(&h);
	v[2] = train->m->fingerprint;
	v[3] = (uint64_t)o->batch_tokens;
	v[4] = (uint64_t)o->seq;
	v[5] = st->seed;
	v[6] = (uint64_t)st->step;
	v[7] = xxh64(st->hparams, strlen(st->hparams), 0);
	v[8] = xxh64(params, gemma3_num_params(c) * sizeof *params, 0);
	v[9] = !strcmp(o->device, "cuda");
	v[10] = (uint64_t)o->micro_batch;
}
static const char *const SAME_NAMES[N_SAME] = {
	"the model config", "the train shards", "the tokenizer", "--batch-tokens", "--seq",
	"--seed", "the step it starts from", "the schedule and optimizer options",
	"the initial weights", "--device",
	"the micro-batch (chosen from each GPU's free memory unless --micro-batch is given)",
};

/* --check: what can be known of a fresh start without its data, so that
 * make run refuses a misspelt model or a missing GPU in a second rather
 * than after the hours of data preparation that come before training. A
 * preset's vocabulary is the tokenizer's, not known yet. */
static int check_options(options *o, int world)
{
	char err[1024];
	settle_options(o, NULL, NULL, world, 1);
	gemma3_config c;
	if (o->model && gemma3_config_load(o->model, 0, &c, err, sizeof err))
		die("%s", err);
	if (o->init) {
		char *path = hf_model_path(o->init, err, sizeof err);
		struct stat sb;
		if (!path)
			die("--init %s", err);
		if (stat(path, &sb))
			die("--init %s: %s", path, strerror(errno));
		free(path);
	}
	char dev[64] = "";
	if (!strcmp(o->device, "cuda")) {
		size_t fr, tot;
		if (cuda_backend_memory(&fr, &tot, err, sizeof err))
			die("%s", err);
		/* --gpus n: one GPU a rank, the last one the highest index */
		if (o->gpus > 1 && cuda_backend_use_gpu(o->gpus - 1, err, sizeof err))
			die("--gpus %d: %s", o->gpus, err);
		snprintf(dev, sizeof dev, " (%.1f of %.1f GiB free)", fr / 1073741824.0,
			 tot / 1073741824.0);
	}
	printf("%s --check: model %s%s, device %s%s, %d rank%s, %ld step%s of %ld tokens in "
	       "sequences of %d\n",
	       cli_progname(), o->model ? o->model : o->init, o->model ? "" : " (its own)", o->device,
	       dev, world, world == 1 ? "" : "s", o->steps, o->steps == 1 ? "" : "s", o->batch_tokens,
	       o->seq);
	xfflush(stdout, "stdout");
	return 0;
}

int cmd_train(int argc, char **argv)
{
	char err[1024];
	dist_env de;
	if (dist_env_read(&de, env_get, err, sizeof err))
		die("%s", err);
	options o;
	parse_options(argc, argv, &o);
	if (o.check)
		return check_options(&o, o.gpus ? o.gpus : de.world);
	/* NVLink SHARP (multicast) all-reduce stays off unless asked for: it
	 * needs fabric-manager support that many hosts lack, and NCCL then
	 * fails at the first collective instead of falling back. */
	setenv("NCCL_NVLS_ENABLE", "0", 0);
	if (o.gpus) {
		if (de.world > 1)
			die_usage("--gpus starts its own ranks: not inside a job of %d ranks (%s)", de.world,
				  de.launcher);
		/* checked here for the ranks it will start; a resumed run's ranks
		 * check against its checkpoint */
		if (!o.resume)
			settle_options(&o, NULL, NULL, o.gpus, 0);
		return launch_local(o.gpus, argc, argv);
	}
	dist *d = dist_open(&de, o.dist_timeout, err, sizeof err);
	if (!d)
		die("%s", err);
	int rank = dist_rank(d), world = dist_world(d);
	if (rank)
		progress_set(PROGRESS_OFF);
	/* before its checkpoints are read: another run writing them now would
	 * change them under this one */
	int lock = -1;
	struct stat sb;
	if (!rank && stat(o.out, &sb) == 0 && S_ISDIR(sb.st_mode) &&
	    (lock = run_lock(o.out, err, sizeof err)) < 0)
		die("%s", err);

	gemma3_config c;
	float *params = NULL, *m = NULL, *v = NULL;
	gemma3_train_state st = { 0 };
	/* One command line for the first start and every requeue: --resume
	 * on a run without a checkpoint starts it. */
	char *resume_from = NULL;
	if (o.resume && gemma3_latest_checkpoint(o.out, &resume_from, err, sizeof err))
		die("%s", err);
	if (o.resume && !resume_from && !rank)
		fprintf(stderr, "%s: %s has no checkpoint yet: starting the run\n", cli_progname(), o.out);
	if (resume_from && gemma3_checkpoint_load(resume_from, &c, &params, &m, &v, &st, err, sizeof err))
		die("%s", err);
	settle_options(&o, resume_from ? &st : NULL, resume_from, world, !rank);

	/* The data next: its tokenizer decides the vocabulary. Every shard's
	 * checksum and ids are checked now, at the start and at every resume,
	 * so that a damaged shard stops the run before its first step with
	 * the shard's name (400 MB take about 0.3 s). */
	double t_verify = now_seconds();
	shardset *train = shardset_open(o.data, SPLIT_TRAIN, 1, err, sizeof err);
	if (!train)
		die("%s", err);
	shardset *val = shardset_open(o.data, SPLIT_VAL, 1, err, sizeof err);
	if (!val)
		die("%s", err);
	t_verify = now_seconds() - t_verify;
	progress(1, "%s: %zu shards, %llu tokens verified in %.2f s", o.data, train->n + val->n,
		 (unsigned long long)(train->n_tokens + val->n_tokens), t_verify);
	progress_done();
	if (!train->n)
		die("%s: no train shards", o.data);
	uint32_t data_vocab = train->m->vocab_size;
	gemma3_model *init = NULL;
	if (resume_from) {
		if (o.model)
			check_resumed_model(o.model, &c, resume_from);
		if (st.fingerprint != train->m->fingerprint)
			die("%s: the shards in %s were made by another tokenizer than the run's", resume_from,
			    o.data);
		if (st.seed != o.seed)
			warnx_("--seed %llu ignored: the run's data order uses seed %llu",
			       (unsigned long long)o.seed, (unsigned long long)st.seed);
	} else {
		char *existing;
		if (gemma3_latest_checkpoint(o.out, &existing, err, sizeof err))
			die("%s", err);
		if (existing)
			die("%s: the run directory already has checkpoints (use --resume, or another -o)", o.out);
		if (o.init) {
			/* a Hub id (google/gemma-3-270m) stands for its folder in the Hub cache */
			char *init_path = hf_model_path(o.init, err, sizeof err);
			if (!init_path)
				die("--init %s", err);
			init = gemma3_model_open(init_path, err, sizeof err);
			if (!init)
				die("%s", err);
			free(init_path);
		}
		if (o.model) {
			/* A preset takes its vocabulary from --init or else the
			 * shards; a config.json keeps its own (gemma3_config_load
			 * decides which --model is). */
			int vocab = init ? gemma3_model_config(init)->vocab_size : (int)data_vocab;
			if (gemma3_config_load(o.model, vocab, &c, err, sizeof err))
				die("%s", err);
			if (init && !same_shapes(&c, gemma3_model_config(init)))
				die("--init %s: its shapes differ from --model %s", o.init, o.model);
		} else {
			c = *gemma3_model_config(init);
		}
	}
	/* a rank started by a launcher uses the GPU of its local rank (whose
	 * free memory decides the micro-batch) */
	if (strcmp(de.launcher, "none") && !strcmp(o.device, "cuda") &&
	    cuda_backend_use_gpu(de.local_rank, err, sizeof err))
		die("%s", err);
	/* before a new model's parameters are made and anything is written */
	o.micro_batch =
		pick_micro_batch(&o, &c, world, rank, strcmp(de.launcher, "none") ? world : 0);
	st.micro_batch = o.micro_batch;
	if (!resume_from) {
		size_t n = gemma3_num_params(&c);
		params = xmalloc(n * sizeof *params);
		if (init)
			memcpy(params, gemma3_model_params(init), n * sizeof *params);
		else
			gemma3_init_params(&c, params, 0.02f, o.seed);
		gemma3_model_free(init);
		st.seed = o.seed;
		st.fingerprint = train->m->fingerprint;
		st.seq = o.seq;
		st.batch_tokens = o.batch_tokens;
	}
	if (data_vocab > (uint32_t)c.vocab_size)
		check_ids_fit(train, val, data_vocab, c.vocab_size);
	if (o.seq > c.max_position_embeddings)
		warnx_("--seq %d is longer than the model's max_position_embeddings %d", o.seq,
		       c.max_position_embeddings);
	if (!rank) {
		run_keep_tokenizer(o.data, o.out, train->m->fingerprint);
		mkdir_p(o.out);
		if (lock < 0 && (lock = run_lock(o.out, err, sizeof err)) < 0)
			die("%s", err);
		if (gemma3_write_config(o.out, &c, err, sizeof err))
			die("%s", err);
	}

	if (o.eval_every > 0) {
		if (!val->n_tokens || (val->n_tokens - 1) / (uint64_t)o.seq == 0)
			die("%s: --eval-every needs a val split of at least %d+1 tokens", o.data, o.seq);
	}

	/* The options that shape the run's schedule and updates: a resume
	 * that changes them is allowed, but said. */
	char hp[512];
	snprintf(hp, sizeof hp,
		 "steps=%ld lr=%.9g min-lr-ratio=%.9g warmup=%ld schedule=%s decay-frac=%.9g "
		 "weight-decay=%.9g beta1=%.9g beta2=%.9g eps=%.9g clip=%.9g",
		 o.steps, o.lr, o.min_lr_ratio, o.warmup, o.schedule, o.decay_frac, o.wd, o.beta1,
		 o.beta2, o.eps, o.clip);
	if (o.resume && st.hparams[0] && strcmp(st.hparams, hp))
		warnx_("resuming with other options than the run's:\n  was: %s\n  now: %s", st.hparams, hp);
	snprintf(st.hparams, sizeof st.hparams, "%s", hp);

	uint64_t same[N_SAME];
	job_fields(&o, &c, params, train, &st, same);
	if (dist_check_same(d, SAME_NAMES, same, N_SAME, err, sizeof err))
		die("%s", err);

	int B = o.micro_batch, T = o.seq;
	/* accum counts the micro-batches of the whole job; this rank's block of
	 * each global batch is its sequences [part_first, part_first + part_count). */
	long seqs = o.batch_tokens / T, part_first, part_count;
	long accum = seqs / B;
	if (dist_batch_part(seqs, world, rank, &part_first, &part_count))
		die("%ld sequences a step cannot be shared by %d ranks", seqs, world);
	backend *be;
	if (!strcmp(o.device, "cuda")) {
		be = cuda_backend_new(&c, B, T, o.recompute, err, sizeof err);
		if (!be)
			die("%s", err);
	} else {
		be = cpu_backend_new(&c, B, T);
	}
	/* Started by a launcher, even as a job of one, the collectives run
	 * (through NCCL on the GPU): --gpus 1 checks that path against none. */
	if (world > 1 || strcmp(de.launcher, "none")) {
		if (!be->set_dist)
			die("not yet: data parallel training on the %s device", o.device);
		be->set_dist(be, d);
	}
	be->set_params(be, params, m, v);
	/* Decoupled weight decay on matrices and the embedding, not on norms. */
	gemma3_param_info *pt;
	int ntens = gemma3_param_table(&c, &pt, err, sizeof err);
	if (ntens < 0)
		die("%s", err);
	unsigned char *mask = xmalloc(ntens);
	for (int i = 0; i < ntens; i++)
		mask[i] = !pt[i].is_norm;
	be->set_decay_mask(be, mask);
	free(mask);
	free(pt);

	loader *ld = loader_new(train, T, st.seed);
	loader_seek(ld, st.epoch, st.index);
	int32_t *in = xmalloc((size_t)B * T * sizeof *in), *tg = xmalloc((size_t)B * T * sizeof *tg);

	/* SIGINT, SIGTERM, SIGHUP, SIGUSR1: finish the step, save, exit 0; a
	 * second one stops at once (a checkpoint being written is finished) */
	cli_catch_signals_twice("stopping after this step; again to stop now",
				"stopping now; the newest checkpoint in the run directory is complete");
	signal(SIGPIPE, SIG_IGN); /* a reader gone is a failed write: flush_metrics */
	char lost[640] = "";
	long lost_step = 0;

	long last = o.stop_at > 0 && o.stop_at < o.steps ? o.stop_at : o.steps;
	if (st.step >= last && !rank)
		warnx_("the run is already at step %ld", st.step);
	if (!rank)
		fprintf(stderr, "%s: %s, %.1fM parameters, B=%d T=%d accum=%ld, steps %ld..%ld of %ld, "
				"device %s\n",
			cli_progname(), o.model ? o.model : o.init ? o.init : resume_from,
			gemma3_num_params(&c) / 1e6, B, T, accum, st.step + 1, last, o.steps, be->device);
	if (!rank && world > 1)
		fprintf(stderr, "%s: %d ranks (%s, %s), each %ld of the %ld sequences a step\n",
			cli_progname(), world, de.launcher, dist_transport(d), part_count, seqs);
	/* ZeRO-1: each rank's share, and their sum (a collective) */
	double opt_all = be->optimizer_bytes ? (double)be->optimizer_bytes(be) : 0;
	if (dist_allreduce_sum(d, &opt_all, 1))
		die("%s", dist_error(d));
	if (!rank && be->optimizer_bytes)
		fprintf(stderr, "%s: optimizer state %.1f MB per rank (%d rank%s; %.1f MB in all)\n",
			cli_progname(), (double)be->optimizer_bytes(be) / 1e6, world, world > 1 ? "s" : "",
			opt_all / 1e6);
	size_t emb = (size_t)c.vocab_size * (size_t)c.hidden_size;
	if (!rank && (double)emb > 0.9 * (double)gemma3_num_params(&c))
		fprintf(stderr, "%s: note: the embedding (%d x %d) is %.0f%% of the parameters: the "
			"vocabulary, not the layers, sets the model's size\n", cli_progname(), c.vocab_size,
			c.hidden_size, 100.0 * (double)emb / (double)gemma3_num_params(&c));
	long first = st.step;
	meter eta_meter;
	meter_start(&eta_meter, (double)(last - first));
	int skipped_in_row = 0;
	long skipped_total = 0;
	size_t n = gemma3_num_params(&c);
	int stop = 0;
	while (st.step < last && !stop) {
		long step = st.step + 1;
		double t0 = now_seconds();
		be->zero_grad(be);
		/* the sum of this rank's micro-batch losses; whether any rank got a
		 * signal, so that all stop after the same step */
		double sum[2] = { 0, 0 };
		loader_skip(ld, (uint64_t)part_first);
		for (long a = 0; a < part_count / B; a++) {
			loader_next(ld, B, in, tg);
			if (be->reduce_in_next && a == part_count / B - 1)
				be->reduce_in_next(be);
			sum[0] += be->fwd_bwd(be, in, tg, 1.0f / (float)accum);
			if (step == first + 1 && a == 0 && !rank && part_count / B > 1 &&
			    (now_seconds() - t0) * (double)(part_count / B) > LONG_STEP_S) {
				char dur[32];
				format_duration(dur, sizeof dur, (now_seconds() - t0) * (double)(part_count / B));
				progress_done();
				warnx_("a step of %ld micro-batches a rank will take about %s (smaller --batch-tokens "
				       "for shorter steps)", part_count / B, dur);
			}
			/* a long step shows that it is moving */
			if (part_count / B > 1 && progress_enabled() && now_seconds() - t0 > 1)
				progress(0, "step %ld/%ld: micro-batch %ld of %ld, ETA %s", step, last, a + 1,
					 part_count / B,
					 meter_eta(&eta_meter, (double)(step - 1 - first) +
								       (double)(a + 1) / (double)(part_count / B)));
		}
		loader_skip(ld, (uint64_t)(seqs - part_first - part_count));
		sum[1] = cli_interrupted() != 0 || lost[0];
		if (dist_allreduce_sum(d, sum, 2))
			die("%s", dist_error(d));
		stop = sum[1] > 0;
		if (be->sync_grads)
			be->sync_grads(be);
		double loss = sum[0] / (double)accum;
		loss = fault_nonfinite(step, loss);
		double norm = be->grad_norm(be);
		double lr = lr_at(&o, step);
		int skip = !isfinite(loss) || !isfinite(norm);
		if (skip && (!o.skip_nonfinite || ++skipped_in_row >= MAX_SKIPPED_IN_ROW))
			stop_nonfinite(&o, step, loss, norm, skipped_in_row);
		if (!skip) {
			skipped_in_row = 0;
			float clip_scale = o.clip > 0 && norm > o.clip ? (float)(o.clip / norm) : 1.0f;
			be->adamw(be, lr, o.beta1, o.beta2, o.eps, o.wd, clip_scale, step);
		} else {
			skipped_total++;
			if (!rank)
				warnx_("step %ld: the loss (%g) or gradient norm (%g) is not finite: step skipped",
			       step, loss, norm);
		}
		st.step = step;
		st.tokens += (uint64_t)o.batch_tokens;
		st.epoch = ld->epoch;
		st.index = ld->index;
		double ms = (now_seconds() - t0) * 1e3;
		if (rank)
			;
		else if (skip)
			printf("{\"step\":%ld,\"tokens\":%llu,\"skipped\":true}\n", step,
			       (unsigned long long)st.tokens);
		else
			printf("{\"step\":%ld,\"tokens\":%llu,\"loss\":%.9g,\"lr\":%.6g,\"grad_norm\":%.6g,"
			       "\"tokens_per_s\":%.1f,\"ms\":%.1f,\"ranks\":%d}\n",
			       step, (unsigned long long)st.tokens, loss, lr, norm,
			       ms > 0 ? (double)o.batch_tokens / (ms / 1e3) : 0.0, ms, world);
		if (!rank)
			flush_metrics(step, lost, sizeof lost, &lost_step);
		/* after a step long enough for micro-batch lines, always its result */
		progress(ms > 1000, "step %ld/%ld loss %.4f lr %.3g %.0f tok/s ETA %s", step, last, loss, lr,
			 ms > 0 ? (double)o.batch_tokens / (ms / 1e3) : 0.0, meter_eta(&eta_meter, (double)(step - first)));
		if (!skip && o.eval_every > 0 && (step % o.eval_every == 0 || step == o.steps)) {
			long used;
			double vl = evaluate(be, d, val, B, T, o.eval_tokens, &used);
			if (!rank) {
				printf("{\"step\":%ld,\"val_loss\":%.9g,\"val_tokens\":%ld}\n", step, vl, used);
				flush_metrics(step, lost, sizeof lost, &lost_step);
			}
		}
		if (!o.no_save && ((o.save_every > 0 && step % o.save_every == 0) || step == last || stop)) {
			if (!m)
				m = xmalloc(n * sizeof *m);
			if (!v)
				v = xmalloc(n * sizeof *v);
			be->get_params(be, params, m, v);
			if (!rank) {
				cli_critical(1);
				char *p = gemma3_checkpoint_save(o.out, &c, params, m, v, &st, o.keep, err,
								 sizeof err);
				cli_critical(0);
				if (!p)
					die("%s", err);
				progress_done();
				fprintf(stderr, "%s: saved %s\n", cli_progname(), p);
				free(p);
			}
		}
	}
	progress_done();
	if (skipped_total && !rank)
		warnx_("%ld step(s) skipped for a non-finite loss or gradient", skipped_total);
	if (stop && !rank) {
		/* The step under way when the signal came was finished and saved. */
		if (cli_interrupted())
			fprintf(stderr, "%s: stopped by signal %d at step %ld\n", cli_progname(),
				cli_interrupted(), st.step);
		else if (!lost[0])
			fprintf(stderr, "%s: stopped by a signal to another rank at step %ld\n",
				cli_progname(), st.step);
	}
	free(in);
	free(tg);
	free(params);
	free(m);
	free(v);
	free(resume_from);
	loader_free(ld);
	be->free(be);
	shardset_close(train);
	shardset_close(val);
	if (dist_close(d))
		die("ending the job: a rank failed");
	if (lost[0])
		die("%s: the metrics from step %ld on were not written; the run stopped after step %ld%s",
		    lost, lost_step, st.step,
		    o.no_save ? " (--no-save: no checkpoint)"
			      : ", which is saved (--resume goes on from it)");
	return 0;
}

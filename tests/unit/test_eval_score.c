/* test_eval_score.c - acc vs acc_norm, standard errors, and the batched
 * log-likelihood and perplexity loops on a fake model whose answers are
 * computed here directly. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#ifdef _OPENMP
#include <omp.h>
#endif
#include "../../eval/loglik.h"
#include "../../eval/ppl.h"
#include "../../eval/score.h"

#define V 13

/* A fake model: the logit of v after token tok at input position t. With
 * use_pos unset it ignores t (a bigram model). */
static int use_pos;
static double g(int tok, int t, int v)
{
	return 0.37 * ((tok * 7 + v * 3 + (use_pos ? t * 5 : 0)) % 11) - (v == (tok + 1) % V) * 0.2;
}

static int calls;
static float *logits;
static const float *fake_logits(void *ctx, const int32_t *tokens, int B, int T)
{
	(void)ctx;
	calls++;
	free(logits);
	logits = malloc((size_t)B * T * V * sizeof *logits);
	for (int b = 0; b < B; b++)
		for (int t = 0; t < T; t++)
			for (int v = 0; v < V; v++)
				logits[((size_t)b * T + t) * V + v] = (float)g(tokens[b * T + t], t, v);
	return logits;
}

/* log_softmax straight from the definition, in double */
static double lsm(int tok, int t, int target)
{
	double s = 0;
	for (int v = 0; v < V; v++)
		s += exp((double)(float)g(tok, t, v));
	return (double)(float)g(tok, t, target) - log(s);
}

static int greedy(int tok, int t, int target)
{
	int best = 0;
	for (int v = 1; v < V; v++)
		if ((float)g(tok, t, v) > (float)g(tok, t, best))
			best = v;
	return best == target;
}

/* The logprobs_fn path (the GPU's), here from the fake logits; it checks
 * the shapes loglik_run may hand a device: B*T within batch_tokens (or a
 * single row), T a multiple of pad_T unless it is max_length, and a
 * padding position never a target. */
static long dev_batch_tokens;
static int dev_pad, dev_maxlen, dev_bad;
static void fake_logprobs(void *ctx, const int32_t *tokens, const int32_t *targets, int B, int T,
			  double *lp, int *gr)
{
	if (B > 1 && (long)B * T > dev_batch_tokens)
		dev_bad++;
	if (dev_pad > 1 && T % dev_pad && T != dev_maxlen)
		dev_bad++;
	const float *l = fake_logits(ctx, tokens, B, T);
	for (long i = 0; i < (long)B * T; i++) {
		lp[i] = -1e300; /* garbage where nothing is scored */
		if (gr)
			gr[i] = 7;
		if (targets[i] >= 0)
			lp[i] = log_softmax_at(l + (size_t)i * V, V, targets[i], gr ? &gr[i] : NULL);
	}
}

static uint32_t stream[500];
static void read_stream(void *ctx, uint64_t i, uint32_t *out, size_t n)
{
	(void)ctx;
	memcpy(out, stream + i, n * sizeof *out);
}

int main(void)
{
#ifdef _OPENMP
	/* many tiny parallel regions: one thread is faster on a busy machine */
	omp_set_num_threads(1);
#endif
	/* acc: highest sum; acc_norm: highest sum per character */
	double ll[4] = {-10, -12, -30, -10};
	char *ch[4] = {"ab", "abcdef", "abcdefghijklmnopqrstuvwxyz1234", "xy"};
	is_int(mc_pred_acc(ll, 4), 0, "acc: -10 beats -12 and -30; the first of a tie wins");
	is_int(mc_pred_acc_norm(ll, ch, 4), 2, "acc_norm: -30/30 = -1 beats -12/6 and -10/2");
	double ll2[2] = {-7, -9};
	char *ch2[2] = {"\xc3\xa9\xc3\xa9\xc3\xa9", "abcd"}; /* 3 and 4 characters */
	is_int(mc_pred_acc_norm(ll2, ch2, 2), 1,
	       "acc_norm counts characters, not bytes: -7/3 < -9/4 (-7/6 would win)");
	double ll3[2] = {-6, -8};
	is_int(mc_pred_acc_norm(ll3, ch2, 2), 0, "acc_norm: a tie -6/3 = -8/4 goes to the first");
	double ll4[3] = {-1, -1, -0.5};
	char *ch4[3] = {"a", "b", ""};
	is_int(mc_pred_acc_norm(ll4, ch4, 3), 0, "an empty choice scores -inf under acc_norm");
	ok(fabs(mean_stderr(0.5, 101) - 0.05) < 1e-15, "stderr sqrt(p(1-p)/(n-1))");
	ok(fabs(mean_stderr(0.25, 4) - sqrt(0.0625)) < 1e-15, "stderr at n=4");
	ok(isnan(mean_stderr(1, 1)), "stderr of one item is undefined");

	/* the batched log-likelihood loop against the definition */
	enum { NR = 9 };
	loglik_request reqs[NR];
	srand(7);
	for (int i = 0; i < NR; i++) {
		int n = 2 + (i * 5) % 17, cont = 1 + i % 4;
		if (cont >= n)
			cont = n - 1;
		reqs[i].n_tokens = n;
		reqs[i].cont_len = cont;
		reqs[i].ctx_len = n - cont - 1;
		reqs[i].tokens = malloc((size_t)n * sizeof(int32_t));
		for (int k = 0; k < n; k++)
			reqs[i].tokens[k] = rand() % V;
	}
	/* one request whose greedy continuation is known */
	reqs[0].tokens = realloc(reqs[0].tokens, 4 * sizeof(int32_t));
	reqs[0].n_tokens = 4;
	reqs[0].cont_len = 2;
	reqs[0].ctx_len = 1;
	int a = 3;
	use_pos = 1;
	for (int k = 1; k < 4; k++) {
		int best = 0;
		for (int v = 1; v < V; v++)
			if ((float)g(a, k - 1, v) > (float)g(a, k - 1, best))
				best = v;
		reqs[0].tokens[k - 1] = a;
		a = best;
		reqs[0].tokens[k] = a;
	}
	for (int maxlen = 100; maxlen >= 6; maxlen -= 94) {
		loglik_result want[NR];
		for (int i = 0; i < NR; i++) {
			const loglik_request *r = &reqs[i];
			int first = r->n_tokens - 1 > maxlen ? r->n_tokens - 1 - maxlen : 0;
			want[i].logprob = 0;
			want[i].is_greedy = 1;
			for (int k = r->n_tokens - r->cont_len; k < r->n_tokens; k++) {
				want[i].logprob += lsm(r->tokens[k - 1], k - 1 - first, r->tokens[k]);
				want[i].is_greedy &= greedy(r->tokens[k - 1], k - 1 - first, r->tokens[k]);
			}
		}
		long bts[3] = {1, 40, 100000};
		for (int bi = 0; bi < 3; bi++) {
			loglik_model m = {fake_logits, NULL, V, maxlen, bts[bi], 0, NULL, 0};
			loglik_result got[NR];
			calls = 0;
			loglik_run(&m, reqs, NR, got, NULL, NULL);
			double err = 0;
			int gbad = 0;
			for (int i = 0; i < NR; i++) {
				err = fmax(err, fabs(got[i].logprob - want[i].logprob));
				gbad += got[i].is_greedy != want[i].is_greedy;
			}
			ok(err < 1e-9, "max_length %d, batch_tokens %ld: sums match (error %.2g)",
			   maxlen, bts[bi], err);
			is_int(gbad, 0, "max_length %d, batch_tokens %ld: greedy flags match", maxlen,
			       bts[bi]);
			if (bi == 0)
				is_int(calls, NR, "batch_tokens 1: one request per pass");
			if (bi == 2)
				is_int(calls, 1, "a large batch: one pass");
			/* the device path: the same sums, in the same order */
			int pads[3] = {0, 16, 5};
			for (int pi = 0; pi < 3; pi++) {
				loglik_model md = m;
				md.logprobs = fake_logprobs;
				md.pad_T = pads[pi];
				dev_batch_tokens = bts[bi];
				dev_pad = pads[pi];
				dev_maxlen = maxlen;
				dev_bad = 0;
				loglik_result gd[NR];
				loglik_run(&md, reqs, NR, gd, NULL, NULL);
				int same = 1;
				for (int i = 0; i < NR; i++)
					same &= gd[i].logprob == got[i].logprob &&
						gd[i].is_greedy == got[i].is_greedy;
				ok(same && !dev_bad,
				   "logprobs path, max_length %d, batch_tokens %ld, pad_T %d: the "
				   "logits path's bits (%d bad shapes)", maxlen, bts[bi], pads[pi],
				   dev_bad);
			}
		}
	}
	{
		loglik_model m = {fake_logits, NULL, V, 100, 100000, 0, NULL, 0};
		loglik_result got[1];
		loglik_run(&m, reqs, 1, got, NULL, NULL);
		ok(got[0].is_greedy, "the argmax continuation is greedy");
	}
	for (int i = 0; i < NR; i++)
		free(reqs[i].tokens);

	/* perplexity: a bigram model makes the loss independent of windows */
	use_pos = 0;
	int N = 500;
	for (int i = 0; i < N; i++)
		stream[i] = (uint32_t)((i * 31 + i / 7) % V);
	double want = 0, want50 = 0;
	for (int i = 1; i < N; i++) {
		want -= lsm((int)stream[i - 1], 0, (int)stream[i]);
		if (i <= 50)
			want50 -= lsm((int)stream[i - 1], 0, (int)stream[i]);
	}
	int seqs[4] = {1, 3, 64, 1000};
	for (int si = 0; si < 4; si++) {
		for (long bt = 1; bt <= 4096; bt *= 64) {
			loglik_model m = {fake_logits, NULL, V, 1000, bt, 0, NULL, 0};
			ppl_result r;
			ppl_run(&m, read_stream, NULL, (uint64_t)N, seqs[si], 0, &r, NULL, NULL);
			ok(r.tokens == (uint64_t)N - 1 && fabs(r.loss_sum - want) < 1e-9 * N,
			   "ppl: seq %d, batch_tokens %ld: %llu tokens, loss sum %.9f (want %.9f)",
			   seqs[si], bt, (unsigned long long)r.tokens, r.loss_sum, want);
			loglik_model md = m;
			md.logprobs = fake_logprobs;
			dev_batch_tokens = bt < seqs[si] ? seqs[si] : bt;
			dev_pad = 0;
			dev_bad = 0;
			ppl_result rd;
			ppl_run(&md, read_stream, NULL, (uint64_t)N, seqs[si], 0, &rd, NULL, NULL);
			ok(rd.tokens == r.tokens && rd.windows == r.windows &&
			   rd.loss_sum == r.loss_sum && !dev_bad,
			   "ppl: seq %d, batch_tokens %ld: the logprobs path gives the same bits",
			   seqs[si], bt);
			ppl_run(&m, read_stream, NULL, (uint64_t)N, seqs[si], 50, &r, NULL, NULL);
			ok(r.tokens == 50 && fabs(r.loss_sum - want50) < 1e-9 * N,
			   "ppl: seq %d, batch_tokens %ld, max 50 tokens", seqs[si], bt);
		}
	}
	{
		loglik_model m = {fake_logits, NULL, V, 1000, 1 << 20, 0, NULL, 0};
		ppl_result r;
		ppl_run(&m, read_stream, NULL, (uint64_t)N, 7, 0, &r, NULL, NULL);
		is_int((long long)r.windows, (N - 1 + 6) / 7, "ppl: windows of 7 predicted tokens");
	}
	free(logits);
	return done_testing();
}

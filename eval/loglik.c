/* loglik.c - see loglik.h. */
#include "loglik.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "evaltext.h"

void loglik_encode_pair(encode_fn enc, void *ectx, int32_t bos, const char *context,
			const char *continuation, loglik_request *r)
{
	size_t cl = strlen(context), keep = py_rstrip_len(context, cl);
	/* context[:keep] and context[keep:] + continuation */
	char *whole = str_cat(context, continuation, (char *)NULL);
	if (!whole)
		die("out of memory (for a context of %zu bytes)", cl + strlen(continuation));
	uint32_t *w = NULL, *c = NULL;
	size_t nw = 0, capw = 0, nc = 0, capc = 0;
	enc(ectx, whole, strlen(whole), &w, &nw, &capw);
	enc(ectx, context, keep, &c, &nc, &capc);
	/* lm-eval slices whole[len(context_ids):] without checking that the
	 * context's tokens are a prefix of the whole's: nor do we. */
	size_t ncont = nw > nc ? nw - nc : 0;
	int has_bos = bos >= 0;
	if (nc + ncont + 1 > (size_t)INT32_MAX)
		die("a request of %zu tokens is too long", nc + ncont);
	r->n_tokens = (int)(has_bos + nc + ncont);
	r->ctx_len = (int)nc;
	r->cont_len = (int)ncont;
	r->tokens = xmalloc(((size_t)r->n_tokens + 1) * sizeof *r->tokens);
	int k = 0;
	if (has_bos)
		r->tokens[k++] = bos;
	for (size_t i = 0; i < nc; i++)
		r->tokens[k++] = (int32_t)c[i];
	for (size_t i = nc; i < nw; i++)
		r->tokens[k++] = (int32_t)w[i];
	free(w);
	free(c);
	free(whole);
}

void loglik_request_free(loglik_request *r)
{
	free(r->tokens);
	r->tokens = NULL;
}

const char *loglik_request_problem(const loglik_request *r)
{
	if (r->cont_len < 1)
		return "the continuation encodes to no tokens (the context's encoding swallowed it)";
	if (r->n_tokens - r->cont_len < 1)
		return "an empty context and no BOS token (--no-bos): the continuation's first "
		       "token has nothing before it to be predicted from";
	return NULL;
}

double log_softmax_at(const float *row, int V, int target, int *greedy)
{
	float mx = row[0];
	int arg = 0;
	for (int v = 1; v < V; v++)
		if (row[v] > mx) {
			mx = row[v];
			arg = v;
		}
	double s = 0;
	for (int v = 0; v < V; v++)
		s += exp((double)row[v] - mx);
	if (greedy)
		*greedy = arg == target;
	return (double)row[target] - mx - log(s);
}

/* qsort has no context argument; loglik_run is not reentrant. */
static struct {
	const loglik_request *reqs;
} g_sort;

static int by_length_desc(const void *a, const void *b)
{
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	int li = g_sort.reqs[i].n_tokens, lj = g_sort.reqs[j].n_tokens;
	if (li != lj)
		return li > lj ? -1 : 1;
	return i < j ? -1 : i > j;
}

/* The model's input for r: all tokens but the last, keeping only the
 * last max_length (lm-eval's (context + continuation)[-(max_length+1):][:-1]);
 * *first is the index in r->tokens of its first token. */
static int input_len(const loglik_model *m, const loglik_request *r, int *first)
{
	int len = r->n_tokens - 1;
	*first = 0;
	if (len > m->max_length) {
		*first = len - m->max_length;
		len = m->max_length;
	}
	return len;
}

/* One pass through m->logprobs: the requests idx[0..B) in rows of T
 * (tokens already filled in), each continuation token its target; the
 * same sums, in the same order, as the logits path. */
static void score_on_device(const loglik_model *m, const loglik_request *reqs,
			    const size_t *idx, size_t B, int T, const int32_t *tokens,
			    int32_t *targets, double *lp, int *greedy, loglik_result *out)
{
	for (size_t i = 0; i < B * (size_t)T; i++)
		targets[i] = -1;
	for (size_t b = 0; b < B; b++) {
		const loglik_request *r = &reqs[idx[b]];
		int first;
		input_len(m, r, &first);
		for (int j = 0; j < r->cont_len; j++) {
			int k = r->n_tokens - r->cont_len + j;
			targets[b * (size_t)T + (size_t)(k - 1 - first)] = r->tokens[k];
		}
	}
	m->logprobs(m->ctx, tokens, targets, (int)B, T, lp, greedy);
	for (size_t b = 0; b < B; b++) {
		const loglik_request *r = &reqs[idx[b]];
		int first;
		input_len(m, r, &first);
		double sum = 0;
		int all = 1;
		for (int j = 0; j < r->cont_len; j++) {
			int k = r->n_tokens - r->cont_len + j;
			size_t pos = b * (size_t)T + (size_t)(k - 1 - first);
			sum += lp[pos];
			all &= greedy[pos] != 0;
		}
		out[idx[b]].logprob = sum;
		out[idx[b]].is_greedy = all;
	}
}

void loglik_run(const loglik_model *m, const loglik_request *reqs, size_t n,
		loglik_result *out, void (*on_batch)(void *arg, size_t done), void *arg)
{
	size_t *order = xmalloc((n ? n : 1) * sizeof *order);
	for (size_t i = 0; i < n; i++) {
		order[i] = i;
		const char *why = loglik_request_problem(&reqs[i]);
		if (why)
			die("internal error: a request not checked: %s", why);
		if (reqs[i].cont_len > m->max_length)
			die("a continuation of %d tokens is longer than a model input may be, %d "
			    "tokens (--max-length, else the model's max_position_embeddings)",
			    reqs[i].cont_len, m->max_length);
	}
	g_sort.reqs = reqs;
	qsort(order, n, sizeof *order, by_length_desc);

	int32_t *tokens = NULL;
	size_t tok_cap = 0, done = 0, row_cap = 0, tgt_cap = 0;
	size_t *row_off = NULL;
	int32_t *row_tgt = NULL;
	double *row_lp = NULL;
	int *row_greedy = NULL;
	int32_t *targets = NULL;
	double *lp = NULL;
	int *lp_greedy = NULL;
	for (size_t s = 0; s < n;) {
		int first;
		int T = input_len(m, &reqs[order[s]], &first);
		if (m->pad_T > 1) {
			T = (T + m->pad_T - 1) / m->pad_T * m->pad_T;
			if (T > m->max_length)
				T = m->max_length;
		}
		size_t B = 1;
		while (s + B < n && (long)(B + 1) * T <= m->batch_tokens &&
		       (m->max_batch <= 0 || (int)B < m->max_batch))
			B++;
		size_t need = B * (size_t)T;
		if (need > tok_cap) {
			tok_cap = need;
			tokens = xreallocarray(tokens, tok_cap, sizeof *tokens);
		}
		for (size_t b = 0; b < B; b++) {
			const loglik_request *r = &reqs[order[s + b]];
			int len = input_len(m, r, &first);
			memcpy(tokens + b * T, r->tokens + first, (size_t)len * sizeof *tokens);
			/* right padding: never attended to by the real positions */
			for (int t = len; t < T; t++)
				tokens[b * T + t] = r->tokens[0];
		}
		if (m->logprobs) {
			if (need > tgt_cap) {
				tgt_cap = need;
				targets = xreallocarray(targets, tgt_cap, sizeof *targets);
				lp = xreallocarray(lp, tgt_cap, sizeof *lp);
				lp_greedy = xreallocarray(lp_greedy, tgt_cap, sizeof *lp_greedy);
			}
			score_on_device(m, reqs, order + s, B, T, tokens, targets, lp, lp_greedy,
					out);
			s += B;
			done += B;
			if (on_batch)
				on_batch(arg, done);
			cli_check_interrupt();
			continue;
		}
		const float *logits = m->logits(m->ctx, tokens, (int)B, T);
		/* every scored position of the batch, then one log-softmax each */
		size_t rows = 0;
		for (size_t b = 0; b < B; b++)
			rows += (size_t)reqs[order[s + b]].cont_len;
		if (rows > row_cap) {
			row_cap = rows;
			row_off = xreallocarray(row_off, row_cap, sizeof *row_off);
			row_tgt = xreallocarray(row_tgt, row_cap, sizeof *row_tgt);
			row_lp = xreallocarray(row_lp, row_cap, sizeof *row_lp);
			row_greedy = xreallocarray(row_greedy, row_cap, sizeof *row_greedy);
		}
		size_t q = 0;
		for (size_t b = 0; b < B; b++) {
			const loglik_request *r = &reqs[order[s + b]];
			input_len(m, r, &first);
			for (int j = 0; j < r->cont_len; j++) {
				/* target r->tokens[k] is predicted at input position k-1-first */
				int k = r->n_tokens - r->cont_len + j;
				row_off[q] = (b * (size_t)T + (size_t)(k - 1 - first)) * (size_t)m->vocab;
				row_tgt[q++] = r->tokens[k];
			}
		}
		#pragma omp parallel for schedule(static)
		for (size_t i = 0; i < rows; i++)
			row_lp[i] = log_softmax_at(logits + row_off[i], m->vocab, row_tgt[i],
						   &row_greedy[i]);
		q = 0;
		for (size_t b = 0; b < B; b++) {
			const loglik_request *r = &reqs[order[s + b]];
			double sum = 0;
			int greedy = 1;
			for (int j = 0; j < r->cont_len; j++, q++) {
				sum += row_lp[q];
				greedy &= row_greedy[q];
			}
			out[order[s + b]].logprob = sum;
			out[order[s + b]].is_greedy = greedy;
		}
		s += B;
		done += B;
		if (on_batch)
			on_batch(arg, done);
		cli_check_interrupt();
	}
	free(tokens);
	free(targets);
	free(lp);
	free(lp_greedy);
	free(order);
	free(row_off);
	free(row_tgt);
	free(row_lp);
	free(row_greedy);
}

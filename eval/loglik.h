/* loglik.h - log-likelihoods of continuations given contexts, computed
 * the way lm-evaluation-harness does (HFLM._encode_pair and
 * _loglikelihood_tokens), batched over any causal language model. */
#ifndef BONSAI_EVAL_LOGLIK_H
#define BONSAI_EVAL_LOGLIK_H

#include <stddef.h>
#include <stdint.h>

/* Encodes text[0..len) with no special tokens, appending to *ids
 * (tokenizer_encode's contract). */
typedef size_t (*encode_fn)(void *ctx, const char *text, size_t len, uint32_t **ids,
			    size_t *n, size_t *cap);
/* Logits [B,T,V] for tokens [B,T], valid until the next call (the model
 * keeps them where its forward pass put them: no copy). */
typedef const float *(*logits_fn)(void *ctx, const int32_t *tokens, int B, int T);
/* Scoring done where the model runs (the GPU): for tokens and targets
 * [B,T] (target < 0 = not scored), lp[i] = log p(targets[i]) and, when
 * greedy is not NULL, greedy[i] = the target is the first argmax. */
typedef void (*logprobs_fn)(void *ctx, const int32_t *tokens, const int32_t *targets, int B,
			    int T, double *lp, int *greedy);

typedef struct {
	int32_t *tokens;  /* [BOS] + context_ids + continuation_ids */
	int n_tokens;
	int ctx_len;      /* context_ids (BOS not counted) */
	int cont_len;     /* continuation_ids */
} loglik_request;

typedef struct {
	double logprob;   /* sum of log p over the continuation's tokens */
	int is_greedy;    /* every continuation token is the argmax */
} loglik_result;

/* lm-eval's rule: trailing whitespace of the context moves to the
 * continuation; whole = encode(context + continuation), context_ids =
 * encode(context), continuation_ids = whole[len(context_ids):]. bos < 0
 * means no BOS. */
void loglik_encode_pair(encode_fn enc, void *ectx, int32_t bos, const char *context,
			const char *continuation, loglik_request *r);
void loglik_request_free(loglik_request *r);
/* Why r cannot be scored, or NULL: a continuation of no tokens, or one
 * whose first token has no position before it to be predicted from (an
 * empty context and no BOS). */
const char *loglik_request_problem(const loglik_request *r);

typedef struct {
	logits_fn logits;
	void *ctx;
	int vocab;        /* V */
	int max_length;   /* longest input; longer ones lose their left end */
	long batch_tokens;/* B*T per forward pass at most (one request always fits) */
	int max_batch;    /* B at most */
	logprobs_fn logprobs; /* when set, used instead of logits */
	int pad_T;        /* > 1: T of a pass rounded up to a multiple of it (at most
			   * max_length), so that a device sees fewer shapes */
} loglik_model;

/* Scores every request, several per forward pass (longest first, right
 * padded: causal attention keeps padding out of the real positions). */
void loglik_run(const loglik_model *m, const loglik_request *reqs, size_t n,
		loglik_result *out, void (*on_batch)(void *arg, size_t done), void *arg);

/* log_softmax(row)[target] in double precision; *greedy set when target is
 * the first argmax. */
double log_softmax_at(const float *row, int V, int target, int *greedy);

#endif

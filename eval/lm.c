/* lm.c - see lm.h. */
#include "lm.h"

#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "gemma3_checkpoint.h"
#include "safetensors.h"
#include "tokenizer_dir.h"
#include "evaltext.h"

void eval_lm_open(eval_lm *lm, const char *model_path, const char *tok_path, int need_tok,
		  int32_t bos_override)
{
	memset(lm, 0, sizeof *lm);
	char err[1024];
	lm->model = gemma3_model_open(model_path, err, sizeof err);
	if (!lm->model)
		die("%s", err);
	lm->cfg = gemma3_model_config(lm->model);
	if (tok_path || need_tok) {
		char err[512];
		if (tok_path)
			lm->tok_path = xstrdup(tok_path);
		else if (tokenizer_in_dir(model_path, &lm->tok_path, err, sizeof err) < 0)
			die("%s", err);
		if (!lm->tok_path)
			die_usage("no tokenizer: name one with -t (no tokenizer.json or .tiktoken next to %s)",
				  model_path);
		lm->tok = tokenizer_load(lm->tok_path, NULL, err, sizeof err);
		if (!lm->tok)
			die("%s", err);
		uint32_t tv = tokenizer_vocab_size(lm->tok);
		if (tv > (uint32_t)lm->cfg->vocab_size)
			die("%s: %u tokens, but the model %s has a vocabulary of %d", lm->tok_path,
			    tv, model_path, lm->cfg->vocab_size);
	}
	lm->bos = lm->cfg->bos_id;
	if (lm->bos < 0 && lm->tok)
		lm->bos = tokenizer_bos(lm->tok);
	if (bos_override >= -1)
		lm->bos = bos_override;
	lm->eos = lm->cfg->eos_id;
	if (lm->eos < 0 && lm->tok)
		lm->eos = tokenizer_eos(lm->tok);
	if (lm->bos >= lm->cfg->vocab_size)
		die("BOS id %d is outside the model's vocabulary of %d", lm->bos,
		    lm->cfg->vocab_size);
}

void eval_lm_close(eval_lm *lm)
{
	if (lm->acts)
		gemma3_acts_free(lm->acts);
	if (lm->gpu_close)
		lm->gpu_close(lm);
	if (lm->tok)
		tokenizer_free(lm->tok);
	if (lm->model)
		gemma3_model_free(lm->model);
	free(lm->tok_path);
	memset(lm, 0, sizeof *lm);
}

size_t eval_lm_encode(void *arg, const char *text, size_t len, uint32_t **ids, size_t *n,
		      size_t *cap)
{
	eval_lm *lm = arg;
	char err[512];
	if (tokenizer_encode(lm->tok, text, len, ids, n, cap, err, sizeof err) < 0)
		die("%s", err);
	return *n;
}

const float *eval_lm_logits(void *arg, const int32_t *tokens, int B, int T)
{
	eval_lm *lm = arg;
	char err[512];
	/* Fresh activations for every pass would fault in (and zero) the
	 * B*T*V logits' pages each time: keep them while the shape holds. */
	if (!lm->acts || lm->acts->B != B || lm->acts->T != T) {
		gemma3_acts_free(lm->acts);
		lm->acts = gemma3_acts_new(lm->cfg, B, T, 0, err, sizeof err);
		if (!lm->acts)
			die("%s; a smaller --batch-tokens needs less", err);
	}
	if (gemma3_forward(lm->cfg, gemma3_model_params(lm->model), lm->acts, tokens, err, sizeof err))
		die("%s", err);
	return lm->acts->logits;
}

int eval_train_seq(const char *model_path, uint64_t *fingerprint)
{
	*fingerprint = 0;
	char err[1024];
	int seq = 0;
	safetensors *f;
	if (gemma3_state_file(model_path, &f, err, sizeof err))
		die("%s", err);
	gemma3_train_state s;
	if (f && gemma3_state_parse(f, &s, err, sizeof err) == 0) {
		if (s.seq >= 1 && s.seq <= 1 << 24)
			seq = s.seq;
		*fingerprint = s.fingerprint;
	}
	if (f)
		st_close(f);
	return seq;
}

long eval_default_batch_tokens(int vocab)
{
	/* 32 MiB of logits: glibc serves blocks up to that size from its heap
	 * and reuses them, while bigger ones are fresh mmap()s whose page
	 * faults cost more on the CPU than larger batches save (measured:
	 * ARC-Easy on the tiny model, 2x the CPU time at 512 MiB). */
	long t = (1L << 23) / (vocab > 0 ? vocab : 1);
	if (t > 8192)
		t = 8192;
	return t < 1 ? 1 : t;
}

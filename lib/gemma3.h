/* gemma3.h - the Gemma 3 text model (Hugging Face transformers'
 * Gemma3ForCausalLM) in plain C, fp32: configuration, the parameter layout,
 * loading (checkpoints, exported and Hugging Face directories), the forward
 * pass (saving activations for training when asked), its backward pass
 * (gemma3_backward.c, beside gemma3_forward.c) and a KV-cache decoder.
 * Shared by bonsai-train, bonsai-eval and bonsai-generate; the CUDA trainer
 * uses the same parameter layout. */
#ifndef BONSAI_GEMMA3_H
#define BONSAI_GEMMA3_H

#include <stddef.h>
#include <stdint.h>

#include "safetensors.h"

#ifdef __cplusplus
extern "C" {
#endif

#define GEMMA3_MAX_LAYERS 256

typedef struct {
	int vocab_size, hidden_size, intermediate_size, num_layers, num_heads, num_kv_heads,
	    head_dim, sliding_window, max_position_embeddings;
	float rms_norm_eps, query_pre_attn_scalar, final_logit_softcapping,
	      attn_logit_softcapping; /* 0 = off */
	double rope_local_base, rope_global_base,
	       rope_global_scaling_factor; /* linear scaling, 1 = none */
	int32_t bos_id, eos_id, pad_id;
	unsigned char layer_is_global[GEMMA3_MAX_LAYERS];
	double rope_local_scaling_factor; /* linear scaling of sliding layers, 1 = none */
} gemma3_config;

/* Fills c from a preset name (tiny, gemma3-270m, gemma3-1b, seed, small) or
 * a Hugging Face config.json path. The rule every tool follows: a name that
 * is a preset is the preset (write ./tiny for a file named tiny), anything
 * else is a config.json file. vocab_size > 0 sets a preset's vocabulary; a
 * config.json keeps its own. Returns 0, or -1 with a message in err (for a
 * name that is neither, one that lists the presets). */
int gemma3_config_load(const char *name_or_path, int vocab_size, gemma3_config *c, char *err,
		       size_t errlen);
/* The preset names, "tiny, gemma3-270m, ...", for messages and usages. */
const char *gemma3_preset_list(void);
/* The same from config.json text. */
int gemma3_config_parse(const char *json, size_t len, const char *name, gemma3_config *c,
			char *err, size_t errlen);
/* Checks sizes and limits; returns 0 or -1 with a message. */
int gemma3_config_check(const gemma3_config *c, char *err, size_t errlen);
/* A Hugging Face config.json for c (malloc()ed, NUL-terminated), naming
 * the weights' dtype (the one transformers loads them in by default)
 * bfloat16 when bf16 is set, else float32; NULL with a message when out of
 * memory. */
char *gemma3_config_to_json(const gemma3_config *c, int bf16, char *err, size_t errlen);

/* ---- parameters: one contiguous float array ----
 * embed_tokens [V,d]; per layer: input_layernorm [d], q_proj [Hq*hd,d],
 * k_proj [Hkv*hd,d], v_proj [Hkv*hd,d], o_proj [d,Hq*hd], q_norm [hd],
 * k_norm [hd], post_attention_layernorm [d], pre_feedforward_layernorm [d],
 * gate_proj [ff,d], up_proj [ff,d], down_proj [d,ff],
 * post_feedforward_layernorm [d]; then norm [d]. Shapes as HF: [out, in].
 * q_proj, k_proj, v_proj are adjacent, and so are gate_proj, up_proj: the
 * GPU model (lib/cuda/gemma3_gpu.cu) does one matrix product over each run,
 * taking the three (two) as one [(Hq + 2 Hkv) hd, d] ([2 ff, d]) matrix,
 * so this order is part of the contract (tests/unit/test_lib_layout.c). */
enum {
	G3_LN1, G3_WQ, G3_WK, G3_WV, G3_WO, G3_QNORM, G3_KNORM, G3_LN_POSTATTN, G3_LN_PREFF,
	G3_WGATE, G3_WUP, G3_WDOWN, G3_LN_POSTFF, G3_PER_LAYER
};

typedef struct {
	char name[96];       /* Hugging Face name, e.g. model.layers.3.mlp.up_proj.weight */
	size_t offset, numel;
	int ndim;
	int64_t shape[2];
	int is_norm;         /* an RMSNorm weight (stored as w in x*(1+w)) */
} gemma3_param_info;

size_t gemma3_num_params(const gemma3_config *c);
/* Training FLOPs per token at sequence length T, the convention of
 * bench/RESULTS.md: 6 N (every parameter, the tied embedding once: the LM
 * head's product) + 12 Hq hd summed over the layers of ctx, the mean
 * number of keys a query attends to (causal: (T+1)/2; a sliding window w:
 * the mean of min(t+1, w)). 12 = 2 products (QK^T, PV) x 2 FLOPs per
 * multiply-add x 3 (forward + backward). */
double gemma3_flops_per_token(const gemma3_config *c, int T);
/* The table of every parameter in layout order; returns the count and
 * *out (malloc()ed), or -1 with a message when out of memory. */
int gemma3_param_table(const gemma3_config *c, gemma3_param_info **out, char *err, size_t errlen);

/* Pointers into a parameter (or gradient) array. */
typedef struct {
	float *ln1, *wq, *wk, *wv, *wo, *qnorm, *knorm, *ln_postattn, *ln_preff, *wgate, *wup,
	      *wdown, *ln_postff;
} gemma3_layer_ptrs;
typedef struct {
	float *embed;
	gemma3_layer_ptrs layer[GEMMA3_MAX_LAYERS];
	float *norm;
} gemma3_ptrs;
void gemma3_ptrs_set(const gemma3_config *c, float *base, gemma3_ptrs *p);

/* Random initialisation as Hugging Face does it: matrices and the embedding
 * normal(0, std), norm weights 0 (a factor of 1). Deterministic in seed. */
void gemma3_init_params(const gemma3_config *c, float *params, float std, uint64_t seed);

/* Reads the parameters of c from a safetensors set (a file, a directory with
 * model.safetensors or an index.json). Every tensor must be present with
 * the right shape and a float dtype; the "model." prefix and
 * "language_model." prefixes of multimodal checkpoints are accepted; other
 * tensors (lm_head.weight of a tied model, a vision tower) are ignored. Returns 0 or -1
 * with a message. */
int gemma3_load_safetensors(const gemma3_config *c, const char *path, float *params, char *err,
			    size_t errlen);

/* ---- a model: config + parameters ---- */
typedef struct gemma3_model gemma3_model;
/* Opens a run directory (its latest checkpoint), a checkpoint file, or an
 * exported / Hugging Face directory (config.json + model.safetensors or a
 * sharded index). NULL with "PATH: what is wrong" in err on error. */
gemma3_model *gemma3_model_open(const char *path, char *err, size_t errlen);
/* A model from a config and parameters (copied; zeros when params is
 * NULL). NULL with a message when out of memory. */
gemma3_model *gemma3_model_new(const gemma3_config *c, const float *params, char *err,
			       size_t errlen);
const gemma3_config *gemma3_model_config(const gemma3_model *m);
float *gemma3_model_params(gemma3_model *m);
void gemma3_model_free(gemma3_model *m);
/* Writes dir/config.json and dir/model.safetensors (float32, or bfloat16
 * rounded to nearest even when bf16 is set; transformers' parameter names;
 * dir is made if absent), each atomically. train_state (a checkpoint's
 * "state", or NULL) goes into the metadata, so that an export still knows
 * its training length and tokenizer. Returns 0, or -1 with "PATH: why" in
 * err; then neither file is left written (nor dir, when it was made here
 * and is empty). */
int gemma3_save_dir(const char *dir, const gemma3_config *c, const float *params,
		    const char *train_state, int bf16, char *err, size_t errlen);
/* f rounded to bfloat16, to nearest even (NaN stays NaN). */
uint16_t gemma3_f32_to_bf16(float f);
/* Writes dir/config.json (transformers' Gemma3TextConfig) atomically;
 * returns 0, or -1 with "PATH: why" in err. */
int gemma3_write_config(const char *dir, const gemma3_config *c, char *err, size_t errlen);

/* ---- the forward pass ----
 * Activations of a B x T batch. With save_all (training) every layer keeps
 * its own buffers for the backward pass; otherwise one layer's buffers are
 * reused by all layers (inference). */
typedef struct {
	float *x;          /* [BT,d] residual stream entering the layer */
	float *ln1;        /* [BT,d] input_layernorm output */
	float *ln1_rstd;   /* [BT] */
	float *q, *k, *v;  /* [BT,Hq*hd] [BT,Hkv*hd] [BT,Hkv*hd] projections */
	float *q_rstd, *k_rstd; /* [BT,Hq] [BT,Hkv] QK-norm */
	float *qr, *kr;    /* after QK-norm and RoPE */
	float *att;        /* [B,Hq,T,T] attention probabilities */
	float *atty;       /* [BT,Hq*hd] attention output before o_proj */
	float *o;          /* [BT,d] o_proj output */
	float *o_rstd;     /* [BT] post_attention_layernorm */
	float *xmid;       /* [BT,d] residual after attention */
	float *ln2;        /* [BT,d] pre_feedforward_layernorm output */
	float *ln2_rstd;   /* [BT] */
	float *gate, *up;  /* [BT,ff] */
	float *h;          /* [BT,ff] gelu_tanh(gate) * up */
	float *mlp;        /* [BT,d] down_proj output */
	float *mlp_rstd;   /* [BT] post_feedforward_layernorm */
} gemma3_layer_acts;

typedef struct {
	int B, T, save_all;
	gemma3_layer_acts layer[GEMMA3_MAX_LAYERS];
	float *xfinal;     /* [BT,d] residual after the last layer */
	float *lnf;        /* [BT,d] final norm output */
	float *lnf_rstd;   /* [BT] */
	float *logits;     /* [BT,V] (after soft-capping, if any) */
	float *rope_cos_local, *rope_sin_local, *rope_cos_global, *rope_sin_global; /* [T,hd/2] */
	double *loss_rows; /* [BT] gemma3_loss's per-position losses */
	void *mem;
} gemma3_acts;

/* NULL with a message (its size, B and T) when out of memory. */
gemma3_acts *gemma3_acts_new(const gemma3_config *c, int B, int T, int save_all, char *err,
			     size_t errlen);
void gemma3_acts_free(gemma3_acts *a);
/* Forward pass over tokens [B,T]; logits land in a->logits [B*T,V].
 * Returns 0, or -1 with a message naming a token outside the vocabulary. */
int gemma3_forward(const gemma3_config *c, const float *params, gemma3_acts *a,
		   const int32_t *tokens, char *err, size_t errlen);
/* Mean next-token cross-entropy of a->logits against targets [B*T]
 * (targets < 0 are ignored) in *loss; also the count used via n (may be
 * NULL). Returns 0, or -1 with a message naming a target outside the
 * vocabulary. Allocates nothing. */
int gemma3_loss(const gemma3_config *c, const gemma3_acts *a, const int32_t *targets,
		double *loss, long *n, char *err, size_t errlen);

/* ---- the backward pass (training, CPU, fp32; gemma3_backward.c) ---- */
typedef struct grad_scratch grad_scratch;

/* Everything gemma3_backward() needs for activations of this B and T, on
 * up to as many threads as OpenMP would use now: a training step then
 * allocates nothing. NULL with a message when out of memory. */
grad_scratch *grad_scratch_new(const gemma3_config *c, int B, int T, char *err, size_t errlen);
void grad_scratch_free(grad_scratch *s);

/* Backward of loss = loss_scale * sum over positions with targets >= 0 of
 * cross-entropy(logits, target), after gemma3_forward() with save_all.
 * Adds the gradient of every parameter into grads (same layout as the
 * parameters). a->logits is overwritten with dloss/dlogits. Returns 0, or
 * -1 with a message (activations made without save_all, or for another B
 * and T than s), before changing anything. Allocates nothing. */
int gemma3_backward(const gemma3_config *c, const float *params, gemma3_acts *a,
		    const int32_t *tokens, const int32_t *targets, float loss_scale, float *grads,
		    grad_scratch *s, char *err, size_t errlen);

/* Inference for evaluation: logits [B,T,V]. Returns 0, or -1 with a
 * message (out of memory, a token outside the vocabulary). */
int gemma3_logits(gemma3_model *m, const int32_t *tokens, int B, int T, float *logits, char *err,
		  size_t errlen);

/* ---- KV-cache decoding, one token at a time ---- */
typedef struct gemma3_kv gemma3_kv;
/* A cache for up to max_T positions; NULL with a message when max_T < 1
 * or out of memory. */
gemma3_kv *gemma3_kv_new(const gemma3_model *m, int max_T, char *err, size_t errlen);
void gemma3_kv_free(gemma3_kv *kv);
/* Appends one token at position = tokens seen so far; logits [V]. Returns
 * 0, or -1 with a message (the cache is full, the token is outside the
 * vocabulary), and then the cache is as it was. */
int gemma3_decode_step(gemma3_model *m, gemma3_kv *kv, int32_t token, float *logits, char *err,
		       size_t errlen);
/* Tokens seen so far. */
int gemma3_kv_pos(const gemma3_kv *kv);

/* Shared numerics, used by the forward and backward passes. */
void gemma3_rope_table(int T, int hd, double base, double scaling, float *cos_t, float *sin_t);
float gemma3_embed_scale(const gemma3_config *c);

#ifdef __cplusplus
}
#endif

#endif

/* gemma3_gpu.h - the Gemma 3 model of gemma3.h on one NVIDIA GPU (sm_80
 * or newer): training (bonsai-train's CUDA backend), scoring (bonsai-eval)
 * and generation with a KV cache (bonsai-generate). The kernels are the
 * .cuh files of lib/cuda/, one family each.
 *
 * Numerics: bf16 weights and activations for the matrix products (cuBLASLt,
 * fp32 accumulation), an fp32 residual stream, fp32 master weights, fp32
 * gradients and fp32 AdamW state; every reduction accumulates in fp32 and
 * runs in a fixed order, so the same inputs give the same bits run after
 * run on the same GPU and library versions.
 *
 * Parameters, gradients and the AdamW moments use the layout of gemma3.h:
 * one contiguous float array (see gemma3_num_params()).
 *
 * Errors: creation returns NULL with a message (out of memory: what the
 * configuration needs and what to try); a CUDA failure later is fatal and
 * reported through die(). Implemented in gemma3_gpu.cu (C++ with C linkage). */
#ifndef BONSAI_GEMMA3_GPU_H
#define BONSAI_GEMMA3_GPU_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#include "gemma3.h"

typedef struct gemma3_gpu gemma3_gpu;

/* 1 if a usable GPU (compute capability 8.0 or newer) and a driver that
 * runs this build are present; else 0 with the reason in why. */
int gemma3_gpu_probe(char *why, size_t n);

/* A trainer for batches of B sequences of T tokens (T <= 65536). With
 * recompute, each layer's activations are recomputed during the backward
 * pass from the layer's input, so only one layer's activations are held.
 * Returns NULL with a message in err (unsupported config, no GPU, or out of
 * memory: the message gives the bytes needed and suggests a smaller batch or
 * --recompute). Parameters start at zero: call gemma3_gpu_set_params. */
gemma3_gpu *gemma3_gpu_create(const gemma3_config *c, int B, int T, int recompute, char *err,
				size_t n);
/* An inference-only model (bonsai-eval): forward passes of any B x T with
 * B*T <= max(max_tokens, T) and T at most the T given here; no gradients,
 * AdamW state or backward scratch, and one layer's activations, so it needs
 * about 6 bytes a parameter plus the activations. The training calls
 * (fwd_bwd, zero_grad, grad_norm, adamw, get_grads) die on it; set_params
 * takes params only. NULL with a message in err as gemma3_gpu_create. */
gemma3_gpu *gemma3_gpu_create_infer(const gemma3_config *c, long max_tokens, int T, char *err,
				      size_t n);
/* A decoder for generation (bonsai-generate): an inference model of one
 * sequence of up to max_T positions with a KV cache (bf16 keys after
 * QK-norm and RoPE, and values, of every layer: 4 * num_layers *
 * num_kv_heads * head_dim bytes a position). NULL with a message in err as
 * gemma3_gpu_create_infer, or when max_T is longer than the attention over
 * the cache takes (its scores are in shared memory: about 50,000 positions
 * on an H100). */
gemma3_gpu *gemma3_gpu_create_decoder(const gemma3_config *c, int max_T, char *err, size_t n);
/* Runs tokens[0 .. n) at positions pos .. pos + n - 1 of the decoder's
 * sequence (pos: the tokens run before, whose keys and values the cache
 * holds; pos + n <= max_T), appends their keys and values to the cache and
 * writes the fp32 logits of the last one (soft-capped; the config's
 * vocab_size of them) to logits. A prompt is one call with n its length,
 * then each new token one call with n = 1. */
void gemma3_gpu_decode(gemma3_gpu *g, const int32_t *tokens, int n, int pos, float *logits);
/* Device bytes the trainer would allocate (an estimate made without a GPU);
 * ranks > 0: as a rank of a job of ranks, after gemma3_gpu_shard. */
size_t gemma3_gpu_bytes_needed(const gemma3_config *c, int B, int T, int recompute, int ranks);
/* The current GPU's free and total memory in bytes, as the driver reports
 * them now (what other processes hold is not free): 0, or -1 with the
 * reason in why (no usable GPU). */
int gemma3_gpu_memory(size_t *free_bytes, size_t *total_bytes, char *why, size_t n);

/* fp32 master weights and AdamW moments, gemma3_num_params() floats each;
 * m or v NULL = zeros. */
void gemma3_gpu_set_params(gemma3_gpu *g, const float *params, const float *m, const float *v);
/* Copies back any of the three that is not NULL. */
void gemma3_gpu_get_params(gemma3_gpu *g, float *params, float *m, float *v);

/* Which tensors AdamW decays: one byte per tensor in layout order
 * (embed, 13 per layer, final norm: 2 + 13 * num_layers entries), nonzero =
 * decay. NULL = every tensor decays (the default). */
void gemma3_gpu_set_decay_mask(gemma3_gpu *g, const unsigned char *per_tensor);

void gemma3_gpu_zero_grad(gemma3_gpu *g);
/* Forward and backward over B*T tokens: inputs and targets [B,T] (host
 * memory; a target < 0 is ignored). Adds grad_scale * d(mean loss)/d(params)
 * to the gradients and returns the mean loss over the targets used (NaN if
 * none). */
float gemma3_gpu_fwd_bwd(gemma3_gpu *g, const int32_t *inputs, const int32_t *targets,
			  float grad_scale);
/* Forward only: the mean loss (validation). Leaves the gradients alone. */
float gemma3_gpu_eval_loss(gemma3_gpu *g, const int32_t *inputs, const int32_t *targets);
/* Forward only: logits [B*T, V] in fp32 (after soft-capping, if any). */
void gemma3_gpu_logits(gemma3_gpu *g, const int32_t *inputs, float *logits);
/* Forward only, scoring: for inputs and targets [B,T] (host memory; a
 * target < 0 is not scored; B x T within what the model was made for),
 * logp[i] = log_softmax(logits[i])[targets[i]] and greedy[i] = 1 when the
 * target is the first index of the row's maximum, over the first V logits
 * (V <= the config's vocab_size; the columns past V are padding). The
 * logits are made in fp32 from the bf16 product, soft-capped, and reduced
 * with a max-subtracted log-sum-exp in fp32, a chunk of rows at a time;
 * only the rows with a target go through the LM head. Unscored positions
 * get 0. An inference model's only (gemma3_gpu_create_infer): a training
 * model has no scoring buffers. */
void gemma3_gpu_logprobs(gemma3_gpu *g, const int32_t *inputs, const int32_t *targets, int B,
			  int T, int V, float *logp, unsigned char *greedy);
/* The gradients, gemma3_num_params() floats. */
void gemma3_gpu_get_grads(gemma3_gpu *g, float *grads);

/* Global L2 norm of the gradients. */
float gemma3_gpu_grad_norm(gemma3_gpu *g);
/* One AdamW step (PyTorch's torch.optim.AdamW): the gradients are first
 * multiplied by clip_scale; step counts from 1 (bias correction). Updates
 * the fp32 master weights and their bf16 copy. */
void gemma3_gpu_adamw(gemma3_gpu *g, float lr, float beta1, float beta2, float eps,
		       float weight_decay, float clip_scale, int step);

/* Data parallel (ZeRO-1; see bonsai-train(1)). */
/* Makes GPU index the current device of this process (before create):
 * -1 with a message when there is no such GPU. */
int gemma3_gpu_use_device(int index, char *err, size_t n);
/* Keeps the optimizer state of the parameters [lo, hi) only (lo a
 * multiple of 4): the AdamW moments and the fp32 master weights of that
 * slice (ZeRO-1). adamw then updates that slice of the master weights and
 * of the bf16 weights; the caller all-gathers the bf16 weights and the
 * fp32 tensors (below) from the slices' owners. set_params takes whole
 * arrays; get_params gives this rank's slice of params, m and v, at
 * + lo of the whole arrays given. The gradients and the bf16 weights grow
 * to padded values (zeros after the parameters), so that every rank's
 * slice has the same length for NCCL's reduce-scatter and all-gather
 * (dist_padded_len). Once, before set_params. */
int gemma3_gpu_shard(gemma3_gpu *g, size_t lo, size_t hi, size_t padded, char *err, size_t n);
/* Device pointers for NCCL: the gradients (zeroed if stale), this rank's
 * slice of the fp32 master weights (all of them unless sharded), the bf16
 * weights; the stream all the model's work runs on (cudaStream_t). */
float *gemma3_gpu_grads_device(gemma3_gpu *g);
float *gemma3_gpu_master_device(gemma3_gpu *g);
void *gemma3_gpu_weights_bf16_device(gemma3_gpu *g);
void *gemma3_gpu_stream(gemma3_gpu *g);
/* Sharded: the tensors the passes read whole in fp32 (the embedding and
 * the norm weights), each kept whole on every rank: how many (0 unless
 * sharded), and the i-th's parameter offset, length and device copy. */
size_t gemma3_gpu_fp32_tensors(gemma3_gpu *g);
float *gemma3_gpu_fp32_tensor(gemma3_gpu *g, size_t i, size_t *offset, size_t *numel);
/* Overlap of the gradients' reduction with the backward pass: during the
 * next fwd_bwd only, fn(ctx, lo, hi, grads, stream) is called (from this
 * thread, while the backward pass is being queued) each time the
 * gradients of the parameters [lo, hi) are complete: the final norm, each
 * layer from the last to the first, the embedding; together they cover
 * every parameter once. grads is the gradient array on the device, stream
 * a communication stream (cudaStream_t) that has waited for those
 * gradients, on which fn queues their reduction while the backward pass
 * goes on. gemma3_gpu_wait_reduced waits for all of it. */
typedef void (*gemma3_gpu_bucket_fn)(void *ctx, size_t lo, size_t hi, float *grads, void *stream);
void gemma3_gpu_reduce_during_next(gemma3_gpu *g, gemma3_gpu_bucket_fn fn, void *ctx);
void gemma3_gpu_wait_reduced(gemma3_gpu *g);
/* Sum of squares of the gradients [lo, hi), in the order of grad_norm. */
double gemma3_gpu_grad_sumsq(gemma3_gpu *g, size_t lo, size_t hi);

/* Highest device memory in use since creation (bytes, from the driver's
 * free-memory reading after each phase) and what the trainer allocated. */
size_t gemma3_gpu_peak_bytes(gemma3_gpu *g);
size_t gemma3_gpu_alloc_bytes(gemma3_gpu *g);
/* "NVIDIA H100 80GB HBM3, sm_90, 79.1 GiB" */
const char *gemma3_gpu_device_name(gemma3_gpu *g);

/* Per-phase timing (for benchmarks): when on, each fwd_bwd records CUDA
 * events around every kernel class; gemma3_gpu_profile_print writes a
 * table to f (a FILE *) and clears the counters. */
void gemma3_gpu_profile(gemma3_gpu *g, int on);
void gemma3_gpu_profile_print(gemma3_gpu *g, void *f);
/* the matrix products' milliseconds a profiled step (cuBLASLt's, and the
 * MLP's fused products with their GeGLU on sm_90a), before
 * gemma3_gpu_profile_print clears them: the floor a step is measured
 * against */
double gemma3_gpu_profile_matmul_ms(gemma3_gpu *g);
/* For each cuBLASLt product shape the profiled steps ran (before
 * gemma3_gpu_profile_print clears their count): its calls a step, the time
 * of its algorithm (cuBLASLt's first choice unless BONSAI_PRODUCTS=tuned)
 * and of the fastest of up to `tries` of the heuristic's algorithms that
 * give the same bits, on random operands; a
 * table to f (a FILE *). Allocates the operands of one shape at a time.
 * Returns 0, or -1 with the reason in err. */
int gemma3_gpu_product_survey(gemma3_gpu *g, void *f, int tries, char *err, size_t n);
/* The last fwd_bwd's span on the GPU: from its first kernel's start to its
 * last kernel's end (two CUDA events, recorded on every call), in ms;
 * against the call's wall clock it shows how long the GPU waited for the
 * host outside that span. */
double gemma3_gpu_last_span_ms(gemma3_gpu *g);

void gemma3_gpu_free(gemma3_gpu *g);

#ifdef __cplusplus
}
#endif
#endif

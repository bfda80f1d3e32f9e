/* backend.h - what the training loop needs from a device: forward and
 * backward on B x T batches accumulating gradients, the gradient norm, an
 * AdamW step, and the parameters and AdamW moments for checkpoints. The
 * CPU backend (cpu_backend.c) is the reference; the CUDA backend
 * (cuda_backend.c, built with BONSAI_CUDA) wraps lib/cuda/gemma3_gpu.h.
 * Parameters, gradients and moments use gemma3.h's layout. */
#ifndef BONSAI_TRAIN_BACKEND_H
#define BONSAI_TRAIN_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "dist.h"
#include "gemma3.h"

typedef struct backend backend;
struct backend {
	char device[128];        /* for the log: "cpu, 2 threads", the GPU's name */
	void *impl;
	/* m or v NULL = zeros. */
	void (*set_params)(backend *b, const float *params, const float *m, const float *v);
	/* Copies back any of the three that is not NULL. */
	void (*get_params)(backend *b, float *params, float *m, float *v);
	/* One byte per tensor of gemma3_param_table(), nonzero = decays. */
	void (*set_decay_mask)(backend *b, const unsigned char *per_tensor);
	void (*zero_grad)(backend *b);
	/* Adds grad_scale * d(mean loss)/d(params); returns the mean loss over
	 * targets >= 0 of inputs/targets [B,T]. */
	double (*fwd_bwd)(backend *b, const int32_t *inputs, const int32_t *targets, float grad_scale);
	double (*eval_loss)(backend *b, const int32_t *inputs, const int32_t *targets);
	void (*logits)(backend *b, const int32_t *inputs, float *logits /* [B*T,V] */);
	void (*get_grads)(backend *b, float *grads);
	double (*grad_norm)(backend *b);
	/* Gradients are multiplied by clip_scale first; step counts from 1. */
	void (*adamw)(backend *b, double lr, double beta1, double beta2, double eps, double wd,
		      float clip_scale, long step);
	/* Data parallel (NULL: one process only). Called once, before
	 * set_params: from then on the AdamW state covers only this rank's
	 * slice of the parameters (dist_slice), sync_grads sums the gradients
	 * of all ranks into that slice (reduce-scatter), grad_norm is the
	 * global norm, adamw updates the slice and all-gathers the parameters,
	 * and set_params/get_params take and give whole arrays (get_params is
	 * then a collective: every rank calls it). */
	void (*set_dist)(backend *b, dist *d);
	void (*sync_grads)(backend *b);
	/* Data parallel, optional (NULL: sync_grads does all the work): the
	 * next fwd_bwd is the last of the step; its backward pass starts
	 * summing each layer's gradients over the ranks as soon as they are
	 * complete, and sync_grads then only waits for the last. */
	void (*reduce_in_next)(backend *b);
	/* Bytes of optimizer state (AdamW moments, master weights) this rank
	 * holds. */
	size_t (*optimizer_bytes)(backend *b);
	void (*free)(backend *b);
};

backend *cpu_backend_new(const gemma3_config *c, int B, int T);
/* NULL with a message when built without CUDA or no GPU can be used. */
backend *cuda_backend_new(const gemma3_config *c, int B, int T, int recompute, char *err,
			  size_t errlen);
/* A rank of a job on one GPU of several: makes GPU index (its local rank)
 * the process's device, before cuda_backend_new. */
int cuda_backend_use_gpu(int index, char *err, size_t errlen);
/* 1 when a usable GPU is present (always 0 without CUDA). */
int cuda_backend_available(void);
/* For choosing the micro-batch (microbatch.h): the GPU's free and total
 * memory now (-1 with a message without CUDA or a usable GPU), and the
 * bytes the CUDA trainer of B x T would allocate (as a rank of a job of
 * ranks, which shares the optimizer state; 0: no job). */
int cuda_backend_memory(size_t *free_bytes, size_t *total_bytes, char *err, size_t errlen);
size_t cuda_backend_bytes_needed(const gemma3_config *c, int B, int T, int recompute, int ranks);

/* The device: given (--device, checked), else $BONSAI_DEVICE, else "cuda"
 * when built with CUDA and a GPU is usable, else "cpu". */
const char *pick_device(const char *given);

#endif

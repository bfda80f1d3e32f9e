/* backward.h - the exact backward pass of the Gemma 3 forward pass in
 * lib/gemma3_forward.c, on the CPU in fp32. */
#ifndef BONSAI_TRAIN_BACKWARD_H
#define BONSAI_TRAIN_BACKWARD_H

#include "gemma3.h"

typedef struct grad_scratch grad_scratch;

grad_scratch *grad_scratch_new(const gemma3_config *c, int B, int T);
void grad_scratch_free(grad_scratch *s);

/* Backward of loss = loss_scale * sum over positions with targets >= 0 of
 * cross-entropy(logits, target), after gemma3_forward() with save_all.
 * Adds the gradient of every parameter into grads (same layout as the
 * parameters). a->logits is overwritten with dloss/dlogits. */
void gemma3_backward(const gemma3_config *c, const float *params, gemma3_acts *a,
		     const int32_t *tokens, const int32_t *targets, float loss_scale, float *grads,
		     grad_scratch *s);

#endif

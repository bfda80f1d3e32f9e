/* adamw.h - AdamW with decoupled weight decay, as torch.optim.AdamW
 * computes it:
 *   p *= 1 - lr*wd;  m = b1*m + (1-b1)*g;  v = b2*v + (1-b2)*g^2
 *   p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)
 * Arithmetic per element in double, stored as float. */
#ifndef BONSAI_TRAIN_ADAMW_H
#define BONSAI_TRAIN_ADAMW_H

#include <stddef.h>

typedef struct {
	double lr, beta1, beta2, eps;
} adamw_hparams;

/* One step (t counts from 1) on n values; grads are multiplied by
 * grad_scale first (for clipping). */
void adamw_update(float *p, const float *g, float *m, float *v, size_t n, const adamw_hparams *h,
		  double wd, long t, float grad_scale);

#endif

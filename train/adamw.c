/* adamw.c - see adamw.h. */
#include "adamw.h"

#include <math.h>

void adamw_update(float *p, const float *g, float *m, float *v, size_t n, const adamw_hparams *h,
		  double wd, long t, float grad_scale)
{
	double b1 = h->beta1, b2 = h->beta2, lr = h->lr;
	double bc1 = 1.0 - pow(b1, (double)t), bc2 = sqrt(1.0 - pow(b2, (double)t));
	double step = lr / bc1, decay = 1.0 - lr * wd;
#pragma omp parallel for schedule(static)
	for (size_t i = 0; i < n; i++) {
		double gi = (double)g[i] * grad_scale;
		double mi = b1 * m[i] + (1.0 - b1) * gi;
		double vi = b2 * v[i] + (1.0 - b2) * gi * gi;
		double pi = (double)p[i] * decay;
		pi -= step * mi / (sqrt(vi) / bc2 + h->eps);
		m[i] = (float)mi;
		v[i] = (float)vi;
		p[i] = (float)pi;
	}
}

/* score.c - see score.h. */
#include "score.h"

#include <math.h>
#include <string.h>

#include "evaltext.h"

int mc_pred_acc(const double *ll, int n)
{
	int best = 0;
	for (int i = 1; i < n; i++)
		if (ll[i] > ll[best])
			best = i;
	return best;
}

int mc_pred_acc_norm(const double *ll, char *const *choices, int n)
{
	int best = -1;
	double bv = 0;
	for (int i = 0; i < n; i++) {
		/* an empty choice gives -inf, as numpy's division does */
		double len = (double)py_len(choices[i], strlen(choices[i]));
		double v = ll[i] / len;
		if (best < 0 || v > bv) {
			best = i;
			bv = v;
		}
	}
	return best;
}

double mean_stderr(double p, size_t n)
{
	if (n < 2)
		return NAN;
	return sqrt(p * (1 - p) / (double)(n - 1));
}

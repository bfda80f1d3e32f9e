/* score.h - lm-eval's multiple-choice metrics: acc (highest summed
 * log-likelihood), acc_norm (highest log-likelihood per character of the
 * choice), and the standard error of their means. */
#ifndef BONSAI_EVAL_SCORE_H
#define BONSAI_EVAL_SCORE_H

#include <stddef.h>

/* np.argmax(ll) and np.argmax(ll / len(choice)) (first index on ties;
 * len counts code points as Python does). */
int mc_pred_acc(const double *ll, int n);
int mc_pred_acc_norm(const double *ll, char *const *choices, int n);

/* lm-eval's mean_stderr for a mean p of n 0/1 values: the sample standard
 * deviation over sqrt(n), i.e. sqrt(p(1-p)/(n-1)); NaN when n < 2. */
double mean_stderr(double p, size_t n);

#endif

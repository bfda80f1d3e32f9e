/* gemma3_backward.c - the backward pass of Gemma 3 on the CPU in fp32, op by
 * op in reverse order of gemma3_forward() in gemma3_forward.c. Each
 * *_backward adds into its gradient outputs (the residual stream and
 * parameter gradients accumulate), unless it says it overwrites. */
#include "cli.h"
#include "gemma3.h"
#include "gemma3_matmul.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

struct grad_scratch {
	float *dres;    /* [BT,d] gradient of the residual stream */
	float *dnorm;   /* [BT,d] gradient of a norm's output */
	float *dd;      /* [BT,d] gradient of o / mlp (a norm's input) */
	float *dq, *dk, *dv;    /* [BT,Hq*hd] [BT,Hkv*hd] x2 */
	float *dqr, *dkr;       /* gradients after RoPE */
	float *datty;   /* [BT,Hq*hd] */
	float *dgate, *dup, *dh; /* [BT,ff] */
};

grad_scratch *grad_scratch_new(const gemma3_config *c, int B, int T, char *err, size_t errlen)
{
	size_t BT = (size_t)B * T, d = c->hidden_size, ff = c->intermediate_size,
	       q = (size_t)c->num_heads * c->head_dim, kv = (size_t)c->num_kv_heads * c->head_dim;
	size_t total = BT * (3 * d + 3 * q + 3 * kv + 3 * ff) * sizeof(float);
	grad_scratch *s = calloc(1, sizeof *s);
	if (!s)
		goto oom;
	struct { float **p; size_t n; } bufs[] = {
		{ &s->dres, BT * d }, { &s->dnorm, BT * d }, { &s->dd, BT * d }, { &s->dq, BT * q },
		{ &s->dk, BT * kv }, { &s->dv, BT * kv }, { &s->dqr, BT * q }, { &s->dkr, BT * kv },
		{ &s->datty, BT * q }, { &s->dgate, BT * ff }, { &s->dup, BT * ff }, { &s->dh, BT * ff },
	};
	for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
		if (!(*bufs[i].p = malloc(bufs[i].n * sizeof(float))))
			goto oom;
	return s;
oom:
	grad_scratch_free(s);
	errf(err, errlen, "out of memory for the backward pass (%zu MB for B=%d T=%d)", total >> 20, B, T);
	return NULL;
}

void grad_scratch_free(grad_scratch *s)
{
	if (!s)
		return;
	float *b[] = { s->dres, s->dnorm, s->dd, s->dq, s->dk, s->dv, s->dqr, s->dkr, s->datty,
		       s->dgate, s->dup, s->dh };
	for (size_t i = 0; i < sizeof b / sizeof b[0]; i++)
		free(b[i]);
	free(s);
}

#define dot gemma3_dot_inline

/* Forward out[N,OC] = inp[N,C] @ W[OC,C]^T. Backward:
 * dinp[N,C] (overwritten unless accumulate) = dout @ W; dW[OC,C] += dout^T @ inp.
 * lib/gemma3_matmul.c: every output element sums its terms in ascending
 * order, whatever the blocking or thread count. */
static int matmul_backward(float *dinp, float *dW, const float *dout, const float *inp,
			   const float *W, int N, int C, int OC, int accumulate, char *err,
			   size_t errlen)
{
	if (dinp && gemma3_matmul_backward_input(dinp, dout, W, N, C, OC, accumulate, err, errlen))
		return -1;
	return gemma3_matmul_backward_weight(dW, dout, inp, N, C, OC, err, errlen);
}

/* The calling thread's number in an OpenMP team (0 outside one). */
static int thread_num(void)
{
#ifdef _OPENMP
	return omp_get_thread_num();
#else
	return 0;
#endif
}

/* Forward y = x * r * (1 + w), r = rsqrt(mean(x^2) + eps), row by row.
 * dx (overwritten, or added to when accumulate) and dw (added to). */
static void rmsnorm_backward(float *dx, float *dw, const float *dy, const float *x,
			     const float *rstd, const float *w, int N, int C, int accumulate)
{
#pragma omp parallel for schedule(static)
	for (int n = 0; n < N; n++) {
		const float *xi = x + (size_t)n * C, *g = dy + (size_t)n * C;
		float r = rstd[n];
		double s = 0; /* sum of g*(1+w)*x */
		for (int i = 0; i < C; i++)
			s += (double)g[i] * (1.0f + w[i]) * xi[i];
		float k = (float)(s / C) * r * r * r;
		float *o = dx + (size_t)n * C;
		for (int i = 0; i < C; i++) {
			float v = g[i] * (1.0f + w[i]) * r - k * xi[i];
			o[i] = accumulate ? o[i] + v : v;
		}
	}
	/* Weight gradient, column-parallel so that no two threads share a dw. */
#pragma omp parallel for schedule(static)
	for (int i = 0; i < C; i++) {
		double acc = 0;
		for (int n = 0; n < N; n++)
			acc += (double)dy[(size_t)n * C + i] * x[(size_t)n * C + i] * rstd[n];
		dw[i] += (float)acc;
	}
}

/* Inverse rotation of RoPE for the gradients, in place. */
static void rope_backward(float *g, int BT, int T, int H, int hd, const float *cos_t,
			  const float *sin_t)
{
	int half = hd / 2;
#pragma omp parallel for schedule(static)
	for (int n = 0; n < BT; n++) {
		const float *cs = cos_t + (size_t)(n % T) * half, *sn = sin_t + (size_t)(n % T) * half;
		for (int h = 0; h < H; h++) {
			float *x = g + ((size_t)n * H + h) * hd;
			for (int i = 0; i < half; i++) {
				float a = x[i], b = x[i + half];
				x[i] = a * cs[i] + b * sn[i];
				x[i + half] = b * cs[i] - a * sn[i];
			}
		}
	}
}

/* The attention backward of one (batch, KV head): its query heads one
 * after the other, positions in order. */
GEMMA3_CLONES static void attention_backward_kv(const gemma3_config *c, const gemma3_layer_acts *L,
						grad_scratch *s, int b, int kvh, int T, int window,
						float *dp)
{
	int Hq = c->num_heads, Hkv = c->num_kv_heads, hd = c->head_dim, grp = Hq / Hkv;
	float scale = (float)(1.0 / sqrt((double)c->query_pre_attn_scalar));
	float cap = c->attn_logit_softcapping;
	for (int h = kvh * grp; h < (kvh + 1) * grp; h++)
		for (int t = 0; t < T; t++) {
			int lo = t - window + 1 > 0 ? t - window + 1 : 0;
			const float *p = L->att + (((size_t)b * Hq + h) * T + t) * T;
			const float *gy = s->datty + ((size_t)(b * T + t) * Hq + h) * hd;
			const float *q = L->qr + ((size_t)(b * T + t) * Hq + h) * hd;
			float *dq = s->dqr + ((size_t)(b * T + t) * Hq + h) * hd;
			float sum = 0;
			for (int j = lo; j <= t; j++) {
				const float *v = L->v + ((size_t)(b * T + j) * Hkv + kvh) * hd;
				float *dv = s->dv + ((size_t)(b * T + j) * Hkv + kvh) * hd;
				dp[j] = dot(gy, v, hd);
				sum += p[j] * dp[j];
				float pj = p[j];
				#pragma omp simd
				for (int i = 0; i < hd; i++)
					dv[i] += pj * gy[i];
			}
			memset(dq, 0, hd * sizeof *dq);
			for (int j = lo; j <= t; j++) {
				const float *k = L->kr + ((size_t)(b * T + j) * Hkv + kvh) * hd;
				float *dk = s->dkr + ((size_t)(b * T + j) * Hkv + kvh) * hd;
				float ds = p[j] * (dp[j] - sum); /* softmax backward */
				if (cap > 0) {
					float th = tanhf(dot(q, k, hd) * scale / cap);
					ds *= 1.0f - th * th;
				}
				ds *= scale;
				#pragma omp simd
				for (int i = 0; i < hd; i++) {
					dq[i] += ds * k[i];
					dk[i] += ds * q[i];
				}
			}
		}
}

/* Attention backward: from datty to dqr, dkr, dv (overwritten). Parallel
 * over (batch, KV head) so that the query heads sharing a KV head never
 * race on its gradients. dp: T floats for each of nt threads. */
static void attention_backward(const gemma3_config *c, const gemma3_layer_acts *L,
			       grad_scratch *s, int B, int T, int global, float *dp, int nt)
{
	int Hkv = c->num_kv_heads, hd = c->head_dim;
	int window = global ? T + 1 : c->sliding_window;
	memset(s->dkr, 0, (size_t)B * T * Hkv * hd * sizeof(float));
	memset(s->dv, 0, (size_t)B * T * Hkv * hd * sizeof(float));
#pragma omp parallel num_threads(nt)
	{
		float *mine = dp + (size_t)thread_num() * T;
#pragma omp for collapse(2) schedule(dynamic, 1)
		for (int b = 0; b < B; b++)
			for (int kvh = 0; kvh < Hkv; kvh++)
				attention_backward_kv(c, L, s, b, kvh, T, window, mine);
	}
}

static inline float gelu_tanh_and_grad(float x, float *grad)
{
	const float k = 0.7978845608028654f;
	float u = k * (x + 0.044715f * x * x * x), th = tanhf(u);
	*grad = 0.5f * (1.0f + th) + 0.5f * x * (1.0f - th * th) * k * (1.0f + 3.0f * 0.044715f * x * x);
	return 0.5f * x * (1.0f + th);
}

int gemma3_backward(const gemma3_config *c, const float *params, gemma3_acts *a,
		    const int32_t *tokens, const int32_t *targets, float loss_scale, float *grads,
		    grad_scratch *s, char *err, size_t errlen)
{
	if (!a->save_all)
		return errf(err, errlen, "gemma3_backward: the forward pass did not keep activations");
	int B = a->B, T = a->T, BT = B * T, d = c->hidden_size, ff = c->intermediate_size,
	    hd = c->head_dim, Hq = c->num_heads, Hkv = c->num_kv_heads, V = c->vocab_size, nt = 1;
#ifdef _OPENMP
	nt = omp_get_max_threads();
#endif
	/* Each thread's row of exps (V doubles) and of attention gradients (T
	 * floats), allocated before the threads start. */
	size_t ework = (size_t)nt * V * sizeof(double), work = ework + (size_t)nt * T * sizeof(float);
	double *ebuf = malloc(work);
	if (!ebuf)
		return errf(err, errlen, "out of memory for the backward pass (%zu MB for %d threads)",
			    work >> 20, nt);
	float *dpbuf = (float *)((char *)ebuf + ework);
	int rc = -1;
	gemma3_ptrs P, G;
	gemma3_ptrs_set(c, (float *)params, &P);
	gemma3_ptrs_set(c, grads, &G);

	/* Cross-entropy and soft-capping: dlogits in place of the logits. */
	float cap = c->final_logit_softcapping;
#pragma omp parallel num_threads(nt)
	{
		/* Each exp once: kept for the normalisation (the same bits as
		 * computing it twice). */
		double *e = ebuf + (size_t)thread_num() * V;
#pragma omp for schedule(static)
		for (int n = 0; n < BT; n++) {
			float *z = a->logits + (size_t)n * V;
			if (targets[n] < 0) {
				memset(z, 0, V * sizeof *z);
				continue;
			}
			float mx = -INFINITY;
			for (int j = 0; j < V; j++)
				if (z[j] > mx)
					mx = z[j];
			double sum = 0;
			for (int j = 0; j < V; j++) {
				e[j] = exp((double)z[j] - mx);
				sum += e[j];
			}
			for (int j = 0; j < V; j++) {
				float y = z[j];
				float g = (float)(e[j] / sum) - (j == targets[n] ? 1.0f : 0.0f);
				g *= loss_scale;
				if (cap > 0)
					g *= 1.0f - (y / cap) * (y / cap);
				z[j] = g;
			}
		}
	}
	/* Tied output: logits = lnf @ embed^T. */
	if (matmul_backward(s->dnorm, G.embed, a->logits, a->lnf, P.embed, BT, d, V, 0, err, errlen))
		goto out;
	rmsnorm_backward(s->dres, G.norm, s->dnorm, a->xfinal, a->lnf_rstd, P.norm, BT, d, 0);

	for (int l = c->num_layers - 1; l >= 0; l--) {
		const gemma3_layer_acts *L = &a->layer[l];
		const gemma3_layer_ptrs *W = &P.layer[l];
		gemma3_layer_ptrs *GW = &G.layer[l];
		int global = c->layer_is_global[l];
		/* x_next = xmid + rms(mlp; post_ff): dres is d(xmid) as it is. */
		rmsnorm_backward(s->dd, GW->ln_postff, s->dres, L->mlp, L->mlp_rstd, W->ln_postff, BT, d, 0);
		if (matmul_backward(s->dh, GW->wdown, s->dd, L->h, W->wdown, BT, ff, d, 0, err, errlen))
			goto out;
#pragma omp parallel for schedule(static)
		for (size_t i = 0; i < (size_t)BT * ff; i++) {
			float gg, ge = gelu_tanh_and_grad(L->gate[i], &gg);
			s->dgate[i] = s->dh[i] * L->up[i] * gg;
			s->dup[i] = s->dh[i] * ge;
		}
		if (matmul_backward(s->dnorm, GW->wgate, s->dgate, L->ln2, W->wgate, BT, d, ff, 0, err, errlen) ||
		    matmul_backward(s->dnorm, GW->wup, s->dup, L->ln2, W->wup, BT, d, ff, 1, err, errlen))
			goto out;
		rmsnorm_backward(s->dres, GW->ln_preff, s->dnorm, L->xmid, L->ln2_rstd, W->ln_preff, BT, d, 1);
		/* xmid = x + rms(o; post_attn). */
		rmsnorm_backward(s->dd, GW->ln_postattn, s->dres, L->o, L->o_rstd, W->ln_postattn, BT, d, 0);
		if (matmul_backward(s->datty, GW->wo, s->dd, L->atty, W->wo, BT, Hq * hd, d, 0, err, errlen))
			goto out;
		attention_backward(c, L, s, B, T, global, dpbuf, nt);
		const float *cs = global ? a->rope_cos_global : a->rope_cos_local;
		const float *sn = global ? a->rope_sin_global : a->rope_sin_local;
		rope_backward(s->dqr, BT, T, Hq, hd, cs, sn);
		rope_backward(s->dkr, BT, T, Hkv, hd, cs, sn);
		rmsnorm_backward(s->dq, GW->qnorm, s->dqr, L->q, L->q_rstd, W->qnorm, BT * Hq, hd, 0);
		rmsnorm_backward(s->dk, GW->knorm, s->dkr, L->k, L->k_rstd, W->knorm, BT * Hkv, hd, 0);
		if (matmul_backward(s->dnorm, GW->wq, s->dq, L->ln1, W->wq, BT, d, Hq * hd, 0, err, errlen) ||
		    matmul_backward(s->dnorm, GW->wk, s->dk, L->ln1, W->wk, BT, d, Hkv * hd, 1, err, errlen) ||
		    matmul_backward(s->dnorm, GW->wv, s->dv, L->ln1, W->wv, BT, d, Hkv * hd, 1, err, errlen))
			goto out;
		rmsnorm_backward(s->dres, GW->ln1, s->dnorm, L->x, L->ln1_rstd, W->ln1, BT, d, 1);
	}
	/* Embedding: x0 = embed[tok] * sqrt(d). Serial over positions since
	 * a token may repeat; parallel over the hidden dimension. */
	float es = gemma3_embed_scale(c);
#pragma omp parallel for schedule(static)
	for (int i = 0; i < d; i++)
		for (int n = 0; n < BT; n++)
			G.embed[(size_t)tokens[n] * d + i] += s->dres[(size_t)n * d + i] * es;
	rc = 0;
out:
	free(ebuf);
	return rc;
}

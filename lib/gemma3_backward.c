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

/* Everything a backward pass writes besides the gradients, made once so
 * that a training step allocates nothing (a long run cannot run out of
 * memory half-way). */
struct grad_scratch {
	float *dres;    /* [BT,d] gradient of the residual stream */
	float *dnorm;   /* [BT,d] gradient of a norm's output */
	float *dd;      /* [BT,d] gradient of o / mlp (a norm's input) */
	float *dq, *dk, *dv;    /* [BT,Hq*hd] [BT,Hkv*hd] x2 */
	float *dqr, *dkr;       /* gradients after RoPE */
	float *datty;   /* [BT,Hq*hd] */
	float *dgate, *dup, *dh; /* [BT,ff] */
	int B, T;       /* the batch it is made for */
	int nt;         /* threads the per-thread buffers below are made for */
	double *exps;   /* [nt,V] each thread's exps of a row of logits */
	float *dp;      /* [nt,T] each thread's attention gradients of a row */
	float *gemm_ws; /* the matrix products' packing (gemma3_matmul_workspace) */
};

static void scratch_release(grad_scratch *s)
{
	void *b[] = { s->dres, s->dnorm, s->dd, s->dq, s->dk, s->dv, s->dqr, s->dkr, s->datty,
		      s->dgate, s->dup, s->dh, s->exps, s->dp, s->gemm_ws };
	for (size_t i = 0; i < sizeof b / sizeof b[0]; i++)
		free(b[i]);
}

grad_scratch *grad_scratch_new(const gemma3_config *c, int B, int T, char *err, size_t errlen)
{
	size_t BT = (size_t)B * T, d = c->hidden_size, ff = c->intermediate_size,
	       q = (size_t)c->num_heads * c->head_dim, kv = (size_t)c->num_kv_heads * c->head_dim;
	size_t widest = d > ff ? d : ff, fl = sizeof(float), total = 0;
	widest = widest > q ? widest : q;
	grad_scratch t = { .B = B, .T = T, .nt = 1 };
#ifdef _OPENMP
	t.nt = omp_get_max_threads();
#endif
	struct { void *p; size_t bytes; } bufs[] = {
		{ &t.dres, BT * d * fl }, { &t.dnorm, BT * d * fl }, { &t.dd, BT * d * fl },
		{ &t.dq, BT * q * fl }, { &t.dk, BT * kv * fl }, { &t.dv, BT * kv * fl },
		{ &t.dqr, BT * q * fl }, { &t.dkr, BT * kv * fl }, { &t.datty, BT * q * fl },
		{ &t.dgate, BT * ff * fl }, { &t.dup, BT * ff * fl }, { &t.dh, BT * ff * fl },
		{ &t.exps, (size_t)t.nt * c->vocab_size * sizeof(double) },
		{ &t.dp, (size_t)t.nt * T * fl },
		{ &t.gemm_ws, gemma3_matmul_workspace((int)widest, t.nt) * fl },
	};
	grad_scratch *s = NULL;
	for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
		total += bufs[i].bytes;
	for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
		if (!(*(void **)bufs[i].p = malloc(bufs[i].bytes)))
			goto oom;
	if (!(s = malloc(sizeof *s)))
		goto oom;
	*s = t;
	return s;
oom:
	scratch_release(&t);
	errf(err, errlen, "out of memory for the backward pass (%zu MB for B=%d T=%d, %d threads)",
	     total >> 20, B, T, t.nt);
	return NULL;
}

void grad_scratch_free(grad_scratch *s)
{
	if (!s)
		return;
	scratch_release(s);
	free(s);
}

#define dot gemma3_dot_inline

/* Forward out[N,OC] = inp[N,C] @ W[OC,C]^T. Backward:
 * dinp[N,C] (overwritten unless accumulate) = dout @ W; dW[OC,C] += dout^T @ inp.
 * lib/gemma3_matmul.c: every output element sums its terms in ascending
 * order, whatever the blocking or thread count. */
static void matmul_backward(float *dinp, float *dW, const float *dout, const float *inp,
			    const float *W, int N, int C, int OC, int accumulate, grad_scratch *s,
			    int nt)
{
	if (dinp)
		gemma3_matmul_backward_input(dinp, dout, W, N, C, OC, accumulate, s->gemm_ws, nt);
	gemma3_matmul_backward_weight(dW, dout, inp, N, C, OC, s->gemm_ws, nt);
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
		float *mine = dp + (size_t)gemma3_thread_num() * T;
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
	    hd = c->head_dim, Hq = c->num_heads, Hkv = c->num_kv_heads, V = c->vocab_size, nt = s->nt;
	if (B != s->B || T != s->T)
		return errf(err, errlen, "gemma3_backward: activations for B=%d T=%d, scratch for B=%d T=%d",
			    B, T, s->B, s->T);
	/* The per-thread buffers were made for s->nt threads; fewer may run. */
#ifdef _OPENMP
	if (omp_get_max_threads() < nt)
		nt = omp_get_max_threads();
#endif
	gemma3_ptrs P, G;
	gemma3_ptrs_set(c, (float *)params, &P);
	gemma3_ptrs_set(c, grads, &G);

	/* Cross-entropy and soft-capping: dlogits in place of the logits. */
	float cap = c->final_logit_softcapping;
#pragma omp parallel num_threads(nt)
	{
		/* Each exp once: kept for the normalisation (the same bits as
		 * computing it twice). */
		double *e = s->exps + (size_t)gemma3_thread_num() * V;
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
	matmul_backward(s->dnorm, G.embed, a->logits, a->lnf, P.embed, BT, d, V, 0, s, nt);
	rmsnorm_backward(s->dres, G.norm, s->dnorm, a->xfinal, a->lnf_rstd, P.norm, BT, d, 0);

	for (int l = c->num_layers - 1; l >= 0; l--) {
		const gemma3_layer_acts *L = &a->layer[l];
		const gemma3_layer_ptrs *W = &P.layer[l];
		gemma3_layer_ptrs *GW = &G.layer[l];
		int global = c->layer_is_global[l];
		/* x_next = xmid + rms(mlp; post_ff): dres is d(xmid) as it is. */
		rmsnorm_backward(s->dd, GW->ln_postff, s->dres, L->mlp, L->mlp_rstd, W->ln_postff, BT, d, 0);
		matmul_backward(s->dh, GW->wdown, s->dd, L->h, W->wdown, BT, ff, d, 0, s, nt);
#pragma omp parallel for schedule(static)
		for (size_t i = 0; i < (size_t)BT * ff; i++) {
			float gg, ge = gelu_tanh_and_grad(L->gate[i], &gg);
			s->dgate[i] = s->dh[i] * L->up[i] * gg;
			s->dup[i] = s->dh[i] * ge;
		}
		matmul_backward(s->dnorm, GW->wgate, s->dgate, L->ln2, W->wgate, BT, d, ff, 0, s, nt);
		matmul_backward(s->dnorm, GW->wup, s->dup, L->ln2, W->wup, BT, d, ff, 1, s, nt);
		rmsnorm_backward(s->dres, GW->ln_preff, s->dnorm, L->xmid, L->ln2_rstd, W->ln_preff, BT, d, 1);
		/* xmid = x + rms(o; post_attn). */
		rmsnorm_backward(s->dd, GW->ln_postattn, s->dres, L->o, L->o_rstd, W->ln_postattn, BT, d, 0);
		matmul_backward(s->datty, GW->wo, s->dd, L->atty, W->wo, BT, Hq * hd, d, 0, s, nt);
		attention_backward(c, L, s, B, T, global, s->dp, nt);
		const float *cs = global ? a->rope_cos_global : a->rope_cos_local;
		const float *sn = global ? a->rope_sin_global : a->rope_sin_local;
		rope_backward(s->dqr, BT, T, Hq, hd, cs, sn);
		rope_backward(s->dkr, BT, T, Hkv, hd, cs, sn);
		rmsnorm_backward(s->dq, GW->qnorm, s->dqr, L->q, L->q_rstd, W->qnorm, BT * Hq, hd, 0);
		rmsnorm_backward(s->dk, GW->knorm, s->dkr, L->k, L->k_rstd, W->knorm, BT * Hkv, hd, 0);
		matmul_backward(s->dnorm, GW->wq, s->dq, L->ln1, W->wq, BT, d, Hq * hd, 0, s, nt);
		matmul_backward(s->dnorm, GW->wk, s->dk, L->ln1, W->wk, BT, d, Hkv * hd, 1, s, nt);
		matmul_backward(s->dnorm, GW->wv, s->dv, L->ln1, W->wv, BT, d, Hkv * hd, 1, s, nt);
		rmsnorm_backward(s->dres, GW->ln1, s->dnorm, L->x, L->ln1_rstd, W->ln1, BT, d, 1);
	}
	/* Embedding: x0 = embed[tok] * sqrt(d). Serial over positions since
	 * a token may repeat; parallel over the hidden dimension. */
	float es = gemma3_embed_scale(c);
#pragma omp parallel for schedule(static)
	for (int i = 0; i < d; i++)
		for (int n = 0; n < BT; n++)
			G.embed[(size_t)tokens[n] * d + i] += s->dres[(size_t)n * d + i] * es;
	return 0;
}

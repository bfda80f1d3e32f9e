/* gemma3_forward.c - the forward pass of Gemma 3, written to match Hugging
 * Face transformers' Gemma3ForCausalLM (eager attention) in float32:
 *
 *   x = embed[tok] * (float)sqrt(d)
 *   per layer:  h = attn(rms(x; ln1)); x = x + rms(h; post_attn)
 *               h = mlp(rms(x; pre_ff));  x = x + rms(h; post_ff)
 *   logits = rms(x; norm) @ embed^T   (soft-capped when configured)
 *
 * rms(x; w) = x * rsqrt(mean(x^2) + eps) * (1 + w). Attention: QK-norm
 * (rms per head) before RoPE, scores scaled by query_pre_attn_scalar^-0.5,
 * causal, and on sliding layers key j is visible from query i only when
 * i - window < j <= i. MLP: down(gelu_tanh(gate(x)) * up(x)). */
#include "gemma3.h"
#include "cli.h"
#include "gemma3_matmul.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

float gemma3_embed_scale(const gemma3_config *c)
{
	/* Gemma multiplies by sqrt(d) cast to the compute dtype. */
	return (float)sqrt((double)c->hidden_size);
}

void gemma3_rope_table(int T, int hd, double base, double scaling, float *cos_t, float *sin_t)
{
	int half = hd / 2;
	for (int i = 0; i < half; i++) {
		/* inv_freq as transformers computes it, in float32. */
		float inv = (float)(1.0 / pow(base, (double)(2 * i) / hd));
		inv = (float)(inv / scaling);
		for (int t = 0; t < T; t++) {
			float ang = (float)t * inv;
			cos_t[(size_t)t * half + i] = (float)cos((double)ang);
			sin_t[(size_t)t * half + i] = (float)sin((double)ang);
		}
	}
}

/* ---- building blocks (also used by the decoder) ---- */

#define dot gemma3_dot_inline

/* The matrix products are in gemma3_matmul.c (blocked, vectorised,
 * multiversioned; the same bits for any thread count or batch size). */
#define matmul gemma3_matmul_forward

static void rmsnorm(float *out, float *rstd, const float *inp, const float *w, int N, int C,
		    float eps)
{
#pragma omp parallel for schedule(static)
	for (int n = 0; n < N; n++) {
		const float *x = inp + (size_t)n * C;
		double ss = 0;
		for (int i = 0; i < C; i++)
			ss += (double)x[i] * x[i];
		float r = (float)(1.0 / sqrt(ss / C + eps));
		if (rstd)
			rstd[n] = r;
		float *y = out + (size_t)n * C;
		for (int i = 0; i < C; i++)
			y[i] = (x[i] * r) * (1.0f + w[i]);
	}
}

/* RoPE on one head vector, rotate_half convention: the pairs are (i, i+hd/2). */
static inline void rope(float *x, const float *cs, const float *sn, int hd)
{
	int half = hd / 2;
	for (int i = 0; i < half; i++) {
		float a = x[i], b = x[i + half];
		x[i] = a * cs[i] - b * sn[i];
		x[i + half] = b * cs[i] + a * sn[i];
	}
}

static inline float gelu_tanh(float x)
{
	const float k = 0.7978845608028654f; /* sqrt(2/pi) */
	return 0.5f * x * (1.0f + tanhf(k * (x + 0.044715f * x * x * x)));
}

/* ---- activations ---- */

typedef struct { size_t off; size_t n; } span;

/* With logits_buf, the logits go there instead of a buffer of their own. */
static gemma3_acts *acts_new(const gemma3_config *c, int B, int T, int save_all, float *logits_buf,
			     char *err, size_t errlen)
{
	size_t BT = (size_t)B * T, d = c->hidden_size, ff = c->intermediate_size,
	       hd = c->head_dim, Hq = c->num_heads, Hkv = c->num_kv_heads, V = c->vocab_size;
	size_t per[] = {
		BT * d, BT * d, BT, BT * Hq * hd, BT * Hkv * hd, BT * Hkv * hd, BT * Hq, BT * Hkv,
		BT * Hq * hd, BT * Hkv * hd, (size_t)B * Hq * T * T, BT * Hq * hd, BT * d, BT, BT * d,
		BT * d, BT, BT * ff, BT * ff, BT * ff, BT * d, BT,
	};
	enum { NPER = sizeof per / sizeof per[0] };
	size_t layer_total = 0;
	for (int i = 0; i < NPER; i++)
		layer_total += per[i];
	int nl = save_all ? c->num_layers : 1;
	size_t half = hd / 2;
	size_t total = 2 * BT + layer_total * nl + BT * d * 2 + BT + (logits_buf ? 0 : BT * V) +
		       4 * (size_t)T * half;
	gemma3_acts *a = calloc(1, sizeof *a);
	float *m = a ? malloc(total * sizeof(float)) : NULL;
	if (!m) {
		free(a);
		errf(err, errlen, "out of memory for activations (%zu MB for B=%d T=%d)", total * 4 >> 20,
		     B, T);
		return NULL;
	}
	a->B = B;
	a->T = T;
	a->save_all = save_all;
	a->mem = m;
	a->loss_rows = (double *)m; /* first: malloc's alignment suits doubles */
	m += 2 * BT;
	for (int l = 0; l < c->num_layers; l++) {
		gemma3_layer_acts *L = &a->layer[l];
		if (l >= nl) {
			*L = a->layer[0];
			continue;
		}
		float **ptrs[] = {
			&L->x, &L->ln1, &L->ln1_rstd, &L->q, &L->k, &L->v, &L->q_rstd, &L->k_rstd,
			&L->qr, &L->kr, &L->att, &L->atty, &L->o, &L->o_rstd, &L->xmid, &L->ln2,
			&L->ln2_rstd, &L->gate, &L->up, &L->h, &L->mlp, &L->mlp_rstd,
		};
		for (int i = 0; i < NPER; i++) {
			*ptrs[i] = m;
			m += per[i];
		}
	}
	a->xfinal = m; m += BT * d;
	a->lnf = m; m += BT * d;
	a->lnf_rstd = m; m += BT;
	if (logits_buf) {
		a->logits = logits_buf;
	} else {
		a->logits = m;
		m += BT * V;
	}
	a->rope_cos_local = m; m += T * half;
	a->rope_sin_local = m; m += T * half;
	a->rope_cos_global = m; m += T * half;
	a->rope_sin_global = m;
	gemma3_rope_table(T, c->head_dim, c->rope_local_base, c->rope_local_scaling_factor,
			  a->rope_cos_local, a->rope_sin_local);
	gemma3_rope_table(T, c->head_dim, c->rope_global_base, c->rope_global_scaling_factor,
			  a->rope_cos_global, a->rope_sin_global);
	return a;
}

gemma3_acts *gemma3_acts_new(const gemma3_config *c, int B, int T, int save_all, char *err,
			     size_t errlen)
{
	return acts_new(c, B, T, save_all, NULL, err, errlen);
}

void gemma3_acts_free(gemma3_acts *a)
{
	if (!a)
		return;
	free(a->mem);
	free(a);
}

/* ---- the forward pass ---- */

/* One query row of attention: probabilities p[0..T) and output y[hd]. */
GEMMA3_CLONES static void attention_row(const float *q, const float *kr, const float *vv, float *p,
					float *y, int t, int lo, int T, int hd, size_t kstride,
					float scale, float cap)
{
	float mx = -INFINITY;
	for (int j = lo; j <= t; j++) {
		float s = dot(q, kr + (size_t)j * kstride, hd) * scale;
		if (cap > 0)
			s = tanhf(s / cap) * cap;
		p[j] = s;
		if (s > mx)
			mx = s;
	}
	float sum = 0;
	for (int j = lo; j <= t; j++) {
		p[j] = expf(p[j] - mx);
		sum += p[j];
	}
	float inv = 1.0f / sum;
	for (int j = 0; j < T; j++)
		p[j] = j >= lo && j <= t ? p[j] * inv : 0.0f;
	memset(y, 0, hd * sizeof *y);
	for (int j = lo; j <= t; j++) {
		const float *v = vv + (size_t)j * kstride;
		float pj = p[j];
		#pragma omp simd
		for (int i = 0; i < hd; i++)
			y[i] += pj * v[i];
	}
}

static void attention_forward(const gemma3_config *c, gemma3_layer_acts *L, int B, int T,
			      int global)
{
	int Hq = c->num_heads, Hkv = c->num_kv_heads, hd = c->head_dim, grp = Hq / Hkv;
	int window = global ? T + 1 : c->sliding_window;
	float scale = (float)(1.0 / sqrt((double)c->query_pre_attn_scalar));
	float cap = c->attn_logit_softcapping;
	size_t kstride = (size_t)Hkv * hd;
#pragma omp parallel for collapse(3) schedule(dynamic, 4)
	for (int b = 0; b < B; b++)
		for (int h = 0; h < Hq; h++)
			for (int t = 0; t < T; t++) {
				int kvh = h / grp;
				int lo = t - window + 1 > 0 ? t - window + 1 : 0;
				attention_row(L->qr + ((size_t)(b * T + t) * Hq + h) * hd,
					      L->kr + (size_t)b * T * kstride + (size_t)kvh * hd,
					      L->v + (size_t)b * T * kstride + (size_t)kvh * hd,
					      L->att + (((size_t)b * Hq + h) * T + t) * T,
					      L->atty + ((size_t)(b * T + t) * Hq + h) * hd, t, lo, T, hd,
					      kstride, scale, cap);
			}
}

/* QK-norm then RoPE for every head of every position. */
static void qk_norm_rope(const float *in, float *out, float *rstd, const float *w, int BT, int T,
			 int H, int hd, float eps, const float *cos_t, const float *sin_t)
{
	rmsnorm(out, rstd, in, w, BT * H, hd, eps);
	int half = hd / 2;
#pragma omp parallel for schedule(static)
	for (int n = 0; n < BT; n++) {
		int t = n % T;
		for (int h = 0; h < H; h++)
			rope(out + ((size_t)n * H + h) * hd, cos_t + (size_t)t * half,
			     sin_t + (size_t)t * half, hd);
	}
}

int gemma3_forward(const gemma3_config *c, const float *params, gemma3_acts *a,
		   const int32_t *tokens, char *err, size_t errlen)
{
	int B = a->B, T = a->T, BT = B * T, d = c->hidden_size, ff = c->intermediate_size,
	    hd = c->head_dim, Hq = c->num_heads, Hkv = c->num_kv_heads, V = c->vocab_size;
	for (int n = 0; n < BT; n++)
		if (tokens[n] < 0 || tokens[n] >= V)
			return errf(err, errlen, "token %d out of range (vocabulary %d)", tokens[n], V);
	gemma3_ptrs P;
	gemma3_ptrs_set(c, (float *)params, &P);
	float es = gemma3_embed_scale(c), eps = c->rms_norm_eps;
	float *x0 = a->layer[0].x;
	for (int n = 0; n < BT; n++) {
		int tok = tokens[n];
		const float *e = P.embed + (size_t)tok * d;
		for (int i = 0; i < d; i++)
			x0[(size_t)n * d + i] = e[i] * es;
	}
	for (int l = 0; l < c->num_layers; l++) {
		gemma3_layer_acts *L = &a->layer[l];
		const gemma3_layer_ptrs *W = &P.layer[l];
		int global = c->layer_is_global[l];
		float *xnext = l + 1 < c->num_layers ? a->layer[l + 1].x : a->xfinal;
		rmsnorm(L->ln1, L->ln1_rstd, L->x, W->ln1, BT, d, eps);
		matmul(L->q, L->ln1, W->wq, BT, d, Hq * hd);
		matmul(L->k, L->ln1, W->wk, BT, d, Hkv * hd);
		matmul(L->v, L->ln1, W->wv, BT, d, Hkv * hd);
		const float *cs = global ? a->rope_cos_global : a->rope_cos_local;
		const float *sn = global ? a->rope_sin_global : a->rope_sin_local;
		qk_norm_rope(L->q, L->qr, L->q_rstd, W->qnorm, BT, T, Hq, hd, eps, cs, sn);
		qk_norm_rope(L->k, L->kr, L->k_rstd, W->knorm, BT, T, Hkv, hd, eps, cs, sn);
		attention_forward(c, L, B, T, global);
		matmul(L->o, L->atty, W->wo, BT, Hq * hd, d);
		/* xmid = x + rms(o); ln2 is scratch for rms(o) here. */
		rmsnorm(L->ln2, L->o_rstd, L->o, W->ln_postattn, BT, d, eps);
		for (size_t i = 0; i < (size_t)BT * d; i++)
			L->xmid[i] = L->x[i] + L->ln2[i];
		rmsnorm(L->ln2, L->ln2_rstd, L->xmid, W->ln_preff, BT, d, eps);
		matmul(L->gate, L->ln2, W->wgate, BT, d, ff);
		matmul(L->up, L->ln2, W->wup, BT, d, ff);
#pragma omp parallel for schedule(static)
		for (size_t i = 0; i < (size_t)BT * ff; i++)
			L->h[i] = gelu_tanh(L->gate[i]) * L->up[i];
		matmul(L->mlp, L->h, W->wdown, BT, ff, d);
		/* x(next) = xmid + rms(mlp); in inference mode xnext is this
		 * layer's x, which is no longer needed. */
		rmsnorm(xnext, L->mlp_rstd, L->mlp, W->ln_postff, BT, d, eps);
		for (size_t i = 0; i < (size_t)BT * d; i++)
			xnext[i] += L->xmid[i];
	}
	rmsnorm(a->lnf, a->lnf_rstd, a->xfinal, P.norm, BT, d, eps);
	matmul(a->logits, a->lnf, P.embed, BT, d, V);
	float cap = c->final_logit_softcapping;
	if (cap > 0)
		for (size_t i = 0; i < (size_t)BT * V; i++)
			a->logits[i] = tanhf(a->logits[i] / cap) * cap;
	return 0;
}

int gemma3_loss(const gemma3_config *c, const gemma3_acts *a, const int32_t *targets,
		double *loss, long *n, char *err, size_t errlen)
{
	int BT = a->B * a->T, V = c->vocab_size;
	for (int i = 0; i < BT; i++)
		if (targets[i] >= V)
			return errf(err, errlen, "target token %d out of range (vocabulary %d)", targets[i], V);
	/* Per-position losses summed in order afterwards: the same bits for
	 * any thread count (an OpenMP reduction has no fixed order). */
	double *row = a->loss_rows;
#pragma omp parallel for schedule(static)
	for (int i = 0; i < BT; i++) {
		row[i] = 0;
		if (targets[i] < 0)
			continue;
		const float *z = a->logits + (size_t)i * V;
		double mx = -INFINITY;
		for (int j = 0; j < V; j++)
			if (z[j] > mx)
				mx = z[j];
		double s = 0;
		for (int j = 0; j < V; j++)
			s += exp(z[j] - mx);
		row[i] = mx + log(s) - z[targets[i]];
	}
	double total = 0;
	long cnt = 0;
	for (int i = 0; i < BT; i++)
		if (targets[i] >= 0) {
			total += row[i];
			cnt++;
		}
	if (n)
		*n = cnt;
	*loss = cnt ? total / cnt : 0;
	return 0;
}

/* ---- inference ---- */

int gemma3_logits(gemma3_model *m, const int32_t *tokens, int B, int T, float *logits, char *err,
		  size_t errlen)
{
	const gemma3_config *c = gemma3_model_config(m);
	gemma3_acts *a = acts_new(c, B, T, 0, logits, err, errlen);
	if (!a)
		return -1;
	int rc = gemma3_forward(c, gemma3_model_params(m), a, tokens, err, errlen);
	gemma3_acts_free(a);
	return rc;
}

/* The decoder keeps the keys and values (after QK-norm and RoPE) of the
 * positions attention can still see: a global layer keeps all max_T
 * positions, a sliding layer only its last sliding_window, in a ring buffer
 * (position t in slot t mod window). Memory per layer, in floats:
 *   global:  2 * max_T * num_kv_heads * head_dim
 *   sliding: 2 * min(sliding_window, max_T) * num_kv_heads * head_dim
 * Attention still visits positions in ascending order, so the results are
 * those of the full forward pass. */
struct gemma3_kv {
	int max_T, pos, num_layers;
	float *k, *v;                 /* every layer's slots, [cap][Hkv*hd] each */
	size_t *off;                  /* [num_layers] start of a layer's slots */
	int *cap;                     /* [num_layers] slots of a layer */
	float *cos_l, *sin_l, *cos_g, *sin_g;
	float *x, *xn, *q, *att, *atty, *o, *gate, *up, *mlp, *scratch;
};

gemma3_kv *gemma3_kv_new(const gemma3_model *m, int max_T, char *err, size_t errlen)
{
	const gemma3_config *c = gemma3_model_config(m);
	if (max_T < 1) {
		errf(err, errlen, "gemma3_kv_new: max_T %d", max_T);
		return NULL;
	}
	size_t d = c->hidden_size, ff = c->intermediate_size, hd = c->head_dim,
	       q = (size_t)c->num_heads * hd, kvd = (size_t)c->num_kv_heads * hd, half = hd / 2;
	size_t slots = 0, total = 0;
	gemma3_kv *kv = calloc(1, sizeof *kv);
	if (!kv || !(kv->off = malloc((size_t)c->num_layers * sizeof *kv->off)) ||
	    !(kv->cap = malloc((size_t)c->num_layers * sizeof *kv->cap)))
		goto oom;
	kv->max_T = max_T;
	kv->num_layers = c->num_layers;
	for (int l = 0; l < c->num_layers; l++) {
		int window = c->sliding_window > 0 ? c->sliding_window : max_T;
		kv->cap[l] = c->layer_is_global[l] || window > max_T ? max_T : window;
		kv->off[l] = slots * kvd;
		slots += (size_t)kv->cap[l];
	}
	struct { float **p; size_t n; } bufs[] = {
		{ &kv->k, slots * kvd }, { &kv->v, slots * kvd },
		{ &kv->cos_l, (size_t)max_T * half }, { &kv->sin_l, (size_t)max_T * half },
		{ &kv->cos_g, (size_t)max_T * half }, { &kv->sin_g, (size_t)max_T * half },
		{ &kv->x, d }, { &kv->xn, d }, { &kv->q, q }, { &kv->att, (size_t)c->num_heads * max_T },
		{ &kv->atty, q }, { &kv->o, d }, { &kv->gate, ff }, { &kv->up, ff }, { &kv->mlp, d },
		{ &kv->scratch, q > d ? q : d },
	};
	for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
		total += bufs[i].n * sizeof(float);
	for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
		if (!(*bufs[i].p = calloc(bufs[i].n, sizeof(float))))
			goto oom;
	gemma3_rope_table(max_T, c->head_dim, c->rope_local_base, c->rope_local_scaling_factor,
			  kv->cos_l, kv->sin_l);
	gemma3_rope_table(max_T, c->head_dim, c->rope_global_base, c->rope_global_scaling_factor,
			  kv->cos_g, kv->sin_g);
	return kv;
oom:
	gemma3_kv_free(kv);
	errf(err, errlen, "out of memory for the decoder's cache (%zu MB for %d positions)", total >> 20,
	     max_T);
	return NULL;
}

void gemma3_kv_free(gemma3_kv *kv)
{
	if (!kv)
		return;
	float *bufs[] = { kv->k, kv->v, kv->cos_l, kv->sin_l, kv->cos_g, kv->sin_g, kv->x, kv->xn,
			  kv->q, kv->att, kv->atty, kv->o, kv->gate, kv->up, kv->mlp, kv->scratch };
	for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
		free(bufs[i]);
	free(kv->off);
	free(kv->cap);
	free(kv);
}

int gemma3_kv_pos(const gemma3_kv *kv) { return kv->pos; }

int gemma3_decode_step(gemma3_model *m, gemma3_kv *kv, int32_t token, float *logits, char *err,
		       size_t errlen)
{
	const gemma3_config *c = gemma3_model_config(m);
	int d = c->hidden_size, ff = c->intermediate_size, hd = c->head_dim, Hq = c->num_heads,
	    Hkv = c->num_kv_heads, V = c->vocab_size, grp = Hq / Hkv, half = hd / 2;
	int t = kv->pos;
	if (t >= kv->max_T)
		return errf(err, errlen, "decoder: more than %d tokens", kv->max_T);
	if (token < 0 || token >= V)
		return errf(err, errlen, "token %d out of range (vocabulary %d)", token, V);
	gemma3_ptrs P;
	gemma3_ptrs_set(c, gemma3_model_params(m), &P);
	float eps = c->rms_norm_eps, es = gemma3_embed_scale(c);
	float scale = (float)(1.0 / sqrt((double)c->query_pre_attn_scalar));
	float acap = c->attn_logit_softcapping;
	size_t kvd = (size_t)Hkv * hd;
	for (int i = 0; i < d; i++)
		kv->x[i] = P.embed[(size_t)token * d + i] * es;
	for (int l = 0; l < c->num_layers; l++) {
		const gemma3_layer_ptrs *W = &P.layer[l];
		int global = c->layer_is_global[l];
		const float *cs = (global ? kv->cos_g : kv->cos_l) + (size_t)t * half;
		const float *sn = (global ? kv->sin_g : kv->sin_l) + (size_t)t * half;
		float *kc = kv->k + kv->off[l], *vc = kv->v + kv->off[l];
		int cap = kv->cap[l], slot = t % cap; /* global layers: cap = max_T > t */
		rmsnorm(kv->xn, NULL, kv->x, W->ln1, 1, d, eps);
		matmul(kv->scratch, kv->xn, W->wq, 1, d, Hq * hd);
		rmsnorm(kv->q, NULL, kv->scratch, W->qnorm, Hq, hd, eps);
		matmul(kv->scratch, kv->xn, W->wk, 1, d, Hkv * hd);
		rmsnorm(kc + (size_t)slot * kvd, NULL, kv->scratch, W->knorm, Hkv, hd, eps);
		matmul(vc + (size_t)slot * kvd, kv->xn, W->wv, 1, d, Hkv * hd);
		for (int h = 0; h < Hq; h++)
			rope(kv->q + (size_t)h * hd, cs, sn, hd);
		for (int h = 0; h < Hkv; h++)
			rope(kc + (size_t)slot * kvd + (size_t)h * hd, cs, sn, hd);
		int lo = global ? 0 : (t - c->sliding_window + 1 > 0 ? t - c->sliding_window + 1 : 0);
#pragma omp parallel for schedule(static)
		for (int h = 0; h < Hq; h++) {
			int kvh = h / grp;
			/* p[j - lo]; position j lives in slot j mod cap. */
			float *p = kv->att + (size_t)h * kv->max_T, mx = -INFINITY, sum = 0;
			for (int j = lo; j <= t; j++) {
				float s = dot(kv->q + (size_t)h * hd, kc + (size_t)(j % cap) * kvd + (size_t)kvh * hd, hd) * scale;
				if (acap > 0)
					s = tanhf(s / acap) * acap;
				p[j - lo] = s;
				if (s > mx)
					mx = s;
			}
			for (int j = lo; j <= t; j++) {
				p[j - lo] = expf(p[j - lo] - mx);
				sum += p[j - lo];
			}
			float inv = 1.0f / sum, *y = kv->atty + (size_t)h * hd;
			memset(y, 0, hd * sizeof *y);
			for (int j = lo; j <= t; j++) {
				const float *v = vc + (size_t)(j % cap) * kvd + (size_t)kvh * hd;
				float pj = p[j - lo] * inv;
				#pragma omp simd
				for (int i = 0; i < hd; i++)
					y[i] += pj * v[i];
			}
		}
		matmul(kv->o, kv->atty, W->wo, 1, Hq * hd, d);
		rmsnorm(kv->xn, NULL, kv->o, W->ln_postattn, 1, d, eps);
		for (int i = 0; i < d; i++)
			kv->x[i] += kv->xn[i];
		rmsnorm(kv->xn, NULL, kv->x, W->ln_preff, 1, d, eps);
		matmul(kv->gate, kv->xn, W->wgate, 1, d, ff);
		matmul(kv->up, kv->xn, W->wup, 1, d, ff);
		for (int i = 0; i < ff; i++)
			kv->gate[i] = gelu_tanh(kv->gate[i]) * kv->up[i];
		matmul(kv->mlp, kv->gate, W->wdown, 1, ff, d);
		rmsnorm(kv->xn, NULL, kv->mlp, W->ln_postff, 1, d, eps);
		for (int i = 0; i < d; i++)
			kv->x[i] += kv->xn[i];
	}
	rmsnorm(kv->xn, NULL, kv->x, P.norm, 1, d, eps);
	matmul(logits, kv->xn, P.embed, 1, d, V);
	float cap = c->final_logit_softcapping;
	if (cap > 0)
		for (int i = 0; i < V; i++)
			logits[i] = tanhf(logits[i] / cap) * cap;
	kv->pos++;
	return 0;
}

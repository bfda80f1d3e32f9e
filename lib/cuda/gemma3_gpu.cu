/* gemma3_gpu.cu - the Gemma 3 model on the GPU (see gemma3_gpu.h): buffers, the
 * layer-by-layer forward and backward passes, cuBLASLt matrix products (the
 * MLP's gate/up and dg products by product_geglu.cuh on sm_90a), AdamW. The
 * kernels are in the other files of lib/cuda/, one family each.
 *
 * Per token and layer the forward pass keeps (unless --recompute): the
 * fp32 residual entering the layer and after attention, the bf16 inputs of
 * each matrix product (normed x, q/k/v, q/k after norm+RoPE, attention
 * output, o_proj output, normed x, gate|up, down_proj output) and the
 * rstd of each norm; gelu(gate)*up is recomputed in the backward pass. */
#include <cublasLt.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <string>
#include <vector>

#include "adamw.cuh"
#include "attention_hopper.cuh"
#include "attention_hopper_wide.cuh"
#include "attention_tile128.cuh"
#include "cross_entropy.cuh"
#include "embedding.cuh"
#include "gemma3_gpu.h"
#include "geglu.cuh"
#include "kv_attention.cuh"
#include "norms.cuh"
#include "product.cuh"
#include "product_geglu.cuh"
#include "product_survey.cuh"
#include "qk_norm_rope.cuh"

/* ---------------- the trainer ---------------- */
enum { P_CAT_GEMM, P_CAT_ATTN, P_CAT_ATTNB, P_CAT_NORM, P_CAT_NORMB, P_CAT_ROPE, P_CAT_GEGLU,
       P_CAT_CE, P_CAT_MISC, P_CAT_OPT, P_NCAT };
/* "matmul": cuBLASLt's products and the MLP's fused ones (their GeGLU
 * included), so that the floor ratio counts them as products */
static const char *cat_name[P_NCAT] = {"matmul", "attention fwd", "attention bwd",
				       "add+rmsnorm fwd", "rmsnorm bwd (+dw)", "qk-norm+rope",
				       "geglu", "softmax+CE", "embedding/misc",
				       "AdamW+grad norm"};

struct LayerActs {
	bf16 *h1, *qkv, *qkr, *o, *a, *h2, *gu, *g, *m;
	float *rstd1, *qk_rstd, *lse, *rstd2, *xmid, *rstd3, *rstd4;
};

struct LayerOff { /* offsets into the parameter array, per tensor */
	size_t t[G3_PER_LAYER];
};

struct gemma3_gpu {
	gemma3_config c;
	int B, T, N, recompute;
	int d, ff, Hq, Hkv, hd, V, L, QKV, QK;
	size_t P;
	size_t Ppad; /* P, or more when data parallel: the gradients' and weights' length */
	size_t off_embed, off_norm;
	std::vector<LayerOff> lo;
	/* parameters; m and v hold the AdamW moments of [opt_lo, opt_hi) only
	 * (data parallel: this rank's slice; else all of them) */
	float *p, *m, *v, *grad;
	size_t opt_lo, opt_hi;
	/* data parallel: p holds the fp32 master weights of [opt_lo, opt_hi)
	 * only, at p[i - opt_lo]; pf holds whole the fp32 weights the forward
	 * pass reads (the embedding and the norm weights: fp32 tensors), the
	 * one at parameter offset f32_off[i] at pf + f32_at[i]. NULL: p holds
	 * all the parameters. */
	float *pf;
	std::vector<size_t> f32_off, f32_len, f32_at;
	/* gemma3_gpu_reduce_during_next: called as buckets of gradients are
	 * complete during the next fwd_bwd (NULL: none), on stream cs after
	 * the events bev */
	gemma3_gpu_bucket_fn bucket_fn;
	void *bucket_ctx;
	cudaStream_t cs;
	std::vector<cudaEvent_t> bev;
	size_t bev_used;
	bf16 *pb;
	std::vector<unsigned char> decay;
	/* adamw_runs_kernel's table, rebuilt each step on the host (the decay
	 * value is an argument) and copied from pinned memory */
	AdamwRun *runs, *h_runs;
	/* activations */
	std::vector<float *> x; /* L+1 residuals [N,d] */
	std::vector<LayerActs> acts;
	bf16 *xf, *logits;
	float *rstdf;
	int rows_chunk;
	/* backward scratch */
	float *dx, *dh, *Dbuf, *partial, *loss;
	float *loss_host; /* pinned: the copy of loss runs without a sync */
	bf16 *dbf, *dg, *dgu, *do_, *dqkr, *dqkv;
	bf16 *dsbuf; /* BONSAI_ATTN=ds: the attention backward's dS^T */
	size_t partial_n;
	/* batch */
	int32_t *tok, *tgt, *e_uniq, *e_start, *e_pos;
	/* pinned copies of the batch and the embedding backward's order
	 * (2N ints, 5N + 1 when training): a copy from pageable memory may
	 * wait for the stream to drain (the host sat ~15 ms a step behind the
	 * forward pass that way); each call that fills these ends
	 * synchronised, so they are free again at the next */
	int32_t *h_tok, *h_tgt, *h_uniq, *h_start, *h_pos;
	float *rope_cos[2], *rope_sin[2];
	double *dsum;
	/* zero_grad only marks the gradients stale: the next fwd_bwd writes the
	 * products' gradients with beta = 0 and clears just the norm weights'
	 * (segments nz_off/nz_len), saving a pass over all P floats */
	int grad_stale;
	int nz;
	size_t *nz_off;
	int *nz_len;
	/* library */
	cudaStream_t st;
	cublasLtHandle_t lt;
	void *ws;
	size_t ws_size;
	ProductPlans plans;
	/* bookkeeping */
	size_t alloc_bytes, peak;
	char devname[160];
	int prof;
	std::vector<cudaEvent_t> ev;
	std::vector<int> evcat;
	cudaEvent_t span[2]; /* around each fwd_bwd's kernels (gemma3_gpu_last_span_ms) */
	float span_ms;
	size_t ev_used;
	double cat_ms[P_NCAT];
	long prof_steps;
	std::vector<void *> allocs;
	/* inference only (gemma3_gpu_create_infer): no gradients, AdamW state
	 * or backward scratch; x[] alternates between two buffers. Ncap, Tcap:
	 * the largest B*T and T a forward pass may have. */
	int infer, Ncap, Tcap;
	bf16 *xsel;             /* gemma3_gpu_logprobs: the rows that have a target */
	int32_t *sel;
	unsigned char *greedy;
	/* a decoder (gemma3_gpu_create_decoder): per layer the keys (after
	 * QK-norm and RoPE) and values of positions 0 .. Tcap - 1, [t][Hkv][hd];
	 * pos0: the position of the pass's first token (0 otherwise) */
	bf16 *kv_k, *kv_v;
	int pos0;
};

static void need_train(gemma3_gpu *g, const char *what)
{
	if (g->infer)
		die("internal error: %s on an inference-only GPU model", what);
}

static void *dalloc(gemma3_gpu *g, size_t bytes, int *fail)
{
	if (*fail || bytes == 0)
		return NULL;
	void *p = NULL;
	if (cudaMalloc(&p, (bytes + 255) & ~(size_t)255) != cudaSuccess) {
		cudaGetLastError();
		*fail = 1;
		return NULL;
	}
	g->alloc_bytes += (bytes + 255) & ~(size_t)255;
	g->allocs.push_back(p);
	return p;
}

static void mark(gemma3_gpu *g, int cat)
{
	if (!g->prof)
		return;
	if (g->ev_used == g->ev.size()) {
		cudaEvent_t e;
		CK(cudaEventCreate(&e));
		g->ev.push_back(e);
		g->evcat.push_back(0);
	}
	CK(cudaEventRecord(g->ev[g->ev_used], g->st));
	g->evcat[g->ev_used] = cat;
	g->ev_used++;
}

static void prof_collect(gemma3_gpu *g)
{
	if (!g->prof || g->ev_used < 2) {
		g->ev_used = 0;
		return;
	}
	CK(cudaEventSynchronize(g->ev[g->ev_used - 1]));
	for (size_t i = 1; i < g->ev_used; i++) {
		float ms;
		CK(cudaEventElapsedTime(&ms, g->ev[i - 1], g->ev[i]));
		g->cat_ms[g->evcat[i]] += ms;
	}
	g->ev_used = 0;
}

static int product_tries(void);

/* row-major C (M x N) = op(A) op(B) (+ C when acc), bf16 or fp32 (cf32) */
static void gemm(gemma3_gpu *g, int ta, int tb, int M, int N, int K, const bf16 *A, int lda,
		 const bf16 *B, int ldb, void *C, int ldc, int cf32, int acc)
{
	int al = std::min(std::min(product_align_of(A), product_align_of(B)), product_align_of(C));
	ProductShape s = {ta, tb, M, N, K, lda, ldb, ldc, cf32, 1, 0, 0, 0, al, g->ws_size};
	cublasStatus_t e = product(g->lt, g->plans, s, 1.f, A, B, acc ? 1.f : 0.f, C, g->ws, g->st,
				   product_tries());
	if (e == CUBLAS_STATUS_NOT_SUPPORTED)
		die("cuBLASLt has no algorithm for a %dx%dx%d product", M, N, K);
	CKB(e);
}

/* grad[off[s] .. off[s] + len[s]) = 0, a block per segment */
__global__ void zero_segments_kernel(const size_t *off, const int *len, float *grad)
{
	float *p = grad + off[blockIdx.x];
	for (int i = threadIdx.x; i < len[blockIdx.x]; i += blockDim.x)
		p[i] = 0.f;
}

/* The fp32 weights of the tensor at parameter offset off, as the forward
 * and backward passes read them (norm weights, the embedding). */
static const float *fw(const gemma3_gpu *g, size_t off)
{
	if (!g->pf)
		return g->p + off;
	auto it = std::lower_bound(g->f32_off.begin(), g->f32_off.end(), off);
	if (it == g->f32_off.end() || *it != off)
		die("internal error: no fp32 copy of the parameters at %zu", off);
	return g->pf + g->f32_at[it - g->f32_off.begin()];
}

/* ---------------- kernel launchers ---------------- */
static void add_norm(gemma3_gpu *g, const bf16 *u, const float *wa, const float *res_in,
		     float *res_out, float *rstd_a, const float *wb, bf16 *h, float *rstd_b)
{
	CK(add_norm_fwd(g->st, g->N, g->d, g->c.rms_norm_eps, u, wa, res_in, res_out, rstd_a, wb,
			h, rstd_b));
}

/* dx (mode) from dy; grad[w] += dw */
template <typename XT, int MODE>
static void norm_bwd_g(gemma3_gpu *g, const XT *x, const float *rstd, size_t w_off,
		       const float *dy, void *dx)
{
	CK(norm_bwd<XT, MODE>(g->st, g->N, g->d, x, rstd, fw(g, w_off), dy, dx, g->partial,
			      g->grad + w_off));
}

/* Two norm backward steps in one pass (norm_bwd_pair): dx (mode1 1: +=, 2: =)
 * from dh through norm 1, then dbf = J2^T dx through norm 2; grad += both
 * dw. g->partial holds two NORM_BWD_WARPS * d blocks for it. */
static void norm_bwd_pair_g(gemma3_gpu *g, const float *x1, const float *rstd1, size_t w1_off,
			int mode1, const bf16 *x2, const float *rstd2, size_t w2_off)
{
	float *p2 = g->partial + (size_t)NORM_BWD_WARPS * g->d;
	CK(norm_bwd_pair(g->st, g->N, g->d, x1, rstd1, fw(g, w1_off), g->dh, g->dx, x2, rstd2,
		     fw(g, w2_off), g->dbf, g->partial, g->grad + w1_off, p2, g->grad + w2_off,
		     mode1));
}

/* Which flash attention. On sm_90 the wgmma kernels at every head_dim
 * they have: at 64 attention_hopper.cuh's (the same bits as tile64's; on
 * an H200 the global layer's backward 0.906 -> 0.538 ms, small's step 5.3%
 * faster), at 128 and 256 attention_hopper_wide.cuh's (gemma3-1b on an
 * H100: the global layer's forward 0.127 -> 0.095 ms, backward 0.479 ->
 * 0.271 against the ds kernels, the step 3.4% faster). Elsewhere, below
 * head_dim 256 the 64-row tiles (attention_tile64.cuh; small: 16.3 ms
 * against 20.0 with 128-row tiles), at 256 the 128-row tiles
 * (attention_tile128.cuh; gemma3-1b on an H100: backward 19.4 -> 16.5 ms a
 * step) with the split dK/dV kernel (each pair of warps shares S and dP
 * instead of two blocks computing both) writing dS for dQ as a product
 * (flash_tile128_ds_bwd; on an H200 the global layer's backward 0.681 ->
 * 0.583 ms; at head_dim 64 it loses, 0.906 -> 2.602).
 * bench/NOTES.md has the numbers. BONSAI_ATTN=v1
 * (or old): 64-row tiles, v2: 128-row tiles without the split, v2k: with
 * it and its dQ kernel, ds: with the dQ product; hopper: the wgmma forward
 * (sm_90a; tile64's forward elsewhere) with tile64's backward, which reads
 * the same o and lse2; hopper-bwd: that forward and the wgmma backward;
 * forces one, to check and time them; read once. */
enum { ATTN_DEFAULT, ATTN_TILE64, ATTN_TILE128, ATTN_TILE128_SPLIT, ATTN_DS, ATTN_HOPPER, ATTN_HOPPER_BWD };
/* a value of an environment variable that picks a kernel, and the pick */
struct EnvName {
	const char *name;
	int choice;
};

/* The choice environment variable var names among names; dflt where it is
 * unset, -1 where it names none (create() refuses it). */
template <size_t N> static int env_choice(const char *var, const EnvName (&names)[N], int dflt)
{
	const char *e = getenv(var);
	if (!e)
		return dflt;
	for (const auto &a : names)
		if (!strcmp(e, a.name))
			return a.choice;
	return -1;
}

/* create()'s error for a var that names none of names: what it said and
 * what it may say */
template <size_t N>
static void env_choice_error(char *err, size_t n, const char *var, const char *what,
			     const EnvName (&names)[N])
{
	std::string list;
	for (const auto &a : names)
		list += std::string(list.empty() ? "" : ", ") + a.name;
	snprintf(err, n, "%s=%s names no %s (%s, or unset for the default)", var, getenv(var), what,
		 list.c_str());
}

static const EnvName attn_names[] = {
	{"v1", ATTN_TILE64}, {"old", ATTN_TILE64}, {"v2", ATTN_TILE128},
	{"v2k", ATTN_TILE128_SPLIT}, {"ds", ATTN_DS}, {"hopper", ATTN_HOPPER},
	{"hopper-bwd", ATTN_HOPPER_BWD},
};

static int attn_env(void) { return env_choice("BONSAI_ATTN", attn_names, ATTN_DEFAULT); }

static int attn_choice(int hd)
{
	static int v = -1;
	if (v < 0)
		v = std::max(attn_env(), (int)ATTN_DEFAULT);
	if (v == ATTN_DEFAULT)
		return hd >= 256 && !wgmma_device() ? ATTN_DS : ATTN_HOPPER_BWD;
	return v;
}

/* whether the backward at head_dim hd writes dS^T (FlashArgs.ds) */
static bool attn_writes_ds(int hd)
{
	int v = attn_choice(hd);
	return v == ATTN_DS ||
	       (v == ATTN_HOPPER_BWD && hd > 64 && flash_hopper_wide_bwd_for(hd) && wgmma_device());
}

/* The MLP's gate/up product with the GeGLU in its epilogue (forward) and
 * its dg product with GeGLU' in its epilogue (backward), by
 * product_geglu.cuh's wgmma kernels on sm_90a: on an H200 the forward's
 * product and GeGLU 0.561 -> 0.518 ms a layer at small (B 32), the
 * backward's 0.454 -> 0.390, the step 1% faster, the same bits
 * (bench/NOTES.md has every config). Elsewhere, or for shapes those
 * kernels do not take, cuBLASLt and geglu.cuh's kernels. BONSAI_MLP=cublas
 * forces those, fused-fwd / fused-bwd one fused kernel only; read once. */
enum { MLP_DEFAULT, MLP_CUBLAS, MLP_FUSED_FWD, MLP_FUSED_BWD, MLP_FUSED };
static const EnvName mlp_names[] = {
	{"cublas", MLP_CUBLAS},
	{"fused", MLP_FUSED},
	{"fused-fwd", MLP_FUSED_FWD},
	{"fused-bwd", MLP_FUSED_BWD},
};

static int mlp_env(void) { return env_choice("BONSAI_MLP", mlp_names, MLP_DEFAULT); }

/* whether the forward (fwd 1) or backward MLP product is the fused one */
static bool mlp_fused(int fwd)
{
	static int v = -1;
	if (v < 0) {
		v = std::max(mlp_env(), (int)MLP_DEFAULT);
		if (v == MLP_DEFAULT)
			v = MLP_FUSED;
	}
	return v == MLP_FUSED || v == (fwd ? MLP_FUSED_FWD : MLP_FUSED_BWD);
}

/* How a cuBLASLt product shape's algorithm is chosen the first time the
 * shape is run: cuBLASLt's first choice, or the fastest of the first 16
 * it offers among those giving the first choice's bits (product_tune:
 * the first step pays for the timings). Read once. */
enum { PRODUCTS_FIRST, PRODUCTS_TUNED };
static const EnvName products_names[] = {
	{"first", PRODUCTS_FIRST},
	{"tuned", PRODUCTS_TUNED},
};

static int products_env(void) { return env_choice("BONSAI_PRODUCTS", products_names, PRODUCTS_FIRST); }

/* the candidates product() times for a new shape (0: none) */
static int product_tries(void)
{
	static int v = -1;
	if (v < 0)
		v = products_env() == PRODUCTS_TUNED ? 16 : 0;
	return v;
}

/* A fused MLP kernel, or false where the caller takes the cuBLASLt
 * product and the GeGLU kernel instead (not asked for, no sm_90a code for
 * the card, a shape it does not take). */
static bool mlp_product(gemma3_gpu *g, int fwd, const ProductGegluArgs &p)
{
	if (!mlp_fused(fwd))
		return false;
	cudaError_t e =
		fwd ? product_geglu<PG_GEGLU_FWD>(g->st, p) : product_geglu<PG_GEGLU_BWD>(g->st, p);
	if (e == cudaErrorNotSupported || e == cudaErrorInvalidValue)
		return false;
	CK(e);
	return true;
}

/* layer a's attention: q, k after QK-norm and RoPE (qkr), v (qkv) */
static FlashArgs flash_args(gemma3_gpu *g, LayerActs &a, int window, float scale)
{
	FlashArgs f = {};
	int hd = g->hd;
	f.q = a.qkr, f.q_ld = g->QK;
	f.k = a.qkr + g->Hq * hd, f.k_ld = g->QK;
	f.v = a.qkv + (g->Hq + g->Hkv) * hd, f.v_ld = g->QKV;
	f.o = a.o, f.o_ld = g->Hq * hd;
	f.lse2 = a.lse;
	f.B = g->B, f.T = g->T, f.Hq = g->Hq, f.Hkv = g->Hkv, f.window = window, f.scale = scale;
	return f;
}

static void flash_fwd(gemma3_gpu *g, LayerActs &a, int window, float scale)
{
	int hd = g->hd, v = attn_choice(hd);
	bool wg = v == ATTN_HOPPER || v == ATTN_HOPPER_BWD;
	/* null: no kernel at hd */
	flash_fwd_fn h = !wg ? nullptr : hd <= 64 ? flash_hopper_fwd_for(hd) : flash_hopper_wide_fwd_for(hd);
	flash_fwd_fn f = h			  ? h
			 : wg || v == ATTN_TILE64 ? flash_tile64_fwd_for(hd)
						  : flash_tile128_fwd_for(hd);
	CK(f(g->st, flash_args(g, a, window, scale)));
}

static void flash_bwd(gemma3_gpu *g, LayerActs &a, int window, float scale)
{
	int hd = g->hd, v = attn_choice(hd);
	flash_bwd_fn h = v != ATTN_HOPPER_BWD ? nullptr
			 : hd <= 64		 ? flash_hopper_bwd_for(hd)
						 : flash_hopper_wide_bwd_for(hd);
	flash_bwd_fn f = h			 ? h
			 : v == ATTN_DS		 ? flash_tile128_ds_bwd_for(hd)
			 : v == ATTN_TILE128_SPLIT ? flash_tile128_split_bwd_for(hd)
			 : v == ATTN_TILE128     ? flash_tile128_bwd_for(hd)
						 : flash_tile64_bwd_for(hd);
	FlashArgs fa = flash_args(g, a, window, scale);
	fa.dO = g->do_, fa.do_ld = g->Hq * hd;
	fa.D = g->Dbuf;
	fa.dq = g->dqkr, fa.dq_ld = g->QK;
	fa.dk = g->dqkr + g->Hq * hd, fa.dk_ld = g->QK;
	fa.dv = g->dqkv + (g->Hq + g->Hkv) * hd, fa.dv_ld = g->QKV;
	fa.ds = g->dsbuf;
	CK(f(g->st, fa));
}

/* ---------------- model ---------------- */
static int layer_window(gemma3_gpu *g, int l)
{
	return g->c.layer_is_global[l] ? 0 : g->c.sliding_window;
}

/* A decoder's attention: the pass's N tokens (positions pos0 ..) append
 * their keys and values to layer l's cache, then attend to it. */
static void kv_step(gemma3_gpu *g, LayerActs &a, int l, float scale)
{
	size_t row = (size_t)g->Hkv * g->hd, layer = (size_t)g->Tcap * row;
	bf16 *kc = g->kv_k + l * layer, *vc = g->kv_v + l * layer;
	CK(cudaMemcpy2DAsync(kc + g->pos0 * row, row * 2, a.qkr + (size_t)g->Hq * g->hd,
			     (size_t)g->QK * 2, row * 2, g->N, cudaMemcpyDeviceToDevice, g->st));
	CK(cudaMemcpy2DAsync(vc + g->pos0 * row, row * 2,
			     a.qkv + (size_t)(g->Hq + g->Hkv) * g->hd, (size_t)g->QKV * 2, row * 2,
			     g->N, cudaMemcpyDeviceToDevice, g->st));
	CK(kv_attention(g->st, a.qkr, g->QK, kc, vc, a.o, g->Hq * g->hd, g->N, g->pos0, g->Hq,
			g->Hkv, g->hd, layer_window(g, l), scale, g->Tcap));
}

/* rerun: the layer is recomputed in the backward pass. The first layer,
 * and a layer recomputed, apply their own input norm; otherwise the
 * previous layer's last kernel has written it. The last layer's last
 * kernel also applies the final norm. */
static void layer_fwd(gemma3_gpu *g, int l, int rerun)
{
	int own_ln1 = l == 0 || rerun;
	LayerActs &a = g->acts[l];
	const size_t *o = g->lo[l].t;
	const bf16 *w = g->pb;
	int N = g->N, d = g->d, hd = g->hd;
	int gl = g->c.layer_is_global[l] ? 1 : 0;
	if (own_ln1) {
		add_norm(g, NULL, NULL, g->x[l], NULL, NULL, fw(g, o[G3_LN1]), a.h1, a.rstd1);
		mark(g, P_CAT_NORM);
	}
	gemm(g, 0, 1, N, g->QKV, d, a.h1, d, w + o[G3_WQ], d, a.qkv, g->QKV, 0, 0);
	mark(g, P_CAT_GEMM);
	int nqk = g->Hq + g->Hkv;
	size_t r0 = (size_t)g->pos0 * (hd / 2); /* RoPE of positions pos0 .. */
	const float *cs = g->rope_cos[gl] + r0, *sn = g->rope_sin[gl] + r0;
	CK(qk_norm_rope_fwd(g->st, N, g->T, g->Hq, hd, g->c.rms_norm_eps, a.qkv, g->QKV, 0,
			    fw(g, o[G3_QNORM]), cs, sn, a.qkr, g->QK, a.qk_rstd, nqk));
	CK(qk_norm_rope_fwd(g->st, N, g->T, g->Hkv, hd, g->c.rms_norm_eps, a.qkv, g->QKV, g->Hq,
			    fw(g, o[G3_KNORM]), cs, sn, a.qkr, g->QK, a.qk_rstd, nqk));
	mark(g, P_CAT_ROPE);
	float scale = 1.f / sqrtf(g->c.query_pre_attn_scalar);
	if (g->kv_k)
		kv_step(g, a, l, scale);
	else
		flash_fwd(g, a, layer_window(g, l), scale);
	mark(g, P_CAT_ATTN);
	gemm(g, 0, 1, N, d, g->Hq * hd, a.o, g->Hq * hd, w + o[G3_WO], g->Hq * hd, a.a, d, 0, 0);
	mark(g, P_CAT_GEMM);
	add_norm(g, a.a, fw(g, o[G3_LN_POSTATTN]), g->x[l], a.xmid, a.rstd2, fw(g, o[G3_LN_PREFF]),
		 a.h2, a.rstd3);
	mark(g, P_CAT_NORM);
	ProductGegluArgs pf = {a.h2, d, w + o[G3_WGATE], d, a.gu, 2 * g->ff, a.g, g->ff, NULL, 0,
			       N, g->ff, d};
	if (mlp_product(g, 1, pf)) {
		mark(g, P_CAT_GEMM);
	} else {
		gemm(g, 0, 1, N, 2 * g->ff, d, a.h2, d, w + o[G3_WGATE], d, a.gu, 2 * g->ff, 0, 0);
		mark(g, P_CAT_GEMM);
		CK(geglu_fwd(g->st, N, g->ff, a.gu, a.g));
		mark(g, P_CAT_GEGLU);
	}
	gemm(g, 0, 1, N, d, g->ff, a.g, g->ff, w + o[G3_WDOWN], g->ff, a.m, d, 0, 0);
	mark(g, P_CAT_GEMM);
	/* x_{l+1} = xmid + norm(m), then the next norm of x_{l+1} while the row
	 * is in registers (same bits as a separate pass) */
	const float *wn = NULL;
	bf16 *hn = NULL;
	float *rn = NULL;
	if (l + 1 < g->L && !rerun) {
		LayerActs &an = g->acts[l + 1];
		wn = fw(g, g->lo[l + 1].t[G3_LN1]), hn = an.h1, rn = an.rstd1;
	} else if (l + 1 == g->L) {
		wn = fw(g, g->off_norm), hn = g->xf, rn = g->rstdf;
	}
	add_norm(g, a.m, fw(g, o[G3_LN_POSTFF]), a.xmid, g->x[l + 1], a.rstd4, wn, hn, rn);
	mark(g, P_CAT_NORM);
}

/* dbf_ready: the step before already turned dx into this layer's dbf
 * through its post-feedforward norm (norm_bwd_pair_g) */
static void layer_bwd(gemma3_gpu *g, int l, int dbf_ready)
{
	LayerActs &a = g->acts[l];
	const size_t *o = g->lo[l].t;
	const bf16 *w = g->pb;
	float *gr = g->grad;
	int N = g->N, d = g->d, hd = g->hd, ff = g->ff;
	int gl = g->c.layer_is_global[l] ? 1 : 0;
	/* x_{l+1} = xmid + norm(m) */
	if (!dbf_ready) {
		norm_bwd_g<bf16, 0>(g, a.m, a.rstd4, o[G3_LN_POSTFF], g->dx, g->dbf);
		mark(g, P_CAT_NORMB);
	}
	gemm(g, 1, 0, d, ff, N, g->dbf, d, a.g, ff, gr + o[G3_WDOWN], ff, 1, !g->grad_stale);
	ProductGegluArgs pb = {g->dbf, d, w + o[G3_WDOWN], ff, g->dgu, 2 * ff, NULL, 0, a.gu, 2 * ff,
			       N, ff, d};
	if (mlp_product(g, 0, pb)) {
		mark(g, P_CAT_GEMM);
	} else {
		gemm(g, 0, 0, N, ff, d, g->dbf, d, w + o[G3_WDOWN], ff, g->dg, ff, 0, 0);
		mark(g, P_CAT_GEMM);
		CK(geglu_bwd(g->st, N, ff, a.gu, g->dg, g->dgu));
		mark(g, P_CAT_GEGLU);
	}
	gemm(g, 1, 0, 2 * ff, d, N, g->dgu, 2 * ff, a.h2, d, gr + o[G3_WGATE], d, 1, !g->grad_stale);
	gemm(g, 0, 0, N, d, 2 * ff, g->dgu, 2 * ff, w + o[G3_WGATE], d, g->dh, d, 1, 0);
	mark(g, P_CAT_GEMM);
	/* h2 = norm(xmid); xmid = x_l + norm(a) */
	norm_bwd_pair_g(g, a.xmid, a.rstd3, o[G3_LN_PREFF], 1, a.a, a.rstd2, o[G3_LN_POSTATTN]);
	mark(g, P_CAT_NORMB);
	int HQD = g->Hq * hd;
	gemm(g, 1, 0, d, HQD, N, g->dbf, d, a.o, HQD, gr + o[G3_WO], HQD, 1, !g->grad_stale);
	gemm(g, 0, 0, N, HQD, d, g->dbf, d, w + o[G3_WO], HQD, g->do_, HQD, 0, 0);
	mark(g, P_CAT_GEMM);
	CK(attn_bwd_dot(g->st, N, g->T, g->Hq, hd, a.o, g->do_, HQD, g->Dbuf));
	float scale = 1.f / sqrtf(g->c.query_pre_attn_scalar);
	flash_bwd(g, a, layer_window(g, l), scale);
	mark(g, P_CAT_ATTNB);
	/* QK-norm + RoPE backward, q heads then k heads */
	int nqk = g->Hq + g->Hkv;
	for (int pass = 0; pass < 2; pass++) {
		int h0 = pass ? g->Hq : 0, nh = pass ? g->Hkv : g->Hq;
		size_t woff = o[pass ? G3_KNORM : G3_QNORM];
		CK(qk_norm_rope_bwd(g->st, N, g->T, nh, hd, a.qkv, g->QKV, h0, fw(g, woff),
				    g->rope_cos[gl], g->rope_sin[gl], g->dqkr, g->QK, a.qk_rstd, nqk,
				    g->dqkv, g->QKV, g->partial, gr + woff));
	}
	mark(g, P_CAT_ROPE);
	gemm(g, 1, 0, g->QKV, d, N, g->dqkv, g->QKV, a.h1, d, gr + o[G3_WQ], d, 1, !g->grad_stale);
	gemm(g, 0, 0, N, d, g->QKV, g->dqkv, g->QKV, w + o[G3_WQ], d, g->dh, d, 1, 0);
	mark(g, P_CAT_GEMM);
	/* then, unless recomputing (layer l-1's activations are not there yet
	 * and share layer l's buffers) or at layer 0, layer l-1's first step */
	if (l > 0 && !g->recompute) {
		LayerActs &ap = g->acts[l - 1];
		norm_bwd_pair_g(g, g->x[l], a.rstd1, o[G3_LN1], 1, ap.m, ap.rstd4,
			    g->lo[l - 1].t[G3_LN_POSTFF]);
	} else {
		norm_bwd_g<float, 1>(g, g->x[l], a.rstd1, o[G3_LN1], g->dh, g->dx);
	}
	mark(g, P_CAT_NORMB);
}

static void upload_batch(gemma3_gpu *g, const int32_t *inputs, const int32_t *targets)
{
	for (int i = 0; i < g->N; i++) {
		if (inputs[i] < 0 || inputs[i] >= g->V)
			die("token %d at position %d is outside the vocabulary (%d)", inputs[i], i,
			    g->V);
		g->h_tok[i] = inputs[i];
	}
	CK(cudaMemcpyAsync(g->tok, g->h_tok, sizeof(int32_t) * g->N, cudaMemcpyHostToDevice,
			   g->st));
	if (targets) {
		for (int i = 0; i < g->N; i++) {
			if (targets[i] >= g->V)
				die("target token %d is outside the vocabulary (%d)", targets[i], g->V);
			g->h_tgt[i] = targets[i];
		}
		CK(cudaMemcpyAsync(g->tgt, g->h_tgt, sizeof(int32_t) * g->N,
				   cudaMemcpyHostToDevice, g->st));
	}
}

/* The embedding backward's token order (the distinct ids, where each one's
 * run starts, the positions in id order), sorted on the host while the GPU
 * runs the backward pass; returns the number of distinct ids. */
static int upload_embed_order(gemma3_gpu *g, const int32_t *inputs)
{
	std::vector<std::pair<int32_t, int32_t>> tp(g->N);
	for (int i = 0; i < g->N; i++)
		tp[i] = {inputs[i], i};
	std::sort(tp.begin(), tp.end());
	int nu = 0;
	for (int i = 0; i < g->N; i++) {
		if (i == 0 || tp[i].first != tp[i - 1].first) {
			g->h_uniq[nu] = tp[i].first;
			g->h_start[nu++] = i;
		}
		g->h_pos[i] = tp[i].second;
	}
	g->h_start[nu] = g->N;
	CK(cudaMemcpyAsync(g->e_uniq, g->h_uniq, sizeof(int32_t) * nu, cudaMemcpyHostToDevice,
			   g->st));
	CK(cudaMemcpyAsync(g->e_start, g->h_start, sizeof(int32_t) * (nu + 1),
			   cudaMemcpyHostToDevice, g->st));
	CK(cudaMemcpyAsync(g->e_pos, g->h_pos, sizeof(int32_t) * g->N, cudaMemcpyHostToDevice,
			   g->st));
	return nu;
}

static void forward(gemma3_gpu *g)
{
	mark(g, P_CAT_MISC);
	embed_fwd_kernel<<<cdiv((size_t)g->N * g->d, 256), 256, 0, g->st>>>(
		g->N, g->d, g->tok, fw(g, g->off_embed), sqrtf((float)g->d), g->x[0]);
	CKL();
	mark(g, P_CAT_MISC);
	for (int l = 0; l < g->L; l++)
		layer_fwd(g, l, 0);
}

static void update_peak(gemma3_gpu *g)
{
	size_t fr, tot;
	if (cudaMemGetInfo(&fr, &tot) == cudaSuccess && tot - fr > g->peak)
		g->peak = tot - fr;
}

/* LM head + CE (+ backward when train), row chunks of the bf16 logits. */
static void lm_head(gemma3_gpu *g, const int32_t *targets, int train, float grad_scale,
		    long *nvalid)
{
	long nv = 0; /* from the host copy: no device round trip mid-step */
	for (int i = 0; i < g->N; i++)
		nv += targets[i] >= 0;
	*nvalid = nv;
	float scale = nv ? grad_scale / (float)nv : 0.f;
	const bf16 *E = g->pb + g->off_embed;
	int d = g->d, V = g->V;
	for (int r0 = 0; r0 < g->N; r0 += g->rows_chunk) {
		int R = std::min(g->rows_chunk, g->N - r0);
		gemm(g, 0, 1, R, V, d, g->xf + (size_t)r0 * d, d, E, d, g->logits, V, 0, 0);
		mark(g, P_CAT_GEMM);
		cross_entropy_kernel<<<R, 512, 0, g->st>>>(V, g->logits, V, g->tgt + r0,
						g->c.final_logit_softcapping, scale, g->loss + r0,
						train);
		CKL();
		mark(g, P_CAT_CE);
		if (!train)
			continue;
		gemm(g, 0, 0, R, d, V, g->logits, V, E, d, g->dh + (size_t)r0 * d, d, 1, 0);
		gemm(g, 1, 0, V, d, R, g->logits, V, g->xf + (size_t)r0 * d, d,
		     g->grad + g->off_embed, d, 1, !g->grad_stale || r0 > 0);
		mark(g, P_CAT_GEMM);
	}
	/* read when the stream is next synchronised (mean_loss): no wait
	 * between the forward and backward passes */
	CK(cudaMemcpyAsync(g->loss_host, g->loss, sizeof(float) * g->N, cudaMemcpyDeviceToHost,
			   g->st));
}

/* the mean loss of the rows lm_head scored; after a stream sync */
static double mean_loss(gemma3_gpu *g, long nv)
{
	double s = 0;
	for (int i = 0; i < g->N; i++)
		s += g->loss_host[i];
	return nv ? s / nv : NAN;
}

/* The gradients of [a, e) are complete once the work queued so far on the
 * compute stream is done: the communication stream waits for that point
 * (an event), and the bucket's reduction is queued on it. */
static void bucket_done(gemma3_gpu *g, size_t a, size_t e)
{
	if (!g->bucket_fn)
		return;
	if (g->bev_used == g->bev.size()) {
		cudaEvent_t ev;
		CK(cudaEventCreateWithFlags(&ev, cudaEventDisableTiming));
		g->bev.push_back(ev);
	}
	cudaEvent_t ev = g->bev[g->bev_used++];
	CK(cudaEventRecord(ev, g->st));
	CK(cudaStreamWaitEvent(g->cs, ev, 0));
	g->bucket_fn(g->bucket_ctx, a, e, g->grad, (void *)g->cs);
}

extern "C" float gemma3_gpu_fwd_bwd(gemma3_gpu *g, const int32_t *inputs,
				     const int32_t *targets, float grad_scale)
{
	need_train(g, "fwd_bwd");
	upload_batch(g, inputs, targets);
	CK(cudaEventRecord(g->span[0], g->st));
	forward(g);
	if (g->grad_stale) {
		zero_segments_kernel<<<g->nz, 256, 0, g->st>>>(g->nz_off, g->nz_len, g->grad);
		CKL();
	}
	long nv;
	lm_head(g, targets, 1, grad_scale, &nv);
	/* final norm (dh holds d loss / d xf), fused with the last layer's
	 * first step unless recomputing (its activations come after) */
	if (!g->recompute) {
		LayerActs &al = g->acts[g->L - 1];
		norm_bwd_pair_g(g, g->x[g->L], g->rstdf, g->off_norm, 2, al.m, al.rstd4,
			    g->lo[g->L - 1].t[G3_LN_POSTFF]);
	} else {
		norm_bwd_g<float, 2>(g, g->x[g->L], g->rstdf, g->off_norm, g->dh, g->dx);
	}
	mark(g, P_CAT_NORMB);
	bucket_done(g, g->off_norm, g->P);
	for (int l = g->L - 1; l >= 0; l--) {
		if (g->recompute)
			layer_fwd(g, l, 1);
		layer_bwd(g, l, !g->recompute);
		/* layer l's tensors; the pair at its end also finished layer l - 1's
		 * last norm, which is layer l - 1's bucket, reduced after it */
		bucket_done(g, g->lo[l].t[0], l + 1 < g->L ? g->lo[l + 1].t[0] : g->off_norm);
	}
	int nu = upload_embed_order(g, inputs);
	embed_bwd_kernel<<<(unsigned)nu, 256, 0, g->st>>>(
		g->d, g->e_uniq, g->e_start, g->e_pos, g->dx, sqrtf((float)g->d),
		g->grad + g->off_embed);
	CKL();
	mark(g, P_CAT_MISC);
	bucket_done(g, 0, g->lo[0].t[0]); /* the embedding, first in the layout */
	g->bucket_fn = NULL; /* armed for one pass */
	g->grad_stale = 0;
	CK(cudaEventRecord(g->span[1], g->st));
	CK(cudaStreamSynchronize(g->st));
	CK(cudaEventElapsedTime(&g->span_ms, g->span[0], g->span[1]));
	prof_collect(g);
	if (g->prof)
		g->prof_steps++;
	update_peak(g);
	return (float)mean_loss(g, nv);
}

extern "C" float gemma3_gpu_eval_loss(gemma3_gpu *g, const int32_t *inputs,
				       const int32_t *targets)
{
	upload_batch(g, inputs, targets);
	forward(g);
	long nv;
	lm_head(g, targets, 0, 1.f, &nv);
	CK(cudaStreamSynchronize(g->st));
	prof_collect(g);
	update_peak(g);
	return (float)mean_loss(g, nv);
}

extern "C" void gemma3_gpu_logits(gemma3_gpu *g, const int32_t *inputs, float *logits)
{
	upload_batch(g, inputs, NULL);
	forward(g);
	/* fp32 logits through the (bf16-sized) chunk buffer, half the rows at a time */
	int rows = std::max(1, g->rows_chunk / 2);
	float *buf = (float *)g->logits;
	for (int r0 = 0; r0 < g->N; r0 += rows) {
		int R = std::min(rows, g->N - r0);
		gemm(g, 0, 1, R, g->V, g->d, g->xf + (size_t)r0 * g->d, g->d, g->pb + g->off_embed,
		     g->d, buf, g->V, 1, 0);
		size_t n = (size_t)R * g->V;
		softcap_f32_kernel<<<cdiv(n, 256), 256, 0, g->st>>>(n, buf,
								   g->c.final_logit_softcapping);
		CKL();
		CK(cudaMemcpyAsync(logits + (size_t)r0 * g->V, buf, n * sizeof(float),
				   cudaMemcpyDeviceToHost, g->st));
		CK(cudaStreamSynchronize(g->st));
	}
	prof_collect(g);
}

extern "C" void gemma3_gpu_logprobs(gemma3_gpu *g, const int32_t *inputs,
				     const int32_t *targets, int B, int T, int V, float *logp,
				     unsigned char *greedy)
{
	if (!g->infer)
		die("internal error: logprobs on a training GPU model (no scoring buffers)");
	if (B < 1 || T < 1 || T > g->Tcap || (long)B * T > g->Ncap)
		die("internal error: a %d x %d forward pass on a GPU model made for %d tokens in "
		    "rows of %d", B, T, g->Ncap, g->Tcap);
	if (V < 1 || V > g->V)
		die("internal error: scoring over %d of the model's %d logits", V, g->V);
	int B0 = g->B, T0 = g->T;
	g->B = B, g->T = T, g->N = B * T;
	/* only the rows with a target go through the LM head */
	std::vector<int32_t> sel, tsel;
	for (int i = 0; i < g->N; i++)
		if (targets[i] >= 0) {
			if (targets[i] >= V)
				die("target token %d is outside the vocabulary (%d)", targets[i], V);
			sel.push_back(i);
			tsel.push_back(targets[i]);
		}
	int ns = (int)sel.size();
	memset(logp, 0, sizeof(float) * g->N);
	memset(greedy, 0, g->N);
	if (ns > 0) {
		/* whole blocks of 64 rows (padding scores nothing): fewer matrix
		 * shapes for cuBLASLt to plan */
		while (sel.size() % 64 && (int)sel.size() < g->N) {
			sel.push_back(0);
			tsel.push_back(-1);
		}
		upload_batch(g, inputs, NULL);
		int np = (int)sel.size();
		CK(cudaMemcpyAsync(g->sel, sel.data(), sizeof(int32_t) * np, cudaMemcpyHostToDevice,
				   g->st));
		CK(cudaMemcpyAsync(g->tgt, tsel.data(), sizeof(int32_t) * np,
				   cudaMemcpyHostToDevice, g->st));
		forward(g);
		gather_rows_kernel<<<cdiv((size_t)np * (g->d / 8), 256), 256, 0, g->st>>>(
			np, g->d, g->sel, g->xf, g->xsel);
		CKL();
		/* fp32 logits through the (bf16-sized) chunk buffer, as gemma3_gpu_logits */
		int rows = std::max(1, g->rows_chunk / 2);
		float *buf = (float *)g->logits;
		for (int r0 = 0; r0 < np; r0 += rows) {
			int R = std::min(rows, np - r0);
			gemm(g, 0, 1, R, g->V, g->d, g->xsel + (size_t)r0 * g->d, g->d,
			     g->pb + g->off_embed, g->d, buf, g->V, 1, 0);
			logprob_rows_kernel<<<R, 512, 0, g->st>>>(V, g->V, buf, g->tgt + r0,
								 g->c.final_logit_softcapping,
								 g->loss + r0, g->greedy + r0);
			CKL();
		}
		std::vector<float> lp(ns);
		std::vector<unsigned char> gr(ns);
		CK(cudaMemcpyAsync(lp.data(), g->loss, sizeof(float) * ns, cudaMemcpyDeviceToHost,
				   g->st));
		CK(cudaMemcpyAsync(gr.data(), g->greedy, ns, cudaMemcpyDeviceToHost, g->st));
		CK(cudaStreamSynchronize(g->st));
		for (int i = 0; i < ns; i++) {
			logp[sel[i]] = lp[i];
			greedy[sel[i]] = gr[i];
		}
	}
	g->B = B0, g->T = T0, g->N = B0 * T0;
	prof_collect(g);
	update_peak(g);
}

extern "C" void gemma3_gpu_decode(gemma3_gpu *g, const int32_t *tokens, int n, int pos,
				  float *logits)
{
	if (!g->kv_k)
		die("internal error: decode on a GPU model without a KV cache");
	if (n < 1 || pos < 0 || pos + n > g->Tcap)
		die("internal error: %d tokens at position %d of a KV cache of %d", n, pos, g->Tcap);
	int B0 = g->B, T0 = g->T;
	g->B = 1, g->T = n, g->N = n, g->pos0 = pos;
	upload_batch(g, tokens, NULL);
	forward(g);
	/* the last token's fp32 logits through the chunk buffer */
	float *buf = (float *)g->logits;
	gemm(g, 0, 1, 1, g->V, g->d, g->xf + (size_t)(n - 1) * g->d, g->d, g->pb + g->off_embed,
	     g->d, buf, g->V, 1, 0);
	softcap_f32_kernel<<<cdiv(g->V, 256), 256, 0, g->st>>>(g->V, buf,
							       g->c.final_logit_softcapping);
	CKL();
	CK(cudaMemcpyAsync(logits, buf, (size_t)g->V * sizeof(float), cudaMemcpyDeviceToHost,
			   g->st));
	CK(cudaStreamSynchronize(g->st));
	g->B = B0, g->T = T0, g->N = B0 * T0, g->pos0 = 0;
	prof_collect(g);
}

extern "C" void gemma3_gpu_zero_grad(gemma3_gpu *g)
{
	need_train(g, "zero_grad");
	g->grad_stale = 1;
}

/* before the gradients are read without a fwd_bwd since zero_grad */
static void settle_grads(gemma3_gpu *g)
{
	if (g->grad_stale)
		CK(cudaMemsetAsync(g->grad, 0, g->P * sizeof(float), g->st));
	g->grad_stale = 0;
}

extern "C" void gemma3_gpu_get_grads(gemma3_gpu *g, float *grads)
{
	need_train(g, "get_grads");
	settle_grads(g);
	CK(cudaMemcpyAsync(grads, g->grad, g->P * sizeof(float), cudaMemcpyDeviceToHost, g->st));
	CK(cudaStreamSynchronize(g->st));
}

extern "C" double gemma3_gpu_grad_sumsq(gemma3_gpu *g, size_t lo, size_t hi)
{
	need_train(g, "grad_norm");
	settle_grads(g);
	mark(g, P_CAT_MISC);
	sumsq_partial_kernel<<<1024, 256, 0, g->st>>>(hi - lo, g->grad + lo, g->partial);
	CKL();
	sum_partial_kernel<<<1, 32, 0, g->st>>>(1024, g->partial, g->dsum);
	CKL();
	double s;
	CK(cudaMemcpyAsync(&s, g->dsum, sizeof s, cudaMemcpyDeviceToHost, g->st));
	CK(cudaStreamSynchronize(g->st));
	mark(g, P_CAT_OPT);
	return s;
}

extern "C" float gemma3_gpu_grad_norm(gemma3_gpu *g)
{
	return (float)sqrt(gemma3_gpu_grad_sumsq(g, 0, g->P));
}

extern "C" void gemma3_gpu_adamw(gemma3_gpu *g, float lr, float beta1, float beta2, float eps,
				  float weight_decay, float clip_scale, int step)
{
	need_train(g, "adamw");
	settle_grads(g);
	float bc1 = 1.f - powf(beta1, (float)step);
	float bc2s = sqrtf(1.f - powf(beta2, (float)step));
	size_t nt = 2 + (size_t)G3_PER_LAYER * g->L;
	std::vector<size_t> toff(nt + 1);
	toff[0] = g->off_embed;
	for (int l = 0; l < g->L; l++)
		for (int k = 0; k < G3_PER_LAYER; k++)
			toff[1 + (size_t)l * G3_PER_LAYER + k] = g->lo[l].t[k];
	toff[nt - 1] = g->off_norm;
	toff[nt] = g->P;
	unsigned blocks;
	int nr = adamw_build_runs(toff.data(), g->decay.data(), nt, g->opt_lo, g->opt_hi,
				  weight_decay, g->h_runs, &blocks);
	mark(g, P_CAT_MISC);
	if (nr) {
		CK(cudaMemcpyAsync(g->runs, g->h_runs, nr * sizeof(AdamwRun), cudaMemcpyHostToDevice,
				   g->st));
		adamw_runs_kernel<<<blocks, ADAMW_THREADS, 0, g->st>>>(
			g->runs, nr, (float4 *)g->p, (uint2 *)g->pb, (const float4 *)g->grad,
			(float4 *)g->m, (float4 *)g->v, lr, beta1, beta2, eps, clip_scale, bc1, bc2s);
		CKL();
	}
	mark(g, P_CAT_OPT);
	CK(cudaStreamSynchronize(g->st));
	prof_collect(g);
}

extern "C" void gemma3_gpu_set_decay_mask(gemma3_gpu *g, const unsigned char *per_tensor)
{
	size_t nt = 2 + (size_t)G3_PER_LAYER * g->L;
	for (size_t i = 0; i < nt; i++)
		g->decay[i] = per_tensor ? (per_tensor[i] != 0) : 1;
}

extern "C" void gemma3_gpu_set_params(gemma3_gpu *g, const float *params, const float *m,
				       const float *v)
{
	size_t b = g->P * sizeof(float), k = (g->opt_hi - g->opt_lo) * sizeof(float);
	if (g->infer && (m || v))
		die("internal error: AdamW state for an inference-only GPU model");
	/* sharded: the whole weights pass through the gradient buffer (the
	 * next fwd_bwd overwrites it) for the bf16 copy and the fp32 tensors */
	float *whole = g->pf ? g->grad : g->p;
	CK(cudaMemcpy(whole, params, b, cudaMemcpyHostToDevice));
	if (g->pf) {
		CK(cudaMemcpy(g->p, params + g->opt_lo, k, cudaMemcpyHostToDevice));
		for (size_t i = 0; i < g->f32_off.size(); i++)
			CK(cudaMemcpyAsync(g->pf + g->f32_at[i], whole + g->f32_off[i],
					   g->f32_len[i] * sizeof(float), cudaMemcpyDeviceToDevice, g->st));
		g->grad_stale = 1;
	}
	if (m)
		CK(cudaMemcpy(g->m, m + g->opt_lo, k, cudaMemcpyHostToDevice));
	else if (g->m)
		CK(cudaMemset(g->m, 0, k));
	if (v)
		CK(cudaMemcpy(g->v, v + g->opt_lo, k, cudaMemcpyHostToDevice));
	else if (g->v)
		CK(cudaMemset(g->v, 0, k));
	f32_to_bf16_kernel<<<132 * 16, 256, 0, g->st>>>(g->P, whole, g->pb);
	CKL();
	CK(cudaStreamSynchronize(g->st));
}

extern "C" void gemma3_gpu_get_params(gemma3_gpu *g, float *params, float *m, float *v)
{
	CK(cudaStreamSynchronize(g->st));
	size_t k = (g->opt_hi - g->opt_lo) * sizeof(float);
	if (params && g->pf)
		CK(cudaMemcpy(params + g->opt_lo, g->p, k, cudaMemcpyDeviceToHost));
	else if (params)
		CK(cudaMemcpy(params, g->p, g->P * sizeof(float), cudaMemcpyDeviceToHost));
	if (m || v)
		need_train(g, "get_params of m, v");
	if (m)
		CK(cudaMemcpy(m + g->opt_lo, g->m, k, cudaMemcpyDeviceToHost));
	if (v)
		CK(cudaMemcpy(v + g->opt_lo, g->v, k, cudaMemcpyDeviceToHost));
}

extern "C" int gemma3_gpu_use_device(int index, char *err, size_t n)
{
	int cnt = 0;
	if (cudaGetDeviceCount(&cnt) != cudaSuccess) {
		cudaGetLastError();
		snprintf(err, n, "no usable CUDA driver or GPU");
		return -1;
	}
	if (index < 0 || index >= cnt) {
		snprintf(err, n, "GPU %d asked for (the local rank), but %d GPU%s visible", index, cnt,
			 cnt == 1 ? " is" : "s are");
		return -1;
	}
	if (cudaSetDevice(index) != cudaSuccess) {
		cudaGetLastError();
		snprintf(err, n, "cannot use GPU %d", index);
		return -1;
	}
	return 0;
}

/* Frees one of the trainer's buffers (of the given size) before its end. */
static void release(gemma3_gpu *g, void *p, size_t bytes)
{
	for (auto &a : g->allocs)
		if (a && a == p) {
			CK(cudaFree(a));
			a = NULL;
			g->alloc_bytes -= (bytes + 255) & ~(size_t)255;
		}
}

/* *buf (old_bytes) replaced by a buffer of new_bytes holding its first keep
 * bytes and zeros after them. */
static int resize(gemma3_gpu *g, void **buf, size_t old_bytes, size_t keep, size_t new_bytes)
{
	int fail = 0;
	void *p = dalloc(g, new_bytes, &fail);
	if (fail)
		return -1;
	CK(cudaMemset(p, 0, new_bytes));
	if (*buf && keep)
		CK(cudaMemcpy(p, *buf, std::min(keep, new_bytes), cudaMemcpyDeviceToDevice));
	release(g, *buf, old_bytes);
	*buf = p;
	return 0;
}

extern "C" int gemma3_gpu_shard(gemma3_gpu *g, size_t lo, size_t hi, size_t padded,
				char *err, size_t n)
{
	need_train(g, "shard");
	if (lo > hi || hi > g->P || lo % 4 || (hi % 4 && hi != g->P) || padded < g->P ||
	    padded % 4 || g->opt_lo || g->opt_hi != g->P || g->Ppad != g->P) {
		snprintf(err, n, "internal error: optimizer slice [%zu, %zu) of %zu (padded %zu)", lo,
			 hi, g->P, padded);
		return -1;
	}
	CK(cudaStreamSynchronize(g->st));
	/* the whole-size moments go; the slice's take their place; the
	 * gradients and weights grow by the padding that makes every rank's
	 * slice as long (NCCL's reduce-scatter and all-gather) */
	size_t k = std::max<size_t>(hi - lo, 4) * 4;
	for (float **mv : { &g->m, &g->v })
		if (resize(g, (void **)mv, g->P * 4, 0, k)) {
			snprintf(err, n, "out of GPU memory for the AdamW slice");
			return -1;
		}
	if (resize(g, (void **)&g->grad, g->P * 4, g->P * 4, padded * 4) ||
	    resize(g, (void **)&g->pb, g->P * 2, g->P * 2, padded * 2)) {
		snprintf(err, n, "out of GPU memory for the padding of the gradients and weights");
		return -1;
	}
	/* the master weights: the slice only; the fp32 tensors the passes
	 * read whole, each at a multiple of 64 values (vector loads) */
	size_t at = 0;
	g->f32_at.clear();
	for (size_t len : g->f32_len) {
		g->f32_at.push_back(at);
		at += (len + 63) / 64 * 64;
	}
	int fail = 0;
	g->pf = (float *)dalloc(g, at * 4, &fail);
	if (fail || resize(g, (void **)&g->p, g->P * 4, 0, std::max<size_t>(hi - lo, 4) * 4)) {
		snprintf(err, n, "out of GPU memory for the master weights' slice");
		return -1;
	}
	CK(cudaMemset(g->pf, 0, at * 4));
	g->Ppad = padded;
	g->opt_lo = lo;
	g->opt_hi = hi;
	return 0;
}

extern "C" void gemma3_gpu_reduce_during_next(gemma3_gpu *g, gemma3_gpu_bucket_fn fn, void *ctx)
{
	need_train(g, "reduce_during_next");
	if (!g->cs)
		CK(cudaStreamCreateWithFlags(&g->cs, cudaStreamNonBlocking));
	g->bucket_fn = fn;
	g->bucket_ctx = ctx;
	g->bev_used = 0;
}

extern "C" void gemma3_gpu_wait_reduced(gemma3_gpu *g)
{
	if (g->cs)
		CK(cudaStreamSynchronize(g->cs));
}

extern "C" float *gemma3_gpu_grads_device(gemma3_gpu *g)
{
	need_train(g, "grads");
	settle_grads(g);
	return g->grad;
}

extern "C" float *gemma3_gpu_master_device(gemma3_gpu *g) { return g->p; }
extern "C" void *gemma3_gpu_weights_bf16_device(gemma3_gpu *g) { return g->pb; }
extern "C" void *gemma3_gpu_stream(gemma3_gpu *g) { return (void *)g->st; }

extern "C" size_t gemma3_gpu_fp32_tensors(gemma3_gpu *g) { return g->pf ? g->f32_off.size() : 0; }

extern "C" float *gemma3_gpu_fp32_tensor(gemma3_gpu *g, size_t i, size_t *offset, size_t *numel)
{
	*offset = g->f32_off[i];
	*numel = g->f32_len[i];
	return g->pf + g->f32_at[i];
}

extern "C" size_t gemma3_gpu_peak_bytes(gemma3_gpu *g) { return g->peak; }
extern "C" double gemma3_gpu_last_span_ms(gemma3_gpu *g) { return g->span_ms; }
extern "C" size_t gemma3_gpu_alloc_bytes(gemma3_gpu *g) { return g->alloc_bytes; }
extern "C" const char *gemma3_gpu_device_name(gemma3_gpu *g) { return g->devname; }

extern "C" void gemma3_gpu_profile(gemma3_gpu *g, int on)
{
	g->prof = on;
	g->ev_used = 0;
	for (auto &p : g->plans) /* the products of the profiled steps only */
		p.calls = 0;
}

extern "C" int gemma3_gpu_product_survey(gemma3_gpu *g, void *f, int tries, char *err, size_t n)
{
	return product_survey(g->lt, g->plans, g->ws, g->st, g->prof_steps, tries, (FILE *)f, err,
			      n);
}

extern "C" double gemma3_gpu_profile_matmul_ms(gemma3_gpu *g)
{
	return g->cat_ms[P_CAT_GEMM] / (g->prof_steps ? g->prof_steps : 1);
}

extern "C" void gemma3_gpu_profile_print(gemma3_gpu *g, void *fp)
{
	FILE *f = (FILE *)fp;
	double tot = 0;
	for (int i = 0; i < P_NCAT; i++)
		tot += g->cat_ms[i];
	long n = g->prof_steps ? g->prof_steps : 1;
	fprintf(f, "  %-22s %10s %6s\n", "phase", "ms/step", "share");
	for (int i = 0; i < P_NCAT; i++)
		fprintf(f, "  %-22s %10.3f %5.1f%%\n", cat_name[i], g->cat_ms[i] / n,
			tot > 0 ? 100 * g->cat_ms[i] / tot : 0.);
	fprintf(f, "  %-22s %10.3f\n", "total", tot / n);
	for (int i = 0; i < P_NCAT; i++)
		g->cat_ms[i] = 0;
	g->prof_steps = 0;
}

/* ---------------- creation ---------------- */
/* offsets of every tensor, from the one table the CPU model and the
 * checkpoints use; nz_host_off, nz_host_len: the norm weights' segments */
static int layout(gemma3_gpu *g, std::vector<size_t> &nz_host_off,
		  std::vector<int> &nz_host_len, char *err, size_t errlen)
{
	gemma3_param_info *t;
	int n = gemma3_param_table(&g->c, &t, err, errlen);
	if (n < 0)
		return -1;
	if (n != 2 + G3_PER_LAYER * g->L) {
		free(t);
		snprintf(err, errlen, "internal error: unexpected parameter table");
		return -1;
	}
	g->off_embed = t[0].offset;
	g->lo.resize(g->L);
	for (int l = 0; l < g->L; l++)
		for (int k = 0; k < G3_PER_LAYER; k++)
			g->lo[l].t[k] = t[1 + l * G3_PER_LAYER + k].offset;
	g->off_norm = t[n - 1].offset;
	g->P = t[n - 1].offset + t[n - 1].numel;
	for (int i = 0; i < n; i++)
		if (i == 0 || t[i].is_norm) {
			g->f32_off.push_back(t[i].offset);
			g->f32_len.push_back(t[i].numel);
		}
	/* the norm weights, adjacent ones merged */
	for (int i = 0; i < n; i++) {
		if (!t[i].is_norm)
			continue;
		if (!nz_host_off.empty() && nz_host_off.back() + nz_host_len.back() == t[i].offset)
			nz_host_len.back() += (int)t[i].numel;
		else
			nz_host_off.push_back(t[i].offset), nz_host_len.push_back((int)t[i].numel);
	}
	free(t);
	return 0;
}

struct Sizes {
	size_t params, per_layer, shared, total;
};

static Sizes sizes(const gemma3_config *c, int B, int T, int recompute, int rows_chunk,
		   int ranks)
{
	size_t N = (size_t)B * T, d = c->hidden_size, hd = c->head_dim, ff = c->intermediate_size;
	size_t Hq = c->num_heads, Hkv = c->num_kv_heads, V = c->vocab_size, L = c->num_layers;
	size_t QKV = (Hq + 2 * Hkv) * hd, QK = (Hq + Hkv) * hd;
	size_t P = V * d + L * (4 * d + 2 * hd + (QKV + Hq * hd) * d + 3 * ff * d) + d;
	Sizes s;
	s.params = P * (4 * 4 + 2);
	if (ranks > 0) {
		/* gemma3_gpu_shard: gradients and bf16 weights padded to ranks
		 * equal slices of 64-value multiples; moments and master weights of
		 * one slice; the fp32 embedding and norm weights whole */
		size_t R = (size_t)ranks, slice = ((P + R - 1) / R + 63) / 64 * 64;
		size_t fp32 = V * d + L * (4 * d + 2 * hd) + d;
		s.params = slice * R * (4 + 2) + slice * 12 + fp32 * 4;
	}
	size_t acts = N * (2 * d + 2 * QKV + 2 * QK + 2 * Hq * hd + 2 * d + 4 * d + 2 * d +
			   6 * ff + 2 * d) +
		      N * 4 * (4 + Hq + Hkv) + (size_t)B * Hq * T * 4;
	s.per_layer = N * d * 4 + (recompute ? 0 : acts);
	size_t shared = (recompute ? acts : 0) + N * d * 4 /* x[L] */ + N * d * 2 + N * 4 +
			(size_t)rows_chunk * V * 2 + (size_t)2 * NORM_BWD_WARPS * d * 4 + (size_t)QK_BWD_WARPS * hd * 4 +
			N * d * 4 * 2 + (size_t)B * Hq * T * 4 + N * d * 2 + N * ff * 2 +
			N * ff * 4 + N * Hq * hd * 2 + N * QK * 2 + N * QKV * 2 + N * 4 + N * 4 * 5 +
			(64u << 20);
	if (attn_writes_ds((int)hd))
		shared += flash_ds_bytes(B, (int)Hq, T);
	s.shared = shared;
	s.total = s.params + s.per_layer * L + shared;
	return s;
}

static int pick_rows_chunk(const gemma3_config *c, int B, int T)
{
	size_t N = (size_t)B * T, V = c->vocab_size;
	size_t budget = (size_t)2 << 30; /* bytes of bf16 logits at a time */
	size_t r = budget / (V * 2);
	if (r < 64)
		r = 64;
	if (r > N)
		r = N;
	/* fp32 logits for gemma3_gpu_logits use half as many rows */
	return (int)r;
}

extern "C" size_t gemma3_gpu_bytes_needed(const gemma3_config *c, int B, int T, int recompute,
					int ranks)
{
	return sizes(c, B, T, recompute, pick_rows_chunk(c, B, T), ranks).total;
}

extern "C" int gemma3_gpu_probe(char *why, size_t n)
{
	int cnt = 0;
	cudaError_t e = cudaGetDeviceCount(&cnt);
	if (e != cudaSuccess) {
		snprintf(why, n, "no usable CUDA driver or GPU: %s", cudaGetErrorString(e));
		cudaGetLastError();
		return 0;
	}
	if (cnt < 1) {
		snprintf(why, n, "no CUDA GPU found");
		return 0;
	}
	cudaDeviceProp pr;
	int dev = 0;
	if (cudaGetDevice(&dev) != cudaSuccess || cudaGetDeviceProperties(&pr, dev) != cudaSuccess) {
		snprintf(why, n, "cannot read the GPU's properties");
		return 0;
	}
	if (pr.major < 8) {
		snprintf(why, n, "%s has compute capability %d.%d; the CUDA trainer needs 8.0 or newer",
			 pr.name, pr.major, pr.minor);
		return 0;
	}
	/* loads the build's code for the card (the driver compiles PTX for a
	 * newer one here, once): a build without either fails now, not at the
	 * first kernel of a run */
	cudaFuncAttributes fa;
	e = cudaFuncGetAttributes(&fa, geglu_fwd_kernel);
	if (e != cudaSuccess) {
		/* on 9.0 the "a" target, or the wgmma kernels fall back */
		const char *a = pr.major == 9 && pr.minor == 0 ? "a" : "";
		snprintf(why, n,
			 "this build has no GPU code that runs on %s (compute capability %d.%d): %s; "
			 "rebuild with NVCCFLAGS naming -gencode=arch=compute_%d%d%s,code=sm_%d%d%s",
			 pr.name, pr.major, pr.minor, cudaGetErrorString(e), pr.major, pr.minor, a,
			 pr.major, pr.minor, a);
		cudaGetLastError();
		return 0;
	}
	return 1;
}

extern "C" int gemma3_gpu_memory(size_t *free_bytes, size_t *total_bytes, char *why, size_t n)
{
	if (!gemma3_gpu_probe(why, n))
		return -1;
	cudaError_t e = cudaMemGetInfo(free_bytes, total_bytes);
	if (e != cudaSuccess) {
		snprintf(why, n, "cannot read the GPU's free memory: %s", cudaGetErrorString(e));
		cudaGetLastError();
		return -1;
	}
	return 0;
}


static gemma3_gpu *create(const gemma3_config *c, int B, int T, int recompute, int infer,
			   char *err, size_t n)
{
	if (!gemma3_gpu_probe(err, n))
		return NULL;
	int hd = c->head_dim;
	if (hd != 16 && hd != 32 && hd != 64 && hd != 128 && hd != 256) {
		snprintf(err, n, "head_dim %d is not supported by the CUDA trainer (16, 32, 64, 128, 256)", hd);
		return NULL;
	}
	if (c->attn_logit_softcapping > 0) {
		snprintf(err, n, "attention logit soft-capping is not supported by the CUDA trainer");
		return NULL;
	}
	if (c->hidden_size > 256 * NCH_MAX) {
		snprintf(err, n, "hidden_size %d is over the CUDA trainer's limit of %d", c->hidden_size, 256 * NCH_MAX);
		return NULL;
	}
	if (c->num_heads % c->num_kv_heads || c->hidden_size % 8 || c->intermediate_size % 8 ||
	    c->vocab_size % 8) {
		snprintf(err, n, "the CUDA trainer needs heads divisible by KV heads and hidden, "
				 "intermediate and vocabulary sizes divisible by 8");
		return NULL;
	}
	if (B < 1 || T < 1 || (long)B * T > (1L << 30)) {
		snprintf(err, n, "bad batch %d x %d", B, T);
		return NULL;
	}
	if (attn_env() < 0) {
		env_choice_error(err, n, "BONSAI_ATTN", "attention kernel", attn_names);
		return NULL;
	}
	if (products_env() < 0) {
		env_choice_error(err, n, "BONSAI_PRODUCTS", "product algorithm choice", products_names);
		return NULL;
	}
	if (mlp_env() < 0) {
		env_choice_error(err, n, "BONSAI_MLP", "MLP product", mlp_names);
		return NULL;
	}
	gemma3_gpu *g = new gemma3_gpu();
	g->c = *c;
	g->B = B, g->T = T, g->N = B * T, g->recompute = recompute;
	g->infer = infer, g->Ncap = B * T, g->Tcap = T;
	g->d = c->hidden_size, g->ff = c->intermediate_size, g->Hq = c->num_heads;
	g->Hkv = c->num_kv_heads, g->hd = hd, g->V = c->vocab_size, g->L = c->num_layers;
	g->QKV = (g->Hq + 2 * g->Hkv) * hd, g->QK = (g->Hq + g->Hkv) * hd;
	std::vector<size_t> nz_host_off;
	std::vector<int> nz_host_len;
	if (layout(g, nz_host_off, nz_host_len, err, n)) {
		delete g;
		return NULL;
	}
	g->decay.assign(2 + (size_t)G3_PER_LAYER * g->L, 1);
	g->rows_chunk = pick_rows_chunk(c, B, T);
	cudaDeviceProp pr;
	int dev = 0;
	CK(cudaGetDevice(&dev));
	CK(cudaGetDeviceProperties(&pr, dev));
	snprintf(g->devname, sizeof g->devname, "%s, sm_%d%d, %.1f GiB", pr.name, pr.major,
		 pr.minor, pr.totalGlobalMem / 1073741824.0);
	CK(cudaStreamCreate(&g->st));
	CKB(cublasLtCreate(&g->lt));
	for (auto &e : g->span)
		CK(cudaEventCreate(&e));

	size_t N = g->N, d = g->d, ff = g->ff, P = g->P;
	int fail = 0;
	g->opt_lo = 0;
	g->opt_hi = P;
	g->Ppad = P;
	g->p = (float *)dalloc(g, P * 4, &fail);
	if (!infer) {
		g->m = (float *)dalloc(g, P * 4, &fail);
		g->v = (float *)dalloc(g, P * 4, &fail);
		g->grad = (float *)dalloc(g, P * 4, &fail);
	}
	g->pb = (bf16 *)dalloc(g, P * 2, &fail);
	g->x.resize(g->L + 1);
	for (int l = 0; l <= g->L; l++)
		g->x[l] = infer && l > 1 ? g->x[l & 1] : (float *)dalloc(g, N * d * 4, &fail);
	g->acts.resize(g->L);
	for (int l = 0; l < g->L; l++) {
		LayerActs &a = g->acts[l];
		if (recompute && l > 0) {
			a = g->acts[0];
			continue;
		}
		a.h1 = (bf16 *)dalloc(g, N * d * 2, &fail);
		a.qkv = (bf16 *)dalloc(g, N * g->QKV * 2, &fail);
		a.qkr = (bf16 *)dalloc(g, N * g->QK * 2, &fail);
		a.o = (bf16 *)dalloc(g, N * g->Hq * hd * 2, &fail);
		a.a = (bf16 *)dalloc(g, N * d * 2, &fail);
		a.h2 = (bf16 *)dalloc(g, N * d * 2, &fail);
		a.gu = (bf16 *)dalloc(g, N * 2 * ff * 2, &fail);
		a.m = (bf16 *)dalloc(g, N * d * 2, &fail);
		a.g = (bf16 *)dalloc(g, N * ff * 2, &fail);
		a.rstd1 = (float *)dalloc(g, N * 4, &fail);
		a.qk_rstd = (float *)dalloc(g, N * (g->Hq + g->Hkv) * 4, &fail);
		a.lse = (float *)dalloc(g, (size_t)B * g->Hq * T * 4, &fail);
		a.rstd2 = (float *)dalloc(g, N * 4, &fail);
		a.xmid = (float *)dalloc(g, N * d * 4, &fail);
		a.rstd3 = (float *)dalloc(g, N * 4, &fail);
		a.rstd4 = (float *)dalloc(g, N * 4, &fail);
	}
	g->xf = (bf16 *)dalloc(g, N * d * 2, &fail);
	g->rstdf = (float *)dalloc(g, N * 4, &fail);
	g->logits = (bf16 *)dalloc(g, (size_t)g->rows_chunk * g->V * 2 + (size_t)g->V * 4, &fail);
	/* without the backward pass, N below skips its scratch */
	size_t Nb = infer ? 0 : N;
	g->dx = (float *)dalloc(g, Nb * d * 4, &fail);
	g->dh = (float *)dalloc(g, Nb * d * 4, &fail);
	g->Dbuf = (float *)dalloc(g, Nb * g->Hq * 4, &fail);
	if (!infer && attn_writes_ds(hd))
		g->dsbuf = (bf16 *)dalloc(g, flash_ds_bytes(B, g->Hq, T), &fail);
	g->partial_n = std::max((size_t)2 * NORM_BWD_WARPS * d, (size_t)QK_BWD_WARPS * hd);
	g->partial_n = std::max(g->partial_n, (size_t)1024);
	g->partial = (float *)dalloc(g, g->partial_n * 4, &fail);
	g->loss = (float *)dalloc(g, N * 4, &fail);
	if (!fail && cudaMallocHost((void **)&g->loss_host, N * 4) != cudaSuccess) {
		g->loss_host = NULL;
		fail = 1;
	}
	size_t nrun = infer ? 0 : 2 + (size_t)G3_PER_LAYER * g->L;
	g->runs = (AdamwRun *)dalloc(g, nrun * sizeof(AdamwRun), &fail);
	if (!fail && nrun && cudaMallocHost((void **)&g->h_runs, nrun * sizeof(AdamwRun)) != cudaSuccess) {
		g->h_runs = NULL;
		fail = 1;
	}
	size_t nio = infer ? 2 * (size_t)N : 5 * (size_t)N + 1;
	if (!fail && cudaMallocHost((void **)&g->h_tok, nio * 4) != cudaSuccess) {
		g->h_tok = NULL;
		fail = 1;
	}
	if (!fail) {
		g->h_tgt = g->h_tok + N;
		if (!infer) {
			g->h_uniq = g->h_tgt + N;
			g->h_pos = g->h_uniq + N;
			g->h_start = g->h_pos + N;
		}
	}
	g->dbf = (bf16 *)dalloc(g, Nb * d * 2, &fail);
	g->dg = (bf16 *)dalloc(g, Nb * ff * 2, &fail);
	g->dgu = (bf16 *)dalloc(g, Nb * 2 * ff * 2, &fail);
	g->do_ = (bf16 *)dalloc(g, Nb * g->Hq * hd * 2, &fail);
	g->dqkr = (bf16 *)dalloc(g, Nb * g->QK * 2, &fail);
	g->dqkv = (bf16 *)dalloc(g, Nb * g->QKV * 2, &fail);
	g->tok = (int32_t *)dalloc(g, N * 4, &fail);
	g->tgt = (int32_t *)dalloc(g, N * 4, &fail);
	g->e_uniq = (int32_t *)dalloc(g, Nb * 4, &fail);
	g->e_start = (int32_t *)dalloc(g, infer ? 0 : (N + 1) * 4, &fail);
	g->e_pos = (int32_t *)dalloc(g, Nb * 4, &fail);
	/* gemma3_gpu_logprobs' buffers: only an inference model scores */
	size_t Ni = infer ? N : 0;
	g->xsel = (bf16 *)dalloc(g, Ni * d * 2, &fail);
	g->sel = (int32_t *)dalloc(g, Ni * 4, &fail);
	g->greedy = (unsigned char *)dalloc(g, Ni, &fail);
	size_t half = hd / 2;
	for (int k = 0; k < 2; k++) {
		g->rope_cos[k] = (float *)dalloc(g, (size_t)T * half * 4, &fail);
		g->rope_sin[k] = (float *)dalloc(g, (size_t)T * half * 4, &fail);
	}
	g->dsum = (double *)dalloc(g, sizeof(double), &fail);
	g->nz = (int)nz_host_off.size();
	g->nz_off = (size_t *)dalloc(g, g->nz * sizeof(size_t), &fail);
	g->nz_len = (int *)dalloc(g, g->nz * sizeof(int), &fail);
	g->ws_size = 32u << 20;
	g->ws = dalloc(g, g->ws_size, &fail);
	if (fail && infer) {
		snprintf(err, n,
			 "out of GPU memory: %zu parameters (%.1f GiB in fp32 + bf16) and the "
			 "activations of %d tokens do not fit in %s; try a smaller --batch-tokens",
			 P, P * 6 / 1073741824.0, B * T, g->devname);
		gemma3_gpu_free(g);
		return NULL;
	}
	if (fail) {
		size_t need = gemma3_gpu_bytes_needed(c, B, T, recompute, 0);
		size_t fr = 0, tot = 0;
		cudaMemGetInfo(&fr, &tot);
		snprintf(err, n,
			 "out of GPU memory: batch %d x %d needs about %.1f GiB (%.1f GiB of it "
			 "parameters and AdamW state) and %s has %.1f GiB; try a smaller batch "
			 "(gradient accumulation keeps the tokens per step)%s",
			 B, T, need / 1073741824.0,
			 sizes(c, B, T, recompute, g->rows_chunk, 0).params / 1073741824.0, g->devname,
			 tot / 1073741824.0, recompute ? "" : " or --recompute");
		gemma3_gpu_free(g);
		return NULL;
	}
	/* RoPE tables: [0] sliding layers, [1] global layers */
	std::vector<float> cs((size_t)T * half), sn((size_t)T * half);
	for (int k = 0; k < 2; k++) {
		double base = k ? c->rope_global_base : c->rope_local_base;
		double sc = k ? c->rope_global_scaling_factor : c->rope_local_scaling_factor;
		gemma3_rope_table(T, hd, base, sc, cs.data(), sn.data());
		CK(cudaMemcpy(g->rope_cos[k], cs.data(), cs.size() * 4, cudaMemcpyHostToDevice));
		CK(cudaMemcpy(g->rope_sin[k], sn.data(), sn.size() * 4, cudaMemcpyHostToDevice));
	}
	CK(cudaMemcpy(g->nz_off, nz_host_off.data(), g->nz * sizeof(size_t),
		      cudaMemcpyHostToDevice));
	CK(cudaMemcpy(g->nz_len, nz_host_len.data(), g->nz * sizeof(int),
		      cudaMemcpyHostToDevice));
	CK(cudaMemset(g->p, 0, P * 4));
	CK(cudaMemset(g->pb, 0, P * 2));
	if (!infer) {
		CK(cudaMemset(g->m, 0, P * 4));
		CK(cudaMemset(g->v, 0, P * 4));
		CK(cudaMemset(g->grad, 0, P * 4));
	}
	update_peak(g);
	return g;
}

extern "C" gemma3_gpu *gemma3_gpu_create(const gemma3_config *c, int B, int T, int recompute,
					   char *err, size_t n)
{
	return create(c, B, T, recompute, 0, err, n);
}

extern "C" gemma3_gpu *gemma3_gpu_create_infer(const gemma3_config *c, long max_tokens, int T,
						 char *err, size_t n)
{
	if (T < 1 || max_tokens < 1 || max_tokens > (1L << 30)) {
		snprintf(err, n, "bad inference shape: %ld tokens, rows of %d", max_tokens, T);
		return NULL;
	}
	long B = (std::max(max_tokens, (long)T) + T - 1) / T;
	return create(c, (int)B, T, 1, 1, err, n);
}

extern "C" gemma3_gpu *gemma3_gpu_create_decoder(const gemma3_config *c, int max_T, char *err,
						 size_t n)
{
	if (max_T < 1) {
		snprintf(err, n, "bad KV cache length %d", max_T);
		return NULL;
	}
	gemma3_gpu *g = create(c, 1, max_T, 1, 1, err, n);
	if (!g)
		return NULL;
	size_t bytes = (size_t)g->L * max_T * g->Hkv * g->hd * 2;
	int fail = 0;
	g->kv_k = (bf16 *)dalloc(g, bytes, &fail);
	g->kv_v = (bf16 *)dalloc(g, bytes, &fail);
	int smem = 0, dev = 0;
	if (!fail && (cudaGetDevice(&dev) != cudaSuccess ||
		      cudaDeviceGetAttribute(&smem, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev) !=
			      cudaSuccess))
		smem = 0;
	if (fail || (size_t)(max_T + 32) * sizeof(float) > (size_t)smem) {
		snprintf(err, n,
			 fail ? "out of GPU memory for a KV cache of %d positions (%.1f GiB) on %s"
			      : "a KV cache of %d positions is longer than the GPU's attention "
				"takes (%.1f GiB; %s)",
			 max_T, 2.0 * bytes / 1073741824.0, g->devname);
		gemma3_gpu_free(g);
		return NULL;
	}
	update_peak(g);
	return g;
}

extern "C" void gemma3_gpu_free(gemma3_gpu *g)
{
	if (!g)
		return;
	cudaStreamSynchronize(g->st);
	product_plans_free(g->plans);
	for (auto e : g->ev)
		cudaEventDestroy(e);
	for (auto e : g->bev)
		cudaEventDestroy(e);
	for (auto e : g->span)
		if (e)
			cudaEventDestroy(e);
	if (g->cs) {
		cudaStreamSynchronize(g->cs);
		cudaStreamDestroy(g->cs);
	}
	for (void *p : g->allocs)
		cudaFree(p);
	if (g->loss_host)
		cudaFreeHost(g->loss_host);
	if (g->h_tok)
		cudaFreeHost(g->h_tok);
	if (g->h_runs)
		cudaFreeHost(g->h_runs);
	if (g->lt)
		cublasLtDestroy(g->lt);
	if (g->st)
		cudaStreamDestroy(g->st);
	delete g;
}

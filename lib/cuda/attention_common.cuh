/* attention_common.cuh - what both flash-attention implementations share:
 * the mask, the launch arguments, the D = rowsum(dO * O) of the backward
 * pass, the dK/dV query-tile walk, and the dispatch on head_dim.
 * attention_tile64.cuh (4 warps, 64-row tiles; BONSAI_ATTN=v1) and
 * attention_tile128.cuh (8 warps, 128-row tiles; v2, v2k) build on it.
 *
 * Flash attention (FA2 style) with mma.sync m16n8k16 bf16 tensor cores.
 * Causal, optional sliding window (key j visible to query i when
 * j <= i and j > i - window, as transformers defines it), grouped-query
 * heads. Tiles live in shared memory with rows padded by 8 elements (16
 * bytes) so that ldmatrix hits distinct banks. No T x T matrix is stored;
 * key blocks outside the causal window are skipped. lse is kept in log2
 * units: lse2 = max + log2(sum), p = exp2(s * scale * log2e - lse2). */
#ifndef BONSAI_CUDA_ATTENTION_COMMON_CUH
#define BONSAI_CUDA_ATTENTION_COMMON_CUH

#include "common.cuh"
#include "mma.cuh"

__device__ __forceinline__ bool attn_visible(int qi, int kj, int T, int window)
{
	return kj <= qi && qi < T && (window <= 0 || kj > qi - window);
}

/* 2^x in one MUFU instruction, results below 2^-126 flushed to 0. exp2f
 * (ex2.approx.f32 without .ftz) gives those as denormals, at the price of
 * a range test and two scalings around every exponential. Above 2^-126 the
 * two agree bit for bit (the trainer's checkpoints did not change); a
 * probability that small, 87 nats below its row's largest, is 0 next to it
 * in any sum or product here. */
__device__ __forceinline__ float exp2_ftz(float x)
{
	float y;
	asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
	return y;
}

/* s * sl2 (into log2 units), -inf where MASK and the key is not visible
 * to the query; m: the rows' running maxima, raised. Full tiles take the
 * MASK = false copy: the mask's index arithmetic, per element, would
 * otherwise be computed and thrown away on every tile. */
template <int NT, bool MASK>
__device__ __forceinline__ void flash_scale_max(float (&s)[NT][4], int r_lo, int k0, int tq, int T,
						int window, float sl2, float (&m)[2])
{
#pragma unroll
	for (int nt = 0; nt < NT; nt++)
#pragma unroll
		for (int e = 0; e < 4; e++) {
			int r = r_lo + (e >> 1) * 8, c = k0 + nt * 8 + tq * 2 + (e & 1);
			float x = !MASK || attn_visible(r, c, T, window) ? s[nt][e] * sl2 : -INFINITY;
			s[nt][e] = x;
			m[e >> 1] = fmaxf(m[e >> 1], x);
		}
}

/* One key tile of the forward pass's online softmax, for a warp's 16 rows
 * of scores s in the accumulator layout of mma.sync m16n8 (NT chunks of 8
 * columns; this thread's rows r_lo and r_lo + 8, columns k0 + 8 nt + 2 tq
 * and +1), which is also that of wgmma m64nN per warp: masks s (unless the
 * tile is full: every element visible) and scales it into log2 units
 * (sl2 = scale log2e), moves the running max mrow and sum lrow on, packs
 * P = exp2(s - max) as bf16 A fragments (pa[kk]: keys 16 kk .. +15), and
 * gives the factors corr by which the output rows must be multiplied. */
template <int NT>
__device__ __forceinline__ void flash_softmax_tile(float (&s)[NT][4], bool full, int r_lo, int k0,
						   int tq, int T, int window, float sl2,
						   float (&mrow)[2], float (&lrow)[2],
						   uint32_t (&pa)[NT / 2][4], float (&corr)[2])
{
	float mnew[2] = {mrow[0], mrow[1]};
	if (full)
		flash_scale_max<NT, false>(s, r_lo, k0, tq, T, window, sl2, mnew);
	else
		flash_scale_max<NT, true>(s, r_lo, k0, tq, T, window, sl2, mnew);
	float muse[2];
#pragma unroll
	for (int i = 0; i < 2; i++) {
		mnew[i] = fmaxf(mnew[i], __shfl_xor_sync(0xffffffffu, mnew[i], 1));
		mnew[i] = fmaxf(mnew[i], __shfl_xor_sync(0xffffffffu, mnew[i], 2));
		muse[i] = mnew[i] == -INFINITY ? 0.f : mnew[i];
		corr[i] = exp2_ftz(mrow[i] - muse[i]);
		mrow[i] = mnew[i];
	}
	float ls[2] = {0.f, 0.f};
#pragma unroll
	for (int nt = 0; nt < NT; nt++) {
		float p0 = exp2_ftz(s[nt][0] - muse[0]), p1 = exp2_ftz(s[nt][1] - muse[0]);
		float p2 = exp2_ftz(s[nt][2] - muse[1]), p3 = exp2_ftz(s[nt][3] - muse[1]);
		ls[0] += p0 + p1;
		ls[1] += p2 + p3;
		pa[nt / 2][(nt & 1) * 2 + 0] = pack_bf16(p0, p1);
		pa[nt / 2][(nt & 1) * 2 + 1] = pack_bf16(p2, p3);
	}
#pragma unroll
	for (int i = 0; i < 2; i++) {
		ls[i] += __shfl_xor_sync(0xffffffffu, ls[i], 1);
		ls[i] += __shfl_xor_sync(0xffffffffu, ls[i], 2);
		lrow[i] = lrow[i] * corr[i] + ls[i];
	}
}

/* Row r = r_lo + 8 i (below T) of a warp's accumulators in the layout of
 * mma.sync m16n8 (this thread's columns 8 nt + 2 tq, +1), times f, as bf16
 * into head h of batch b of out. */
template <int HD>
__device__ __forceinline__ void flash_row_store(const float (&acc)[HD / 8][4], int i, float f,
						bf16 *out, int ld, int b, int h, int T, int r, int tq)
{
	bf16 *row = out + ((size_t)b * T + r) * ld + (size_t)h * HD;
#pragma unroll
	for (int nt = 0; nt < HD / 8; nt++)
		*(__nv_bfloat162 *)(row + nt * 8 + tq * 2) =
			__floats2bfloat162_rn(acc[nt][i * 2] * f, acc[nt][i * 2 + 1] * f);
}

/* The end of the forward pass for a warp's 16 rows (this thread's r_lo and
 * r_lo + 8, those below T): O = acc / lrow as bf16 (columns 8 nt + 2 tq,
 * +1 of head h of batch b) and lse2 = max + log2(sum). */
template <int HD>
__device__ __forceinline__ void flash_fwd_store(const float (&acc)[HD / 8][4], const float (&mrow)[2],
						const float (&lrow)[2], bf16 *o, int o_ld, float *lse2,
						int b, int h, int Hq, int T, int r_lo, int tq)
{
#pragma unroll
	for (int i = 0; i < 2; i++) {
		int r = r_lo + i * 8;
		if (r >= T)
			continue;
		flash_row_store<HD>(acc, i, lrow[i] > 0.f ? 1.f / lrow[i] : 0.f, o, o_ld, b, h, T, r, tq);
		if (tq == 0)
			lse2[((size_t)b * Hq + h) * T + r] =
				(mrow[i] == -INFINITY ? 0.f : mrow[i]) + log2f(lrow[i]);
	}
}

/* D[b,h,t] = sum_j dO[b,t,h,j] * O[b,t,h,j], one warp per (b,t,h) row. */
__global__ void attn_bwd_dot_kernel(int BT, int T, int H, int hd, const bf16 *o, const bf16 *dO,
				    int ld, float *D)
{
	long row = (long)blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
	int lane = threadIdx.x & 31;
	if (row >= (long)BT * H)
		return;
	int n = (int)(row / H), h = (int)(row % H);
	const bf16 *a = o + (size_t)n * ld + (size_t)h * hd, *b = dO + (size_t)n * ld + (size_t)h * hd;
	float s = 0.f;
	for (int j = lane; j < hd; j += 32)
		s += __bfloat162float(a[j]) * __bfloat162float(b[j]);
	s = warp_sum(s);
	if (lane == 0) {
		int bb = n / T, t = n % T;
		D[((size_t)bb * H + h) * T + t] = s;
	}
}

/* D[b,h,t] = sum_j dO[b,t,h,j] O[b,t,h,j] as attn_bwd_dot_kernel, with
 * 16-byte loads: TPR = min(32, HD/8) threads per row, each summing 8
 * adjacent products per vector, then a fixed shuffle tree. Needs ld and
 * the base pointers 16-byte aligned (ld a multiple of 8). */
template <int HD>
__global__ void __launch_bounds__(256) attn_bwd_dot_vec_kernel(int BT, int T, int H, const bf16 *o,
							    const bf16 *dO, int ld, float *D)
{
	constexpr int TPR = HD / 8 < 32 ? HD / 8 : 32, VPT = HD / 8 / TPR;
	long gt = (long)blockIdx.x * blockDim.x + threadIdx.x;
	long row = gt / TPR;
	int sub = (int)(gt % TPR);
	bool ok = row < (long)BT * H;
	float s = 0.f;
	int n = 0, h = 0;
	if (ok) {
		n = (int)(row / H), h = (int)(row % H);
		const bf16 *a = o + (size_t)n * ld + (size_t)h * HD;
		const bf16 *b = dO + (size_t)n * ld + (size_t)h * HD;
#pragma unroll
		for (int v = 0; v < VPT; v++) {
			int c = (sub + v * TPR) * 8;
			uint4 ua = *reinterpret_cast<const uint4 *>(a + c);
			uint4 ub = *reinterpret_cast<const uint4 *>(b + c);
			const __nv_bfloat162 *ha = reinterpret_cast<const __nv_bfloat162 *>(&ua);
			const __nv_bfloat162 *hb = reinterpret_cast<const __nv_bfloat162 *>(&ub);
#pragma unroll
			for (int i = 0; i < 4; i++) {
				float2 x = __bfloat1622float2(ha[i]), y = __bfloat1622float2(hb[i]);
				s += x.x * y.x + x.y * y.y;
			}
		}
	}
#pragma unroll
	for (int off = TPR / 2; off > 0; off >>= 1)
		s += __shfl_xor_sync(0xffffffffu, s, off);
	if (ok && sub == 0) {
		int bb = n / T, t = n % T;
		D[((size_t)bb * H + h) * T + t] = s;
	}
}

typedef void (*attn_dot_fn)(int, int, int, const bf16 *, const bf16 *, int, float *);
/* D for head_dim hd on stream st (BT = B*T rows of H heads); version 1's
 * kernel where the vectors would be misaligned */
static inline cudaError_t attn_bwd_dot(cudaStream_t st, int BT, int T, int H, int hd,
					const bf16 *o, const bf16 *dO, int ld, float *D)
{
	attn_dot_fn f = hd == 16 ? attn_bwd_dot_vec_kernel<16> : hd == 32 ? attn_bwd_dot_vec_kernel<32> :
			hd == 64 ? attn_bwd_dot_vec_kernel<64> : hd == 128 ? attn_bwd_dot_vec_kernel<128> :
			hd == 256 ? attn_bwd_dot_vec_kernel<256> : nullptr;
	if (!f || ld % 8 || ((uintptr_t)o | (uintptr_t)dO) % 16) { /* version 1 */
		attn_bwd_dot_kernel<<<(unsigned)(((long)BT * H + 7) / 8), 256, 0, st>>>(BT, T, H, hd,
											o, dO, ld, D);
		return cudaGetLastError();
	}
	long threads = (long)BT * H * (hd / 8 < 32 ? hd / 8 : 32);
	f<<<(unsigned)((threads + 255) / 256), 256, 0, st>>>(BT, T, H, o, dO, ld, D);
	return cudaGetLastError();
}

/* The query tiles a dK/dV block of the keys k0 .. k0 + bkv - 1 visits, in
 * order: every query head of the group (G of them), every query block of bq
 * rows that sees one of the keys; returns their count, qstart the first
 * block's row, nq the blocks a head. */
__device__ __forceinline__ int flash_dkdv_tiles(int k0, int bkv, int bq, int T, int window, int G,
						int &qstart, int &nq)
{
	int q_lo = k0;
	int q_hi = window > 0 ? min(T, k0 + bkv - 1 + window) : T;
	qstart = (q_lo / bq) * bq, nq = (q_hi - qstart + bq - 1) / bq;
	return G * nq;
}

/* lse and D of query rows qs .. qs + BQ - 1 of head h into sL, sD (0 past
 * T), by the block's threads */
template <int BQ>
__device__ __forceinline__ void flash_dkdv_fetch_rows(float *sL, float *sD, const float *lse2,
						      const float *D, int b, int h, int Hq, int qs,
						      int T)
{
	const float *Lh = lse2 + ((size_t)b * Hq + h) * T, *Dh = D + ((size_t)b * Hq + h) * T;
	for (int i = threadIdx.x; i < BQ; i += blockDim.x) {
		sL[i] = qs + i < T ? Lh[qs + i] : 0.f;
		sD[i] = qs + i < T ? Dh[qs + i] : 0.f;
	}
}

/* The query tiles of a dK/dV kernel's loop over keys k0 .. k0 + bkv - 1
 * (flash_dkdv_tiles: every head of the group, every BQ queries that see
 * the keys), tile it's lse2 and D values double-buffered at sL2, sD2
 * (buffer it & 1): what the kernels' tile pipelines (Tile128DkdvTiles,
 * HopperDkdvTiles) share, whatever the layout of their Q and dO tiles. */
template <int BQ> struct FlashDkdvList {
	float *sL2, *sD2;
	const float *lse2, *D;
	int b, hk, G, Hq, T, qstart, nq, ntile;
	__device__ __forceinline__ FlashDkdvList(float *sL2_, float *sD2_, const float *lse2_,
						 const float *D_, int b_, int hk_, int G_, int Hq_,
						 int T_, int k0, int bkv, int window)
		: sL2(sL2_), sD2(sD2_), lse2(lse2_), D(D_), b(b_), hk(hk_), G(G_), Hq(Hq_), T(T_)
	{
		ntile = flash_dkdv_tiles(k0, bkv, BQ, T, window, G, qstart, nq);
	}
	/* tile it: its query head, first query row and lse2, D buffers */
	__device__ __forceinline__ int head(int it) const { return hk * G + it / nq; }
	__device__ __forceinline__ int qs(int it) const { return qstart + (it % nq) * BQ; }
	__device__ __forceinline__ float *sL(int it) const { return sL2 + (it & 1) * BQ; }
	__device__ __forceinline__ float *sD(int it) const { return sD2 + (it & 1) * BQ; }
	/* tile it's lse2 and D values into their buffers */
	__device__ __forceinline__ void fetch_rows(int it) const
	{
		flash_dkdv_fetch_rows<BQ>(sL(it), sD(it), lse2, D, b, head(it), Hq, qs(it), T);
	}
};

/* The fetch of that list's tile it into buffer it & 1 of shared memory:
 * its Q and dO rows (cp.async, not committed) and its lse, D values (0 past
 * T), for the kv head hk of batch b. */
template <int HD, int BQ>
__device__ __forceinline__ void flash_dkdv_fetch(int it, int qstart, int nq, bf16 *sQ2, bf16 *sdO2,
						 float *sL2, float *sD2, const bf16 *q, int q_ld,
						 const bf16 *dO, int do_ld, const float *lse2,
						 const float *D, int b, int hk, int G, int Hq, int T)
{
	constexpr int LD = HD + 8;
	int h = hk * G + it / nq, qs = qstart + (it % nq) * BQ, buf = it & 1;
	load_tile_async<HD>(sQ2 + buf * BQ * LD, q + (size_t)b * T * q_ld + (size_t)h * HD, q_ld, qs,
			    BQ, T);
	load_tile_async<HD>(sdO2 + buf * BQ * LD, dO + (size_t)b * T * do_ld + (size_t)h * HD, do_ld,
			    qs, BQ, T);
	flash_dkdv_fetch_rows<BQ>(sL2 + buf * BQ, sD2 + buf * BQ, lse2, D, b, h, Hq, qs, T);
}

/* One element of P^T = exp2(S^T sl2 - lse2): key kr, query q with lse2 l;
 * 0 where MASK and the key is not visible to the query. Full tiles take
 * the MASK = false copy, as flash_scale_max. */
template <bool MASK>
__device__ __forceinline__ float flash_pt_at(float s, int kr, int q, int T, int window, float sl2,
					     float l)
{
	return !MASK || (attn_visible(q, kr, T, window) && kr < T) ? exp2_ftz(s * sl2 - l) : 0.f;
}

template <int NT, bool MASK>
__device__ __forceinline__ void flash_pt_of(float (&s)[NT][4], int kr_lo, int qs, int tq, int T,
					    int window, float sl2, const float *sL)
{
#pragma unroll
	for (int nt = 0; nt < NT; nt++)
#pragma unroll
		for (int e = 0; e < 4; e++) {
			int qc = nt * 8 + tq * 2 + (e & 1);
			s[nt][e] = flash_pt_at<MASK>(s[nt][e], kr_lo + (e >> 1) * 8, qs + qc, T, window,
						     sl2, sL[qc]);
		}
}

/* P^T in place, from S^T of a warp's 16 keys in the accumulator layout of
 * mma.sync m16n8 (NT chunks of 8 queries; this thread's keys kr_lo and
 * kr_lo + 8, queries qs + 8 nt + 2 tq and +1), the queries' lse2 in sL;
 * masked unless the tile is full (every pair visible). */
template <int NT>
__device__ __forceinline__ void flash_pt(float (&s)[NT][4], bool full, int kr_lo, int qs, int tq,
					 int T, int window, float sl2, const float *sL)
{
	if (full)
		flash_pt_of<NT, false>(s, kr_lo, qs, tq, T, window, sl2, sL);
	else
		flash_pt_of<NT, true>(s, kr_lo, qs, tq, T, window, sl2, sL);
}

template <int NT, bool MASK>
__device__ __forceinline__ void flash_dkdv_p_ds_of(const float (&s)[NT][4], const float (&dp)[NT][4],
						   int kr_lo, int qs, int tq, int T, int window,
						   float sl2, const float *sL, const float *sD,
						   uint32_t (&pa)[NT / 2][4], uint32_t (&da)[NT / 2][4])
{
#pragma unroll
	for (int nt = 0; nt < NT; nt++) {
		float p[4], ds[4];
#pragma unroll
		for (int e = 0; e < 4; e++) {
			int qc = nt * 8 + tq * 2 + (e & 1);
			p[e] = flash_pt_at<MASK>(s[nt][e], kr_lo + (e >> 1) * 8, qs + qc, T, window, sl2,
						 sL[qc]);
			ds[e] = p[e] * (dp[nt][e] - sD[qc]);
		}
		pa[nt / 2][(nt & 1) * 2 + 0] = pack_bf16(p[0], p[1]);
		pa[nt / 2][(nt & 1) * 2 + 1] = pack_bf16(p[2], p[3]);
		da[nt / 2][(nt & 1) * 2 + 0] = pack_bf16(ds[0], ds[1]);
		da[nt / 2][(nt & 1) * 2 + 1] = pack_bf16(ds[2], ds[3]);
	}
}

/* A dK/dV tile's P^T and dS^T = P^T (dP^T - D) as bf16 A fragments (pa,
 * da[kk]: queries 16 kk .. +15), from S^T and dP^T laid out as for
 * flash_pt, the queries' lse2 and D in sL, sD; masked unless the tile is
 * full. */
template <int NT>
__device__ __forceinline__ void flash_dkdv_p_ds(const float (&s)[NT][4], const float (&dp)[NT][4],
						bool full, int kr_lo, int qs, int tq, int T,
						int window, float sl2, const float *sL,
						const float *sD, uint32_t (&pa)[NT / 2][4],
						uint32_t (&da)[NT / 2][4])
{
	if (full)
		flash_dkdv_p_ds_of<NT, false>(s, dp, kr_lo, qs, tq, T, window, sl2, sL, sD, pa, da);
	else
		flash_dkdv_p_ds_of<NT, true>(s, dp, kr_lo, qs, tq, T, window, sl2, sL, sD, pa, da);
}

/* The lse2 and D of a dQ tile's rows r_lo and r_lo + 8 (0 past T) of head
 * h of batch b. */
__device__ __forceinline__ void flash_dq_rows(float (&L)[2], float (&Dr)[2], const float *lse2,
					      const float *D, int b, int h, int Hq, int T, int r_lo)
{
#pragma unroll
	for (int i = 0; i < 2; i++) {
		int r = r_lo + i * 8;
		L[i] = r < T ? lse2[((size_t)b * Hq + h) * T + r] : 0.f;
		Dr[i] = r < T ? D[((size_t)b * Hq + h) * T + r] : 0.f;
	}
}

/* dS = P (dP - D) of a dQ tile, masked where MASK (see flash_dq_ds). */
template <int NT, bool MASK>
__device__ __forceinline__ void flash_dq_ds_of(const float (&s)[NT][4], const float (&dp)[NT][4],
					       int r_lo, int k0, int tq, int T, int window, float sl2,
					       const float (&L)[2], const float (&Dr)[2],
					       uint32_t (&da)[NT / 2][4])
{
#pragma unroll
	for (int nt = 0; nt < NT; nt++) {
		float ds[4];
#pragma unroll
		for (int e = 0; e < 4; e++) {
			int r = r_lo + (e >> 1) * 8, c = k0 + nt * 8 + tq * 2 + (e & 1);
			float p = !MASK || attn_visible(r, c, T, window)
					  ? exp2_ftz(s[nt][e] * sl2 - L[e >> 1])
					  : 0.f;
			ds[e] = p * (dp[nt][e] - Dr[e >> 1]);
		}
		da[nt / 2][(nt & 1) * 2 + 0] = pack_bf16(ds[0], ds[1]);
		da[nt / 2][(nt & 1) * 2 + 1] = pack_bf16(ds[2], ds[3]);
	}
}

/* A dQ tile's dS = P (dP - D) as bf16 A fragments (da[kk]: keys 16 kk ..
 * +15), from S and dP of a warp's 16 query rows (this thread's r_lo and
 * r_lo + 8 with their lse2 L and D Dr; keys k0 + 8 nt + 2 tq and +1);
 * masked unless the tile is full. */
template <int NT>
__device__ __forceinline__ void flash_dq_ds(const float (&s)[NT][4], const float (&dp)[NT][4],
					    bool full, int r_lo, int k0, int tq, int T, int window,
					    float sl2, const float (&L)[2], const float (&Dr)[2],
					    uint32_t (&da)[NT / 2][4])
{
	if (full)
		flash_dq_ds_of<NT, false>(s, dp, r_lo, k0, tq, T, window, sl2, L, Dr, da);
	else
		flash_dq_ds_of<NT, true>(s, dp, r_lo, k0, tq, T, window, sl2, L, Dr, da);
}

/* dQ = scale acc for a warp's 16 query rows (this thread's r_lo and r_lo +
 * 8, those below T; columns 8 nt + 2 tq, +1 of head h of batch b) */
template <int HD>
__device__ __forceinline__ void flash_dq_store(const float (&acc)[HD / 8][4], bf16 *dq, int dq_ld,
					       int b, int h, int T, int r_lo, int tq, float scale)
{
#pragma unroll
	for (int i = 0; i < 2; i++)
		if (r_lo + i * 8 < T)
			flash_row_store<HD>(acc, i, scale, dq, dq_ld, b, h, T, r_lo + i * 8, tq);
}

/* dK = scale accK and dV = accV of one m-tile: a thread's key rows r_lo and
 * r_lo + 8 (those below T), columns c0 + 8 nt + 2 tq, +1 of kv head hk. */
template <int HD, int NO>
__device__ __forceinline__ void flash_dkdv_store(const float (&accK)[NO][4],
						 const float (&accV)[NO][4], bf16 *dk, int dk_ld,
						 bf16 *dv, int dv_ld, int b, int T, int hk, int c0,
						 int r_lo, int tq, float scale)
{
#pragma unroll
	for (int i = 0; i < 2; i++) {
		int r = r_lo + i * 8;
		if (r >= T)
			continue;
		bf16 *krow = dk + ((size_t)b * T + r) * dk_ld + (size_t)hk * HD + c0;
		bf16 *vrow = dv + ((size_t)b * T + r) * dv_ld + (size_t)hk * HD + c0;
#pragma unroll
		for (int nt = 0; nt < NO; nt++) {
			*(__nv_bfloat162 *)(krow + nt * 8 + tq * 2) = __floats2bfloat162_rn(
				accK[nt][i * 2] * scale, accK[nt][i * 2 + 1] * scale);
			*(__nv_bfloat162 *)(vrow + nt * 8 + tq * 2) =
				__floats2bfloat162_rn(accV[nt][i * 2], accV[nt][i * 2 + 1]);
		}
	}
}

/* Largest dynamic shared memory a block may opt in to on the current device. */
static inline size_t flash_smem_optin_limit()
{
	int dev = 0, v = 0;
	if (cudaGetDevice(&dev) != cudaSuccess ||
	    cudaDeviceGetAttribute(&v, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev) != cudaSuccess)
		return 0;
	return (size_t)v;
}

#define FLASH_DISPATCH(hd, call)                                                               \
	((hd) == 16 ? call<16> : (hd) == 32 ? call<32> : (hd) == 64 ? call<64> :               \
	 (hd) == 128 ? call<128> : (hd) == 256 ? call<256> : nullptr)

/* What a flash-attention launcher is given. Rows are tokens: row b*T + t
 * of q, k, v, o, dO, dq, dk, dv at base + (b*T + t) * ld, head h at column
 * h * head_dim (strides in elements, so q, k, v may be views into one
 * fused qkv buffer). Grouped-query heads: query head h reads kv head
 * h / (Hq / Hkv). window 0 = full causal; scale = the softmax scale
 * (query_pre_attn_scalar^-1/2). lse2: [B, Hq, T] in log2 units, written by
 * the forward pass and read by the backward pass, as D (attn_bwd_dot). The
 * forward pass reads q, k, v and writes o, lse2; the backward pass reads
 * those and dO, D and writes dq, dk, dv. */
struct FlashArgs {
	const bf16 *q, *k, *v;
	int q_ld, k_ld, v_ld;
	bf16 *o;
	int o_ld;
	float *lse2;
	const bf16 *dO;
	int do_ld;
	const float *D;
	bf16 *dq, *dk, *dv;
	int dq_ld, dk_ld, dv_ld;
	int B, T, Hq, Hkv, window;
	float scale;
	bf16 *ds; /* flash_tile128_ds_bwd's dS^T scratch (flash_ds_bytes), else unused */
};

/* The dS^T scratch: per batch and query head a T x flash_ds_ld(T) matrix,
 * a key a row, queries padded to a multiple of 8 (aligned pair stores). */
static inline int flash_ds_ld(int T) { return (T + 7) / 8 * 8; }
static inline size_t flash_ds_bytes(int B, int Hq, int T)
{
	return (size_t)B * Hq * T * flash_ds_ld(T) * 2;
}
typedef cudaError_t (*flash_fwd_fn)(cudaStream_t, const FlashArgs &);
typedef cudaError_t (*flash_bwd_fn)(cudaStream_t, const FlashArgs &);

#endif

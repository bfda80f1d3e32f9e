/* attention_tile128.cuh - flash attention in blocks of 8 warps and 128
 * query (or key) rows ("version 2": BONSAI_ATTN=v2, and v2k with the split
 * dK/dV kernel, the trainer's choice at head_dim 256), on the helpers of
 * attention_common.cuh.
 *
 * Same maths, masks, lse convention (log2 units) and fixed reduction order
 * as version 1 (no atomics, bitwise reproducible); what changed is how the
 * work is tiled:
 * - 128-row tiles (8 warps of 16 rows by default): every K/V tile (forward,
 *   dQ) or Q/dO tile (dK/dV) read from L2 into shared memory serves twice
 *   the rows of version 1's, halving that traffic (~11 GB a step on the
 *   small config for each of the three kernels in version 1).
 * - A warp may own MT m-tiles of 16 rows (Tile128Cfg), so that every
 *   fragment of the other operand read from shared memory feeds MT
 *   products (FA2's layout); the shapes are compile-time parameters and
 *   `check_kernels bench` times the alternatives.
 * - One barrier per tile instead of two: the prefetch of tile i+1 is issued
 *   after the barrier that ends every warp's use of tile i-1's buffer.
 * - Per-warp skipping: a warp whose rows see nothing of a tile (causal
 *   diagonal, window edge) skips its products; the mask arithmetic runs
 *   only for warps whose rows cross an edge.
 * - Operands reused across the loop may stay in registers (Q in the
 *   forward pass, Q and dO in dQ, K and V in dK/dV).
 * - The forward and dQ grids start with the query blocks that see the most
 *   keys, so the causal tail of the grid is short.
 * - dK/dV may split S^T and dP^T between two warps that share key rows
 *   (Tile128Cfg::KSPLIT) rather than have two blocks, one per half of the
 *   dK/dV columns, both compute them (a third fewer products at hd 256).
 * A launcher falls back to version 1 when the device cannot give a block
 * the shared memory the new tiles need (e.g. head_dim 256 before sm_90). */
#ifndef BONSAI_CUDA_ATTENTION_TILE128_CUH
#define BONSAI_CUDA_ATTENTION_TILE128_CUH

#include "attention_dq_product.cuh"
#include "attention_tile64.cuh"

/* The products every kernel below makes for a warp's MT m-tiles of 16 rows
 * against a tile of NT n-tiles of 8: s = A B^T over the HD columns and, with
 * TWO, dp = A2 B2^T beside it (forward: S = Q K^T; dQ: S and dP = dO V^T;
 * dK/dV: S^T = K Q^T and dP^T = V dO^T). A and A2 come from registers (REG:
 * af, a2f, fragments of every 16 columns) or from rows arow.. of sA, sA2 in
 * shared memory; B and B2 are the tile's rows in sB, sB2. */
template <int HD, int MT, int NT, bool REG, bool TWO, int NR>
__device__ __forceinline__ void tile128_scores(float (&s)[MT][NT][4], float (&dp)[MT][NT][4],
					      const uint32_t (&af)[MT][NR][4],
					      const uint32_t (&a2f)[MT][NR][4], const bf16 *sA,
					      const bf16 *sA2, int arow, const bf16 *sB,
					      const bf16 *sB2)
{
	constexpr int LD = HD + 8, NKK = HD / 16;
#pragma unroll
	for (int m = 0; m < MT; m++)
#pragma unroll
		for (int i = 0; i < NT; i++)
#pragma unroll
			for (int e = 0; e < 4; e++) {
				s[m][i][e] = 0.f;
				if (TWO)
					dp[m][i][e] = 0.f;
			}
#pragma unroll
	for (int kk = 0; kk < NKK; kk++) {
		uint32_t a[MT][4], a2[MT][4];
#pragma unroll
		for (int m = 0; m < MT; m++) {
			if (REG) {
#pragma unroll
				for (int e = 0; e < 4; e++) {
					a[m][e] = af[m][REG ? kk : 0][e];
					if (TWO)
						a2[m][e] = a2f[m][REG ? kk : 0][e];
				}
			} else {
				load_a(a[m], sA, LD, arow + m * 16, kk * 16);
				if (TWO)
					load_a(a2[m], sA2, LD, arow + m * 16, kk * 16);
			}
		}
#pragma unroll
		for (int nt = 0; nt < NT; nt += 2) {
			uint32_t bb[4];
			load_bt(bb, sB, LD, nt * 8, kk * 16);
#pragma unroll
			for (int m = 0; m < MT; m++) {
				mma_m16n8k16(s[m][nt], a[m], bb[0], bb[1]);
				mma_m16n8k16(s[m][nt + 1], a[m], bb[2], bb[3]);
			}
			if (TWO) {
				load_bt(bb, sB2, LD, nt * 8, kk * 16);
#pragma unroll
				for (int m = 0; m < MT; m++) {
					mma_m16n8k16(dp[m][nt], a2[m], bb[0], bb[1]);
					mma_m16n8k16(dp[m][nt + 1], a2[m], bb[2], bb[3]);
				}
			}
		}
	}
}

/* acc[m] += X[m] B[:, c0 .. c0 + 8 NO) for the warp's m-tiles, X the bf16
 * A fragments of a score tile (P or dS, NT/2 steps of 16 rows of B) and B
 * the tile's rows in shared memory (V, K, dO or Q). */
template <int HD, int MT, int NT, int NO>
__device__ __forceinline__ void tile128_accumulate(float (&acc)[MT][NO][4],
						  const uint32_t (&x)[MT][NT / 2][4],
						  const bf16 *sB, int c0)
{
	constexpr int LD = HD + 8;
#pragma unroll
	for (int kk = 0; kk < NT / 2; kk++) {
#pragma unroll
		for (int nt = 0; nt < NO; nt += 2) {
			uint32_t bb[4];
			load_b(bb, sB, LD, c0 + nt * 8, kk * 16);
#pragma unroll
			for (int m = 0; m < MT; m++) {
				mma_m16n8k16(acc[m][nt], x[m][kk], bb[0], bb[1]);
				mma_m16n8k16(acc[m][nt + 1], x[m][kk], bb[2], bb[3]);
			}
		}
	}
}

/* Forward. grid (ceil(T/BQ), Hq, B), NW warps, BQ = 16 MT NW; warp w owns
 * the query rows q0 + 16 MT w .. + 16 MT - 1 as MT m-tiles of 16 rows, so
 * that every K/V fragment read from shared memory feeds MT products.
 * Arguments as flash_tile64_fwd_kernel. */
template <int HD, int BK, int NW, int MT, bool QREG, int MINB>
__global__ void __launch_bounds__(NW * 32, MINB) flash_tile128_fwd_kernel(const bf16 *q, int q_ld,
							     const bf16 *k, int k_ld,
							     const bf16 *v, int v_ld, bf16 *o,
							     int o_ld, float *lse2, int T, int Hq,
							     int Hkv, int window, float sl2)
{
	constexpr int WR = 16 * MT, BQ = WR * NW, LD = HD + 8, NT = BK / 8, NO = HD / 8,
		      NKK = HD / 16;
	extern __shared__ __align__(16) unsigned char smem_raw[];
	bf16 *sQ = (bf16 *)smem_raw, *sK2 = sQ + BQ * LD, *sV2 = sK2 + 2 * BK * LD;
	int qb = gridDim.x - 1 - blockIdx.x, h = blockIdx.y, b = blockIdx.z, hk = h / (Hq / Hkv);
	int warp = threadIdx.x / 32, lane = threadIdx.x & 31, gq = lane >> 2, tq = lane & 3;
	int q0 = qb * BQ, wq0 = q0 + warp * WR;
	const bf16 *qb_ = q + (size_t)b * T * q_ld + (size_t)h * HD;
	const bf16 *kb_ = k + (size_t)b * T * k_ld + (size_t)hk * HD;
	const bf16 *vb_ = v + (size_t)b * T * v_ld + (size_t)hk * HD;
	int kv_hi = min(T, q0 + BQ);
	int kv_lo = window > 0 ? max(0, q0 - window + 1) : 0;
	int kstart = (kv_lo / BK) * BK, ntile = (kv_hi - kstart + BK - 1) / BK;
	load_tile_async<HD>(sQ, qb_, q_ld, q0, BQ, T);
	load_tile_async<HD>(sK2, kb_, k_ld, kstart, BK, T);
	load_tile_async<HD>(sV2, vb_, v_ld, kstart, BK, T);
	cp_commit();

	float acc[MT][NO][4];
#pragma unroll
	for (int m = 0; m < MT; m++)
#pragma unroll
		for (int i = 0; i < NO; i++)
			acc[m][i][0] = acc[m][i][1] = acc[m][i][2] = acc[m][i][3] = 0.f;
	float mrow[MT][2], lrow[MT][2];
#pragma unroll
	for (int m = 0; m < MT; m++)
		mrow[m][0] = mrow[m][1] = -INFINITY, lrow[m][0] = lrow[m][1] = 0.f;
	int r_lo = wq0 + gq; /* this thread's rows: r_lo + 16 m, + 8 */
	uint32_t qf[MT][QREG ? NKK : 1][4];
	if (QREG) {
		cp_wait0();
		__syncthreads();
#pragma unroll
		for (int m = 0; m < MT; m++)
#pragma unroll
			for (int kk = 0; kk < (QREG ? NKK : 0); kk++)
				load_a(qf[m][kk], sQ, LD, warp * WR + m * 16, kk * 16);
	}
	for (int it = 0; it < ntile; it++) {
		int k0 = kstart + it * BK;
		bf16 *sK = sK2 + (it & 1) * BK * LD, *sV = sV2 + (it & 1) * BK * LD;
		cp_wait0();
		__syncthreads(); /* tile it landed; every warp is done with tile it-1 */
		if (it + 1 < ntile) {
			load_tile_async<HD>(sK2 + ((it + 1) & 1) * BK * LD, kb_, k_ld, k0 + BK, BK, T);
			load_tile_async<HD>(sV2 + ((it + 1) & 1) * BK * LD, vb_, v_ld, k0 + BK, BK, T);
			cp_commit();
		}
		/* nothing of this tile is visible to the warp's rows */
		if (k0 > wq0 + WR - 1 || wq0 >= T || (window > 0 && k0 + BK - 1 <= wq0 - window))
			continue;
		float s[MT][NT][4];
		tile128_scores<HD, MT, NT, QREG, false>(s, s, qf, qf, sQ, sQ, warp * WR, sK, sK);
		/* every (row, key) of the warp's part of the tile visible? */
		bool full = k0 + BK - 1 <= wq0 && (window <= 0 || k0 > wq0 + WR - 1 - window) &&
			    wq0 + WR <= T && k0 + BK <= T;
		uint32_t pa[MT][NT / 2][4];
#pragma unroll
		for (int m = 0; m < MT; m++) {
			float corr[2];
			flash_softmax_tile<NT>(s[m], full, r_lo + m * 16, k0, tq, T, window, sl2, mrow[m],
					       lrow[m], pa[m], corr);
#pragma unroll
			for (int i = 0; i < NO; i++) {
				acc[m][i][0] *= corr[0];
				acc[m][i][1] *= corr[0];
				acc[m][i][2] *= corr[1];
				acc[m][i][3] *= corr[1];
			}
		}
		tile128_accumulate<HD, MT, NT, NO>(acc, pa, sV, 0);
	}
#pragma unroll
	for (int m = 0; m < MT; m++)
		flash_fwd_store<HD>(acc[m], mrow[m], lrow[m], o, o_ld, lse2, b, h, Hq, T,
				    r_lo + m * 16, tq);
}

/* dQ. grid (ceil(T/BQ), Hq, B), NW warps, BQ = 16 MT NW; warp w owns the
 * query rows q0 + 16 MT w .. as MT m-tiles of 16; sums over the key tiles
 * in order. */
template <int HD, int BK, int NW, int MT, bool QREG, int MINB>
__global__ void __launch_bounds__(NW * 32, MINB) flash_tile128_bwd_dq_kernel(
	const bf16 *q, int q_ld, const bf16 *k, int k_ld, const bf16 *v, int v_ld, const bf16 *dO,
	int do_ld, const float *lse2, const float *D, bf16 *dq, int dq_ld, int T, int Hq, int Hkv,
	int window, float sl2, float scale)
{
	constexpr int WR = 16 * MT, BQ = WR * NW, LD = HD + 8, NT = BK / 8, NO = HD / 8,
		      NKK = HD / 16;
	extern __shared__ __align__(16) unsigned char smem_raw[];
	bf16 *sQ = (bf16 *)smem_raw, *sdO = sQ + BQ * LD, *sK2 = sdO + BQ * LD,
	     *sV2 = sK2 + 2 * BK * LD;
	int qb = gridDim.x - 1 - blockIdx.x, h = blockIdx.y, b = blockIdx.z, hk = h / (Hq / Hkv);
	int warp = threadIdx.x / 32, lane = threadIdx.x & 31, gq = lane >> 2, tq = lane & 3;
	int q0 = qb * BQ, wq0 = q0 + warp * WR;
	const bf16 *kb_ = k + (size_t)b * T * k_ld + (size_t)hk * HD;
	const bf16 *vb_ = v + (size_t)b * T * v_ld + (size_t)hk * HD;
	int kv_hi = min(T, q0 + BQ);
	int kv_lo = window > 0 ? max(0, q0 - window + 1) : 0;
	int kstart = (kv_lo / BK) * BK, ntile = (kv_hi - kstart + BK - 1) / BK;
	load_tile_async<HD>(sQ, q + (size_t)b * T * q_ld + (size_t)h * HD, q_ld, q0, BQ, T);
	load_tile_async<HD>(sdO, dO + (size_t)b * T * do_ld + (size_t)h * HD, do_ld, q0, BQ, T);
	load_tile_async<HD>(sK2, kb_, k_ld, kstart, BK, T);
	load_tile_async<HD>(sV2, vb_, v_ld, kstart, BK, T);
	cp_commit();
	int r_lo = wq0 + gq; /* this thread's rows: r_lo + 16 m, + 8 */
	float L[MT][2], Dr[MT][2];
#pragma unroll
	for (int m = 0; m < MT; m++)
		flash_dq_rows(L[m], Dr[m], lse2, D, b, h, Hq, T, r_lo + m * 16);
	float acc[MT][NO][4];
#pragma unroll
	for (int m = 0; m < MT; m++)
#pragma unroll
		for (int i = 0; i < NO; i++)
			acc[m][i][0] = acc[m][i][1] = acc[m][i][2] = acc[m][i][3] = 0.f;
	uint32_t qf[MT][QREG ? NKK : 1][4], gf[MT][QREG ? NKK : 1][4];
	if (QREG) {
		cp_wait0();
		__syncthreads();
#pragma unroll
		for (int m = 0; m < MT; m++)
#pragma unroll
			for (int kk = 0; kk < (QREG ? NKK : 0); kk++) {
				load_a(qf[m][kk], sQ, LD, warp * WR + m * 16, kk * 16);
				load_a(gf[m][kk], sdO, LD, warp * WR + m * 16, kk * 16);
			}
	}
	for (int it = 0; it < ntile; it++) {
		int k0 = kstart + it * BK;
		bf16 *sK = sK2 + (it & 1) * BK * LD, *sV = sV2 + (it & 1) * BK * LD;
		cp_wait0();
		__syncthreads();
		if (it + 1 < ntile) {
			load_tile_async<HD>(sK2 + ((it + 1) & 1) * BK * LD, kb_, k_ld, k0 + BK, BK, T);
			load_tile_async<HD>(sV2 + ((it + 1) & 1) * BK * LD, vb_, v_ld, k0 + BK, BK, T);
			cp_commit();
		}
		if (k0 > wq0 + WR - 1 || wq0 >= T || (window > 0 && k0 + BK - 1 <= wq0 - window))
			continue;
		float s[MT][NT][4], dp[MT][NT][4];
		tile128_scores<HD, MT, NT, QREG, true>(s, dp, qf, gf, sQ, sdO, warp * WR, sK, sV);
		bool full = k0 + BK - 1 <= wq0 && (window <= 0 || k0 > wq0 + WR - 1 - window) &&
			    wq0 + WR <= T && k0 + BK <= T;
		uint32_t da[MT][NT / 2][4];
#pragma unroll
		for (int m = 0; m < MT; m++)
			flash_dq_ds<NT>(s[m], dp[m], full, r_lo + m * 16, k0, tq, T, window, sl2, L[m],
					Dr[m], da[m]);
		tile128_accumulate<HD, MT, NT, NO>(acc, da, sK, 0);
	}
#pragma unroll
	for (int m = 0; m < MT; m++)
#pragma unroll
		for (int i = 0; i < 2; i++) {
			int r = r_lo + m * 16 + i * 8;
			if (r >= T)
				continue;
			bf16 *row = dq + ((size_t)b * T + r) * dq_ld + (size_t)h * HD;
#pragma unroll
			for (int nt = 0; nt < NO; nt++)
				*(__nv_bfloat162 *)(row + nt * 8 + tq * 2) = __floats2bfloat162_rn(
					acc[m][nt][i * 2] * scale, acc[m][nt][i * 2 + 1] * scale);
		}
}

/* The query-tile pipeline of both dK/dV kernels below: the tiles of
 * flash_dkdv_tiles for the keys k0 .. k0 + bkv - 1 in order, double-buffered
 * in shared memory from sQ2 on (2 Q tiles, 2 dO tiles of BQ rows, 2 x BQ lse
 * and 2 x BQ D values; end() is past them). */
template <int HD, int BQ> struct Tile128DkdvTiles : FlashDkdvList<BQ> {
	static constexpr int LD = HD + 8;
	bf16 *sQ2, *sdO2;
	const bf16 *q, *dO;
	int q_ld, do_ld;
	__device__ __forceinline__ Tile128DkdvTiles(bf16 *s, const bf16 *q_, int q_ld_,
						   const bf16 *dO_, int do_ld_, const float *lse2_,
						   const float *D_, int b_, int hk_, int G_, int Hq_,
						   int T_, int k0, int bkv, int window)
		: FlashDkdvList<BQ>((float *)(s + 4 * BQ * LD), (float *)(s + 4 * BQ * LD) + 2 * BQ,
				    lse2_, D_, b_, hk_, G_, Hq_, T_, k0, bkv, window),
		  sQ2(s), sdO2(s + 2 * BQ * LD), q(q_), dO(dO_), q_ld(q_ld_), do_ld(do_ld_)
	{
	}
	__device__ __forceinline__ void *end() const { return this->sD2 + 2 * BQ; }
	/* tile it's Q and dO buffers */
	__device__ __forceinline__ bf16 *sQ(int it) const { return sQ2 + (it & 1) * BQ * LD; }
	__device__ __forceinline__ bf16 *sdO(int it) const { return sdO2 + (it & 1) * BQ * LD; }
	__device__ __forceinline__ void fetch(int it) const
	{
		flash_dkdv_fetch<HD, BQ>(it, this->qstart, this->nq, sQ2, sdO2, this->sL2, this->sD2, q,
					 q_ld, dO, do_ld, this->lse2, this->D, this->b, this->hk,
					 this->G, this->Hq, this->T);
	}
	/* tile 0's loads and their cp.async group (an empty one without tiles) */
	__device__ __forceinline__ void start() const
	{
		if (this->ntile > 0)
			fetch(0);
		cp_commit();
	}
	/* waits until tile it landed (and its L, D) and every thread of the
	 * block is past its use of tile it - 1's buffer, then starts loading
	 * tile it + 1 into that buffer */
	__device__ __forceinline__ void next(int it) const
	{
		cp_wait0();
		__syncthreads();
		if (it + 1 < this->ntile) {
			fetch(it + 1);
			cp_commit();
		}
	}
};

/* dK, dV. grid (ceil(T/BKV), Hkv * HD/HDP, B), NW warps, BKV = 16 MT NW;
 * warp w owns key rows k0 + 16 MT w .. as MT m-tiles of 16; the block
 * accumulates columns [part*HDP, +HDP) of dK and dV over every query head
 * of the group and every query tile that sees the key block, in a fixed
 * order. */
template <int HD, int HDP, int BQ, int NW, int MT, bool KREG, int MINB>
__global__ void __launch_bounds__(NW * 32, MINB) flash_tile128_bwd_dkdv_kernel(
	const bf16 *q, int q_ld, const bf16 *k, int k_ld, const bf16 *v, int v_ld, const bf16 *dO,
	int do_ld, const float *lse2, const float *D, bf16 *dk, int dk_ld, bf16 *dv, int dv_ld,
	int T, int Hq, int Hkv, int window, float sl2, float scale)
{
	constexpr int WR = 16 * MT, BKV = WR * NW, LD = HD + 8, NT = BQ / 8, NO = HDP / 8,
		      NKK = HD / 16;
	constexpr int NPART = HD / HDP;
	extern __shared__ __align__(16) unsigned char smem_raw[];
	bf16 *sK = (bf16 *)smem_raw, *sV = sK + BKV * LD;
	int kb = blockIdx.x, hk = blockIdx.y / NPART, part = blockIdx.y % NPART, b = blockIdx.z;
	int G = Hq / Hkv;
	int warp = threadIdx.x / 32, lane = threadIdx.x & 31, gq = lane >> 2, tq = lane & 3;
	int k0 = kb * BKV, wk0 = k0 + warp * WR, c0 = part * HDP;
	load_tile_async<HD>(sK, k + (size_t)b * T * k_ld + (size_t)hk * HD, k_ld, k0, BKV, T);
	load_tile_async<HD>(sV, v + (size_t)b * T * v_ld + (size_t)hk * HD, v_ld, k0, BKV, T);
	cp_commit();
	int kr_lo = wk0 + gq; /* this thread's key rows: kr_lo + 16 m, + 8 */
	float accK[MT][NO][4], accV[MT][NO][4];
#pragma unroll
	for (int m = 0; m < MT; m++)
#pragma unroll
		for (int i = 0; i < NO; i++)
#pragma unroll
			for (int e = 0; e < 4; e++)
				accK[m][i][e] = accV[m][i][e] = 0.f;
	Tile128DkdvTiles<HD, BQ> qt(sV + BKV * LD, q, q_ld, dO, do_ld, lse2, D, b, hk, G, Hq, T, k0,
				   BKV, window);
	qt.start();
	uint32_t kf[MT][KREG ? NKK : 1][4], vf[MT][KREG ? NKK : 1][4];
	if (KREG) {
		asm volatile("cp.async.wait_group 1;\n" ::: "memory"); /* K and V */
		__syncthreads();
#pragma unroll
		for (int m = 0; m < MT; m++)
#pragma unroll
			for (int kk = 0; kk < (KREG ? NKK : 0); kk++) {
				load_a(kf[m][kk], sK, LD, warp * WR + m * 16, kk * 16);
				load_a(vf[m][kk], sV, LD, warp * WR + m * 16, kk * 16);
			}
	}
	for (int it = 0; it < qt.ntile; it++) {
		int qs = qt.qs(it);
		bf16 *sQ = qt.sQ(it), *sdO = qt.sdO(it);
		float *sL = qt.sL(it), *sD = qt.sD(it);
		qt.next(it);
		/* no query of the tile sees any of the warp's keys */
		if (qs + BQ - 1 < wk0 || wk0 >= T || (window > 0 && qs >= wk0 + WR - 1 + window))
			continue;
		/* S^T = K Q^T and dP^T = V dO^T for this warp's keys */
		float s[MT][NT][4], dp[MT][NT][4];
		tile128_scores<HD, MT, NT, KREG, true>(s, dp, kf, vf, sK, sV, warp * WR, sQ, sdO);
		/* every (key, query) of the warp's part visible? */
		bool full = wk0 + WR - 1 <= qs && (window <= 0 || wk0 > qs + BQ - 1 - window) &&
			    qs + BQ <= T && wk0 + WR <= T;
		uint32_t pa[MT][NT / 2][4], da[MT][NT / 2][4];
#pragma unroll
		for (int m = 0; m < MT; m++)
			flash_dkdv_p_ds<NT>(s[m], dp[m], full, kr_lo + m * 16, qs, tq, T, window, sl2, sL,
					    sD, pa[m], da[m]);
		/* dV += P^T dO, dK += dS^T Q (columns c0..c0+HDP) */
		tile128_accumulate<HD, MT, NT, NO>(accV, pa, sdO, c0);
		tile128_accumulate<HD, MT, NT, NO>(accK, da, sQ, c0);
	}
#pragma unroll
	for (int m = 0; m < MT; m++)
		flash_dkdv_store<HD>(accK[m], accV[m], dk, dk_ld, dv, dv_ld, b, T, hk, c0,
				     kr_lo + m * 16, tq, scale);
}

/* dK, dV without the duplicated scores: grid (ceil(T/BKV), Hkv, B), NW
 * warps in NW/2 pairs, BKV = 8 NW keys. Warps w and w + NW/2 own the same
 * 16 key rows k0 + 16w .. and columns [0, HD/2), [HD/2, HD) of dK and dV:
 * of S^T = K Q^T and dP^T = V dO^T, the low warp computes S^T (and from it
 * P^T, masked) and the high warp dP^T, each over the whole head; they
 * swap the fp32 tiles through shared memory (a barrier per pair), so both
 * hold the same P and dP bits - the ones flash_tile128_bwd_dkdv_kernel computes -
 * and dK, dV are bitwise those of that kernel with the same BQ. The mask
 * and exp2 run once per pair instead of once per column part. Same tile
 * order and skipping, and the same query-tile pipeline (Tile128DkdvTiles), as
 * flash_tile128_bwd_dkdv_kernel. Needs HD/2 a multiple of 16. */
template <int HD, int BQ, int NW, int MINB, bool WDS>
__global__ void __launch_bounds__(NW * 32, MINB) flash_tile128_bwd_dkdv_split_kernel(
	const bf16 *q, int q_ld, const bf16 *k, int k_ld, const bf16 *v, int v_ld, const bf16 *dO,
	int do_ld, const float *lse2, const float *D, bf16 *dk, int dk_ld, bf16 *dv, int dv_ld,
	int T, int Hq, int Hkv, int window, float sl2, float scale, bf16 *dsT, int ds_ld)
{
	constexpr int NP = NW / 2, BKV = 16 * NP, LD = HD + 8, NT = BQ / 8, HDH = HD / 2,
		      NO = HDH / 8;
	static_assert(NW % 2 == 0 && NP <= 15 && HDH % 16 == 0 && NT % 2 == 0, "split shape");
	extern __shared__ __align__(16) unsigned char smem_raw[];
	bf16 *sK = (bf16 *)smem_raw, *sV = sK + BKV * LD;
	int kb = blockIdx.x, hk = blockIdx.y, b = blockIdx.z;
	int G = Hq / Hkv;
	int warp = threadIdx.x / 32, lane = threadIdx.x & 31, gq = lane >> 2, tq = lane & 3;
	int pair = warp % NP, half = warp / NP, partner = half ? warp - NP : warp + NP;
	int k0 = kb * BKV, wk0 = k0 + pair * 16, c0 = half * HDH;
	load_tile_async<HD>(sK, k + (size_t)b * T * k_ld + (size_t)hk * HD, k_ld, k0, BKV, T);
	load_tile_async<HD>(sV, v + (size_t)b * T * v_ld + (size_t)hk * HD, v_ld, k0, BKV, T);
	cp_commit();
	int kr_lo = wk0 + gq; /* this thread's key rows: kr_lo, + 8 */
	float accK[1][NO][4], accV[1][NO][4];
#pragma unroll
	for (int i = 0; i < NO; i++)
#pragma unroll
		for (int e = 0; e < 4; e++)
			accK[0][i][e] = accV[0][i][e] = 0.f;
	Tile128DkdvTiles<HD, BQ> qt(sV + BKV * LD, q, q_ld, dO, do_ld, lse2, D, b, hk, G, Hq, T, k0,
				   BKV, window);
	qt.start();
	/* a warp's exchange tile: NT x 32 float4, element (nt, lane) holds the
	 * lane's 4 accumulator values of n-tile nt (the partner lane with the
	 * same index holds the same (row, column) positions) */
	float4 *sX = (float4 *)qt.end();
	const uint32_t none[1][1][4] = {};
	for (int it = 0; it < qt.ntile; it++) {
		int qs = qt.qs(it);
		bf16 *sQ = qt.sQ(it), *sdO = qt.sdO(it);
		float *sL = qt.sL(it), *sD = qt.sD(it);
		/* its barrier also ends every use of iteration it-1's exchange tiles */
		qt.next(it);
		/* no query of the tile sees any of the pair's keys (the same
		 * test in both warps of a pair: both skip or neither) */
		if (qs + BQ - 1 < wk0 || wk0 >= T || (window > 0 && qs >= wk0 + 15 + window))
			continue;
		/* low warp: S^T = K Q^T, high warp: dP^T = V dO^T, over all HD */
		float x[1][NT][4];
		tile128_scores<HD, 1, NT, false, false>(x, x, none, none, half ? sV : sK, sV,
						       pair * 16, half ? sdO : sQ, sdO);
		if (!half) { /* x = P^T, masked */
			bool full = wk0 + 15 <= qs && (window <= 0 || wk0 > qs + BQ - 1 - window) &&
				    qs + BQ <= T && wk0 + 16 <= T;
			flash_pt<NT>(x[0], full, kr_lo, qs, tq, T, window, sl2, sL);
		}
#pragma unroll
		for (int nt = 0; nt < NT; nt++)
			sX[(warp * NT + nt) * 32 + lane] =
				make_float4(x[0][nt][0], x[0][nt][1], x[0][nt][2], x[0][nt][3]);
		/* the pair's two warps (barrier 0 is __syncthreads') */
		asm volatile("bar.sync %0, 64;\n" ::"r"(1 + pair) : "memory");
		uint32_t pa[1][NT / 2][4], da[1][NT / 2][4];
#pragma unroll
		for (int nt = 0; nt < NT; nt++) {
			float4 y4 = sX[(partner * NT + nt) * 32 + lane];
			float y[4] = {y4.x, y4.y, y4.z, y4.w}, p[4], ds[4];
#pragma unroll
			for (int e = 0; e < 4; e++) {
				int qc = nt * 8 + tq * 2 + (e & 1);
				p[e] = half ? y[e] : x[0][nt][e];
				float dpv = half ? x[0][nt][e] : y[e];
				ds[e] = p[e] * (dpv - sD[qc]);
			}
			pa[0][nt / 2][(nt & 1) * 2 + 0] = pack_bf16(p[0], p[1]);
			pa[0][nt / 2][(nt & 1) * 2 + 1] = pack_bf16(p[2], p[3]);
			da[0][nt / 2][(nt & 1) * 2 + 0] = pack_bf16(ds[0], ds[1]);
			da[0][nt / 2][(nt & 1) * 2 + 1] = pack_bf16(ds[2], ds[3]);
			/* WDS: the same dS^T bits to the scratch, for dQ as a product
			 * (flash_tile128_ds_bwd); the low warp of the pair writes */
			int qcol = qs + nt * 8 + tq * 2;
			if (WDS && !half && qcol < T) {
				bf16 *dsh = dsT + ((size_t)b * Hq + hk * G + it / qt.nq) * T * ds_ld;
				if (kr_lo < T)
					*(uint32_t *)(dsh + (size_t)kr_lo * ds_ld + qcol) =
						da[0][nt / 2][(nt & 1) * 2 + 0];
				if (kr_lo + 8 < T)
					*(uint32_t *)(dsh + (size_t)(kr_lo + 8) * ds_ld + qcol) =
						da[0][nt / 2][(nt & 1) * 2 + 1];
			}
		}
		/* dV += P^T dO, dK += dS^T Q (this warp's columns c0..c0+HD/2) */
		tile128_accumulate<HD, 1, NT, NO>(accV, pa, sdO, c0);
		tile128_accumulate<HD, 1, NT, NO>(accK, da, sQ, c0);
	}
	flash_dkdv_store<HD>(accK[0], accV[0], dk, dk_ld, dv, dv_ld, b, T, hk, c0, kr_lo, tq, scale);
}

/* Tile shapes of version 2 per head_dim (the default; `check_kernels bench`
 * also times other shapes, see tests/cuda/check_kernels.cu). A warp owns
 * MT m-tiles of 16 rows (queries in forward and dQ, keys in dK/dV), a block
 * NW warps: FNW/FMT forward, NW/QMT dQ, KNW/KMT dK/dV. BK, QBK: key tile of
 * forward, dQ; BQB: query tile of dK/dV; HDP: dK/dV columns per block;
 * *REG: operands kept in registers across the loop; *MINB: blocks per SM
 * asked of the register allocator. KSPLIT: dK/dV by
 * flash_tile128_bwd_dkdv_split_kernel (pairs of warps, KNW/2 x 16 keys a block,
 * query tiles of BQB; KMT, HDP and KVREG unused), for HD >= 32. */
template <int HD> struct Tile128Cfg {
	/* forward BK 64 at hd 256: 2.92 against 3.27 ms a 1b step with 32 */
	static constexpr int NW = 8, BK = 64, HDP = HD > 128 ? 128 : HD;
	static constexpr int FNW = NW, FMT = 1, KNW = NW, KMT = 1, QMT = 1;
	static constexpr int QBK = HD >= 256 ? 32 : 64;
	static constexpr int BQB = HD <= 64 ? 64 : 32;
	static constexpr bool FQREG = HD <= 128, DQREG = false, KVREG = HD <= 64;
	/* hd <= 64 forward and dQ: 128 registers (no spills with ptxas 13), so
	 * 2 blocks (16 warps) per SM */
	static constexpr int FMINB = HD <= 64 ? 2 : 1, DQMINB = HD <= 64 ? 2 : 1, KVMINB = 1;
	/* the trainer takes Tile128SplitCfg (below) at head_dim 256 */
	static constexpr bool KSPLIT = false;
};

/* whether config C at head_dim HD takes flash_tile128_bwd_dkdv_split_kernel */
template <class C, int HD> constexpr bool tile128_split_dkdv() { return C::KSPLIT && HD >= 32; }

template <class C, int HD> struct Tile128Smem {
	static constexpr size_t fwd = (size_t)(16 * C::FMT * C::FNW + 4 * C::BK) * (HD + 8) * 2;
	static constexpr size_t dq = (size_t)(32 * C::QMT * C::NW + 4 * C::QBK) * (HD + 8) * 2;
	static constexpr size_t dkdv =
		tile128_split_dkdv<C, HD>()
			/* K, V of 8 KNW rows; 2 Q, 2 dO tiles; 2 L, D; exchange tiles */
			? (size_t)(16 * C::KNW + 4 * C::BQB) * (HD + 8) * 2 +
				  4 * C::BQB * sizeof(float) + (size_t)C::KNW * 16 * C::BQB * sizeof(float)
			: (size_t)(32 * C::KMT * C::KNW + 4 * C::BQB) * (HD + 8) * 2 +
				  4 * C::BQB * sizeof(float);
};

/* Host launchers (see FlashArgs); they fall back to attention_tile64.cuh's
 * where the device lacks the shared memory. */
template <int HD, class C = Tile128Cfg<HD>>
static cudaError_t flash_tile128_fwd(cudaStream_t st, const FlashArgs &a)
{
	typedef Tile128Smem<C, HD> S;
	if (S::fwd > flash_smem_optin_limit())
		return flash_tile64_fwd<HD>(st, a);
	constexpr int BQ = 16 * C::FMT * C::FNW;
	dim3 grid((a.T + BQ - 1) / BQ, a.Hq, a.B);
	return launch_smem(flash_tile128_fwd_kernel<HD, C::BK, C::FNW, C::FMT, C::FQREG, C::FMINB>,
			   grid, 32 * C::FNW, S::fwd, st, a.q, a.q_ld, a.k, a.k_ld, a.v, a.v_ld, a.o,
			   a.o_ld, a.lse2, a.T, a.Hq, a.Hkv, a.window, a.scale * LOG2E_F);
}

template <int HD, class C = Tile128Cfg<HD>>
static cudaError_t flash_tile128_bwd(cudaStream_t st, const FlashArgs &a)
{
	typedef Tile128Smem<C, HD> S;
	size_t lim = flash_smem_optin_limit();
	if (S::dq > lim || S::dkdv > lim)
		return flash_tile64_bwd<HD>(st, a);
	constexpr int NW = C::NW, R = 16 * C::QMT * NW;
	float sl2 = a.scale * LOG2E_F;
	dim3 grid((a.T + R - 1) / R, a.Hq, a.B);
	cudaError_t e = launch_smem(
		flash_tile128_bwd_dq_kernel<HD, C::QBK, NW, C::QMT, C::DQREG, C::DQMINB>, grid, 32 * NW,
		S::dq, st, a.q, a.q_ld, a.k, a.k_ld, a.v, a.v_ld, a.dO, a.do_ld, a.lse2, a.D, a.dq,
		a.dq_ld, a.T, a.Hq, a.Hkv, a.window, sl2, a.scale);
	if (e != cudaSuccess)
		return e;
	if constexpr (tile128_split_dkdv<C, HD>()) {
		constexpr int R2 = 8 * C::KNW;
		dim3 grid2((a.T + R2 - 1) / R2, a.Hkv, a.B);
		return launch_smem(
			flash_tile128_bwd_dkdv_split_kernel<HD, C::BQB, C::KNW, C::KVMINB, false>, grid2,
			32 * C::KNW, S::dkdv, st, a.q, a.q_ld, a.k, a.k_ld, a.v, a.v_ld, a.dO, a.do_ld,
			a.lse2, a.D, a.dk, a.dk_ld, a.dv, a.dv_ld, a.T, a.Hq, a.Hkv, a.window, sl2, a.scale,
			(bf16 *)nullptr, 0);
	}
	constexpr int R2 = 16 * C::KMT * C::KNW;
	dim3 grid2((a.T + R2 - 1) / R2, a.Hkv * (HD / C::HDP), a.B);
	return launch_smem(flash_tile128_bwd_dkdv_kernel<HD, C::HDP, C::BQB, C::KNW, C::KMT, C::KVREG,
							 C::KVMINB>,
			   grid2, 32 * C::KNW, S::dkdv, st, a.q, a.q_ld, a.k, a.k_ld, a.v, a.v_ld, a.dO,
			   a.do_ld, a.lse2, a.D, a.dk, a.dk_ld, a.dv, a.dv_ld, a.T, a.Hq, a.Hkv, a.window,
			   sl2, a.scale);
}

/* version 2 with the default shapes (Tile128Cfg) at head_dim hd */
static inline flash_fwd_fn flash_tile128_fwd_for(int hd) { return FLASH_DISPATCH(hd, flash_tile128_fwd); }
static inline flash_bwd_fn flash_tile128_bwd_for(int hd) { return FLASH_DISPATCH(hd, flash_tile128_bwd); }

/* version 2 with the split dK/dV kernel (KSPLIT); at head_dim 256 with
 * 48-query tiles (1b attention backward 12.3 against 12.5 ms with 32; the
 * check_kernels variant v2-ksplit48) */
template <int HD> struct Tile128SplitCfg : Tile128Cfg<HD> {
	static constexpr bool KSPLIT = true;
	static constexpr int BQB = HD >= 256 ? 48 : Tile128Cfg<HD>::BQB;
};
/* flash_tile128_bwd<HD> with those shapes, for FLASH_DISPATCH */
template <int HD> constexpr flash_bwd_fn flash_tile128_split_bwd = flash_tile128_bwd<HD, Tile128SplitCfg<HD>>;
static inline flash_bwd_fn flash_tile128_split_bwd_for(int hd) { return FLASH_DISPATCH(hd, flash_tile128_split_bwd); }

/* The backward without the dQ kernel: the split dK/dV kernel also writes
 * dS^T (the bits its dK sums) to a.ds (flash_ds_bytes, zeroed here first:
 * the tiles it skips are zero), and dQ = scale dS K is one cuBLASLt product
 * a query head (attention_dq_product.cuh). The dQ kernel recomputes S and
 * dP: 3 of the 7 products of a backward pass, at head_dim 256 most of its
 * time; the product instead reads 2 T^2 bytes a head, which is little
 * beside that at 256 (64 MB a layer of gemma3-1b at B 8) but not at 64
 * with 12 heads (800 MB at small's B 32). BONSAI_ATTN=ds; dK and dV are
 * bitwise flash_tile128_split_bwd's. */
template <int HD, class C = Tile128SplitCfg<HD>>
static cudaError_t flash_tile128_ds_bwd(cudaStream_t st, const FlashArgs &a)
{
	typedef Tile128Smem<C, HD> S;
	/* below head_dim 32 (no split kernel), and where the device lacks the
	 * shared memory: the kernels with their own dQ */
	if constexpr (!tile128_split_dkdv<C, HD>())
		return flash_tile128_bwd<HD, C>(st, a);
	else {
		if (!a.ds)
			return cudaErrorInvalidValue;
		if (S::dkdv > flash_smem_optin_limit())
			return flash_tile64_bwd<HD>(st, a);
		int ld = flash_ds_ld(a.T);
		cudaError_t e = cudaMemsetAsync(a.ds, 0, flash_ds_bytes(a.B, a.Hq, a.T), st);
		if (e != cudaSuccess)
			return e;
		constexpr int R2 = 8 * C::KNW;
		dim3 grid2((a.T + R2 - 1) / R2, a.Hkv, a.B);
		e = launch_smem(flash_tile128_bwd_dkdv_split_kernel<HD, C::BQB, C::KNW, C::KVMINB, true>,
				grid2, 32 * C::KNW, S::dkdv, st, a.q, a.q_ld, a.k, a.k_ld, a.v, a.v_ld,
				a.dO, a.do_ld, a.lse2, a.D, a.dk, a.dk_ld, a.dv, a.dv_ld, a.T, a.Hq, a.Hkv,
				a.window, a.scale * LOG2E_F, a.scale, a.ds, ld);
		if (e != cudaSuccess)
			return e;
		return attn_dq_product(st, a, HD, ld);
	}
}
static inline flash_bwd_fn flash_tile128_ds_bwd_for(int hd) { return FLASH_DISPATCH(hd, flash_tile128_ds_bwd); }

#endif

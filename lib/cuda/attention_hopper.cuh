/* attention_hopper.cuh - flash attention, forward and backward, on
 * Hopper's warpgroup tensor-core instructions (wgmma, sm_90a only), at
 * head_dim 64 (128 and 256: attention_hopper_wide.cuh): kernels and
 * launchers, the trainer's default there. They are
 * attention_tile64.cuh's kernels with their products moved to warpgroups,
 * the arithmetic between products unchanged: O, lse2, dQ, dK and dV are
 * tile64's bits (tests/cuda/check_kernels asserts it at every shape), so
 * BONSAI_ATTN=v1 trains to the same checkpoints.
 *
 * A block is NWG warpgroups of 4 warps; warpgroup g owns query rows
 * q0 + 64g .. +63 (one m64 product covers them). Key/value tiles of 64 rows
 * are double-buffered in shared memory by cp.async, issued by every thread
 * (no producer warpgroup, no TMA: a first version that keeps the tile64
 * loop's shape). Per tile and warpgroup:
 *   S = Q K^T   4 x wgmma m64n64k16, A = Q and B = K from shared memory;
 *   online softmax of S in registers, exactly tile64's arithmetic (log2
 *               units, scale * log2e folded into one multiply);
 *   O += P V    4 x wgmma m64n64k16, A = P from registers (bf16), B = V from
 *               shared memory read N-major (transpose-B), so V needs no
 *               transposing copy.
 * The accumulator of m64nN holds, per warp, the layout of mma.sync
 * m16n8 repeated over the N/8 column chunks, and the register A operand of
 * m64k16 that of mma.sync's A: S packs into P as in tile64.
 *
 * Shared memory: every tile (Q rows, K rows, V rows) is rows of 64 bf16 =
 * 128 bytes, stored in the 128-byte swizzle wgmma reads: 8-row groups of
 * 1024 bytes (1024-aligned), the 16-byte chunk c of row r at chunk c ^ (r%8)
 * (the hardware XORs address bits 4-6 with bits 7-9). Row-major Q and K are
 * "K-major" operands (the reduction dimension, head_dim, is contiguous);
 * V rows [key][hd] are "N-major" for O += P V (reduction over keys, the
 * output dimension hd contiguous), the same bytes read with trans-b = 1. */
#ifndef BONSAI_CUDA_ATTENTION_HOPPER_CUH
#define BONSAI_CUDA_ATTENTION_HOPPER_CUH

#include "attention_tile64.cuh"
#include "wgmma.cuh"

#ifdef BONSAI_WGMMA
/* The descriptors of the four k16 slices (16 rows each) of a 64-row tile
 * at shared address tile, read N-major: the B of a product whose reduction
 * runs over the tile's rows (V, dO, Q, K; see wgmma_desc_sw128). Made
 * before wgmma.fence (wgmma_desc_pin). */
__device__ __forceinline__ void hopper_rows_descs(uint64_t (&d)[4], uint32_t tile)
{
#pragma unroll
	for (int kk = 0; kk < 4; kk++)
		d[kk] = wgmma_desc_pin(wgmma_desc_sw128(tile + kk * 2048, 1024, 1024));
}

/* acc += A B over a tile's 64 rows: A the four k16 fragments in registers
 * (a[kk]: rows 16 kk .. +15), B by hopper_rows_descs. Issued, not
 * committed. */
__device__ __forceinline__ void hopper_rows_product(float (&acc)[8][4], const uint32_t (&a)[4][4],
						    const uint64_t (&d)[4])
{
#pragma unroll
	for (int kk = 0; kk < 4; kk++)
		wgmma_m64n64k16_rs_tb(acc, a[kk], d[kk]);
}

/* The turn at the top of a loop over double-buffered tiles: tile it's
 * cp.async copies are in and visible to wgmma (they wrote through the
 * generic proxy, wgmma reads through the async proxy), every thread is
 * past tile it - 1 (whose buffers the prefetch reuses), and tile it + 1's
 * copies are issued by fetch(it + 1) and committed. */
template <class F> __device__ __forceinline__ void hopper_next_tile(int it, int ntile, F &&fetch)
{
	cp_wait0();
	asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
	__syncthreads();
	if (it + 1 < ntile)
		fetch(it + 1);
	cp_commit();
}
#endif

/* A dK/dV kernel's query tiles (FlashDkdvList) with their Q and dO (HD/64
 * column tiles each, TB bytes a tile) double-buffered at shared addresses
 * sQ2, sdO2 by NTH threads' cp.async. */
template <int HD, int BQ, int NTH> struct HopperDkdvTiles : FlashDkdvList<BQ> {
	uint32_t sQ2, sdO2, TB;
	const bf16 *q, *dO;
	int q_ld, do_ld;
	__device__ __forceinline__ HopperDkdvTiles(uint32_t sQ2_, uint32_t sdO2_, uint32_t TB_,
						   float *sL2_, float *sD2_, const bf16 *q_,
						   int q_ld_, const bf16 *dO_, int do_ld_,
						   const float *lse2_, const float *D_, int b_, int hk_,
						   int G_, int Hq_, int T_, int k0, int bkv, int window)
		: FlashDkdvList<BQ>(sL2_, sD2_, lse2_, D_, b_, hk_, G_, Hq_, T_, k0, bkv, window),
		  sQ2(sQ2_), sdO2(sdO2_), TB(TB_), q(q_), dO(dO_), q_ld(q_ld_), do_ld(do_ld_)
	{
	}
	__device__ __forceinline__ uint32_t sQ(int it) const { return sQ2 + (it & 1) * TB; }
	__device__ __forceinline__ uint32_t sdO(int it) const { return sdO2 + (it & 1) * TB; }
	/* tile it's copies into buffer it & 1, not committed */
	__device__ __forceinline__ void fetch(int it) const
	{
		int h = this->head(it), s = this->qs(it), T = this->T;
		hopper_load_tile<BQ, NTH, HD>(sQ(it), q + (size_t)this->b * T * q_ld + (size_t)h * HD,
					      q_ld, s, T);
		hopper_load_tile<BQ, NTH, HD>(sdO(it), dO + (size_t)this->b * T * do_ld + (size_t)h * HD,
					      do_ld, s, T);
		this->fetch_rows(it);
	}
	/* before the loop: tile 0's copies issued */
	__device__ __forceinline__ void start() const
	{
		fetch(0);
		cp_commit();
	}
	/* at the top of iteration it: hopper_next_tile */
	__device__ __forceinline__ void next(int it) const
	{
		hopper_next_tile(it, this->ntile, [this](int n) { fetch(n); });
	}
};

/* Forward. grid (ceil(T / (64 NWG)), Hq, B), 128 NWG threads; the query
 * blocks run in reverse so that under the causal mask the longest rows
 * start first.
 * PIPE: a warpgroup defers O += P V of a tile to the next one, issued right
 * after that tile's S = Q K^T, so that the product runs while the softmax
 * of the next S is computed (one wait fewer a tile on the critical path);
 * V then needs three buffers (a tile's V is read one tile later). The sum
 * order changes: O is rescaled after, not before, the deferred product.
 * The deferred product is issued on every tile, the first one with P = 0,
 * and once after the loop: wgmma under a data-dependent branch makes ptxas
 * serialize all of them (C7520). A warpgroup's last tile is at most NWG - 1
 * before the block's last, so the V buffer of its deferred product (three
 * tiles before it is written again) lasts until the product after the
 * loop. */
template <int HD, int NWG, bool PIPE>
__global__ void __launch_bounds__(128 * NWG) flash_hopper_fwd_kernel(const bf16 *q, int q_ld, const bf16 *k,
								  int k_ld, const bf16 *v, int v_ld,
								  bf16 *o, int o_ld, float *lse2, int T,
								  int Hq, int Hkv, int window, float sl2)
{
	static_assert(HD == 64, "one 128-byte swizzle atom a row: head_dim 64 only");
#ifdef BONSAI_WGMMA
	constexpr int BK = 64, BQ = 64 * NWG, NTH = 128 * NWG, NVB = PIPE ? 3 : 2;
	constexpr uint32_t TILE = BK * 128; /* bytes of a 64-row tile */
	extern __shared__ unsigned char smem_raw[];
	/* the swizzle repeats every 1024 bytes of address: align the tiles */
	uint32_t s0 = (smem_u32(smem_raw) + 1023) & ~1023u;
	uint32_t sQ = s0, sK2 = sQ + NWG * TILE, sVn = sK2 + 2 * TILE;
	int qb = gridDim.x - 1 - blockIdx.x, h = blockIdx.y, b = blockIdx.z, hk = h / (Hq / Hkv);
	int wg = threadIdx.x / 128, warp = (threadIdx.x / 32) & 3, lane = threadIdx.x & 31;
	int gq = lane >> 2, tq = lane & 3;
	int q0 = qb * BQ, wq0 = q0 + wg * 64;
	const bf16 *kb_ = k + (size_t)b * T * k_ld + (size_t)hk * HD;
	const bf16 *vb_ = v + (size_t)b * T * v_ld + (size_t)hk * HD;
	hopper_load_tile<BQ, NTH>(sQ, q + (size_t)b * T * q_ld + (size_t)h * HD, q_ld, q0, T);

	float acc[8][4];
#pragma unroll
	for (int i = 0; i < 32; i++)
		acc[i / 4][i % 4] = 0.f;
	float mrow[2] = {-INFINITY, -INFINITY}, lrow[2] = {0.f, 0.f};
	int r_lo = wq0 + warp * 16 + gq; /* this thread's rows: r_lo, r_lo + 8 */
	int wq_last = min(T, wq0 + 64) - 1;
	static_assert(!PIPE || NWG <= 3, "the deferred product's V buffer would be overwritten");
	uint32_t pp[4][4]; /* PIPE: the P whose product with V (at sVp) is deferred */
#pragma unroll
	for (int i = 0; i < 16; i++)
		pp[i / 4][i % 4] = 0u;
	uint32_t sVp = sVn;
	bool started = false; /* PIPE: pp holds a tile's P (else 0) */
	uint32_t zero = T < 0; /* 0, T being a length */
	/* O += P V, A = P (pa[kk]: keys 16 kk .. +15) */
	auto pv = [&](const uint32_t (&pa)[4][4], const uint64_t (&dv)[4]) {
		hopper_rows_product(acc, pa, dv);
		wgmma_commit();
	};

	int kv_hi = min(T, q0 + BQ);
	int kv_lo = window > 0 ? max(0, q0 - window + 1) : 0;
	int kstart = (kv_lo / BK) * BK, ntile = (kv_hi - kstart + BK - 1) / BK;
	hopper_load_tile<BK, NTH>(sK2, kb_, k_ld, kstart, T);
	hopper_load_tile<BK, NTH>(sVn, vb_, v_ld, kstart, T);
	cp_commit();
	for (int it = 0, vb = 0; it < ntile; it++, vb = vb + 1 == NVB ? 0 : vb + 1) {
		int k0 = kstart + it * BK;
		uint32_t sK = sK2 + (it & 1) * TILE, sV = sVn + vb * TILE;
		cp_wait0();
		/* cp.async wrote through the generic proxy, wgmma reads through
		 * the async proxy */
		asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
		/* tile it is in; every warpgroup is done with K of tile it - 1 and
		 * V of tile it + 1 - NVB (their products were waited for), whose
		 * buffers the prefetch reuses (as hopper_next_tile, kept inline:
		 * through it ptxas schedules this loop differently) */
		__syncthreads();
		if (it + 1 < ntile) {
			int vn = vb + 1 == NVB ? 0 : vb + 1;
			hopper_load_tile<BK, NTH>(sK2 + ((it + 1) & 1) * TILE, kb_, k_ld, k0 + BK, T);
			hopper_load_tile<BK, NTH>(sVn + vn * TILE, vb_, v_ld, k0 + BK, T);
		}
		cp_commit();
		/* this warpgroup's rows see a key of the tile? (uniform across
		 * the warpgroup, as the wgmma instructions need; the tiles that
		 * do are consecutive) */
		if (wq0 >= T || k0 > wq_last || (window > 0 && k0 + BK - 1 <= wq0 - window))
			continue;
		float s[8][4];
#pragma unroll
		for (int i = 0; i < 32; i++)
			s[i / 4][i % 4] = 0.f; /* not read (the first product overwrites) */
		/* inputs computed and pinned before wgmma.fence: ptxas serializes
		 * every wgmma (C7513) when an ordinary instruction defines one
		 * inside the pipeline stage */
		uint64_t dq[HD / 16], dk[HD / 16], dv[BK / 16];
#pragma unroll
		for (int kk = 0; kk < HD / 16; kk++) {
			dq[kk] = wgmma_desc_pin(wgmma_desc_sw128(sQ + wg * TILE + kk * 32, 16, 1024));
			dk[kk] = wgmma_desc_pin(wgmma_desc_sw128(sK + kk * 32, 16, 1024));
		}
		if (PIPE) /* the first time P = 0, with V of this tile: loaded, not being written */
			hopper_rows_descs(dv, started ? sVp : sV);
		wgmma_reg_fence(s);
		wgmma_fence();
#pragma unroll
		for (int kk = 0; kk < HD / 16; kk++)
			wgmma_m64n64k16_ss(s, dq[kk], dk[kk], kk);
		wgmma_commit();
		if (PIPE) {
			pv(pp, dv);
			wgmma_wait1(); /* S is in; the product may still run */
		} else {
			wgmma_wait0();
		}
		wgmma_reg_fence(s);

		bool full = k0 + BK - 1 <= wq0 && (window <= 0 || k0 > wq0 + 63 - window) &&
			    wq0 + 64 <= T && k0 + BK <= T;
		float corr[2];
		uint32_t pa[4][4]; /* pa[kk]: A of keys 16 kk .. +15 */
		flash_softmax_tile<8>(s, full, r_lo, k0, tq, T, window, sl2, mrow, lrow, pa, corr);
		if (PIPE) {
			wgmma_wait0();
			wgmma_reg_fence(acc);
			wgmma_reg_fence_u(pp); /* read by the product until here */
		}
#pragma unroll
		for (int i = 0; i < 32; i++)
			acc[i / 4][i % 4] *= corr[(i >> 1) & 1];
		if (PIPE) {
			/* a copy ptxas cannot coalesce (x ^ 0, the 0 unknown to it):
			 * with a move it gives P and the deferred P one register set,
			 * which the softmax then writes while the product reads it,
			 * and serializes every wgmma (C7513) */
#pragma unroll
			for (int i = 0; i < 16; i++)
				asm volatile("xor.b32 %0, %1, %2;\n"
					     : "=r"(pp[i / 4][i % 4])
					     : "r"(pa[i / 4][i % 4]), "r"(zero));
			wgmma_reg_fence(acc);
			wgmma_reg_fence_u(pp);
			sVp = sV;
			started = true;
		} else {
			hopper_rows_descs(dv, sV);
			wgmma_fence();
			pv(pa, dv);
			wgmma_wait0();
			wgmma_reg_fence(acc);
		}
	}
	if (PIPE) {
		uint64_t dv[BK / 16];
		hopper_rows_descs(dv, sVp);
		wgmma_fence();
		pv(pp, dv);
		wgmma_wait0();
		wgmma_reg_fence(acc);
	}
	flash_fwd_store<HD>(acc, mrow, lrow, o, o_ld, lse2, b, h, Hq, T, r_lo, tq);
#else
	/* built for a target without wgmma: the launcher never starts it there */
	__trap();
#endif
}

/* Shared-memory bytes: Q, two K and two (PIPE: three) V tiles, and the
 * 1024-byte alignment of the swizzle. */
static inline size_t flash_hopper_fwd_smem(int nwg, bool pipe)
{
	return (size_t)(nwg + 2 + (pipe ? 3 : 2)) * 64 * 128 + 1024;
}

/* Host launcher (see FlashArgs) with NWG warpgroups a block; elsewhere than
 * on sm_90 the tile64 forward, whose o and lse2 mean the same. */
template <int HD, int NWG, bool PIPE>
static cudaError_t flash_hopper_fwd_cfg(cudaStream_t st, const FlashArgs &a)
{
	if (!wgmma_device())
		return flash_tile64_fwd<HD>(st, a);
	size_t sm = flash_hopper_fwd_smem(NWG, PIPE);
	dim3 grid((a.T + 64 * NWG - 1) / (64 * NWG), a.Hq, a.B);
	return launch_smem(flash_hopper_fwd_kernel<HD, NWG, PIPE>, grid, 128 * NWG, sm, st, a.q,
			   a.q_ld, a.k, a.k_ld, a.v, a.v_ld, a.o, a.o_ld, a.lse2, a.T, a.Hq, a.Hkv,
			   a.window, a.scale * LOG2E_F);
}

/* one warpgroup a block: on an H200 (small, B 32) 0.244 / 0.298 ms a
 * local / global layer against 0.268 / 0.317 with two and tile64's 0.252 /
 * 0.307; since full tiles skip the mask's arithmetic and exp2 is one
 * instruction (flash_softmax_tile), 0.164 / 0.198 */
template <int HD>
static cudaError_t flash_hopper_fwd(cudaStream_t st, const FlashArgs &a)
{
	return flash_hopper_fwd_cfg<HD, 1, false>(st, a);
}

/* the forward for head_dim hd, nullptr where there is none (hd != 64) */
static inline flash_fwd_fn flash_hopper_fwd_for(int hd)
{
	return hd == 64 ? flash_hopper_fwd<64> : nullptr;
}

#ifdef BONSAI_WGMMA
/* The backward's two score products of a tile, both operands K-major
 * 64 x 64 tiles in shared memory: s = A1 B1^T and dp = A2 B2^T, issued
 * together and waited for (their descriptors made before the fence: see
 * wgmma_desc_pin). */
__device__ __forceinline__ void hopper_score_pair(float (&s)[8][4], float (&dp)[8][4], uint32_t a1,
						  uint32_t b1, uint32_t a2, uint32_t b2)
{
#pragma unroll
	for (int i = 0; i < 32; i++)
		s[i / 4][i % 4] = dp[i / 4][i % 4] = 0.f; /* not read (the first product overwrites) */
	uint64_t da1[4], db1[4], da2[4], db2[4];
#pragma unroll
	for (int kk = 0; kk < 4; kk++) {
		da1[kk] = wgmma_desc_pin(wgmma_desc_sw128(a1 + kk * 32, 16, 1024));
		db1[kk] = wgmma_desc_pin(wgmma_desc_sw128(b1 + kk * 32, 16, 1024));
		da2[kk] = wgmma_desc_pin(wgmma_desc_sw128(a2 + kk * 32, 16, 1024));
		db2[kk] = wgmma_desc_pin(wgmma_desc_sw128(b2 + kk * 32, 16, 1024));
	}
	wgmma_reg_fence(s);
	wgmma_reg_fence(dp);
	wgmma_fence();
#pragma unroll
	for (int kk = 0; kk < 4; kk++)
		wgmma_m64n64k16_ss(s, da1[kk], db1[kk], kk);
#pragma unroll
	for (int kk = 0; kk < 4; kk++)
		wgmma_m64n64k16_ss(dp, da2[kk], db2[kk], kk);
	wgmma_commit();
	wgmma_wait0();
	wgmma_reg_fence(s);
	wgmma_reg_fence(dp);
}
#endif

/* Backward, dK and dV, by wgmma (head_dim 64): tile64's dK/dV kernel with
 * its products on warpgroup instructions (dQ: the kernel below). grid
 * (ceil(T/64), Hkv, B), one warpgroup: its 64 key rows k0.. are K and V in
 * shared memory for the whole loop; per query tile (every head of the
 * group, every 64 queries that see the keys), Q and dO double-buffered by
 * cp.async, 128-byte swizzled:
 *   S^T  = K Q^T     4 x m64n64k16, both from shared memory (K-major);
 *   dP^T = V dO^T    4 more, issued with them;
 *   P^T, dS^T in registers, exactly tile64's arithmetic;
 *   dV  += P^T dO    4 x m64n64k16, A = P^T from registers, B = dO read
 *                    N-major (its rows are the reduction);
 *   dK  += dS^T Q    the same with dS^T and Q.
 * The accumulators hold mma.sync's C layout a warp, so tile64's store
 * writes them. */
template <int HD>
__global__ void __launch_bounds__(128) flash_hopper_dkdv_kernel(
	const bf16 *q, int q_ld, const bf16 *k, int k_ld, const bf16 *v, int v_ld, const bf16 *dO,
	int do_ld, const float *lse2, const float *D, bf16 *dk, int dk_ld, bf16 *dv, int dv_ld,
	int T, int Hq, int Hkv, int window, float sl2, float scale)
{
	static_assert(HD == 64, "one 128-byte swizzle atom a row: head_dim 64 only");
#ifdef BONSAI_WGMMA
	constexpr int BKV = 64, BQ = 64;
	constexpr uint32_t TILE = 64 * 128;
	extern __shared__ unsigned char smem_raw[];
	uint32_t s0 = (smem_u32(smem_raw) + 1023) & ~1023u;
	uint32_t sK = s0, sV = sK + TILE, sQ2 = sV + TILE, sdO2 = sQ2 + 2 * TILE;
	float *sL2 = (float *)(smem_raw + (sdO2 + 2 * TILE - smem_u32(smem_raw))), *sD2 = sL2 + 2 * BQ;
	int kb = blockIdx.x, hk = blockIdx.y, b = blockIdx.z, G = Hq / Hkv;
	int warp = threadIdx.x / 32, lane = threadIdx.x & 31, gq = lane >> 2, tq = lane & 3;
	int k0 = kb * BKV;
	hopper_load_tile<BKV, 128>(sK, k + (size_t)b * T * k_ld + (size_t)hk * HD, k_ld, k0, T);
	hopper_load_tile<BKV, 128>(sV, v + (size_t)b * T * v_ld + (size_t)hk * HD, v_ld, k0, T);
	int kr_lo = k0 + warp * 16 + gq; /* this thread's key rows: kr_lo, +8 */
	float accK[8][4], accV[8][4];
#pragma unroll
	for (int i = 0; i < 32; i++)
		accK[i / 4][i % 4] = accV[i / 4][i % 4] = 0.f;
	HopperDkdvTiles<HD, BQ, 128> qt(sQ2, sdO2, TILE, sL2, sD2, q, q_ld, dO, do_ld, lse2, D, b, hk,
					G, Hq, T, k0, BKV, window);
	qt.start();
	for (int it = 0; it < qt.ntile; it++) {
		int qs = qt.qs(it);
		uint32_t sQ = qt.sQ(it), sdO = qt.sdO(it);
		const float *sL = qt.sL(it), *sD = qt.sD(it);
		qt.next(it); /* every product of tile it - 1 was waited for */
		/* S^T = K Q^T, dP^T = V dO^T */
		float s[8][4], dp[8][4];
		hopper_score_pair(s, dp, sK, sQ, sV, sdO);
		bool full = k0 + BKV - 1 <= qs && (window <= 0 || k0 > qs + BQ - 1 - window) &&
			    qs + BQ <= T && k0 + BKV <= T;
		uint32_t pa[4][4], da[4][4];
		flash_dkdv_p_ds<8>(s, dp, full, kr_lo, qs, tq, T, window, sl2, sL, sD, pa, da);
		uint64_t tdO[4], tQ[4];
		hopper_rows_descs(tdO, sdO);
		hopper_rows_descs(tQ, sQ);
		wgmma_reg_fence(accV);
		wgmma_reg_fence(accK);
		wgmma_reg_fence_u(pa);
		wgmma_reg_fence_u(da);
		wgmma_fence();
		hopper_rows_product(accV, pa, tdO);
		hopper_rows_product(accK, da, tQ);
		wgmma_commit();
		wgmma_wait0();
		wgmma_reg_fence(accV);
		wgmma_reg_fence(accK);
		wgmma_reg_fence_u(pa);
		wgmma_reg_fence_u(da);
	}
	flash_dkdv_store<HD, 8>(accK, accV, dk, dk_ld, dv, dv_ld, b, T, hk, 0, kr_lo, tq, scale);
#else
	__trap();
#endif
}

/* Backward, dQ, by wgmma (head_dim 64): tile64's dQ kernel on warpgroup
 * products. grid (ceil(T/64), Hq, B), one warpgroup owning 64 query rows;
 * Q and dO stay in shared memory, key/value tiles of 64 rows are
 * double-buffered by cp.async (128-byte swizzle). Per key tile:
 *   S  = Q K^T    4 x m64n64k16 from shared memory (K-major);
 *   dP = dO V^T   4 more, issued with them;
 *   P, dS in registers (tile64's arithmetic, the row's lse and D);
 *   dQ += dS K    4 x m64n64k16, A = dS from registers, B = K read N-major.
 * dQ = scale dQ is stored as tile64's kernel stores it. */
template <int HD>
__global__ void __launch_bounds__(128) flash_hopper_dq_kernel(
	const bf16 *q, int q_ld, const bf16 *k, int k_ld, const bf16 *v, int v_ld, const bf16 *dO,
	int do_ld, const float *lse2, const float *D, bf16 *dq, int dq_ld, int T, int Hq, int Hkv,
	int window, float sl2, float scale)
{
	static_assert(HD == 64, "one 128-byte swizzle atom a row: head_dim 64 only");
#ifdef BONSAI_WGMMA
	constexpr int BQ = 64, BK = 64;
	constexpr uint32_t TILE = 64 * 128;
	extern __shared__ unsigned char smem_raw[];
	uint32_t s0 = (smem_u32(smem_raw) + 1023) & ~1023u;
	uint32_t sQ = s0, sdO = sQ + TILE, sK2 = sdO + TILE, sV2 = sK2 + 2 * TILE;
	int qb = blockIdx.x, h = blockIdx.y, b = blockIdx.z, hk = h / (Hq / Hkv);
	int warp = threadIdx.x / 32, lane = threadIdx.x & 31, gq = lane >> 2, tq = lane & 3;
	int q0 = qb * BQ;
	hopper_load_tile<BQ, 128>(sQ, q + (size_t)b * T * q_ld + (size_t)h * HD, q_ld, q0, T);
	hopper_load_tile<BQ, 128>(sdO, dO + (size_t)b * T * do_ld + (size_t)h * HD, do_ld, q0, T);
	const bf16 *kb_ = k + (size_t)b * T * k_ld + (size_t)hk * HD;
	const bf16 *vb_ = v + (size_t)b * T * v_ld + (size_t)hk * HD;
	int r_lo = q0 + warp * 16 + gq; /* this thread's rows: r_lo, r_lo + 8 */
	float L[2], Dr[2];
	flash_dq_rows(L, Dr, lse2, D, b, h, Hq, T, r_lo);
	float acc[8][4];
#pragma unroll
	for (int i = 0; i < 32; i++)
		acc[i / 4][i % 4] = 0.f;
	int kv_hi = min(T, q0 + BQ);
	int kv_lo = window > 0 ? max(0, q0 - window + 1) : 0;
	int kstart = (kv_lo / BK) * BK, ntile = (kv_hi - kstart + BK - 1) / BK;
	hopper_load_tile<BK, 128>(sK2, kb_, k_ld, kstart, T);
	hopper_load_tile<BK, 128>(sV2, vb_, v_ld, kstart, T);
	cp_commit();
	for (int it = 0; it < ntile; it++) {
		int k0 = kstart + it * BK;
		uint32_t sK = sK2 + (it & 1) * TILE, sV = sV2 + (it & 1) * TILE;
		cp_wait0();
		asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
		__syncthreads();
		if (it + 1 < ntile) {
			hopper_load_tile<BK, 128>(sK2 + ((it + 1) & 1) * TILE, kb_, k_ld, k0 + BK, T);
			hopper_load_tile<BK, 128>(sV2 + ((it + 1) & 1) * TILE, vb_, v_ld, k0 + BK, T);
		}
		cp_commit();
		/* S = Q K^T, dP = dO V^T */
		float s[8][4], dp[8][4];
		hopper_score_pair(s, dp, sQ, sK, sdO, sV);
		bool full = k0 + BK - 1 <= q0 && (window <= 0 || k0 > q0 + BQ - 1 - window) &&
			    q0 + BQ <= T && k0 + BK <= T;
		uint32_t da[4][4];
		flash_dq_ds<8>(s, dp, full, r_lo, k0, tq, T, window, sl2, L, Dr, da);
		uint64_t tK[4];
		hopper_rows_descs(tK, sK);
		wgmma_reg_fence(acc);
		wgmma_reg_fence_u(da);
		wgmma_fence();
		hopper_rows_product(acc, da, tK);
		wgmma_commit();
		wgmma_wait0();
		wgmma_reg_fence(acc);
		wgmma_reg_fence_u(da);
	}
	flash_dq_store<HD>(acc, dq, dq_ld, b, h, T, r_lo, tq, scale);
#else
	__trap();
#endif
}

/* Q, dO; two K and two V tiles; the swizzle's alignment */
static inline size_t flash_hopper_dq_smem() { return (size_t)6 * 64 * 128 + 1024; }

/* Q, dO: two tiles each; K, V; lse, D of two tiles; the swizzle's alignment */
static inline size_t flash_hopper_dkdv_smem() { return (size_t)6 * 64 * 128 + 4 * 64 * 4 + 1024; }

/* dQ by the wgmma kernel */
template <int HD>
static cudaError_t flash_hopper_bwd_dq(cudaStream_t st, const FlashArgs &a)
{
	dim3 grid((a.T + 63) / 64, a.Hq, a.B);
	return launch_smem(flash_hopper_dq_kernel<HD>, grid, 128, flash_hopper_dq_smem(), st, a.q,
			   a.q_ld, a.k, a.k_ld, a.v, a.v_ld, a.dO, a.do_ld, a.lse2, a.D, a.dq, a.dq_ld,
			   a.T, a.Hq, a.Hkv, a.window, a.scale * LOG2E_F, a.scale);
}

/* dK and dV by the wgmma kernel */
template <int HD>
static cudaError_t flash_hopper_bwd_dkdv(cudaStream_t st, const FlashArgs &a)
{
	dim3 grid((a.T + 63) / 64, a.Hkv, a.B);
	return launch_smem(flash_hopper_dkdv_kernel<HD>, grid, 128, flash_hopper_dkdv_smem(), st, a.q,
			   a.q_ld, a.k, a.k_ld, a.v, a.v_ld, a.dO, a.do_ld, a.lse2, a.D, a.dk, a.dk_ld,
			   a.dv, a.dv_ld, a.T, a.Hq, a.Hkv, a.window, a.scale * LOG2E_F, a.scale);
}

/* The backward with the wgmma dK/dV kernel and DQ's dQ kernel (wgmma's or
 * tile64's); off sm_90 tile64's. */
template <int HD, bool DQ>
static cudaError_t flash_hopper_bwd_cfg(cudaStream_t st, const FlashArgs &a)
{
	static_assert(HD == 64, "head_dim 64 only");
	if (!wgmma_device())
		return flash_tile64_bwd<HD>(st, a);
	cudaError_t e = DQ ? flash_hopper_bwd_dq<HD>(st, a) : flash_tile64_bwd_dq<HD>(st, a);
	return e != cudaSuccess ? e : flash_hopper_bwd_dkdv<HD>(st, a);
}

/* the backward for head_dim hd, nullptr where there is none (hd != 64):
 * both kernels by wgmma (dq) or dK/dV only */
static inline flash_bwd_fn flash_hopper_bwd_for(int hd, bool dq = true)
{
	return hd != 64 ? nullptr : dq ? flash_hopper_bwd_cfg<64, true> : flash_hopper_bwd_cfg<64, false>;
}

#endif

/* mma.cuh - the tensor-core building blocks of the attention kernels:
 * ldmatrix fragment loads from shared memory, mma.sync m16n8k16 (bf16 in,
 * fp32 accumulate), and cp.async tile copies for double buffering. Tiles
 * live in shared memory with rows padded by 8 elements (16 bytes) so that
 * ldmatrix hits distinct banks. */
#ifndef BONSAI_CUDA_MMA_CUH
#define BONSAI_CUDA_MMA_CUH

#include "common.cuh"

__device__ __forceinline__ uint32_t smem_u32(const void *p)
{
	return (uint32_t)__cvta_generic_to_shared(p);
}

__device__ __forceinline__ void ldsm_x4(uint32_t &r0, uint32_t &r1, uint32_t &r2, uint32_t &r3,
					uint32_t addr)
{
	asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
		     : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3)
		     : "r"(addr));
}

__device__ __forceinline__ void ldsm_x4_trans(uint32_t &r0, uint32_t &r1, uint32_t &r2, uint32_t &r3,
					  uint32_t addr)
{
	asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
		     : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3)
		     : "r"(addr));
}

__device__ __forceinline__ void mma_m16n8k16(float *c, const uint32_t *a, uint32_t b0, uint32_t b1)
{
	asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
		     "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
		     : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
		     : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

__device__ __forceinline__ uint32_t pack_bf16(float lo, float hi)
{
	__nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
	return *(uint32_t *)&v;
}

/* A fragment (16 x 16 at rows m0.., cols k0..) of a row-major smem tile. */
__device__ __forceinline__ void load_a(uint32_t *a, const bf16 *s, int ld, int m0, int k0)
{
	int i = threadIdx.x & 31, j = i >> 3;
	const bf16 *p = s + (size_t)(m0 + (i & 7) + (j & 1) * 8) * ld + k0 + (j >> 1) * 8;
	ldsm_x4(a[0], a[1], a[2], a[3], smem_u32(p));
}

/* B fragments of two n-tiles (n0, n0+8) for k0..k0+15 where B[k][n] = S[n][k]
 * (S row-major: e.g. K for Q K^T). b[0],b[1]: n-tile 0; b[2],b[3]: n-tile 1. */
__device__ __forceinline__ void load_bt(uint32_t *b, const bf16 *s, int ld, int n0, int k0)
{
	int i = threadIdx.x & 31;
	const bf16 *p = s + (size_t)(n0 + (i & 7) + (i >> 4) * 8) * ld + k0 + ((i >> 3) & 1) * 8;
	ldsm_x4(b[0], b[1], b[2], b[3], smem_u32(p));
}

/* B fragments where B[k][n] = S[k][n] (S row-major: e.g. V for P V). */
__device__ __forceinline__ void load_b(uint32_t *b, const bf16 *s, int ld, int n0, int k0)
{
	int i = threadIdx.x & 31, j = i >> 3;
	const bf16 *p = s + (size_t)(k0 + (i & 7) + (j & 1) * 8) * ld + n0 + (j >> 1) * 8;
	ldsm_x4_trans(b[0], b[1], b[2], b[3], smem_u32(p));
}

/* Copies rows [r0, r0+R) of a strided bf16 matrix (row t at src + t*ld)
 * into smem (row stride HD+8) with cp.async (16 bytes, zero-filled past T),
 * for double buffering: the next tile streams in while this one is
 * computed. */
template <int HD>
__device__ __forceinline__ void load_tile_async(bf16 *dst, const bf16 *src, size_t ld, int r0,
						int R, int T)
{
	constexpr int VPR = HD / 8;
	for (int i = threadIdx.x; i < R * VPR; i += blockDim.x) {
		int r = i / VPR, c = (i % VPR) * 8;
		bool ok = r0 + r < T;
		const bf16 *g = src + (size_t)(ok ? r0 + r : 0) * ld + c;
		uint32_t sa = smem_u32(dst + r * (HD + 8) + c);
		int sz = ok ? 16 : 0;
		asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(sa), "l"(g),
			     "r"(sz));
	}
}
__device__ __forceinline__ void cp_commit() { asm volatile("cp.async.commit_group;\n" ::); }
__device__ __forceinline__ void cp_wait1() { asm volatile("cp.async.wait_group 1;\n" ::); }
__device__ __forceinline__ void cp_wait0() { asm volatile("cp.async.wait_group 0;\n" ::: "memory"); }

#endif

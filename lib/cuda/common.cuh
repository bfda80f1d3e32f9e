/* common.cuh - what every kernel family of the GPU model shares: the bf16
 * type, 16-byte loads and stores of 8 values, warp sums, the fixed-order
 * column sum of per-warp partials, and the host's checked-call macros.
 *
 * Conventions: a "row" is one token (or one token's head); bf16 storage,
 * fp32 arithmetic; every reduction has a fixed order (no float atomics), so
 * results are bitwise reproducible. */
#ifndef BONSAI_CUDA_COMMON_CUH
#define BONSAI_CUDA_COMMON_CUH

#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <stdint.h>

typedef __nv_bfloat16 bf16;

#define LOG2E_F 1.4426950408889634f

__device__ __forceinline__ float warp_sum(float v)
{
	for (int o = 16; o > 0; o >>= 1)
		v += __shfl_xor_sync(0xffffffffu, v, o);
	return v;
}

/* Vectorised versions (v2): a warp per row, the row held in registers,
 * lane L owning columns [8(32c + L), +8) of chunk c; 16-byte accesses.
 * NCH = ceil(d / 256). */
__device__ __forceinline__ void ld8(const float *p, float *v)
{
	float4 a = *(const float4 *)p, b = *(const float4 *)(p + 4);
	v[0] = a.x, v[1] = a.y, v[2] = a.z, v[3] = a.w, v[4] = b.x, v[5] = b.y, v[6] = b.z, v[7] = b.w;
}
__device__ __forceinline__ void ld8(const bf16 *p, float *v)
{
	uint4 r = *(const uint4 *)p;
	const __nv_bfloat162 *h = (const __nv_bfloat162 *)&r;
#pragma unroll
	for (int i = 0; i < 4; i++) {
		float2 f = __bfloat1622float2(h[i]);
		v[2 * i] = f.x, v[2 * i + 1] = f.y;
	}
}
__device__ __forceinline__ void st8(float *p, const float *v)
{
	*(float4 *)p = make_float4(v[0], v[1], v[2], v[3]);
	*(float4 *)(p + 4) = make_float4(v[4], v[5], v[6], v[7]);
}
__device__ __forceinline__ void st8(bf16 *p, const float *v)
{
	uint4 r;
	__nv_bfloat162 *h = (__nv_bfloat162 *)&r;
#pragma unroll
	for (int i = 0; i < 4; i++)
		h[i] = __floats2bfloat162_rn(v[2 * i], v[2 * i + 1]);
	*(uint4 *)p = r;
}


/* ------------------------------------------------------------------ */
/* grad[j] += sum_c partial[c][j] in a fixed order: warp w of the block sums
 * rows w, w+32, ... of its 32 columns, then warp 0 adds the 32 sums in
 * order. 1024 threads, grid ceil(d / 32). (Issuing 16 of the loads ahead
 * of their adds measured the same 9.5 us at the trainer's shapes on an
 * H200: the sum is not bound by their latency.) */
__global__ void __launch_bounds__(1024) reduce_partial_kernel(int nchunks, int d,
							       const float *partial, float *grad)
{
	__shared__ float sm[32][33];
	int lane = threadIdx.x & 31, w = threadIdx.x >> 5, j = blockIdx.x * 32 + lane;
	float acc = 0.f;
	if (j < d)
		for (int c = w; c < nchunks; c += 32)
			acc += partial[(size_t)c * d + j];
	sm[w][lane] = acc;
	__syncthreads();
	if (w == 0) {
		float s = 0.f;
		for (int i = 0; i < 32; i++)
			s += sm[i][lane];
		if (j < d)
			grad[j] += s;
	}
}

static inline unsigned cdiv(size_t a, size_t b) { return (unsigned)((a + b - 1) / b); }

/* A CUDA or cuBLASLt call that must succeed, else die() (the model's
 * rule: a failure after creation is fatal). A check program may define its
 * own CK before including these headers. */
extern "C" void die(const char *fmt, ...);
#ifndef CK
#define CK(...)                                                                                \
	do {                                                                                   \
		cudaError_t e_ = (__VA_ARGS__);                                                \
		if (e_ != cudaSuccess)                                                         \
			die("CUDA error %s at %s:%d: %s", cudaGetErrorName(e_), __FILE__,      \
			    __LINE__, cudaGetErrorString(e_));                                 \
	} while (0)
#endif
#define CKL() CK(cudaGetLastError())

/* kern<<<grid, threads, smem, st>>>(args...), the kernel's dynamic
 * shared-memory limit first raised to smem where that is over 48 KB (a
 * block gets more only so); the error of either step. */
template <typename... P, typename... A>
static cudaError_t launch_smem(void (*kern)(P...), dim3 grid, int threads, size_t smem,
			       cudaStream_t st, A... args)
{
	if (smem > 48 * 1024) {
		cudaError_t e =
			cudaFuncSetAttribute(kern, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem);
		if (e != cudaSuccess)
			return e;
	}
	kern<<<grid, threads, smem, st>>>(args...);
	return cudaGetLastError();
}
#define CKB(x)                                                                                 \
	do {                                                                                   \
		cublasStatus_t s_ = (x);                                                       \
		if (s_ != CUBLAS_STATUS_SUCCESS)                                               \
			die("cuBLASLt error %d at %s:%d", (int)s_, __FILE__, __LINE__);        \
	} while (0)

#endif

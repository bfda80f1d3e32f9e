/* cuda_backend.c - the backend interface over lib/cuda/gemma3_gpu.h.
 * Without BONSAI_CUDA (no nvcc at build time) it only reports that.
 *
 * Data parallel through NCCL (ZeRO-1): the gradients are summed in fp32,
 * the precision in which the model accumulates them, so that a job of one
 * rank gives the bits of no job and N ranks differ from one only in the
 * order of a sum (bf16 would halve the bytes moved but round each rank's
 * gradient, an error that grows with the number of ranks). Rank r owns the
 * slice r of the parameters (dist_slice; the device buffers are padded so
 * that every slice has the same length, dist_padded_len): one NCCL
 * reduce-scatter leaves it the sum of its slice; it keeps the AdamW
 * moments and the fp32 master weights of that slice only and updates
 * them with the bf16 weights of the slice; one all-gather of the bf16
 * weights gives every rank the whole model for the matrix products, and
 * broadcasts from the owners the few tensors the passes read in fp32 (the
 * embedding, the norm weights), which every rank keeps whole.
 *
 * The gradients of a step's last micro-batch are summed while its backward
 * pass runs: each layer's, once complete, on a communication stream (one
 * NCCL reduce per owner of a part of the layer), the compute stream going
 * on with the layers below; sync_grads waits for the last. Earlier
 * micro-batches only accumulate. BONSAI_DIST_OVERLAP=0 keeps the one
 * reduce-scatter after the backward pass instead, to compare. */
#include "backend.h"
#include "cli.h"
#include "nccl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef BONSAI_CUDA
#include "cuda/gemma3_gpu.h"

typedef struct {
	gemma3_gpu *g;
	dist *d; /* NULL: one process, no NCCL */
	const nccl_api *nc;
	nccl_comm comm;
	size_t P, lo, hi;
	/* BONSAI_DIST_OVERLAP=0: the gradients are reduced after the backward
	 * pass, not during it (to compare) */
	int overlap;
	int reducing; /* the last fwd_bwd started reducing the gradients */
} gpu;

static gemma3_gpu *G(backend *b) { return ((gpu *)b->impl)->g; }

static void nccl_check(const gpu *s, int rc, const char *what)
{
	if (rc)
		die("NCCL %s: %s", what, s->nc->GetErrorString(rc));
}

/* NCCL's collectives over the padded device buffers: rank r's slice is the
 * len values at r * len (dist_slice_len), the last ones ending in zeros. */
static void reduce_scatter(gpu *s, float *buf, const char *what)
{
	size_t len = dist_slice_len(s->P, dist_world(s->d)), at = (size_t)dist_rank(s->d) * len;
	nccl_check(s, s->nc->ReduceScatter(buf, buf + at, len, NCCL_FLOAT32, NCCL_SUM, s->comm,
					   gemma3_gpu_stream(s->g)),
		   what);
}

static void all_gather(gpu *s, void *buf, int type, const char *what)
{
	size_t len = dist_slice_len(s->P, dist_world(s->d)), at = (size_t)dist_rank(s->d) * len;
	size_t bytes = type == NCCL_FLOAT32 ? 4 : 2;
	nccl_check(s, s->nc->AllGather((char *)buf + at * bytes, buf, len, type, s->comm,
				       gemma3_gpu_stream(s->g)),
		   what);
}

/* The tensors every rank reads whole in fp32 (embedding, norm weights),
 * from the owners of their parts' updated master weights: one broadcast
 * for each part of a tensor in one rank's slice, in one group. */
static void fp32_from_owners(gpu *s)
{
	const char *what = "broadcast of the updated fp32 weights";
	int world = dist_world(s->d), rank = dist_rank(s->d);
	size_t n = gemma3_gpu_fp32_tensors(s->g);
	float *master = gemma3_gpu_master_device(s->g);
	void *st = gemma3_gpu_stream(s->g);
	nccl_check(s, s->nc->GroupStart(), what);
	for (size_t i = 0; i < n; i++) {
		size_t off, len;
		float *dev = gemma3_gpu_fp32_tensor(s->g, i, &off, &len);
		for (int r = 0; r < world; r++) {
			size_t lo, hi;
			dist_slice(s->P, world, r, &lo, &hi);
			size_t a = off > lo ? off : lo, e = off + len < hi ? off + len : hi;
			if (a >= e)
				continue;
			const float *from = r == rank ? master + (a - lo) : dev + (a - off);
			nccl_check(s, s->nc->Broadcast(from, dev + (a - off), e - a, NCCL_FLOAT32, r,
						       s->comm, st),
				   what);
		}
	}
	nccl_check(s, s->nc->GroupEnd(), what);
}

static void set_params(backend *b, const float *p, const float *m, const float *v)
{
	gemma3_gpu_set_params(G(b), p, m, v);
}
static void get_params(backend *b, float *p, float *m, float *v)
{
	gpu *s = b->impl;
	gemma3_gpu_get_params(s->g, p, m, v);
	/* each rank has its slice of the master weights and moments: the
	 * owners' slices to every rank (one whole checkpoint) */
	if (s->d && ((p && dist_allgather(s->d, p, s->P)) || (m && dist_allgather(s->d, m, s->P)) ||
		     (v && dist_allgather(s->d, v, s->P))))
		die("%s", dist_error(s->d));
}
static void set_decay_mask(backend *b, const unsigned char *mask)
{
	gemma3_gpu_set_decay_mask(G(b), mask);
}
static void zero_grad(backend *b) { gemma3_gpu_zero_grad(G(b)); }
static double fwd_bwd(backend *b, const int32_t *in, const int32_t *tg, float grad_scale)
{
	return gemma3_gpu_fwd_bwd(G(b), in, tg, grad_scale);
}
static double eval_loss(backend *b, const int32_t *in, const int32_t *tg)
{
	return gemma3_gpu_eval_loss(G(b), in, tg);
}
static void logits(backend *b, const int32_t *in, float *out) { gemma3_gpu_logits(G(b), in, out); }
static void get_grads(backend *b, float *g) { gemma3_gpu_get_grads(G(b), g); }
static double grad_norm(backend *b)
{
	gpu *s = b->impl;
	if (!s->d)
		return gemma3_gpu_grad_norm(s->g);
	double ss = gemma3_gpu_grad_sumsq(s->g, s->lo, s->hi);
	if (dist_allreduce_sum(s->d, &ss, 1))
		die("%s", dist_error(s->d));
	return (float)sqrt(ss); /* as gemma3_gpu_grad_norm rounds it */
}
static void adamw(backend *b, double lr, double b1, double b2, double eps, double wd,
		  float clip_scale, long step)
{
	gpu *s = b->impl;
	gemma3_gpu_adamw(s->g, (float)lr, (float)b1, (float)b2, (float)eps, (float)wd, clip_scale,
			  (int)step);
	if (!s->d)
		return;
	all_gather(s, gemma3_gpu_weights_bf16_device(s->g), NCCL_BFLOAT16,
		   "all-gather of the updated bf16 weights");
	fp32_from_owners(s);
}
/* During the backward pass, on the communication stream given (which has
 * waited for them): the gradients of [a, e), one layer's, are complete;
 * each part of them in a rank's slice is summed onto that rank, one NCCL
 * reduce per owner in one group: a reduce-scatter of the layer along the
 * slices' boundaries (a layer lies in one slice or two, mostly). */
static void reduce_bucket(void *ctx, size_t a, size_t e, float *grad, void *stream)
{
	gpu *s = ctx;
	const char *what = "reduce of a layer's gradients";
	int world = dist_world(s->d);
	nccl_check(s, s->nc->GroupStart(), what);
	for (int r = 0; r < world; r++) {
		size_t lo, hi;
		dist_slice(s->P, world, r, &lo, &hi);
		size_t x = a > lo ? a : lo, y = e < hi ? e : hi;
		if (x < y)
			nccl_check(s, s->nc->Reduce(grad + x, grad + x, y - x, NCCL_FLOAT32, NCCL_SUM, r,
						    s->comm, stream),
				   what);
	}
	nccl_check(s, s->nc->GroupEnd(), what);
}

static void reduce_in_next(backend *b)
{
	gpu *s = b->impl;
	if (s->d && s->overlap) {
		gemma3_gpu_reduce_during_next(s->g, reduce_bucket, s);
		s->reducing = 1;
	}
}

static void sync_grads(backend *b)
{
	gpu *s = b->impl;
	if (!s->d)
		return;
	if (s->reducing)
		gemma3_gpu_wait_reduced(s->g);
	else
		reduce_scatter(s, gemma3_gpu_grads_device(s->g), "reduce-scatter of the gradients");
	s->reducing = 0;
}
static void set_dist(backend *b, dist *d)
{
	gpu *s = b->impl;
	char err[4096];
	s->nc = nccl_load(err, sizeof err);
	if (!s->nc)
		die("%s", err);
	nccl_id id;
	memset(&id, 0, sizeof id);
	if (dist_rank(d) == 0)
		nccl_check(s, s->nc->GetUniqueId(&id), "unique id");
	/* rank 0's id to all, over the job's own connections (tcp or MPI) */
	if (dist_broadcast(d, &id, sizeof id))
		die("%s", dist_error(d));
	nccl_check(s, s->nc->CommInitRank(&s->comm, dist_world(d), id, dist_rank(d)), "init");
	s->d = d;
	dist_slice(s->P, dist_world(d), dist_rank(d), &s->lo, &s->hi);
	if (gemma3_gpu_shard(s->g, s->lo, s->hi, dist_padded_len(s->P, dist_world(d)), err,
			     sizeof err))
		die("%s", err);
	const char *ov = getenv("BONSAI_DIST_OVERLAP");
	s->overlap = !(ov && !strcmp(ov, "0"));
	if (dist_rank(d) == 0)
		fprintf(stderr, "%s: gradients summed in fp32 through NCCL %s\n", cli_progname(),
			s->overlap ? "layer by layer during the backward pass"
				   : "after the backward pass (BONSAI_DIST_OVERLAP=0)");
}
static size_t optimizer_bytes(backend *b)
{
	gpu *s = b->impl;
	/* AdamW's two moments and the fp32 master weights of the slice */
	return 3 * (s->hi - s->lo) * sizeof(float);
}
static void cuda_free(backend *b)
{
	gpu *s = b->impl;
	if (s->comm)
		s->nc->CommDestroy(s->comm);
	gemma3_gpu_free(s->g);
	free(s);
	free(b);
}

int cuda_backend_use_gpu(int index, char *err, size_t errlen)
{
	return gemma3_gpu_use_device(index, err, errlen);
}

int cuda_backend_available(void)
{
	char why[256];
	return gemma3_gpu_probe(why, sizeof why);
}

int cuda_backend_memory(size_t *free_bytes, size_t *total_bytes, char *err, size_t errlen)
{
	char why[512];
	if (gemma3_gpu_memory(free_bytes, total_bytes, why, sizeof why))
		return errf(err, errlen, "no usable GPU: %s", why);
	return 0;
}

size_t cuda_backend_bytes_needed(const gemma3_config *c, int B, int T, int recompute, int ranks)
{
	return gemma3_gpu_bytes_needed(c, B, T, recompute, ranks);
}

backend *cuda_backend_new(const gemma3_config *c, int B, int T, int recompute, char *err,
			  size_t errlen)
{
	char why[512];
	if (!gemma3_gpu_probe(why, sizeof why)) {
		snprintf(err, errlen, "no usable GPU: %s", why);
		return NULL;
	}
	gemma3_gpu *g = gemma3_gpu_create(c, B, T, recompute, err, errlen);
	if (!g)
		return NULL;
	backend *b = xcalloc(1, sizeof *b);
	snprintf(b->device, sizeof b->device, "%s", gemma3_gpu_device_name(g));
	gpu *s = xcalloc(1, sizeof *s);
	s->g = g;
	s->P = gemma3_num_params(c);
	s->hi = s->P;
	b->impl = s;
	b->set_dist = set_dist;
	b->sync_grads = sync_grads;
	b->reduce_in_next = reduce_in_next;
	b->optimizer_bytes = optimizer_bytes;
	b->set_params = set_params;
	b->get_params = get_params;
	b->set_decay_mask = set_decay_mask;
	b->zero_grad = zero_grad;
	b->fwd_bwd = fwd_bwd;
	b->eval_loss = eval_loss;
	b->logits = logits;
	b->get_grads = get_grads;
	b->grad_norm = grad_norm;
	b->adamw = adamw;
	b->free = cuda_free;
	return b;
}

#else

static const char NO_CUDA[] = "--device cuda: built without CUDA (nvcc was not found at build time)";

int cuda_backend_available(void) { return 0; }

int cuda_backend_use_gpu(int index, char *err, size_t errlen)
{
	(void)index;
	snprintf(err, errlen, "%s", NO_CUDA);
	return -1;
}

int cuda_backend_memory(size_t *free_bytes, size_t *total_bytes, char *err, size_t errlen)
{
	*free_bytes = *total_bytes = 0;
	return errf(err, errlen, "%s", NO_CUDA);
}

/* never reached: without CUDA there is no free memory to fit */
size_t cuda_backend_bytes_needed(const gemma3_config *c, int B, int T, int recompute, int ranks)
{
	(void)c; (void)B; (void)T; (void)recompute; (void)ranks;
	return SIZE_MAX;
}

backend *cuda_backend_new(const gemma3_config *c, int B, int T, int recompute, char *err,
			  size_t errlen)
{
	(void)c; (void)B; (void)T; (void)recompute;
	snprintf(err, errlen, "%s", NO_CUDA);
	return NULL;
}

#endif

/* gpu_bench.c - times training steps of the CUDA trainer (gemma3_gpu.h)
 * on a randomly initialised model and random tokens, the way
 * bench/cuda_bench.sh compares it with the PyTorch peer.
 *
 *   gpu_bench PRESET VOCAB B T STEPS [recompute] [products]
 *
 * A step is fwd_bwd + grad_norm + adamw, as in the training loop. Prints
 * a per-phase breakdown of one profiled step on stderr and one JSON line:
 * tokens/s, ms/step, MFU, memory, and the floor ratio: ms/step over the
 * matrix products' ms in the profiled steps (what a step would take if
 * everything but the products were free; on sm_90a the MLP's fused
 * products count with their GeGLU epilogue, BONSAI_MLP=cublas separates
 * them). The breakdown ends with a timed step's wall clock split over
 * fwd_bwd, grad_norm and adamw (each returns synchronised), and fwd_bwd's
 * span on the GPU from its first kernel to its last, for the timed steps
 * and for the profiled ones. With `products`, a table of the cuBLASLt
 * products of a profiled step follows (gemma3_gpu_product_survey: each
 * shape's algorithm against the others cuBLASLt offers).
 *
 * MFU = tokens/s * F / 989e12, F = gemma3_flops_per_token (lib/gemma3.h:
 * 6 N + the causal attention's FLOPs, as bonsai-report counts them). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "gemma3.h"
#include "gemma3_gpu.h"

int main(int argc, char **argv)
{
	cli_init(argv[0]);
	if (argc < 6)
		die_usage("usage: gpu_bench PRESET VOCAB B T STEPS [recompute] [products]");
	const char *preset = argv[1];
	int V = atoi(argv[2]), B = atoi(argv[3]), T = atoi(argv[4]), steps = atoi(argv[5]);
	int rc = 0, survey = 0;
	for (int i = 6; i < argc; i++) {
		if (!strcmp(argv[i], "recompute"))
			rc = 1;
		else if (!strcmp(argv[i], "products"))
			survey = 1;
		else
			die_usage("unknown argument '%s' (recompute, products)", argv[i]);
	}
	char err[512];
	gemma3_config c;
	if (gemma3_config_load(preset, V, &c, err, sizeof err))
		die("%s", err);
	size_t P = gemma3_num_params(&c);
	float *params = xmalloc(P * sizeof(float));
	gemma3_init_params(&c, params, 0.02f, 1234);
	gemma3_gpu *g = gemma3_gpu_create(&c, B, T, rc, err, sizeof err);
	if (!g)
		die("%s", err);
	gemma3_gpu_set_params(g, params, NULL, NULL);
	int32_t *tok = xmalloc(sizeof(int32_t) * (B * T + 1));
	uint64_t s = 42;
	for (int i = 0; i <= B * T; i++) {
		s = s * 6364136223846793005ull + 1442695040888963407ull;
		tok[i] = (int32_t)((s >> 33) % (uint64_t)c.vocab_size);
	}
	float first = 0, last = 0;
	double t0 = 0, wall[3] = { 0 }; /* fwd_bwd, grad_norm, adamw: each returns synchronised */
	double span = 0;                /* fwd_bwd's first to last kernel on the GPU */
	int warm = 2;
	for (int i = 0; i < warm + steps; i++) {
		if (i == warm)
			t0 = now_seconds();
		double a = now_seconds();
		gemma3_gpu_zero_grad(g);
		last = gemma3_gpu_fwd_bwd(g, tok, tok + 1, 1.f);
		double b = now_seconds();
		float gn = gemma3_gpu_grad_norm(g);
		double c2 = now_seconds();
		gemma3_gpu_adamw(g, 3e-4f, 0.9f, 0.95f, 1e-8f, 0.1f, gn > 1.f ? 1.f / gn : 1.f, i + 1);
		if (i >= warm) {
			wall[0] += b - a;
			span += gemma3_gpu_last_span_ms(g);
			wall[1] += c2 - b;
			wall[2] += now_seconds() - c2;
		}
		if (i == 0)
			first = last;
	}
	double dt = (now_seconds() - t0) / steps;
	/* three profiled steps for the breakdown; their phases tile each
	 * fwd_bwd's span from its first kernel to its last, so their span set
	 * beside the timed steps' says whether a profiled step runs as fast */
	gemma3_gpu_profile(g, 1);
	double pspan = 0, pwall = 0;
	for (int i = 0; i < 3; i++) {
		gemma3_gpu_zero_grad(g);
		double a = now_seconds();
		gemma3_gpu_fwd_bwd(g, tok, tok + 1, 1.f);
		pwall += now_seconds() - a;
		pspan += gemma3_gpu_last_span_ms(g);
		float gn = gemma3_gpu_grad_norm(g);
		gemma3_gpu_adamw(g, 3e-4f, 0.9f, 0.95f, 1e-8f, 0.1f, gn > 1.f ? 1.f / gn : 1.f,
				 warm + steps + 1 + i);
	}
	double mm = gemma3_gpu_profile_matmul_ms(g);
	fprintf(stderr, "%s V=%d B=%d T=%d%s on %s: per-phase time of one step\n", preset,
		c.vocab_size, B, T, rc ? " recompute" : "", gemma3_gpu_device_name(g));
	if (survey && gemma3_gpu_product_survey(g, stderr, 16, err, sizeof err))
		die("%s", err);
	gemma3_gpu_profile_print(g, stderr);
	fprintf(stderr, "  wall-clock ms a timed step: fwd_bwd %.3f (its kernels' span on the GPU %.3f), "
		"grad_norm %.3f, adamw %.3f, step %.3f\n",
		1e3 * wall[0] / steps, span / steps, 1e3 * wall[1] / steps, 1e3 * wall[2] / steps,
		dt * 1e3);
	fprintf(stderr, "  a profiled step: fwd_bwd %.3f (span %.3f)\n", 1e3 * pwall / 3, pspan / 3);
	double tps = B * T / dt, F = gemma3_flops_per_token(&c, T);
	printf("{\"impl\": \"bonsai-cuda\", \"config\": \"%s\", \"vocab\": %d, \"params\": %zu, "
	       "\"batch\": %d, \"seq\": %d, \"recompute\": %d, \"ms_per_step\": %.2f, "
	       "\"tokens_per_s\": %.0f, \"flops_per_token\": %.4e, \"mfu\": %.4f, "
	       "\"peak_gib\": %.2f, \"alloc_gib\": %.2f, \"loss_first\": %.4f, "
	       "\"loss_last\": %.4f, \"matmul_ms\": %.2f, \"floor_ratio\": %.3f, "
	       "\"device\": \"%s\"}\n",
	       preset, c.vocab_size, P, B, T, rc, dt * 1e3, tps, F, tps * F / 989e12,
	       gemma3_gpu_peak_bytes(g) / 1073741824.0, gemma3_gpu_alloc_bytes(g) / 1073741824.0,
	       first, last, mm, mm > 0 ? dt * 1e3 / mm : 0., gemma3_gpu_device_name(g));
	gemma3_gpu_free(g);
	free(params);
	free(tok);
	return 0;
}

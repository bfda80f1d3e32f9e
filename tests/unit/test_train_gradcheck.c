/* test_train_gradcheck.c - the backward pass against central finite
 * differences of the loss, on a random tiny config unlike the fixture's:
 * 6 query heads over 2 KV heads, window 3, a global first layer, a
 * query_pre_attn_scalar that is not head_dim, both soft-cappings on, random
 * norm weights, and rope scaling on the global layer. */
#include "tap.h"

#include "../../train/backend.h"
#include "cli.h"
#include "gemma3.h"

#include <math.h>
#include <stdint.h>

static uint64_t rng = 12345;
static double urand(void)
{
	rng = rng * 6364136223846793005ull + 1442695040888963407ull;
	return (double)(rng >> 11) * 0x1.0p-53;
}

static double loss_at(const gemma3_config *c, const float *p, gemma3_acts *a, const int32_t *in,
		      const int32_t *tg)
{
	char err[256];
	double loss;
	if (gemma3_forward(c, p, a, in, err, sizeof err) ||
	    gemma3_loss(c, a, tg, &loss, NULL, err, sizeof err))
		die("%s", err);
	return loss;
}

int main(void)
{
	cli_init("test_train_gradcheck");
	gemma3_config c;
	char err[256];
	const char *json =
		"{\"vocab_size\":37,\"hidden_size\":24,\"intermediate_size\":40,\"num_hidden_layers\":3,"
		"\"num_attention_heads\":6,\"num_key_value_heads\":2,\"head_dim\":8,\"sliding_window\":3,"
		"\"query_pre_attn_scalar\":10,\"final_logit_softcapping\":6.0,\"attn_logit_softcapping\":4.0,"
		"\"layer_types\":[\"full_attention\",\"sliding_attention\",\"sliding_attention\"],"
		"\"rope_parameters\":{\"full_attention\":{\"rope_type\":\"linear\",\"rope_theta\":1000.0,\"factor\":2.0},"
		"\"sliding_attention\":{\"rope_type\":\"default\",\"rope_theta\":100.0}}}";
	ok(gemma3_config_parse(json, strlen(json), "test", &c, err, sizeof err) == 0, "config parses: %s", err);
	ok(c.layer_is_global[0] && !c.layer_is_global[1], "layer pattern from layer_types");
	ok(c.rope_global_scaling_factor == 2.0, "linear rope scaling read");

	int B = 2, T = 9, BT = B * T;
	size_t n = gemma3_num_params(&c);
	float *p = xmalloc(n * sizeof *p), *g = xcalloc(n, sizeof *g);
	gemma3_init_params(&c, p, 0.3f, 7);
	gemma3_param_info *pt;
	int nt = gemma3_param_table(&c, &pt, err, sizeof err);
	for (int i = 0; i < nt; i++)
		if (pt[i].is_norm)
			for (size_t j = 0; j < pt[i].numel; j++)
				p[pt[i].offset + j] = (float)(urand() - 0.5);
	int32_t in[18], tg[18];
	for (int i = 0; i < BT; i++) {
		in[i] = (int32_t)(urand() * c.vocab_size);
		tg[i] = (int32_t)(urand() * c.vocab_size);
	}
	tg[4] = -1; /* an ignored target */

	gemma3_acts *a = gemma3_acts_new(&c, B, T, 1, err, sizeof err);
	grad_scratch *s = grad_scratch_new(&c, B, T, err, sizeof err);
	if (!a || !s)
		die("%s", err);
	long cnt;
	double L0;
	if (gemma3_forward(&c, p, a, in, err, sizeof err) ||
	    gemma3_loss(&c, a, tg, &L0, &cnt, err, sizeof err))
		die("%s", err);
	is_int(cnt, BT - 1, "ignored target not counted");
	ok(gemma3_backward(&c, p, a, in, tg, 1.0f / (float)cnt, g, s, err, sizeof err) == 0,
	   "backward: %s", err);
	ok(isfinite(L0), "loss %.6f", L0);

	/* Every tensor: 6 random entries, central differences in float with a
	 * step large enough to beat rounding. */
	double worst = 0;
	const char *worst_name = "";
	for (int i = 0; i < nt; i++) {
		double gmax = 0;
		for (size_t j = 0; j < pt[i].numel; j++)
			if (fabs(g[pt[i].offset + j]) > gmax)
				gmax = fabs(g[pt[i].offset + j]);
		double terr = 0;
		for (int k = 0; k < 6; k++) {
			size_t j = pt[i].offset + (size_t)(urand() * pt[i].numel);
			float keep = p[j];
			double h = 1e-2;
			p[j] = keep + (float)h;
			double lp = loss_at(&c, p, a, in, tg);
			p[j] = keep - (float)h;
			double lm = loss_at(&c, p, a, in, tg);
			p[j] = keep;
			double fd = (lp - lm) / (2 * h);
			double e = fabs(fd - g[j]) / (gmax > 1e-6 ? gmax : 1e-6);
			if (e > terr)
				terr = e;
		}
		if (terr > worst) {
			worst = terr;
			worst_name = pt[i].name;
		}
	}
	ok(worst < 2e-2, "finite differences agree: worst relative error %.2e (%s)", worst, worst_name);

	/* The CPU backend gives the same gradients through its interface. */
	backend *be = cpu_backend_new(&c, B, T);
	be->set_params(be, p, NULL, NULL);
	be->zero_grad(be);
	double L1 = be->fwd_bwd(be, in, tg, 1.0f);
	float *g2 = xmalloc(n * sizeof *g2);
	be->get_grads(be, g2);
	int same = L1 == L0;
	for (size_t k = 0; k < n && same; k++)
		same = g2[k] == g[k];
	ok(same, "backend fwd_bwd = direct forward/backward, bit for bit");
	/* Accumulation: two half-scaled passes equal one. */
	be->zero_grad(be);
	be->fwd_bwd(be, in, tg, 0.5f);
	be->fwd_bwd(be, in, tg, 0.5f);
	be->get_grads(be, g2);
	double md = 0;
	for (size_t k = 0; k < n; k++)
		if (fabs(g2[k] - g[k]) > md)
			md = fabs(g2[k] - g[k]);
	ok(md < 1e-5, "accumulated gradients match (max diff %.2e)", md);

	/* The KV-cache decoder gives the forward pass's logits, position by
	 * position, including the sliding window and soft-capping. */
	gemma3_model *m = gemma3_model_new(&c, p, err, sizeof err);
	gemma3_kv *kv = m ? gemma3_kv_new(m, T, err, sizeof err) : NULL;
	if (!kv || gemma3_forward(&c, p, a, in, err, sizeof err))
		die("%s", err);
	float *lg = xmalloc((size_t)c.vocab_size * sizeof *lg);
	double dmax = 0;
	for (int t = 0; t < T; t++) {
		if (gemma3_decode_step(m, kv, in[t], lg, err, sizeof err))
			die("%s", err);
		for (int v = 0; v < c.vocab_size; v++) {
			double d = fabs(lg[v] - a->logits[(size_t)t * c.vocab_size + v]);
			if (d > dmax)
				dmax = d;
		}
	}
	ok(dmax < 1e-4, "decoder logits = forward logits (max diff %.2e)", dmax);
	is_int(gemma3_kv_pos(kv), T, "decoder position");
	float *lg2 = xmalloc((size_t)BT * c.vocab_size * sizeof *lg2);
	if (gemma3_logits(m, in, B, T, lg2, err, sizeof err))
		die("%s", err);
	int same2 = 1;
	for (size_t k = 0; k < (size_t)BT * c.vocab_size && same2; k++)
		same2 = lg2[k] == a->logits[k];
	ok(same2, "gemma3_logits (layer buffers shared) = training forward");

	gemma3_kv_free(kv);
	gemma3_model_free(m);
	be->free(be);
	free(lg);
	free(lg2);
	free(g2);
	free(pt);
	free(p);
	free(g);
	gemma3_acts_free(a);
	grad_scratch_free(s);
	return done_testing();
}

/* test_train_kvcache.c - the KV-cache decoder (sliding layers in a ring
 * buffer of sliding_window positions) against the full forward pass,
 * position by position, on sequences several times longer than the window:
 * a random config with window 3 (GQA, soft-capping, a global layer in the
 * middle) over 40 tokens, and the tiny preset (window 64) over 300 tokens. */
#include "tap.h"

#include "cli.h"
#include "gemma3.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

static uint64_t rng = 987654321;
static double urand(void)
{
	rng = rng * 6364136223846793005ull + 1442695040888963407ull;
	return (double)(rng >> 11) * 0x1.0p-53;
}

/* Decodes T tokens with a cache of max_T positions and returns the largest
 * difference from the forward pass's logits. */
static double decode_vs_forward(const gemma3_config *c, const float *p, int T, int max_T)
{
	int32_t *in = xmalloc((size_t)T * sizeof *in);
	for (int i = 0; i < T; i++)
		in[i] = (int32_t)(urand() * c->vocab_size);
	char err[256];
	gemma3_acts *a = gemma3_acts_new(c, 1, T, 0, err, sizeof err);
	if (!a || gemma3_forward(c, p, a, in, err, sizeof err))
		die("%s", err);
	gemma3_model *m = gemma3_model_new(c, p, err, sizeof err);
	gemma3_kv *kv = m ? gemma3_kv_new(m, max_T, err, sizeof err) : NULL;
	if (!kv)
		die("%s", err);
	float *lg = xmalloc((size_t)c->vocab_size * sizeof *lg);
	double dmax = 0;
	for (int t = 0; t < T; t++) {
		if (gemma3_decode_step(m, kv, in[t], lg, err, sizeof err))
			die("%s", err);
		for (int v = 0; v < c->vocab_size; v++) {
			double d = fabs(lg[v] - a->logits[(size_t)t * c->vocab_size + v]);
			if (!(d <= dmax))
				dmax = d; /* NaN too */
		}
	}
	if (gemma3_kv_pos(kv) != T)
		dmax = INFINITY;
	free(lg);
	gemma3_kv_free(kv);
	gemma3_model_free(m);
	gemma3_acts_free(a);
	free(in);
	return dmax;
}

int main(void)
{
	cli_init("test_train_kvcache");
	char err[256];
	gemma3_config c;
	const char *json =
		"{\"vocab_size\":41,\"hidden_size\":32,\"intermediate_size\":48,\"num_hidden_layers\":4,"
		"\"num_attention_heads\":4,\"num_key_value_heads\":2,\"head_dim\":8,\"sliding_window\":3,"
		"\"query_pre_attn_scalar\":8,\"final_logit_softcapping\":30.0,\"attn_logit_softcapping\":50.0,"
		"\"layer_types\":[\"sliding_attention\",\"full_attention\",\"sliding_attention\",\"sliding_attention\"],"
		"\"rope_parameters\":{\"full_attention\":{\"rope_type\":\"default\",\"rope_theta\":10000.0},"
		"\"sliding_attention\":{\"rope_type\":\"default\",\"rope_theta\":100.0}}}";
	ok(gemma3_config_parse(json, strlen(json), "test", &c, err, sizeof err) == 0, "config parses: %s", err);
	float *p = xmalloc(gemma3_num_params(&c) * sizeof *p);
	gemma3_init_params(&c, p, 0.5f, 3);
	gemma3_param_info *pt;
	int nt = gemma3_param_table(&c, &pt, err, sizeof err);
	for (int i = 0; i < nt; i++)
		if (pt[i].is_norm)
			for (size_t j = 0; j < pt[i].numel; j++)
				p[pt[i].offset + j] = (float)(urand() - 0.5);
	free(pt);
	double d = decode_vs_forward(&c, p, 40, 40);
	ok(d < 1e-4, "window 3, 40 tokens: decoder = forward (max diff %.2e)", d);
	d = decode_vs_forward(&c, p, 40, 64);
	ok(d < 1e-4, "window 3, 40 tokens in a cache for 64: decoder = forward (max diff %.2e)", d);
	/* A cache shorter than the window: the ring never wraps. */
	c.sliding_window = 50;
	d = decode_vs_forward(&c, p, 20, 20);
	ok(d < 1e-4, "window 50 > 20 positions: decoder = forward (max diff %.2e)", d);
	free(p);

	ok(gemma3_config_load("tiny", 0, &c, err, sizeof err) == 0, "tiny preset: %s", err);
	is_int(c.sliding_window, 64, "tiny preset window");
	p = xmalloc(gemma3_num_params(&c) * sizeof *p);
	gemma3_init_params(&c, p, 0.1f, 11);
	d = decode_vs_forward(&c, p, 300, 300);
	ok(d < 1e-4, "tiny, window 64, 300 tokens: decoder = forward (max diff %.2e)", d);
	free(p);
	return done_testing();
}

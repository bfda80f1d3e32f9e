/* test_lib_layout.c - the parameter layout's promises that the GPU model
 * relies on (gemma3.h): the table is in G3_* order, layer after layer;
 * q_proj, k_proj, v_proj are one [(Hq + 2 Hkv) hd, d] block and gate_proj,
 * up_proj one [2 ff, d] block (one matrix product over each on the GPU);
 * the table is contiguous. For every preset and for odd shapes (GQA, head
 * sizes that are not hidden / heads). */
#include "tap.h"

#include "cli.h"
#include "gemma3.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int ends_with(const char *s, const char *t)
{
	size_t a = strlen(s), b = strlen(t);
	return a >= b && !strcmp(s + a - b, t);
}

static void check(const char *what, const gemma3_config *c)
{
	gemma3_param_info *t;
	char err[256];
	int n = gemma3_param_table(c, &t, err, sizeof err);
	int L = c->num_layers, d = c->hidden_size, hd = c->head_dim;
	int Hq = c->num_heads, Hkv = c->num_kv_heads, ff = c->intermediate_size;
	ok(n == 2 + G3_PER_LAYER * L, "%s: embedding, %d per layer, final norm", what,
	   G3_PER_LAYER);
	static const char *suffix[G3_PER_LAYER] = {
		"input_layernorm.weight", "self_attn.q_proj.weight", "self_attn.k_proj.weight",
		"self_attn.v_proj.weight", "self_attn.o_proj.weight", "self_attn.q_norm.weight",
		"self_attn.k_norm.weight", "post_attention_layernorm.weight",
		"pre_feedforward_layernorm.weight", "mlp.gate_proj.weight", "mlp.up_proj.weight",
		"mlp.down_proj.weight", "post_feedforward_layernorm.weight"};
	int order = 1, qkv = 1, gu = 1, contiguous = 1;
	for (int i = 1; i < n; i++)
		contiguous &= t[i].offset == t[i - 1].offset + t[i - 1].numel;
	for (int l = 0; l < L; l++) {
		const gemma3_param_info *p = t + 1 + (size_t)l * G3_PER_LAYER;
		char want[96];
		for (int k = 0; k < G3_PER_LAYER; k++) {
			snprintf(want, sizeof want, "layers.%d.%s", l, suffix[k]);
			order &= ends_with(p[k].name, want);
		}
		qkv &= p[G3_WK].offset == p[G3_WQ].offset + p[G3_WQ].numel &&
		       p[G3_WV].offset == p[G3_WK].offset + p[G3_WK].numel &&
		       p[G3_WQ].shape[1] == d && p[G3_WK].shape[1] == d && p[G3_WV].shape[1] == d &&
		       p[G3_WQ].numel + p[G3_WK].numel + p[G3_WV].numel ==
			       (size_t)(Hq + 2 * Hkv) * hd * d;
		gu &= p[G3_WUP].offset == p[G3_WGATE].offset + p[G3_WGATE].numel &&
		      p[G3_WGATE].shape[1] == d && p[G3_WUP].shape[1] == d &&
		      p[G3_WGATE].numel + p[G3_WUP].numel == (size_t)2 * ff * d;
	}
	ok(order, "%s: each layer's tensors in G3_* order", what);
	ok(qkv, "%s: q_proj, k_proj, v_proj one [(Hq + 2 Hkv) hd, d] block", what);
	ok(gu, "%s: gate_proj, up_proj one [2 ff, d] block", what);
	ok(contiguous && t[n - 1].offset + t[n - 1].numel == gemma3_num_params(c),
	   "%s: the table covers the array without gaps", what);
	free(t);
}

int main(void)
{
	cli_init("test_lib_layout");
	const char *presets[] = {"tiny", "gemma3-270m", "gemma3-1b", "small", "seed"};
	char err[512];
	gemma3_config c;
	for (size_t i = 0; i < sizeof presets / sizeof *presets; i++) {
		if (gemma3_config_load(presets[i], 0, &c, err, sizeof err)) {
			ok(0, "%s: %s", presets[i], err);
			continue;
		}
		check(presets[i], &c);
	}
	/* grouped queries with a head size that is not hidden / heads */
	const char *odd = "{\"model_type\": \"gemma3_text\", \"vocab_size\": 300, "
			  "\"hidden_size\": 48, \"intermediate_size\": 80, \"num_hidden_layers\": 3, "
			  "\"num_attention_heads\": 6, \"num_key_value_heads\": 2, \"head_dim\": 24, "
			  "\"max_position_embeddings\": 64, \"sliding_window\": 8}";
	if (gemma3_config_parse(odd, strlen(odd), "odd", &c, err, sizeof err))
		ok(0, "odd config: %s", err);
	else
		check("odd config", &c);
	return done_testing();
}

/* test_train_config.c - Gemma 3 configs: presets with Google's parameter
 * counts, the forms of config.json transformers has written, refusals, and
 * the config.json we write reading back the same. */
#include "tap.h"

#include "cli.h"
#include "gemma3.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int parse(const char *json, gemma3_config *c, char *err, size_t n)
{
	return gemma3_config_parse(json, strlen(json), "t", c, err, n);
}

int main(void)
{
	cli_init("test_train_config");
	gemma3_config c, c2;
	char err[512];

	/* Parameter counts Google / Hugging Face publish for these models. */
	ok(gemma3_config_load("gemma3-270m", 0, &c, err, sizeof err) == 0, "gemma3-270m preset");
	is_int((long long)gemma3_num_params(&c), 268098176LL, "gemma3-270m has 268,098,176 parameters");
	ok(!c.layer_is_global[4] && c.layer_is_global[5] && c.layer_is_global[17], "every sixth layer global");
	ok(gemma3_config_load("gemma3-1b", 0, &c, err, sizeof err) == 0, "gemma3-1b preset");
	is_int((long long)gemma3_num_params(&c), 999885952LL, "gemma3-1b has 999,885,952 parameters");
	ok(gemma3_config_load("seed", 5000, &c, err, sizeof err) == 0 && c.vocab_size == 5000 &&
	   c.num_layers == 26 && c.num_heads == 12 && c.num_kv_heads == 3 && c.head_dim == 64 &&
	   c.hidden_size == 768 && c.intermediate_size == 3072, "seed preset, vocabulary overridden");
	ok(gemma3_config_load("small", 0, &c, err, sizeof err) == 0 && c.num_layers == 12 &&
	   c.num_kv_heads == 4, "small preset");
	ok(gemma3_config_load("tiny", 0, &c, err, sizeof err) == 0, "tiny preset");
	ok(gemma3_config_load("huge", 0, &c, err, sizeof err) && strstr(err, "preset"),
	   "unknown name refused: %s", err);

	/* The parameter table agrees with the count and is contiguous. */
	gemma3_param_info *t;
	int n = gemma3_param_table(&c, &t, err, sizeof err);
	size_t off = 0;
	int contiguous = 1;
	for (int i = 0; i < n; i++) {
		contiguous = contiguous && t[i].offset == off;
		off += t[i].numel;
	}
	ok(contiguous && off == gemma3_num_params(&c), "param table contiguous, %d tensors", n);
	is_str(t[1 + 5].name, "model.layers.0.self_attn.q_norm.weight", "layout order: q_norm 6th in a layer");
	is_str(t[n - 1].name, "model.norm.weight", "final norm last");
	free(t);

	/* transformers 4 style: rope_theta / rope_local_base_freq /
	 * sliding_window_pattern / rope_scaling, inside text_config. */
	ok(parse("{\"model_type\":\"gemma3\",\"text_config\":{\"model_type\":\"gemma3_text\","
		 "\"hidden_size\":32,\"intermediate_size\":64,\"num_hidden_layers\":7,"
		 "\"num_attention_heads\":2,\"num_key_value_heads\":1,\"head_dim\":16,"
		 "\"vocab_size\":100,\"rope_theta\":500000.0,\"rope_local_base_freq\":5000.0,"
		 "\"sliding_window_pattern\":3,\"rope_scaling\":{\"rope_type\":\"linear\",\"factor\":8.0},"
		 "\"final_logit_softcapping\":null}}", &c, err, sizeof err) == 0,
	   "older config in text_config: %s", err);
	ok(c.rope_global_base == 500000.0 && c.rope_local_base == 5000.0 &&
	   c.rope_global_scaling_factor == 8.0 && c.rope_local_scaling_factor == 1.0,
	   "rope bases and linear scaling (global only)");
	ok(!c.layer_is_global[0] && !c.layer_is_global[1] && c.layer_is_global[2] && c.layer_is_global[5] &&
	   !c.layer_is_global[6], "sliding_window_pattern 3");
	ok(c.query_pre_attn_scalar == 16 && c.final_logit_softcapping == 0, "defaults: qpas = head_dim, no capping");

	/* Refusals. */
	ok(parse("{\"hidden_size\":32,\"num_attention_heads\":3,\"num_key_value_heads\":2}", &c, err, sizeof err) &&
	   strstr(err, "multiple"), "heads not a multiple of KV heads: %s", err);
	ok(parse("{\"hidden_activation\":\"relu\"}", &c, err, sizeof err) && strstr(err, "relu"),
	   "other activation: %s", err);
	ok(parse("{\"tie_word_embeddings\":false}", &c, err, sizeof err) && strstr(err, "untied"),
	   "untied embeddings: %s", err);
	ok(parse("{\"num_hidden_layers\":2,\"layer_types\":[\"full_attention\"]}", &c, err, sizeof err) &&
	   strstr(err, "layer_types"), "layer_types of the wrong length: %s", err);
	ok(parse("{\"rope_parameters\":{\"full_attention\":{\"rope_type\":\"yarn\"}}}", &c, err, sizeof err) &&
	   strstr(err, "yarn"), "unsupported rope type: %s", err);
	ok(parse("{\"model_type\":\"llama\"}", &c, err, sizeof err) && strstr(err, "llama"),
	   "another model type: %s", err);
	/* heads x head_dim beyond an int's range: refused, not wrapped round to
	 * a small number that passes */
	ok(parse("{\"num_attention_heads\":10615511,\"num_key_value_heads\":1,\"head_dim\":256}", &c,
		 err, sizeof err) && strstr(err, "sizes too large"),
	   "10,615,511 heads of 256: too large: %s", err);
	ok(parse("{\"num_attention_heads\":2,\"num_key_value_heads\":1,\"head_dim\":1073741824}", &c,
		 err, sizeof err) && strstr(err, "sizes too large"),
	   "2 heads of 2^30: too large: %s", err);
	/* a number a float cannot hold: refused, not kept as inf (which the
	 * config.json writer would print as text no JSON reader takes) */
	ok(parse("{\"rms_norm_eps\":1e206}", &c, err, sizeof err) &&
		   strstr(err, "'rms_norm_eps' is out of range"),
	   "rms_norm_eps 1e206: out of range: %s", err);
	ok(parse("{\"rope_parameters\":{\"full_attention\":{\"rope_type\":\"default\",\"rope_theta\":1e999}}}",
		 &c, err, sizeof err) && strstr(err, "'rope_theta' is out of range"),
	   "rope_theta 1e999 (inf): out of range: %s", err);
	ok(parse("{\"hidden_size\":\"64\"}", &c, err, sizeof err) && strstr(err, "hidden_size"),
	   "a string where a number belongs: %s", err);

	/* What we write reads back the same. */
	ok(gemma3_config_load("gemma3-270m", 0, &c, err, sizeof err) == 0, "preset");
	c.final_logit_softcapping = 30;
	c.attn_logit_softcapping = 50;
	c.rope_global_scaling_factor = 8;
	char *js = gemma3_config_to_json(&c, 0, err, sizeof err);
	ok(parse(js, &c2, err, sizeof err) == 0 && !memcmp(&c, &c2, sizeof c), "config.json round trip");
	free(js);

	/* Preset or file: one rule in gemma3_config_load for every tool. A
	 * file named like a preset does not shadow it; ./NAME reaches it. */
	char dir[] = "/tmp/bonsai-config.XXXXXX", cwd[4096];
	if (!mkdtemp(dir) || !getcwd(cwd, sizeof cwd) || chdir(dir))
		return 1;
	ok(gemma3_config_load("small", 0, &c, err, sizeof err) == 0, "small preset");
	c.vocab_size = 1234;
	js = gemma3_config_to_json(&c, 0, err, sizeof err);
	FILE *f = fopen("tiny", "w");
	ok(f && fputs(js, f) >= 0 && fclose(f) == 0, "a config.json written as ./tiny");
	free(js);
	ok(gemma3_config_load("tiny", 777, &c, err, sizeof err) == 0 && c.num_layers == 4 &&
	   c.vocab_size == 777, "'tiny' is the preset, even with a file of that name here");
	ok(gemma3_config_load("./tiny", 777, &c, err, sizeof err) == 0 && c.num_layers == 12,
	   "'./tiny' is the file");
	is_int(c.vocab_size, 1234, "a config.json keeps its own vocabulary (vocab_size only sets a preset's)");
	ok(gemma3_config_load("seed", 777, &c, err, sizeof err) == 0 && c.vocab_size == 777,
	   "a preset takes the vocabulary given");
	ok(gemma3_config_load("nosuch.json", 0, &c, err, sizeof err) &&
	   strstr(err, "nosuch.json: neither a preset (tiny, gemma3-270m, gemma3-1b, seed, small) nor a config.json file"),
	   "neither a preset nor a file: says so, with the presets: %s", err);
	ok(gemma3_config_load(".", 0, &c, err, sizeof err) && strstr(err, "a directory") &&
	   strstr(err, "gemma3-270m"), "a directory: says so: %s", err);
	ok(gemma3_config_load("/dev/null", 0, &c, err, sizeof err) && strstr(err, "/dev/null"),
	   "an empty file is refused, named: %s", err);
	if (unlink("tiny") || chdir(cwd) || rmdir(dir))
		return 1;
	return done_testing();
}

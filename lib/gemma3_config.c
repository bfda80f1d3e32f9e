/* gemma3_config.c - Gemma 3 configurations (presets and Hugging Face
 * config.json), the parameter layout and random initialisation. */
#include "gemma3.h"
#include "buf.h"
#include "cli.h"
#include "hash.h"
#include "json.h"
#include "xio.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Every sixth layer global, as Gemma 3 does. */
static void pattern_layers(gemma3_config *c, int pattern)
{
	memset(c->layer_is_global, 0, sizeof c->layer_is_global);
	for (int i = 0; i < c->num_layers && i < GEMMA3_MAX_LAYERS; i++)
		c->layer_is_global[i] = pattern > 0 && (i + 1) % pattern == 0;
}

static void defaults(gemma3_config *c)
{
	/* Gemma3TextConfig's defaults, for fields a config.json leaves out. */
	memset(c, 0, sizeof *c);
	c->vocab_size = 262208;
	c->hidden_size = 2304;
	c->intermediate_size = 9216;
	c->num_layers = 26;
	c->num_heads = 8;
	c->num_kv_heads = 4;
	c->head_dim = 256;
	c->sliding_window = 4096;
	c->max_position_embeddings = 131072;
	c->rms_norm_eps = 1e-6f;
	c->query_pre_attn_scalar = 256;
	c->rope_local_base = 10000.0;
	c->rope_global_base = 1000000.0;
	c->rope_global_scaling_factor = 1.0;
	c->rope_local_scaling_factor = 1.0;
	c->bos_id = 2;
	c->eos_id = 1;
	c->pad_id = 0;
}

static void preset(gemma3_config *c, int V, int d, int ff, int L, int Hq, int Hkv, int hd,
		   int window, int maxpos)
{
	defaults(c);
	c->vocab_size = V;
	c->hidden_size = d;
	c->intermediate_size = ff;
	c->num_layers = L;
	c->num_heads = Hq;
	c->num_kv_heads = Hkv;
	c->head_dim = hd;
	c->query_pre_attn_scalar = (float)hd;
	c->sliding_window = window;
	c->max_position_embeddings = maxpos;
	pattern_layers(c, 6);
}

static const char *const preset_names[] = { "tiny", "gemma3-270m", "gemma3-1b", "seed", "small" };
#define N_PRESETS (sizeof preset_names / sizeof *preset_names)

static int load_preset(const char *name, gemma3_config *c)
{
	if (!strcmp(name, "tiny")) {
		/* For tests and the demo: 4 layers, the last one global. */
		preset(c, 4096, 128, 384, 4, 4, 2, 32, 64, 2048);
		pattern_layers(c, 4);
	} else if (!strcmp(name, "gemma3-270m")) {
		preset(c, 262144, 640, 2048, 18, 4, 1, 256, 512, 32768);
	} else if (!strcmp(name, "gemma3-1b")) {
		preset(c, 262144, 1152, 6912, 26, 4, 1, 256, 512, 32768);
	} else if (!strcmp(name, "seed")) {
		preset(c, 32768, 768, 3072, 26, 12, 3, 64, 512, 8192);
	} else if (!strcmp(name, "small")) {
		preset(c, 32768, 768, 3072, 12, 12, 4, 64, 512, 8192);
	} else {
		return -1;
	}
	return 0;
}

const char *gemma3_preset_list(void)
{
	static char list[128];
	if (!list[0])
		for (size_t i = 0; i < N_PRESETS; i++)
			snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "",
				 preset_names[i]);
	return list;
}

static int get_int(const json_value *o, const char *key, int *out, const char *name, char *err,
		   size_t errlen)
{
	const json_value *v = json_get(o, key);
	if (!v || v->type == JSON_NULL)
		return 0;
	int64_t x;
	if (json_int(v, -INT32_MAX, INT32_MAX, &x))
		return errf(err, errlen, "%s: '%s' is not an integer", name, key);
	*out = (int)x;
	return 0;
}

/* A number, or null meaning 0 (soft-capping off). */
static int get_num(const json_value *o, const char *key, double *out, const char *name, char *err,
		   size_t errlen)
{
	const json_value *v = json_get(o, key);
	if (!v)
		return 0;
	if (v->type == JSON_NULL) {
		*out = 0;
		return 0;
	}
	if (v->type != JSON_NUMBER)
		return errf(err, errlen, "%s: '%s' is not a number", name, key);
	/* some of these are floats: what a float cannot hold would become inf
	 * and be written back as text no JSON reader takes */
	if (!(fabs(v->number) <= FLT_MAX))
		return errf(err, errlen, "%s: '%s' is out of range (%g)", name, key, v->number);
	*out = v->number;
	return 0;
}

/* One rope_parameters entry: {rope_type: default|linear, rope_theta, factor}. */
static int rope_entry(const json_value *r, double *base, double *factor, const char *name,
		      char *err, size_t errlen)
{
	if (!r || r->type != JSON_OBJECT)
		return 0;
	const char *type = json_get_str(r, "rope_type");
	if (!type)
		type = json_get_str(r, "type");
	if (get_num(r, "rope_theta", base, name, err, errlen))
		return -1;
	if (!type || !strcmp(type, "default")) {
		return 0;
	} else if (!strcmp(type, "linear")) {
		if (get_num(r, "factor", factor, name, err, errlen))
			return -1;
		return 0;
	}
	return errf(err, errlen, "%s: unsupported rope_type '%s' (default and linear are)", name, type);
}

int gemma3_config_parse(const char *text, size_t len, const char *name, gemma3_config *c,
			char *err, size_t errlen)
{
	char jerr[256];
	json_doc *doc = json_parse(text, len, jerr, sizeof jerr);
	if (!doc)
		return errf(err, errlen, "%s: %s", name, jerr);
	const json_value *o = json_root(doc);
	int rc = -1;
	if (o->type != JSON_OBJECT) {
		errf(err, errlen, "%s: not a JSON object", name);
		goto out;
	}
	/* Multimodal Gemma 3 configs keep the language model in text_config. */
	const json_value *tc = json_get(o, "text_config");
	if (tc && tc->type == JSON_OBJECT)
		o = tc;
	const char *mt = json_get_str(o, "model_type");
	if (mt && strcmp(mt, "gemma3_text") && strcmp(mt, "gemma3")) {
		errf(err, errlen, "%s: model_type '%s' is not gemma3_text", name, mt);
		goto out;
	}
	defaults(c);
	double eps = c->rms_norm_eps, qpas = -1, fsc = 0, asc = 0;
	if (get_int(o, "vocab_size", &c->vocab_size, name, err, errlen) ||
	    get_int(o, "hidden_size", &c->hidden_size, name, err, errlen) ||
	    get_int(o, "intermediate_size", &c->intermediate_size, name, err, errlen) ||
	    get_int(o, "num_hidden_layers", &c->num_layers, name, err, errlen) ||
	    get_int(o, "num_attention_heads", &c->num_heads, name, err, errlen) ||
	    get_int(o, "num_key_value_heads", &c->num_kv_heads, name, err, errlen) ||
	    get_int(o, "head_dim", &c->head_dim, name, err, errlen) ||
	    get_int(o, "sliding_window", &c->sliding_window, name, err, errlen) ||
	    get_int(o, "max_position_embeddings", &c->max_position_embeddings, name, err, errlen) ||
	    get_int(o, "bos_token_id", &c->bos_id, name, err, errlen) ||
	    get_int(o, "eos_token_id", &c->eos_id, name, err, errlen) ||
	    get_int(o, "pad_token_id", &c->pad_id, name, err, errlen) ||
	    get_num(o, "rms_norm_eps", &eps, name, err, errlen) ||
	    get_num(o, "query_pre_attn_scalar", &qpas, name, err, errlen) ||
	    get_num(o, "final_logit_softcapping", &fsc, name, err, errlen) ||
	    get_num(o, "attn_logit_softcapping", &asc, name, err, errlen))
		goto out;
	if (!json_get(o, "num_key_value_heads"))
		c->num_kv_heads = c->num_heads;
	c->rms_norm_eps = (float)eps;
	c->query_pre_attn_scalar = qpas > 0 ? (float)qpas : (float)c->head_dim;
	c->final_logit_softcapping = (float)fsc;
	c->attn_logit_softcapping = (float)asc;
	const char *act = json_get_str(o, "hidden_activation");
	if (act && strcmp(act, "gelu_pytorch_tanh")) {
		errf(err, errlen, "%s: hidden_activation '%s' is not supported (gelu_pytorch_tanh is)", name, act);
		goto out;
	}
	const json_value *tie = json_get(o, "tie_word_embeddings");
	if (tie && tie->type == JSON_FALSE) {
		errf(err, errlen, "%s: untied output embeddings are not supported", name);
		goto out;
	}
	const json_value *bidir = json_get(o, "use_bidirectional_attention");
	if (bidir && bidir->type == JSON_TRUE) {
		errf(err, errlen, "%s: bidirectional attention is not supported", name);
		goto out;
	}
	const json_value *ab = json_get(o, "attention_bias");
	if (ab && ab->type == JSON_TRUE) {
		errf(err, errlen, "%s: attention biases are not supported", name);
		goto out;
	}
	if (c->num_layers < 1 || c->num_layers > GEMMA3_MAX_LAYERS) {
		errf(err, errlen, "%s: num_hidden_layers %d out of range 1..%d", name, c->num_layers,
		     GEMMA3_MAX_LAYERS);
		goto out;
	}
	/* Which layers are global: layer_types, else the sliding window pattern. */
	const json_value *lt = json_get(o, "layer_types");
	if (lt && lt->type == JSON_ARRAY) {
		if ((int)lt->len != c->num_layers) {
			errf(err, errlen, "%s: layer_types has %zu entries for %d layers", name, lt->len,
			     c->num_layers);
			goto out;
		}
		for (size_t i = 0; i < lt->len; i++) {
			const char *s = lt->items[i].type == JSON_STRING ? lt->items[i].str : "";
			if (!strcmp(s, "full_attention"))
				c->layer_is_global[i] = 1;
			else if (!strcmp(s, "sliding_attention"))
				c->layer_is_global[i] = 0;
			else {
				errf(err, errlen, "%s: layer_types[%zu] is not sliding_attention or full_attention",
				     name, i);
				goto out;
			}
		}
	} else {
		int pattern = 6;
		if (get_int(o, "sliding_window_pattern", &pattern, name, err, errlen) ||
		    get_int(o, "_sliding_window_pattern", &pattern, name, err, errlen))
			goto out;
		pattern_layers(c, pattern);
	}
	/* RoPE: transformers 5's rope_parameters per layer type, or the older
	 * rope_theta (global) / rope_local_base_freq (sliding) / rope_scaling. */
	const json_value *rp = json_get(o, "rope_parameters");
	if (rp && rp->type == JSON_OBJECT && (json_get(rp, "full_attention") || json_get(rp, "sliding_attention"))) {
		if (rope_entry(json_get(rp, "full_attention"), &c->rope_global_base,
			       &c->rope_global_scaling_factor, name, err, errlen) ||
		    rope_entry(json_get(rp, "sliding_attention"), &c->rope_local_base,
			       &c->rope_local_scaling_factor, name, err, errlen))
			goto out;
	} else {
		if (get_num(o, "rope_theta", &c->rope_global_base, name, err, errlen) ||
		    get_num(o, "rope_local_base_freq", &c->rope_local_base, name, err, errlen))
			goto out;
		const json_value *rs = json_get(o, "rope_scaling");
		if (!rs || rs->type != JSON_OBJECT)
			rs = rp;
		if (rs && rs->type == JSON_OBJECT) {
			double base = c->rope_global_base;
			if (rope_entry(rs, &base, &c->rope_global_scaling_factor, name, err, errlen))
				goto out;
			if (json_get(rs, "rope_theta"))
				c->rope_global_base = base;
		}
	}
	if (gemma3_config_check(c, err, errlen))
		goto out;
	rc = 0;
out:
	json_free(doc);
	return rc;
}

int gemma3_config_check(const gemma3_config *c, char *err, size_t errlen)
{
	if (c->vocab_size < 2 || c->hidden_size < 1 || c->intermediate_size < 1 || c->num_layers < 1 ||
	    c->num_layers > GEMMA3_MAX_LAYERS || c->num_heads < 1 || c->num_kv_heads < 1 ||
	    c->head_dim < 2 || c->head_dim % 2 || c->sliding_window < 1 ||
	    c->max_position_embeddings < 1)
		return errf(err, errlen, "config: a size is out of range (vocab %d, hidden %d, ff %d, layers %d, heads %d/%d, head_dim %d (even), window %d)",
			    c->vocab_size, c->hidden_size, c->intermediate_size, c->num_layers,
			    c->num_heads, c->num_kv_heads, c->head_dim, c->sliding_window);
	if (c->num_heads % c->num_kv_heads)
		return errf(err, errlen, "config: %d attention heads are not a multiple of %d KV heads",
			    c->num_heads, c->num_kv_heads);
	if ((double)c->vocab_size * c->hidden_size > 4e9 || (double)c->hidden_size * c->intermediate_size > 4e9 ||
	    c->hidden_size > 65536 || c->intermediate_size > 262144 ||
	    (int64_t)c->num_heads * c->head_dim > 65536)
		return errf(err, errlen, "config: sizes too large");
	if (!(c->rms_norm_eps > 0) || !(c->query_pre_attn_scalar > 0) || !(c->rope_local_base > 1) ||
	    !(c->rope_global_base > 1) || !(c->rope_global_scaling_factor > 0) ||
	    !(c->rope_local_scaling_factor > 0) || !(c->final_logit_softcapping >= 0) ||
	    !(c->attn_logit_softcapping >= 0) || !isfinite(c->rms_norm_eps) ||
	    !isfinite(c->query_pre_attn_scalar) || !isfinite(c->rope_local_base) ||
	    !isfinite(c->rope_global_base) || !isfinite(c->rope_global_scaling_factor) ||
	    !isfinite(c->rope_local_scaling_factor) || !isfinite(c->final_logit_softcapping) ||
	    !isfinite(c->attn_logit_softcapping))
		return errf(err, errlen, "config: eps, query_pre_attn_scalar, rope bases or soft-capping out of range");
	return 0;
}

/* config.json text, or -1 with a message that says what the name is not. */
static char *read_config_file(const char *name, size_t *len, char *err, size_t errlen)
{
	struct stat st;
	if (stat(name, &st)) {
		int e = errno;
		errf(err, errlen, "%s: neither a preset (%s) nor a config.json file (%s)", name,
		     gemma3_preset_list(), strerror(e));
		return NULL;
	}
	if (S_ISDIR(st.st_mode)) {
		errf(err, errlen, "%s: a directory, not a preset (%s) or a config.json file", name,
		     gemma3_preset_list());
		return NULL;
	}
	/* there is a file of that name: its own read error says it best */
	return read_file_err(name, len, err, errlen);
}

int gemma3_config_load(const char *name, int vocab_size, gemma3_config *c, char *err, size_t errlen)
{
	if (load_preset(name, c) == 0) {
		/* A preset's vocabulary is the tokenizer's business. */
		if (vocab_size > 0)
			c->vocab_size = vocab_size;
	} else {
		/* A config.json keeps its own vocabulary. */
		size_t len;
		char *text = read_config_file(name, &len, err, errlen);
		if (!text)
			return -1;
		int rc = gemma3_config_parse(text, len, name, c, err, errlen);
		free(text);
		if (rc)
			return rc;
	}
	return gemma3_config_check(c, err, errlen);
}

char *gemma3_config_to_json(const gemma3_config *c, int bf16, char *err, size_t errlen)
{
	buf_t b = BUF_CHECKED;
	buf_printf(&b, "{\n  \"architectures\": [\"Gemma3ForCausalLM\"],\n  \"model_type\": \"gemma3_text\",\n");
	buf_printf(&b, "  \"vocab_size\": %d,\n  \"hidden_size\": %d,\n  \"intermediate_size\": %d,\n",
		   c->vocab_size, c->hidden_size, c->intermediate_size);
	buf_printf(&b, "  \"num_hidden_layers\": %d,\n  \"num_attention_heads\": %d,\n  \"num_key_value_heads\": %d,\n",
		   c->num_layers, c->num_heads, c->num_kv_heads);
	buf_printf(&b, "  \"head_dim\": %d,\n  \"sliding_window\": %d,\n  \"max_position_embeddings\": %d,\n",
		   c->head_dim, c->sliding_window, c->max_position_embeddings);
	buf_printf(&b, "  \"rms_norm_eps\": %.9g,\n  \"query_pre_attn_scalar\": %.9g,\n", c->rms_norm_eps,
		   c->query_pre_attn_scalar);
	if (c->final_logit_softcapping > 0)
		buf_printf(&b, "  \"final_logit_softcapping\": %.9g,\n", c->final_logit_softcapping);
	else
		buf_printf(&b, "  \"final_logit_softcapping\": null,\n");
	if (c->attn_logit_softcapping > 0)
		buf_printf(&b, "  \"attn_logit_softcapping\": %.9g,\n", c->attn_logit_softcapping);
	else
		buf_printf(&b, "  \"attn_logit_softcapping\": null,\n");
	buf_printf(&b, "  \"layer_types\": [");
	for (int i = 0; i < c->num_layers; i++)
		buf_printf(&b, "%s\"%s\"", i ? ", " : "",
			   c->layer_is_global[i] ? "full_attention" : "sliding_attention");
	buf_printf(&b, "],\n  \"rope_parameters\": {\n");
	if (c->rope_global_scaling_factor != 1.0)
		buf_printf(&b, "    \"full_attention\": {\"rope_type\": \"linear\", \"rope_theta\": %.17g, \"factor\": %.17g},\n",
			   c->rope_global_base, c->rope_global_scaling_factor);
	else
		buf_printf(&b, "    \"full_attention\": {\"rope_type\": \"default\", \"rope_theta\": %.17g},\n",
			   c->rope_global_base);
	if (c->rope_local_scaling_factor != 1.0)
		buf_printf(&b, "    \"sliding_attention\": {\"rope_type\": \"linear\", \"rope_theta\": %.17g, \"factor\": %.17g}\n  },\n",
			   c->rope_local_base, c->rope_local_scaling_factor);
	else
		buf_printf(&b, "    \"sliding_attention\": {\"rope_type\": \"default\", \"rope_theta\": %.17g}\n  },\n",
			   c->rope_local_base);
	buf_printf(&b, "  \"hidden_activation\": \"gelu_pytorch_tanh\",\n  \"tie_word_embeddings\": true,\n");
	buf_printf(&b, "  \"attention_bias\": false,\n  \"use_bidirectional_attention\": false,\n");
	buf_printf(&b, "  \"bos_token_id\": %d,\n  \"eos_token_id\": %d,\n  \"pad_token_id\": %d,\n",
		   (int)c->bos_id, (int)c->eos_id, (int)c->pad_id);
	buf_printf(&b, "  \"dtype\": \"%s\"\n}\n", bf16 ? "bfloat16" : "float32");
	char *text = buf_take(&b, NULL);
	if (!text)
		errf(err, errlen, "out of memory for a config.json");
	return text;
}

/* ---- parameter layout ---- */

static const char *const layer_names[G3_PER_LAYER] = {
	"input_layernorm", "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
	"self_attn.o_proj", "self_attn.q_norm", "self_attn.k_norm", "post_attention_layernorm",
	"pre_feedforward_layernorm", "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj",
	"post_feedforward_layernorm",
};

static void layer_shape(const gemma3_config *c, int k, int *ndim, int64_t sh[2])
{
	int64_t d = c->hidden_size, ff = c->intermediate_size, hd = c->head_dim,
		q = (int64_t)c->num_heads * hd, kv = (int64_t)c->num_kv_heads * hd;
	*ndim = 2;
	switch (k) {
	case G3_WQ: sh[0] = q; sh[1] = d; break;
	case G3_WK: case G3_WV: sh[0] = kv; sh[1] = d; break;
	case G3_WO: sh[0] = d; sh[1] = q; break;
	case G3_WGATE: case G3_WUP: sh[0] = ff; sh[1] = d; break;
	case G3_WDOWN: sh[0] = d; sh[1] = ff; break;
	case G3_QNORM: case G3_KNORM: *ndim = 1; sh[0] = hd; sh[1] = 1; break;
	default: *ndim = 1; sh[0] = d; sh[1] = 1; break;
	}
}

static size_t layer_numel(const gemma3_config *c, int k)
{
	int nd;
	int64_t sh[2];
	layer_shape(c, k, &nd, sh);
	return (size_t)sh[0] * (nd == 2 ? (size_t)sh[1] : 1);
}

/* Entry i of the parameter table (0 <= i < 2 + num_layers * G3_PER_LAYER):
 * the embedding, each layer's G3_PER_LAYER tensors, the final norm. */
static void param_at(const gemma3_config *c, int i, gemma3_param_info *t)
{
	size_t off = 0, per = 0;
	memset(t, 0, sizeof *t);
	if (i == 0) {
		snprintf(t->name, sizeof t->name, "model.embed_tokens.weight");
		t->ndim = 2;
		t->shape[0] = c->vocab_size;
		t->shape[1] = c->hidden_size;
		t->numel = (size_t)c->vocab_size * c->hidden_size;
		return;
	}
	for (int k = 0; k < G3_PER_LAYER; k++)
		per += layer_numel(c, k);
	off = (size_t)c->vocab_size * c->hidden_size;
	if (i == 1 + c->num_layers * G3_PER_LAYER) {
		snprintf(t->name, sizeof t->name, "model.norm.weight");
		t->ndim = 1;
		t->shape[0] = c->hidden_size;
		t->shape[1] = 1;
		t->numel = c->hidden_size;
		t->is_norm = 1;
		t->offset = off + (size_t)c->num_layers * per;
		return;
	}
	int l = (i - 1) / G3_PER_LAYER, k = (i - 1) % G3_PER_LAYER;
	off += (size_t)l * per;
	for (int j = 0; j < k; j++)
		off += layer_numel(c, j);
	snprintf(t->name, sizeof t->name, "model.layers.%d.%s.weight", l, layer_names[k]);
	layer_shape(c, k, &t->ndim, t->shape);
	t->numel = layer_numel(c, k);
	t->is_norm = t->ndim == 1;
	t->offset = off;
}

static int param_count(const gemma3_config *c) { return 2 + c->num_layers * G3_PER_LAYER; }

int gemma3_param_table(const gemma3_config *c, gemma3_param_info **out, char *err, size_t errlen)
{
	int n = param_count(c);
	gemma3_param_info *t = calloc(n, sizeof *t);
	*out = t;
	if (!t)
		return errf(err, errlen, "out of memory for the table of %d parameter tensors", n);
	for (int i = 0; i < n; i++)
		param_at(c, i, &t[i]);
	return n;
}

size_t gemma3_num_params(const gemma3_config *c)
{
	size_t d = c->hidden_size, ff = c->intermediate_size, hd = c->head_dim,
	       q = (size_t)c->num_heads * hd, kv = (size_t)c->num_kv_heads * hd;
	size_t per = d + q * d + 2 * kv * d + d * q + 2 * hd + 2 * d + 2 * ff * d + d * ff + d;
	return (size_t)c->vocab_size * d + (size_t)c->num_layers * per + d;
}

double gemma3_flops_per_token(const gemma3_config *c, int T)
{
	double att = 0;
	for (int l = 0; l < c->num_layers; l++) {
		/* keys summed over the queries t = 0..T-1: min(t+1, w) */
		double w = c->layer_is_global[l] ? T : fmin(c->sliding_window, T);
		att += (w * (w + 1) / 2 + (T - w) * w) / T;
	}
	return 6 * (double)gemma3_num_params(c) + 12.0 * c->num_heads * c->head_dim * att;
}

void gemma3_ptrs_set(const gemma3_config *c, float *base, gemma3_ptrs *p)
{
	size_t d = c->hidden_size, ff = c->intermediate_size, hd = c->head_dim,
	       q = (size_t)c->num_heads * hd, kv = (size_t)c->num_kv_heads * hd;
	float *x = base;
	memset(p, 0, sizeof *p);
	p->embed = x; x += (size_t)c->vocab_size * d;
	for (int l = 0; l < c->num_layers; l++) {
		gemma3_layer_ptrs *L = &p->layer[l];
		L->ln1 = x; x += d;
		L->wq = x; x += q * d;
		L->wk = x; x += kv * d;
		L->wv = x; x += kv * d;
		L->wo = x; x += d * q;
		L->qnorm = x; x += hd;
		L->knorm = x; x += hd;
		L->ln_postattn = x; x += d;
		L->ln_preff = x; x += d;
		L->wgate = x; x += ff * d;
		L->wup = x; x += ff * d;
		L->wdown = x; x += d * ff;
		L->ln_postff = x; x += d;
	}
	p->norm = x;
}

void gemma3_init_params(const gemma3_config *c, float *params, float std, uint64_t seed)
{
	int n = param_count(c);
	for (int i = 0; i < n; i++) {
		gemma3_param_info t[1];
		param_at(c, i, t);
		float *p = params + t->offset;
		if (t->is_norm) {
			memset(p, 0, t->numel * sizeof *p);
			continue;
		}
		/* Each tensor has its own stream, so that the layout of one does
		 * not change the values of another. */
		uint64_t s = seed * 0x100000001B3ull + (uint64_t)i;
		for (size_t j = 0; j < t->numel; j += 2) {
			double u1 = ((splitmix64(&s) >> 11) + 1.0) * 0x1.0p-53;
			double u2 = (splitmix64(&s) >> 11) * 0x1.0p-53;
			double r = sqrt(-2.0 * log(u1));
			p[j] = (float)(std * r * cos(2 * M_PI * u2));
			if (j + 1 < t->numel)
				p[j + 1] = (float)(std * r * sin(2 * M_PI * u2));
		}
	}
}

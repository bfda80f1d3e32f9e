/* fuzz_safetensors.c - libFuzzer harness for the safetensors header parser
 * (lib/safetensors.c) and the Gemma 3 config parser that reads checkpoint
 * metadata.
 *   make fuzz && build/fuzz/fuzz_safetensors -max_total_time=60 CORPUS_DIR
 *
 * A parse either fails cleanly or yields tensors that lie inside the data
 * section; every tensor is then converted to floats (reads every byte).
 * A config that passes the checks must come back the same from the
 * config.json the trainer writes for it. */
#include "gemma3.h"
#include "gemma3_checkpoint.h"
#include "safetensors.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int same_config(const gemma3_config *a, const gemma3_config *b)
{
	if (a->vocab_size != b->vocab_size || a->hidden_size != b->hidden_size ||
	    a->intermediate_size != b->intermediate_size || a->num_layers != b->num_layers ||
	    a->num_heads != b->num_heads || a->num_kv_heads != b->num_kv_heads ||
	    a->head_dim != b->head_dim || a->sliding_window != b->sliding_window ||
	    a->max_position_embeddings != b->max_position_embeddings ||
	    a->rms_norm_eps != b->rms_norm_eps || a->query_pre_attn_scalar != b->query_pre_attn_scalar ||
	    a->final_logit_softcapping != b->final_logit_softcapping ||
	    a->attn_logit_softcapping != b->attn_logit_softcapping ||
	    a->rope_local_base != b->rope_local_base || a->rope_global_base != b->rope_global_base ||
	    a->rope_global_scaling_factor != b->rope_global_scaling_factor ||
	    a->rope_local_scaling_factor != b->rope_local_scaling_factor || a->bos_id != b->bos_id ||
	    a->eos_id != b->eos_id || a->pad_id != b->pad_id)
		return 0;
	return !memcmp(a->layer_is_global, b->layer_is_global, (size_t)a->num_layers);
}

static void config_round_trip(const char *text, size_t len)
{
	char err[512];
	gemma3_config c, back;
	if (gemma3_config_parse(text, len, "fuzz", &c, err, sizeof err) ||
	    gemma3_config_check(&c, err, sizeof err))
		return;
	char *json = gemma3_config_to_json(&c, 1, err, sizeof err);
	if (!json || gemma3_config_parse(json, strlen(json), "written", &back, err, sizeof err) ||
	    !same_config(&c, &back))
		abort();
	free(json);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];
	/* An exact-size copy, so that ASan sees any read past the end. */
	uint8_t *p = malloc(size ? size : 1);
	if (!p)
		return 0;
	memcpy(p, data, size);
	safetensors *f = st_parse(p, size, "fuzz", err, sizeof err);
	if (f) {
		for (size_t i = 0; i < f->n; i++) {
			const st_tensor *t = &f->t[i];
			if (t->end > f->data_len || t->end - t->begin != t->numel * st_dtype_size(t->dtype))
				abort();
			if (t->numel <= (1u << 20)) {
				double *x = malloc((t->numel ? t->numel : 1) * sizeof *x);
				if (x)
					st_to_f64(f, t, x);
				free(x);
			}
		}
		const char *cfg = st_meta(f, "config");
		if (cfg)
			config_round_trip(cfg, strlen(cfg));
		/* a checkpoint's training state, and its checked header */
		gemma3_train_state st;
		if (gemma3_state_parse(f, &st, err, sizeof err) == 0 &&
		    (st.step < 0 || st.seq < 0 || st.micro_batch < 0 || st.batch_tokens < 0 ||
		     !memchr(st.hparams, 0, sizeof st.hparams)))
			abort();
		gemma3_checkpoint_state(f, &st, err, sizeof err);
		st_close(f);
	}
	/* The same bytes as a config.json. */
	config_round_trip((const char *)p, size);
	free(p);
	return 0;
}

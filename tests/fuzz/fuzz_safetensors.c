/* fuzz_safetensors.c - libFuzzer harness for the safetensors header parser
 * (lib/safetensors.c) and the Gemma 3 config parser that reads checkpoint
 * metadata.
 *   make fuzz && build/fuzz/fuzz_safetensors -max_total_time=60 CORPUS_DIR
 *
 * A parse either fails cleanly or yields tensors that lie inside the data
 * section; every tensor is then converted to floats (reads every byte). */
#include "gemma3.h"
#include "safetensors.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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
		if (cfg) {
			gemma3_config c;
			gemma3_config_parse(cfg, strlen(cfg), "fuzz", &c, err, sizeof err);
		}
		st_close(f);
	}
	/* The same bytes as a config.json. */
	gemma3_config c;
	gemma3_config_parse((const char *)p, size, "fuzz", &c, err, sizeof err);
	free(p);
	return 0;
}

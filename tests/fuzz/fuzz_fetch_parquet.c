/* fuzz_fetch_parquet.c - libFuzzer target for bonsai-fetch's parquet reader:
 * footer (Thrift), page headers, decompression, every value and level
 * decoder, and the JSON writer, on an in-memory file.
 *
 *   make fuzz && build/fuzz/fuzz_fetch_parquet CORPUS_DIR (tests/fuzz/fuzz.mk)
 *
 * Errors, which end the real tool, longjmp back here; what they leave is
 * freed here. Seeds: ../shared/fixtures/parquet-testing. */
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "../../fetch/pq_read.h"
#include "../../fetch/pq_json.h"

static jmp_buf env;

static void on_error(const char *msg)
{
	(void)msg;
	longjmp(env, 1);
}

static const uint8_t *mem_get(pq_source *s, uint64_t off, size_t len, buf_t *scratch)
{
	(void)scratch;
	if (off > s->size || len > s->size - off)
		longjmp(env, 1);
	return (const uint8_t *)s->ctx + off;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static pq_source src;
	static pq_file f;
	static pq_colbuf cols[64];
	static buf_t names;
	static buf_t out;
	cli_init("fuzz_fetch_parquet");
	pq_error_hook = on_error;
	memset(&src, 0, sizeof src);
	src.name = "fuzz";
	src.size = size;
	src.get = mem_get;
	src.ctx = (void *)data;
	memset(&f, 0, sizeof f);
	out.len = 0;
	if (setjmp(env) == 0) {
		pq_open(&f, &src);
		/* Every flat column, up to 64 of them. */
		names.len = 0;
		int n = 0;
		for (int c = 0; c < f.meta.ncols && n < 64; c++) {
			if (f.meta.cols[c].nested || strchr(f.meta.cols[c].name, ','))
				continue;
			if (n++)
				buf_putc(&names, ',');
			buf_puts(&names, f.meta.cols[c].name);
		}
		if (n > 0) {
			pq_select(&f, buf_cstr(&names));
			for (int g = 0; g < f.meta.nrg && g < 16; g++) {
				memset(cols, 0, sizeof cols);
				pq_read_rowgroup(&f, g, 4096, cols);
				int64_t rows = cols[0].n;
				for (int c = 1; c < f.nsel; c++)
					if (cols[c].n < rows)
						rows = cols[c].n;
				pq_json_rows(&out, &f, cols, 0, rows);
				for (int c = 0; c < f.nsel; c++)
					pq_colbuf_free(&cols[c]);
				out.len = 0;
			}
		}
	} else {
		for (int c = 0; c < 64; c++)
			pq_colbuf_free(&cols[c]);
	}
	pq_close(&f);
	return 0;
}

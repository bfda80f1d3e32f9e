/* fuzz_fetch_zip.c - libFuzzer target for bonsai-fetch's zip reader
 * (fetch/zipread.c): central directory, local headers, inflate and the
 * size and CRC-32 checks, on an in-memory archive. Every member is read.
 *
 *   make fuzz && build/fuzz/fuzz_fetch_zip CORPUS_DIR (tests/fuzz/fuzz.mk)
 *
 * Seeds: any small zip files (e.g. python3 -m zipfile -c seed.zip FILES). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "../../fetch/zipread.h"

static const uint8_t *mem_get(pq_source *s, uint64_t off, size_t len, buf_t *scratch)
{
	(void)scratch;
	/* The reader must never ask for bytes outside the archive. */
	if (off > s->size || len > s->size - off)
		abort();
	return (const uint8_t *)s->ctx + off;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pq_source src = {.name = "fuzz.zip", .size = size, .get = mem_get, .ctx = (void *)data};
	zip_dir d;
	char err[300];
	if (zip_read_dir(&src, &d, err, sizeof err) < 0)
		return 0;
	buf_t out = {0};
	for (size_t i = 0; i < d.n; i++) {
		out.len = 0;
		zip_extract(&src, &d, &d.e[i], (uint64_t)4 << 20, &out, NULL, NULL, err, sizeof err);
	}
	buf_free(&out);
	zip_dir_free(&d);
	return 0;
}

/* mkstream - a test tool: writes a token stream from text, one document per
 * line of space-separated decimal ids (an empty line is an empty document).
 *   mkstream VOCAB [FINGERPRINT_HEX [BOS [EOS]]] < ids.txt > stream
 * With --truncate N the output is cut after N bytes (a writer that died).
 * With --random TOKENS DOCLEN it writes TOKENS pseudo-random ids in
 * documents of DOCLEN tokens instead of reading stdin (for benchmarks). */
#include "cli.h"
#include "tokstream.h"
#include "xio.h"

#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	cli_init(argv[0]);
	long long cut = -1;
	if (argc > 2 && strcmp(argv[1], "--truncate") == 0) {
		cut = parse_ll("--truncate", argv[2], 0, 1LL << 40);
		argc -= 2, argv += 2;
	}
	long long rand_tokens = -1, rand_doclen = 0;
	if (argc > 3 && strcmp(argv[1], "--random") == 0) {
		rand_tokens = parse_ll("--random", argv[2], 0, 1LL << 40);
		rand_doclen = parse_ll("DOCLEN", argv[3], 1, 1 << 30);
		argc -= 3, argv += 3;
	}
	if (argc < 2)
		die_usage("usage: mkstream [--truncate N] VOCAB [FINGERPRINT_HEX [BOS [EOS]]]");
	tokstream_info info = {0};
	info.vocab_size = (uint32_t)parse_ll("VOCAB", argv[1], 1, 1LL << 31);
	info.fingerprint = argc > 2 ? strtoull(argv[2], NULL, 16) : 0x1234;
	info.bos_id = argc > 3 ? (int32_t)parse_ll("BOS", argv[3], -1, 1LL << 31) : -1;
	info.eos_id = argc > 4 ? (int32_t)parse_ll("EOS", argv[4], -1, 1LL << 31) : -1;
	char *mem = NULL;
	size_t memlen = 0;
	FILE *fp = cut >= 0 ? open_memstream(&mem, &memlen) : stdout;
	if (!fp)
		die("open_memstream failed");
	char err[600];
	tokwriter *w = tokwriter_open(fp, "stdout", &info, err, sizeof err);
	if (!w)
		die("%s", err);
	if (rand_tokens >= 0) {
		uint32_t *doc = xmalloc((size_t)rand_doclen * sizeof *doc);
		uint64_t x = 88172645463325252ull;
		for (long long done = 0; done < rand_tokens; done += rand_doclen) {
			size_t n = (size_t)(rand_tokens - done < rand_doclen ? rand_tokens - done : rand_doclen);
			for (size_t i = 0; i < n; i++) {
				x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
				doc[i] = (uint32_t)(x % info.vocab_size);
			}
			if (tokwriter_doc(w, doc, n, err, sizeof err))
				die("%s", err);
		}
		if (tokwriter_close(w, err, sizeof err))
			die("%s", err);
		free(doc);
		return 0;
	}
	instream *in = instream_open("-");
	char *line;
	size_t len;
	uint32_t *ids = NULL;
	size_t cap = 0;
	while (instream_getline(in, &line, &len)) {
		size_t n = 0;
		char *p = line, *end;
		for (;;) {
			while (*p == ' ')
				p++;
			if (!*p)
				break;
			unsigned long v = strtoul(p, &end, 10);
			if (end == p)
				die_at("stdin", instream_line_no(in), "not a token id: '%s'", p);
			if (n == cap) {
				cap = cap ? 2 * cap : 64;
				ids = xreallocarray(ids, cap, sizeof *ids);
			}
			ids[n++] = (uint32_t)v;
			p = end;
		}
		if (tokwriter_doc(w, ids, n, err, sizeof err))
			die("%s", err);
	}
	if (tokwriter_close(w, err, sizeof err))
		die("%s", err);
	if (cut >= 0) {
		fclose(fp);
		xfwrite(mem, (size_t)cut < memlen ? (size_t)cut : memlen, stdout, "stdout");
		xfflush(stdout, "stdout");
		free(mem);
	}
	instream_close(in);
	free(ids);
	return 0;
}

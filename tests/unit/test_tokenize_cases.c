/* test_tokenize_cases.c - every case of ../shared/fixtures/tokenizers/
 * cases.jsonl through the tokenizer API: the ids must equal those of
 * Hugging Face tokenizers (gemma3) and tiktoken (r50k_base, cl100k_base,
 * o200k_base), and decoding must give back the text. */
#include "tap.h"
#include "cli.h"
#include "json.h"
#include "tokenizer.h"
#include "tokenizer_test.h"
#include "xio.h"

#include <stdint.h>

static const char *const NAMES[] = { "gemma3", "r50k_base", "cl100k_base", "o200k_base" };

int main(int argc, char **argv)
{
	(void)argc;
	cli_init(argv[0]);
	use_test_cache();
	char path[4096];
	snprintf(path, sizeof path, "%s/fixtures/tokenizers/cases.jsonl", shared_dir());
	FILE *f = fopen(path, "r");
	if (!f) {
		printf("1..0 # SKIP %s not found\n", path);
		return 0;
	}
	fclose(f);
	size_t len;
	char *text = read_file(path, &len);
	for (int k = 0; k < 4; k++) {
		char tp[4096];
		if (k == 0)
			snprintf(tp, sizeof tp, "%s/fixtures/tokenizers/gemma3/tokenizer.json", shared_dir());
		else
			snprintf(tp, sizeof tp, "%s/fixtures/tokenizers/tiktoken/%s.tiktoken", shared_dir(), NAMES[k]);
		double t0 = now_seconds();
		tokenizer *t = load_or_die(tp, NULL);
		printf("# %s loaded in %.2f s, vocab %u, bos %d, eos %d\n", NAMES[k],
		       now_seconds() - t0, tokenizer_vocab_size(t), tokenizer_bos(t), tokenizer_eos(t));
		int cases = 0, id_bad = 0, text_bad = 0;
		uint32_t *ids = NULL;
		size_t cap = 0;
		for (char *p = text, *e; p < text + len; p = e + 1) {
			e = memchr(p, '\n', (size_t)(text + len - p));
			if (!e)
				e = text + len;
			if (e == p)
				continue;
			char err[200];
			json_doc *d = json_parse(p, (size_t)(e - p), err, sizeof err);
			if (!d) {
				ok(0, "case line parses: %s", err);
				continue;
			}
			json_value *r = json_root(d);
			json_value *tx = json_get(r, "text"), *want = json_get(r, NAMES[k]);
			size_t n = 0;
			tokenizer_encode(t, tx->str, tx->len, &ids, &n, &cap, NULL, 0);
			int same = n == want->len;
			for (size_t i = 0; same && i < n; i++)
				same = ids[i] == (uint32_t)want->items[i].number;
			if (!same && id_bad++ < 3) {
				printf("# %s case %d differs: %.60s\n#  got ", NAMES[k], cases, tx->str);
				for (size_t i = 0; i < n && i < 30; i++)
					printf(" %u", ids[i]);
				printf("\n# want");
				for (size_t i = 0; i < want->len && i < 30; i++)
					printf(" %u", (uint32_t)want->items[i].number);
				printf("\n");
			}
			size_t dl;
			char *dec = tokenizer_decode(t, ids, n, &dl, NULL, 0);
			if (dl != tx->len || memcmp(dec, tx->str, dl) != 0) {
				if (text_bad++ < 3)
					printf("# %s case %d decodes to %.60s\n", NAMES[k], cases, dec);
			}
			free(dec);
			cases++;
			json_free(d);
		}
		is_int(cases, 324, "%s: all cases read", NAMES[k]);
		is_int(id_bad, 0, "%s: ids equal the reference for every case", NAMES[k]);
		is_int(text_bad, 0, "%s: decode gives back every text", NAMES[k]);
		free(ids);
		tokenizer_free(t);
	}
	free(text);
	return done_testing();
}

/* fuzz_filter.c - libFuzzer harness for bonsai-filter's handling of one
 * input line: the JSON reader, the text hygiene and MinHash. It checks
 * that the cleaned text is valid UTF-8 without control characters, that
 * the piecewise NFC equals utf8proc's NFC of the whole text and is stable,
 * and that a line with its text replaced parses back to the cleaned text.
 *
 * Build and run (tests/fuzz/fuzz.mk):
 *   make fuzz && build/fuzz/fuzz_filter -max_len=4096 -max_total_time=60 CORPUS_DIR
 */
#define _GNU_SOURCE /* memmem */
#include "buf.h"
#include "json.h"
#include "../../filter/hygiene.h"
#include "../../filter/minhash.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

static minhash *mh;
static mh_scratch mw;

static void check_clean(const char *s, size_t n)
{
	if (!utf8_valid(s, n))
		abort();
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7F)
			abort();
		if (c == 0xC2 && i + 1 < n && (unsigned char)s[i + 1] < 0xA0)
			abort(); /* C1 */
	}
}

static void clean_text(const char *s, size_t n, buf_t *rep, buf_t *nfc)
{
	hygiene_info hi = {0, 0, 0, 0};
	hygiene_repair(s, n, rep, &hi);
	check_clean(rep->data ? rep->data : "", rep->len);
	buf_cstr(rep);
	hygiene_nfc(rep->data, rep->len, nfc);
	check_clean(nfc->data ? nfc->data : "", nfc->len);
	/* differential: utf8proc on the whole (NUL-free) text, except where
	 * utf8proc 2.8 is wrong (it deletes U+11A7 after a Hangul LV syllable) */
	if (!memchr(rep->data, 0, rep->len) && !memmem(rep->data, rep->len, "\xE1\x86\xA7", 3)) {
		uint8_t *want = utf8proc_NFC((const uint8_t *)rep->data);
		if (!want || strlen((char *)want) != nfc->len || memcmp(want, nfc->data, nfc->len))
			abort();
		free(want);
	}
	buf_t again = {0};
	if (hygiene_nfc(nfc->data ? nfc->data : "", nfc->len, &again))
		abort(); /* NFC is stable */
	buf_free(&again);
	uint64_t band[MH_BANDS];
	minhash_bands(mh, &mw, nfc->data ? nfc->data : "", nfc->len, band);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!mh) {
		mh = malloc(sizeof *mh);
		minhash_init(mh);
	}
	buf_t rep = {0}, nfc = {0};
	clean_text((const char *)data, size, &rep, &nfc);

	char err[160];
	json_doc *d = json_parse((const char *)data, size, err, sizeof err);
	if (d) {
		json_value *root = json_root(d);
		json_value *t = json_get(root, "text");
		if (root->type == JSON_OBJECT && t && t->type == JSON_STRING) {
			clean_text(t->str, t->len, &rep, &nfc);
			/* the splice bonsai-filter writes must parse back */
			buf_t line = {0};
			size_t pre = (size_t)(t->raw - (const char *)data);
			buf_append(&line, data, pre);
			json_write_string(&line, nfc.data ? nfc.data : "", nfc.len);
			buf_append(&line, t->raw + t->raw_len, size - pre - t->raw_len);
			json_doc *d2 = json_parse(line.data, line.len, err, sizeof err);
			if (!d2)
				abort();
			json_value *t2 = json_get(json_root(d2), "text");
			if (!t2 || t2->type != JSON_STRING || t2->len != nfc.len ||
			    memcmp(t2->str, nfc.data ? nfc.data : "", nfc.len))
				abort();
			json_free(d2);
			buf_free(&line);
		}
		json_free(d);
	}
	buf_free(&rep);
	buf_free(&nfc);
	return 0;
}

/* tokenizer.json files the loader cannot honour exactly (another model
 * type, BPE dropout, normalizers, pre-tokenizers and decoders it does not
 * implement, malformed parts) are refused with a message that names the
 * file and what is unsupported, instead of loading a tokenizer that would
 * encode differently from Hugging Face's. Each case changes one part of a
 * small byte-level BPE tokenizer.json that loads. */
#include "buf.h"
#include "cli.h"
#include "tap.h"
#include "tokenizer.h"
#include "tokenizer_internal.h"

#include <string.h>

/* GPT-2's byte-level alphabet: byte b as a code point. */
static unsigned bytelevel_cp(int b)
{
	if ((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255))
		return (unsigned)b;
	int k = 0;
	for (int c = 0; c < b; c++)
		if (!((c >= 33 && c <= 126) || (c >= 161 && c <= 172) || (c >= 174 && c <= 255)))
			k++;
	return 256u + (unsigned)k;
}

/* A tokenizer.json: the 256 byte tokens, the merge "h e", and the given
 * members (the model's extra members go inside "model"). */
static char *tokenizer_json(const char *model_extra, const char *normalizer,
			    const char *pre_tokenizer, const char *decoder)
{
	buf_t b = { 0 };
	buf_puts(&b, "{\"version\": \"1.0\", \"added_tokens\": [], ");
	buf_printf(&b, "\"normalizer\": %s, \"pre_tokenizer\": %s, \"decoder\": %s, ", normalizer,
		   pre_tokenizer, decoder);
	buf_printf(&b, "\"model\": {\"type\": \"BPE\", %s\"vocab\": {", model_extra);
	for (int i = 0; i < 256; i++)
		buf_printf(&b, "%s\"\\u%04x\": %d", i ? ", " : "", bytelevel_cp(i), i);
	buf_puts(&b, ", \"he\": 256}, \"merges\": [\"h e\"]}}");
	buf_cstr(&b);
	return b.data;
}

#define BYTELEVEL "{\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"use_regex\": true}"

/* text with its first from replaced by to (malloc()ed). */
static char *replaced(char *text, const char *from, const char *to)
{
	char *at = strstr(text, from);
	if (!at)
		die("test: \"%s\" not in the tokenizer.json", from);
	buf_t b = { 0 };
	buf_append(&b, text, (size_t)(at - text));
	buf_puts(&b, to);
	buf_puts(&b, at + strlen(from));
	free(text);
	return buf_take(&b, NULL);
}

/* Loads text as tokenizer.json; "" when it loads, else the message. */
static const char *load(const char *text, char *err, size_t errlen)
{
	err[0] = '\0';
	tokenizer *t = tokenizer_load_hf("case.json", text, strlen(text), err, errlen);
	if (t) {
		tokenizer_free(t);
		return "";
	}
	return err;
}

static void refused(const char *model_extra, const char *normalizer, const char *pre,
		    const char *decoder, const char *want, const char *what)
{
	char err[512];
	char *text = tokenizer_json(model_extra, normalizer, pre, decoder);
	const char *got = load(text, err, sizeof err);
	ok(*got && strstr(got, "case.json") && strstr(got, want), "%s: refused, saying \"%s\": %s",
	   what, want, got);
	free(text);
}

int main(void)
{
	cli_init("test_tokenize_hf_refusals");
	char err[512];
	char *base = tokenizer_json("", "null", BYTELEVEL, "{\"type\": \"ByteLevel\"}");
	const char *got = load(base, err, sizeof err);
	ok(*got == '\0', "the byte-level BPE tokenizer.json the cases start from loads: %s", got);
	free(base);

	/* the model */
	refused("\"dropout\": 0.1, ", "null", BYTELEVEL, "null", "dropout is not supported",
		"BPE dropout");
	refused("\"continuing_subword_prefix\": \"##\", ", "null", BYTELEVEL, "null",
		"continuing_subword_prefix", "a continuing-subword prefix");
	char *wp = replaced(tokenizer_json("", "null", BYTELEVEL, "null"), "\"type\": \"BPE\"",
			    "\"type\": \"WordPiece\"");
	ok(*load(wp, err, sizeof err) && strstr(err, "model type WordPiece is not supported"),
	   "another model type: refused, named: %s", err);
	free(wp);

	/* normalizers, pre-tokenizers and decoders it does not implement */
	refused("", "{\"type\": \"NFKC\"}", BYTELEVEL, "null", "normalizer NFKC is not supported",
		"an NFKC normalizer");
	refused("", "{\"type\": \"Sequence\"}", BYTELEVEL, "null", "normalizer Sequence without",
		"a normalizer Sequence without its list");
	refused("", "{\"type\": \"Replace\", \"pattern\": {\"String\": \"\"}, \"content\": \"x\"}",
		BYTELEVEL, "null", "Replace of an empty string", "a normalizer replacing \"\"");
	refused("", "null", "{\"type\": \"Whitespace\"}", "null", "pre_tokenizer Whitespace is not supported",
		"a Whitespace pre-tokenizer");
	refused("", "null", "{\"type\": \"ByteLevel\", \"add_prefix_space\": true}", "null",
		"add_prefix_space is not supported", "ByteLevel with add_prefix_space");
	refused("", "null",
		"{\"type\": \"Split\", \"pattern\": {\"Regex\": \"a\"}, \"behavior\": \"Isolated\", "
		"\"invert\": true}",
		"null", "invert is not supported", "a Split with invert");
	refused("", "null",
		"{\"type\": \"Split\", \"pattern\": {\"Regex\": \"a\"}, \"behavior\": \"Removed\"}", "null",
		"must be Isolated", "a Split on a regex that removes");
	refused("", "null", "{\"type\": \"Sequence\", \"pretokenizers\": [" BYTELEVEL ", " BYTELEVEL "]}",
		"null", "not supported", "two splitting pre-tokenizers");
	refused("", "null", BYTELEVEL, "{\"type\": \"WordPiece\"}", "decoder WordPiece is not supported",
		"a WordPiece decoder");
	refused("", "null", BYTELEVEL, "{\"type\": \"Sequence\"}", "decoder Sequence without",
		"a decoder Sequence without its list");

	/* malformed parts */
	refused("", "{\"pattern\": 1}", BYTELEVEL, "null", "has no \"type\"", "a normalizer without type");
	char *bad = replaced(tokenizer_json("", "null", BYTELEVEL, "null"), "\"he\": 256", "\"he\": -1");
	ok(*load(bad, err, sizeof err) && strstr(err, "has a bad id"), "a negative id: refused: %s", err);
	free(bad);
	bad = replaced(tokenizer_json("", "null", BYTELEVEL, "null"), "[\"h e\"]", "[\"h ee\"]");
	ok(*load(bad, err, sizeof err) && strstr(err, "merge 0: \"ee\" is not in the vocabulary"),
	   "a merge of a string not in the vocabulary: refused, named: %s", err);
	free(bad);
	return done_testing();
}

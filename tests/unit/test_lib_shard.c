/* The shard header codec: round trip, and clean refusal of what a later
 * version might write. */
#include "shard.h"
#include "hash.h"
#include "le.h"
#include "tap.h"

static shard_header sample(void)
{
	shard_header h = {0};
	h.version = SHARD_VERSION;
	h.token_width = 4;
	h.vocab_size = 262144;
	h.bos_id = 2;
	h.eos_id = 1;
	h.compression = SHARD_COMPRESS_ZSTD;
	h.fingerprint = 0x0123456789abcdefull;
	h.n_tokens = 1000;
	h.n_docs = 3;
	h.flags = SHARD_FLAG_CONTINUES;
	h.split = SPLIT_VAL;
	h.index = 7;
	h.payload_bytes = 555;
	h.payload_checksum = 0xfeedull;
	return h;
}

/* Re-seals the header checksum after a field was changed on purpose. */
static void reseal(unsigned char *b) { le_put64(b + 96, xxh64(b, 96, 0)); }

int main(void)
{
	unsigned char b[SHARD_HEADER_SIZE];
	shard_header h = sample(), g;
	char err[256];
	shard_header_encode(&h, b);
	ok(shard_header_decode(b, &g, err, sizeof err) == 0, "a header decodes");
	ok(h.version == g.version && h.features == g.features && h.token_width == g.token_width &&
	   h.vocab_size == g.vocab_size && h.compression == g.compression && h.bos_id == g.bos_id &&
	   h.eos_id == g.eos_id && h.fingerprint == g.fingerprint && h.n_tokens == g.n_tokens &&
	   h.n_docs == g.n_docs && h.flags == g.flags && h.split == g.split && h.index == g.index &&
	   h.payload_bytes == g.payload_bytes && h.payload_checksum == g.payload_checksum,
	   "every field survives the round trip");
	ok(memcmp(b, "BONSHARD", 8) == 0 && le_get32(b + 12) == 128, "magic and header size at fixed places");

	b[50] ^= 1;
	ok(shard_header_decode(b, &g, err, sizeof err) != 0 && strstr(err, "damaged"), "a flipped bit is caught");

	shard_header_encode(&h, b);
	le_put32(b + 8, 2);
	reseal(b);
	ok(shard_header_decode(b, &g, err, sizeof err) != 0 && strstr(err, "version 2 is not supported"),
	   "a later version is refused by name");

	shard_header_encode(&h, b);
	le_put32(b + 16, 4);
	reseal(b);
	ok(shard_header_decode(b, &g, err, sizeof err) != 0 && strstr(err, "features"),
	   "unknown required-feature bits are refused");

	shard_header_encode(&h, b);
	le_put32(b + 20, 3);
	reseal(b);
	ok(shard_header_decode(b, &g, err, sizeof err) != 0 && strstr(err, "token width"), "bad token width");

	h = sample();
	h.token_width = 2;
	shard_header_encode(&h, b);
	ok(shard_header_decode(b, &g, err, sizeof err) != 0 && strstr(err, "vocabulary"),
	   "2-byte tokens with a vocabulary above 65536");

	h = sample();
	h.n_docs = h.n_tokens + 1;
	shard_header_encode(&h, b);
	ok(shard_header_decode(b, &g, err, sizeof err) != 0 && strstr(err, "implausible"),
	   "more documents than tokens");

	h = sample();
	h.compression = SHARD_COMPRESS_NONE;
	h.payload_bytes = 4000; /* 1000*4 + 3*8 = 4024 expected */
	shard_header_encode(&h, b);
	ok(shard_header_decode(b, &g, err, sizeof err) != 0 && strstr(err, "payload size"),
	   "uncompressed payload size must match the counts");
	h.payload_bytes = 4024;
	shard_header_encode(&h, b);
	ok(shard_header_decode(b, &g, err, sizeof err) == 0, "and the right size is accepted");
	return done_testing();
}

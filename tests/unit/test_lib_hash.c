/* XXH64 against published test vectors, and streaming == one-shot. */
#include "hash.h"
#include "tap.h"

int main(void)
{
	ok(xxh64("", 0, 0) == 0xEF46DB3751D8E999ull, "xxh64 of the empty string");
	ok(xxh64("abc", 3, 0) == 0x44BC2CF5AD770999ull, "xxh64(\"abc\")");
	const char *s = "Nobody inspects the spammish repetition";
	ok(xxh64(s, strlen(s), 0) == 0xFBCEA83C8A378BF1ull, "xxh64 of a 39-byte string (32-byte stripes)");

	unsigned char data[1000];
	for (int i = 0; i < 1000; i++)
		data[i] = (unsigned char)(i * 7 + 3);
	uint64_t one = xxh64(data, sizeof data, 42);
	int same = 1;
	for (size_t step = 1; step < 100; step += 13) {
		xxh64_state st;
		xxh64_init(&st, 42);
		for (size_t i = 0; i < sizeof data; i += step)
			xxh64_update(&st, data + i, i + step <= sizeof data ? step : sizeof data - i);
		same &= xxh64_digest(&st) == one;
	}
	ok(same, "streaming in pieces of any size equals one-shot");
	ok(xxh64(data, sizeof data, 1) != one, "the seed changes the hash");
	return done_testing();
}

/* test_fetch_sha256.c - fetch/sha256.c on the FIPS 180-2 test vectors. */
#include "tap.h"
#include "../../fetch/sha256.h"

#include <stdio.h>
#include <unistd.h>


int main(void)
{
	char hex[65];
	sha256_buf_hex("abc", 3, hex);
	is_str(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "abc");
	sha256_buf_hex("", 0, hex);
	is_str(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "empty");
	const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	sha256_buf_hex(m, strlen(m), hex);
	is_str(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1", "448-bit message");
	/* A million 'a', fed in uneven pieces. */
	sha256_ctx c;
	uint8_t d[32];
	char a[1000];
	memset(a, 'a', sizeof a);
	sha256_init(&c);
	for (size_t done = 0, k = 1; done < 1000000; k = k % 997 + 1) {
		size_t n = 1000000 - done < k ? 1000000 - done : k;
		sha256_update(&c, a, n);
		done += n;
	}
	sha256_final(&c, d);
	sha256_hex(d, hex);
	is_str(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0", "a million 'a' in pieces");
	char path[] = "/tmp/test_fetch_sha256.XXXXXX";
	int fd = mkstemp(path);
	ok(fd >= 0 && write(fd, "abc", 3) == 3, "temp file");
	close(fd);
	ok(sha256_file(path, hex) == 0, "sha256_file");
	is_str(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "sha256_file of abc");
	unlink(path);
	return done_testing();
}

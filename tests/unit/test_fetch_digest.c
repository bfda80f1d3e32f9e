/* test_fetch_digest.c - fetch/digest.c on the FIPS 180-2 SHA-256 vectors
 * and git's blob ids (git hash-object gives the references). */
#include "tap.h"
#include "../../fetch/digest.h"

#include <stdio.h>
#include <unistd.h>

int main(void)
{
	char hex[65];
	ok(sha256_buf_hex("abc", 3, hex) == 0, "sha256_buf_hex");
	is_str(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "abc");
	sha256_buf_hex("", 0, hex);
	is_str(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "empty");
	const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	sha256_buf_hex(m, strlen(m), hex);
	is_str(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1", "448-bit message");
	/* A million 'a', fed in uneven pieces, after a reset of a used digest. */
	char a[1000];
	memset(a, 'a', sizeof a);
	digest *d = digest_new(DIGEST_SHA256, 1000000);
	ok(d != NULL, "digest_new");
	digest_update(d, "junk", 4);
	ok(digest_reset(d) == 0, "digest_reset");
	for (size_t done = 0, k = 1; done < 1000000; k = k % 997 + 1) {
		size_t n = 1000000 - done < k ? 1000000 - done : k;
		digest_update(d, a, n);
		done += n;
	}
	ok(digest_hex(d, hex) == 0, "digest_hex");
	is_str(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0", "a million 'a' in pieces");
	digest_free(d);
	/* git's blob ids: printf 'hello world\n' | git hash-object --stdin */
	d = digest_new(DIGEST_GIT_BLOB, 12);
	digest_update(d, "hello world\n", 12);
	digest_hex(d, hex);
	is_str(hex, "3b18e512dba79e4c8300dd08aeb37f8e728b8dad", "git blob id of 'hello world\\n'");
	digest_free(d);
	d = digest_new(DIGEST_GIT_BLOB, 0);
	digest_hex(d, hex);
	is_str(hex, "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391", "git blob id of the empty file");
	digest_free(d);
	char path[] = "/tmp/test_fetch_digest.XXXXXX";
	int fd = mkstemp(path);
	ok(fd >= 0 && write(fd, "abc", 3) == 3, "temp file");
	close(fd);
	ok(digest_file(DIGEST_SHA256, path, 3, hex) == 0, "digest_file");
	is_str(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "digest_file of abc");
	ok(digest_file(DIGEST_SHA256, "/nonexistent/x", 0, hex) < 0, "digest_file of a missing file: -1");
	unlink(path);
	return done_testing();
}

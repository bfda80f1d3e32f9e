/* test_filter_dedup - the hash set of --dedup and the MinHash LSH of
 * --near-dedup. */
#include "tap.h"
#include "buf.h"
#include "../../filter/dedup.h"
#include "../../filter/minhash.h"

#include <stdint.h>

static uint64_t rng = 2463534242ULL;
static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* A text of n random words from a vocabulary of 26^3 (letters only: the
 * MinHash reads every digit as 0). */
static void words(buf_t *b, int n)
{
	b->len = 0;
	for (int i = 0; i < n; i++) {
		unsigned w = (unsigned)(next() % (26 * 26 * 26));
		buf_printf(b, "%s%c%c%c", i ? " " : "", 'a' + w % 26, 'a' + w / 26 % 26, 'a' + w / 676);
	}
}

int main(void)
{
	hashset s;
	hashset_init(&s, 0);
	int fresh = 1;
	for (uint64_t i = 0; i < 200000; i++)
		fresh &= hashset_add(&s, i * 0x9E3779B97F4A7C15ULL);
	ok(fresh, "200000 distinct hashes are all new (table grew to %zu slots)", s.cap);
	int again = 0, has = 1;
	for (uint64_t i = 0; i < 200000; i++) {
		again |= hashset_add(&s, i * 0x9E3779B97F4A7C15ULL);
		has &= hashset_has(&s, i * 0x9E3779B97F4A7C15ULL);
	}
	ok(!again && has, "each is found again");
	is_int((long long)s.count, 200000, "count");
	ok(s.count <= s.cap / 4 * 3, "load stays at most 3/4");
	hashset_free(&s);
	hashset_init(&s, 0);
	is_int(hashset_add(&s, 0), 1, "hash 0 can be stored");
	is_int(hashset_add(&s, 0), 0, "... and found");
	hashset_free(&s);
	ok(text_hash("abc", 3) != text_hash("abd", 3), "text_hash differs");

	minhash *m = malloc(sizeof *m);
	mh_scratch w = {0};
	minhash_init(m);
	buf_t a = {0}, b = {0};
	words(&a, 400);
	is_int(minhash_seen(m, &w, a.data, a.len), 0, "first text is new");
	is_int(minhash_seen(m, &w, a.data, a.len), 1, "same text again is a near duplicate");
	/* change one word in the middle: Jaccard of 5-grams about 0.975 */
	buf_append(&b, a.data, a.len);
	char *mid = strchr(b.data + b.len / 2, ' ');
	mid[1] = mid[1] == 'q' ? 'r' : 'q';
	is_int(minhash_seen(m, &w, b.data, b.len), 1, "one word changed: near duplicate");
	buf_t c = {0};
	buf_append(&c, "Hello, WORLD! ", 14);
	buf_append(&c, a.data, a.len);
	for (size_t i = 0; i < c.len; i++)
		if (c.data[i] == ' ' && i % 7 == 0)
			c.data[i] = '\n';
	is_int(minhash_seen(m, &w, c.data, c.len), 1, "case, punctuation and spacing do not matter");
	int fp = 0;
	for (int t = 0; t < 200; t++) {
		words(&b, 300);
		fp += minhash_seen(m, &w, b.data, b.len);
	}
	is_int(fp, 0, "200 unrelated texts are not near duplicates");
	is_int(minhash_seen(m, &w, "!!! ...", 7), 0, "a text without words is never one");

	/* The share of equal minima estimates the Jaccard similarity of the
	 * 5-gram sets: A and B share their first 300 of 400 words, so 296 of
	 * 396 + 396 - 296 shingles: J = 0.597 (standard error 0.046). */
	uint64_t sa[MH_HASHES], sb[MH_HASHES];
	words(&a, 400);
	size_t cut = 0;
	for (int k = 0; k < 300; k++)
		cut = (size_t)(strchr(a.data + cut + 1, ' ') - a.data);
	words(&b, 100);
	buf_t ab = {0};
	buf_append(&ab, a.data, cut + 1);
	buf_append(&ab, b.data, b.len);
	minhash_signature(m, &w, a.data, a.len, sa);
	minhash_signature(m, &w, ab.data, ab.len, sb);
	int same = 0;
	for (int k = 0; k < MH_HASHES; k++)
		same += sa[k] == sb[k];
	double est = same / (double)MH_HASHES;
	ok(est > 0.597 - 0.15 && est < 0.597 + 0.15, "Jaccard estimate %.3f for J = 0.597", est);
	minhash_signature(m, &w, b.data, b.len, sb);
	same = 0;
	for (int k = 0; k < MH_HASHES; k++)
		same += sa[k] == sb[k];
	ok(same <= 2, "unrelated texts: %d of 112 minima equal", same);
	buf_free(&ab);
	minhash_free(m);
	mh_scratch_free(&w);
	free(m);
	buf_free(&a);
	buf_free(&b);
	buf_free(&c);
	return done_testing();
}

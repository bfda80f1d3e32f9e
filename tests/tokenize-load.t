#!/bin/sh
# Loading tokenizers: a .tiktoken file with very long tokens loads in time
# linear in its size, and the splits of long tokens into long tokens are
# all found.
. tests/tap.sh
TOK=bin/bonsai-tokenize

# the 256 single bytes, ranks 0-255 (base64 of one byte: two digits and ==)
awk 'BEGIN { a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for (b = 0; b < 256; b++)
		printf "%s%s== %d\n", substr(a, int(b / 4) + 1, 1), substr(a, (b % 4) * 16 + 1, 1), b }' > "$T/bytes.tiktoken"
b64() { tr -d '\n' | base64 -w0; }
rep() { head -c "$2" /dev/zero | tr '\0' "$1"; } # rep CHAR COUNT

# one token of 1 MB: hashing each of its prefixes (the old loader) takes
# minutes; linear is a fraction of a second
{ cat "$T/bytes.tiktoken"; echo "$(rep a 1000000 | b64) 256"; } > "$T/big.tiktoken"
run timeout 20 $TOK info --pattern r50k_base "$T/big.tiktoken"
ok $rc "a .tiktoken with a 1 MB token loads in seconds (exit $rc)"
rep a 1000000 | awk '{ print "{\"text\":\"" $0 "\"}" }' > "$T/big.jsonl"
run timeout 20 $TOK encode --ids --pattern r50k_base -t "$T/big.tiktoken" "$T/big.jsonl"
[ "$rc" -eq 0 ] && [ "$(cat "$T/out")" = 256 ]
ok $? "the 1 MB text encodes to that one token"

# x^2 .. x^128, y^2 .. y^128 by doubling, then x^128 y^128: a merge of two
# tokens longer than the loader's short-prefix limit
{
	cat "$T/bytes.tiktoken"
	r=256
	for c in x y; do
		n=2
		while [ $n -le 128 ]; do
			echo "$(rep $c $n | b64) $r"
			r=$((r + 1))
			n=$((n * 2))
		done
	done
	echo "$( (rep x 128; rep y 128) | b64) $r"
} > "$T/long.tiktoken"
echo "{\"text\":\"$(rep x 128)$(rep y 128)z\"}" > "$T/long.jsonl"
run $TOK encode --ids --pattern r50k_base -t "$T/long.tiktoken" "$T/long.jsonl"
[ "$rc" -eq 0 ] && [ "$(cat "$T/out")" = "270 122" ]
ok $? "x^128 y^128 z: x^128 and y^128 merge into their token (got $(cat "$T/out"))"

done_testing

#!/bin/sh
# Loading tokenizers: a .tiktoken file with very long tokens loads in time
# linear in its size, and the splits of long tokens into long tokens are
# all found; the compiled form in the cache is made once, used, checked,
# made again when damaged or when the source changes, safe to write from
# several processes at once, and not taken for another file of the same
# ranks under a name that is not a built-in one.
. tests/tap.sh
TOK=bin/bonsai-tokenize
export BONSAI_CACHE="$T/cache0"

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
[ "$(ls "$T/cache0/tokenizers" | wc -l)" -eq 1 ]
ok $? "only the 1.3 MB file was compiled into the cache, not the small one (< 256 KB)"

# The compiled form in the cache: made on first use, used after, made again
# when damaged or when the source changes.
need_shared
export BONSAI_CACHE="$T/cache"
SRC=$SHARED/fixtures/tokenizers
cp_rw "$SRC/tiktoken/r50k_base.tiktoken" "$T/r50k_base.tiktoken"
head -n 20 "$SRC/cases.jsonl" > "$T/docs.jsonl"
ids() { $TOK encode --ids -t "$1" "$T/docs.jsonl"; }
ids "$T/r50k_base.tiktoken" > "$T/ids1" 2> "$T/err1"
bins() { ls "$BONSAI_CACHE"/tokenizers/*.bin 2>/dev/null | wc -l; }
[ "$(bins)" -eq 1 ] && [ ! -s "$T/err1" ]
ok $? "the first load leaves one compiled tokenizer in \$BONSAI_CACHE/tokenizers"
bin=$(ls "$BONSAI_CACHE"/tokenizers/*.bin)
cp "$bin" "$T/good.bin"
ids "$T/r50k_base.tiktoken" > "$T/ids2" 2> "$T/err2"
cmp -s "$T/ids1" "$T/ids2" && [ ! -s "$T/err2" ] && cmp -s "$bin" "$T/good.bin"
ok $? "the second load (from it) gives the same ids, quietly"

# one byte changed in the middle of the merge table
size=$(wc -c < "$bin")
printf 'Z' | dd of="$bin" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
cmp -s "$bin" "$T/good.bin" && echo "# the byte was already Z"
ids "$T/r50k_base.tiktoken" > "$T/ids3" 2> "$T/err3"
cmp -s "$T/ids1" "$T/ids3" && grep -q "damaged: made again" "$T/err3" && cmp -s "$bin" "$T/good.bin"
ok $? "a damaged compiled tokenizer is noticed, not used, and made again"
sed 's/^/#   /' "$T/err3"
head -c 1000 "$T/good.bin" > "$bin"
ids "$T/r50k_base.tiktoken" > "$T/ids4" 2> "$T/err4"
cmp -s "$T/ids1" "$T/ids4" && grep -q "damaged" "$T/err4" && cmp -s "$bin" "$T/good.bin"
ok $? "so is a truncated one"

# the source changed: " the" (rank 262) and " and" (290) swapped, ids move
awk '{ k[NR] = $1; r[NR] = $2 }
     END { t = k[263]; k[263] = k[291]; k[291] = t; for (i = 1; i <= NR; i++) print k[i], r[i] }' \
	"$SRC/tiktoken/r50k_base.tiktoken" > "$T/r50k_base.tiktoken"
ids "$T/r50k_base.tiktoken" > "$T/ids5" 2> "$T/err5"
BONSAI_CACHE="$T/fresh" $TOK encode --ids -t "$T/r50k_base.tiktoken" "$T/docs.jsonl" > "$T/ids5-parsed" 2>&1
! cmp -s "$T/ids1" "$T/ids5" && cmp -s "$T/ids5" "$T/ids5-parsed" && [ "$(bins)" -eq 2 ]
ok $? "a changed source is compiled again: its ids, not the old compiled ones"

# writers at once: every one succeeds, one whole file, no temporary left
rm -rf "$BONSAI_CACHE"
for i in 1 2 3 4; do
	$TOK info "$SRC/tiktoken/r50k_base.tiktoken" > "$T/info$i" 2> "$T/infoerr$i" &
done
wait
same=0
for i in 2 3 4; do cmp -s "$T/info1" "$T/info$i" || same=1; done
[ $same -eq 0 ] && [ -s "$T/info1" ] && [ "$(bins)" -eq 1 ] &&
	[ "$(ls "$BONSAI_CACHE/tokenizers" | wc -l)" -eq 1 ] && ! grep -q . "$T"/infoerr*
ok $? "four loads at once write one compiled tokenizer, no temporary files, no notes"
$TOK info "$SRC/tiktoken/r50k_base.tiktoken" > "$T/info5" 2> "$T/infoerr5"
cmp -s "$T/info1" "$T/info5" && [ ! -s "$T/infoerr5" ]
ok $? "and it loads quietly afterwards"

# The name of a .tiktoken picks its pattern: the same ranks under another
# name, once r50k_base's compiled form is in the cache, are not loaded
# from it as r50k_base (they want --pattern, as with an empty cache)
mkdir "$T/tt" && cp "$SRC/tiktoken/r50k_base.tiktoken" "$T/tt/" && cp "$T/tt/r50k_base.tiktoken" "$T/tt/mine.tiktoken"
$TOK info "$T/tt/r50k_base.tiktoken" > /dev/null
run $TOK info "$T/tt/mine.tiktoken"
fails_with 1 'mine.tiktoken: not a built-in encoding' "r50k_base's ranks as mine.tiktoken, r50k_base compiled in the cache: refused, wanting its pattern"

# Gemma 3 from its compiled form: the same ids as parsed, for the cases
# and FineWeb-like text
BONSAI_CACHE="$T/g" $TOK encode --ids -t "$SRC/gemma3/tokenizer.json" "$SRC/cases.jsonl" > "$T/g1"
BONSAI_CACHE="$T/g" $TOK encode --ids -t "$SRC/gemma3/tokenizer.json" "$SRC/cases.jsonl" > "$T/g2"
[ -s "$T/g1" ] && cmp -s "$T/g1" "$T/g2" && [ "$(ls "$T/g/tokenizers" | wc -l)" -eq 1 ]
ok $? "gemma3: the 324 cases give the same ids parsed and compiled"

done_testing

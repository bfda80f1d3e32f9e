#!/bin/sh
# bonsai-shard: token stream -> shards -> token stream is lossless, for
# every combination of shard size, split and compression.
. tests/tap.sh

# 200 documents of varied lengths (0 to ~300 tokens), ids < 50000, made
# with awk so the expected stream does not come from the code under test.
awk 'BEGIN { srand(7); for (d = 0; d < 200; d++) { n = int(rand() * 300); if (d == 5) n = 0;
	line = ""; for (i = 0; i < n; i++) line = line (i ? " " : "") int(rand() * 50000); print line } }' >"$T/ids"
$TOOLS/mkstream 50000 abcdef0123456789 1 2 <"$T/ids" >"$T/stream"

for zopt in "" "--zstd=9"; do
	for size in 97 1000 1000000; do
		d="$T/s$size$zopt"
		run bin/bonsai-shard -o "$d" -n $size $zopt "$T/stream"
		ok $rc "write: -n $size $zopt"
		bin/bonsai-shard cat "$d" >"$T/back"
		cmp -s "$T/stream" "$T/back"
		ok $? "cat gives back the identical stream: -n $size $zopt"
	done
done

# Shards hold exactly the tokens, none lost or added: count them with awk.
want=$(awk '{ n += NF } END { print n }' "$T/ids")
got=$(bin/bonsai-shard info "$T/s97"/train_*.bin | sed 's/.*"tokens": \([0-9]*\).*/\1/' | awk '{ n += $1 } END { print n }')
[ "$want" = "$got" ]
ok $? "info: token counts add up to the input's ($want)"
[ "$(ls "$T/s97"/train_*.bin | wc -l)" -eq $(( (want + 96) / 97 )) ]
ok $? "-n 97 makes ceil(tokens/97) shards"
bin/bonsai-shard info "$T/s97/train_000001.bin" | grep -q '"continues": true'
ok $? "a document cut by a shard boundary is marked as continuing"

# Uncompressed shards are the header then the tokens as 2-byte LE words.
first=$(head -n 1 "$T/ids" | awk '{ print $1 }')
b=$(od -A n -t u2 -j 128 -N 2 "$T/s1000000/train_000000.bin" | tr -d ' ')
[ "$b" = "$first" ]
ok $? "uncompressed shard: tokens start at byte 128 ($first)"

# Validation split by document, deterministic.
run bin/bonsai-shard -o "$T/v1" --val-docs 10 "$T/stream"
ok $rc "--val-docs 10"
docs=$(bin/bonsai-shard info "$T/v1"/val_*.bin | sed 's/.*"docs": \([0-9]*\).*/\1/')
[ "$docs" = 10 ]
ok $? "val split holds the first 10 documents (one of them empty)"
head -n 10 "$T/ids" | $TOOLS/mkstream 50000 abcdef0123456789 1 2 >"$T/val_want"
bin/bonsai-shard cat "$T/v1"/val_*.bin >"$T/val_got"
cmp -s "$T/val_want" "$T/val_got"
ok $? "val shards hold exactly the first 10 documents"
bin/bonsai-shard -q -o "$T/f1" --val-fraction 0.25 "$T/stream"
bin/bonsai-shard -q -o "$T/f2" --val-fraction 0.25 "$T/stream"
cmp -s "$T/f1/manifest" "$T/f2/manifest"
ok $? "--val-fraction: the same input gives the same split"
vd=$(bin/bonsai-shard info "$T/f1"/val_*.bin | sed 's/.*"docs": \([0-9]*\).*/\1/')
[ "$vd" -gt 25 ] && [ "$vd" -lt 75 ]
ok $? "--val-fraction 0.25 puts about a quarter of 200 documents in val ($vd)"

# A validation split that takes every document leaves no train split: a set
# bonsai-eval ppl can read, so kept (exit 0), but said at once (bonsai-train
# only said "no train shards" later)
run bin/bonsai-shard -q -o "$T/allval" --val-docs 100000 "$T/stream"
[ "$rc" -eq 0 ] && [ -z "$(ls "$T/allval" | grep train_)" ] &&
	grep -qx "bonsai-shard: warning: --val-docs 100000 takes all 200 documents: the train split is empty" "$T/err"
ok $? "--val-docs past the documents: exit 0, a warning naming both counts" || diag "exit $rc: $(cat "$T/err")"
run bin/bonsai-shard -q -o "$T/allval1" --val-fraction 1 "$T/stream"
[ "$rc" -eq 0 ] && grep -q "warning: --val-fraction 1 put all 200 documents in the validation split: the train split is empty" "$T/err"
ok $? "--val-fraction 1: the same warning" || diag "exit $rc: $(cat "$T/err")"
# the other way: a fraction too small for so few documents asked for a
# validation split and got none (bonsai-train --eval-every refuses it later)
run bin/bonsai-shard -q -o "$T/noval" --val-fraction 0.0001 "$T/stream"
[ "$rc" -eq 0 ] && [ -z "$(ls "$T/noval" | grep val_)" ] &&
	grep -qx "bonsai-shard: warning: --val-fraction 0.0001 put none of the 200 documents in the validation split: it is empty" "$T/err"
ok $? "--val-fraction too small for the documents: exit 0, a warning" || diag "exit $rc: $(cat "$T/err")"
run bin/bonsai-shard -q -o "$T/v199" --val-docs 199 "$T/stream"
[ "$rc" -eq 0 ] && [ ! -s "$T/err" ]
ok $? "--val-docs 199 of 200: a train split, no warning" || diag "exit $rc: $(cat "$T/err")"

run bin/bonsai-shard verify "$T/s97"
ok $rc "verify accepts a good directory"
grep -q "OK" "$T/out"
ok $? "verify says OK"

# Wider vocabularies use 4-byte tokens.
echo "70000 1 262143" | $TOOLS/mkstream 262144 >"$T/wide"
bin/bonsai-shard -q -o "$T/w" "$T/wide"
bin/bonsai-shard info "$T/w/train_000000.bin" | grep -q '"token_width": 4'
ok $? "vocab 262144 gives 4-byte tokens"
bin/bonsai-shard cat "$T/w" | cmp -s - "$T/wide"
ok $? "4-byte round trip"

# Reads a zstd-compressed stream too.
zstd -q -c "$T/stream" >"$T/stream.zst"
bin/bonsai-shard -q -o "$T/z" "$T/stream.zst" && bin/bonsai-shard cat "$T/z" | cmp -s - "$T/stream"
ok $? "a zstd-compressed token stream is read"

done_testing

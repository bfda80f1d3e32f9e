#!/bin/sh
# bonsai-train and tokenizers with more entries than the model's vocabulary
# (Gemma 3's tokenizer.json has 262,145 for a 262,144-row embedding): the
# data is accepted when every id fits the model, refused when one does not.
. tests/tap.sh
need_shared
CFG=$SHARED/fixtures/gemma3_tiny/config.json   # vocab_size 512
export OMP_NUM_THREADS=1

awk 'BEGIN { srand(5); for (d = 0; d < 40; d++) { l = ""; for (i = 0; i < 64; i++) l = l (i ? " " : "") int(rand() * 512); print l } }' >"$T/ids"
$TOOLS/mkstream 600 <"$T/ids" | bin/bonsai-shard -q -o "$T/fits" --val-docs 4
run bin/bonsai-train --data "$T/fits" --model "$CFG" -o "$T/r1" --steps 1 --seq 16 --batch-tokens 32 \
	--device cpu -q
ok $rc "a 600-token tokenizer's shards train a 512-token model when all ids are below 512"

(cat "$T/ids"; echo "1 2 550 3") | $TOOLS/mkstream 600 | bin/bonsai-shard -q -o "$T/over"
run bin/bonsai-train --data "$T/over" --model "$CFG" -o "$T/r2" --steps 1 --seq 16 --batch-tokens 32 \
	--device cpu -q
fails_with 1 "token id 550 is outside the model's vocabulary of 512" "an id outside the model is refused by name"
[ ! -e "$T/r2" ] || [ -z "$(ls -A "$T/r2")" ]
ok $? "and no run directory content is written"
done_testing

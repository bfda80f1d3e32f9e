#!/bin/sh
# Training on real text (tinyshakespeare): the first loss is about
# ln(vocabulary), as for a fresh model, and the validation loss falls below
# the unigram entropy of the text's tokens (the best loss without context).
# Tokenized with our BPE (bonsai-tokenize train, vocabulary 512), or at the
# byte level when that is not available. Also the vocabulary check.
. tests/train-common.sh
train_setup
if bin/bonsai-tokenize train --help > /dev/null 2>&1; then
	V=512 STEPS=120 LR=4e-3 how="our BPE, 512 tokens"
	make_bpe_shards "$T/data" 300000 50 $V
else
	V=256 STEPS=80 LR=3e-3 how="bytes (bonsai-tokenize train not available)"
	make_byte_shards "$T/data" 300000 50
fi
ok $? "shards of tinyshakespeare: $how" || { done_testing; exit 1; }
H=$(unigram_entropy "$T/data.work/ids")
write_small_config "$T/small.json" $V

bin/bonsai-train --data "$T/data" --model "$T/small.json" -o "$T/run" --steps $STEPS --seq 64 \
	--batch-tokens 512 --lr $LR --warmup 5 --eval-every $((STEPS / 2)) --eval-tokens 4096 \
	--save-every 0 --device cpu -q > "$T/log" 2> "$T/err"
rc=$?
[ $rc -eq 0 ]
ok $? "$STEPS steps" || diag "exit $rc $(cat "$T/err")"

first=$(losses "$T/log" | head -1)
[ -n "$first" ] && awk -v x="$first" -v v=$V 'BEGIN { exit !(x + 0 > log(v) - 0.25 && x + 0 < log(v) + 0.25) }'
ok $? "first loss $first is about ln($V)"
v1=$(grep val_loss "$T/log" | head -1 | sed 's/.*"val_loss":\([^,]*\),.*/\1/')
v2=$(grep val_loss "$T/log" | tail -1 | sed 's/.*"val_loss":\([^,]*\),.*/\1/')
[ -n "$v1" ] && [ -n "$v2" ] && awk -v a="$v1" -v b="$v2" -v h="$H" 'BEGIN { exit !(b + 0 < a + 0 && b + 0 < h - 0.2) }'
ok $? "validation loss falls: $v1 -> $v2, below the unigram entropy $H"

all=1
for k in step tokens loss lr grad_norm tokens_per_s ms; do
	head -1 "$T/log" | grep -q "\"$k\":" || all=0
done
[ $all = 1 ]
ok $? "step lines have step, tokens, loss, lr, grad_norm, tokens_per_s, ms" || diag "step line: $(head -1 "$T/log")"

# A model whose vocabulary is smaller than the shards' tokenizer is refused.
write_small_config "$T/small-vocab.json" 200
bin/bonsai-train --data "$T/data" --model "$T/small-vocab.json" -o "$T/run2" --steps 2 --seq 64 \
	--batch-tokens 512 --device cpu -q > /dev/null 2> "$T/err"
rc=$?
[ $rc -eq 1 ] && grep -q "outside the model.s vocabulary of 200 (the shards. tokenizer has $V tokens)" "$T/err"
ok $? "vocabulary 200 < $V refused: $(cat "$T/err")" || diag "exit $rc"

# A preset takes its vocabulary from the shards.
bin/bonsai-train --data "$T/data" --model tiny -o "$T/run3" --steps 1 --seq 32 \
	--batch-tokens 64 --device cpu -q > /dev/null 2> "$T/err" &&
	grep -q "\"vocab_size\": $V" "$T/run3/config.json"
ok $? "preset tiny sized to the shards' vocabulary" || diag "$(cat "$T/err")"
done_testing

#!/bin/sh
# Checkpoints: 20 steps straight equal 10 + --resume 10, bit for bit; stops
# by --stop-at and SIGTERM save and exit 0 (with --no-save, without a
# checkpoint); only the newest K are kept;
# corrupted and truncated checkpoints are refused, and so is a --model that
# is not the resumed run's; export (-f not onto a run) and --init.
. tests/train-common.sh
train_setup
make_byte_shards "$T/data" 100000 20 || { ok 1 "making shards"; done_testing; exit 1; }
write_small_config "$T/small.json"
# 2 micro-batches per step, so accumulation is resumed too.
A="--data $T/data --model $T/small.json --steps 20 --seq 32 --batch-tokens 256 --micro-batch 4
   --lr 3e-3 --warmup 5 --device cpu -q"

bin/bonsai-train $A -o "$T/a" --save-every 0 > "$T/a.log" 2> "$T/err" &&
	[ "$(wc -l < "$T/a.log")" -eq 20 ]
ok $? "20 steps straight" || diag "straight run: $(cat "$T/err")"
bin/bonsai-train $A -o "$T/b" --save-every 0 --stop-at 10 > "$T/b.log" 2> "$T/err"
rc=$?
[ $rc -eq 0 ] && [ "$(wc -l < "$T/b.log")" -eq 10 ] && [ -f "$T/b/ckpt-00000010.safetensors" ]
ok $? "--stop-at 10 saves and exits 0" || diag "stop-at: exit $rc"
# --no-save (make run's burst, which only measures the speed): the steps
# and their lines, no checkpoint at --stop-at or at a signal, even with a
# --save-every given before it (as in the stage's command)
bin/bonsai-train $A -o "$T/ns" --save-every 2 --stop-at 5 --no-save > "$T/ns.log" 2> "$T/err"
rc=$?
[ $rc -eq 0 ] && [ "$(wc -l < "$T/ns.log")" -eq 5 ] && [ -f "$T/ns/config.json" ] &&
	! ls "$T/ns" | grep -q '^ckpt-' && ! grep -q saved "$T/err"
ok $? "--no-save: 5 steps, exit 0, no checkpoint written" || diag "exit $rc: $(ls "$T/ns"; cat "$T/err")"
bin/bonsai-train $A -o "$T/ns2" --no-save --steps 100000 > "$T/ns2.log" 2> "$T/err" &
p=$!
wait_lines "$T/ns2.log" 2
kill -TERM $p
wait $p
rc=$?
[ $rc -eq 0 ] && grep -q "stopped by signal 15" "$T/err" && ! ls "$T/ns2" | grep -q '^ckpt-'
ok $? "--no-save stopped by SIGTERM: exit 0, no checkpoint" || diag "exit $rc: $(ls "$T/ns2"; cat "$T/err")"
# make run's burst (mk/train.sh with BURST_STEPS 2) measures the speed in
# a scratch folder before training: what the folder holds when the burst's
# trainer ends (a gemma3-1b checkpoint is 12 GB, written to be deleted)
mkdir -p "$T/mk/shards"
cp "$T/data/manifest" "$T/mk/shards/"
cat > "$T/watch.sh" <<EOF
"\$@"; rc=\$?
case " \$* " in *" -o $T/mk/train-burst "*) ls "$T/mk/train-burst" > "$T/burst.ls" ;; esac
exit \$rc
EOF
run sh mk/train.sh "$T/mk" 2 sh "$T/watch.sh" bin/bonsai-train $A --save-every 2 -o "$T/mk/train"
[ "$rc" -eq 0 ] && [ -s "$T/burst.ls" ] && ! grep -q '^ckpt-' "$T/burst.ls" && [ ! -e "$T/mk/train-burst" ] &&
	grep -q "tokens/s over a 2-step burst" "$T/mk/train/estimate.txt" &&
	grep -q "ckpt-00000020" "$T/mk/train/checkpoint.sha256"
ok $? "make run's burst writes no checkpoint, then the run trains to its end" ||
	diag "exit $rc: $(cat "$T/burst.ls" "$T/err")"
bin/bonsai-train $A -o "$T/b" --resume >> "$T/b.log" 2> "$T/err"
losses "$T/a.log" > "$T/a.loss"
losses "$T/b.log" > "$T/b.loss"
[ "$(wc -l < "$T/b.loss")" -eq 20 ] && cmp -s "$T/a.loss" "$T/b.loss"
ok $? "10 + resume 10 = 20 straight: identical losses" ||
	diag "resumed losses differ" "$(diff "$T/a.loss" "$T/b.loss")"
cmp -s "$T/a/ckpt-00000020.safetensors" "$T/b/ckpt-00000020.safetensors"
ok $? "and identical final checkpoints (params, AdamW state, position)" || diag "final checkpoints differ"

# A plain --resume goes on with the run's optimizer options and seed, not
# the defaults: 10 + 10 equal 20 straight, with no warning of changed options.
O="$A --clip 0.3 --weight-decay 0.05 --beta1 0.8 --beta2 0.99 --eps 1e-6 --seed 7 --save-every 0"
bin/bonsai-train $O -o "$T/o1" > "$T/o1.log" 2> /dev/null
bin/bonsai-train $O -o "$T/o2" --stop-at 10 > "$T/o2.log" 2> /dev/null
bin/bonsai-train --data "$T/data" --device cpu -q -o "$T/o2" --resume >> "$T/o2.log" 2> "$T/err"
losses "$T/o1.log" > "$T/o1.loss"
losses "$T/o2.log" > "$T/o2.loss"
[ "$(wc -l < "$T/o2.loss")" -eq 20 ] && cmp -s "$T/o1.loss" "$T/o2.loss" &&
	cmp -s "$T/o1/ckpt-00000020.safetensors" "$T/o2/ckpt-00000020.safetensors" &&
	! grep -q 'other options\|ignored' "$T/err"
ok $? "--resume alone keeps --clip, --weight-decay, --beta1/2, --eps and --seed of the run" ||
	diag "$(diff "$T/o1.loss" "$T/o2.loss" | head -4)" "$(cat "$T/err")"

# The step's batch is the run's; the micro-batch may change on resume (the
# GPU's default depends on its free memory): 2 x 4 passes instead of 4 x 2
# change the losses only by the order of sums.
mkdir -p "$T/mb"
cp "$T/b/ckpt-00000010.safetensors" "$T/mb/"
bin/bonsai-train $A -o "$T/mb" --resume --micro-batch 2 > "$T/mb.log" 2> "$T/err"
rc=$?
losses "$T/mb.log" > "$T/mb.loss"
worst=$(sed -n '11,20p' "$T/a.loss" | paste -d' ' - "$T/mb.loss" |
	awk '{ d = $1 - $2; if (d < 0) d = -d; if (d > m) m = d } END { print m + 0 }')
[ $rc -eq 0 ] && [ "$(wc -l < "$T/mb.loss")" -eq 10 ] && awk -v w="$worst" 'BEGIN { exit !(w < 1e-4) }' &&
	grep -q 'micro_batch\\"*:2,' "$T/mb/ckpt-00000020.safetensors"
ok $? "resume with --micro-batch 2 instead of 4: 10 more steps, losses within 1e-4 of straight ($worst), recorded" ||
	diag "exit $rc: $(cat "$T/err")"
bin/bonsai-train $A -o "$T/mb" --resume --steps 30 --batch-tokens 512 > /dev/null 2> "$T/err"
rc=$?
[ $rc -eq 1 ] && grep -q -- "--batch-tokens 512 differ" "$T/err"
ok $? "resume with another --batch-tokens is refused" || diag "exit $rc: $(cat "$T/err")"

bin/bonsai-train $A -o "$T/b" --steps 20 > /dev/null 2> "$T/err"
rc=$?
[ $rc -eq 1 ] && grep -q "already has checkpoints" "$T/err"
ok $? "a run directory with checkpoints needs --resume" || diag "exit $rc"

# Keep the newest 2 of checkpoints every 3 steps.
bin/bonsai-train $A -o "$T/k" --save-every 3 --keep 2 > /dev/null 2>&1
ls "$T/k" | grep ckpt > "$T/k.ls"
[ "$(cat "$T/k.ls" | tr '\n' ' ')" = "ckpt-00000018.safetensors ckpt-00000020.safetensors " ]
ok $? "--keep 2 keeps the newest two" || diag "kept: $(cat "$T/k.ls")"

# SIGTERM: a long run is stopped, saves, exits 0, and resumes.
bin/bonsai-train $A -o "$T/s" --steps 100000 --save-every 0 > "$T/s.log" 2> "$T/s.err" &
pid=$!
wait_lines "$T/s.log" 3
kill -TERM $pid
wait $pid
rc=$?
n=$(ls "$T/s" | grep -c ckpt)
[ $rc -eq 0 ] && [ "$n" -eq 1 ] && grep -q "stopped by signal" "$T/s.err"
ok $? "SIGTERM saves a checkpoint and exits 0" || diag "SIGTERM: exit $rc, $n checkpoints"

# A corrupted checkpoint (one byte of the parameters changed) is refused.
cp "$T/b/ckpt-00000020.safetensors" "$T/c.st"
mkdir "$T/c"
size=$(wc -c < "$T/c.st")
{ head -c $((size - 100)) "$T/c.st"; printf 'X'; tail -c 99 "$T/c.st"; } > "$T/c/ckpt-00000020.safetensors"
bin/bonsai-train $A -o "$T/c" --resume --steps 30 > /dev/null 2> "$T/err"
rc=$?
[ $rc -eq 1 ] && grep -q "checksum mismatch" "$T/err"
ok $? "corrupted checkpoint refused: $(cat "$T/err")" || diag "exit $rc $(cat "$T/err")"
head -c $((size / 2)) "$T/c.st" > "$T/c/ckpt-00000020.safetensors"
bin/bonsai-train $A -o "$T/c" --resume --steps 30 > /dev/null 2> "$T/err"
rc=$?
[ $rc -eq 1 ] && grep -q "truncated" "$T/err"
ok $? "truncated checkpoint refused: $(cat "$T/err")" || diag "exit $rc $(cat "$T/err")"
bin/bonsai-train export "$T/c" -o "$T/cx" 2> "$T/err"
rc=$?
[ $rc -eq 1 ] && [ ! -e "$T/cx/model.safetensors" ]
ok $? "export refuses it too" || diag "export of a truncated checkpoint: exit $rc"

# Export of a run, and --init from the export gives the same start.
bin/bonsai-train export "$T/a" -o "$T/x" 2> "$T/err" && [ -f "$T/x/model.safetensors" ] &&
	grep -q '"num_hidden_layers": 2' "$T/x/config.json"
ok $? "export RUN writes config.json and model.safetensors" || diag "export: $(cat "$T/err")"
bin/bonsai-train export "$T/a/ckpt-00000020.safetensors" -o "$T/x2" 2> /dev/null &&
	cmp -s "$T/x/model.safetensors" "$T/x2/model.safetensors"
ok $? "export CHECKPOINT = export RUN" || diag "exports differ"
# Steps 21..22 from --init equal a straight continuation only in weights, not
# AdamW state, so compare the first loss with the last straight one instead:
# the init model's loss on its first batch must be far below ln(256).
bin/bonsai-train --data "$T/data" --init "$T/x" -o "$T/i" --steps 1 --seq 32 --batch-tokens 256 \
	--lr 0 --device cpu -q > "$T/i.log" 2> "$T/err"
l=$(losses "$T/i.log")
[ -n "$l" ] && awk -v x="$l" 'BEGIN { exit !(x + 0 < 4.0) }'
ok $? "--init from an export starts trained (loss $l)" || diag "--init: loss '$l' $(cat "$T/err")"
bin/bonsai-train export "$T/x" -o "$T/x3" 2> /dev/null &&
	cmp -s "$T/x/model.safetensors" "$T/x3/model.safetensors"
ok $? "export of an export is the same file" || diag "re-export differs"
# -f replaces an earlier export, not a run: -o naming the run being
# exported (a slip for models/r1) removed its checkpoints, exit 0
ls "$T/a" > "$T/a.ls"
run bin/bonsai-train export "$T/a" -o "$T/a" -f
fails_with 1 "$T/a: a run folder with checkpoints \($T/a/ckpt-00000020.safetensors\): -f replaces only an earlier export" \
	"export -f onto the run itself: refused"
ls "$T/a" | cmp -s - "$T/a.ls"
ok $? "and the run is untouched" || diag "$(ls "$T/a")"
: > "$T/afile"
run bin/bonsai-train export "$T/a" -o "$T/afile" -f
fails_with 1 "afile: not a folder" "export -f onto a file: says so (it said 'use -f')"
run bin/bonsai-train export "$T/x3" -o "$T/x3" -f --dtype bf16
[ "$rc" -eq 0 ] && grep -q bfloat16 "$T/x3/config.json"
ok $? "an export re-exported in place with -f" || diag "exit $rc: $(cat "$T/err")"

# Across epoch boundaries: 3 KB of text is about 90 windows of 33 tokens, so
# 20 steps of 8 sequences wrap the data twice; resume in the middle.
make_byte_shards "$T/tinydata" 3000 2 > /dev/null 2>&1
B="--data $T/tinydata --model $T/small.json --steps 20 --seq 32 --batch-tokens 256 --micro-batch 4
   --lr 3e-3 --warmup 5 --device cpu -q --save-every 0"
bin/bonsai-train $B -o "$T/e1" > "$T/e1.log" 2> /dev/null
bin/bonsai-train $B -o "$T/e2" --stop-at 13 > "$T/e2.log" 2> /dev/null
bin/bonsai-train $B -o "$T/e2" --resume >> "$T/e2.log" 2> /dev/null
losses "$T/e1.log" > "$T/e1.loss"
losses "$T/e2.log" > "$T/e2.loss"
[ "$(wc -l < "$T/e1.loss")" -eq 20 ] && cmp -s "$T/e1.loss" "$T/e2.loss" &&
	cmp -s "$T/e1/ckpt-00000020.safetensors" "$T/e2/ckpt-00000020.safetensors"
ok $? "exact resume across epochs of a tiny data set" || diag "epoch resume differs"

# A resume goes on with its checkpoint's model: a --model of other shapes
# (or another window) is refused, not trained as if it were the run's.
ls "$T/e2" > "$T/e2.ls"
run bin/bonsai-train $B -o "$T/e2" --resume --steps 22 --model tiny
fails_with 1 "--model tiny \(d 128, 4 layers.*\) is not the model of $T/e2/ckpt-00000020.safetensors \(d 64, 2 layers" \
	"--resume with a --model of other shapes: refused, both named"
sed 's/"sliding_window": 16/"sliding_window": 8/' "$T/small.json" > "$T/small8.json"
run bin/bonsai-train $B -o "$T/e2" --resume --steps 22 --model "$T/small8.json"
fails_with 1 "window 8, .* is not the model of .*window 16" "--resume with another window: refused"
ls "$T/e2" | cmp -s - "$T/e2.ls" && [ ! -s "$T/out" ]
ok $? "and nothing trained or saved" || diag "$(ls "$T/e2")"

# The CPU backend's results do not depend on the thread count.
OMP_NUM_THREADS=2 bin/bonsai-train $B -o "$T/th2" --steps 20 --stop-at 4 > /dev/null 2>&1
OMP_NUM_THREADS=1 bin/bonsai-train $B -o "$T/th1" --steps 20 --stop-at 4 > /dev/null 2>&1
[ -f "$T/th1/ckpt-00000004.safetensors" ] &&
	cmp -s "$T/th1/ckpt-00000004.safetensors" "$T/th2/ckpt-00000004.safetensors"
ok $? "1 and 2 threads give the same checkpoint, bit for bit" || diag "thread count changes results"
done_testing

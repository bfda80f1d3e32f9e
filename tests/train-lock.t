#!/bin/sh
# One bonsai-train at a time writes a run directory: a second one started
# on a run being trained (fresh or --resume, or with --gpus) is refused at
# once, naming the first's pid, and changes nothing there; once the first
# has ended (even killed: a .lock left behind locks nothing) the run
# resumes. make run's train stage does not delete a run folder that a
# bonsai-train is writing.
. tests/tap.sh
. tests/train-common.sh
train_setup

make_byte_shards "$T/data" 60000 10 > /dev/null 2>&1 || skip_all "cannot make shards"
write_small_config "$T/small.json"
A="--data $T/data --model $T/small.json --seq 32 --batch-tokens 256 --micro-batch 2
   --lr 3e-3 --warmup 5 --device cpu --eval-every 0 --save-every 2"
R=$T/run

# the first run, slowed to a step at a time by SIGSTOP once it has saved
bin/bonsai-train $A --steps 100000 -o "$R" > "$T/first.log" 2> "$T/first.err" &
first=$!
i=0
while ! ls "$R" 2> /dev/null | grep -q '^ckpt-' && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
kill -STOP $first
ls "$R" > "$T/before"
sum_before=$(cat "$R"/ckpt-* | sha256sum)

run bin/bonsai-train $A --steps 100000 --stop-at 3 -o "$R" --resume
fails_with 1 "$R: another bonsai-train \\(pid $first\\) is writing this run" \
	"--resume on a run being trained: exit 1, the other's pid named"
run bin/bonsai-train $A --steps 100000 --stop-at 3 -o "$R"
fails_with 1 "another bonsai-train \\(pid $first\\) is writing this run" \
	"a fresh start in that folder: refused the same way (not 'already has checkpoints')"
run bin/bonsai-train $A --steps 100000 --stop-at 3 -o "$R" --resume --gpus 2
fails_with 1 "another bonsai-train \\(pid $first\\) is writing this run" "and with --gpus 2"
ls "$R" | cmp -s - "$T/before" && [ "$(cat "$R"/ckpt-* | sha256sum)" = "$sum_before" ] &&
	[ ! -s "$T/out" ]
ok $? "nothing in the run folder changed, no metrics written"

# make run's train stage, on a folder being trained with other settings
# (it would start over: rm -rf)
mkdir -p "$T/mk/shards"
cp "$T/data/manifest" "$T/mk/shards/manifest"
mv "$R" "$T/mk/train"
run sh mk/train.sh "$T/mk" 0 bin/bonsai-train $A --steps 7 -o "$T/mk/train"
[ "$rc" -ne 0 ] && grep -q "is being written by another process" "$T/err" && [ -d "$T/mk/train" ] &&
	ls "$T/mk/train" | cmp -s - "$T/before"
ok $? "mk/train.sh does not delete a run folder being trained (exit $rc)" || diag "$(cat "$T/err")"
mv "$T/mk/train" "$R"

kill -CONT $first
kill -9 $first
wait $first 2> /dev/null
[ -e "$R/.lock" ]
ok $? "the first run killed: its .lock is left behind"
run bin/bonsai-train $A --steps 8 -o "$R" --resume
[ "$rc" -eq 0 ] && [ -f "$R/ckpt-00000008.safetensors" ]
ok $? "and locks nothing: --resume goes on to the end (exit $rc)" || diag "$(tail -n 3 "$T/err")"

done_testing

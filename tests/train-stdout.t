#!/bin/sh
# bonsai-train's metrics on standard output that cannot be written (the
# reader of a pipe gone: | head, a tee ended by the Ctrl-C that asks for a
# save; a full disk) stop the run after a saved step, exit 1, naming
# standard output and the step from which the metrics are missing; it was
# killed by SIGPIPE (or died at the write) with its steps since the last
# checkpoint lost.
. tests/train-common.sh
train_setup

make_byte_shards "$T/data" 60000 10 > /dev/null 2>&1 || skip_all "cannot make shards"
write_small_config "$T/small.json"
A="--data $T/data --model $T/small.json --seq 32 --batch-tokens 256 --micro-batch 2
   --lr 3e-3 --warmup 5 --device cpu -q --save-every 1000"

# ckpt_step RUN: the step of RUN's newest checkpoint (empty when none)
ckpt_step() {
	ls "$1" | sed -n 's/^ckpt-0*\([0-9][0-9]*\)\.safetensors$/\1/p' | tail -1
}

{ bin/bonsai-train $A --steps 100000 -o "$T/p"; echo $? > "$T/p.rc"; } 2> "$T/err" | head -1 > "$T/p.head"
rc=$(cat "$T/p.rc")
n=$(ckpt_step "$T/p")
[ "$rc" -eq 1 ] && grep -q '"step":1,' "$T/p.head" && [ -n "$n" ] &&
	grep -q "standard output: write failed: Broken pipe: the metrics from step [0-9]* on were not written; the run stopped after step $n, which is saved" "$T/err"
ok $? "| head -1: exit 1, the run saved at the step it stopped after, standard output named" ||
	diag "exit $rc, checkpoint step '$n': $(cat "$T/err")"
bin/bonsai-train $A --steps $((n + 2)) -o "$T/p" --resume > "$T/p2.log" 2> "$T/err"
rc=$?
[ $rc -eq 0 ] && head -1 "$T/p2.log" | grep -q "\"step\":$((n + 1)),"
ok $? "--resume goes on from that checkpoint" || diag "exit $rc: $(cat "$T/err")"

bin/bonsai-train $A --steps 100000 -o "$T/f" > /dev/full 2> "$T/err"
rc=$?
[ "$rc" -eq 1 ] && [ "$(ckpt_step "$T/f")" = 2 ] &&
	grep -q "No space left on device: the metrics from step 1 on were not written; the run stopped after step 2" "$T/err"
ok $? "> /dev/full: the first line fails, the run stops after the next step, saved" ||
	diag "exit $rc: $(ls "$T/f"; cat "$T/err")"
bin/bonsai-train $A --steps 100000 -o "$T/n" --no-save > /dev/full 2> "$T/err"
rc=$?
[ "$rc" -eq 1 ] && [ -z "$(ckpt_step "$T/n")" ] && grep -q "after step 2 (--no-save: no checkpoint)" "$T/err"
ok $? "--no-save: the same stop, no checkpoint, said" || diag "exit $rc: $(cat "$T/err")"
done_testing

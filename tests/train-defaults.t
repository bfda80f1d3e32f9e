#!/bin/sh
# Defaults that fit the device and the run, --resume as schedulers use it
# (one command line for the first start and every requeue, the run's own
# options when none are given), and signals: a first one stops after the
# step, a second one at once, SIGUSR1 like SIGTERM.
. tests/train-common.sh
train_setup
echo 1..16
make_byte_shards "$T/data" 100000 20 || { echo "not ok 1 - making shards"; exit 0; }
write_small_config "$T/small.json"
D="--data $T/data --device cpu -q"

# The CPU's defaults: 8192 tokens a step of 256-token sequences (the GPU's
# 524288 of 1024 take minutes a step there).
timeout 120 bin/bonsai-train $D --model "$T/small.json" -o "$T/cpu" --steps 1 > "$T/cpu.log" 2> "$T/err"
grep -q '"tokens":8192,' "$T/cpu.log" && grep -q "T=256 " "$T/err" &&
	echo "ok 1 - CPU defaults: 8192 tokens a step, 256-token sequences" ||
	echo "not ok 1 - CPU defaults: $(cat "$T/cpu.log" "$T/err")"

# --warmup defaults to a tenth of a short run: 40 steps warm up for 4, then
# decay (the old default warmed up over the whole run).
S="--seq 32 --batch-tokens 128"
bin/bonsai-train $D $S --model "$T/small.json" -o "$T/w" --steps 40 > "$T/w.log" 2> "$T/err"
lr() { sed -n "$1p" "$T/w.log" | sed 's/.*"lr":\([^,]*\),.*/\1/'; }
[ "$(lr 4)" = "0.0003" ] && [ "$(lr 3)" = "0.000225" ] &&
	awk -v a="$(lr 40)" -v b="$(lr 4)" 'BEGIN { exit !(a < b) }' &&
	echo "ok 2 - --warmup default: steps/10 (4 of 40), then the decay" ||
	echo "not ok 2 - warmup: lr 3 $(lr 3), 4 $(lr 4), 40 $(lr 40)"

# --resume on a run directory without a checkpoint starts the run.
R="$S --micro-batch 2 --model $T/small.json --lr 3e-3 --save-every 0"
bin/bonsai-train $D $R -o "$T/a" --steps 20 > "$T/a.log" 2> "$T/err"
bin/bonsai-train $D $R -o "$T/b" --steps 20 --resume --stop-at 10 > "$T/b.log" 2> "$T/err"
rc=$?
[ $rc -eq 0 ] && [ -f "$T/b/ckpt-00000010.safetensors" ] && grep -q "no checkpoint yet" "$T/err" &&
	echo "ok 3 - --resume without a checkpoint starts the run" ||
	echo "not ok 3 - --resume on a new run: exit $rc: $(cat "$T/err")"

# A requeue with nothing but --resume continues the exact run: sequence,
# step size, micro-batch and schedule (--steps, the default warmup) from
# the checkpoint.
bin/bonsai-train $D -o "$T/b" --resume >> "$T/b.log" 2> "$T/err"
losses "$T/a.log" > "$T/a.loss"
losses "$T/b.log" > "$T/b.loss"
[ "$(wc -l < "$T/b.loss")" -eq 20 ] && cmp -s "$T/a.loss" "$T/b.loss" &&
	cmp -s "$T/a/ckpt-00000020.safetensors" "$T/b/ckpt-00000020.safetensors" &&
	echo "ok 4 - bare --resume: the run's options, identical losses and checkpoint" ||
	{ echo "not ok 4 - bare --resume: $(cat "$T/err")"; diff "$T/a.loss" "$T/b.loss" | sed 's/^/# /'; }

# A given value that differs from the run's is refused, naming both.
bin/bonsai-train $D -o "$T/b" --resume --steps 30 --seq 64 > /dev/null 2> "$T/err"
rc=$?
[ $rc -eq 1 ] && grep -q -- "--seq 64" "$T/err" && grep -q "(32, 128)" "$T/err" &&
	echo "ok 5 - a different --seq on resume is refused, both values named" ||
	echo "not ok 5 - exit $rc: $(cat "$T/err")"

# Signals during steps of 64 micro-batches (a few hundred ms each).
L="--model $T/small.json --seq 32 --batch-tokens 8192 --micro-batch 4 --steps 100000"
# start NAME EXTRA...: a long run in the background, $pid, once it has done 2 steps
start() {
	name=$1
	shift
	bin/bonsai-train --data "$T/data" --device cpu -q $L -o "$T/$name" "$@" > "$T/$name.log" \
		2> "$T/$name.err" &
	pid=$!
	i=0
	while [ "$(cat "$T/$name.log" 2>/dev/null | wc -l)" -lt 2 ] && [ $i -lt 600 ]; do
		sleep 0.1
		i=$((i + 1))
	done
}
start int --save-every 0
kill -INT $pid
wait $pid
rc=$?
[ $rc -eq 0 ] && grep -q "stopping after this step; again to stop now" "$T/int.err" &&
	[ "$(ls "$T/int" | grep -c ckpt)" -eq 1 ] &&
	echo "ok 6 - a first SIGINT says so, finishes the step, saves, exits 0" ||
	echo "not ok 6 - SIGINT: exit $rc: $(cat "$T/int.err")"

# (steps of over a second; the two signals apart, or the kernel merges them)
start twice --save-every 1 --batch-tokens 65536
sleep 0.3 # past the save after step 2: into step 3
steps=$(wc -l < "$T/twice.log")
kill -INT $pid
sleep 0.2
kill -INT $pid
wait $pid
rc=$?
[ $rc -eq 130 ] && grep -q "stopping now" "$T/twice.err" &&
	[ "$(wc -l < "$T/twice.log")" -le $((steps + 1)) ] &&
	echo "ok 7 - a second SIGINT stops at once (exit 130)" ||
	echo "not ok 7 - two SIGINTs: exit $rc, $steps then $(wc -l < "$T/twice.log") steps: $(cat "$T/twice.err")"
ls "$T/twice" | grep -v -e '^ckpt-[0-9]*\.safetensors$' -e '^config\.json$' > "$T/left"
[ ! -s "$T/left" ] && echo "ok 8 - nothing half-written left behind" ||
	echo "not ok 8 - left behind: $(cat "$T/left")"
last=$(ls "$T/twice" | grep ckpt | tail -1)
bin/bonsai-train --data "$T/data" --device cpu -q -o "$T/twice" --resume --stop-at 100000 \
	--steps 100000 --save-every 0 > "$T/resumed.log" 2> "$T/err" &
pid=$!
# its first step done (a signal before its handlers are in would kill it,
# as on a loaded machine after a fixed sleep)
i=0
while [ ! -s "$T/resumed.log" ] && [ $i -lt 600 ]; do
	sleep 0.1
	i=$((i + 1))
done
kill -TERM $pid
wait $pid
rc=$?
n=$(echo "$last" | sed 's/^ckpt-0*\([0-9][0-9]*\)\.safetensors$/\1/')
first=$(head -1 "$T/resumed.log" | sed 's/^{"step":\([0-9]*\),.*/\1/')
[ $rc -eq 0 ] && [ -n "$last" ] && ! grep -q "checkpoint" "$T/err" &&
	[ "$first" = "$((n + 1))" ] &&
	echo "ok 9 - the newest checkpoint ($last) resumes (at step $first)" ||
	echo "not ok 9 - resuming after two SIGINTs: exit $rc, first step '$first' after $last: $(cat "$T/err")"

start usr1 --save-every 0
kill -USR1 $pid
wait $pid
rc=$?
[ $rc -eq 0 ] && grep -q "stopped by signal" "$T/usr1.err" && [ "$(ls "$T/usr1" | grep -c ckpt)" -eq 1 ] &&
	echo "ok 10 - SIGUSR1 (a scheduler's pre-emption) saves and exits 0, as SIGTERM" ||
	echo "not ok 10 - SIGUSR1: exit $rc: $(cat "$T/usr1.err")"

# A note when the embedding is nearly all of the model, and none otherwise.
write_small_config "$T/wide.json" 16384
bin/bonsai-train $D $S --model "$T/wide.json" -o "$T/wide" --steps 1 > /dev/null 2> "$T/err"
grep -q "note: the embedding (16384 x 64) is 9[0-9]% of the parameters" "$T/err" &&
	echo "ok 11 - a one-line note when the embedding is most of the model" ||
	echo "not ok 11 - no note: $(cat "$T/err")"
bin/bonsai-train $D $S \
	--model "$T/small.json" -o "$T/narrow" --steps 1 > /dev/null 2> "$T/err"
! grep -q "embedding" "$T/err" && echo "ok 12 - and none for a model of layers" ||
	echo "not ok 12 - note on a small vocabulary: $(cat "$T/err")"

# bonsai-eval ppl evaluates at the length the model was trained with (32
# here), from the run directory or the checkpoint; a given --seq-len wins.
bin/bonsai-eval ppl -m "$T/a" --data "$T/data" --device cpu -q > "$T/ppl.json" 2> "$T/err" &&
	bin/bonsai-eval ppl -m "$T/a/ckpt-00000020.safetensors" --data "$T/data" --device cpu -q \
		> "$T/ppl2.json" 2>> "$T/err"
grep -q '"seq_len": 32,' "$T/ppl.json" && grep -q '"seq_len": 32,' "$T/ppl2.json" &&
	echo "ok 13 - eval ppl: --seq-len defaults to the trained length" ||
	echo "not ok 13 - ppl seq_len: $(grep seq_len "$T/ppl.json" "$T/ppl2.json") $(cat "$T/err")"
bin/bonsai-eval ppl -m "$T/a" --data "$T/data" --device cpu -q --seq-len 40 > "$T/ppl3.json" 2> "$T/err"
grep -q '"seq_len": 40,' "$T/ppl3.json" && echo "ok 14 - and a given --seq-len wins" ||
	echo "not ok 14 - --seq-len 40: $(cat "$T/ppl3.json" "$T/err")"
bin/bonsai-train export "$T/a" -o "$T/exp" 2> "$T/err" &&
	bin/bonsai-eval ppl -m "$T/exp" --data "$T/data" --device cpu -q > "$T/ppl4.json" 2>> "$T/err"
grep -q '"seq_len": 32,' "$T/ppl4.json" && [ "$(grep '"loss"' "$T/ppl.json")" = "$(grep '"loss"' "$T/ppl4.json")" ] &&
	echo "ok 15 - an export keeps the trained length: the same perplexity as its checkpoint" ||
	echo "not ok 15 - export: $(cat "$T/ppl4.json" "$T/err")"

# Only the global batch is the run's: another --micro-batch on --resume
# splits the same steps differently (run b: 2 a step, saved at 10 and 20).
mkdir "$T/mb" && cp "$T/b/ckpt-00000010.safetensors" "$T/b/config.json" "$T/mb/"
bin/bonsai-train $D -o "$T/mb" --resume --micro-batch 1 > "$T/mb.log" 2> "$T/err"
rc=$?
[ $rc -eq 0 ] && [ "$(wc -l < "$T/mb.log")" -eq 10 ] && grep -q "B=1 T=32 accum=4" "$T/err" &&
	[ -f "$T/mb/ckpt-00000020.safetensors" ] &&
	echo "ok 16 - a different --micro-batch on --resume is taken, the rest from the run" ||
	echo "not ok 16 - --micro-batch on resume: exit $rc: $(cat "$T/err")"

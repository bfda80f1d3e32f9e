#!/bin/sh
# Data-parallel training on the CPU: 2 ranks under mpirun and under
# --gpus 2 (tcp) give the losses of one process with the same global batch,
# and the same checkpoint layout; runs saved by 2 ranks resume on 1 and the
# reverse; --resume keeps the global batch; ranks that disagree are refused;
# kill -9 of a rank ends the job promptly, naming it.
#
# The bound: ranks sum their halves of a step's gradient separately, then
# add the two, where one process adds the micro-batches one after another;
# that reorders an fp32 sum (a relative change of about 1e-7 in a gradient
# element), and AdamW passes it on to the weights at about lr times that.
# Over these 10 steps the losses differ by 1e-8 (measured); a real mistake,
# a window read twice or skipped, changes them by 1e-3 or more. Bound: 1e-5,
# and the first step, same weights and same sequences, to all 9 printed
# digits.
. tests/tap.sh
. tests/train-common.sh
[ -f "$TS" ] || skip_all "$TS absent"
BOUND=1e-5

make_byte_shards "$T/data" 100000 20 > /dev/null 2>&1 || skip_all "cannot make shards"
write_small_config "$T/small.json"
A="--data $T/data --model $T/small.json --steps 10 --seq 32 --batch-tokens 256 --micro-batch 2
   --lr 3e-3 --warmup 5 --device cpu -q --save-every 0"

# close A B: the loss logs A and B have the same steps, the first loss
# equal, and no two losses further apart than BOUND; says the largest gap.
close() {
	losses "$1" > "$1.loss"
	losses "$2" > "$2.loss"
	gap=$(paste "$1.loss" "$2.loss" | awk -v b=$BOUND '
		{ d = $1 - $2; if (d < 0) d = -d; if (d > m) m = d; if (NR == 1 && $1 != $2) bad = 1 }
		END { printf "%.3g\n", m; exit (NR == 0 || bad || m > b + 0) }') &&
		[ "$(wc -l < "$1.loss")" -eq "$(wc -l < "$2.loss")" ]
}

# The checkpoint's header without its checksums (of the data, of the
# header): tensor names, shapes, offsets, config and training state.
layout() {
	n=$(od -An -tu8 -N8 "$1" | tr -d ' ')
	dd if="$1" bs=1 skip=8 count="$n" 2> /dev/null | sed 's/"[a-z_]*checksum":"[0-9a-f]*"//g'
}

bin/bonsai-train $A -o "$T/one" > "$T/one.log" 2> "$T/one.err"
ok $? "one process, 10 steps"

if command -v mpirun > /dev/null && command -v mpicc > /dev/null; then
	export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
	MPIRUN="mpirun -np 2 --oversubscribe --bind-to none"
	$MPIRUN bin/bonsai-train $A -o "$T/mpi" > "$T/mpi.log" 2> "$T/mpi.err"
	rc=$?
	close "$T/one.log" "$T/mpi.log"
	ok $? "mpirun -np 2: the losses of one process within $BOUND (largest gap $gap; exit $rc)"
	grep -q "2 ranks (mpirun, mpi), each 4 of the 8 sequences" "$T/mpi.err" &&
		[ "$(grep -c '"loss"' "$T/mpi.log")" -eq 10 ]
	ok $? "each rank trains on half of every batch; rank 0 alone prints"
	grep -q "optimizer state 0.4 MB per rank (2 ranks; 0.7 MB in all)" "$T/mpi.err" &&
		grep -q "optimizer state 0.7 MB per rank (1 rank" "$T/one.err"
	ok $? "the start-up estimate: optimizer state per rank halved"
	[ -s "$T/mpi/ckpt-00000010.safetensors" ] &&
		[ "$(layout "$T/one/ckpt-00000010.safetensors")" = "$(layout "$T/mpi/ckpt-00000010.safetensors")" ]
	ok $? "one checkpoint of the same layout and state (names, shapes, position, options)"

	# saved by 2 ranks at step 5, resumed by one process
	$MPIRUN bin/bonsai-train $A -o "$T/r21" --stop-at 5 > "$T/r21.log" 2> /dev/null
	bin/bonsai-train $A -o "$T/r21" --resume >> "$T/r21.log" 2> "$T/err"
	close "$T/one.log" "$T/r21.log"
	ok $? "2 ranks for 5 steps, then 1 process: the one-process losses within $BOUND (gap $gap)"
else
	for i in 1 2 3 4 5; do echo "ok $((tap_n + 1)) # SKIP Open MPI (mpirun, mpicc) not installed"; tap_n=$((tap_n + 1)); done
fi

bin/bonsai-train $A --gpus 2 -o "$T/tcp" > "$T/tcp.log" 2> "$T/tcp.err"
rc=$?
close "$T/one.log" "$T/tcp.log"
ok $? "--gpus 2 --device cpu (tcp): the losses of one process within $BOUND (gap $gap; exit $rc)"
grep -q "2 ranks (torchrun, tcp)" "$T/tcp.err"
ok $? "--gpus starts the ranks with torchrun's variables"
# Each rank its share of the cores (n ranks of all of them: n times as
# many threads as cores); OMP_NUM_THREADS, when set, each rank's.
cores=$(env -u OMP_NUM_THREADS nproc)
share=$((cores / 2))
[ "$share" -gt 0 ] || share=1
env -u OMP_NUM_THREADS bin/bonsai-train $A --gpus 2 -o "$T/thr" --steps 1 2> "$T/thr.err" > /dev/null &&
	grep -q "device cpu, $share threads\?$" "$T/thr.err"
ok $? "--gpus 2 --device cpu: each rank runs $share of the $cores cores' threads" || diag "$(grep device "$T/thr.err")"
OMP_NUM_THREADS=3 bin/bonsai-train $A --gpus 2 -o "$T/thr3" --steps 1 2> "$T/thr.err" > /dev/null &&
	grep -q "device cpu, 3 threads$" "$T/thr.err"
ok $? "and OMP_NUM_THREADS=3: 3 threads a rank" || diag "$(grep device "$T/thr.err")"

# The clipping's global norm: each rank's sum of squares of its slice,
# summed over the ranks (one number), is the one-process norm; a rank's own
# slice alone would be about 1/sqrt(2) of it.
norms() { grep '"grad_norm"' "$1" | sed 's/.*"grad_norm":\([^,]*\),.*/\1/'; }
norms "$T/one.log" > "$T/one.norm"
norms "$T/tcp.log" > "$T/tcp.norm"
paste "$T/one.norm" "$T/tcp.norm" | awk '{ d = ($1 - $2) / $1; if (d < 0) d = -d; if (d > 1e-4) bad = 1 }
	END { exit (NR != 10 || bad) }'
ok $? "--gpus 2: the gradient norm each step is the one-process global norm (relative 1e-4)"

# saved by 1 process at step 5, resumed by 2
bin/bonsai-train $A -o "$T/r12" --stop-at 5 > "$T/r12.log" 2> /dev/null
bin/bonsai-train $A --gpus 2 -o "$T/r12" --resume >> "$T/r12.log" 2> /dev/null
close "$T/one.log" "$T/r12.log"
ok $? "1 process for 5 steps, then 2 ranks: the one-process losses within $BOUND (gap $gap)"

run bin/bonsai-train $A -o "$T/r12" --resume --steps 12 --batch-tokens 512
fails_with 1 "global batch must stay the same" "--resume with another --batch-tokens is refused"

run bin/bonsai-train $A -o "$T/odd" --gpus 3
fails_with 2 "8 sequences of 32: not a multiple of the 3 ranks" \
	"a global batch the ranks cannot share evenly is a usage error"

# Two ranks started by hand (torchrun-style) with different options.
port=$((20000 + $$ % 20000))
RANK=1 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$port \
	bin/bonsai-train $A -o "$T/hand" --lr 1e-3 > /dev/null 2> "$T/hand1.err" &
RANK=0 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$port \
	bin/bonsai-train $A -o "$T/hand" > /dev/null 2> "$T/err"
rc=$?
wait
fails_with 1 "rank 1 differs from rank 0 in the schedule and optimizer options" \
	"ranks started with different --lr: refused, naming the rank and what differs"

# kill -9 of rank 1 in a long run: the job ends within 5 s, naming it
bin/bonsai-train $A --gpus 2 -o "$T/kill" --steps 100000 > "$T/kill.log" 2> "$T/kill.err" &
pid=$!
wait_lines "$T/kill.log" 3
kill_rank $pid 1
[ $rc -eq 1 ] && [ $dt -le 5 ] && grep -q "rank 1 (pid $killed) was killed by signal 9" "$T/kill.err"
ok $? "kill -9 of rank 1: the job ends in ${dt} s with status $rc, naming it"
[ $tap_failed -eq 0 ] || sed 's/^/#   /' "$T/kill.err"
[ "$(ps -o pid= --ppid $pid | wc -l)" -eq 0 ] && ! kill -0 $killed 2> /dev/null
ok $? "no rank left running"

# SIGTERM to --gpus: every rank finishes the same step, rank 0 saves
bin/bonsai-train $A --gpus 2 -o "$T/term" --steps 100000 > "$T/term.log" 2> "$T/term.err" &
pid=$!
wait_lines "$T/term.log" 3
kill -TERM $pid
wait $pid
rc=$?
n=$(ls "$T/term" | grep -c ckpt)
[ $rc -eq 0 ] && [ "$n" -eq 1 ] && grep -q "stopped by signal" "$T/term.err"
ok $? "SIGTERM to --gpus 2: passed on, one checkpoint saved, exit 0 (exit $rc, $n checkpoints)"

done_testing

#!/bin/sh
# make run stopped part-way, in one stage after another, and made again
# ends with the files of a run that was not stopped: a SIGTERM to make
# alone (which make passes on to the recipe's script only) stops the
# stage's tool too, instead of leaving it to finish an output nothing
# records; a trainer that gets it from the process group and from the
# scripts stops once, saving; a kill -9 between the tokenizer and its info
# leaves the info to be made, and one during the encoding leaves no
# temporary file behind. Each stage is stopped with SIGSTOP at a known
# point (its tool running, or its temporary file there), then signalled.
. tests/run-small.sh

# the run not stopped
R=$T/straight
make --no-print-directory run $(small "$R") > "$T/straight.out" 2>&1
ok $? "a small make run, not stopped" || diag "$(tail -n 3 "$T/straight.out")"

D=$T/run
# start: make run in its own process group, in the background ($mk)
start() {
	setsid make --no-print-directory run $(small "$D") > "$T/make.out" 2>&1 &
	mk=$!
}
# pid_of PATTERN: waits for a process of this run whose command line
# begins with PATTERN (grep -E) and prints its pid
pid_of() {
	i=0
	while [ $i -lt 600 ] && kill -0 $mk 2> /dev/null; do
		p=$(ps -eo pid=,args= | sed 's/^ *//' | grep -E -- "^[0-9]+ $1" | grep -F -- "$D/" | awk '{ print $1; exit }')
		[ -n "$p" ] && { echo "$p"; return; }
		sleep 0.05
		i=$((i + 1))
	done
}
# stop_at GLOB: waits for a file (builtins only, so as not to miss it) and
# stops make's whole process group there
stop_at() {
	i=0
	while [ $i -lt 3000000 ] && kill -0 $mk 2> /dev/null; do
		for f in $1; do [ -e "$f" ] && break 2; done
		i=$((i + 1))
	done
	kill -STOP -$mk
}
# sig SIG PID: kill -SIG PID, when pid_of found one
sig() { [ -n "$2" ] && kill -$1 $2; }
# left: the processes of this run still there a second after make ended
left() {
	sleep 1
	ps -eo args= | grep -F -- "$D/" | grep -v grep | cut -c1-60
}
# term_make_while PID: SIGTERM to make alone while PID is stopped; $rc is
# make's status, $l what of the run was left running
# (wait's stderr: the shell's "Terminated" for make, which is expected, was
# noise in prove's output)
term_make_while() {
	sig STOP "$1"
	kill -TERM $mk
	sig CONT "$1"
	wait $mk 2> /dev/null
	rc=$?
	l=$(left)
}

# SIGTERM to make alone while the filter runs: the filter stops too, and
# neither its output nor a record of it is there
start
p=$(pid_of "bin/bonsai-filter ")
term_make_while "$p"
[ $rc -ne 0 ] && [ -z "$l" ] && [ ! -e "$D/clean/000_00000.jsonl" ] && ! grep -q "^# filter" "$D/repro/commands.sh" 2> /dev/null
ok $? "SIGTERM to make alone during the filter: it stops too (exit $rc), nothing made or recorded" ||
	diag "left running: $l; $(ls "$D/clean" 2> /dev/null)"

# kill -9 of the group between the tokenizer and its info: the info is
# made next time (it was never made again once the tokenizer was there)
start
stop_at "$D/tokenizer/info.json.tmp"
kill -9 -$mk
wait $mk 2> /dev/null
start
stop_at "$D/tokens/000_00000.ts.tmp.*"
[ -s "$D/tokenizer/info.json" ]
ok $? "killed (kill -9) before the tokenizer's info: made again up to the encoding, the info included"
# kill -9 during the encoding: its temporary file goes with the next run
kill -9 -$mk
wait $mk 2> /dev/null
ls "$D/tokens" | grep -q '\.tmp\.'
ok $? "killed during the encoding: its temporary file is there"

# SIGTERM to make alone while training: the trainer saves and stops (the
# stage fails), nothing goes on training
start
while [ ! -e "$D/train/ckpt-00000002.safetensors" ] && kill -0 $mk 2> /dev/null; do sleep 0.05; done
p=$(pid_of "bin/bonsai-train ")
term_make_while "$p"
[ $rc -ne 0 ] && [ -z "$l" ] && grep -q "stopping after this step" "$T/make.out" &&
	grep -q "^train: $D/train stopped at step" "$T/make.out" && [ ! -e "$D/train/checkpoint.sha256" ]
ok $? "SIGTERM to make alone while training: the trainer saves and stops (exit $rc), nothing left running" ||
	diag "left running: $l; $(grep -v '^make run:' "$T/make.out" | tail -n 3)"
[ -z "$(ls "$D/tokens" | grep '\.tmp\.')" ]
ok $? "and the encoding's temporary file is gone"

# SIGTERM to the whole group while training: the trainer has it from the
# group, then from train.sh passing it on (held back here, so that the
# trainer has taken the first), and stops once, saving
start
while [ ! -e "$D/train/ckpt-00000004.safetensors" ] && kill -0 $mk 2> /dev/null; do sleep 0.05; done
p=$(pid_of "sh mk/train.sh ")
sig STOP "$p"
kill -TERM -$mk
sleep 0.3
sig CONT "$p"
wait $mk 2> /dev/null
rc=$?
[ $rc -ne 0 ] && grep -q "stopping after this step" "$T/make.out" && ! grep -q "stopping now" "$T/make.out"
ok $? "SIGTERM to make's process group while training: the trainer saves and stops (exit $rc), not 'at once'" ||
	diag "$(grep -v '^make run:' "$T/make.out" | tail -n 3)"

# then made to the end: the straight run's files, bit for bit (timings and
# the folder's name aside), each stage recorded once. (The checkpoints
# kept are the newest --keep 3, the ones saved where training stopped
# included.)
make --no-print-directory run $(small "$D") > "$T/make.out" 2>&1
ok $? "make run again goes to the end" || diag "$(tail -n 3 "$T/make.out")"
same_files "$R" "$D"
ok $? "the same files and outputs as the run not stopped, the final checkpoint included" ||
	diag "$(head -n 5 "$T/files.diff")"
sed "s|$R/|RUN/|g" "$R/repro/commands.sh" > "$T/a"
sed "s|$D/|RUN/|g" "$D/repro/commands.sh" > "$T/b"
cut -f1,2 "$R/repro/times.tsv" | sed "s|$R/|RUN/|g" > "$T/ta"
cut -f1,2 "$D/repro/times.tsv" | sed "s|$D/|RUN/|g" > "$T/tb"
cmp -s "$T/a" "$T/b" && cmp -s "$T/ta" "$T/tb"
ok $? "repro/commands.sh and times.tsv record each stage once, as the run not stopped did" ||
	diag "$(diff "$T/a" "$T/b" | head -n 6; diff "$T/ta" "$T/tb" | head -n 4)"
done_testing

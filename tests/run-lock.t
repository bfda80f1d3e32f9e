#!/bin/sh
# One make run at a time in a run folder: a second make run of a folder
# that one is making (another terminal) is refused at once, exit 2, in one
# line naming the first's pid, and the first ends with the files of a run made
# alone; several goals of one make (make -j2 train report) are one run,
# not refused by themselves. The first run is held still (SIGSTOP to its
# process group) while the second is tried, so that they overlap.
. tests/run-small.sh
command -v flock > /dev/null || skip_all "flock not installed"

R=$T/alone
make --no-print-directory run $(small "$R") > "$T/alone.out" 2>&1
ok $? "a small make run, alone" || diag "$(tail -n 3 "$T/alone.out")"

D=$T/run
setsid make --no-print-directory run $(small "$D") > "$T/first.out" 2>&1 &
first=$!
# until its filter runs (well inside the run), then held there
i=0
while [ ! -e "$D/repro/commands.sh" ] && [ $i -lt 600 ] && kill -0 $first 2> /dev/null; do
	sleep 0.05
	i=$((i + 1))
done
kill -STOP -$first
run make --no-print-directory run $(small "$D")
cp "$T/err" "$T/second.err"
rc_run=$rc
# make demo (make run RUN=demo) as well, its RUN_DIR this folder
run make --no-print-directory demo $(small "$D" | sed 's/RUN=demo //')
kill -CONT -$first
[ "$rc_run" -eq 2 ] && grep -q "make run: run folder $D is in use by pid $first, .*(kill $first)" "$T/second.err"
ok $? "a second make run of the folder: refused (exit $rc_run), the first's pid named" ||
	diag "$(tail -n 3 "$T/second.err")"
# what the user sees is that refusal alone: not followed by make's
# "*** [run-locked] Error 1" (or "[demo] Error 2"), as if the makefile had
# failed
[ "$(wc -l < "$T/second.err")" -eq 1 ] && ! grep -q "Error" "$T/second.err"
ok $? "the refusal is the only line on stderr" || diag "$(cat "$T/second.err")"
[ "$rc" -eq 2 ] && [ "$(wc -l < "$T/err")" -eq 1 ] &&
	grep -q "make run: run folder $D is in use by pid $first, " "$T/err"
ok $? "make demo of that folder: the same one line, exit $rc" || diag "$(cat "$T/err")"
wait $first
ok $? "the first goes on to its end" || diag "$(tail -n 3 "$T/first.out")"

same_files "$R" "$D"
ok $? "the same files and outputs as the run made alone, the final checkpoint included" ||
	diag "$(head -n 5 "$T/files.diff")"
cut -f1,2 "$R/repro/times.tsv" | sed "s|$R/|RUN/|g" > "$T/ta"
cut -f1,2 "$D/repro/times.tsv" | sed "s|$D/|RUN/|g" > "$T/tb"
cmp -s "$T/ta" "$T/tb"
ok $? "each stage recorded once, as in the run made alone" || diag "$(diff "$T/ta" "$T/tb" | head -n 4)"

# make demo goes on in the make that was started: nothing left to make
run make --no-print-directory demo $(small "$D" | sed 's/RUN=demo //')
[ "$rc" -eq 0 ] && [ ! -s "$T/err" ] && [ "$(cat "$D/train/checkpoint.sha256")" = "$(cat "$R/train/checkpoint.sha256")" ]
ok $? "make demo of the finished folder: exit $rc, nothing to say" || diag "$(tail -n 3 "$T/err")"
# two goals of one make: one run, the folder's lock taken once
run make --no-print-directory -j2 train report $(small "$D")
[ "$rc" -eq 0 ] && ! grep -q "in use" "$T/err"
ok $? "make -j2 train report: not refused by itself (exit $rc)" || diag "$(tail -n 3 "$T/err")"
# the make under the lock shares the -j2 (mk/passon.sh once took the
# jobserver's file descriptor 3 for its command's standard input)
! grep -q "jobserver unavailable" "$T/err"
ok $? "make -j2 under the lock: the jobserver handed on" || diag "$(grep jobserver "$T/err")"

# A lock held after its make has ended (make killed with its group, its
# processes still exiting): make run waits for it, saying so, then goes
# on; held longer than LOCK_WAIT (make killed alone, its stages running):
# refused, saying that the make has ended. The folder is up to date, so
# make run has nothing else to do.
sh -c 'exit 0' &
dead=$!
wait $dead
# hold SECONDS: the lock held that long (by flock(1) alone: -o), recorded
# as the dead make's; $holder
hold() {
	echo $dead > "$D/.lock"
	flock -o "$D/.lock" sleep "$1" > /dev/null 2>&1 &
	holder=$!
}
hold 2
sleep 0.3
t0=$(date +%s)
run make --no-print-directory run $(small "$D")
dt=$(($(date +%s) - t0))
[ "$rc" -eq 0 ] && grep -q "^make run: waiting (up to 60 s) for the processes of make run pid $dead, which has ended, to let go of $D$" "$T/err" &&
	[ $dt -ge 1 ]
ok $? "the lock of an ended make: waited for (${dt} s), said, then the run goes on (exit $rc)" || diag "$(cat "$T/err")"
wait $holder
hold 5
sleep 0.3
run make --no-print-directory run $(small "$D") LOCK_WAIT=1
[ "$rc" -eq 2 ] && grep -q "make run: run folder $D is held by processes of make run pid $dead, which has ended (killed alone? its stages are still running): stop them, or wait for them" "$T/err" &&
	kill -0 $holder 2> /dev/null
ok $? "held past LOCK_WAIT=1: refused (exit $rc), saying its make has ended" || diag "$(cat "$T/err")"
kill $holder 2> /dev/null
wait $holder 2> /dev/null
run make --no-print-directory run $(small "$D") LOCK_WAIT=soon
[ "$rc" -eq 2 ] && grep -q "make run: LOCK_WAIT=soon: not a whole number of seconds" "$T/err"
ok $? "LOCK_WAIT=soon: refused (exit $rc), named" || diag "$(cat "$T/err")"
done_testing

#!/bin/sh
# runlock.sh RUN_DIR MAKE-COMMAND...: runs the make of a make run holding
# a lock on RUN_DIR/.lock (flock(1)), so that one make run at a time
# writes a run folder: a second one (another terminal, make demo beside
# make run RUN=demo) started on it is refused at once, naming the first
# (its stages would remove each other's temporary files and write the
# same outputs). The lock is the open file's: it goes when the run's last
# process ends, killed or not. Run by make's recipe with exec, so that the
# pid recorded is make's.
#
# runlock.sh --check RUN_DIR: prints that refusal (to standard output, and
# exits 0) when a make run holds RUN_DIR, nothing otherwise: make checks
# before its recipes, where a refusal can be its only message.
#
# A lock whose make has ended (killed) is waited for, up to LOCK_WAIT
# seconds (60 if unset), with a line on stderr: the run's other processes hold it until they have exited,
# and a killed trainer frees its memory (GPU memory included) first, which
# can take seconds after kill -9 of the run's process group. Still held
# then (make alone was killed; its stages go on), it is refused, saying
# so.
set -u
# in_use: the refusal, naming the holder's pid when it has written it
in_use() {
	if ended; then
		echo "make run: run folder $d is held by processes of make run pid $pid, which has ended (killed alone? its stages are still running): stop them, or wait for them"
		return
	fi
	echo "make run: run folder $d is in use by ${pid:+pid $pid, }another make run of it: wait for it to end, or stop it${pid:+ (kill $pid)}"
}
# ended: the make recorded as the lock's holder ($pid, empty when none is)
# has ended (/proc: kill -0 of another user's process fails too)
ended() {
	pid=$(cat "$lock" 2> /dev/null)
	[ -n "$pid" ] && [ ! -d "/proc/$pid" ]
}
# ended_wait FLOCK-ARGS...: 0 when the lock, held by the processes of a
# make that has ended, is let go within LOCK_WAIT seconds
ended_wait() {
	ended && [ "$lock_wait" -gt 0 ] || return 1
	echo "make run: waiting (up to $lock_wait s) for the processes of make run pid $pid, which has ended, to let go of $d" >&2
	flock -w "$lock_wait" "$@"
}
lock_wait=${LOCK_WAIT:-60}
case $lock_wait in
*[!0-9]*) lock_wait_bad="make run: LOCK_WAIT=$lock_wait: not a whole number of seconds" ;;
*) lock_wait_bad= ;;
esac
if [ "$1" = --check ]; then
	d=$2 lock=$2/.lock
	[ -z "$lock_wait_bad" ] || { echo "$lock_wait_bad"; exit 0; }
	# 75 is flock's answer when the lock is held, not when it failed
	[ -e "$lock" ] && { flock -n -E 75 "$lock" true; [ $? -eq 75 ]; } &&
		! ended_wait "$lock" true && in_use
	exit 0
fi
d=$1
shift
[ -z "$lock_wait_bad" ] || { echo "$lock_wait_bad" >&2; exit 1; }
mkdir -p "$d"
lock=$d/.lock
exec 9>> "$lock"
if ! flock -n 9 && ! ended_wait 9; then
	in_use >&2
	exit 1
fi
echo "$PPID" > "$lock"
. "$(dirname "$0")/passon.sh"
passon_exit "$@"

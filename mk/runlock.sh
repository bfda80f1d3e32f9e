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
set -u
# in_use: the refusal, naming the holder's pid when it has written it
in_use() {
	pid=$(cat "$lock" 2> /dev/null)
	echo "make run: run folder $d is in use by ${pid:+pid $pid, }another make run of it: wait for it to end, or stop it${pid:+ (kill $pid)}"
}
if [ "$1" = --check ]; then
	d=$2 lock=$2/.lock
	# 75 is flock's answer when the lock is held, not when it failed
	[ -e "$lock" ] && { flock -n -E 75 "$lock" true; [ $? -eq 75 ]; } && in_use
	exit 0
fi
d=$1
shift
mkdir -p "$d"
lock=$d/.lock
exec 9>> "$lock"
if ! flock -n 9; then
	in_use >&2
	exit 1
fi
echo "$PPID" > "$lock"
. "$(dirname "$0")/passon.sh"
passon_exit "$@"

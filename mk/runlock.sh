#!/bin/sh
# runlock.sh RUN_DIR MAKE-COMMAND...: runs the make of a make run holding
# a lock on RUN_DIR/.lock (flock(1)), so that one make run at a time
# writes a run folder: a second one (another terminal, make demo beside
# make run RUN=demo) started on it is refused at once, naming the first
# (its stages would remove each other's temporary files and write the
# same outputs). The lock is the open file's: it goes when the run's last
# process ends, killed or not. Run by make's recipe with exec, so that the
# pid recorded is make's.
set -u
d=$1
shift
mkdir -p "$d"
lock=$d/.lock
exec 9>> "$lock"
if ! flock -n 9; then
	pid=$(cat "$lock" 2> /dev/null)
	echo "make run: run folder $d is in use by ${pid:+pid $pid, }another make run of it: wait for it to end, or stop it${pid:+ (kill $pid)}" >&2
	exit 1
fi
echo "$PPID" > "$lock"
. "$(dirname "$0")/passon.sh"
passon_exit "$@"

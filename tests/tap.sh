# tap.sh - TAP helpers for the shell tests: every tests/*.t sources it
# (directly or through a *-common.sh) and ends with done_testing.
# Tests run from the project root; tools are in bin/, test tools in
# $BUILD/tests/tools, data from elsewhere in $BONSAI_SHARED (../shared).

BUILD=${BUILD:-build}
SHARED=${BONSAI_SHARED:-../shared}
TOOLS=$BUILD/tests/tools
# the test's scratch folder, under $TMPDIR unless that has a space in it:
# the tests hand their paths to make (which splits file names at spaces)
# and to shell words, so they use /tmp then
tmp=${TMPDIR:-/tmp}
case $tmp in *[[:space:]]*) tmp=/tmp ;; esac
T=$(mktemp -d "$tmp/bonsai-test.XXXXXX")
unset tmp
trap 'rm -rf "$T"' EXIT
# compiled tokenizers (and anything else cached) go to the test's own folder,
# not the user's cache: a test neither leaves files there nor depends on them
export BONSAI_CACHE="$T/cache"
# The tests' own makes (make run, make demo) run as from a user's shell.
# Under `make -jN test` the suite inherits make's -jN and jobserver, whose
# descriptors the prove line is not handed: each make would note "jobserver
# unavailable" on the stderr the tests read. Variables given to make
# (NVCC=) stay.
if [ -n "${MAKEFLAGS:-}" ]; then
	MAKEFLAGS=$(printf '%s\n' "$MAKEFLAGS" | sed 's/ -j[0-9]*//; s/ --jobserver-[a-z]*=[^ ]*//')
	export MAKEFLAGS
fi
tap_n=0
tap_failed=0

ok() { # ok COND_STATUS DESCRIPTION; returns 1 when the test failed
	tap_n=$((tap_n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $tap_n - $2"
	else
		echo "not ok $tap_n - $2"
		tap_failed=$((tap_failed + 1))
		return 1
	fi
}

# diag TEXT: a comment line in the output (say why the last test failed:
# ok ... || diag ...).
diag() { printf '%s\n' "$*" | sed 's/^/# /'; }

# run CMD...: runs a command, keeping its stdout in $T/out, stderr in
# $T/err and its exit status in $rc.
run() {
	"$@" >"$T/out" 2>"$T/err"
	rc=$?
}

# run_capped KB CMD...: run() with the address space capped at KB
# kilobytes, so that an allocation too large fails at once (exit 99 when
# the cap cannot be set).
run_capped() {
	kb=$1
	shift
	run sh -c 'ulimit -v "$0" || exit 99; exec "$@"' "$kb" "$@"
}

# asan_build BIN: BIN was built with AddressSanitizer, whose shadow memory
# needs more address space than run_capped leaves and which must be loaded
# before any LD_PRELOAD library.
asan_build() { grep -qa __asan_init "$1"; }

# fails_with STATUS PATTERN DESCRIPTION: the last run() exited STATUS and
# its stderr matches PATTERN (grep -E).
fails_with() {
	if [ "$rc" -eq "$1" ] && grep -Eq -- "$2" "$T/err"; then
		ok 0 "$3"
	else
		ok 1 "$3"
		echo "#   exit $rc (want $1); stderr:"; sed 's/^/#   /' "$T/err" | head -5
	fi
}

# skip REASON: one test that cannot run here, counted as passed.
skip() {
	tap_n=$((tap_n + 1))
	echo "ok $tap_n # SKIP $1"
}

# cp_rw SRC DST: a copy the test may change (cp keeps a read-only
# fixture's mode, which only root writes through)
cp_rw() { cp "$1" "$2" && chmod u+w "$2"; }

skip_all() { echo "1..0 # SKIP $1"; exit 0; }

# signal_mid_run SIG FILE CMD...: runs CMD in the background (stdout and
# stderr in $T/out, $T/err); once FILE (a glob: the temporary output)
# exists, stops it, sends SIG and lets it go on, so that the signal comes
# in the middle of its work (between two reads of a regular file, not in a
# read that a signal cuts short). $rc is its exit status; 30 s after the
# signal it is killed. The wait starts no process (builtins only), so as
# not to miss a short run.
signal_mid_run() {
	sig=$1 file=$2
	shift 2
	"$@" >"$T/out" 2>"$T/err" &
	pid=$!
	i=0
	while [ $i -lt 3000000 ] && kill -0 $pid 2>/dev/null; do
		for f in $file; do [ -e "$f" ] && break 2; done
		i=$((i + 1))
	done
	kill -STOP $pid 2>/dev/null
	kill -$sig $pid 2>/dev/null
	kill -CONT $pid 2>/dev/null
	i=0
	while [ $i -lt 300 ] && kill -0 $pid 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
	kill -0 $pid 2>/dev/null && { kill -9 $pid; echo "# still running 30 s after SIG$sig"; }
	wait $pid
	rc=$?
}
# need_shared: what follows needs the data in $SHARED. Without it: skip the
# whole test when none ran yet, else end here with the ones that ran (a
# "1..0" plan after tests is a TAP error, which failed `make test` wherever
# ../shared is absent).
need_shared() {
	[ -d "$SHARED/fixtures" ] && return 0
	set -- "test data not found at $SHARED (see ../shared/README.md)"
	[ "$tap_n" -eq 0 ] && skip_all "$1"
	echo "# SKIP the rest: $1"
	done_testing
	exit
}

done_testing() {
	echo "1..$tap_n"
	[ "$tap_failed" -eq 0 ]
}

#!/bin/sh
# The dist layer's collectives over Open MPI (lib/dist_mpi.c): 2 and 3
# ranks under mpirun run test_lib_dist's checks of all-reduce,
# reduce-scatter and all-gather on arrays of uneven and short lengths
# (slices of different lengths, empty ones) and broadcast; rank 0 says
# whether every rank's checks passed.
. tests/tap.sh
U=$BUILD/tests/test_lib_dist
[ -x "$U" ] || skip_all "$U not built"
command -v mpirun > /dev/null && command -v mpicc > /dev/null ||
	skip_all "Open MPI (mpirun, mpicc) not installed"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# Open MPI keeps some of its own allocations to the end of the process,
# which LeakSanitizer (make check-asan) would report as leaks of this test
# (the tcp transport's leak check is test_lib_dist's own run).
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
for np in 2 3; do
	mpirun -np $np --oversubscribe --bind-to none "$U" > "$T/out.$np" 2> "$T/err.$np"
	rc=$?
	[ $rc -eq 0 ] && grep -q "^ok 1 - mpirun: the mpi transport" "$T/out.$np" &&
		grep -q "^ok 2 - $np ranks over mpi: all-reduce, reduce-scatter and all-gather" "$T/out.$np" &&
		! grep -q "^not ok" "$T/out.$np"
	ok $? "mpirun -np $np: the collectives of the mpi transport (exit $rc)" ||
		{ sed 's/^/#   /' "$T/out.$np" "$T/err.$np" | tail -8; }
done
done_testing

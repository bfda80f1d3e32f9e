#!/bin/sh
# Plain `make` builds the tools and tests (target all), not whichever target
# a module.mk happens to define first (the fuzzers, which need clang); and a
# build made without Open MPI is rebuilt with it once it is there.
. tests/tap.sh
g=$(MAKEFLAGS= make -p -n -q -f Makefile 2>/dev/null | sed -n 's/^\.DEFAULT_GOAL := //p' | tail -1)
[ "$g" = all ]
ok $? "make's default goal is all" || diag "the default goal is '$g', not all"

# A unit test and a test tool are rebuilt when a header they include
# changes (-W: as if it had, nothing touched), not only tap.h.
B0=${BUILD:-build}
if [ -x "$B0/tests/test_lib_buf" ] && [ -x "$B0/tests/tools/mkparquet" ]; then
	MAKEFLAGS= make -q BUILD="$B0" "$B0/tests/test_lib_buf" "$B0/tests/tools/mkparquet" >/dev/null 2>&1
	ok $? "the built unit test and test tool are up to date" || diag "make test builds them first"
	MAKEFLAGS= make -q -W tests/unit/failalloc.h BUILD="$B0" "$B0/tests/test_lib_buf" >/dev/null 2>&1
	[ $? -eq 1 ]
	ok $? "a changed tests/unit/failalloc.h rebuilds test_lib_buf, which includes it"
	MAKEFLAGS= make -q -W tests/tools/thrift_writer.h BUILD="$B0" "$B0/tests/tools/mkparquet" >/dev/null 2>&1
	[ $? -eq 1 ]
	ok $? "a changed tests/tools/thrift_writer.h rebuilds mkparquet, which includes it"
else
	skip "the unit tests are not built in $B0"
fi

if ! command -v mpicc >/dev/null 2>&1; then
	skip "no mpicc: the MPI build choice is not checked"
	done_testing
	exit 0
fi
B=$T/build
obj=$B/lib/dist_mpi.o
MAKEFLAGS= make -s BUILD="$B" MPICC= "$obj" >/dev/null 2>&1
nm "$obj" 2>/dev/null | grep -q MPI_Init
[ $? -ne 0 ]
ok $? "make MPICC= builds the transport without MPI"
MAKEFLAGS= make -s BUILD="$B" "$obj" >/dev/null 2>&1
nm "$obj" 2>/dev/null | grep -q MPI_Init
ok $? "a later make with mpicc rebuilds it with MPI" || diag "$obj was not rebuilt"
done_testing

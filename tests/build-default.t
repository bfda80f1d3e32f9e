#!/bin/sh
# Plain `make` builds the tools and tests (target all), not whichever target
# a module.mk happens to define first (the fuzzers, which need clang); and a
# build made without Open MPI is rebuilt with it once it is there.
. tests/tap.sh
g=$(MAKEFLAGS= make -p -n -q -f Makefile 2>/dev/null | sed -n 's/^\.DEFAULT_GOAL := //p' | tail -1)
[ "$g" = all ]
ok $? "make's default goal is all" || diag "the default goal is '$g', not all"

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

#!/bin/sh
# Plain `make` builds the tools and tests (target all), not whichever target
# a module.mk happens to define first (the fuzzers, which need clang).
. tests/tap.sh
g=$(MAKEFLAGS= make -p -n -q -f Makefile 2>/dev/null | sed -n 's/^\.DEFAULT_GOAL := //p' | tail -1)
[ "$g" = all ]
ok $? "make's default goal is all" || diag "the default goal is '$g', not all"
done_testing

#!/bin/sh
# Plain `make` builds the tools and tests (target all), not whichever target
# a module.mk happens to define first (the fuzzers, which need clang).
echo 1..1
g=$(MAKEFLAGS= make -p -n -q -f Makefile 2>/dev/null | sed -n 's/^\.DEFAULT_GOAL := //p' | tail -1)
if [ "$g" = all ]; then
	echo "ok 1 - make's default goal is all"
else
	echo "not ok 1 - make's default goal is '$g', not all"
fi

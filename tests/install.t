#!/bin/sh
# make install puts every tool and every man page under PREFIX, and the
# installed tools run from there.
. tests/tap.sh

make -s install PREFIX="$T/prefix" BUILD="$BUILD" >"$T/log" 2>&1
ok $? "make install PREFIX=... succeeds"
for t in bin/bonsai-*; do
	name=$(basename "$t")
	[ -x "$T/prefix/bin/$name" ] && "$T/prefix/bin/$name" --version | grep -q "^$name (bonsai)"
	ok $? "$name installed and runs --version"
	[ -f "$T/prefix/share/man/man1/$name.1" ]
	ok $? "$name.1 installed"
done
[ -f "$T/prefix/share/man/man5/bonsai-formats.5" ] && [ -f "$T/prefix/share/man/man7/bonsai.7" ]
ok $? "bonsai-formats.5 and bonsai.7 installed"

# make uninstall removes all of it, and nothing else under PREFIX.
mkdir -p "$T/prefix/bin" && touch "$T/prefix/bin/mine"
make -s uninstall PREFIX="$T/prefix" BUILD="$BUILD" >"$T/log" 2>&1
ok $? "make uninstall PREFIX=... succeeds"
left=$(find "$T/prefix" -type f | sed "s|^$T/prefix/||")
[ "$left" = "bin/mine" ]
ok $? "make uninstall removes every tool and man page, and only those (left: $(echo $left))"
done_testing

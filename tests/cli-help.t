#!/bin/sh
# -h/--help and -V on every tool and every subcommand: the usage (of that
# subcommand, not the tool's) on standard output, nothing on standard
# error, exit 0. The subcommands are read from each tool's own usage, so a
# new one is walked too. And -v is --verbose wherever a usage lists it.
. tests/tap.sh

version="(bonsai) $(sed -n 's/^#define BONSAI_VERSION "\(.*\)"/\1/p' lib/cli.h)"
n_tools=0 n_subs=0
for bin in bin/bonsai-*; do
	tool=${bin#bin/}
	n_tools=$((n_tools + 1))
	for h in -h --help; do
		run $bin $h
		[ "$rc" -eq 0 ] && [ ! -s "$T/err" ] && head -n 1 "$T/out" | grep -q "^usage: $tool\( \|\$\)"
		ok $? "$tool $h: its usage on stdout, exit 0" || diag "exit $rc: $(head -n 2 "$T/out" "$T/err")"
	done
	# the usage is still in stdout's buffer at exit: a write that fails then
	# is an error too, not exit 0 for a help nobody got
	$bin --help >/dev/full 2>"$T/err"
	rc=$?
	[ "$rc" -eq 1 ] && grep -q "^$tool: stdout: write failed: No space left on device\$" "$T/err"
	ok $? "$tool --help >/dev/full: the failed write is an error, exit 1" || diag "exit $rc: $(head -n 2 "$T/err")"
	$bin --help >"$T/usage"
	grep -q -- '-v, ' "$T/usage" && { grep -q -- '-v, --verbose' "$T/usage"; ok $? "$tool: -v is --verbose"; }
	# usage lines "usage: TOOL SUB ..." and "       TOOL SUB ...": SUB a word
	subs=$(sed -n "s/^\(usage:\|      \) *$tool \([a-z][a-z-]*\)\( .*\)\{0,1\}\$/\2/p" "$T/usage" | sort -u)
	for sub in $subs; do
		n_subs=$((n_subs + 1))
		for h in -h --help; do
			run $bin $sub $h
			[ "$rc" -eq 0 ] && [ ! -s "$T/err" ] && head -n 1 "$T/out" | grep -q "^usage: $tool $sub\( \|\$\)"
			ok $? "$tool $sub $h: the usage of $sub on stdout, exit 0" ||
				diag "exit $rc: $(head -n 2 "$T/out" "$T/err")"
		done
		run $bin $sub -V
		[ "$rc" -eq 0 ] && [ "$(cat "$T/out")" = "$tool $version" ]
		ok $? "$tool $sub -V: the version"
		$bin $sub --help >"$T/usage-sub"
		grep -q -- '-v, ' "$T/usage-sub" && { grep -q -- '-v, --verbose' "$T/usage-sub"; ok $? "$tool $sub: -v is --verbose"; }
	done
done
# bonsai-tokenize: train encode decode info; bonsai-shard: info verify cat;
# bonsai-train: verify export; bonsai-eval: tasks ppl loglik
[ "$n_tools" -ge 9 ] && [ "$n_subs" -ge 12 ]
ok $? "$n_tools tools and $n_subs subcommands walked"

done_testing

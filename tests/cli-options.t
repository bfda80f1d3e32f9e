#!/bin/sh
# The manners every tool and subcommand shares: -V and --version print the
# version; an option it does not know is named in one line (not getopt's
# line and then a second, nameless one), with a pointer to --help, exit 2;
# so is an option that lacks its argument.
. tests/tap.sh

# one_line_naming PATTERN DESCRIPTION: the last run() exited 2, wrote
# nothing on stdout, and exactly one stderr line tells what was wrong: the
# one matching PATTERN.
one_line_naming() {
	if [ "$rc" -eq 2 ] && [ ! -s "$T/out" ] && grep -Eq -- "$1" "$T/err" &&
		[ "$(grep -Ec -- 'option' "$T/err")" -eq 1 ]; then
		ok 0 "$2"
	else
		ok 1 "$2"
		echo "#   exit $rc (want 2); stderr:"; sed 's/^/#   /' "$T/err" | head -5
	fi
}

for cmd in fetch filter plot report shard "shard info" "shard verify" "shard cat" \
	"tokenize train" "tokenize encode" "tokenize decode" "tokenize info" \
	train "train verify" "train export" eval generate; do
	tool=bonsai-${cmd%% *}
	sub=
	[ "$tool" = "bonsai-$cmd" ] || sub=${cmd#* }
	name="$tool${sub:+ $sub}"
	prefix="^$tool: ${sub:+$sub: }"

	for v in -V --version; do
		run bin/$tool $sub $v
		[ $rc -eq 0 ] && [ "$(cat "$T/out")" = "$tool (bonsai) $(sed -n 's/^#define BONSAI_VERSION "\(.*\)"/\1/p' lib/cli.h)" ] &&
			[ ! -s "$T/err" ]
		ok $? "$name $v: the version on stdout, exit 0"
	done

	run bin/$tool $sub --no-such-option
	one_line_naming "${prefix}unknown option '--no-such-option'\$" "$name: an unknown long option is named once"
	run bin/$tool $sub --no-such-option=3
	one_line_naming "${prefix}unknown option '--no-such-option'\$" "$name: so is one given a value"
	run bin/$tool $sub -Z
	one_line_naming "${prefix}unknown option '-Z'\$" "$name: an unknown short option is named once"
	run bin/$tool $sub --help=3
	one_line_naming "${prefix}option '--help' takes no argument\$" "$name: --help=3 says --help takes no argument"
	# bonsai-shard's subcommands show their usage after the message
	case "$cmd" in "shard "*) continue ;; esac
	grep -q "^Try '$name --help' for more information\.\$" "$T/err"
	ok $? "$name: the message points to '$name --help'"
done

# An option that needs an argument and has none, short and long.
for c in "fetch -o" "fetch --output" "filter -o" "plot -w" "shard -o" "tokenize encode -t" \
	"tokenize decode --tokenizer" "tokenize train --vocab-size" "tokenize info --pattern" \
	"train --steps" "train -o" "train verify --device" "train export -o" "eval -m" \
	"generate --model"; do
	set -- $c
	tool=bonsai-$1
	shift
	opt=$(eval echo \${$#})
	run bin/$tool "$@"
	one_line_naming "option '$opt' needs an argument\$" "$tool $*: names the option that needs an argument"
done

# The tokenizer's command comes first: an option there is named too.
run bin/bonsai-tokenize --no-such-option
one_line_naming "^bonsai-tokenize: unknown option '--no-such-option'\$" "bonsai-tokenize --no-such-option before a command is named"

# A prefix of several long options is named as ambiguous.
run bin/bonsai-train --s 3
one_line_naming "^bonsai-train: ambiguous option '--s'\$" "a prefix of several long options is called ambiguous"

# A short option refused after a long one is named as the short one.
run bin/bonsai-filter --quiet -Zq
one_line_naming "^bonsai-filter: unknown option '-Z'\$" "an unknown short option after a long one is named as itself"

# A size whose suffix takes it past the range of a long long is refused,
# negative too (it wrapped to a small size that the range let through).
for v in 9223372036854775807k -9223372036854775807k -9007199254740993G; do
	run bin/bonsai-shard -o "$T/sizes" -n $v /dev/null
	[ "$rc" -eq 2 ] && grep -q "^bonsai-shard: --tokens-per-shard: '$v' is too \(large\|small\)\$" "$T/err" &&
		[ ! -e "$T/sizes" ]
	ok $? "--tokens-per-shard $v: refused as too large or small, exit 2" || diag "exit $rc: $(head -n 2 "$T/err")"
done

# Numbers are decimal and whole: strtod read "0x10" as 16 (and "0x1p-3",
# 0.125, fits --lr's range), strtod and strtoll skipped leading white space.
C="bin/bonsai-train --check --data $T/nodata --model tiny -o $T/nochk --steps 10 --device cpu"
for v in 0x10 0x1p-3 " 0.5" "0.5 " inf nan 1e; do
	run $C --lr "$v"
	fails_with 2 "^bonsai-train: --lr: '$v' is not a number\$" "--lr '$v': not a number, named, exit 2"
done
# a number past what a double holds: said so, not "not a number"
for v in 1e999 -1e999 1e-320; do
	run $C --lr "$v"
	fails_with 2 "^bonsai-train: --lr: '$v' is too (far from|close to) 0\$" "--lr '$v': too far from or close to 0, exit 2"
done
for v in 3e-4 1e-3 1E-3 .5 5. +0.5 0; do
	run $C --lr "$v"
	ok $rc "--lr '$v' is a number" || diag "exit $rc: $(head -n 1 "$T/err")"
done
for v in " 5" "5 " "	5"; do
	run $C --seq "$v"
	fails_with 2 "^bonsai-train: --seq: '$v' is not an integer\$" "--seq '$v': not an integer, named, exit 2"
done
run $C --batch-tokens " 2k"
fails_with 2 "^bonsai-train: --batch-tokens: ' 2k' is not a size\$" "--batch-tokens ' 2k': not a size, named, exit 2"
run $C --seq 064 --batch-tokens +2k
ok $rc "--seq 064 and --batch-tokens +2k are numbers" || diag "exit $rc: $(head -n 1 "$T/err")"

done_testing

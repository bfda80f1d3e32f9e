#!/bin/sh
# The man pages against the tools: every long option a tool's --help (or a
# subcommand's) lists is in its man page, and every option the man page
# gives as the tool's own (SYNOPSIS and .It lines) is in its --help; the
# bonsai-train and bonsai-eval commands of the EXAMPLES pass --check as
# written, so a copied example is not refused for a missing option;
# bonsai-formats(5)'s opening names each of its sections.
. tests/tap.sh

# long options of a usage text: --name
help_opts() {
	grep -o -- '--[a-z][a-z0-9-]*' | sort -u
}
# options written anywhere in a man page, as --name: \-name, and -name as
# an argument of Fl (Fl -name, Fl x , -name)
man_opt_words() {
	grep -o -- '\(\\-\|Fl -\|, -\)[a-z][a-z0-9-]*' | sed 's/^\\-/--/; s/^Fl -/--/; s/^, -/--/' | sort -u
}
# the page's own options: its SYNOPSIS and the heads of its lists
man_own_opts() {
	awk '/^\.Sh SYNOPSIS/ { s = 1; next } /^\.Sh/ { s = 0 } s || /^\.It Fl/' "$1" | man_opt_words
}

for bin in bin/bonsai-*; do
	tool=${bin#bin/}
	page=man/man1/$tool.1
	[ -f "$page" ] || { ok 1 "$tool has a man page ($page)"; continue; }
	$bin --help > "$T/usage"
	subs=$(sed -n "s/^\(usage:\|      \) *$tool \([a-z][a-z-]*\)\( .*\)\{0,1\}\$/\2/p" "$T/usage" | sort -u)
	for sub in $subs; do
		$bin "$sub" --help >> "$T/usage"
	done
	help_opts < "$T/usage" > "$T/help.opts"
	man_opt_words < "$page" > "$T/man.all"
	man_own_opts "$page" > "$T/man.own"
	missing=$(comm -23 "$T/help.opts" "$T/man.all" | tr '\n' ' ')
	[ -z "$missing" ]
	ok $? "$tool: every option of --help is in $page" || diag "not in the man page: $missing"
	extra=$(comm -13 "$T/help.opts" "$T/man.own" | tr '\n' ' ')
	[ -z "$extra" ]
	ok $? "$tool: every option $page gives is in --help" || diag "not in --help: $extra"
done

# The EXAMPLES' literal lines, continuations (\e) joined, prompts ($ )
# dropped, one command of a pipeline a line.
examples() {
	awk '/^\.Sh EXAMPLES/ { e = 1; next } /^\.Sh/ { e = 0 }
		!e { next }
		/^\.Bd -literal/ { lit = 1; next } /^\.Ed/ { lit = 0; next }
		/^\.Dl / { sub(/^\.Dl /, ""); print; next }
		lit { print }' "$@" |
		awk '{ sub(/^\$ /, ""); line = line $0 }
			/\\e$/ { sub(/\\e$/, "", line); next }
			{ print line; line = "" }' |
		tr '|' '\n' | sed 's/^ *//'
}
n=0
examples man/man1/*.1 man/man7/*.7 |
	grep -E '^bonsai-(train|eval) ' | grep -vE '^bonsai-train (verify|export) ' | grep -v '\.\.\.' |
	sed 's/ *&$//; s/ *>>* *[^ ]*$//' > "$T/examples"
while read -r tool args; do
	n=$((n + 1))
	# shellcheck disable=SC2086 # the example's own words
	bin/$tool $args --check > "$T/out" 2> "$T/err"
	rc=$?
	[ "$rc" -eq 0 ]
	ok $? "example passes --check: $tool $args" || diag "exit $rc: $(cat "$T/err")"
done < "$T/examples"
[ "$(wc -l < "$T/examples")" -ge 8 ]
ok $? "the examples of bonsai-train and bonsai-eval were found ($(wc -l < "$T/examples"))"

# bonsai(7)'s Settings list every setting of make run (a variable that
# mk/run.mk gives a default, and STEPS), and nothing else
awk '/^\.Ss Settings/ { s = 1; next } /^\.S[sh]/ { s = 0 } s && /^\.It Ev /' man/man7/bonsai.7 |
	sed 's/^\.It Ev //; s/ Pq .*//' | tr -d ',' | tr ' ' '\n' | grep . | sort -u > "$T/man.settings"
{ sed -n 's/^\([A-Z][A-Z0-9_]*\) *?=.*/\1/p' mk/run.mk; echo STEPS; } | sort -u > "$T/run.settings"
missing=$(comm -13 "$T/man.settings" "$T/run.settings" | tr '\n' ' ')
extra=$(comm -23 "$T/man.settings" "$T/run.settings" | tr '\n' ' ')
[ -s "$T/man.settings" ] && [ -z "$missing$extra" ]
ok $? "bonsai(7)'s Settings are make run's" || diag "not in bonsai(7): $missing; not in mk/run.mk: $extra"

# bonsai-formats(5) opens with what it covers: every section it has is
# named there, so a format added later is not left out of the opening
page=man/man5/bonsai-formats.5
sections=$(sed -n 's/^\.Ss //p' "$page")
opening=$(awk '/^\.Ss/ { exit } { print }' "$page" |
	grep -o 'Sx [^,;.]*' | sed 's/^Sx //; s/ *$//')
missing=$(printf '%s\n' "$sections" | while read -r s; do
	printf '%s\n' "$opening" | grep -qxF "$s" || printf '"%s" ' "$s"
done)
[ -n "$sections" ] && [ -z "$missing" ]
ok $? "bonsai-formats(5): its opening names each of its sections" || diag "not in the opening: $missing"

done_testing

# numbers.awk: make run's numbers, read as the tools read them, where awk
# alone would read '2B' as 2 and '512k' as 512 and run another run than
# meant without a word. A number is 1e9, 2.5e9, or a whole number with k, M
# or G (k = 1024, as bonsai-train's --batch-tokens); "whole" ones have no
# fraction or exponent.
#   -v tokens=TOKENS -v batch=BATCH_TOKENS: the optimizer steps, the budget
#     over the batch and at least 1; or a line "bad: why".
#   -v range=1 -v s=TEXT -v whole=0|1 -v min=MIN -v max=MAX: exit 0 when
#     TEXT is a number from MIN to MAX.
function count(s, whole,   m, c) {
	m = 1
	if (s ~ /^[0-9]+[kKMG]$/) {
		c = substr(s, length(s))
		m = c == "G" ? 1073741824 : c == "M" ? 1048576 : 1024
		s = substr(s, 1, length(s) - 1)
	} else if (whole ? s !~ /^[0-9]+$/ : s !~ /^[0-9]+(\.[0-9]*)?([eE]\+?[0-9]+)?$/) {
		return -1
	}
	return s * m
}
BEGIN {
	if (range) {
		v = count(s, whole)
		exit !(v >= 0 && v >= min + 0 && v <= max + 0)
	}
	t = count(tokens, 0)
	b = count(batch, 1)
	if (t < 0)
		print "bad: TOKENS=" tokens " is not a number of tokens (such as 1e9, 2.5e9 or 512M)"
	else if (b < 1)
		print "bad: BATCH_TOKENS=" batch " is not a number of tokens (a whole number, with an optional k, M or G)"
	else {
		n = int(t / b)
		print n < 1 ? 1 : n
	}
}

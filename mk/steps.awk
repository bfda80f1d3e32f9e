# steps.awk -v tokens=TOKENS -v batch=BATCH_TOKENS: make run's optimizer
# steps, the budget over the batch and at least 1; or a line "bad: why".
# awk alone would read '2B' as 2 and '512k' as 512 and train for another
# budget than meant, without a word. TOKENS: 1e9, 2.5e9, or a whole number
# with k, M or G; BATCH_TOKENS: a whole number with k, M or G, as
# bonsai-train's --batch-tokens reads it (k = 1024).
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
	t = count(tokens, 0)
	b = count(batch, 1)
	if (t < 0)
		print "bad: TOKENS=" tokens " is not a number of tokens (such as 1e9, 2.5e9 or 512M)"
	else if (b < 1)
		print "bad: BATCH_TOKENS=" batch " is not a number of tokens (a whole number, with an optional k, M or G)"
	else {
		s = int(t / b)
		print s < 1 ? 1 : s
	}
}

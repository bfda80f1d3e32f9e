#!/bin/sh
# bonsai-plot: the SVG is well-formed and renders; the curves' points read
# back through the axes' ticks give the metrics' values; several runs, a
# file still being written, and bad inputs.
. tests/tap.sh

P=bin/bonsai-plot

# metrics N FILE: N steps of a made-up run in bonsai-train's format
# (512 tokens a step, a falling noisy loss, warm-up then decay of the
# learning rate), a validation line every 10 steps.
metrics() {
	awk -v n="$1" 'BEGIN {
		for (s = 1; s <= n; s++) {
			loss = 3 + 5 / sqrt(s) + 0.1 * sin(s * 1.7)
			lr = s <= 10 ? 1e-3 * s / 10 : 1e-3 * (n - s + 1) / (n - 9)
			printf "{\"step\":%d,\"tokens\":%d,\"loss\":%.6f,\"lr\":%.6g,\"grad_norm\":1.5,\"tokens_per_s\":%.1f,\"ms\":20.0}\n", s, 512 * s, loss, lr, 25000 + 100 * (s % 7)
			if (s % 10 == 0)
				printf "{\"step\":%d,\"val_loss\":%.6f,\"val_tokens\":4096}\n", s, loss + 0.2
		}
	}' > "$2"
}

# readback SVG PANEL CLASS RUN [log]: the points of that polyline as
# "x y" in data units, through the panel's first and last tick marks and
# their labels (k, M, B suffixes; a log10 y axis with "log").
readback() {
	awk -v panel="$2" -v cls="$3" -v run="$4" -v ylog="$5" '
	function attr(s, a,   r) { r = s; if (!sub(".*[ ]" a "=\"", "", r)) return ""; sub("\".*", "", r); return r }
	function val(t,   m) {
		m = 1
		if (t ~ /k$/) m = 1e3; else if (t ~ /M$/) m = 1e6; else if (t ~ /B$/) m = 1e9
		sub(/[kMB]$/, "", t); return (t + 0) * m
	}
	function label(s,   t) { t = s; sub(/^[^>]*>/, "", t); sub(/<.*/, "", t); return t }
	/<g id="panel-/ { inpanel = ($0 ~ "id=\"panel-" panel "\"") }
	!inpanel { next }
	/class="xtick"/ { xp[nx++] = attr($0, "x1") }
	/class="xlabel"/ { xv[nxl++] = val(label($0)) }
	/class="ytick"/ { yp[ny++] = attr($0, "y1") }
	/class="ylabel"/ { yv[nyl++] = val(label($0)) }
	/<g class="run"/ { inrun = ($0 ~ "-run-" run "\"") }
	inrun && $0 ~ "<polyline class=\"" cls "\"" { pts = attr($0, "points") }
	END {
		if (nx < 2 || ny < 2 || nx != nxl || ny != nyl || pts == "") { print "no axes or curve"; exit 1 }
		y0 = yv[0]; y1 = yv[ny - 1]
		if (ylog == "log") { y0 = log(y0); y1 = log(y1) }
		n = split(pts, p, " ")
		for (i = 1; i <= n; i++) {
			split(p[i], c, ",")
			x = xv[0] + (c[1] - xp[0]) * (xv[nx - 1] - xv[0]) / (xp[nx - 1] - xp[0])
			y = y0 + (c[2] - yp[0]) * (y1 - y0) / (yp[ny - 1] - yp[0])
			if (ylog == "log") y = exp(y)
			printf "%.9g %.9g\n", x, y
		}
	}' "$1"
}

# same A B TOL: two-column files of equal length, every value within TOL
# (relative to the column's range in B).
same() {
	paste -d' ' "$1" "$2" | awk -v tol="$3" '
	{ n++; ax[n] = $1; ay[n] = $2; bx[n] = $3; by[n] = $4
	  if (n == 1 || $3 < lx) lx = $3; if (n == 1 || $3 > hx) hx = $3
	  if (n == 1 || $4 < ly) ly = $4; if (n == 1 || $4 > hy) hy = $4 }
	NF != 4 { bad = 1 }
	END {
		if (bad || n == 0) exit 1
		for (i = 1; i <= n; i++) {
			if ((ax[i] - bx[i]) ^ 2 > (tol * (hx - lx + 1e-30)) ^ 2) exit 1
			if ((ay[i] - by[i]) ^ 2 > (tol * (hy - ly + 1e-30)) ^ 2) exit 1
		}
	}'
}

# The values the curves should show: tokens and KEY of the step lines.
column() {
	grep "\"$2\"" "$1" | sed "s/.*\"tokens\":\\([0-9]*\\).*\"$2\":\\([-0-9.e]*\\).*/\\1 \\2/"
}

mkdir -p "$T/a" "$T/b"
metrics 60 "$T/a/metrics.jsonl"
metrics 40 "$T/b/metrics.jsonl"

run $P "$T/a/metrics.jsonl" -o "$T/a.svg"
ok $rc "one run: exit 0"
run xmllint --noout "$T/a.svg"
ok $rc "xmllint: the SVG is well-formed XML"
grep -q '<svg xmlns="http://www.w3.org/2000/svg" version="1.1"' "$T/a.svg"
ok $? "an SVG 1.1 root element"

# Rendered, a plot compresses far worse than a blank page of its size.
w=$(sed -n 's/.*<svg [^>]* width="\([0-9]*\)" height="\([0-9]*\)".*/\1 \2/p' "$T/a.svg")
printf '<svg xmlns="http://www.w3.org/2000/svg" width="%s" height="%s"><rect width="100%%" height="100%%" fill="white"/></svg>\n' $w > "$T/blank.svg"
rsvg-convert -o "$T/a.png" "$T/a.svg" && rsvg-convert -o "$T/blank.png" "$T/blank.svg"
ok $? "rsvg-convert renders it"
a=$(wc -c < "$T/a.png"); b=$(wc -c < "$T/blank.png")
[ "$a" -gt $((10 * b)) ]
ok $? "the rendering is not blank ($a bytes of PNG, a blank page $b)"

column "$T/a/metrics.jsonl" loss > "$T/want"
readback "$T/a.svg" loss loss-raw 0 > "$T/got"
same "$T/got" "$T/want" 0.002
ok $? "every training loss point reads back through the axes as its (tokens, loss)"
column "$T/a/metrics.jsonl" lr > "$T/want"
readback "$T/a.svg" lr lr 0 > "$T/got"
same "$T/got" "$T/want" 0.002
ok $? "every learning rate point reads back as its (tokens, lr)"
column "$T/a/metrics.jsonl" tokens_per_s > "$T/want"
readback "$T/a.svg" tps tps 0 > "$T/got"
same "$T/got" "$T/want" 0.002
ok $? "every tokens/s point reads back as its (tokens, tokens_per_s)"
# validation lines have no tokens: they sit at their step's tokens
grep val_loss "$T/a/metrics.jsonl" | sed 's/.*"step":\([0-9]*\),"val_loss":\([-0-9.e]*\).*/\1 \2/' |
	awk '{ print $1 * 512, $2 }' > "$T/want"
readback "$T/a.svg" loss val 0 > "$T/got"
same "$T/got" "$T/want" 0.002
ok $? "validation points read back as (tokens of their step, val_loss)"

# Round axes that hold the data tightly: ticks 1, 2 or 5 x 10^k apart, the
# first and last tick within one step of the lowest and highest loss.
awk '/id="panel-loss"/ { p = 1 } /id="panel-lr"/ { p = 0 }
	p && /class="ylabel"/ { t = $0; sub(/^[^>]*>/, "", t); sub(/<.*/, "", t); v[n++] = t + 0 }
	END { for (i = 0; i < n; i++) print v[i] }' "$T/a.svg" > "$T/ticks"
column "$T/a/metrics.jsonl" loss | awk '{ print $2 }' > "$T/losses"
awk 'NR == FNR { t[n++] = $1; next } { if (!m || $1 < lo) lo = $1; if (!m || $1 > hi) hi = $1; m = 1 }
	END {
		step = t[1] - t[0]; e = log(step) / log(10); f = step / 10 ^ int(e < 0 ? e - 1 + 1e-9 : e + 1e-9)
		if (!(f > 0.999 && f < 1.001 || f > 1.999 && f < 2.001 || f > 4.999 && f < 5.001)) exit 1
		for (i = 2; i < n; i++) if ((t[i] - t[i - 1] - step) ^ 2 > 1e-12) exit 1
		exit !(t[0] <= lo && lo < t[0] + step && t[n - 1] >= hi && hi > t[n - 1] - step)
	}' "$T/ticks" "$T/losses"
ok $? "loss axis: evenly spaced 1/2/5 x 10^k ticks, bounds within a step of the extremes ($(tr '\n' ' ' < "$T/ticks"))"

run $P --log --what loss "$T/a/metrics.jsonl" -o "$T/log.svg"
column "$T/a/metrics.jsonl" loss > "$T/want"
readback "$T/log.svg" loss loss-raw 0 log > "$T/got"
[ $rc -eq 0 ] && same "$T/got" "$T/want" 0.002
ok $? "--log: the loss points read back through a log10 axis"

run $P --loss-range 3.5,4.5 --what loss "$T/a/metrics.jsonl" -o "$T/range.svg"
column "$T/a/metrics.jsonl" loss > "$T/want"
readback "$T/range.svg" loss loss-raw 0 > "$T/got"
t=$(sed -n 's/.*class="ylabel"[^>]*>\([^<]*\)<.*/\1/p' "$T/range.svg" | tr '\n' ' ')
[ $rc -eq 0 ] && same "$T/got" "$T/want" 0.002 && echo "$t" | awk '{ exit !($1 <= 3.5 && $1 > 3.3 && $NF >= 4.5 && $NF < 4.7) }'
ok $? "--loss-range 3.5,4.5: y ticks $t, the points still read back (those outside cut off by the frame)"
run $P --loss-range 4,3 "$T/a/metrics.jsonl"
fails_with 2 "LO must be below HI" "--loss-range with LO above HI is a usage error"
run $P --log --loss-range 0,3 "$T/a/metrics.jsonl"
fails_with 2 "log axis needs LO above 0" "--loss-range from 0 on a log axis is a usage error"

# two runs: two series, two colours, named after their folders
run $P "$T/a/metrics.jsonl" "$T/b/metrics.jsonl" -o "$T/cmp.svg"
ok $rc "two runs: exit 0"
names=$(sed -n 's/.*<tspan class="run-name">\([^<]*\)<.*/\1/p' "$T/cmp.svg" | tr '\n' ' ')
[ "$names" = "a b " ]
ok $? "the legend names the runs after their folders: $names"
# make run's folders: each run's metrics are RUN/train/metrics.jsonl, so
# the folder of every one is "train"; the legend names RUN
mkdir -p "$T/mr/lr3e-3/train" "$T/mr/lr1e-3/train"
cp "$T/a/metrics.jsonl" "$T/mr/lr3e-3/train/"
cp "$T/b/metrics.jsonl" "$T/mr/lr1e-3/train/"
run $P "$T/mr/lr3e-3/train/metrics.jsonl" "$T/mr/lr1e-3/train//metrics.jsonl" -o "$T/mr.svg"
names=$(sed -n 's/.*<tspan class="run-name">\([^<]*\)<.*/\1/p' "$T/mr.svg" | tr '\n' ' ')
names2=$(p=$PWD/$P && cd "$T/mr/lr1e-3/train" && $p ./metrics.jsonl ../train/metrics.jsonl |
	sed -n 's/.*<tspan class="run-name">\([^<]*\)<.*/\1/p' | tr '\n' ' ')
[ "$names" = "lr3e-3 lr1e-3 " ] && [ "$names2" = "lr1e-3 lr1e-3 " ]
ok $? "make run's RUN/train/metrics.jsonl: named after RUN ($names; from inside train/: $names2)"
colours=$(grep '<polyline class="loss-smooth"' "$T/cmp.svg" | sed 's/.*stroke="\([^"]*\)".*/\1/' | sort -u | wc -l)
[ "$colours" -eq 2 ]
ok $? "two smoothed loss curves in two colours"
column "$T/b/metrics.jsonl" loss > "$T/want"
readback "$T/cmp.svg" loss loss-raw 1 > "$T/got"
same "$T/got" "$T/want" 0.002
ok $? "the second run's points read back as its own values"
run $P -l first -l 'x<&>"y' "$T/a/metrics.jsonl" "$T/b/metrics.jsonl" -o "$T/lab.svg"
[ $rc -eq 0 ] && xmllint --noout "$T/lab.svg" && grep -q '>first<' "$T/lab.svg" && grep -q 'x&lt;&amp;&gt;&quot;y' "$T/lab.svg"
ok $? "-l names the runs, escaped for XML"

# a file still being written: its torn last line is left out
metrics 30 "$T/grow.jsonl"
printf '{"step":31,"tokens":15872,"lo' >> "$T/grow.jsonl"
run $P "$T/grow.jsonl" -o "$T/grow.svg"
n=$(readback "$T/grow.svg" loss loss-raw 0 | wc -l)
[ $rc -eq 0 ] && [ "$n" -eq 30 ] && [ ! -s "$T/err" ]
ok $? "a torn last line is skipped quietly: 30 points plotted (got $n, exit $rc)"

# resumed and appended: the repeated steps replace the old ones
metrics 30 "$T/resumed.jsonl"
metrics 40 "$T/more.jsonl"
sed -n '23,$p' "$T/more.jsonl" >> "$T/resumed.jsonl"
run $P "$T/resumed.jsonl" -o "$T/resumed.svg"
{ head -22 "$T/resumed.jsonl"; sed -n '23,$p' "$T/more.jsonl"; } > "$T/expect.jsonl"
column "$T/expect.jsonl" loss > "$T/want"
readback "$T/resumed.svg" loss loss-raw 0 > "$T/got"
n=$(wc -l < "$T/got")
[ $rc -eq 0 ] && [ "$n" -eq 40 ] && same "$T/got" "$T/want" 0.002
ok $? "a resumed run appended to its metrics: steps 1-20, then the new 21-40 ($n points, not 50)"

# errors: file and line, exit 1, no output left behind
metrics 10 "$T/bad.jsonl"
sed -i '3s/.*/{"step":3,"tokens":1536,"loss":oops}/' "$T/bad.jsonl"
mkdir -p "$T/outdir"
run $P "$T/bad.jsonl" -o "$T/outdir/bad.svg"
fails_with 1 "bad.jsonl:3: " "a malformed line in the middle: FILE:LINE"
[ $rc -eq 1 ] && [ -z "$(ls -A "$T/outdir")" ]
ok $? "... and no SVG, not even a temporary one, is left"
sed -i '3s/.*/{"step":3,"tokens":1536,"loss":"4.5"}/' "$T/bad.jsonl"
run $P "$T/bad.jsonl" -o "$T/bad.svg"
fails_with 1 'bad.jsonl:3: "loss" is not a finite number' "a loss that is not a number: FILE:LINE"
# bonsai-report's reader (lib/metrics_log): a line with no step, or a step
# of 0 processes, is no line of bonsai-train's, not one to leave out
sed -i '3s/.*/{"tokens":1536,"loss":4.5}/' "$T/bad.jsonl"
run $P "$T/bad.jsonl" -o "$T/bad.svg"
fails_with 1 "bad.jsonl:3: not a line of bonsai-train's metrics \\(no \"step\"" "a line without a step: FILE:LINE"
sed -i '3s/.*/{"step":3,"tokens":1536,"loss":4.5,"ranks":0}/' "$T/bad.jsonl"
run $P "$T/bad.jsonl" -o "$T/bad.svg"
fails_with 1 'bad.jsonl:3: "ranks": 0 is not a number of processes' "ranks 0: FILE:LINE"
# a validation line elsewhere than right after its step's (bonsai-train's
# order): it would be drawn at another step's tokens
metrics 12 "$T/bad.jsonl"
sed -i '3s/.*/{"step":1,"val_loss":5.0,"val_tokens":4096}/' "$T/bad.jsonl"
run $P "$T/bad.jsonl" -o "$T/bad.svg"
fails_with 1 "bad.jsonl:3: a validation at step 1 after step 2's line" "a validation after another step's line: FILE:LINE"
run bin/bonsai-report --steady-rate "$T/bad.jsonl"
fails_with 1 "bad.jsonl:3: a validation at step 1 after step 2's line" "... and bonsai-report refuses it alike"
run $P "$T/missing.jsonl" -o "$T/m.svg"
fails_with 1 "missing.jsonl: .*No such file" "an unreadable file is named"
: > "$T/empty.jsonl"
run $P "$T/empty.jsonl" -o "$T/e.svg"
[ ! -e "$T/e.svg" ]
fails_with 1 "empty.jsonl: no step with a loss in it: nothing to plot" "no data points: a clear error and no SVG"
run $P --what loss,speed "$T/a/metrics.jsonl"
fails_with 2 "speed" "an unknown panel is a usage error"
run $P
fails_with 2 "give one or more metrics files" "no input is a usage error"
run $P --watch 1 "$T/a/metrics.jsonl"
fails_with 2 "give -o FILE" "--watch needs -o"
run $P --watch 1 - -o "$T/w.svg"
fails_with 2 "standard input cannot be watched" "--watch refuses standard input"

# --watch redraws as the run grows; a signal ends it with status 0
metrics 20 "$T/w.jsonl"
head -c 400 "$T/w.jsonl" > "$T/live.jsonl"
$P --watch 0.2 "$T/live.jsonl" -o "$T/live.svg" 2> "$T/werr" &
pid=$!
i=0; while [ ! -s "$T/live.svg" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
n1=$(readback "$T/live.svg" loss loss-raw 0 | wc -l)
cp "$T/w.jsonl" "$T/live.jsonl.new" && mv "$T/live.jsonl.new" "$T/live.jsonl"
i=0; while [ "$(readback "$T/live.svg" loss loss-raw 0 | wc -l)" -ne 20 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
n2=$(readback "$T/live.svg" loss loss-raw 0 | wc -l)
kill -TERM $pid; wait $pid; wrc=$?
[ "$n1" -ge 1 ] && [ "$n1" -lt 20 ] && [ "$n2" -eq 20 ] && [ $wrc -eq 0 ] && xmllint --noout "$T/live.svg"
ok $? "--watch: $n1 points, then $n2 after the file grew; SIGTERM ends it with status 0 (got $wrc)"

# started with nohup (SIGHUP ignored), a hangup does not end it: it ended
# --watch, and would stop a training, as if the user had asked
if command -v nohup >/dev/null; then
	nohup $P --watch 0.2 "$T/live.jsonl" -o "$T/hup.svg" >/dev/null 2>"$T/herr" &
	pid=$!
	i=0; while [ ! -s "$T/hup.svg" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	kill -HUP $pid; sleep 0.5
	kill -0 $pid 2>/dev/null; alive=$?
	kill -TERM $pid; wait $pid; wrc=$?
	[ $alive -eq 0 ] && [ $wrc -eq 0 ]
	ok $? "under nohup, SIGHUP is left ignored; SIGTERM still ends it (status $wrc)"
else
	skip "nohup not installed"
fi

run $P --help
[ $rc -eq 0 ] && grep -q -- "--watch" "$T/out" && grep -q -- "--what" "$T/out"
ok $? "--help lists the options"
run $P -V
ok $rc "-V"

done_testing

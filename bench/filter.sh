#!/bin/sh
# bench/filter.sh - bonsai-filter throughput on JSON Lines made from
# tinyshakespeare (one document per paragraph, repeated to about 50 MB;
# each repetition numbers its paragraphs, so --dedup sees distinct texts
# except where the play repeats itself).
# Usage: bench/filter.sh [WORKDIR]   (run from the project root)
set -e
SHARED=${BONSAI_SHARED:-../shared}
W=${1:-${TMPDIR:-/tmp}/bonsai-filter-bench}
mkdir -p "$W"
src="$SHARED/fixtures/text/tinyshakespeare.txt"
[ -f "$src" ] || { echo "no $src" >&2; exit 1; }
if [ ! -s "$W/docs.jsonl" ]; then
	# paragraphs -> JSON strings with awk (escapes \ " and newlines)
	awk -v reps=28 'BEGIN { RS = ""; n = 0 }
		{ gsub(/\\/, "\\\\"); gsub(/"/, "\\\""); gsub(/\n/, "\\n"); p[n++] = $0 }
		END { id = 0; for (r = 0; r < reps; r++) for (i = 0; i < n; i++)
			printf "{\"id\":%d,\"text\":\"%s\",\"int_score\":%d,\"score\":%.3f,\"language\":\"en\",\"language_score\":0.9%d}\n",
				id++, (r ? "[" r "] " : "") p[i], id % 5, (id % 500) / 100.0, id % 10 }' "$src" >"$W/docs.jsonl"
fi
# The same with every word-final "e" written as e + U+0301 (NFD), so that
# NFC has work in most lines: the slow path of the hygiene.
[ -s "$W/nfd.jsonl" ] || sed 's/e /e\xcc\x81 /g' "$W/docs.jsonl" >"$W/nfd.jsonl"
IN="$W/docs.jsonl"
bytes=$(wc -c <"$IN")
docs=$(wc -l <"$IN")
echo "input: $docs documents, $bytes bytes; best of 3 runs"
# one ARGS...: best of 3 runs: wall time, and CPU time (user + sys), which
# says more than wall time when other jobs share the cores.
one() {
	best=
	for r in 1 2 3; do
		/usr/bin/time -f "%e %U %S" -o "$W/time" bin/bonsai-filter -q "$@" "$IN" >/dev/null
		read -r wall usr sys <"$W/time"
		best=$(awk -v w="$wall" -v c="$(awk -v u="$usr" -v s="$sys" 'BEGIN { print u + s }')" -v best="$best" \
			'BEGIN { split(best, b, " "); print (best == "" || w < b[1]) ? w " " c : best }')
	done
	set -- "$*" $best
	awk -v a="$1" -v s="$2" -v c="$3" -v b="$bytes" -v d="$docs" \
		'BEGIN { if (s <= 0) s = 0.01; if (c <= 0) c = 0.01
		printf "| %s | %.2f | %.0f | %.1f | %.2f | %.1f |\n", (a == "" ? "(hygiene only)" : a), s, d / s, b / s / 1e6, c, b / c / 1e6 }'
}
echo "| options | wall s | docs/s | MB/s | CPU s | MB per CPU-s |"
echo "| --- | --- | --- | --- | --- | --- |"
one
one --no-nfc
one -j 2
one --min-int-score 3 --min-chars 200
one --dedup
one --near-dedup
one --min-int-score 2 --min-chars 100 --dedup --near-dedup
one -j 2 --near-dedup
one -j 2 --min-int-score 2 --min-chars 100 --dedup --near-dedup
IN="$W/nfd.jsonl"
bytes=$(wc -c <"$IN")
echo "input with NFD accents: $docs documents, $bytes bytes"
echo "| options | wall s | docs/s | MB/s | CPU s | MB per CPU-s |"
echo "| --- | --- | --- | --- | --- | --- |"
one
one --no-nfc
one -j 2

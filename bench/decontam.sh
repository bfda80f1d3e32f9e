#!/bin/sh
# bench/decontam.sh - bonsai-filter with --decontaminate on and off, on the
# FineWeb-Edu fixture rows (both parquet files through bonsai-fetch), the
# items from the fixture eval sets. CPU seconds (user + system) say more
# than wall time on a shared machine; the run with empty input is the cost
# of reading the sets and building the table.
# Usage: bench/decontam.sh [WORKDIR]   (run from the project root)
set -e
SHARED=${BONSAI_SHARED:-../shared}
W=${1:-${TMPDIR:-/tmp}/bonsai-decontam-bench}
E=$SHARED/fixtures/eval
mkdir -p "$W"
if [ ! -s "$W/fineweb-edu.jsonl" ]; then
	bin/bonsai-fetch -q -o "$W/fineweb-edu.jsonl" \
		"$SHARED"/fixtures/fineweb-edu/sample/10BT/*.parquet
fi
: >"$W/empty.jsonl"
IN=$W/fineweb-edu.jsonl
echo "input: $(wc -l <"$IN") documents, $(wc -c <"$IN") bytes; sets: $E; best of 3 runs"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| options | input | wall s | docs/s | CPU s | MB per CPU-s |"
echo "| --- | --- | --- | --- | --- | --- |"
# one INPUT ARGS...: the run of least CPU time of 3
one() {
	in=$1
	shift
	best=
	for r in 1 2 3; do
		/usr/bin/time -f "%e %U %S" -o "$W/time" bin/bonsai-filter -q "$@" "$in" >/dev/null
		best=$(awk -v best="$best" '{ c = $2 + $3; split(best, b, " ")
			print (best == "" || c < b[2]) ? $1 " " c : best }' "$W/time")
	done
	set -- "$*" $best
	awk -v a="$1" -v w="$2" -v c="$3" -v b="$(wc -c <"$in")" -v d="$(wc -l <"$in")" \
		-v name="$(basename "$in")" 'BEGIN { if (c <= 0) c = 0.01; if (w <= 0) w = 0.01
		printf "| %s | %s | %.2f | %.0f | %.2f | %.1f |\n", (a == "" ? "(rule off)" : a), name,
			w, d / w, c, b / c / 1e6 }'
}
one "$IN"
one "$IN" --decontaminate "$E"
one "$IN" --decontaminate "$E" --decontaminate-cut
one "$IN" -j 2 --decontaminate "$E"
one "$W/empty.jsonl" --decontaminate "$E"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

#!/bin/sh
# list-files.sh FILES PARQUET [LIST-CMD...]: the parquet files of a run, one
# line each: name, path, size, sha256 (tab-separated). PARQUET: local files;
# else LIST-CMD prints a dataset's files (bonsai-fetch --list). FILES: keep
# the first FILES of them (all when empty). The names must be distinct.
set -eu
n=$1 local=$2
shift 2
if [ -n "$local" ]; then
	for f in $local; do
		[ -f "$f" ] || { echo "list-files.sh: $f: no such file" >&2; exit 1; }
		printf '%s\t%s\t%s\t%s\n' "$f" "$(stat -c %s "$f")" "$(sha256sum "$f" | cut -d' ' -f1)"
	done
else
	"$@"
fi | awk -F'\t' -v n="${n:-0}" '
	n > 0 && NR > n { exit }
	{ name = $1; sub(/.*\//, "", name); sub(/\.parquet$/, "", name)
	  if (name in seen) { print "list-files.sh: two files named " name > "/dev/stderr"; bad = 1; exit 1 }
	  seen[name] = 1; print name "\t" $1 "\t" $2 "\t" $3; k++ }
	END { if (bad) exit 1; if (!k) { print "list-files.sh: no parquet files" > "/dev/stderr"; exit 1 } }'

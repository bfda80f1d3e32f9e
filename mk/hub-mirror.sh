#!/bin/bash
# hub-mirror.sh SRC REPO CONFIG -- CMD...: runs CMD with HF_ENDPOINT set to
# a Hugging Face Hub mirror of dataset REPO on 127.0.0.1 (lighttpd), whose
# CONFIG directory (sample-10BT: sample/10BT) holds the .parquet files of
# SRC/<that directory>. make demo fetches the test data through it, exactly
# as make run fetches from the Hub. The server stops when CMD ends.
set -u
[ $# -ge 5 ] && [ "$4" = -- ] || { echo "usage: hub-mirror.sh SRC REPO CONFIG -- CMD..." >&2; exit 2; }
src=$1 repo=$2 config=$3
shift 4
case $config in
sample-*) dir=sample/${config#sample-} ;;
CC-MAIN-*) dir=data/$config ;;
*) dir=$config ;;
esac
ls "$src/$dir"/*.parquet > /dev/null 2>&1 || { echo "hub-mirror.sh: no .parquet files in $src/$dir" >&2; exit 1; }
command -v lighttpd > /dev/null || [ -x /usr/sbin/lighttpd ] ||
	{ echo "hub-mirror.sh: lighttpd is not installed (sh mk/deps.sh installs it)" >&2; exit 1; }
. "$(dirname "$0")/lighttpd.sh"

T=$(mktemp -d "${TMPDIR:-/tmp}/bonsai-hub.XXXXXX") || exit 1
LPID=
trap '[ -n "$LPID" ] && kill "$LPID" 2>/dev/null; rm -rf "$T"' EXIT
R=$T/root
mkdir -p "$R/datasets/$repo/resolve/main/$dir" "$R/api/datasets/$repo/tree/main/$(dirname "$dir")"
entries=
for f in "$src/$dir"/*.parquet; do
	b=$(basename "$f")
	ln -s "$(realpath "$f")" "$R/datasets/$repo/resolve/main/$dir/$b"
	sz=$(stat -c %s "$f")
	sha=$(sha256sum "$f" | cut -d' ' -f1)
	entries="$entries${entries:+,}{\"type\":\"file\",\"size\":$sz,\"lfs\":{\"oid\":\"$sha\",\"size\":$sz},\"path\":\"$dir/$b\"}"
done
echo "[$entries]" > "$R/api/datasets/$repo/tree/main/$dir"
# the revision API: the commit the Hub cache's snapshot is named by (here
# the listing's own hash, so that other files make another snapshot)
mkdir -p "$R/api/datasets/$repo/revision"
echo "{\"sha\":\"$(sha1sum < "$R/api/datasets/$repo/tree/main/$dir" | cut -c1-40)\"}" > "$R/api/datasets/$repo/revision/main"
start_lighttpd "$R" "$T" || { echo "hub-mirror.sh: could not start lighttpd ($T/lighttpd.log)" >&2; exit 1; }
export HF_ENDPOINT=http://127.0.0.1:$PORT
# a SIGTERM that ends this script ends CMD too (it would fetch on, unseen)
. "$(dirname "$0")/passon.sh"
passon_exit "$@"

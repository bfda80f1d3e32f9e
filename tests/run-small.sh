# run-small.sh - sourced by the tests that stop and start small make runs
# (tests/run-demo.t, tests/run-interrupt.t, tests/run-lock.t): the TAP
# helpers, the test data's Hub mirror served on 127.0.0.1 (no other
# network), and small(), the make variables of a run of seconds into
# folder $1. Not a test itself.
. tests/tap.sh
need_shared
command -v lighttpd > /dev/null || [ -x /usr/sbin/lighttpd ] || skip_all "lighttpd not installed"
command -v setsid > /dev/null || skip_all "setsid not installed"

# Anything but 127.0.0.1 goes to a closed port: the runs are offline.
export http_proxy=http://127.0.0.1:9 https_proxy=http://127.0.0.1:9 no_proxy=127.0.0.1
small() { echo "RUN=demo RUN_DIR=$1 FILES=1 TOKENS=12288 SAVE_EVERY=2 EVAL_EVERY=4 EVAL_TOKENS=2048 TASK_OPTS=--limit=4 PPL_OPTS=--max-tokens=2k"; }
# same_files A B: the two run folders hold the same files (locks and
# checkpoints aside, --keep chooses those) and the same outputs, the final
# checkpoint included; what differs is in $T/files.diff
same_files() {
	(cd "$1" && find . -type f ! -name '*.lock' ! -name 'ckpt-*' | sort) > "$T/a"
	(cd "$2" && find . -type f ! -name '*.lock' ! -name 'ckpt-*' | sort) > "$T/b"
	diff "$T/a" "$T/b" > "$T/files.diff" || return 1
	for f in files.tsv docs/000_00000.jsonl clean/000_00000.jsonl tokenizer/tokenizer.json \
		tokenizer/info.json tokens/000_00000.ts shards/manifest shards/train_000000.bin \
		train/checkpoint.sha256 train/ckpt-00000006.safetensors; do
		cmp -s "$1/$f" "$2/$f" || { echo "differs: $f" > "$T/files.diff"; return 1; }
	done
}

# eval-common.sh - sourced by tests/eval-*.t and tests/generate-*.t: the
# fixtures' paths, a skip when one is absent, a temporary directory and a
# TAP counter. Not a test itself.

SHARED=${BONSAI_SHARED:-../shared}
F=$SHARED/fixtures
M=$F/eval/lm_eval_tiny
TOK=$F/tokenizers/tiktoken/r50k_base.tiktoken

# eval_setup FILE...: skips the whole test (exit 0) when a FILE is absent;
# else $TMP, a temporary directory removed at exit.
eval_setup() {
	for f in "$@"; do
		if [ ! -f "$f" ]; then
			echo "1..0 # SKIP $f is absent"
			exit 0
		fi
	done
	TMP=$(mktemp -d) || exit 1
	trap 'rm -rf "$TMP"' EXIT
}

# ok STATUS NAME: one TAP line, numbered in order.
n=0
ok() { n=$((n + 1)); if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }

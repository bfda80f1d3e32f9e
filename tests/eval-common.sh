# eval-common.sh - sourced by tests/eval-*.t and tests/generate-*.t: the
# TAP helpers (tap.sh), the fixtures' paths and a skip when one is absent.
# Not a test itself.

. tests/tap.sh
F=$SHARED/fixtures
M=$F/eval/lm_eval_tiny
TOK=$F/tokenizers/tiktoken/r50k_base.tiktoken

# eval_setup FILE...: skips the whole test (exit 0) when a FILE is absent;
# else $TMP, a temporary directory removed at exit (tap.sh's $T).
eval_setup() {
	for f in "$@"; do
		[ -f "$f" ] || skip_all "$f is absent"
	done
	TMP=$T
}

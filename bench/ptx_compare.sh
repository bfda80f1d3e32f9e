#!/bin/sh
# ptx_compare.sh - is the PTX of every kernel of the GPU model the same in
# two versions of the tree, apart from renamed kernels? For a pure move or
# rename of the CUDA code (no behaviour change) the answer must be yes.
#   bench/ptx_compare.sh OLD [NEW]
# OLD, NEW: git revisions (NEW default: the work tree). Each version's model
# (lib/cuda/gemma3_gpu.cu, or train/cuda/gpu_trainer.cu before issue 12) is
# compiled to PTX for every compute_XX of the Makefile's NVCCFLAGS, split
# into one file per .entry, and each kernel is compared under its demangled
# name, the OLD names mapped through bench/ptx_renames.txt ("old new"
# lines). In a kernel's text its own mangled name and the function index in
# the basic-block labels are normalised (both follow the name and the
# kernel's place in the file). Prints one line per architecture; exit 1 if
# a kernel of OLD is missing from NEW or differs. Needs nvcc and c++filt;
# a few minutes on 2 cores.
set -eu
[ $# -ge 1 ] || { echo "usage: bench/ptx_compare.sh OLD [NEW]" >&2; exit 2; }
old=$1 new=${2:-}
command -v c++filt >/dev/null || { echo "ptx_compare.sh: needs c++filt (binutils)" >&2; exit 2; }
top=$(git rev-parse --show-toplevel)
cd "$top"
W=$(mktemp -d "${TMPDIR:-/tmp}/ptx_compare.XXXXXX")
trap 'rm -rf "$W"' EXIT
flags=$(make -s --no-print-directory print-NVCCFLAGS)
archs=$(echo "$flags" | grep -o 'compute_[0-9a-z]*' | sort -u)
base=$(echo "$flags" | tr ' ' '\n' | grep -v '^-gencode' | tr '\n' ' ')
renames=$(grep -v '^#' bench/ptx_renames.txt | awk 'NF == 2 {printf "s/\\<%s\\>/%s/g;", $1, $2}')

tree() { # tree REV DIR: the sources of REV (or the work tree) in DIR
	mkdir -p "$2"
	if [ -n "$1" ]; then
		git archive "$1" lib train | tar -x -C "$2"
	else
		tar -c lib train | tar -x -C "$2"
	fi
}
model() { # model DIR: the model's .cu in DIR
	for f in lib/cuda/gemma3_gpu.cu train/cuda/gpu_trainer.cu; do
		[ -f "$1/$f" ] && { echo "$f"; return; }
	done
	echo "no GPU model in $1" >&2
	exit 2
}
# split PTX DIR MAP_SED: kernel files DIR/k.N with DIR/names (N name)
split() {
	mkdir -p "$2"
	awk -v d="$2" '
		/^\.(visible|weak) \.entry / { n++; name = $3; sub(/\(.*/, "", name);
			f = d "/k." n; print n, name > (d "/mangled"); inb = 1 }
		inb { print > f }
		inb && /^}$/ { inb = 0; close(f) }' "$1"
	while read -r n m; do
		body=${m#_Z}
		sed -e "s/$body/ENTRY/g" -e 's/\$L__BB[0-9]*_/$L__BB_/g' "$2/k.$n" > "$2/n.$n"
		printf '%s\t%s\n' "$(echo "$m" | c++filt | sed "$3")" "$n"
	done < "$2/mangled" | sort > "$2/names"
}

tree "$old" "$W/old"
tree "$new" "$W/new"
mo=$(model "$W/old") mn=$(model "$W/new")
status=0
for a in $archs; do
	for v in old new; do
		m=$mo; [ $v = new ] && m=$mn
		(cd "$W/$v" && nvcc $base -arch="$a" -ptx -o "$W/$v.$a.ptx" "$m") &
	done
	wait
	split "$W/old.$a.ptx" "$W/old.$a" "$renames"
	split "$W/new.$a.ptx" "$W/new.$a" ""
	same=0 differ=0 missing=0
	cut -f1 "$W/old.$a/names" | sort > "$W/o"
	added=$(cut -f1 "$W/new.$a/names" | sort | comm -13 "$W/o" - | wc -l)
	while IFS="$(printf '\t')" read -r name n; do
		k=$(awk -F'\t' -v s="$name" '$1 == s {print $2; exit}' "$W/new.$a/names")
		if [ -z "$k" ]; then
			missing=$((missing + 1)); echo "  missing in new: $name"
		elif cmp -s "$W/old.$a/n.$n" "$W/new.$a/n.$k"; then
			same=$((same + 1))
		else
			differ=$((differ + 1)); echo "  differs: $name"
		fi
	done < "$W/old.$a/names"
	echo "$a: $same kernels identical, $differ differ, $missing missing, $added new ($mo at ${old} -> $mn at ${new:-work tree})"
	[ $differ -eq 0 ] && [ $missing -eq 0 ] || status=1
done
exit $status

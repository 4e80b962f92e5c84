#!/usr/bin/env bash
# Replaying gzip archives: distillscan scan on a gzip -6 copy of a corpus,
# with the ISA-L decoder (the default) and with zlib (DISTILLSCAN_GZIP=zlib),
# next to the same scan of the plain corpus and a bare `gzip -dc` of the
# archive, all in one run on this machine. Rounds alternate the commands;
# each figure is the median wall time over ROUNDS.
#
# usage: bench/gzip.sh [BUILD_DIR]            (default BUILD_DIR: ./build)
# env:   CORPUS=path   plain JSON-lines corpus (default bench/out/c200.jsonl; made with
#                      distillscan-gen --seed 1 --target-bytes 200M when missing)
#        ROUNDS=5      rounds
#        THREADS="1 2" distillscan -j values
#        RESULTS=path  also write the markdown table here
# The .gz copy is kept next to the corpus and reused while newer than it.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
build=${1:-$repo/build}
[[ $build == /* ]] || build=$PWD/$build
ds=$build/src/app/distillscan
gen=$build/bench/distillscan-gen
CORPUS=${CORPUS:-$repo/bench/out/c200.jsonl}
ROUNDS=${ROUNDS:-5}
THREADS=${THREADS:-"1 2"}

die() { echo "bench/gzip.sh: $*" >&2; exit 1; }
[[ -x $ds ]] || die "$ds not built (cmake --build --preset release)"
command -v gzip >/dev/null || die "gzip missing (apt-get install -y gzip)"
if [[ ! -s $CORPUS ]]; then
  [[ -x $gen ]] || die "no corpus at $CORPUS and $gen not built"
  mkdir -p "$(dirname "$CORPUS")"
  "$gen" --quiet --seed 1 --target-bytes 200M --out "$CORPUS"
fi
gz=$CORPUS.gz
if [[ ! -s $gz || $gz -ot $CORPUS ]]; then
  echo "bench/gzip.sh: compressing $CORPUS (gzip -6)" >&2
  gzip -6 -c "$CORPUS" > "$gz.tmp" && mv "$gz.tmp" "$gz"
fi
if ldd "$ds" 2>/dev/null | grep -q libisal; then decoder="built with ISA-L"; else decoder="built without ISA-L: both .gz rows are zlib"; fi
bytes=$(stat -c %s "$CORPUS")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat "$CORPUS" "$gz" > /dev/null  # both in the page cache before the first round

ms() {  # wall milliseconds of one run of "$@" (output discarded)
  local t0 t1
  t0=$(date +%s%N)
  "$@" > /dev/null 2>&1 || die "failed: $*"
  t1=$(date +%s%N)
  echo $(((t1 - t0) / 1000000))
}

names=("gzip -dc (bare decompression)")
cmds=("gzip -dc $gz")
for j in $THREADS; do
  names+=("scan -j $j, plain file" "scan -j $j, .gz, ISA-L" "scan -j $j, .gz, zlib")
  cmds+=("env -u DISTILLSCAN_GZIP $ds scan -j $j -o /dev/null --no-summary $CORPUS"
         "env -u DISTILLSCAN_GZIP $ds scan -j $j -o /dev/null --no-summary $gz"
         "env DISTILLSCAN_GZIP=zlib $ds scan -j $j -o /dev/null --no-summary $gz")
done
for ((r = 1; r <= ROUNDS; r++)); do
  for i in "${!cmds[@]}"; do
    # shellcheck disable=SC2086  # the command lines are split on purpose
    ms ${cmds[$i]} >> "$work/$i"
  done
done
median() { sort -n "$1" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

{
  echo "gzip replay, $(date -u +%Y-%m-%d), $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'))"
  echo "corpus $CORPUS: $bytes bytes plain, $(stat -c %s "$gz") gzip -6; $decoder; median of $ROUNDS alternating rounds"
  echo
  echo "| command | wall (s) | MB/s of plain bytes | vs plain scan, same -j |"
  echo "|---|---|---|---|"
  plain_ms=0
  for i in "${!cmds[@]}"; do
    m=$(median "$work/$i")
    [[ ${names[$i]} == *"plain file"* ]] && plain_ms=$m
    rel="-"
    [[ ${names[$i]} == *".gz"* && $plain_ms -gt 0 ]] && rel=$(awk -v p="$plain_ms" -v m="$m" 'BEGIN { printf "%.2f", p / m }')
    awk -v n="${names[$i]}" -v m="$m" -v b="$bytes" -v rel="$rel" \
      'BEGIN { printf "| %s | %.2f | %.0f | %s |\n", n, m / 1000, b / 1e6 / (m / 1000), rel }'
  done
} | tee "${RESULTS:-/dev/null}"

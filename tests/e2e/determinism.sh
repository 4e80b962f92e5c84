#!/usr/bin/env bash
# Determinism contract: `scan` writes byte-identical alerts (and identical
# counts) for any --threads value, any internal chunk size, and whether the
# input is plain, gzip, zstd or stdin.
# Usage: determinism.sh DISTILLSCAN SOURCE_DIR BUILD_DIR
set -euo pipefail
bin=$1; src=$2; build=$3
gen=$build/bench/distillscan-gen
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$gen" --seed 7 --accounts 120 --hours 6 --out "$work/in.jsonl" --labels "$work/labels.csv"
# A few hostile lines so error accounting is part of the comparison.
printf '{"timestamp":"2026-11-01T01:00:00Z"\n\n not json\n{"timestamp":"2026-11-01T01:00:00Z","account_id":"x"}\r\n' >> "$work/in.jsonl"
gzip -c "$work/in.jsonl" > "$work/in.jsonl.gz"
zstd -q -c "$work/in.jsonl" > "$work/in.jsonl.zst"

norm() { sed -E 's/,"seconds":[^,}]*//; s/,"peak_rss_bytes":[^,}]*//; s/,"cpu_seconds":\{[^}]*\}//' "$1"; }

run() {  # name, then scan arguments
  local name=$1; shift
  "$bin" scan --no-summary -o "$work/$name.alerts" --stats "$work/$name.stats" "$@"
  norm "$work/$name.stats" > "$work/$name.stats.norm"
}

run ref -j 1 "$work/in.jsonl"
alerts=$(wc -l < "$work/ref.alerts")
echo "reference: $alerts alerts; $(cat "$work/ref.stats.norm")"
(( alerts > 0 )) || { echo "FAIL: the reference run produced no alerts; the comparison would be vacuous"; exit 1; }

fail=0
check() {
  if ! cmp -s "$work/ref.alerts" "$work/$1.alerts"; then
    echo "FAIL: $1: alerts differ from -j 1"; diff "$work/ref.alerts" "$work/$1.alerts" | head -5; fail=1
  elif ! cmp -s "$work/ref.stats.norm" "$work/$1.stats.norm"; then
    echo "FAIL: $1: stats differ"; diff "$work/ref.stats.norm" "$work/$1.stats.norm"; fail=1
  else
    echo "ok: $1"
  fi
}
for j in 2 8; do run "j$j" -j "$j" "$work/in.jsonl"; check "j$j"; done
for chunk in 1KiB 64KiB 1MiB 7KiB; do  # 7KiB last: read7KiB below uses it
  printf 'limits:\n  chunk_bytes: %s\n' "$chunk" > "$work/chunk.yaml"
  run "chunk$chunk" -j 2 -c "$work/chunk.yaml" "$work/in.jsonl"; check "chunk$chunk"
done
# Plain files are mapped (source/mapped_file.hpp); read(2) must give the same.
DISTILLSCAN_NO_MMAP=1 run read -j 2 "$work/in.jsonl"; check read
DISTILLSCAN_NO_MMAP=1 run read7KiB -j 2 -c "$work/chunk.yaml" "$work/in.jsonl"; check read7KiB
run gz -j 2 "$work/in.jsonl.gz"; check gz
run zst -j 2 "$work/in.jsonl.zst"; check zst
"$bin" scan --no-summary -j 3 -o "$work/stdin.alerts" --stats "$work/stdin.stats" - < "$work/in.jsonl"
norm "$work/stdin.stats" > "$work/stdin.stats.norm"; check stdin
exit $fail

#!/usr/bin/env bash
# Runs one golden case: tests/golden/<case>/ holds input*.jsonl* (fed in name
# order), optional config.yaml, optional rules/ (else the bundled rules), optional
# args (extra CLI arguments, one per line) and expected/{alerts.jsonl,stats.json}.
# With REGEN=1 the expected files are rewritten instead of compared.
# Usage: run_case.sh DISTILLSCAN_BINARY CASE_DIR
set -euo pipefail
bin=$1
case_dir=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

args=(scan -j 2 -o "$work/alerts.jsonl" --stats "$work/stats.json" --no-summary)
[[ -f $case_dir/config.yaml ]] && args+=(-c "$case_dir/config.yaml")
[[ -d $case_dir/rules ]] && args+=(-r "$case_dir/rules")
if [[ -f $case_dir/args ]]; then
  while IFS= read -r a; do [[ -n $a ]] && args+=("$a"); done < "$case_dir/args"
fi
shopt -s nullglob
inputs=("$case_dir"/input*)
(( ${#inputs[@]} > 0 )) || { echo "no input files in $case_dir"; exit 1; }

rc=0
"$bin" "${args[@]}" "${inputs[@]}" 2> "$work/stderr" || rc=$?
expected_rc=0
[[ -f $case_dir/expected/exit_code ]] && expected_rc=$(cat "$case_dir/expected/exit_code")
# Run-dependent figures are not part of the golden output.
sed -E 's/,"seconds":[^,}]*//; s/,"peak_rss_bytes":[^,}]*//; s/,"cpu_seconds":\{[^}]*\}//' "$work/stats.json" > "$work/stats.norm.json"

if [[ ${REGEN:-0} == 1 ]]; then
  mkdir -p "$case_dir/expected"
  cp "$work/alerts.jsonl" "$case_dir/expected/alerts.jsonl"
  cp "$work/stats.norm.json" "$case_dir/expected/stats.json"
  [[ $rc != 0 ]] && echo "$rc" > "$case_dir/expected/exit_code"
  echo "regenerated $(basename "$case_dir") (exit $rc)"
  exit 0
fi

fail=0
if [[ $rc != "$expected_rc" ]]; then
  echo "exit status $rc, expected $expected_rc"; cat "$work/stderr"; fail=1
fi
if ! diff -u "$case_dir/expected/alerts.jsonl" "$work/alerts.jsonl"; then
  echo "alerts differ from $case_dir/expected/alerts.jsonl"; fail=1
fi
if ! diff -u "$case_dir/expected/stats.json" "$work/stats.norm.json"; then
  echo "stats differ from $case_dir/expected/stats.json"; fail=1
fi
# The stats contract: records + sum(errors) == lines.
lines=$(grep -o '"lines":[0-9]*' "$work/stats.json" | cut -d: -f2)
records=$(grep -o '"records":[0-9]*' "$work/stats.json" | cut -d: -f2)
errsum=$(grep -o '"errors":{[^}]*}' "$work/stats.json" | grep -o ':[0-9]*' | tr -d : | awk '{s+=$1} END {print s+0}')
errsum=${errsum:-0}
if (( records + errsum != lines )); then
  echo "records ($records) + errors ($errsum) != lines ($lines)"; fail=1
fi
exit $fail

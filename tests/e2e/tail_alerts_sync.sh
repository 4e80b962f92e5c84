#!/usr/bin/env bash
# `tail` must not checkpoint lines whose alerts could not be written out: when
# flushing (or fdatasync'ing) the alerts file fails, the checkpoint is skipped
# and counted (checkpoint_failures), so a restart processes those lines again
# instead of losing their alerts. The alerts file here is /dev/full (every
# flush fails with ENOSPC).
# Usage: tail_alerts_sync.sh DISTILLSCAN SOURCE_DIR BUILD_DIR
set -euo pipefail
bin=$1; src=$2; build=$3
gen=$build/bench/distillscan-gen
work=$(mktemp -d)
tailpid=""
cleanup() { [[ -n $tailpid ]] && kill -9 "$tailpid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

mkdir "$work/logs"
"$gen" --seed 11 --accounts 120 --hours 6 --out "$work/logs/app.jsonl" --labels "$work/labels.csv" > /dev/null 2>&1
"$bin" scan --no-summary -j 2 -o "$work/scan.alerts" --stats "$work/scan.stats" "$work/logs/app.jsonl"
want_lines=$(jq .lines "$work/scan.stats")
(( $(wc -l < "$work/scan.alerts") > 0 )) || { echo "FAIL: the corpus raises no alert (vacuous)"; exit 1; }

"$bin" tail -j 2 --metrics-listen off --state-dir "$work/state" --checkpoint-interval 1 \
  --stats "$work/tail.stats" -o /dev/full "$work/logs/app.jsonl" 2> "$work/tail.err" &
tailpid=$!
for _ in $(seq 1 150); do
  [[ -s $work/tail.stats ]] && (( $(jq .lines "$work/tail.stats") >= want_lines )) &&
    (( $(jq .tail.checkpoint_failures "$work/tail.stats") >= 1 )) && break
  sleep 0.1
done
kill -TERM "$tailpid"; rc=0; wait "$tailpid" || rc=$?; tailpid=""
fails=$(jq .tail.checkpoint_failures "$work/tail.stats")
(( $(jq .lines "$work/tail.stats") >= want_lines )) || { echo "FAIL: tail did not process the file"; cat "$work/tail.err"; exit 1; }
(( fails >= 1 )) || { echo "FAIL: no checkpoint failure counted although the alerts could not be written"; exit 1; }
[[ ! -e $work/state/checkpoint ]] ||
  { echo "FAIL: a checkpoint was written although its lines' alerts were lost (flush to /dev/full failed)"; exit 1; }
grep -q "no checkpoint is taken until" "$work/tail.err" || { echo "FAIL: the skipped checkpoint was not logged"; cat "$work/tail.err"; exit 1; }
echo "ok: alerts flush failing -> $fails checkpoint(s) skipped and counted, none written (tail exit $rc)"

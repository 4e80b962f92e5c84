#!/usr/bin/env bash
# `tail` recovers from a full disk without a restart and without losing,
# repeating or reordering an alert: the alerts file sits on a small tmpfs
# that is filled up before tail starts, so its alert writes fail with ENOSPC
# and checkpoints are skipped and counted meanwhile. Once the filler is
# removed, the held alerts are written, checkpoints resume, and the alerts
# file ends up byte for byte equal to a `scan` of the same log.
# Needs root (mount -t tmpfs); skipped (77) otherwise.
# Usage: tail_alerts_recover.sh DISTILLSCAN SOURCE_DIR BUILD_DIR
set -euo pipefail
bin=$1; src=$2; build=$3
gen=$build/bench/distillscan-gen
work=$(mktemp -d)
tailpid=""
cleanup() {
  set +e
  if [[ -n $tailpid ]]; then kill -9 "$tailpid" 2>/dev/null; wait "$tailpid" 2>/dev/null; fi
  mountpoint -q "$work/fs" 2>/dev/null && { umount "$work/fs" || umount -l "$work/fs"; }
  rm -rf "$work"
}
trap cleanup EXIT

mkdir "$work/logs" "$work/fs"
if [[ $(id -u) != 0 ]] || ! mount -t tmpfs -o size=4m tmpfs "$work/fs" 2>/dev/null; then
  echo "SKIP: needs root to mount a small tmpfs"
  exit 77
fi
"$gen" --seed 11 --accounts 120 --hours 6 --out "$work/logs/app.jsonl" --labels "$work/labels.csv" > /dev/null 2>&1
"$bin" scan --no-summary -j 2 -o "$work/scan.alerts" --stats "$work/scan.stats" "$work/logs/app.jsonl"
want_lines=$(jq .lines "$work/scan.stats")
(( $(wc -l < "$work/scan.alerts") > 0 )) || { echo "FAIL: the corpus raises no alert (vacuous)"; exit 1; }
(( $(stat -c %s "$work/scan.alerts") < 3 * 1024 * 1024 )) || { echo "FAIL: the alerts do not fit the 4 MiB tmpfs"; exit 1; }

# Fill the file system but for two pages: the first alerts fit, then a
# write stops in the middle of a line, and the rest of it must follow later.
dd if=/dev/zero of="$work/fs/filler" bs=64k 2>/dev/null || true
truncate -s -8K "$work/fs/filler"
alerts=$work/fs/alerts.jsonl
stats=$work/tail.stats
"$bin" tail -j 2 --metrics-listen off --state-dir "$work/state" --checkpoint-interval 1 \
  --stats "$stats" -o "$alerts" "$work/logs/app.jsonl" 2> "$work/tail.err" &
tailpid=$!
# Checkpoints before the first alert may succeed (nothing is held yet); from
# the first skipped one on, none may be taken while the disk is full.
for _ in $(seq 1 300); do
  [[ -s $stats ]] && (( $(jq .tail.checkpoint_failures "$stats") >= 1 )) && break
  sleep 0.1
done
(( $(jq .tail.checkpoint_failures "$stats") >= 1 )) || { echo "FAIL: no checkpoint skipped while the disk was full"; cat "$work/tail.err"; exit 1; }
ckpts0=$(jq .tail.checkpoints "$stats")
for _ in $(seq 1 300); do
  (( $(jq .lines "$stats") >= want_lines )) && (( $(jq .tail.checkpoint_failures "$stats") >= 3 )) && break
  sleep 0.1
done
(( $(jq .lines "$stats") >= want_lines )) || { echo "FAIL: tail did not process the file"; cat "$work/tail.err"; exit 1; }
fails=$(jq .tail.checkpoint_failures "$stats")
(( fails >= 3 )) || { echo "FAIL: fewer than 3 checkpoints skipped while the disk was full"; cat "$work/tail.err"; exit 1; }
(( $(jq .tail.checkpoints "$stats") == ckpts0 )) || { echo "FAIL: a checkpoint was taken while alerts were held"; exit 1; }
full_size=$(stat -c %s "$alerts")
(( full_size < $(stat -c %s "$work/scan.alerts") )) ||
  { echo "FAIL: the disk was not full (vacuous): all alerts were written at once"; exit 1; }
(( full_size > 0 )) && [[ $(tail -c 1 "$alerts" | od -An -c | tr -d ' ') != '\n' ]] ||
  { echo "FAIL: the full disk did not cut a line (vacuous: size $full_size)"; exit 1; }
grep -q "no checkpoint is taken until then" "$work/tail.err" || { echo "FAIL: the skipped checkpoint was not logged"; cat "$work/tail.err"; exit 1; }

rm "$work/fs/filler"  # room again: no restart
for _ in $(seq 1 100); do
  (( $(jq .tail.checkpoints "$stats") > ckpts0 )) && break
  sleep 0.1
done
(( $(jq .tail.checkpoints "$stats") > ckpts0 )) || { echo "FAIL: no checkpoint after the disk had room again"; cat "$work/tail.err"; exit 1; }
grep -q "the held alerts are written; checkpoints resume" "$work/tail.err" || { echo "FAIL: the recovery was not logged"; cat "$work/tail.err"; exit 1; }
kill -TERM "$tailpid" || true; rc=0; wait "$tailpid" || rc=$?; tailpid=""
(( rc == 0 )) || { echo "FAIL: tail exited $rc"; cat "$work/tail.err"; exit 1; }

[[ ! -e $alerts.partial ]] || { echo "FAIL: a partial line was left"; exit 1; }
if ! cmp -s "$work/scan.alerts" "$alerts"; then
  echo "FAIL: alerts after the recovery differ from scan's (lost, repeated, reordered or cut):"
  diff "$work/scan.alerts" "$alerts" | head -5
  exit 1
fi
echo "ok: $fails checkpoint(s) skipped while the disk was full; after room came back all $(wc -l < "$alerts") alerts are in the file once, in order, and checkpoints resumed"

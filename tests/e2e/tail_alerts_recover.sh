#!/usr/bin/env bash
# `tail` recovers from a full disk without a restart and without losing or
# repeating an alert: the alerts file sits on a small tmpfs that is filled up
# before tail starts, so its first alert writes fail with ENOSPC (checkpoints
# are skipped and counted meanwhile). Once the filler is removed, the held
# alerts are written, checkpoints resume, and the alerts file ends up equal
# to a `scan` of the same log: every alert once, no partial line.
# Needs root (mount -t tmpfs); skipped (77) otherwise.
# Usage: tail_alerts_recover.sh DISTILLSCAN SOURCE_DIR BUILD_DIR
set -euo pipefail
bin=$1; src=$2; build=$3
gen=$build/bench/distillscan-gen
work=$(mktemp -d)
tailpid=""
cleanup() {
  if [[ -n $tailpid ]]; then kill -9 "$tailpid" 2>/dev/null; wait "$tailpid" 2>/dev/null || true; fi
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

# Fill the file system: the alerts file gets no room at all.
dd if=/dev/zero of="$work/fs/filler" bs=64k 2>/dev/null || true
alerts=$work/fs/alerts.jsonl
stats=$work/tail.stats
"$bin" tail -j 2 --metrics-listen off --state-dir "$work/state" --checkpoint-interval 1 \
  --stats "$stats" -o "$alerts" "$work/logs/app.jsonl" 2> "$work/tail.err" &
tailpid=$!
for _ in $(seq 1 300); do
  [[ -s $stats ]] && (( $(jq .lines "$stats") >= want_lines )) &&
    (( $(jq .tail.checkpoint_failures "$stats") >= 2 )) && break
  sleep 0.1
done
(( $(jq .lines "$stats") >= want_lines )) || { echo "FAIL: tail did not process the file"; cat "$work/tail.err"; exit 1; }
fails=$(jq .tail.checkpoint_failures "$stats")
(( fails >= 2 )) || { echo "FAIL: no checkpoint failure counted while the disk was full"; cat "$work/tail.err"; exit 1; }
[[ ! -e $work/state/checkpoint ]] || { echo "FAIL: a checkpoint was written while alerts could not be"; exit 1; }
(( $(stat -c %s "$alerts") < $(stat -c %s "$work/scan.alerts") )) ||
  { echo "FAIL: the disk was not full (vacuous): all alerts were written at once"; exit 1; }
grep -q "no checkpoint is taken until then" "$work/tail.err" || { echo "FAIL: the skipped checkpoint was not logged"; cat "$work/tail.err"; exit 1; }

rm "$work/fs/filler"  # room again: no restart
for _ in $(seq 1 100); do
  [[ -e $work/state/checkpoint ]] && (( $(jq .tail.checkpoints "$stats") >= 1 )) && break
  sleep 0.1
done
[[ -e $work/state/checkpoint ]] || { echo "FAIL: no checkpoint after the disk had room again"; cat "$work/tail.err"; exit 1; }
grep -q "alerts written again; checkpoints resume" "$work/tail.err" || { echo "FAIL: the recovery was not logged"; cat "$work/tail.err"; exit 1; }
kill -TERM "$tailpid"; rc=0; wait "$tailpid" || rc=$?; tailpid=""
(( rc == 0 )) || { echo "FAIL: tail exited $rc"; cat "$work/tail.err"; exit 1; }

jq -c . "$alerts" > /dev/null || { echo "FAIL: the alerts file has a line that is not JSON (a fragment of a failed write)"; exit 1; }
if ! cmp -s <(sort "$work/scan.alerts") <(sort "$alerts"); then
  echo "FAIL: alerts after the recovery differ from scan's (lost or repeated):"
  diff <(sort "$work/scan.alerts") <(sort "$alerts") | head -5
  exit 1
fi
echo "ok: $fails checkpoint(s) skipped while the disk was full; after room came back all $(wc -l < "$alerts") alerts are in the file once, checkpoints resumed"

#!/usr/bin/env bash
# `consume` must not checkpoint, nor commit Kafka offsets for, records whose
# alerts could not be written out. The alerts file is first /dev/full (every
# flush fails with ENOSPC): the instance consumes everything, every
# checkpoint is skipped and counted, no offset is committed. Restarted with a
# writable alerts file and the same state directory and group, it must then
# consume the topic again from the start and write the alerts that were lost:
# the same flagged accounts as one `scan` of the corpus.
# Usage: kafka_alerts_sync.sh DISTILLSCAN SOURCE_DIR BUILD_DIR
set -euo pipefail
bin=$1; src=$2; build=$3
work=$(mktemp -d)
source "$src/tests/tools/kafka_e2e_lib.sh"
trap kafka_cleanup EXIT
topic=logs; partitions=4; group=g-sync

one_instance_topic 21

# Run 1: alerts to /dev/full. Checkpoints before the first alert succeed
# (nothing is lost yet); from the first failed flush on, none may be written
# and no offset committed.
ln -s /dev/full "$work/a.alerts"
start_consumer a
failed_once() { (( $(stat_of a .kafka.checkpoint_failures) >= 1 )); }
failed_thrice() { done_a && (( $(stat_of a .kafka.checkpoint_failures) >= 3 )); }
wait_until 60 failed_once || { echo "FAIL: run 1 skipped no checkpoint"; tail -n 5 "$work/a.err"; exit 1; }
commits0=$(stat_of a .kafka.commits); ckpts0=$(stat_of a .kafka.checkpoints)
wait_until 60 failed_thrice || { echo "FAIL: run 1 did not catch up with 3 skipped checkpoints"; tail -n 5 "$work/a.err"; exit 1; }
records1=$(stat_of a .records); commits1=$(stat_of a .kafka.commits); ckpts1=$(stat_of a .kafka.checkpoints)
kill -TERM "$pid_a"; rc=0; wait "$pid_a" || rc=$?
consumer_pids=()
echo "run 1 (alerts to /dev/full): $records1 records; at the first skipped checkpoint $ckpts0 checkpoints and" \
     "$commits0 commits, at the end $ckpts1 and $commits1; exit $rc"
(( records1 == want_records )) || { echo "FAIL: run 1 processed $records1 records, want $want_records"; exit 1; }
(( commits1 == commits0 && ckpts1 == ckpts0 )) ||
  { echo "FAIL: run 1 committed offsets or wrote checkpoints past lost alerts"; exit 1; }
grep -q "no checkpoint is taken until" "$work/a.err" ||
  { echo "FAIL: the skipped checkpoint was not logged"; tail -n 5 "$work/a.err"; exit 1; }
(( rc != 0 )) || { echo "FAIL: run 1 exited 0 although its alerts were lost"; exit 1; }

# Run 2: a writable alerts file; everything after the last checkpoint (taken
# before the first alert) is consumed again, and every lost alert written.
rm "$work/a.alerts"
mv "$work/a.err" "$work/a1.err"; rm -f "$work/a.stats"
start_consumer a
wait_until 60 done_a || { echo "FAIL: run 2 did not catch up"; tail -n 5 "$work/a.err"; exit 1; }
sleep 1.5  # one more checkpoint: the stats are current
kill -TERM "$pid_a"; rc=0; wait "$pid_a" || rc=$?
consumer_pids=()
records2=$(stat_of a .records)
echo "run 2: $records2 records, $(stat_of a .kafka.commits) commits, $(wc -l < "$work/a.alerts") alert lines, exit $rc"
(( rc == 0 )) || { echo "FAIL: run 2 exited $rc"; tail -n 5 "$work/a.err"; exit 1; }
flagged_accounts "$work/a.alerts" > "$work/a.flagged"
cmp -s "$work/scan.flagged" "$work/a.flagged" ||
  { echo "FAIL: flagged accounts differ from scan (< scan only, > consume only):"; diff "$work/scan.flagged" "$work/a.flagged" | head; exit 1; }
echo "ok: $(wc -l < "$work/a.flagged") flagged accounts written after the restart (= scan)"

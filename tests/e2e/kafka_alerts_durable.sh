#!/usr/bin/env bash
# `consume` shares the ids of the alerts it wrote through the fingerprint
# topic, so that no instance writes them again. An id must only go out once
# its alert is on disk: an id shared while a host crash could still take the
# alert would stop every instance, the restarted one included, from writing
# it again. Instance a runs with an fdatasync that fails on its alerts file
# once it holds data (a writeback error: what it wrote may never reach the
# disk). It consumes the whole topic and writes alerts; from its first alert
# on it takes no checkpoint and shares no id. It is then killed and its
# alerts file emptied, as a host crash could leave it.
# Restarted on the same state directory with a working disk, it must write
# every alert again: the same flagged accounts as one `scan` of the corpus.
# The restart publishes those records to the fingerprint topic a second time;
# those copies must not count again (or the doubled counts flag hydra
# clusters the scan does not).
# Usage: kafka_alerts_durable.sh DISTILLSCAN SOURCE_DIR BUILD_DIR
set -euo pipefail
bin=$1; src=$2; build=$3
work=$(mktemp -d)
source "$src/tests/tools/kafka_e2e_lib.sh"
trap kafka_cleanup EXIT
topic=logs; partitions=4; group=g-durable
shim=$build/tests/libfail_fdatasync.so
[[ -f $shim ]] || { echo "FAIL: $shim not built"; exit 1; }

one_instance_topic 23

# Run 1: every fdatasync of a non-empty a.alerts fails. (An ASan build must accept a
# library preloaded ahead of its runtime.)
DS_FAIL_FDATASYNC=/a.alerts LD_PRELOAD=$shim \
  ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" start_consumer a
synced_none() { done_a && (( $(stat_of a .kafka.checkpoint_failures) >= 3 )); }
wait_until 60 synced_none || { echo "FAIL: run 1 did not catch up with 3 skipped checkpoints"; tail -n 5 "$work/a.err"; exit 1; }
records1=$(stat_of a .records)
written1=$(wc -l < "$work/a.alerts")
ids1=$(jq -e .kafka.cluster_exchange.alert_ids_published "$work/a.stats") ||
  { echo "FAIL: run 1's stats have no kafka.cluster_exchange.alert_ids_published"; exit 1; }
kill -9 "$pid_a"; wait "$pid_a" 2> /dev/null || true
consumer_pids=()
echo "run 1 (fdatasync fails): $records1 records, $written1 alerts written but never synced," \
     "$(stat_of a .kafka.checkpoints) checkpoints, $ids1 alert ids shared"
(( records1 == want_records )) || { echo "FAIL: run 1 processed $records1 records, want $want_records"; exit 1; }
(( written1 > 0 )) || { echo "FAIL: run 1 wrote no alert (vacuous)"; exit 1; }
(( ids1 == 0 )) || { echo "FAIL: run 1 shared $ids1 ids of alerts that never reached the disk"; exit 1; }
grep -q "fdatasync: Input/output error" "$work/a.err" ||
  { echo "FAIL: the failed fdatasync was not reported"; tail -n 5 "$work/a.err"; exit 1; }

# The host crash: nothing of what run 1 wrote reached the disk.
: > "$work/a.alerts"
mv "$work/a.err" "$work/a1.err"; rm -f "$work/a.stats"
start_consumer a
wait_until 60 done_a || { echo "FAIL: run 2 did not catch up"; tail -n 5 "$work/a.err"; exit 1; }
sleep 1.5  # one more checkpoint: the stats are current
kill -TERM "$pid_a"; rc=0; wait "$pid_a" || rc=$?
consumer_pids=()
suppressed=$(stat_of a .kafka.cluster_exchange.duplicates_suppressed)
echo "run 2: $(wc -l < "$work/a.alerts") alerts written, $suppressed not written because their id was shared; exit $rc"
(( rc == 0 )) || { echo "FAIL: run 2 exited $rc"; tail -n 5 "$work/a.err"; exit 1; }
# Run 2 published again every record after run 1's last checkpoint (taken
# before the first alert), which run 1 had published already: the
# fingerprint topic's readers must count each of them once, or the doubled
# counts make hydra clusters of accounts the scan does not flag.
repeated=$(jq -e .kafka.cluster_exchange.records_repeated "$work/a.stats") &&
  published2=$(jq -e .kafka.cluster_exchange.records_published "$work/a.stats") ||
  { echo "FAIL: run 2's stats lack kafka.cluster_exchange.records_{repeated,published}"; exit 1; }
echo "run 2: published $published2 fingerprint records again; $repeated received twice, counted once"
(( published2 > 0 && repeated == published2 )) ||
  { echo "FAIL: run 2 recognised $repeated of the $published2 records it published a second time"; exit 1; }
# Per-account alerts: exactly those of the scan; flagged accounts: the same.
shard_ids() { jq -r 'select(.cluster == null) | .id' "$1" | sort -u; }
shard_ids "$work/scan.alerts" > "$work/scan.ids"
shard_ids "$work/a.alerts" > "$work/a.ids"
if ! diff "$work/scan.ids" "$work/a.ids" > "$work/ids.diff"; then
  echo "FAIL: per-account alert ids differ (< scan, > restarted consume):"; cat "$work/ids.diff"; exit 1
fi
flagged_accounts "$work/a.alerts" > "$work/a.flagged"
if ! diff "$work/scan.flagged" "$work/a.flagged" > "$work/flagged.diff"; then
  echo "FAIL: flagged accounts differ (< scan, > restarted consume):"; cat "$work/flagged.diff"; exit 1
fi
echo "ok: no id of an alert that was never synced was shared; after the crash all" \
     "$(wc -l < "$work/scan.ids") per-account alerts of the scan were written again"

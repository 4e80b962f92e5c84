#!/usr/bin/env bash
# Three `distillscan consume` instances in one consumer group on a mock Kafka
# cluster (librdkafka's, on loopback) over a generated corpus keyed by
# account (kcat as the producer, paced like live traffic) flag the same SET
# of accounts as one `scan` of the same corpus -- including the members of
# small hydra clusters spread over all partitions, which only the shared
# fingerprint topic (--cluster-topic) lets an instance see -- process every
# line exactly once (no failure here, so no replay), every instance reads
# every instance's fingerprints, and every partition is consumed to its end.
# Usage: kafka_group.sh DISTILLSCAN SOURCE_DIR BUILD_DIR
set -euo pipefail
bin=$1; src=$2; build=$3
work=$(mktemp -d)
source "$src/tests/tools/kafka_e2e_lib.sh"
trap kafka_cleanup EXIT
topic=logs; partitions=12; group=g-e2e

make_corpus "$work/c.jsonl" --seed 7 --accounts 150 --hours 12 --volume 0.25 --hydra-size 12-16
"$bin" scan --no-summary -j 2 -o "$work/scan.alerts" --stats "$work/scan.stats" "$work/c.jsonl"
want_lines=$(jq .lines "$work/scan.stats")
flagged_accounts "$work/scan.alerts" > "$work/scan.flagged"
(( $(wc -l < "$work/scan.flagged") >= 10 )) || { echo "FAIL: reference scan flags too few accounts (vacuous)"; exit 1; }

start_broker "$topic" "$partitions"
mport=$(python3 "$src/tests/tools/free_ports.py" 1)
METRICS_LISTEN=127.0.0.1:$mport start_consumer a
for n in b c; do start_consumer "$n"; done
# All three members hold partitions before any data exists, so the work is
# really split three ways.
all_assigned() { for n in a b c; do (( $(assigned_count "$work/$n.stats") > 0 )) || return 1; done; }
all_assigned_total() { (( $(cat "$work"/{a,b,c}.stats 2> /dev/null | jq -s '[.[].kafka.partitions[]? | select(.assigned)] | length') == partitions )); }
wait_until 60 all_assigned || { echo "FAIL: not every instance got partitions"; tail -n 5 "$work"/*.err; exit 1; }
wait_until 30 all_assigned_total || { echo "FAIL: partitions not all assigned"; exit 1; }

produce_paced "$work/c.jsonl.keyed" 6
total=$(check_retention)
[[ $total == "$want_lines" ]] || { echo "FAIL: produced $total messages, corpus has $want_lines lines"; exit 1; }
done_all() { (( $(caught_up_partitions "$work"/{a,b,c}.stats) == partitions )); }
wait_until 120 done_all || { echo "FAIL: consumers did not catch up"; cat "$work"/*.stats; tail -n 5 "$work"/*.err; exit 1; }
sleep 1.5  # one more checkpoint interval: the alerts of the last chunks are flushed
# Instance a's /metrics shows the fingerprint exchange (every record received).
curl -sf "http://127.0.0.1:$mport/metrics" > "$work/a.metrics" || { echo "FAIL: no /metrics from instance a"; exit 1; }
want_rx=$(jq .records "$work/scan.stats")
got_rx=$(awk '$1 == "distillscan_cluster_exchange_records_received_total" {print $2}' "$work/a.metrics")
[[ ${got_rx:-none} == "$want_rx" ]] || { echo "FAIL: /metrics records received ${got_rx:-missing}, want $want_rx"; exit 1; }
for m in distillscan_cluster_exchange_alerts_held distillscan_cluster_exchange_alerts_held_evicted_total \
         distillscan_cluster_exchange_local_accounts distillscan_cluster_exchange_records_published_total; do
  grep -q "^$m " "$work/a.metrics" || { echo "FAIL: /metrics lacks $m"; exit 1; }
done
for n in a b c; do kill -TERM "$(eval echo \$pid_$n)"; done
for n in a b c; do wait "$(eval echo \$pid_$n)" || { echo "FAIL: consumer $n exited non-zero"; cat "$work/$n.err"; exit 1; }; done
consumer_pids=()

got_lines=$(jq -s 'map(.lines) | add' "$work"/{a,b,c}.stats)
replayed=$(jq -s 'map(.kafka.replayed_messages) | add' "$work"/{a,b,c}.stats)
echo "lines per instance: $(jq -s -c 'map(.lines)' "$work"/{a,b,c}.stats), replayed: $replayed"
# Exactly once without failures; a rebalance after the data started (a member
# timed out on an overloaded machine) may legitimately process some twice.
if (( replayed == 0 )); then
  [[ $got_lines == "$want_lines" ]] || { echo "FAIL: instances processed $got_lines lines, corpus has $want_lines"; exit 1; }
else
  (( got_lines >= want_lines )) || { echo "FAIL: instances processed $got_lines lines < $want_lines"; exit 1; }
fi
flagged_accounts "$work"/{a,b,c}.alerts > "$work/group.flagged"
if ! diff "$work/scan.flagged" "$work/group.flagged" > "$work/flagged.diff"; then
  echo "FAIL: flagged accounts differ (< scan, > consumer group):"; cat "$work/flagged.diff"; exit 1
fi
# Every instance's global cluster stage read every instance's fingerprints.
want_records=$(jq .records "$work/scan.stats")
for n in a b c; do
  rx=$(jq .kafka.cluster_exchange.records_received "$work/$n.stats")
  [[ $rx == "$want_records" ]] || { echo "FAIL: instance $n received $rx fingerprint records, want $want_records"; exit 1; }
done
alert_ids "$work/scan.alerts" > "$work/scan.ids"
alert_ids "$work"/{a,b,c}.alerts > "$work/group.ids"
echo "alert ids: scan $(wc -l < "$work/scan.ids"), group $(wc -l < "$work/group.ids"), group-only $(comm -13 "$work/scan.ids" "$work/group.ids" | wc -l)"
# Positions (committed with the last checkpoint) == end of every partition.
for ((p = 0; p < partitions; p++)); do
  pos=$(jq -s "[.[].kafka.partitions[] | select(.partition == $p) | .position] | max" "$work"/{a,b,c}.stats)
  high=$(kcat -b "$bs" -Q -t "$topic:$p:-1" 2> /dev/null | awk '{print $NF}' | tail -1)
  [[ $pos == "$high" ]] || { echo "FAIL: partition $p position $pos, high $high"; exit 1; }
done
echo "ok: 3 instances, $want_lines lines, $(wc -l < "$work/scan.flagged") flagged accounts = scan"

#!/usr/bin/env bash
# At-least-once under a crash: three `consume` instances in one group on a
# mock Kafka cluster while a producer streams a generated corpus; one
# instance is kill -9'd mid-stream. The survivors take over its partitions
# after the session timeout, rebuild those accounts by replaying the
# partitions up to the last committed offsets with alerts suppressed, and go
# on. The cross-account stage runs too, over the shared fingerprint topic, and
# the corpus has hydra clusters spread over all partitions: a member alert
# the killed instance never wrote is held by the others and written by the
# one that takes the member's partition over. Then: every partition is
# consumed to its end, the flagged accounts (hydra members included) equal
# those of one `scan` of the corpus, every per-account alert id written (by
# any instance, the killed one included) is one `scan` writes too (replay
# never makes new ids), and no id is written twice (written ids are shared
# through the fingerprint topic). (Cluster alert ids follow the
# fingerprint topic's order, not the scan's input order: see kafka_group.sh.)
# Usage: kafka_crash.sh DISTILLSCAN SOURCE_DIR BUILD_DIR
set -euo pipefail
bin=$1; src=$2; build=$3
work=$(mktemp -d)
source "$src/tests/tools/kafka_e2e_lib.sh"
producerpid=""
trap '[[ -n $producerpid ]] && kill "$producerpid" 2> /dev/null; kafka_cleanup' EXIT
topic=logs; partitions=12; group=g-crash

make_corpus "$work/c.jsonl" --seed 9 --accounts 150 --hours 12 --volume 0.15 \
  --mix cot_harvester=0.03,mixed_proxy=0.02,dataset_gen=0.03,sysprompt_extraction=0.02,low_and_slow=0.03,logit_probe=0.01,hydra=0.05
"$bin" scan --no-summary -j 2 -o "$work/scan.alerts" --stats "$work/scan.stats" "$work/c.jsonl"
want_lines=$(jq .lines "$work/scan.stats")
flagged_accounts "$work/scan.alerts" > "$work/scan.flagged"
shard_ids() { cat "$@" | jq -r 'select(.cluster == null) | .id' | sort -u; }
shard_ids "$work/scan.alerts" > "$work/scan.ids"
(( $(wc -l < "$work/scan.flagged") >= 8 )) || { echo "FAIL: reference scan flags too few accounts (vacuous)"; exit 1; }
members=$(jq -r 'select(.cluster != null) | .account' "$work/scan.alerts" | sort -u | wc -l)
(( members >= 3 )) || { echo "FAIL: reference scan flags fewer than 3 hydra members (vacuous)"; exit 1; }

start_broker "$topic" "$partitions"
for n in a b c; do start_consumer "$n"; done
all_assigned() { for n in a b c; do (( $(assigned_count "$work/$n.stats") > 0 )) || return 1; done; }
wait_until 60 all_assigned || { echo "FAIL: not every instance got partitions"; exit 1; }

produce_paced "$work/c.jsonl.keyed" 10 &
producerpid=$!
# Kill b once it has committed offsets and processed a good part of its share.
b_midway() { (( $(jq '.kafka.commits // 0' "$work/b.stats" 2> /dev/null || echo 0) > 1 &&
                $(jq '.lines // 0' "$work/b.stats" 2> /dev/null || echo 0) > 600 )); }
wait_until 60 b_midway || { echo "FAIL: instance b made no progress"; exit 1; }
kill -9 "$pid_b"
wait "$pid_b" 2> /dev/null || true
consumer_pids=("$pid_a" "$pid_c")
b_lines=$(jq .lines "$work/b.stats")
echo "killed b after its checkpoint at $b_lines lines"
wait "$producerpid"
producerpid=""
total=$(check_retention)
[[ $total == "$want_lines" ]] || { echo "FAIL: produced $total messages, corpus has $want_lines lines"; exit 1; }

done_all() { (( $(caught_up_partitions "$work"/{a,c}.stats) == partitions )); }
wait_until 120 done_all || { echo "FAIL: survivors did not take over every partition"; cat "$work"/{a,c}.stats; tail -n 5 "$work"/*.err; exit 1; }
sleep 1.5
for n in a c; do kill -TERM "$(eval echo \$pid_$n)"; done
for n in a c; do wait "$(eval echo \$pid_$n)" || { echo "FAIL: consumer $n exited non-zero"; cat "$work/$n.err"; exit 1; }; done
consumer_pids=()

rebuilt=$(jq -s 'map(.kafka.partitions_rebuilt) | add' "$work"/{a,c}.stats)
replayed=$(jq -s 'map(.kafka.replayed_messages) | add' "$work"/{a,c}.stats)
suppressed=$(jq -s 'map(.kafka.replay_alerts_suppressed) | add' "$work"/{a,c}.stats)
claimed=$(jq -s 'map(.kafka.cluster_exchange.alerts_claimed) | add' "$work"/{a,c}.stats)
echo "survivors wrote $claimed held hydra member alerts for accounts they took over"
echo "survivors rebuilt $rebuilt partitions from $replayed replayed messages, suppressed $suppressed replayed alerts"
(( rebuilt > 0 && replayed > 0 )) || { echo "FAIL: no partition was rebuilt after the kill (the test did not exercise a takeover)"; exit 1; }

flagged_accounts "$work"/{a,b,c}.alerts > "$work/group.flagged"
if ! diff "$work/scan.flagged" "$work/group.flagged" > "$work/flagged.diff"; then
  echo "FAIL: flagged accounts differ (< scan, > consumer group):"; cat "$work/flagged.diff"; exit 1
fi
shard_ids "$work"/{a,b,c}.alerts > "$work/group.ids"
comm -13 "$work/scan.ids" "$work/group.ids" > "$work/new.ids"
if [[ -s $work/new.ids ]]; then
  echo "FAIL: $(wc -l < "$work/new.ids") alert ids that scan never writes:"; head "$work/new.ids"
  for id in $(head -3 "$work/new.ids"); do grep -h "\"$id\"" "$work"/{a,b,c}.alerts | head -1; done
  exit 1
fi
# No alert id is written twice: the survivors knew from the fingerprint topic
# which ids b (and each other) had written. (Only a kill within the few ms
# between writing an alert and its id reaching the broker could repeat one.)
dup=$(cat "$work"/{a,b,c}.alerts | jq -r .id | sort | uniq -d | wc -l)
suppressed_dup=$(jq -s 'map(.kafka.cluster_exchange.duplicates_suppressed) | add' "$work"/{a,c}.stats)
echo "alerts not written again because their id was written already: $suppressed_dup"
if (( dup > 0 )); then
  echo "FAIL: $dup alert ids written more than once:"
  cat "$work"/{a,b,c}.alerts | jq -r .id | sort | uniq -d | head -3
  exit 1
fi
echo "ok: kill -9 mid-stream: $(wc -l < "$work/scan.flagged") flagged accounts ($members hydra members) = scan," \
     "$(wc -l < "$work/group.ids") per-account alert ids all known to scan, none written twice"

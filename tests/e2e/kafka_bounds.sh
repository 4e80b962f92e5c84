#!/usr/bin/env bash
# `consume` on a mock Kafka cluster with more distinct accounts than
# limits.max_accounts (1,024). The message keys kept per partition to hand
# accounts over in a rebalance are counted exactly, released for the
# partitions a member loses, and capped over all partitions (the largest set
# is forgotten, counted); the account table evicts (counted); every record
# is processed exactly once.
# Usage: kafka_bounds.sh DISTILLSCAN SOURCE_DIR BUILD_DIR
set -euo pipefail
bin=$1; src=$2; build=$3
work=$(mktemp -d)
source "$src/tests/tools/kafka_e2e_lib.sh"
trap kafka_cleanup EXIT
topic=logs; partitions=4; group=g-bounds

# keyed_lines FIRST COUNT: one request for each account FIRST..FIRST+COUNT-1
keyed_lines() {
  python3 - "$1" "$2" <<'PY'
import sys
first, n = int(sys.argv[1]), int(sys.argv[2])
for a in range(first, first + n):
    print('acct-%d\t{"timestamp":"2026-11-28T10:%02d:%02dZ","account_id":"acct-%d","request_id":"r%d",'
          '"request":{"model":"m","messages":[{"role":"user","content":"hello %d"}]}}'
          % (a, (a // 60) % 60, a % 60, a, a, a))
PY
}
keyed_lines 0 800 > "$work/round1.keyed"
keyed_lines 800 3000 > "$work/round2.keyed"
cat > "$work/cfg.yaml" <<'YAML'
limits:
  max_accounts: 1024
YAML
stat_of() { jq "$2" "$work/$1.stats"; }
done_a() { (( $(caught_up_partitions "$work/a.stats") == partitions )); }
done_both() { (( $(caught_up_partitions "$work/a.stats" "$work/b.stats") == partitions )); }
settle() { sleep 1.5; }  # one more checkpoint interval: the stats files are current

start_broker "$topic" "$partitions"
start_consumer a -c "$work/cfg.yaml"
all_assigned() { (( $(assigned_count "$work/a.stats") == partitions )); }
wait_until 60 all_assigned || { echo "FAIL: partitions not assigned"; tail -n 5 "$work/a.err"; exit 1; }

# Round 1: 800 accounts, under the cap: every key held, none dropped.
produce "$work/round1.keyed"
wait_until 60 done_a || { echo "FAIL: a did not catch up"; tail -n 5 "$work/a.err"; exit 1; }
settle
r1_records=$(stat_of a .records); held1=$(stat_of a .kafka.handover_keys); drop1=$(stat_of a .kafka.handover_keys_dropped)
echo "round 1 (a alone): records $r1_records, keys held $held1, dropped $drop1"
(( r1_records == 800 )) || { echo "FAIL: a processed $r1_records records, want 800"; exit 1; }
(( held1 == 800 && drop1 == 0 )) || { echo "FAIL: a holds $held1 keys (want 800), dropped $drop1 (want 0)"; exit 1; }

# A second member takes partitions away: a releases the keys of the
# partitions it lost, b rebuilds them (--rebuild all); every account's key is
# held by exactly one of the two.
start_consumer b -c "$work/cfg.yaml"
split() { (( $(assigned_count "$work/a.stats") > 0 && $(assigned_count "$work/a.stats") < partitions &&
             $(assigned_count "$work/b.stats") > 0 )); }
wait_until 60 split || { echo "FAIL: no rebalance to two members"; tail -n 5 "$work"/*.err; exit 1; }
wait_until 60 done_both || { echo "FAIL: not caught up after the rebalance"; tail -n 5 "$work"/*.err; exit 1; }
settle
held_a=$(stat_of a .kafka.handover_keys); held_b=$(stat_of b .kafka.handover_keys)
echo "after the rebalance: a holds $held_a keys, b holds $held_b"
(( held_a < 800 && held_a + held_b == 800 )) || { echo "FAIL: keys held a $held_a + b $held_b != 800 (or a released none)"; exit 1; }

# Round 2: 3,000 new accounts: each member holds at most the cap; together
# they saw 3,800 keys, so at least 3,800 - 2 x 1,024 were forgotten.
produce "$work/round2.keyed"
wait_until 60 done_both || { echo "FAIL: not caught up in round 2"; tail -n 5 "$work"/*.err; exit 1; }
settle
for n in a b; do
  pid=pid_$n; kill -TERM "${!pid}"; rc=0; wait "${!pid}" || rc=$?
  (( rc == 0 )) || { echo "FAIL: consume $n exited $rc"; tail -n 20 "$work/$n.err"; exit 1; }
done
dropped=0
for n in a b; do
  held=$(stat_of $n .kafka.handover_keys); drop=$(stat_of $n .kafka.handover_keys_dropped)
  tracked=$(stat_of $n .accounts_tracked); evicted=$(stat_of $n '[.accounts_evicted[]?] | add // 0')
  echo "round 2, $n: keys held $held, dropped $drop; accounts tracked $tracked, evicted $evicted"
  (( held > 0 && held <= 1024 )) || { echo "FAIL: $n holds $held keys (cap 1024)"; exit 1; }
  (( tracked <= 1024 )) || { echo "FAIL: $n tracks $tracked accounts (max 1024)"; exit 1; }
  dropped=$((dropped + drop))
done
(( dropped >= 3800 - 2 * 1024 )) || { echo "FAIL: $dropped keys dropped < $((3800 - 2 * 1024))"; exit 1; }
records=$(( $(stat_of a .records) + $(stat_of b .records) - $(stat_of b .kafka.replayed_messages) ))
echo "records a + b - b's replay: $records"
(( records == 3800 )) || { echo "FAIL: $records records processed (without b's rebuild), want 3800"; exit 1; }
echo "ok"

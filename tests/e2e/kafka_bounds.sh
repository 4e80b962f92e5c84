#!/usr/bin/env bash
# `consume` with more distinct accounts than limits.max_accounts (1,024) on a
# mock Kafka cluster: the per-partition message-key sets kept for handovers
# stay within the cap over all partitions (the largest set is forgotten,
# counted), the account table evicts (counted), and every record is still
# processed exactly once.
# Usage: kafka_bounds.sh DISTILLSCAN SOURCE_DIR BUILD_DIR
set -euo pipefail
bin=$1; src=$2; build=$3
work=$(mktemp -d)
source "$src/tests/tools/kafka_e2e_lib.sh"
trap kafka_cleanup EXIT
topic=logs; partitions=4; group=g-bounds
accounts=3000

# One request per account, then a second round: 6,000 records, 3,000 keys.
python3 - "$accounts" > "$work/c.keyed" <<'PY'
import sys
n = int(sys.argv[1])
for r in range(2):
    for a in range(n):
        i = r * n + a
        print('acct-%d\t{"timestamp":"2026-11-28T10:%02d:%02dZ","account_id":"acct-%d","request_id":"r%d",'
              '"request":{"model":"m","messages":[{"role":"user","content":"hello %d"}]}}'
              % (a, (i // 60) % 60, i % 60, a, i, i))
PY
want=$((2 * accounts))
cat > "$work/cfg.yaml" <<'YAML'
limits:
  max_accounts: 1024
YAML

start_broker "$topic" "$partitions"
start_consumer a -c "$work/cfg.yaml"
all_assigned() { (( $(assigned_count "$work/a.stats") == partitions )); }
wait_until 60 all_assigned || { echo "FAIL: partitions not assigned"; tail -n 5 "$work/a.err"; exit 1; }
produce "$work/c.keyed"
total=$(check_retention)
[[ $total == "$want" ]] || { echo "FAIL: produced $total messages, want $want"; exit 1; }
done_all() { (( $(caught_up_partitions "$work/a.stats") == partitions )); }
wait_until 60 done_all || { echo "FAIL: consumer did not catch up"; cat "$work/a.stats"; tail -n 5 "$work/a.err"; exit 1; }
sleep 1.5  # one more checkpoint interval
kill -TERM "$pid_a"; rc=0; wait "$pid_a" || rc=$?
(( rc == 0 )) || { echo "FAIL: consume exited $rc"; tail -n 20 "$work/a.err"; exit 1; }

lines=$(jq .lines "$work/a.stats"); records=$(jq .records "$work/a.stats")
dropped=$(jq .kafka.handover_keys_dropped "$work/a.stats")
evicted=$(jq '[.accounts_evicted[]?] | add // 0' "$work/a.stats" 2> /dev/null || echo 0)
tracked=$(jq .accounts_tracked "$work/a.stats")
echo "lines $lines, records $records, handover keys dropped $dropped, accounts tracked $tracked, evicted $evicted"
(( lines == want && records == want )) || { echo "FAIL: $records records of $lines lines, want $want"; exit 1; }
# 3,000 distinct keys against a cap of 1,024: at least 3,000 - 1,024 forgotten.
(( dropped >= accounts - 1024 )) || { echo "FAIL: handover keys dropped $dropped < $((accounts - 1024))"; exit 1; }
(( tracked <= 1024 && evicted >= accounts - 1024 )) || { echo "FAIL: $tracked accounts tracked (max 1024), $evicted evicted"; exit 1; }
echo "ok"

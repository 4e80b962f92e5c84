# Shared by tests/e2e/kafka_*.sh (sourced): a mock Kafka cluster on loopback
# (tests/tools/kafka_mock_broker), a generated corpus keyed by account, kcat
# as the producer, and helpers to run and watch `distillscan consume`.
# Expects: bin, build, work set; defines cleanup via kafka_cleanup.

mock=$build/tests/kafka_mock_broker
gen=$build/bench/distillscan-gen
command -v kcat > /dev/null || { echo "SKIP: kcat not installed (scripts/install-deps.sh installs it)"; exit 77; }
command -v jq > /dev/null || { echo "SKIP: jq not installed"; exit 77; }
[[ -x $mock ]] || { echo "FAIL: $mock not built"; exit 1; }

brokerpid=""
consumer_pids=()
kafka_cleanup() {
  for p in "${consumer_pids[@]}"; do kill -9 "$p" 2> /dev/null || true; done
  [[ -n $brokerpid ]] && kill "$brokerpid" 2> /dev/null
  if [[ -n ${KEEP_WORK:-} ]]; then echo "work dir kept: $work"; else rm -rf "$work"; fi
}

# start_broker TOPIC PARTITIONS -> $bs
start_broker() {
  "$mock" --topic "$1:$2" --topic "$1.clusters:1" > "$work/broker.addr" 2> "$work/broker.err" &
  brokerpid=$!
  for _ in $(seq 100); do [[ -s $work/broker.addr ]] && break; sleep 0.1; done
  bs=$(head -1 "$work/broker.addr")
  [[ -n $bs ]] || { echo "FAIL: mock broker did not start"; cat "$work/broker.err"; exit 1; }
}

# make_corpus OUT.jsonl -> OUT.keyed ("account<TAB>line"), the scan reference
make_corpus() {
  local out=$1; shift
  "$gen" --quiet "$@" --out "$out" --labels "$out.labels"
  python3 - "$out" <<'PY'
import json, sys
src = sys.argv[1]
with open(src, 'rb') as f, open(src + '.keyed', 'wb') as o:
    for line in f:
        line = line.rstrip(b'\n')
        try:
            a = json.loads(line).get('account_id')
        except Exception:
            a = None
        o.write((str(a) if a is not None else '').encode() + b'\t' + line + b'\n')
PY
}

# produce FILE.keyed [FROM_LINE COUNT]
produce() {
  local f=$1
  if [[ $# -ge 3 ]]; then
    tail -n +"$2" "$f" | head -n "$3" | kcat -P -b "$bs" -t "$topic" -K $'\t' -X queue.buffering.max.kbytes=1000000
  else
    kcat -P -b "$bs" -t "$topic" -K $'\t' -X queue.buffering.max.kbytes=1000000 < "$f"
  fi
}

# produce_paced FILE.keyed SECONDS: the corpus in input (event-time) order at
# a steady pace over about SECONDS, the way gateways produce live traffic, so
# the consumers read the partitions interleaved in near time order.
produce_paced() {
  python3 - "$1" "$2" <<'PY' | kcat -P -b "$bs" -t "$topic" -K $'\t' -X linger.ms=5 -X queue.buffering.max.kbytes=1000000
import sys, time
lines = open(sys.argv[1], 'rb').readlines()
secs = float(sys.argv[2])
step = max(1, len(lines) // (int(secs * 20) or 1))
out = sys.stdout.buffer
for i in range(0, len(lines), step):
    out.writelines(lines[i:i + step])
    out.flush()
    time.sleep(0.05)
PY
}

# Every partition must still start at offset 0 (the mock cluster keeps ~5 MB
# per partition; a truncated partition would make the comparison meaningless).
check_retention() {
  local p low high total=0
  for ((p = 0; p < partitions; p++)); do
    low=$(kcat -b "$bs" -Q -t "$topic:$p:-2" 2> /dev/null | awk '{print $NF}' | tail -1)
    high=$(kcat -b "$bs" -Q -t "$topic:$p:-1" 2> /dev/null | awk '{print $NF}' | tail -1)
    [[ $low == 0 ]] || { echo "FAIL: partition $p starts at $low (mock retention): corpus too big for the test"; exit 1; }
    total=$((total + high))
  done
  echo "$total"
}

# start_consumer NAME [extra args...]  (METRICS_LISTEN=HOST:PORT serves /metrics)
start_consumer() {
  local name=$1; shift
  "$bin" consume --brokers "$bs" --topic "$topic" --group "$group" -j 1 --metrics-listen "${METRICS_LISTEN:-off}" \
    --state-dir "$work/$name.state" -o "$work/$name.alerts" --stats "$work/$name.stats" --checkpoint-interval 1s \
    -X session.timeout.ms=6000 -X heartbeat.interval.ms=500 --rebuild ${KAFKA_E2E_REBUILD:-all} ${CONSUME_EXTRA:-} "$@" 2> "$work/$name.err" &
  consumer_pids+=($!)
  eval "pid_$name=$!"
}

# Partitions (by stats files given) assigned with position == high, no replay.
caught_up_partitions() {
  cat "$@" 2> /dev/null | jq -r '.kafka.partitions[]? | select(.assigned and (.replaying|not) and .position == .high and .high >= 0) | .partition' | sort -un | wc -l
}
assigned_count() {
  jq '[.kafka.partitions[]? | select(.assigned)] | length' "$1" 2> /dev/null || echo 0
}
# wait_until SECONDS CMD...: polls every 0.5 s
wait_until() {
  local t=$1; shift
  local i
  for ((i = 0; i < t * 2; i++)); do
    if "$@"; then return 0; fi
    local p
    for p in "${consumer_pids[@]}"; do
      kill -0 "$p" 2> /dev/null || { echo "consumer $p died"; tail -n 5 "$work"/*.err; return 1; }
    done
    sleep 0.5
  done
  return 1
}
flagged_accounts() { cat "$@" | jq -r .account | sort -u; }
alert_ids() { cat "$@" | jq -r .id | sort -u; }

# one_instance_topic SEED: a small corpus (60 accounts, 4 h, a few
# harvesters), its reference scan ($work/scan.{alerts,stats,flagged},
# $want_records) and a fresh broker whose topic holds it: for the tests that
# run one instance, `a`, against it.
one_instance_topic() {
  make_corpus "$work/c.jsonl" --seed "$1" --accounts 60 --hours 4 --volume 0.1 \
    --mix cot_harvester=0.05,dataset_gen=0.05,logit_probe=0.03
  "$bin" scan --no-summary -j 1 -o "$work/scan.alerts" --stats "$work/scan.stats" "$work/c.jsonl"
  want_records=$(jq .records "$work/scan.stats")
  flagged_accounts "$work/scan.alerts" > "$work/scan.flagged"
  (( $(wc -l < "$work/scan.flagged") >= 2 )) || { echo "FAIL: reference scan flags fewer than 2 accounts (vacuous)"; exit 1; }
  start_broker "$topic" "$partitions"
  produce "$work/c.jsonl.keyed"
}
stat_of() { jq "$2" "$work/$1.stats" 2> /dev/null || echo 0; }  # stat_of NAME JQ_PATH
done_a() { (( $(caught_up_partitions "$work/a.stats") == partitions )); }

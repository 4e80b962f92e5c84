#!/usr/bin/env bash
# End to end with the real servers (Debian: prometheus, prometheus-alertmanager):
#  - deploy/ checks out (promtool/amtool/systemd-analyze, deploy/check.sh);
#  - a long-running distillscan (`scan -` on a FIFO that stays open) serves
#    /metrics and sends alerts to Alertmanager;
#  - Prometheus scrapes it with deploy/'s scrape config and rules;
#  - an attack appended to the input shows up in Alertmanager's API with the
#    account label, and the Prometheus rule for flagged accounts fires;
#  - `promtool check metrics` passes on a scrape, every dashboard query parses;
#  - Alertmanager stopped, more attacks, Alertmanager started again: the
#    alerts raised meanwhile arrive (none lost), none dropped.
# Loopback ports only, bounded waits, every process cleaned up by the trap.
# Usage: prometheus_alertmanager.sh DISTILLSCAN SOURCE_DIR BUILD_DIR
set -euo pipefail
bin=$(realpath "$1"); src=$(realpath "$2")
for t in prometheus prometheus-alertmanager promtool amtool curl jq python3; do
  command -v "$t" > /dev/null || { echo "FAIL: $t not found: bash scripts/install-deps.sh"; exit 1; }
done

work=$(mktemp -d)
pids=()
cleanup() {
  exec 3>&- 2> /dev/null || true
  for p in "${pids[@]}"; do kill "$p" 2> /dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2> /dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
t0=$(date +%s)
log() { echo "[$(( $(date +%s) - t0 ))s] $*"; }
die() {
  echo "FAIL: $*"
  for f in ds.err am.log prom.log; do [[ -s $work/$f ]] && { echo "--- $f (tail)"; tail -20 "$work/$f"; }; done
  exit 1
}
# wait_for SECONDS DESCRIPTION COMMAND...: polls every 0.5 s.
wait_for() {
  local secs=$1 what=$2; shift 2
  local end=$(( $(date +%s) + secs ))
  until "$@" > /dev/null 2>&1; do
    (( $(date +%s) < end )) || die "timed out after ${secs}s waiting for: $what"
    sleep 0.5
  done
  log "ok: $what"
}

log "deploy/ static checks"
bash "$src/deploy/check.sh" "$bin" > "$work/check.log" 2>&1 || { cat "$work/check.log"; die "deploy/check.sh"; }

# Five free loopback ports.
read -r AM_PORT PROM_PORT METRICS_PORT HOOK_PORT WEBHOOK_PORT < <(python3 "$src/tests/tools/free_ports.py" 5)
am_url=http://127.0.0.1:$AM_PORT
prom_url=http://127.0.0.1:$PROM_PORT
metrics_url=http://127.0.0.1:$METRICS_PORT/metrics

# Alertmanager with the shipped example config (its receivers post to
# 127.0.0.1:5001; moved to an unused local port here).
sed "s#127.0.0.1:5001#127.0.0.1:$HOOK_PORT#" "$src/deploy/alertmanager/alertmanager.yml" > "$work/alertmanager.yml"
start_am() {
  prometheus-alertmanager --config.file="$work/alertmanager.yml" --storage.path="$work/am" \
    --web.listen-address="127.0.0.1:$AM_PORT" --cluster.listen-address= >> "$work/am.log" 2>&1 3>&- &
  am_pid=$!
  pids+=("$am_pid")
  wait_for 20 "Alertmanager ready" curl -sf "$am_url/-/ready"
}
start_am

# Prometheus with the shipped scrape config and rules: ports and intervals
# changed for the test, nothing else.
sed -e "s#127.0.0.1:9741#127.0.0.1:$METRICS_PORT#" -e "s#127.0.0.1:9093#127.0.0.1:$AM_PORT#" \
    -e "s#interval: 15s#interval: 1s#g" -e "s#- distillscan-rules.yml#- $src/deploy/prometheus/distillscan-rules.yml#" \
    "$src/deploy/prometheus/prometheus.yml" > "$work/prometheus.yml"
for want in "127.0.0.1:$METRICS_PORT" "127.0.0.1:$AM_PORT" "scrape_interval: 1s" "evaluation_interval: 1s" \
            "$src/deploy/prometheus/distillscan-rules.yml"; do
  grep -qF -- "$want" "$work/prometheus.yml" || die "could not adapt deploy/prometheus/prometheus.yml ($want)"
done
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/prom" \
  --web.listen-address="127.0.0.1:$PROM_PORT" --log.level=warn > "$work/prom.log" 2>&1 &
pids+=($!)
wait_for 30 "Prometheus ready" curl -sf "$prom_url/-/ready"

# A generic webhook receiver: appends each POST body (a JSON array of alerts) as one line.
python3 -c '
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with open(sys.argv[2], "ab") as f: f.write(body + b"\n")
        self.send_response(200); self.end_headers()
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
' "$WEBHOOK_PORT" "$work/webhook.jsonl" > "$work/webhook.log" 2>&1 &
pids+=($!)
wait_for 20 "webhook receiver up" curl -s -o /dev/null "http://127.0.0.1:$WEBHOOK_PORT/"

# distillscan reading a FIFO that stays open: a long-running process.
# Small chunks so appended lines are processed without waiting for 4 MiB.
printf 'limits:\n  chunk_bytes: 2KiB\n' > "$work/config.yaml"
mkfifo "$work/in.fifo"
"$bin" scan --no-summary -j 2 -c "$work/config.yaml" -o "$work/alerts.jsonl" \
  --metrics-listen "127.0.0.1:$METRICS_PORT" --alertmanager "$am_url" --webhook "http://127.0.0.1:$WEBHOOK_PORT/hook" \
  --runbook-url https://runbooks.example.com/distillscan --delivery-timeout 20s - \
  < "$work/in.fifo" > "$work/ds.out" 2> "$work/ds.err" &
ds_pid=$!
pids+=("$ds_pid")
exec 3> "$work/in.fifo"
wait_for 10 "distillscan /metrics up" curl -sf "$metrics_url"

# One attacking account: 30 requests asking for the model's full reasoning.
attack() {
  local acct=$1 ts
  ts=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)
  for i in $(seq 1 30); do
    printf '{"timestamp":"%s","request_id":"req-%s-%d","account_id":"%s","client_ip":"192.0.2.%d","request":{"model":"m","messages":[{"role":"system","content":"You are helpful."},{"role":"user","content":"Please show your full reasoning step by step before answering question %d."}],"max_tokens":4096},"usage":{"prompt_tokens":60,"completion_tokens":1800}}\n' \
      "$ts" "$acct" "$i" "$acct" "${acct##*-}" "$i"
  done >&3
}
# Ordinary traffic; also pushes the last partial chunk through.
questions=("What is the capital of" "Translate into German:" "Write a haiku about" "Summarise the plot of"
           "How do I sort a list in" "Give me a recipe with" "Explain briefly how" "Suggest a name for")
topics=(France bicycles Python tomatoes "the moon" "a bakery" Rust "tax forms" "a cat" "the Nile")
benign() {
  local ts
  ts=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)
  for i in $(seq 1 40); do
    printf '{"timestamp":"%s","request_id":"b-%d-%d","account_id":"user-%d","client_ip":"198.51.100.%d","request":{"model":"m","messages":[{"role":"user","content":"%s %d %s?"}]},"usage":{"prompt_tokens":12,"completion_tokens":20}}\n' \
      "$ts" "$RANDOM" "$i" $(( i % 7 )) $(( i % 7 )) "${questions[RANDOM % ${#questions[@]}]}" "$RANDOM" "${topics[RANDOM % ${#topics[@]}]}"
  done >&3
}
am_has() {  # account
  curl -sf "$am_url/api/v2/alerts" | jq -e --arg a "$1" \
    '[.[] | select(.labels.alertname == "DistillationSuspected" and .labels.account == $a and .status.state == "active")] | length == 1'
}
metric() {  # series -> value (empty if absent)
  curl -sf "$metrics_url" | awk -v s="$1" '$1 == s { print $2 }'
}

benign
attack attacker-1
benign
# (The alerts file is checked at the end: the JSONL sink writes through stdio buffering.)
raised() { [[ -n $(metric "distillscan_account_risk_score{account=\"$1\"}") ]]; }
wait_for 20 "distillscan raised the alert" raised attacker-1
wait_for 30 "Alertmanager has attacker-1" am_has attacker-1

alert=$(curl -sf "$am_url/api/v2/alerts" | jq -c '[.[] | select(.labels.account == "attacker-1")][0]')
jq -e '(.labels.severity | test("^(warning|critical)$")) and (.labels.detectors | length > 0)' <<<"$alert" > /dev/null ||
  die "labels: $alert"
jq -e '(.labels | keys) == ["account","alertname","detectors","severity"]' <<<"$alert" > /dev/null ||
  die "unexpected labels (must group well, nothing per request): $alert"
jq -e '(.annotations.summary | test("attacker-1")) and (.annotations.description | test("req-attacker-1-"))
       and .annotations.runbook_url == "https://runbooks.example.com/distillscan"
       and (.generatorURL | endswith("/metrics"))' <<<"$alert" > /dev/null || die "annotations: $alert"
log "ok: labels and annotations"

prom_alert_firing() {
  curl -sf "$prom_url/api/v1/alerts" |
    jq -e '[.data.alerts[] | select(.labels.alertname == "DistillscanAccountsFlagged" and .state == "firing")] | length == 1'
}
wait_for 45 "Prometheus rule DistillscanAccountsFlagged firing" prom_alert_firing
prom_up() {
  curl -sf "$prom_url/api/v1/query" --data-urlencode 'query=up{job="distillscan"}' | jq -e '.data.result[0].value[1] == "1"'
}
wait_for 10 "Prometheus scrapes distillscan" prom_up
# Prometheus forwards its own alert to Alertmanager too (alerting: in prometheus.yml).
am_has_rule_alert() {
  curl -sf "$am_url/api/v2/alerts" | jq -e '[.[] | select(.labels.alertname == "DistillscanAccountsFlagged")] | length == 1'
}
wait_for 30 "Alertmanager has Prometheus' DistillscanAccountsFlagged" am_has_rule_alert

curl -sf "$metrics_url" > "$work/scrape.txt"
promtool check metrics < "$work/scrape.txt" || die "promtool check metrics"
log "ok: promtool check metrics"
risk=$(metric 'distillscan_account_risk_score{account="attacker-1"}')
awk -v r="$risk" 'BEGIN { exit !(r > 0 && r <= 1) }' || die "top-K gauge lacks attacker-1 ($risk)"
(( $(metric distillscan_accounts_flagged) >= 1 )) || die "accounts_flagged is 0"
matches=$(awk '/^distillscan_rule_matches_total\{/ { n += $2 } END { print n + 0 }' "$work/scrape.txt")
(( matches >= 30 )) || die "rule matches not counted ($matches)"
lines=$(metric distillscan_lines_total)
(( lines >= 100 )) || die "lines_total=$lines"
lag=$(metric distillscan_event_lag_seconds)
awk -v l="$lag" 'BEGIN { exit !(l >= 0 && l < 120) }' || die "event lag $lag"
log "ok: metric values (lines $lines, lag ${lag}s)"

# Every dashboard query parses and runs.
jq -r '.. | .expr? // empty' "$src/deploy/grafana/distillscan-dashboard.json" |
  sed -e 's/\$__rate_interval/1m/g' -e 's/\$__range/5m/g' -e 's/\$instance/.*/g' > "$work/exprs.txt"
while IFS= read -r q; do
  curl -s "$prom_url/api/v1/query" --data-urlencode "query=$q" | jq -e '.status == "success"' > /dev/null ||
    die "dashboard query fails: $q"
done < "$work/exprs.txt"
log "ok: $(wc -l < "$work/exprs.txt") dashboard queries run"

# Alertmanager down: alerts raised meanwhile wait in distillscan's queue.
kill "$am_pid"; wait "$am_pid" 2> /dev/null || true
log "Alertmanager stopped"
attack attacker-2
benign
attack attacker-3
benign
wait_for 20 "distillscan raised attacker-2 and attacker-3" bash -c "$(declare -f metric raised); metrics_url=$metrics_url; raised attacker-2 && raised attacker-3"
queued_fail() {
  local q f
  q=$(metric "distillscan_alert_delivery_queued{sink=\"alertmanager\",target=\"$am_url\"}")
  f=$(metric "distillscan_alert_delivery_failures_total{sink=\"alertmanager\",target=\"$am_url\"}")
  [[ -n $q && -n $f ]] && (( q >= 2 && f >= 1 ))
}
wait_for 15 "alerts queued while Alertmanager is down" queued_fail
start_am
wait_for 40 "Alertmanager has attacker-2 after restart" am_has attacker-2
wait_for 10 "Alertmanager has attacker-3 after restart" am_has attacker-3
[[ $(metric "distillscan_alert_delivery_dropped_total{sink=\"alertmanager\",target=\"$am_url\"}") == 0 ]] ||
  die "alerts were dropped"
wait_for 15 "delivery queue drained" \
  bash -c "curl -sf '$metrics_url' | grep -qx 'distillscan_alert_delivery_queued{sink=\"alertmanager\",target=\"$am_url\"} 0'"

# End of input: distillscan flushes and exits 0. (Every background process
# was started with fd 3 closed, so closing it here is the FIFO's EOF.)
exec 3>&-
for _ in $(seq 1 60); do kill -0 "$ds_pid" 2> /dev/null || break; sleep 0.5; done
kill -0 "$ds_pid" 2> /dev/null && die "distillscan did not exit at end of input"
rc=0; wait "$ds_pid" || rc=$?
[[ $rc == 0 ]] || die "distillscan exited $rc"
for a in attacker-1 attacker-2 attacker-3; do grep -q "\"account\":\"$a\"" "$work/alerts.jsonl" || die "$a not in the alerts file"; done
# The webhook got every alert, as JSON arrays of the alert contract.
for a in attacker-1 attacker-2 attacker-3; do
  jq -s -e --arg a "$a" '[.[] | select(type == "array") | .[] | select(.account == $a and (.reasons | length) > 0)] | length >= 1' \
    "$work/webhook.jsonl" > /dev/null || die "webhook did not receive $a: $(cat "$work/webhook.jsonl")"
done
log "ok: webhook received every alert"
log "PASS"

#!/usr/bin/env bash
# `distillscan tail` with the real servers (Debian: prometheus, prometheus-alertmanager),
# all on loopback:
#  - Prometheus scrapes a running `tail` with deploy/prometheus/prometheus.yml
#    and deploy/'s alerting rules (only ports, paths and intervals adapted);
#  - Alertmanager runs deploy/alertmanager/alertmanager.yml and receives
#    tail's alerts (--alertmanager);
#  - an attack appended to the tailed log makes DistillationSuspected appear
#    in Alertmanager's API (labels that group, runbook, generatorURL) and
#    Prometheus' DistillscanAccountsFlagged fire (/api/v1/alerts);
#  - a live scrape has every operator metric of issue 5 and passes
#    `promtool check metrics`; SIGHUP counts a rule reload;
#  - Alertmanager stopped (and started again with empty storage, so it knows
#    nothing): the alert raised while it was down AND the one it had before
#    both come back (tail re-sends what is firing when the receiver returns);
#    none dropped;
#  - when the accounts calm down (no alert for 2 x detector.suppress) they are
#    resolved in Alertmanager and Prometheus' rule stops firing;
#  - tail exits 0 on SIGTERM with every alert in its file, state dir 0700.
# Bounded polls (no fixed sleeps decide anything); every process cleaned up.
# Usage: prometheus_tail.sh DISTILLSCAN SOURCE_DIR BUILD_DIR
set -euo pipefail
bin=$(realpath "$1"); src=$(realpath "$2")
for t in prometheus prometheus-alertmanager promtool curl jq python3; do
  command -v "$t" > /dev/null || { echo "FAIL: $t not found: bash scripts/install-deps.sh"; exit 1; }
done

work=$(mktemp -d)
pids=()
cleanup() {
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
# wait_for SECONDS DESCRIPTION COMMAND...: polls every 0.25 s until COMMAND succeeds.
wait_for() {
  local secs=$1 what=$2; shift 2
  local end=$(( $(date +%s) + secs ))
  until "$@" > /dev/null 2>&1; do
    (( $(date +%s) < end )) || die "timed out after ${secs}s waiting for: $what"
    sleep 0.25
  done
  log "ok: $what"
}

read -r AM_PORT PROM_PORT METRICS_PORT HOOK_PORT < <(python3 "$src/tests/tools/free_ports.py" 4)
am_url=http://127.0.0.1:$AM_PORT
prom_url=http://127.0.0.1:$PROM_PORT
metrics_url=http://127.0.0.1:$METRICS_PORT/metrics

# Alertmanager with the shipped config (its receivers post to 127.0.0.1:5001:
# moved to an unused local port). Each start gets empty storage, like a
# fresh replacement instance: whatever it shows afterwards was (re-)sent.
sed "s#127.0.0.1:5001#127.0.0.1:$HOOK_PORT#" "$src/deploy/alertmanager/alertmanager.yml" > "$work/alertmanager.yml"
am_runs=0
start_am() {
  am_runs=$(( am_runs + 1 ))
  prometheus-alertmanager --config.file="$work/alertmanager.yml" --storage.path="$work/am$am_runs" \
    --web.listen-address="127.0.0.1:$AM_PORT" --cluster.listen-address= >> "$work/am.log" 2>&1 &
  am_pid=$!
  pids+=("$am_pid")
  wait_for 20 "Alertmanager ready (run $am_runs)" curl -sf "$am_url/-/ready"
}
start_am

# Prometheus with the shipped scrape config and rules.
sed -e "s#127.0.0.1:9741#127.0.0.1:$METRICS_PORT#" -e "s#127.0.0.1:9093#127.0.0.1:$AM_PORT#" \
    -e "s#interval: 15s#interval: 1s#g" -e "s#- distillscan-rules.yml#- $src/deploy/prometheus/distillscan-rules.yml#" \
    "$src/deploy/prometheus/prometheus.yml" > "$work/prometheus.yml"
for want in "127.0.0.1:$METRICS_PORT" "127.0.0.1:$AM_PORT" "scrape_interval: 1s" "evaluation_interval: 1s" \
            "$src/deploy/prometheus/distillscan-rules.yml"; do
  grep -qF -- "$want" "$work/prometheus.yml" || die "could not adapt deploy/prometheus/prometheus.yml ($want)"
done
# Nothing else differs from the shipped file.
diff <(sed -e "s#$METRICS_PORT#9741#" -e "s#$AM_PORT#9093#" -e "s#interval: 1s#interval: 15s#g" \
           -e "s#- $src/deploy/prometheus/#- #" "$work/prometheus.yml") "$src/deploy/prometheus/prometheus.yml" ||
  die "adapted prometheus.yml differs from deploy/ beyond ports, paths and intervals"
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/prom" \
  --web.listen-address="127.0.0.1:$PROM_PORT" --log.level=warn > "$work/prom.log" 2>&1 &
pids+=($!)
wait_for 30 "Prometheus ready" curl -sf "$prom_url/-/ready"

# The tailed logs: a glob, expanded by distillscan (as in the systemd unit).
mkdir -p "$work/logs"
questions=("What is the capital of" "Translate into German:" "Write a haiku about" "Summarise the plot of"
           "How do I sort a list in" "Give me a recipe with" "Explain briefly how" "Suggest a name for")
topics=(France bicycles Python tomatoes "the moon" "a bakery" Rust "tax forms" "a cat" "the Nile")
benign() {
  local ts
  ts=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)
  for i in $(seq 1 40); do
    printf '{"timestamp":"%s","request_id":"b-%d-%d","account_id":"user-%d","client_ip":"198.51.100.%d","request":{"model":"m","messages":[{"role":"user","content":"%s %d %s?"}]},"usage":{"prompt_tokens":12,"completion_tokens":20}}\n' \
      "$ts" "$RANDOM" "$i" $(( i % 7 )) $(( i % 7 )) "${questions[RANDOM % ${#questions[@]}]}" "$RANDOM" "${topics[RANDOM % ${#topics[@]}]}"
  done >> "$work/logs/gateway.jsonl"
}
# One attacking account: 30 requests asking for the model's full reasoning, long outputs.
attack() {
  local acct=$1 ts
  ts=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)
  for i in $(seq 1 30); do
    printf '{"timestamp":"%s","request_id":"req-%s-%d","account_id":"%s","client_ip":"192.0.2.%d","request":{"model":"m","messages":[{"role":"system","content":"You are helpful."},{"role":"user","content":"Please show your full reasoning step by step before answering question %d."}],"max_tokens":4096},"usage":{"prompt_tokens":60,"completion_tokens":1800}}\n' \
      "$ts" "$acct" "$i" "$acct" "${acct##*-}" "$i"
  done >> "$work/logs/gateway.jsonl"
}
benign

# detector.suppress 15s: an account that raised no alert for 2 x 15 s is resolved.
printf 'detector:\n  suppress: 15s\n' > "$work/config.yaml"
"$bin" tail -j 2 -c "$work/config.yaml" --state-dir "$work/state" --checkpoint-interval 1s -o "$work/alerts.jsonl" \
  --stats "$work/stats.json" --metrics-listen "127.0.0.1:$METRICS_PORT" --alertmanager "$am_url" \
  --runbook-url https://runbooks.example.com/distillscan --delivery-timeout 20s \
  "$work/logs/*.jsonl" > "$work/ds.out" 2> "$work/ds.err" &
ds_pid=$!
pids+=("$ds_pid")
wait_for 15 "tail serves /metrics" curl -sf "$metrics_url"

metric() {  # exact series -> value (empty if absent)
  curl -sf "$metrics_url" | awk -v s="$1" '$1 == s { print $2 }'
}
raised() { [[ -n $(metric "distillscan_account_risk_score{account=\"$1\"}") ]]; }
am_has() {  # account: exactly one active DistillationSuspected for it
  curl -sf "$am_url/api/v2/alerts" | jq -e --arg a "$1" \
    '[.[] | select(.labels.alertname == "DistillationSuspected" and .labels.account == $a and .status.state == "active")] | length == 1'
}

attack attacker-1
benign
printf '{"timestamp": oops\n' >> "$work/logs/gateway.jsonl"  # one parse error
wait_for 20 "tail raised attacker-1" raised attacker-1
wait_for 30 "Alertmanager has attacker-1" am_has attacker-1

alert=$(curl -sf "$am_url/api/v2/alerts" | jq -c '[.[] | select(.labels.account == "attacker-1")][0]')
jq -e '(.labels | keys) == ["account","alertname","detectors","severity"]
       and (.labels.severity | test("^(warning|critical)$")) and (.labels.detectors | length > 0)' <<<"$alert" > /dev/null ||
  die "labels must be alertname/account/severity/detectors (nothing per request): $alert"
jq -e --arg g "$metrics_url" '(.annotations.summary | test("attacker-1")) and (.annotations.description | test("req-attacker-1-"))
       and .annotations.runbook_url == "https://runbooks.example.com/distillscan" and .generatorURL == $g
       and (.endsAt > .startsAt)' <<<"$alert" > /dev/null || die "annotations/generatorURL/endsAt: $alert"
log "ok: labels, annotations, runbook_url, generatorURL"

prom_alert_firing() {
  curl -sf "$prom_url/api/v1/alerts" |
    jq -e '[.data.alerts[] | select(.labels.alertname == "DistillscanAccountsFlagged" and .state == "firing"
            and .labels.job == "distillscan")] | length == 1'
}
wait_for 30 "Prometheus rule DistillscanAccountsFlagged firing" prom_alert_firing

# A rule reload (SIGHUP) is counted.
kill -HUP "$ds_pid"
wait_for 20 "SIGHUP reload counted" bash -c "curl -sf '$metrics_url' | grep -qx 'distillscan_rule_reloads_total{result=\"success\"} 1'"
# A checkpoint has been written (1 s interval).
wait_for 10 "checkpoint age exported" bash -c "curl -sf '$metrics_url' | grep -q '^distillscan_checkpoint_age_seconds '"

curl -sf "$metrics_url" > "$work/scrape.txt"
promtool check metrics < "$work/scrape.txt" > "$work/promtool.out" 2>&1 || { cat "$work/promtool.out"; die "promtool check metrics on a live tail scrape"; }
log "ok: promtool check metrics (live tail scrape)"
# Issue 5's operator metrics, every one present in the live scrape.
for series in distillscan_lines_total distillscan_bytes_total distillscan_records_total \
    'distillscan_parse_errors_total{reason="invalid_json"}' 'distillscan_rule_matches_total{rule=' \
    'distillscan_alerts_total{detector=' distillscan_accounts_tracked distillscan_accounts_flagged \
    'distillscan_accounts_evicted_total{reason="idle"}' 'distillscan_accounts_evicted_total{reason="lru"}' \
    distillscan_pipeline_queue_depth distillscan_pipeline_slots_in_flight \
    "distillscan_alert_delivery_queued{sink=\"alertmanager\",target=\"$am_url\"}" \
    "distillscan_tail_file_lag_bytes{file=\"$work/logs/gateway.jsonl\"}" distillscan_tail_lag_bytes \
    distillscan_event_lag_seconds distillscan_tail_event_lag_seconds distillscan_checkpoint_age_seconds \
    distillscan_checkpoints_total distillscan_checkpoint_failures_total \
    'distillscan_rule_reloads_total{result="success"}' 'distillscan_rule_reloads_total{result="failure"}' \
    'distillscan_batch_latency_seconds_bucket{le="0.1"}' distillscan_batch_latency_seconds_count \
    'distillscan_alert_delivery_request_seconds_bucket{' \
    'distillscan_account_risk_score{account="attacker-1"}' 'distillscan_build_info{version='; do
  grep -qF -- "$series" "$work/scrape.txt" || die "live tail scrape lacks $series"
done
(( $(metric 'distillscan_parse_errors_total{reason="invalid_json"}') >= 1 )) || die "parse error not counted"
matches=$(awk '/^distillscan_rule_matches_total\{/ { n += $2 } END { print n + 0 }' "$work/scrape.txt")
(( matches >= 30 )) || die "rule matches not counted ($matches)"
(( $(metric distillscan_lines_total) >= 111 )) || die "lines_total $(metric distillscan_lines_total) < 111"
# Account ids appear as labels only in the top-K gauge.
grep -v '^#' "$work/scrape.txt" | grep -v '^distillscan_account_risk_score{' | grep -q 'attacker-1' &&
  die "an account id appears outside distillscan_account_risk_score"
log "ok: issue 5 metrics present ($(grep -c '^distillscan_' "$work/scrape.txt") series)"

# Alertmanager down: the alert raised meanwhile waits in tail's queue.
kill "$am_pid"; wait "$am_pid" 2> /dev/null || true
log "Alertmanager stopped"
attack attacker-2
benign
wait_for 20 "tail raised attacker-2 while Alertmanager is down" raised attacker-2
queued_fail() {
  local q f
  q=$(metric "distillscan_alert_delivery_queued{sink=\"alertmanager\",target=\"$am_url\"}")
  f=$(metric "distillscan_alert_delivery_failures_total{sink=\"alertmanager\",target=\"$am_url\"}")
  [[ -n $q && -n $f ]] && (( q >= 1 && f >= 1 ))
}
wait_for 15 "attacker-2 queued, delivery failures counted" queued_fail
start_am  # empty storage: it knows no alert
wait_for 30 "Alertmanager has attacker-2 (raised while it was down)" am_has attacker-2
wait_for 15 "Alertmanager has attacker-1 again (re-sent on recovery)" am_has attacker-1
[[ $(metric "distillscan_alert_delivery_dropped_total{sink=\"alertmanager\",target=\"$am_url\"}") == 0 ]] ||
  die "alerts were dropped"

# The accounts calm down (no new alert for 2 x detector.suppress = 30 s):
# resolved in Alertmanager (endsAt = now, so it no longer lists them), no
# longer flagged, and Prometheus' rule stops firing.
am_gone() {
  curl -sf "$am_url/api/v2/alerts" | jq -e --arg a "$1" \
    '[.[] | select(.labels.alertname == "DistillationSuspected" and .labels.account == $a)] | length == 0'
}
wait_for 50 "attacker-1 resolved in Alertmanager" am_gone attacker-1
wait_for 30 "attacker-2 resolved in Alertmanager" am_gone attacker-2
[[ $(metric distillscan_accounts_flagged) == 0 ]] || die "accounts still flagged after resolution"
prom_alert_gone() {
  curl -sf "$prom_url/api/v1/alerts" |
    jq -e '[.data.alerts[] | select(.labels.alertname == "DistillscanAccountsFlagged")] | length == 0'
}
wait_for 20 "Prometheus rule DistillscanAccountsFlagged no longer firing" prom_alert_gone

# SIGTERM: checkpoint, flush, exit 0; the alerts file has both accounts.
kill -TERM "$ds_pid"
for _ in $(seq 1 120); do kill -0 "$ds_pid" 2> /dev/null || break; sleep 0.25; done
kill -0 "$ds_pid" 2> /dev/null && die "tail did not exit on SIGTERM"
rc=0; wait "$ds_pid" || rc=$?
[[ $rc == 0 ]] || die "tail exited $rc"
for a in attacker-1 attacker-2; do grep -q "\"account\":\"$a\"" "$work/alerts.jsonl" || die "$a not in the alerts file"; done
[[ $(stat -c %a "$work/state") == 700 ]] || die "state dir mode $(stat -c %a "$work/state"), expected 700"
log "PASS"

#!/usr/bin/env bash
# SIGHUP reload of rules in `tail`: a valid new rule file takes effect (new
# matches counted for the changed rule), a broken one is refused with
# FILE:LINE on stderr, bumps the failure metric, and the old set keeps running.
# Usage: tail_reload.sh DISTILLSCAN SOURCE_DIR BUILD_DIR
set -euo pipefail
bin=$1; src=$2; build=$3
work=$(mktemp -d)
tailpid=""
cleanup() { [[ -n $tailpid ]] && kill -9 "$tailpid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
cp -r "$src/rules" "$work/rules"
mkdir "$work/logs"; : > "$work/logs/app.jsonl"
port=$(python3 "$src/tests/tools/free_ports.py" 1)
"$bin" tail -j 2 -r "$work/rules" --metrics-listen "127.0.0.1:$port" --checkpoint-interval 1 \
  --stats "$work/tail.stats" -o "$work/tail.alerts" "$work/logs/app.jsonl" 2> "$work/tail.err" &
tailpid=$!

append() {  # n lines asking about zebra quokkas
  for i in $(seq 1 "$1"); do
    printf '{"timestamp":"2026-11-28T10:00:%02dZ","account_id":"acct-%d","request":{"messages":[{"role":"user","content":"tell me about the zebra quokka %d"}]}}\n' $((i % 60)) "$i" "$i"
  done >> "$work/logs/app.jsonl"
}
wait_lines() {  # bounded wait for the stats to reach n lines
  for _ in $(seq 1 200); do
    [[ -s $work/tail.stats ]] && (( $(jq .lines "$work/tail.stats") >= $1 )) && return 0
    sleep 0.1
  done
  echo "FAIL: tail did not reach $1 lines"; cat "$work/tail.err"; exit 1
}
wait_log() {  # bounded wait for a stderr line
  for _ in $(seq 1 200); do grep -qE "$1" "$work/tail.err" && return 0; sleep 0.1; done
  echo "FAIL: no '$1' on stderr"; cat "$work/tail.err"; exit 1
}
metric() { curl -sf "http://127.0.0.1:$port/metrics" | grep -E "^$1" | awk '{print $2}' | head -1; }
rule=cot_long_thinking_system_prompt

append 10; wait_lines 10
[[ $(metric "distillscan_rule_matches_total\\{rule=\"$rule\"\\}") == 0 ]] || { echo "FAIL: rule matched before reload"; exit 1; }

# 1. A valid change: the rule now also matches "zebra quokka".
sed -i "s/      - 'systematic\\\\s+long\\\\s+thinking\\\\s+process'/      - 'systematic\\\\s+long\\\\s+thinking\\\\s+process'\\n      - 'zebra\\\\s+quokka'/" \
  "$work/rules/reasoning.yaml"
grep -q 'zebra' "$work/rules/reasoning.yaml" || { echo "FAIL: test setup: sed did not edit the rule"; exit 1; }
kill -HUP "$tailpid"; wait_log 'rules in [0-9]+ categories now active'
append 10; wait_lines 20
m=$(metric "distillscan_rule_matches_total\\{rule=\"$rule\"\\}")
[[ $m == 10 ]] || { echo "FAIL: after a valid reload the rule matched $m of 10 new lines"; exit 1; }
[[ $(metric 'distillscan_rule_reloads_total\{result="success"\}') == 1 ]] || { echo "FAIL: success metric"; exit 1; }
echo "ok: valid reload took effect"

# 2. A broken file: old set keeps running, error with FILE:LINE, failure metric.
sed -i "s/'zebra\\\\s+quokka'/'zebra(quokka'/" "$work/rules/reasoning.yaml"
kill -HUP "$tailpid"; wait_log 'reload failed'
grep -qE 'reasoning\.yaml:[0-9]+: ' "$work/tail.err" || { echo "FAIL: no FILE:LINE in the error"; cat "$work/tail.err"; exit 1; }
[[ $(metric 'distillscan_rule_reloads_total\{result="failure"\}') == 1 ]] || { echo "FAIL: failure metric"; exit 1; }
append 10; wait_lines 30
m=$(metric "distillscan_rule_matches_total\\{rule=\"$rule\"\\}")
[[ $m == 20 ]] || { echo "FAIL: after a broken reload the running set should still match (got $m of 20)"; exit 1; }
kill -0 "$tailpid" || { echo "FAIL: tail died"; exit 1; }
kill -TERM "$tailpid"; rc=0; wait "$tailpid" || rc=$?; tailpid=""
(( rc == 0 )) || { echo "FAIL: exit $rc after SIGTERM"; exit 1; }
grep -E 'reasoning\.yaml:[0-9]+: ' "$work/tail.err" | head -1
echo "ok: broken reload refused, old rules kept"

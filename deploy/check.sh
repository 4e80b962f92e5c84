#!/usr/bin/env bash
# Static checks of everything in deploy/ with the real tools:
#   promtool (config, rules, rule unit tests), amtool (config, routing),
#   systemd-analyze verify (the unit), jq (the Grafana dashboard).
# Usage: deploy/check.sh [DISTILLSCAN_BINARY]
# (systemd-analyze verify needs ExecStart's binary to exist: the unit is
# checked with /usr/bin/distillscan replaced by DISTILLSCAN_BINARY, if given.)
# Debian packages: prometheus (promtool), prometheus-alertmanager (amtool), systemd, jq.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-}
fail=0
step() { echo "--- $*"; }
run() { if ! "$@"; then echo "FAIL: $*"; fail=1; fi; }

for t in promtool amtool systemd-analyze jq; do
  command -v "$t" > /dev/null || { echo "deploy/check.sh: $t not found (bash scripts/install-deps.sh)"; exit 1; }
done

step "prometheus config and rules"
run promtool check config "$here/prometheus/prometheus.yml"
run promtool check rules "$here/prometheus/distillscan-rules.yml"
step "prometheus rule unit tests"
run promtool test rules "$here"/prometheus/tests/*.yml

step "alertmanager config"
run amtool check-config "$here/alertmanager/alertmanager.yml"
route() {  # expected receiver, labels...
  local want=$1; shift
  local got
  got=$(amtool config routes test --config.file="$here/alertmanager/alertmanager.yml" "$@" 2>&1 | tail -1)
  if [[ $got != "$want" ]]; then echo "FAIL: route for $* -> '$got', expected '$want'"; fail=1; else echo "ok: $* -> $got"; fi
}
route trust-safety-urgent alertname=DistillationSuspected severity=critical account=acct-1
route trust-safety alertname=DistillationSuspected severity=warning account=acct-1
route platform-oncall alertname=DistillscanDown severity=critical instance=gw1:9741

step "systemd unit"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [[ -n $bin ]]; then
  sed "s#/usr/bin/distillscan#$(realpath "$bin")#" "$here/systemd/distillscan.service" > "$work/distillscan.service"
else
  cp "$here/systemd/distillscan.service" "$work/distillscan.service"
fi
if out=$(systemd-analyze verify "$work/distillscan.service" 2>&1) && [[ -z $out ]]; then
  echo "ok: systemd-analyze verify (clean)"
else
  echo "FAIL: systemd-analyze verify:"; echo "$out"; fail=1
fi
if exposure=$(systemd-analyze security --offline=yes "$work/distillscan.service" 2>/dev/null | grep -o 'exposure level for distillscan.service: [0-9.]*'); then
  echo "ok: $exposure"
  score=${exposure##* }
  if awk -v s="$score" 'BEGIN{exit !(s > 2.0)}'; then echo "FAIL: exposure $score > 2.0 (hardening regressed)"; fail=1; fi
fi

step "grafana dashboard"
d="$here/grafana/distillscan-dashboard.json"
run jq -e '.title == "distillscan" and (.panels | length) > 10' "$d" > /dev/null
ids=$(jq '[.panels[].id] | length == (unique | length)' "$d")
[[ $ids == true ]] || { echo "FAIL: duplicate panel ids"; fail=1; }
for m in distillscan_lines_total distillscan_event_lag_seconds distillscan_rule_matches_total \
         distillscan_accounts_flagged distillscan_account_risk_score distillscan_parse_errors_total; do
  jq -r '.. | .expr? // empty' "$d" | grep -q "$m" || { echo "FAIL: dashboard has no panel for $m"; fail=1; }
done

if (( fail )); then echo "deploy/check.sh: FAILED"; exit 1; fi
echo "deploy/check.sh: all deploy files check out"

#!/usr/bin/env bash
# Detection quality (issue 3): replay generated corpora from several seeds,
# join the alerts with the generator's labels, and assert account-level
# precision >= 0.95 and recall >= 0.95 per seed, every attacker style caught,
# >= 90% of hydra members flagged, and zero flags on each hard-negative
# population; the skeleton_sweep style (no rule phrase, no dominant suffix)
# must be caught by the near-duplicate detector. The LiteLLM layout of the
# first seed (scanned with the litellm field preset) must flag exactly the
# same accounts. Prints a per-style table
# with time-to-detect (event time from an account's first request to its
# first alert).
# Usage: quality.sh DISTILLSCAN SOURCE_DIR BUILD_DIR  (env: SEEDS, ACCOUNTS, HOURS, KEEP=dir)
set -euo pipefail
bin=$1; src=$2; build=$3
gen=$build/bench/distillscan-gen
[[ -x $gen ]] || { echo "SKIP: $gen not built (DISTILLSCAN_BENCH=OFF)"; exit 77; }  # ctest: Skipped, not Passed
seeds=${SEEDS:-"11 12 13"}
accounts=${ACCOUNTS:-250}
hours=${HOURS:-24}
work=${KEEP:-$(mktemp -d)}
mkdir -p "$work"
[[ -n ${KEEP:-} ]] || trap 'rm -rf "$work"' EXIT
export DISTILLSCAN_RULES=$src/rules

# score LABELS ALERTS TAG -> per-style table on stdout; summary line "RESULT ..." last.
score() {
  awk -F, -v tag="$3" '
    function epoch(s,   y, m, d, hh, mi, ss, a, yy, mm, days) {  # RFC 3339 UTC -> seconds
      y = substr(s, 1, 4) + 0; m = substr(s, 6, 2) + 0; d = substr(s, 9, 2) + 0
      hh = substr(s, 12, 2) + 0; mi = substr(s, 15, 2) + 0; ss = substr(s, 18, 2) + 0
      a = (m <= 2); yy = y - a; mm = m + 12 * a - 3
      days = 365 * yy + int(yy / 4) - int(yy / 100) + int(yy / 400) + int((153 * mm + 2) / 5) + d - 719469
      return days * 86400 + hh * 3600 + mi * 60 + ss
    }
    FNR == NR {  # alerts (JSON lines): first alert time per account
      acc = $0; sub(/.*"account":"/, "", acc); sub(/".*/, "", acc)
      t = $0; sub(/.*"time":"/, "", t); sub(/".*/, "", t)
      if (!(acc in first)) first[acc] = epoch(t)
      next
    }
    FNR == 1 { next }  # labels header: account,label,style,group,requests,first_seen
    $5 + 0 == 0 { next }
    {
      acc = $1; lab = $2; st = $3; n[st]++; label[st] = lab
      if (acc in first) {
        f[st]++; ttd = (first[acc] - epoch($6)) / 60; if (ttd < 0) ttd = 0
        k = ++nt[st]; tt[st, k] = ttd
        if (lab == "attacker") tp++; else fp++
      } else if (lab == "attacker") fn++
      seen[acc] = 1
    }
    END {
      for (a in first) if (!(a in seen)) unknown++
      printf "%-8s %-22s %-8s %8s %8s %10s %10s\n", tag, "style", "label", "accounts", "flagged", "ttd_med_m", "ttd_max_m"
      ok = 1; nst = 0
      for (s in n) names[++nst] = s
      for (i = 2; i <= nst; i++) { v = names[i]; j = i - 1; while (j > 0 && names[j] > v) { names[j + 1] = names[j]; j-- } names[j + 1] = v }
      for (i = 1; i <= nst; i++) {
        s = names[i]; c = nt[s] + 0
        for (x = 2; x <= c; x++) { v = tt[s, x]; y = x - 1; while (y > 0 && tt[s, y] > v) { tt[s, y + 1] = tt[s, y]; y-- } tt[s, y + 1] = v }
        med = c ? (c % 2 ? tt[s, (c + 1) / 2] : (tt[s, c / 2] + tt[s, c / 2 + 1]) / 2) : -1
        mx = c ? tt[s, c] : -1
        printf "%-8s %-22s %-8s %8d %8d %10.1f %10.1f\n", tag, s, label[s], n[s], f[s] + 0, med, mx
        if (label[s] == "attacker" && f[s] + 0 == 0) { print "FAIL: " tag ": attacker style " s " not caught"; ok = 0 }
        if (label[s] == "benign" && f[s] + 0 > 0) { print "FAIL: " tag ": hard negative " s ": " f[s] " accounts flagged"; ok = 0 }
        if (s == "hydra" && f[s] + 0 < 0.9 * n[s]) { print "FAIL: " tag ": only " f[s] + 0 " of " n[s] " hydra members flagged"; ok = 0 }
      }
      prec = (tp + fp) ? tp / (tp + fp) : 1; rec = (tp + fn) ? tp / (tp + fn) : 1
      if (prec < 0.95) { print "FAIL: " tag ": precision " prec " < 0.95"; ok = 0 }
      if (rec < 0.95) { print "FAIL: " tag ": recall " rec " < 0.95"; ok = 0 }
      if (unknown) { print "FAIL: " tag ": " unknown " alerted accounts are not in the labels"; ok = 0 }
      printf "RESULT %s precision=%.4f recall=%.4f tp=%d fp=%d fn=%d ok=%d\n", tag, prec, rec, tp, fp, fn, ok
    }' "$2" "$1"
}

# Styles built to exercise one detector path alone: every flagged account of
# the style must have an alert line carrying that reason (else the style is
# caught by something else and the path goes untested end to end).
expect_reason() {  # LABELS ALERTS TAG STYLE REASON
  local acc bad=0
  while IFS=, read -r acc _ style _ requests _; do
    [[ $style == "$4" && $requests != 0 ]] || continue
    grep -F "\"account\":\"$acc\"" "$2" | grep -qF "\"detector\":\"$5\"" && continue
    echo "FAIL: $3: $4 account $acc has no alert with reason $5"
    bad=1
  done < "$1"
  return $bad
}

fail=0
first_seed=""
for seed in $seeds; do
  "$gen" --quiet --seed "$seed" --accounts "$accounts" --hours "$hours" --out "$work/s$seed.jsonl" --labels "$work/s$seed.csv"
  "$bin" scan --no-summary -j 2 -o "$work/s$seed.alerts" --report "$work/s$seed.report" "$work/s$seed.jsonl"
  score "$work/s$seed.csv" "$work/s$seed.alerts" "seed$seed" | tee "$work/s$seed.score"
  grep -q '^RESULT .* ok=1$' "$work/s$seed.score" || fail=1
  expect_reason "$work/s$seed.csv" "$work/s$seed.alerts" "seed$seed" skeleton_sweep near_duplicate_share || fail=1
  [[ -n $first_seed ]] || first_seed=$seed
done

# Second log schema: the same events as LiteLLM spend-log rows.
seed=$first_seed
"$gen" --quiet --seed "$seed" --accounts "$accounts" --hours "$hours" --layout litellm --out "$work/l$seed.jsonl"
printf 'fields:\n  preset: litellm\n' > "$work/litellm.yaml"
"$bin" scan --no-summary -j 2 -c "$work/litellm.yaml" -o "$work/l$seed.alerts" "$work/l$seed.jsonl"
flagged() { sed -E 's/.*"account":"([^"]*)".*/\1/' "$1" | sort -u; }
if cmp -s <(flagged "$work/s$seed.alerts") <(flagged "$work/l$seed.alerts"); then
  echo "ok: litellm layout (seed $seed) flags the same $(flagged "$work/l$seed.alerts" | wc -l) accounts"
else
  echo "FAIL: litellm layout (seed $seed) flags different accounts:"
  diff <(flagged "$work/s$seed.alerts") <(flagged "$work/l$seed.alerts") | head -20
  fail=1
fi
exit $fail

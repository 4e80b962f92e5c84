#!/usr/bin/env bash
# tail checkpoints: SIGTERM writes one and exits 0; a restart resumes
# (cumulative counts, nothing re-read, alerts file appended); a corrupt,
# truncated, foreign or wrong-version checkpoint is refused (exit 2, the
# message names the file) unless --reset-state is given.
# Usage: tail_checkpoint.sh DISTILLSCAN SOURCE_DIR BUILD_DIR
set -euo pipefail
bin=$1; src=$2; build=$3
work=$(mktemp -d)
tailpid=""
cleanup() { [[ -n $tailpid ]] && kill -9 "$tailpid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
mkdir "$work/logs"
for i in $(seq 1 500); do
  printf '{"timestamp":"2026-11-28T10:%02d:00Z","account_id":"acct-%d","request":{"messages":[{"role":"user","content":"hi %d"}]}}\n' $((i % 60)) $((i % 7)) "$i"
done > "$work/logs/app.jsonl"
printf '{"timestamp":"2026-11-28T11:00:00Z","account_id":"partial"' >> "$work/logs/app.jsonl"  # no newline yet
st=$work/state

run_until() {  # run tail until stats show >= n lines, then SIGTERM; echo the exit code
  "$bin" tail -j 2 --metrics-listen off --state-dir "$st" --checkpoint-interval 1 --stats "$work/tail.stats" \
    -o "$work/tail.alerts" "$@" "$work/logs/app.jsonl" 2> "$work/tail.err" &
  tailpid=$!
  for _ in $(seq 1 100); do
    [[ -s $work/tail.stats ]] && (( $(jq .lines "$work/tail.stats") >= want )) && break
    sleep 0.1
  done
  sleep 1.1  # let one more checkpoint pass: a partial line emitted early would show (not a pass condition)
  kill -TERM "$tailpid"; local rc=0; wait "$tailpid" || rc=$?; tailpid=""
  return $rc
}
want=500; run_until || { echo "FAIL: first run exit $?"; cat "$work/tail.err"; exit 1; }
[[ $(jq .lines "$work/tail.stats") == 500 ]] || { echo "FAIL: the partial last line was processed early: $(jq .lines "$work/tail.stats")"; exit 1; }
echo '}' >> "$work/logs/app.jsonl"   # completes the partial line
echo "alerts-file-marker" >> "$work/tail.alerts"
want=501; run_until || { echo "FAIL: second run"; exit 1; }
[[ $(jq .lines "$work/tail.stats") == 501 ]] || { echo "FAIL: resume: lines $(jq .lines "$work/tail.stats"), want 501"; exit 1; }
grep -q alerts-file-marker "$work/tail.alerts" || { echo "FAIL: the alerts file was truncated"; exit 1; }
echo "ok: resume (cumulative, partial line waited for its newline, alerts appended)"

cp "$st/checkpoint" "$work/good"
refuse() {  # name, then how to damage the file
  local name=$1; shift
  cp "$work/good" "$st/checkpoint"; "$@"
  local rc=0
  "$bin" tail --metrics-listen off --state-dir "$st" -o "$work/x.alerts" "$work/logs/app.jsonl" 2> "$work/err" || rc=$?
  if (( rc != 2 )) || ! grep -q "$st/checkpoint" "$work/err"; then
    echo "FAIL: $name: exit $rc, stderr: $(cat "$work/err")"; exit 1
  fi
  echo "ok: $name refused: $(head -1 "$work/err")"
}
refuse "flipped byte" python3 -c "import sys;p=sys.argv[1];b=bytearray(open(p,'rb').read());b[len(b)//2]^=1;open(p,'wb').write(b)" "$st/checkpoint"
refuse "truncated" truncate -s 100 "$st/checkpoint"
refuse "not a checkpoint" sh -c "echo hello > '$st/checkpoint'"
refuse "version 99" python3 -c "import sys;p=sys.argv[1];b=bytearray(open(p,'rb').read());b[8]=99;open(p,'wb').write(b)" "$st/checkpoint"

cp "$work/good" "$st/checkpoint"
truncate -s 100 "$st/checkpoint"
want=501; run_until --reset-state || { echo "FAIL: --reset-state run"; cat "$work/tail.err"; exit 1; }
grep -q -- '--reset-state' "$work/tail.err" || { echo "FAIL: no notice about starting fresh"; exit 1; }
[[ $(jq .lines "$work/tail.stats") == 501 ]] || { echo "FAIL: fresh start should re-read 501 lines"; exit 1; }
echo "ok: --reset-state starts fresh"

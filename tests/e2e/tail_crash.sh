#!/usr/bin/env bash
# Crash test for `tail`: a writer appends a generated corpus and rotates the
# file (rename + create) while the tailer is kill -9'd at random points and
# restarted, many times. At the end the cumulative processed line/record
# counts and the SET of alert ids must equal those of one `scan` over the
# same data (lines after the last checkpoint are processed again and re-emit
# the same ids: at-least-once, never a new id, never a lost line).
# Usage: tail_crash.sh DISTILLSCAN SOURCE_DIR BUILD_DIR
set -euo pipefail
bin=$1; src=$2; build=$3
gen=$build/bench/distillscan-gen
work=$(mktemp -d)
tailpid=""; writerpid=""
cleanup() {
  [[ -n $tailpid ]] && kill -9 "$tailpid" 2>/dev/null
  [[ -n $writerpid ]] && kill "$writerpid" 2>/dev/null
  if [[ -n ${KEEP_WORK:-} ]]; then echo "work dir kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

"$gen" --seed 11 --accounts 120 --hours 6 --out "$work/in.jsonl" --labels "$work/labels.csv" > /dev/null
"$bin" scan --no-summary -j 2 -o "$work/scan.alerts" --stats "$work/scan.stats" "$work/in.jsonl"
want_lines=$(jq .lines "$work/scan.stats"); want_records=$(jq .records "$work/scan.stats")
grep -o '"id":"[^"]*"' "$work/scan.alerts" | sort -u > "$work/scan.ids"
(( $(wc -l < "$work/scan.ids") > 0 )) || { echo "FAIL: reference scan has no alerts (vacuous)"; exit 1; }

mkdir "$work/logs"
# Writer: batches of lines (each batch is one write(), but a batch may end
# mid-line: the tailer must wait for the newline), rotating every ~2500 lines.
python3 - "$work/in.jsonl" "$work/logs/app.jsonl" <<'PY' &
import os, sys, time, random
data = open(sys.argv[1], 'rb').read()
path = sys.argv[2]
random.seed(5)
pos, written_since_rot, k = 0, 0, 0
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
while pos < len(data):
    n = random.randint(20000, 200000)          # bytes, not line aligned
    if written_since_rot >= 2500:              # finish the line, then rotate
        nl = data.find(b'\n', pos)
        n = (nl + 1 - pos) if nl >= 0 else len(data) - pos
    chunk = data[pos:pos + n]
    os.write(fd, chunk)
    pos += len(chunk)
    written_since_rot += chunk.count(b'\n')
    if written_since_rot >= 2500 and data[pos - 1:pos] == b'\n':
        k += 1
        os.close(fd)
        os.rename(path, f"{path}.{k}")          # rotate: rename + create
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        written_since_rot = 0
    time.sleep(0.03)
os.close(fd)
open(path + ".done", "w").close()
PY
writerpid=$!

start_tail() {
  "$bin" tail -j 2 --metrics-listen off --state-dir "$work/state" --checkpoint-interval 1 \
    --stats "$work/tail.stats" -o "$work/tail.alerts" "$work/logs/app.jsonl" 2>> "$work/tail.err" &
  tailpid=$!
}

kills=0
RANDOM=42
while [[ ! -e $work/logs/app.jsonl.done ]] || (( kills < 8 )); do
  start_tail
  # 0.3-2.5 s: sometimes before the first checkpoint (1 s), usually between two
  sleep "$(( RANDOM % 3 )).$(( RANDOM % 10 ))$(( RANDOM % 10 ))"
  sleep 0.3
  kill -9 "$tailpid" 2>/dev/null || true
  wait "$tailpid" 2>/dev/null || true
  tailpid=""
  kills=$((kills + 1))
  (( kills < 40 )) || break
done
wait "$writerpid"; writerpid=""
echo "killed the tailer $kills times; rotated files: $(ls "$work/logs" | grep -c 'app.jsonl\.[0-9]')"

# Final run: let it catch up, then stop it cleanly (SIGTERM -> checkpoint, exit 0).
start_tail
for _ in $(seq 1 300); do
  [[ -s $work/tail.stats ]] && (( $(jq .lines "$work/tail.stats") >= want_lines )) && break
  sleep 0.1
done
kill -TERM "$tailpid"
rc=0; wait "$tailpid" || rc=$?; tailpid=""
(( rc == 0 )) || { echo "FAIL: tail exited $rc after SIGTERM"; tail -5 "$work/tail.err"; exit 1; }

got_lines=$(jq .lines "$work/tail.stats"); got_records=$(jq .records "$work/tail.stats")
grep -o '"id":"[^"]*"' "$work/tail.alerts" | sort -u > "$work/tail.ids"
fail=0
[[ $got_lines == "$want_lines" ]] || { echo "FAIL: lines: tail $got_lines, scan $want_lines"; fail=1; }
[[ $got_records == "$want_records" ]] || { echo "FAIL: records: tail $got_records, scan $want_records"; fail=1; }
if ! cmp -s "$work/scan.ids" "$work/tail.ids"; then
  echo "FAIL: alert id sets differ (< scan only, > tail only):"; diff "$work/scan.ids" "$work/tail.ids" | head; fail=1
fi
(( fail == 0 )) || { tail -20 "$work/tail.err"; exit 1; }
echo "ok: $kills kill -9 restarts; $got_lines lines, $got_records records, $(wc -l < "$work/tail.ids") alert ids" \
     "(= scan); $(wc -l < "$work/tail.alerts") alert lines written (repeats after restarts carry the same ids)"

#!/usr/bin/env bash
# Crash test for `tail`: a writer appends a generated corpus and rotates the
# file while the tailer (following the glob app.jsonl*, which matches the
# rotated files and copies too) is kill -9'd at random points and restarted,
# many times. Rotations cycle through: rename + create; rename with a partial
# last line that the writer completes through its old descriptor after the
# rename (then reopens); copytruncate done by the writer itself (copy, then
# truncate, nothing written in between, so no line is lost to the race). At
# the end the cumulative processed line/record counts and the SET of
# per-account alert ids must equal those of one `scan` over the same data
# (lines after the last checkpoint are processed again and re-emit the same
# ids: at-least-once, never a new id, never a lost line), and so must the
# cross-account stage's hydra-member alert ids (which depend on line order).
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
# Per-account alert ids, cluster alert ids, and the accounts cluster alerts name.
split_ids() {  # ALERTS PREFIX
  jq -r 'select(.cluster == null) | .id' "$1" | sort -u > "$2.ids"
  jq -r 'select(.cluster != null) | .id' "$1" | sort -u > "$2.cids"
  jq -r 'select(.cluster != null) | .account' "$1" | sort -u > "$2.members"
}
split_ids "$work/scan.alerts" "$work/scan"
(( $(wc -l < "$work/scan.ids") > 0 && $(wc -l < "$work/scan.members") > 0 )) ||
  { echo "FAIL: reference scan has no per-account or no cluster alerts (vacuous)"; exit 1; }

mkdir "$work/logs"
# Writer: batches of lines (each batch is one write(), but a batch may end
# mid-line: the tailer must wait for the newline), rotating every ~1200 lines.
# Every rotation is logged to $work/rotations (so kills can aim at them).
python3 - "$work/in.jsonl" "$work/logs/app.jsonl" "$work/rotations" <<'PY' &
import os, sys, time, random, shutil
data = open(sys.argv[1], 'rb').read()
path = sys.argv[2]
def logged(what):
    with open(sys.argv[3], "a") as ev: ev.write(what + "\n")
random.seed(5)
pos, written_since_rot, k = 0, 0, 0
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
while pos < len(data):
    n = random.randint(20000, 200000)          # bytes, not line aligned
    rot_mode = k % 3                           # 0: rename, 1: rename mid-line, 2: copytruncate
    if written_since_rot >= 1200 and rot_mode != 1:  # finish the line, then rotate
        nl = data.find(b'\n', pos)
        n = (nl + 1 - pos) if nl >= 0 else len(data) - pos
    chunk = data[pos:pos + n]
    os.write(fd, chunk)
    pos += len(chunk)
    written_since_rot += chunk.count(b'\n')
    if written_since_rot >= 1200 and pos < len(data):
        k += 1
        if rot_mode == 2:                       # copytruncate (by the writer: no race)
            if data[pos - 1:pos] == b'\n':
                shutil.copyfile(path, f"{path}.{k}")
                os.ftruncate(fd, 0)
                written_since_rot = 0
                logged("copytruncate")
            else:
                k -= 1
        elif rot_mode == 1 and data[pos - 1:pos] != b'\n':
            os.rename(path, f"{path}.{k}")      # rotated with a partial last line ...
            time.sleep(0.05)
            nl = data.find(b'\n', pos)         # ... completed late through the old descriptor
            end = nl + 1 if nl >= 0 else len(data)
            os.write(fd, data[pos:end])
            pos = end
            os.close(fd)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            written_since_rot = 0
            logged("rename-partial")
        elif data[pos - 1:pos] == b'\n':
            os.close(fd)
            os.rename(path, f"{path}.{k}")      # rotate: rename + create
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            written_since_rot = 0
            logged("rename")
        else:
            k -= 1
    time.sleep(0.03)
os.close(fd)
open(os.path.join(os.path.dirname(path), "writer.done"), "w").close()
PY
writerpid=$!

start_tail() {
  "$bin" tail -j 2 --metrics-listen off --state-dir "$work/state" --checkpoint-interval 1 \
    --stats "$work/tail.stats" -o "$work/tail.alerts" "$work/logs/app.jsonl*" 2>> "$work/tail.err" &
  tailpid=$!
}

kills=0; ct_seen=0; torn=0
ct_count() { local n=0; [[ -e $work/rotations ]] && n=$(grep -c copytruncate "$work/rotations" || true); echo "${n:-0}"; }
RANDOM=42
while [[ ! -e $work/logs/writer.done ]] || (( kills < 8 )); do
  start_tail
  if (( kills % 2 == 1 )) && [[ ! -e $work/logs/writer.done ]]; then
    # Aim at a copytruncate: kill 0-0.4 s after the writer's next one (or after 4 s).
    for _ in $(seq 1 40); do
      (( $(ct_count) > ct_seen )) && break
      sleep 0.1
    done
    ct_seen=$(ct_count)
    sleep "0.$(( RANDOM % 5 ))"
  else
    # 0.3-2.5 s: sometimes before the first checkpoint (1 s), usually between two
    sleep "$(( RANDOM % 3 )).$(( RANDOM % 10 ))$(( RANDOM % 10 ))"
    sleep 0.3
  fi
  kill -9 "$tailpid" 2>/dev/null || true
  wait "$tailpid" 2>/dev/null || true
  tailpid=""
  kills=$((kills + 1))
  # A kill in the middle of a batch's alert writes leaves a partial last line,
  # which the next start must move aside (checked by jq reading the file at
  # the end).
  if [[ -s $work/tail.alerts && $(tail -c1 "$work/tail.alerts" | od -An -c | tr -d ' ') != '\n' ]]; then
    torn=$((torn + 1))
  elif (( kills == 3 )); then  # and once for sure: a planted fragment
    printf '{"id":"torn-by-the-test","time":"2026-' >> "$work/tail.alerts"
  fi
  (( kills < 40 )) || break
done
wait "$writerpid"; writerpid=""
echo "killed the tailer $kills times ($torn left a partial alert line); rotations: $(sort "$work/rotations" | uniq -c | tr -s ' \n' ' ')"
(( $(ct_count) >= 2 )) || { echo "FAIL: the writer did fewer than 2 copytruncates"; exit 1; }

# Final run: let it catch up, then stop it cleanly (SIGTERM -> checkpoint, exit 0).
# (Its own stats file: one left by a killed run may already show every line.)
rm -f "$work/tail.stats"
start_tail
for _ in $(seq 1 300); do
  [[ -s $work/tail.stats ]] && (( $(jq .lines "$work/tail.stats") >= want_lines )) && break
  sleep 0.1
done
kill -TERM "$tailpid"
rc=0; wait "$tailpid" || rc=$?; tailpid=""
(( rc == 0 )) || { echo "FAIL: tail exited $rc after SIGTERM"; tail -5 "$work/tail.err"; exit 1; }

got_lines=$(jq .lines "$work/tail.stats"); got_records=$(jq .records "$work/tail.stats")
# Every partial line was moved aside (jq below reads every line that is left).
if grep -q torn-by-the-test "$work/tail.alerts" || ! grep -q torn-by-the-test "$work/tail.alerts.partial"; then
  echo "FAIL: the planted partial alert line was not moved to tail.alerts.partial"; exit 1
fi
split_ids "$work/tail.alerts" "$work/tail"
fail=0
[[ $got_lines == "$want_lines" ]] || { echo "FAIL: lines: tail $got_lines, scan $want_lines"; fail=1; }
[[ $got_records == "$want_records" ]] || { echo "FAIL: records: tail $got_records, scan $want_records"; fail=1; }
if ! cmp -s "$work/scan.ids" "$work/tail.ids"; then
  echo "FAIL: per-account alert id sets differ (< scan only, > tail only):"; diff "$work/scan.ids" "$work/tail.ids" | head; fail=1
fi
# Cluster (hydra member) alerts: the same members flagged and the same ids.
if ! cmp -s "$work/scan.members" "$work/tail.members"; then
  echo "FAIL: hydra members flagged differ (< scan only, > tail only):"; diff "$work/scan.members" "$work/tail.members" | head; fail=1
fi
if ! cmp -s "$work/scan.cids" "$work/tail.cids"; then
  echo "FAIL: cluster alert id sets differ (< scan only, > tail only):"; diff "$work/scan.cids" "$work/tail.cids" | head; fail=1
fi
(( fail == 0 )) || { tail -20 "$work/tail.err"; exit 1; }
echo "ok: $kills kill -9 restarts; $got_lines lines, $got_records records, $(wc -l < "$work/tail.ids") per-account alert ids, $(wc -l < "$work/tail.cids") cluster alert ids, $(wc -l < "$work/tail.members") hydra members" \
     "(= scan); $(wc -l < "$work/tail.alerts") alert lines written (repeats after restarts carry the same ids)"

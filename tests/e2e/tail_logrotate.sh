#!/usr/bin/env bash
# logrotate (the Debian package) rotating a file that `tail` follows, at a
# high write rate, in `create` and in `copytruncate` mode.
#  create:       every line written is processed exactly once:
#                records == lines written, no errors.
#  copytruncate: logrotate copies the file, then truncates it; lines the
#                writer appends between the copy and the truncate are in
#                neither file (the inherent race of copytruncate). What is
#                guaranteed: every line that is on disk at the end (copies +
#                current file) is processed, none twice:
#                lines on disk <= records <= lines written.
# Each mode runs twice: following the path, and following the glob
# `app.jsonl*`, which also matches the rotated files and the copies (they
# must be recognised, not read again: records <= lines written).
# Usage: tail_logrotate.sh DISTILLSCAN SOURCE_DIR BUILD_DIR
set -euo pipefail
bin=$1; src=$2; build=$3
command -v logrotate >/dev/null || command -v /usr/sbin/logrotate >/dev/null ||
  { echo "FAIL: logrotate is not installed (scripts/install-deps.sh installs it)"; exit 1; }
LOGROTATE=$(command -v logrotate || echo /usr/sbin/logrotate)
work=$(mktemp -d)
tailpid=""; writerpid=""
cleanup() { [[ -n $tailpid ]] && kill -9 "$tailpid" 2>/dev/null; [[ -n $writerpid ]] && kill "$writerpid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

run_mode() {  # mode: create | copytruncate; [glob]: follow app.jsonl* (matches the rotated files too)
  local mode=$1 glob=${2:-} d=$work/$1${2:+-glob}
  local pattern=$d/logs/app.jsonl; [[ -n $glob ]] && pattern="$d/logs/app.jsonl*"
  local label=$mode${glob:+ (glob)}
  mkdir -p "$d/logs"
  cat > "$d/logrotate.conf" <<CONF
$d/logs/app.jsonl {
  rotate 1000
  $mode
  missingok
  nocompress
}
CONF
  : > "$d/logs/app.jsonl"
  "$bin" tail -j 2 --metrics-listen off --state-dir "$d/state" --checkpoint-interval 1 \
    --stats "$d/tail.stats" -o "$d/tail.alerts" "$pattern" 2> "$d/tail.err" &
  tailpid=$!
  # Writer: ~40k lines/s for 3 s, whole lines per write(). In create mode it
  # acts as two workers (like nginx's): A reopens the path for every batch,
  # B only every ~0.6 s, so after a rename B keeps writing to the rotated
  # file while A already fills the new one (the tailer must drain the
  # rotated file to its real end). In copytruncate mode it keeps one
  # O_APPEND descriptor, as such apps do.
  python3 - "$d/logs/app.jsonl" "$mode" > "$d/written" <<'PY' &
import os, sys, time
path, mode = sys.argv[1], sys.argv[2]
n, t0 = 0, time.time()
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
k = 0
while time.time() - t0 < 3.0:
    batch = []
    for _ in range(400):
        batch.append('{"timestamp":"2026-11-28T10:%02d:%02dZ","account_id":"acct-%d","request_id":"r%d",'
                     '"request":{"model":"m","messages":[{"role":"user","content":"hello %d"}]}}\n'
                     % ((n // 60000) % 60, (n // 1000) % 60, n % 97, n, n))
        n += 1
    if mode == 'create' and k % 2 == 0:  # worker A: reopens the path for every batch
        fd2 = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.write(fd2, ''.join(batch).encode()); os.close(fd2)
    else:                                 # worker B (create: reopens every 30th batch only)
        if mode == 'create' and k % 60 == 1:
            os.close(fd)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.write(fd, ''.join(batch).encode())
    k += 1
    time.sleep(0.01)
print(n)
PY
  writerpid=$!
  local rotations=0
  while kill -0 "$writerpid" 2>/dev/null; do
    sleep 0.3
    "$LOGROTATE" -f -s "$d/logrotate.state" "$d/logrotate.conf" 2>> "$d/logrotate.err" && rotations=$((rotations + 1))
  done
  wait "$writerpid"; writerpid=""
  local written; written=$(cat "$d/written")
  local on_disk; on_disk=$(cat "$d"/logs/app.jsonl* | wc -l)
  # Wait until the tailer has caught up with what is on disk (bounded), then stop it.
  for _ in $(seq 1 200); do
    [[ -s $d/tail.stats ]] && (( $(jq .lines "$d/tail.stats") >= on_disk )) && break
    sleep 0.1
  done
  sleep 1.2  # one more checkpoint interval, so a late extra line would show up (never a pass condition)
  kill -TERM "$tailpid"; local rc=0; wait "$tailpid" || rc=$?; tailpid=""
  (( rc == 0 )) || { echo "FAIL: $label: tail exited $rc"; cat "$d/tail.err"; return 1; }
  local lines records errors
  lines=$(jq .lines "$d/tail.stats"); records=$(jq .records "$d/tail.stats")
  errors=$(jq '[.errors[]] | add // 0' "$d/tail.stats")
  echo "$label: $rotations rotations, $written lines written, $on_disk on disk, $records records, $errors errors" \
       "(tail: $(jq -c '{rotations: .tail.rotations, truncations: .tail.truncations, recovered_copies: .tail.recovered_copies}' "$d/tail.stats"))"
  (( rotations >= 5 )) || { echo "FAIL: $label: only $rotations rotations"; return 1; }
  if [[ $mode == create ]]; then
    # Writer A may recreate the path between logrotate's rename and its
    # create; logrotate then renames A's file to app.jsonl-YYYYMMDDHH.backup,
    # and a second time in the same hour overwrites that backup: lines gone
    # from disk (not from the tailer, which read them first). Then only the
    # tailer's count can be checked against what was written.
    if grep -q "already exists" "$d/logrotate.err" 2>/dev/null; then
      echo "note: $label: logrotate raced the writer's O_CREAT reopen ($(grep -c "already exists" "$d/logrotate.err")x);" \
           "lines on disk not comparable"
    else
      (( written == on_disk )) || { echo "FAIL: $label: the writer lost lines?"; return 1; }
    fi
    (( records == written && errors == 0 )) || { echo "FAIL: $label: records $records != written $written (errors $errors)"; return 1; }
  else
    (( lines == records + errors )) || { echo "FAIL: $label: accounting"; return 1; }
    (( records >= on_disk )) || { echo "FAIL: $label: $records records < $on_disk lines on disk (lost lines)"; return 1; }
    (( records <= written )) || { echo "FAIL: $label: $records records > $written written (duplicates)"; return 1; }
    (( $(jq .tail.truncations "$d/tail.stats") >= 1 )) || { echo "FAIL: $label: no truncation noticed"; return 1; }
  fi
  echo "ok: $label"
}

run_mode create
run_mode copytruncate
run_mode create glob
run_mode copytruncate glob

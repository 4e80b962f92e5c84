#!/usr/bin/env bash
# `distillscan listen --tcp`: several concurrent clients push a generated
# corpus (split by account, so each account's lines keep their order) plus
# malformed lines, a too-long line and a final line without newline, as fast
# as loopback allows, into a deliberately small buffer and a one-worker
# pipeline: the listener must stop reading sockets (backpressure) instead of
# dropping. An extra client goes idle mid-line and is closed by the idle
# timeout. After SIGTERM (drain, checkpoint, exit 0): lines counted ==
# lines sent, records + errors == lines, records == those of a `scan` of the
# same lines, and the flagged accounts equal scan's.
# Usage: tcp_listen.sh DISTILLSCAN SOURCE_DIR BUILD_DIR
set -euo pipefail
bin=$1; src=$2; build=$3
gen=$build/bench/distillscan-gen
work=$(mktemp -d)
lpid=""
cleanup() {
  [[ -n $lpid ]] && kill -9 "$lpid" 2> /dev/null
  if [[ -n ${KEEP_WORK:-} ]]; then echo "work dir kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
command -v jq > /dev/null || { echo "SKIP: jq not installed"; exit 77; }

"$gen" --quiet --seed 5 --accounts 80 --hours 6 --out "$work/c.jsonl"
printf 'detector:\n  cluster:\n    enabled: false\n' > "$work/config.yaml"  # per-account: order across clients is free

"$bin" listen --tcp 127.0.0.1:0 --port-file "$work/port" -j 1 -c "$work/config.yaml" --buffer 64KiB \
  --max-line 1MiB --idle-timeout 1s --max-connections 16 --metrics-listen off --state-dir "$work/state" \
  --checkpoint-interval 1s -o "$work/listen.alerts" --stats "$work/listen.stats" 2> "$work/listen.err" &
lpid=$!
for _ in $(seq 100); do [[ -s $work/port ]] && break; sleep 0.1; done
addr=$(cat "$work/port")
[[ -n $addr ]] || { echo "FAIL: listener did not start"; cat "$work/listen.err"; exit 1; }

# Clients: 4 senders (all at once, one sendall each) + 1 that goes idle mid-line.
python3 - "$work/c.jsonl" "$addr" "$work/sent.jsonl" "$work/sent.count" <<'PY'
import socket, sys, threading, zlib
path, addr, sent_path, count_path = sys.argv[1:5]
host, port = addr.rsplit(':', 1)
lines = open(path, 'rb').read().split(b'\n')
if lines and lines[-1] == b'':
    lines.pop()
parts = [[] for _ in range(4)]
for l in lines:  # by account: each account's lines keep their order
    i = l.find(b'"account_id":"')
    key = l[i:i + 40] if i >= 0 else l[:40]
    parts[zlib.crc32(key) % 4].append(l)
extra = [b'{"broken json', b'', b'[1,2,3]', b'x' * (2 << 20)]  # invalid, empty, not an object, too long
payloads = []
for k, p in enumerate(parts):
    body = b'\n'.join(p + extra) + b'\n' + b'{"timestamp":"2026-11-01T00:00:00Z","account_id":"tail-%d"}' % k
    payloads.append(body)
errs = []
def send(b):
    try:
        s = socket.create_connection((host, int(port)))
        s.sendall(b)
        s.close()
    except Exception as e:
        errs.append(e)
ts = [threading.Thread(target=send, args=(b,)) for b in payloads]
for t in ts: t.start()
idle = socket.create_connection((host, int(port)))
idle.sendall(b'{"timestamp":"2026-11-01T00:00:01Z","account_id":"idle-1"}')  # no newline, then silence
for t in ts: t.join()
idle.settimeout(30)
assert idle.recv(1) == b'', 'idle connection not closed by the server'
if errs:
    sys.exit('client error: %r' % errs)
n = sum(len(p) + len(extra) + 1 for p in parts) + 1
with open(count_path, 'w') as f:
    f.write(str(n))
with open(sent_path, 'wb') as f:  # what scan should see (without the too-long line)
    for p in parts:
        f.write(b'\n'.join(p + extra[:3]) + b'\n')
    for k in range(4):
        f.write(b'{"timestamp":"2026-11-01T00:00:00Z","account_id":"tail-%d"}\n' % k)
    f.write(b'{"timestamp":"2026-11-01T00:00:01Z","account_id":"idle-1"}\n')
PY
kill -TERM "$lpid"
wait "$lpid" || { echo "FAIL: listen exited non-zero"; cat "$work/listen.err"; exit 1; }
lpid=""

sent=$(cat "$work/sent.count")
"$bin" scan --no-summary -c "$work/config.yaml" -o "$work/scan.alerts" --stats "$work/scan.stats" "$work/sent.jsonl"
lines=$(jq .lines "$work/listen.stats")
records=$(jq .records "$work/listen.stats")
errors=$(jq '[.errors[]] | add // 0' "$work/listen.stats")
pauses=$(jq .listen.read_pauses "$work/listen.stats")
echo "sent $sent lines; counted $lines (records $records, errors $errors: $(jq -c .errors "$work/listen.stats")), read pauses $pauses, $(jq -c '{idle_closed: .listen.idle_closed, long_lines: .listen.long_lines}' "$work/listen.stats")"
[[ $lines == "$sent" ]] || { echo "FAIL: lines counted $lines != sent $sent"; exit 1; }
(( records + errors == lines )) || { echo "FAIL: records + errors != lines"; exit 1; }
[[ $records == "$(jq .records "$work/scan.stats")" ]] || { echo "FAIL: records $records != scan's $(jq .records "$work/scan.stats") (lines mangled?)"; exit 1; }
[[ $(jq '.errors.line_too_long' "$work/listen.stats") == 4 ]] || { echo "FAIL: too-long lines not counted"; exit 1; }
(( pauses > 0 )) || { echo "FAIL: no backpressure (sockets never paused) with a 64 KiB buffer"; exit 1; }
(( $(jq .listen.idle_closed "$work/listen.stats") == 1 )) || { echo "FAIL: idle connection not closed by the timeout"; exit 1; }
diff <(jq -r .account "$work/scan.alerts" | sort -u) <(jq -r .account "$work/listen.alerts" | sort -u) ||
  { echo "FAIL: flagged accounts differ from scan"; exit 1; }
echo "ok: $(jq -r .account "$work/scan.alerts" | sort -u | wc -l) flagged accounts = scan"

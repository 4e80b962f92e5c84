#!/usr/bin/env bash
# tail latency bench: a writer appends a generated corpus to a followed file
# at RATE lines/s (default 50k) in 10 ms batches; a watcher timestamps every
# alert line as it appears in the alerts file. Latency of an alert = arrival
# time - wall time at which the batch holding its triggering event (the first
# line with event time >= the alert's "time") was written. Prints p50/p99/max.
# Usage: bench/tail_latency.sh BUILD_DIR [RATE] [HOURS]
set -euo pipefail
build=${1:-build/release}; rate=${2:-50000}; hours=${3:-48}
bin=$build/src/app/distillscan; gen=$build/bench/distillscan-gen
work=$(mktemp -d); trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT
"$gen" --seed 3 --accounts 400 --hours "$hours" --out "$work/in.jsonl" --labels "$work/l.csv" > /dev/null 2>&1
: > "$work/app.jsonl"; : > "$work/alerts.jsonl"
"$bin" tail -j 2 --metrics-listen off -o "$work/alerts.jsonl" "$work/app.jsonl" 2> "$work/tail.err" &
sleep 0.5
python3 - "$work" "$rate" <<'PY'
import json, os, sys, time, threading, bisect, datetime
work, rate = sys.argv[1], int(sys.argv[2])
lines = open(f"{work}/in.jsonl", "rb").read().splitlines(keepends=True)
def ev_ms(line):
    try: ts = json.loads(line)["timestamp"]
    except Exception: return None
    return datetime.datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp() * 1000
batches = []  # (max event ms so far, wall time written)
arrivals = []
done = threading.Event()
def watch():
    with open(f"{work}/alerts.jsonl", "rb") as f:
        buf = b""
        while not (done.is_set() and not buf and f.tell() == os.path.getsize(f"{work}/alerts.jsonl")):
            chunk = f.read()
            if not chunk:
                if done.is_set(): break
                time.sleep(0.002); continue
            now = time.time(); buf += chunk
            *full, buf = buf.split(b"\n")
            for l in full:
                if l: arrivals.append((now, json.loads(l)["time"]))
t = threading.Thread(target=watch); t.start()
per = max(1, rate // 100)
fd = os.open(f"{work}/app.jsonl", os.O_WRONLY | os.O_APPEND)
mxs, mx = [], -1e30
for i in range(0, len(lines), per):  # event times parsed before the clock starts
    for l in lines[i:i + per]:
        m = ev_ms(l)
        if m is not None: mx = max(mx, m)
    mxs.append(mx)
t0 = time.time()
for j, i in enumerate(range(0, len(lines), per)):
    b = lines[i:i + per]; mx = mxs[j]
    target = t0 + i / rate
    d = target - time.time()
    if d > 0: time.sleep(d)
    os.write(fd, b"".join(b)); batches.append((mx, time.time()))
elapsed = time.time() - t0
time.sleep(3); done.set(); t.join()
keys = [b[0] for b in batches]
lat = []
for now, ts in arrivals:
    ms = datetime.datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp() * 1000
    k = bisect.bisect_left(keys, ms)
    if k < len(batches): lat.append(now - batches[k][1])
lat.sort()
if not lat:
    sys.exit(f"FAIL: no alert arrived ({len(arrivals)} alert lines read, {len(batches)} batches written): "
             "nothing to measure (is the tailer running, do the rules fire on this corpus?)")
q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] * 1000
print(f"{len(lines)} lines in {elapsed:.2f}s ({len(lines)/elapsed:,.0f} lines/s requested {rate:,}); "
      f"{len(lat)} alerts: append->alert p50 {q(.5):.1f} ms, p99 {q(.99):.1f} ms, max {lat[-1]*1000:.1f} ms")
PY

#!/usr/bin/env bash
# Quick start: install packages, build a release binary, and replay the
# bundled demo log (a labelled, generated gateway log, zstd-compressed) with
# the bundled rules. Alerts go to stdout, the ranked table to stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake --preset release > /dev/null
cmake --build --preset release --target distillscan
build/release/src/app/distillscan scan --summary --stats build/release/demo-stats.json demo/gateway-demo.jsonl.zst
echo "run statistics: build/release/demo-stats.json; which accounts are really attackers: demo/labels.csv" >&2

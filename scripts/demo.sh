#!/usr/bin/env bash
# Quick start: install packages, build the optimised release binary
# (profile-guided, scripts/build-pgo.sh), and replay the bundled demo log (a
# labelled, generated gateway log, zstd-compressed) with the bundled rules.
# Alerts go to stdout, the ranked table to stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build-pgo.sh --target distillscan
build/release-pgo/src/app/distillscan scan --summary --stats build/release-pgo/demo-stats.json demo/gateway-demo.jsonl.zst
echo "run statistics: build/release-pgo/demo-stats.json; which accounts are really attackers: demo/labels.csv" >&2

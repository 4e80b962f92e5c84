#!/usr/bin/env bash
# Regenerates every golden case's expected output. Review the diff before committing.
# Usage: tests/golden/regen.sh [path/to/distillscan]   (default: build/release/src/app/distillscan)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-$here/../../build/release/src/app/distillscan}
for d in "$here"/*/; do
  REGEN=1 bash "$here/run_case.sh" "$bin" "${d%/}"
done

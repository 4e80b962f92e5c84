#!/usr/bin/env bash
# Builds one preset and runs its tests: scripts/test.sh [release|asan|tsan]
# The tsan preset runs the tests that exercise the threaded pipeline.
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:-release}
cmake --preset "$preset" > /dev/null
cmake --build --preset "$preset"
filter=()
[[ $preset == tsan ]] && filter=(-R 'e2e\.determinism|golden\.|pipeline\.')
ctest --preset "$preset" "${filter[@]}"

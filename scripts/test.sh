#!/usr/bin/env bash
# Builds one preset and runs its tests: scripts/test.sh [release|asan|tsan]
# The tsan preset runs the tests that exercise the threaded pipeline.
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:-release}
cmake --preset "$preset" > /dev/null
cmake --build --preset "$preset"
filter=()
# TSan: the tests that run the threaded pipeline. ASan: everything but the two
# statistics/flood tests whose runtime under ASan would not fit CI's limit
# (the fuzz targets cover the same hostile lines under ASan).
[[ $preset == tsan ]] && filter=(-R 'e2e\.determinism|golden\.|pipeline\.')
[[ $preset == asan ]] && filter=(-E 'e2e\.quality|e2e\.hostile_input')
ctest --preset "$preset" "${filter[@]}"

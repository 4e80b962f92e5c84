#!/usr/bin/env bash
# The profile-guided release build: scripts/build-pgo.sh [cmake --build args]
#  1. builds an instrumented distillscan and generator (preset pgo-train),
#  2. trains: generates two labelled corpora (seeds 5 and 6: neither the
#     benchmark's seed 1 nor the quality test's 11-13) and scans them the
#     ways users do (-j 1 and -j 2, the OpenAI layout from a plain file, the
#     LiteLLM layout from a gzip archive), writing build/pgo-data/,
#  3. builds the release-pgo preset with that profile and link-time
#     optimisation: build/release-pgo/ (all targets, or the ones given).
# GCC only. Same sources, same output: the profile changes code layout and
# inlining, never results (.ci/run runs the whole test suite on this build).
set -euo pipefail
cd "$(dirname "$0")/.."

cmake --preset pgo-train > /dev/null
cmake --build --preset pgo-train --target distillscan distillscan-gen

rm -rf build/pgo-data
train=build/pgo-train/train
mkdir -p "$train"
gen=build/pgo-train/bench/distillscan-gen
ds=build/pgo-train/src/app/distillscan
"$gen" --quiet --seed 5 --target-bytes 48M --out "$train/openai.jsonl"
"$gen" --quiet --seed 6 --target-bytes 16M --layout litellm --out "$train/litellm.jsonl"
gzip -1 -c "$train/litellm.jsonl" > "$train/litellm.jsonl.gz"
printf 'fields:\n  preset: litellm\n' > "$train/litellm.yaml"
"$ds" scan -j 1 -o /dev/null --report /dev/null --no-summary "$train/openai.jsonl"
"$ds" scan -j 2 -o /dev/null --no-summary "$train/openai.jsonl"
"$ds" scan -j 2 -c "$train/litellm.yaml" -o /dev/null --no-summary "$train/litellm.jsonl.gz"
main_profile='build/pgo-data/src#app#CMakeFiles#distillscan.dir#main.cpp.gcda'
[[ -f $main_profile ]] || { echo "build-pgo: the training wrote no profile for distillscan ($main_profile)" >&2; exit 1; }
date +%s%N > build/pgo-data/stamp  # in release-pgo's compile flags: a new profile rebuilds every object
rm -f "$train"/*.jsonl "$train"/*.jsonl.gz

cmake --preset release-pgo > /dev/null
cmake --build --preset release-pgo "$@"

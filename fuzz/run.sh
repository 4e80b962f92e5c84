#!/usr/bin/env bash
# fuzz/run.sh [SECONDS] — build the libFuzzer targets and fuzz each for SECONDS
# (default 60). Exit 1 on any finding (crash, sanitizer report, invariant
# violation, timeout, out-of-memory), 2 if the build fails.
#
#   1. Configures a separate build dir (default build/fuzz, or $DS_FUZZ_BUILD_DIR)
#      with clang++ and
#        CMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link,address,undefined
#                         -fno-sanitize-recover=all -fno-omit-frame-pointer -g"
#      so the project libraries (ds_parse, ds_match, ds_source, ds_detect,
#      ds_app_lib) carry coverage and sanitizers; fuzz/CMakeLists.txt links each
#      target with -fsanitize=fuzzer. NDEBUG is not defined: assertions and
#      simdjson's development checks are on. Uses the top-level project with
#      -DDISTILLSCAN_FUZZ=ON when it has that option, else fuzz/ on its own.
#   2. Replays fuzz/regressions/<target>/* (every crasher ever kept) — any
#      failure there is a finding.
#   3. Fuzzes each target for SECONDS from fuzz/corpus/<target>/ (seeds; new
#      coverage goes to a scratch dir, not into the repo) with
#      -timeout=10 (30 for rules, see below) -rss_limit_mb=2048 and a
#      per-target -max_len. A crasher
#      found is copied to fuzz/regressions/<target>/ so the next run replays
#      it; review and commit it with the fix.
#
# Environment: DS_FUZZ_TARGETS="line rules" runs a subset; DS_FUZZ_JOBS=N
# builds with N jobs; DS_FUZZ_KEEP_CORPUS=DIR keeps the grown corpora there;
# DS_ASAN_OPTIONS overrides ASAN_OPTIONS. DS_FUZZ_VERBOSE=1 makes the line
# and framer targets print what they see (for replaying one input by hand:
#   build/fuzz/fuzz_framer fuzz/regressions/framer/crash-...).
# Needs Debian packages clang and libclang-rt-14-dev (scripts/install-deps.sh).
set -uo pipefail
secs=${1:-60}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=${DS_FUZZ_BUILD_DIR:-$root/build/fuzz}
targets=(${DS_FUZZ_TARGETS:-line rules config framer state gzip})
declare -A max_len=([line]=65536 [rules]=4096 [config]=4096 [framer]=4096 [state]=262144 [gzip]=8192)
# Hyperscan's compiler runs ~8x slower under ASan: one realistic rule (the
# bundled cot_full_reasoning) takes 1 s of CPU in a release build and up to
# ~8 s here, so the rules target gets 30 s before a compile counts as a hang.
declare -A timeout=([line]=10 [rules]=30 [config]=10 [framer]=10 [state]=10 [gzip]=10)
declare -A dict=([line]=json.dict [rules]=yaml.dict [config]=yaml.dict [framer]= [state]= [gzip]=)

cxx=${CXX_FUZZ:-$(command -v clang++ || command -v clang++-14 || true)}
if [[ -z $cxx ]]; then
  echo "fuzz/run.sh: clang++ not found (apt-get install clang libclang-rt-14-dev)" >&2
  exit 2
fi
flags="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -g"
src=$here
extra=()
if grep -q DISTILLSCAN_FUZZ "$root/CMakeLists.txt"; then
  src=$root
  extra=(-DDISTILLSCAN_FUZZ=ON -DDISTILLSCAN_TESTS=OFF -DDISTILLSCAN_BENCH=OFF -DDISTILLSCAN_ISAL=ON)
fi
echo "=== fuzz: configure $build (from $src)"
# A build dir configured from the other source dir (fuzz/ alone vs the top level) cannot be reused.
if [[ -f $build/CMakeCache.txt ]] && ! grep -qx "CMAKE_HOME_DIRECTORY:INTERNAL=$src" "$build/CMakeCache.txt"; then
  rm -rf "$build"
fi
mkdir -p "$build"
cmake -S "$src" -B "$build" -G Ninja -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=FuzzBuild \
  -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_CXX_FLAGS_FUZZBUILD="-O1" "${extra[@]}" > "$build/configure.log" 2>&1 \
  || { cat "$build/configure.log"; echo "fuzz/run.sh: configure failed" >&2; exit 2; }
echo "=== fuzz: build ${targets[*]}"
cmake --build "$build" -j "${DS_FUZZ_JOBS:-$(nproc)}" --target "${targets[@]/#/fuzz_}" \
  || { echo "fuzz/run.sh: build failed" >&2; exit 2; }
bin=$(find "$build" -name "fuzz_${targets[0]}" -type f -perm -u+x -printf '%h\n' | head -1)

asan_default=detect_leaks=1:abort_on_error=1:allocator_may_return_null=0
# Hyperscan's compiler allocates heavily: shorter allocation stacks make the
# rules target ~2x faster (reports still show where a block was allocated).
declare -A asan_extra=([rules]=:malloc_context_size=5)
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export DISTILLSCAN_CACHE_DIR=off

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
status=0
for t in "${targets[@]}"; do
  exe=$bin/fuzz_$t
  export ASAN_OPTIONS=${DS_ASAN_OPTIONS:-$asan_default${asan_extra[$t]:-}}
  mkdir -p "$here/regressions/$t"
  common=(-timeout="${timeout[$t]}" -rss_limit_mb=2048 -max_len="${max_len[$t]}")
  [[ -n ${dict[$t]} ]] && common+=(-dict="$here/dict/${dict[$t]}")

  # 1. Regressions: every kept crasher must now pass.
  mapfile -t regs < <(find "$here/regressions/$t" -type f ! -name '.*' ! -name '*.md' | sort)
  if (( ${#regs[@]} )); then
    if "$exe" "${common[@]}" "${regs[@]}" > "$scratch/$t.regress.log" 2>&1; then
      echo "ok   $t: ${#regs[@]} regression inputs"
    else
      echo "FAIL $t: a regression input fails again:"; tail -40 "$scratch/$t.regress.log"; status=1
    fi
  fi

  # 2. Fuzz from the seeds; findings land in $scratch/$t.art/.
  corpus=${DS_FUZZ_KEEP_CORPUS:+$DS_FUZZ_KEEP_CORPUS/$t}
  corpus=${corpus:-$scratch/$t.corpus}
  mkdir -p "$corpus" "$scratch/$t.art"
  log=$scratch/$t.log
  "$exe" "${common[@]}" -max_total_time="$secs" -print_final_stats=1 \
    -artifact_prefix="$scratch/$t.art/" "$corpus" "$here/corpus/$t" > "$log" 2>&1
  rc=$?
  stats=$(grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "$log" | sed 's/^stat:://' | tr '\n' ' ')
  cov=$(grep -Eo 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1)
  rm -f "$scratch/$t.art"/slow-unit-*  # informational (-report_slow_units), not a finding
  if (( rc == 0 )) && [[ -z $(ls -A "$scratch/$t.art") ]]; then
    echo "ok   $t: ${secs}s, $cov, $stats"
  else
    echo "FAIL $t: exit $rc after fuzzing ($cov):"
    grep -E 'ERROR|WARNING|runtime error|invariant|SUMMARY|Test unit written' "$log" | head -20
    for a in "$scratch/$t.art"/*; do
      [[ -f $a ]] || continue
      cp "$a" "$here/regressions/$t/"
      echo "     kept $(basename "$a") -> fuzz/regressions/$t/ (replayed on every run)"
    done
    tail -60 "$log"
    status=1
  fi
done
exit $status

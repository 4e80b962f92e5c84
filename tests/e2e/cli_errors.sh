#!/usr/bin/env bash
# CLI contract: exit 0 success, 1 runtime failure, 2 usage/config/rule error,
# with a message that names the file, line and problem.
# Usage: cli_errors.sh DISTILLSCAN SOURCE_DIR BUILD_DIR
set -uo pipefail
bin=$1; src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
expect() {  # expected_rc, pattern for stderr+stdout, command...
  local want=$1 pat=$2; shift 2
  local out rc
  out=$("$@" 2>&1); rc=$?
  if [[ $rc != "$want" ]]; then echo "FAIL: '$*' exited $rc, expected $want"; echo "$out"; fail=1; return; fi
  if ! grep -qE -- "$pat" <<<"$out"; then echo "FAIL: '$*' output lacks /$pat/:"; echo "$out"; fail=1; return; fi
  echo "ok: $* -> $rc"
}
echo '{"timestamp":"2026-11-01T00:00:00Z","account_id":"a"}' > "$work/one.jsonl"

expect 0 'distillscan [0-9]' "$bin" --version
expect 0 'scan' "$bin" --help
expect 2 '' "$bin"
expect 2 'subcommand' "$bin" nosuch
expect 2 'threads' "$bin" scan -j 0 "$work/one.jsonl"

# A broken rule file: FILE:LINE: message, exit 2 (check and scan).
mkdir -p "$work/rules"
cat > "$work/rules/bad.yaml" <<'YAML'
rules:
  - id: ok_rule
    description: fine
    category: reasoning_elicitation
    fields: [user]
    patterns:
      - 'show your reasoning'
  - id: bad_rule
    description: backreference
    category: reasoning_elicitation
    fields: [user]
    patterns:
      - '(a)\1'
YAML
expect 2 "bad.yaml:13: " "$bin" rules check "$work/rules"
expect 2 "bad.yaml:13: " "$bin" scan -r "$work/rules" "$work/one.jsonl"
expect 0 'ok: ' "$bin" rules check "$src/rules"
expect 0 ' passed, 0 failed' "$bin" rules test "$src/rules"

# A bad config: FILE:LINE, exit 2.
printf 'detector:\n  window: 1h\n  min_requestz: 5\n' > "$work/bad.yaml"
expect 2 "bad.yaml:3: unknown key 'min_requestz'" "$bin" scan -c "$work/bad.yaml" "$work/one.jsonl"
printf 'fields:\n  time: timestamp\n' > "$work/badptr.yaml"
expect 2 "badptr.yaml:2: " "$bin" scan -c "$work/badptr.yaml" "$work/one.jsonl"
expect 2 "field" "$bin" scan --field nosuch=/x "$work/one.jsonl"

# Runtime failure: a missing input is reported and the exit status is 1,
# but the other inputs are still processed.
expect 1 "missing.jsonl" "$bin" scan --no-summary --stats "$work/s.json" "$work/missing.jsonl" "$work/one.jsonl"
grep -q '"lines":1,' "$work/s.json" || { echo "FAIL: the readable input was not processed"; cat "$work/s.json"; fail=1; }
printf '\x1f\x8b\x08\x00garbage' > "$work/trunc.gz"
expect 1 "trunc.gz" "$bin" scan --no-summary "$work/trunc.gz"
exit $fail

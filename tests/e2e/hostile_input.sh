#!/usr/bin/env bash
# Hostile input end to end: every input class gets a clear error or a counted
# skip, never a crash, hang or silent loss. For each case `distillscan scan
# --stats` runs on a generated input and the script asserts the exit status,
# records + sum(errors) == lines, and the specific reason counted.
# Usage: hostile_input.sh DISTILLSCAN SOURCE_DIR BUILD_DIR
# Runs in about a minute on 2 cores (most of it the 10-million-account case).
# The documented outcomes are in README "Guarantees under bad input and limits".
set -uo pipefail
bin=$1
src=${2:-.}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export DISTILLSCAN_CACHE_DIR=$work/hs-cache  # compile the bundled rules once, not into ~/.cache
fail=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }

# Under ASan/UBSan/TSan (scripts/test.sh asan) memory figures mean nothing
# (shadow memory, quarantine) and everything runs ~5x slower: RSS bounds are
# skipped and the account flood is 2 million instead of 10 million.
sanitized=0
if grep -q -a -m1 -e __asan_init -e __tsan_init "$bin"; then sanitized=1; fi
# rss_below NAME BYTES LIMIT_BYTES TEXT
rss_below() {
  if (( sanitized )); then echo "skip $1: peak_rss_bytes $2 (sanitizer build)"; return; fi
  if (( $2 < $3 )); then ok "$1: peak_rss_bytes $2 < $4"; else bad "$1: peak_rss_bytes $2 >= $4"; fi
}

T='"timestamp":"2026-11-28T10:15:00Z"'

# sget FILE KEY -> the first number after "KEY": in the stats JSON (0 if absent).
sget() { local v; v=$(grep -o "\"$2\":[0-9.]*" "$1" | head -1 | cut -d: -f2); echo "${v:-0}"; }
# errsum FILE -> sum of the counts in the "errors" object.
errsum() {
  sed -n 's/.*"errors":{\([^}]*\)}.*/\1/p' "$1" | tr ',' '\n' | cut -d: -f2 | awk '{s+=$1} END {print s+0}'
}

# scan NAME WANT_RC [distillscan scan options...] INPUT
# Runs scan with --stats, checks the exit status and the line accounting.
# Leaves $work/NAME.stats, $work/NAME.err and $secs (wall seconds).
scan() {
  local name=$1 want=$2; shift 2
  local t0 t1 rc
  t0=$(date +%s.%N)
  "$bin" scan --no-summary -j 2 -o "$work/$name.alerts" --stats "$work/$name.stats" "$@" \
    > "$work/$name.out" 2> "$work/$name.err"
  rc=$?
  t1=$(date +%s.%N)
  secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}')
  if [[ $rc != "$want" ]]; then
    bad "$name: exit $rc, expected $want ($(head -c 300 "$work/$name.err"))"
    return 1
  fi
  if [[ ! -s $work/$name.stats ]]; then
    bad "$name: no stats written"
    return 1
  fi
  local lines records errs
  lines=$(sget "$work/$name.stats" lines)
  records=$(sget "$work/$name.stats" records)
  errs=$(errsum "$work/$name.stats")
  if (( records + errs != lines )); then
    bad "$name: records $records + errors $errs != lines $lines"
    return 1
  fi
  return 0
}

# expect NAME KEY VALUE: one stats value.
expect() {
  local got
  got=$(sget "$work/$1.stats" "$2")
  if [[ $got == "$3" ]]; then ok "$1: $2 = $3"; else bad "$1: $2 = $got, expected $3 ($(cat "$work/$1.stats"))"; fi
}

# --- nesting 100k deep -------------------------------------------------------
open=$(head -c 100000 /dev/zero | tr '\0' '[')
close=$(head -c 100000 /dev/zero | tr '\0' ']')
{
  echo "{$T,\"account_id\":\"deep\",\"x\":$open$close}"
  echo "$open$close"
  echo "{$T,\"account_id\":\"deep\",\"request\":{\"messages\":$open$close}}"
  echo "{$T,\"account_id\":\"deep\",\"x\":$open"
  echo "{$T,\"account_id\":\"ok\"}"
} > "$work/deep.jsonl"
if scan deep 0 "$work/deep.jsonl"; then
  expect deep lines 5
  expect deep records 1
  expect deep too_deep 3
  expect deep invalid_json 1
fi
# Lazy validation skips what it does not extract without recursing: the deep
# unmapped value and the deep junk inside messages (a malformed entry, counted
# in field_type_errors) do not reject their records. The root stays bounded.
printf 'parse:\n  full_validation: false\n' > "$work/lazy.yaml"
if scan deep_lazy 0 -c "$work/lazy.yaml" "$work/deep.jsonl"; then
  expect deep_lazy records 3
  expect deep_lazy too_deep 1
  expect deep_lazy invalid_json 1
  expect deep_lazy field_type_errors 1
fi

# --- a 64 MiB line ----------------------------------------------------------
{
  printf '{%s,"account_id":"big","pad":"' "$T"
  head -c 67108864 /dev/zero | tr '\0' a
  printf '"}\n{%s,"account_id":"after"}\n' "$T"
} > "$work/big.jsonl"
if scan big 0 "$work/big.jsonl"; then
  expect big lines 2
  expect big records 1
  expect big line_too_long 1
  # Never buffered past the 8 MiB limit: far below the line's 64 MiB.
  rss_below big "$(sget "$work/big.stats" peak_rss_bytes)" $(( 48 * 1024 * 1024 )) "48 MiB"
fi
printf 'limits:\n  max_line_bytes: 128MiB\n' > "$work/l128.yaml"
if scan big128 0 -c "$work/l128.yaml" "$work/big.jsonl"; then
  expect big128 records 2
  expect big128 line_too_long 0
fi
rm -f "$work/big.jsonl"

# --- NUL bytes ----------------------------------------------------------------
{
  printf '{%s,"account_id":"a\0b"}\n' "$T"         # raw NUL inside a string
  printf '{%s,"account_id":"a",\0"x":1}\n' "$T"    # between tokens
  printf '{%s,"account_id":"a"}\0\n' "$T"           # trailing
  printf '\0\0\0\n'
  printf '{%s,"account_id":"a\\u0000b"}\n' "$T"    # escaped NUL: a valid id
} > "$work/nul.jsonl"
if scan nul 0 "$work/nul.jsonl"; then
  expect nul lines 5
  expect nul records 1
  expect nul invalid_json 4
fi

# --- invalid UTF-8 in keys and values ------------------------------------------
{
  printf '{%s,"account_id":"\xff\xfe"}\n' "$T"             # mapped value
  printf '{%s,"account_id":"a","x":"\xc0\x80"}\n' "$T"      # overlong, unmapped value
  printf '{%s,"account_id":"a","\xed\xa0\x80":1}\n' "$T"    # surrogate, unmapped key
  printf '{%s,"\xe2\x82":"a"}\n' "$T"                        # truncated, key
  printf '{%s,"account_id":"a","request":{"messages":[{"role":"user","content":"\xf4\x90\x80\x80"}]}}\n' "$T"
  printf '{%s,"account_id":"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"}\n' "$T"   # valid: kept
} > "$work/utf8.jsonl"
if scan utf8 0 "$work/utf8.jsonl"; then
  expect utf8 lines 6
  expect utf8 records 1
  expect utf8 invalid_utf8 5
fi

# --- duplicate keys: the first occurrence wins ---------------------------------
{
  echo "{$T,\"account_id\":\"first\",\"account_id\":\"second\"}"
  echo "{$T,\"account_id\":\"first\",\"account_id\":\"third\",\"timestamp\":\"not a time\"}"
  echo "{$T,\"account_id\":\"first\",\"account_id\":7,\"account_id\":null}"
} > "$work/dup.jsonl"
if scan dup 0 "$work/dup.jsonl"; then
  expect dup records 3
  expect dup accounts 1
  expect dup field_type_errors 0
fi

# --- numbers out of range ------------------------------------------------------
# A grammatical number that does not fit the field: record kept, the field
# dropped and counted in field_type_errors; in a required field it is bad_*.
{
  echo "{$T,\"account_id\":\"n\",\"usage\":{\"prompt_tokens\":1e400}}"
  echo "{$T,\"account_id\":\"n\",\"usage\":{\"prompt_tokens\":-1e400}}"
  echo "{$T,\"account_id\":\"n\",\"usage\":{\"prompt_tokens\":18446744073709551617}}"
  echo "{$T,\"account_id\":\"n\",\"usage\":{\"prompt_tokens\":9223372036854775807}}"   # fits: no error
  echo "{$T,\"account_id\":\"n\",\"x\":[1e400,-1e400,18446744073709551617]}"           # unmapped: valid JSON
  echo "{\"timestamp\":1e400,\"account_id\":\"n\"}"
  echo "{$T,\"account_id\":1e400}"
  echo "{$T,\"account_id\":\"n\",\"usage\":{\"prompt_tokens\":1e}}"                     # not a number at all
} > "$work/num.jsonl"
if scan num 0 "$work/num.jsonl"; then
  expect num lines 8
  expect num records 5
  expect num field_type_errors 3
  expect num bad_time 1
  expect num bad_account 1
  expect num invalid_json 1
fi

# --- messages of the wrong type -----------------------------------------------
{
  echo "{$T,\"account_id\":\"m\",\"request\":{\"messages\":{\"role\":\"user\",\"content\":\"hi\"}}}"
  echo "{$T,\"account_id\":\"m\",\"request\":{\"messages\":\"hello\"}}"
  echo "{$T,\"account_id\":\"m\",\"request\":{\"messages\":[\"a\",1]}}"
  echo "{$T,\"account_id\":\"m\",\"request\":{\"messages\":null}}"   # null = absent: no error
} > "$work/msgs.jsonl"
if scan msgs 0 "$work/msgs.jsonl"; then
  expect msgs records 4
  expect msgs field_type_errors 3
fi

# --- logit_bias with a million entries -----------------------------------------
awk -v t="$T" 'BEGIN {
  printf "{%s,\"account_id\":\"lb\",\"request\":{\"logit_bias\":{", t
  for (i = 0; i < 1000000; i++) printf "%s\"%d\":-100", (i ? "," : ""), i
  printf "}}}\n"
}' > "$work/lb.jsonl"
printf 'limits:\n  max_line_bytes: 64MiB\n' > "$work/l64.yaml"
if scan lb 0 -c "$work/l64.yaml" "$work/lb.jsonl"; then
  expect lb records 1
  expect lb field_type_errors 0
  # Linear: ~0.1 s in a release build; 20 s leaves room for sanitizer builds.
  if awk -v s="$secs" 'BEGIN {exit !(s < 20)}'; then ok "lb: ${secs}s"; else bad "lb: took ${secs}s"; fi
fi
# Over the default 8 MiB limit (the line is ~13 MiB): skipped whole and counted.
if scan lb_default 0 "$work/lb.jsonl"; then
  expect lb_default line_too_long 1
fi

# --- 10 million distinct accounts, max_accounts 100000 ------------------------
# All in one event-time instant, so no account is ever idle: every eviction is LRU.
# Peak RSS bound with -j 2: account state is fixed-size per tracked account
# (detect/account_state.hpp: 3,032 B with the default 12 buckets, plus ~24 B
# of index), so 100k accounts take ~305 MB; the pipeline ring holds 8 slots of
# a 4 MiB chunk plus its event batch (~85k events x 208 B = ~18 MB), ~180 MB;
# rules, code and allocator slack ~100 MB. Measured: ~590 MB. 800 MB leaves
# headroom for sanitizer builds; untracked, 10M accounts would need > 30 GB.
printf 'limits:\n  max_accounts: 100000\n' > "$work/acc.yaml"
t0=$(date +%s)
n_accounts=10000000
(( sanitized )) && n_accounts=2000000
gen_accounts() { seq 1 "$n_accounts" | awk '{print "{\"timestamp\":1764324900,\"account_id\":\"a" $1 "\"}"}'; }
if scan accounts 0 -c "$work/acc.yaml" - < <(gen_accounts); then
  expect accounts lines "$n_accounts"
  expect accounts records "$n_accounts"
  expect accounts accounts "$n_accounts"
  tracked=$(sget "$work/accounts.stats" accounts_tracked)
  lru=$(grep -o '"accounts_evicted":{[^}]*}' "$work/accounts.stats" | grep -o '"lru":[0-9]*' | cut -d: -f2)
  rss=$(sget "$work/accounts.stats" peak_rss_bytes)
  if (( tracked <= 100000 )); then ok "accounts: accounts_tracked $tracked <= 100000"; else bad "accounts: accounts_tracked $tracked > max_accounts 100000"; fi
  if (( lru >= n_accounts - tracked )); then ok "accounts: evicted lru $lru"; else bad "accounts: evicted lru $lru"; fi
  rss_below accounts "$rss" $(( 800 * 1000 * 1000 )) "800 MB"
fi
echo "     ($n_accounts accounts: $(( $(date +%s) - t0 ))s)"

# --- rules ----------------------------------------------------------------------
echo "{$T,\"account_id\":\"a\"}" > "$work/one.jsonl"
rule() {  # rule ID PATTERN [CATEGORY]
  printf '  - id: %s\n    description: d\n    category: %s\n    fields: [user]\n    patterns:\n      - '"'"'%s'"'"'\n' \
    "$1" "${3:-c}" "$2"
}
# A pattern Hyperscan rejects: exit 2, FILE:LINE: message.
{ echo "rules:"; rule good 'show\s+your\s+reasoning'; rule backref '(a)\1'; } > "$work/reject.yaml"
"$bin" scan --no-summary -r "$work/reject.yaml" -o /dev/null "$work/one.jsonl" > "$work/reject.out" 2>&1
rc=$?
if [[ $rc == 2 ]] && grep -q "reject.yaml:13: pattern rejected by Hyperscan" "$work/reject.out"; then
  ok "rule rejected by Hyperscan: exit 2, $(head -1 "$work/reject.out")"
else
  bad "rule rejected by Hyperscan: exit $rc: $(head -3 "$work/reject.out")"
fi
# Hundreds of patterns, one of them too large for Hyperscan: exit 2 naming its line.
{
  echo "rules:"
  for i in $(seq 1 200); do
    printf '  - id: r%03d\n    description: d\n    category: c%d\n    fields: [user, prompt]\n    patterns:\n' "$i" $(( i % 20 ))
    printf "      - '(show|reveal|print)\\\\s+(your\\\\s+)?step%d\\\\s+\\\\w+'\n" "$i"
    printf "      - 'word%d\\\\s+(a|b|c)+\\\\d{2,4}'\n" "$i"
  done
  rule toolarge 'x[a-z]{50,60}y[a-z]{50,60}z'
} > "$work/large.yaml"
line=$(grep -n 'x\[a-z\]{50,60}' "$work/large.yaml" | cut -d: -f1)
t0=$(date +%s)
"$bin" rules check "$work/large.yaml" > "$work/large.out" 2>&1
rc=$?
if [[ $rc == 2 ]] && grep -q "large.yaml:$line: pattern rejected by Hyperscan: Pattern is too large" "$work/large.out"; then
  ok "401 patterns, one too large: exit 2 in $(( $(date +%s) - t0 ))s, $(head -1 "$work/large.out")"
else
  bad "401 patterns, one too large: exit $rc: $(head -3 "$work/large.out")"
fi
# More rules than the rule bitset holds (256): exit 2 before any compile.
{ echo "rules:"; for i in $(seq 1 300); do rule "r$i" "complex\\s+(pattern|rule)\\s+$i\\w*\\d{1,3}"; done; } > "$work/many.yaml"
"$bin" scan --no-summary -r "$work/many.yaml" -o /dev/null "$work/one.jsonl" > "$work/many.out" 2>&1
rc=$?
if [[ $rc == 2 ]] && grep -q "many.yaml:[0-9]*: too many rules: 300 loaded, at most 256" "$work/many.out"; then
  ok "300 rules: exit 2, $(head -1 "$work/many.out")"
else
  bad "300 rules: exit $rc: $(head -3 "$work/many.out")"
fi
# More categories than the 32-bit category mask holds.
{ echo "rules:"; for i in $(seq 1 40); do rule "r$i" "word$i" "cat$i"; done; } > "$work/cats.yaml"
"$bin" rules check "$work/cats.yaml" > "$work/cats.out" 2>&1
rc=$?
if [[ $rc == 2 ]] && grep -q "cats.yaml:[0-9]*: too many categories" "$work/cats.out"; then
  ok "40 categories: exit 2, $(head -1 "$work/cats.out")"
else
  bad "40 categories: exit $rc: $(head -3 "$work/cats.out")"
fi

# A malformed rule file that sends yaml-cpp 0.7's LoadAll into an endless,
# memory-eating loop (found by fuzz_rules): a YAML error at once, exit 2.
printf ',ules: [exampl]\n---\nrll]' > "$work/loop.yaml"
timeout 60 "$bin" rules check "$work/loop.yaml" > "$work/loop.out" 2>&1
rc=$?
if [[ $rc == 2 ]] && grep -q "loop.yaml:" "$work/loop.out"; then ok "looping YAML: exit 2, $(head -1 "$work/loop.out")"
else bad "looping YAML: exit $rc (124 = hung): $(head -3 "$work/loop.out")"; fi

# --- truncated .gz and .zst -------------------------------------------------------
seq 1 200000 | awk '{print "{\"timestamp\":1764324900,\"account_id\":\"a" ($1 % 1000) "\",\"request\":{\"messages\":[{\"role\":\"user\",\"content\":\"question " $1 "\"}]}}"}' \
  > "$work/plain.jsonl"
gzip -c "$work/plain.jsonl" > "$work/full.gz"
zstd -q -c "$work/plain.jsonl" > "$work/full.zst"
for ext in gz zst; do
  size=$(stat -c %s "$work/full.$ext")
  head -c $(( size / 2 )) "$work/full.$ext" > "$work/trunc.$ext"
  if [[ $ext == gz ]]; then complete=$(gzip -dc "$work/trunc.gz" 2>/dev/null | wc -l)
  else complete=$(zstd -dc "$work/trunc.zst" 2>/dev/null | wc -l); fi
  # The truncated file first, then a good one: both processed, exit 1.
  if scan "trunc_$ext" 1 "$work/trunc.$ext" "$work/one.jsonl"; then
    if grep -q "trunc.$ext.*truncated" "$work/trunc_$ext.err"; then ok "trunc_$ext: $(head -1 "$work/trunc_$ext.err")"
    else bad "trunc_$ext: message does not name the file: $(head -3 "$work/trunc_$ext.err")"; fi
    if grep -q "trunc.$ext: .*trunc.$ext: " "$work/trunc_$ext.err"; then bad "trunc_$ext: file named twice: $(head -1 "$work/trunc_$ext.err")"; fi
    expect "trunc_$ext" lines $(( complete + 1 ))
    expect "trunc_$ext" records $(( complete + 1 ))
    expect "trunc_$ext" input_errors 1
  fi
done

if (( fail )); then echo "hostile_input: FAILED"; exit 1; fi
echo "hostile_input: all passed"

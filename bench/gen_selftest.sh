#!/usr/bin/env bash
# CTest: the generator is deterministic, writes only valid JSON lines, and
# both layouts describe the same accounts.
# usage: gen_selftest.sh GEN_BINARY BARE_PARSE_BINARY
set -euo pipefail
gen=$1 bare=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/distillscan-gen-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
args=(--seed 42 --accounts 60 --hours 3 --quiet)
"$gen" "${args[@]}" --out "$work/a.jsonl" --labels "$work/a.csv"
"$gen" "${args[@]}" --out "$work/b.jsonl" --labels "$work/b.csv"
cmp "$work/a.jsonl" "$work/b.jsonl"
cmp "$work/a.csv" "$work/b.csv"
"$gen" "${args[@]}" --layout litellm --out "$work/l.jsonl" --labels "$work/l.csv"
cmp "$work/a.csv" "$work/l.csv"
# A different seed gives a different corpus.
"$gen" --seed 43 --accounts 60 --hours 3 --quiet --out "$work/c.jsonl"
if cmp -s "$work/a.jsonl" "$work/c.jsonl"; then echo "seed 43 gave the same corpus as seed 42" >&2; exit 1; fi
# Every line is valid JSON (exit 3 otherwise), in both layouts.
"$bare" --both "$work/a.jsonl" >/dev/null
"$bare" --both "$work/l.jsonl" >/dev/null
# Every population is present and labelled.
for style in benign heavy_user coding_agent rag_pipeline batch_customer eval_harness cot_harvester hydra \
  mixed_proxy logit_probe dataset_gen sysprompt_extraction low_and_slow skeleton_sweep; do
  grep -q ",$style," "$work/a.csv" || { echo "missing population $style" >&2; exit 1; }
done
head -1 "$work/a.csv" | grep -qx 'account,label,style,group,requests,first_seen'
echo "gen selftest ok: $(wc -l <"$work/a.jsonl") lines"

#include "corpus.hpp"

#include <algorithm>
#include <cmath>
#include <queue>

#include "rng.hpp"

namespace gen {

// The population table. Shares are of accounts, not of traffic: per-account
// volumes are set in each builder (see bench/README.md for the numbers).
std::span<const PopulationInfo> populations() {
  static const PopulationInfo kTable[] = {
      // Hard negatives (label benign).
      {"benign", "benign", 0.56, 1, build_benign, "ordinary chat users: diurnal, multi-turn, 2-150 req/day"},
      {"heavy_user", "benign", 0.03, 1, build_heavy_user,
       "heavy individual users: 120-500 req/day, long chats, sometimes 'explain your reasoning'"},
      {"coding_agent", "benign", 0.08, 2, build_coding_agent,
       "coding agents: many accounts share one product prompt/UA, office hours, 40-160 req/day, tool calls, "
       "long contexts"},
      {"rag_pipeline", "benign", 0.01, 1, build_rag_pipeline,
       "RAG pipelines: one system prompt, long retrieved context, 400-2000 questions/day (+1 embedding call "
       "each)"},
      {"batch_customer", "benign", 0.005, 1, build_batch_customer,
       "batch jobs: 10k-20k templated summarise/classify/translate/extract req/day, 24/7"},
      {"eval_harness", "benign", 0.01, 1, build_eval_harness,
       "eval harnesses: 1-2 bursts over a fixed benchmark set, step-by-step / \\boxed{}"},
      // Attackers.
      {"cot_harvester", "attacker", 0.01, 1, build_cot_harvester,
       "reasoning-trace harvesting: 4k-12k req/day 24/7, varied CoT demands, topic sweeps, n>1, temperature "
       "sweeps"},
      {"hydra", "attacker", 0.25, 1, build_hydra,
       "hydra clusters of 20-60 accounts (80-300 req/day each), shared prompt/skeleton, UA, proxy IP pool"},
      {"mixed_proxy", "attacker", 0.01, 1, build_mixed_proxy,
       "reseller accounts: 1.5k-5k req/day ordinary chat with 15-30% harvesting mixed in"},
      {"logit_probe", "attacker", 0.005, 1, build_logit_probe,
       "logit probing: 3k-12k req/day, top_logprobs 20, 50-300 entry +-100 logit_bias, max_tokens 1-2"},
      {"dataset_gen", "attacker", 0.01, 1, build_dataset_gen,
       "synthetic dataset generation: 1k-4k req/day, 'N diverse Q&A pairs as JSONL', long outputs"},
      {"sysprompt_extraction", "attacker", 0.01, 1, build_sysprompt_extraction,
       "system-prompt extraction: bursts of variants, 150-800 req/day"},
      {"low_and_slow", "attacker", 0.01, 1, build_low_and_slow,
       "low and slow: 1.5k-4k req/day flat, 92-98% one harvesting template"},
      {"skeleton_sweep", "attacker", 0.01, 1, build_skeleton_sweep,
       "skeleton sweep: 1.5k-5k req/day flat, one long fixed brief between a varied topic and question, no "
       "rule phrase, long outputs"},
  };
  return kTable;
}

std::vector<std::pair<const PopulationInfo*, int>> allocate_accounts(const CorpusOptions& opt) {
  std::vector<std::pair<const PopulationInfo*, int>> alloc;
  double total_share = 0;
  for (const auto& p : populations()) {
    auto it = opt.mix.find(p.style);
    const double share = it != opt.mix.end() ? it->second : p.share;
    total_share += share;
  }
  int used = 0;
  size_t benign_index = 0;
  for (const auto& p : populations()) {
    auto it = opt.mix.find(p.style);
    const double share = it != opt.mix.end() ? it->second : p.share;
    int n = 0;
    if (share > 0 && total_share > 0) {
      n = static_cast<int>(std::floor(share / total_share * opt.accounts));
      n = std::max(n, p.min_accounts);
    }
    if (p.style == "benign") benign_index = alloc.size();
    alloc.emplace_back(&p, n);
    used += n;
  }
  // Rounding goes to (or comes from) ordinary users.
  auto& benign = alloc[benign_index].second;
  if (benign > 0 || opt.accounts > used) benign = std::max(0, benign + (opt.accounts - used));
  return alloc;
}

namespace {

struct HeapEntry {
  int64_t t;
  uint32_t actor;
  bool operator>(const HeapEntry& o) const { return t != o.t ? t > o.t : actor > o.actor; }
};

void write_labels(std::FILE* f, World& world) {
  std::vector<const Account*> accts;
  for (const auto& a : world.accounts()) accts.push_back(a.get());
  std::sort(accts.begin(), accts.end(), [](const Account* a, const Account* b) { return a->id < b->id; });
  std::string s = "account,label,style,group,requests,first_seen\n";
  for (const Account* a : accts) {
    s += a->id;
    s += ',';
    s += a->label;
    s += ',';
    s += a->style;
    s += ',';
    s += a->group;
    s += ',';
    append_int(s, static_cast<int64_t>(a->requests));
    s += ',';
    if (a->first_ms >= 0) append_rfc3339(s, a->first_ms, 3, "Z");
    s += '\n';
  }
  std::fwrite(s.data(), 1, s.size(), f);
}

}  // namespace

CorpusResult generate(const CorpusOptions& opt, std::FILE* out, std::FILE* labels) {
  const int64_t end_ms = opt.start_ms + static_cast<int64_t>(opt.hours * kHourMs);
  World world(opt.seed, opt.start_ms, end_ms);
  ActorList actors;
  for (const auto& [pop, n] : allocate_accounts(opt))
    if (n > 0) pop->build(world, n, opt.build, actors);

  std::priority_queue<HeapEntry, std::vector<HeapEntry>, std::greater<>> heap;
  for (uint32_t i = 0; i < actors.size(); ++i)
    if (actors[i]->next_ms() < end_ms) heap.push({actors[i]->next_ms(), i});

  CorpusResult res;
  for (const auto& a : world.accounts()) res.by_style[std::string(a->style)].accounts++;
  Rng envelope = Rng::derive(opt.seed, 0xE4E10);
  Request req;
  std::string buf;
  constexpr size_t kFlush = 8u << 20;
  buf.reserve(kFlush + (1u << 20));
  static constexpr char kAlnum[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  while (!heap.empty()) {
    const HeapEntry e = heap.top();
    heap.pop();
    Actor& actor = *actors[e.actor];
    req.reset();
    req.t_ms = e.t;
    actor.emit(req);
    // Envelope: drawn here, in event order, identically for every layout.
    req.request_id = "req_";
    for (int i = 0; i < 24; ++i) req.request_id += kAlnum[envelope.below(62)];
    req.logged_ms = e.t;
    if (envelope.chance(opt.jitter_rate)) req.logged_ms -= envelope.range(1, 2000);
    const double u = envelope.uniform();
    req.status = u < 0.004 ? 429 : (u < 0.005 ? 400 : (u < 0.0055 ? 500 : 200));
    if (req.status != 200) req.completion_tokens = 0;
    const double per_token = envelope.uniform(8.0, 25.0);
    req.latency_ms = 120 + static_cast<int>(req.completion_tokens * per_token) + req.prompt_tokens / 40;
    if (req.status == 429) req.latency_ms = static_cast<int>(envelope.range(3, 40));
    req.response_meta = envelope.chance(0.1);
    req.envelope_bits = envelope.next();

    // Now and then an unauthenticated request (bad key): logged by the
    // gateway without an account (openai layout only; LiteLLM does not log
    // them). Drawn in every layout so the streams stay aligned.
    if (envelope.chance(0.0005) && opt.layout == Layout::OpenAI) {
      const size_t b0 = buf.size();
      buf += "{\"timestamp\":\"";
      append_rfc3339(buf, req.logged_ms, 3, "Z");
      buf += "\",\"request_id\":\"req_";
      for (int i = 0; i < 24; ++i) buf += kAlnum[(req.envelope_bits >> (i % 58)) % 62];
      buf += "\",\"client_ip\":";
      append_json_string(buf, req.ip);
      buf +=
          ",\"endpoint\":\"/v1/chat/completions\",\"status\":401,\"error\":{\"type\":\"invalid_api_key\"}}\n";
      res.lines++;
      res.bytes += buf.size() - b0;
    }
    const size_t before = buf.size();
    write_line(opt.layout, req, buf);
    const size_t line_bytes = buf.size() - before;
    Account& acct = *req.account;
    if (acct.first_ms < 0) acct.first_ms = e.t;
    acct.last_ms = e.t;
    acct.requests++;
    StyleStats& st = res.by_style.find(acct.style)->second;
    st.requests++;
    st.bytes += line_bytes;
    res.lines++;
    res.bytes += line_bytes;
    if (buf.size() >= kFlush) {
      if (out) std::fwrite(buf.data(), 1, buf.size(), out);
      buf.clear();
    }
    const int64_t nt = actor.next_ms();
    if (nt < end_ms) heap.push({nt < e.t ? e.t : nt, e.actor});
  }
  if (out && !buf.empty()) std::fwrite(buf.data(), 1, buf.size(), out);
  if (labels) write_labels(labels, world);
  return res;
}

}  // namespace gen

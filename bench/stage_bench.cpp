// distillscan-stage-bench: the worker's parse of every chunk with the rules
// and without them (no text scanned), which splits a worker's time into the
// rule scan (Hyperscan, its result cache and the cache keys) and the rest;
// and the CPU per event of the stages that run beside the workers (the shard
// threads' AccountDetector and the collector's ClusterStage), measured alone.
//
// Why: timing these inside a full scan is noisy on a shared machine (the
// host adds +-15 %). The worker rounds re-parse copies of the chunks with a
// fresh parser each round, the two kinds alternating; the stages beside the
// workers (whose CPU -j N on N cores takes from the workers, see
// `cpu_seconds` in --stats) are replayed over events parsed once up front,
// from fresh state each round. Each figure is the fastest round. Same
// rules, config defaults and chunking as `distillscan scan` (4 MiB chunks,
// one shard).
//
//   distillscan-stage-bench FILE [ROUNDS] [RULES_DIR]
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "app/config.hpp"
#include "detect/account_detector.hpp"
#include "detect/cluster_stage.hpp"
#include "match/rule_set.hpp"
#include "parse/line_parser.hpp"
#include "source/byte_source.hpp"
#include "source/framer.hpp"

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s FILE [ROUNDS] [RULES_DIR]\n", argv[0]);
    return 2;
  }
  const int rounds = argc > 2 ? std::max(1, std::atoi(argv[2])) : 5;
  const std::string rules_dir = argc > 3 ? argv[3] : "rules";

  auto rules = ds::RuleSet::load({rules_dir}, nullptr);
  if (!rules.ok()) {
    std::fprintf(stderr, "%s: %s\n", rules_dir.c_str(), rules.error().message.c_str());
    return 2;
  }
  ds::Config cfg;  // the defaults `scan` runs with
  // One detector sees every account here, so give it the whole account cap
  // (scan splits limits.max_accounts over detector.shards).
  cfg.detector.shards = 1;
  ds::LineParser parser(cfg.fields, cfg.parse);
  ds::RuleScanner scanner(*rules);

  // Parse once, framed exactly as `scan` frames the file (plain, gzip or zstd).
  auto src = ds::open_input(argv[1]);
  if (!src.ok()) {
    std::fprintf(stderr, "%s\n", src.error().message.c_str());
    return 2;
  }
  ds::Framer framer(**src, cfg.framer, 0);
  std::vector<std::unique_ptr<ds::EventBatch>> batches;
  std::vector<ds::PaddedBuffer> chunks;  // copies, for the worker rounds
  uint64_t events = 0, bytes = 0;
  ds::Chunk chunk;
  while (framer.next(chunk)) {
    auto b = std::make_unique<ds::EventBatch>();
    b->seq = batches.size();
    parser.parse_chunk(chunk.data(), chunk.size(), &scanner, *b);
    events += b->events.size();
    bytes += chunk.size();
    batches.push_back(std::move(b));
    ds::PaddedBuffer copy(chunk.size());
    if (chunk.size() != 0) std::memcpy(copy.data(), chunk.data(), chunk.size());
    copy.resize(chunk.size());
    copy.pad();
    chunks.push_back(std::move(copy));
  }
  if (framer.failed()) {
    std::fprintf(stderr, "%s: %s\n", argv[1], framer.error().c_str());
    return 2;
  }
  std::printf("%s: %llu bytes, %llu events in %zu chunks\n", argv[1], static_cast<unsigned long long>(bytes),
              static_cast<unsigned long long>(events), batches.size());

  // The worker: a fresh parser and scanner per round (the scan cache starts
  // empty, as in a scan), every chunk into one reused batch.
  double best_rules = 1e300, best_plain = 1e300;
  for (int r = 0; r < 2 * rounds; ++r) {
    const bool with_rules = r % 2 == 0;
    ds::LineParser p(cfg.fields, cfg.parse);
    std::optional<ds::RuleScanner> sc;
    if (with_rules) sc.emplace(*rules);
    ds::EventBatch b;
    uint64_t n = 0;
    const auto t0 = std::chrono::steady_clock::now();
    for (const auto& c : chunks) {
      b.reset();
      p.parse_chunk(c.data(), c.size(), sc ? &*sc : nullptr, b);
      n += b.events.size();
    }
    double& best = with_rules ? best_rules : best_plain;
    best = std::min(best, seconds_since(t0));
    if (n != events) {
      std::fprintf(stderr, "worker round parsed %llu events, expected %llu\n", static_cast<unsigned long long>(n),
                   static_cast<unsigned long long>(events));
      return 1;
    }
  }

  const auto& cats = (*rules)->categories();
  double best_shard = 1e300, best_cluster = 1e300;
  uint64_t alerts_shard = 0, alerts_cluster = 0;
  std::vector<ds::Alert> out;
  for (int r = 0; r < rounds; ++r) {
    {
      ds::AccountDetector det(cfg.detector, cats);
      uint64_t n = 0;
      const auto t0 = std::chrono::steady_clock::now();
      for (const auto& b : batches) {
        out.clear();
        for (const ds::Event& ev : b->events) det.observe(ev, *b, b->seq, out);
        n += out.size();
      }
      best_shard = std::min(best_shard, seconds_since(t0));
      alerts_shard = n;
    }
    {
      ds::ClusterStage cl(cfg.detector, cats);
      uint64_t n = 0;
      const auto t0 = std::chrono::steady_clock::now();
      for (const auto& b : batches) {
        out.clear();
        cl.observe(*b, b->seq, out);
        n += out.size();
      }
      out.clear();
      cl.finish(batches.size(), out);
      n += out.size();
      best_cluster = std::min(best_cluster, seconds_since(t0));
      alerts_cluster = n;
    }
  }
  const double per = 1e9 / static_cast<double>(std::max<uint64_t>(1, events));
  const double mb = static_cast<double>(bytes) / 1e6;
  std::printf("worker  (LineParser::parse_chunk):  %.3f s, %.0f MB/s with the rules; %.3f s, %.0f MB/s without "
              "(no text scanned): the rule scan is %.0f %% of the worker (fastest of %d)\n",
              best_rules, mb / best_rules, best_plain, mb / best_plain, 100.0 * (best_rules - best_plain) / best_rules,
              rounds);
  std::printf("shard   (AccountDetector::observe): %.3f s, %.0f ns/event, %llu alerts (fastest of %d)\n", best_shard,
              best_shard * per, static_cast<unsigned long long>(alerts_shard), rounds);
  std::printf("cluster (ClusterStage::observe):    %.3f s, %.0f ns/event, %llu alerts (fastest of %d)\n", best_cluster,
              best_cluster * per, static_cast<unsigned long long>(alerts_cluster), rounds);
  return 0;
}

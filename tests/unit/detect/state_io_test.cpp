// Detector state checkpoints: split anywhere, save, load into fresh
// detectors, continue -- the alerts, summaries and counters must be exactly
// those of one uninterrupted run. Plus refusal of foreign, corrupt and
// truncated states.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/hash.hpp"
#include "detect/account_detector.hpp"
#include "detect/alert.hpp"
#include "detect/cluster_stage.hpp"
#include "detect/state_codec.hpp"
#include "detect/state_io.hpp"

using namespace ds;

namespace {

// 24 categories, so categories past the old 16-category limit are exercised.
std::vector<std::string> categories() {
  std::vector<std::string> c = {"reasoning_elicitation", "dataset_generation", "system_prompt_extraction"};
  for (int i = 3; i < 24; ++i) c.push_back("cat" + std::to_string(i));
  return c;
}

DetectorConfig test_config() {
  DetectorConfig c;
  c.bucket_seconds = 120;
  c.buckets = 10;
  c.horizon_seconds = 6 * 3600;
  c.min_requests = 10;
  c.harvest.min_hits = 10;
  c.harvest.long_min_hits = 40;
  c.logit_probe.min_requests = 30;
  c.suppress_seconds = 1800;
  c.shards = 4;
  c.max_accounts = 48;  // 12 per shard: LRU evictions happen
  c.account_idle_seconds = 1800;
  c.cluster.max_fingerprints = 40;
  c.cluster.max_names = 24;
  c.cluster.min_accounts = 5;
  c.cluster.interval_seconds = 240;
  c.cluster.idle_seconds = 2 * 3600;
  return c;
}

struct GenEv {
  std::string account, rid;
  Event ev;
};

// A realistic mix over ~20 h of event time: heavy harvesters (one on
// category 20), a hydra cluster, a logit prober, an extraction attempt,
// benign users (many, for evictions), a few late events.
std::vector<GenEv> generate(uint32_t seed, size_t n) {
  std::mt19937_64 rng(seed);
  std::vector<GenEv> out;
  int64_t t = 1'700'000'000'000;
  for (size_t i = 0; i < n; ++i) {
    t += static_cast<int64_t>(rng() % 24000);
    GenEv g;
    Event& ev = g.ev;
    ev.time_ms = t;
    ev.prompt_tokens = 100;
    ev.user_turns = 1;
    ev.prompt_hash = mix64(rng() | 1);
    ev.prompt_near_hash = 0x7000 + rng() % 40;  // 40 near-duplicate classes
    ev.ip_hash = 0x1000 + rng() % 3;
    ev.user_agent_hash = 0x2000;
    const unsigned k = static_cast<unsigned>(rng() % 100);
    if (k < 15) {
      g.account = "harvester-" + std::to_string(rng() % 3);
      ev.category_bits = (rng() % 4) ? 1u : 2u;
      ev.completion_tokens = 1500 + static_cast<int64_t>(rng() % 2000);
      ev.n = (rng() % 3 == 0) ? 2 : 1;
      ev.temperature = static_cast<float>(rng() % 10) / 10.0f;
    } else if (k < 22) {
      g.account = "wide-cat-harvester";
      ev.category_bits = 1u << 20;
      ev.completion_tokens = 2500;
    } else if (k < 45) {
      g.account = "hydra-" + std::to_string(rng() % 6);
      ev.category_bits = (rng() % 5) ? 1u : 0u;
      ev.completion_tokens = 2200;
      ev.system_hash = 0x5157;
      ev.user_agent_hash = 0xAAA;
      ev.ip_hash = 0x100 + rng() % 12;
    } else if (k < 52) {
      g.account = "prober";
      ev.logprobs = 1;
      ev.top_logprobs = 20;
      ev.max_tokens = 1;
      ev.logit_bias_count = 50;
      ev.prompt_hash = 0x42 + rng() % 3;
      ev.completion_tokens = 1;
    } else if (k < 56) {
      g.account = "extractor";
      ev.category_bits = 1u << 2;
      ev.ip_hash = 0x3000 + rng() % 50;
      ev.completion_tokens = 300;
    } else if (k < 60) {
      g.account = "burst-" + std::to_string(i / 400);  // active for a while, then idle
      ev.completion_tokens = 100;
    } else {
      g.account = "user-" + std::to_string(rng() % 70);
      ev.category_bits = (rng() % 40 == 0) ? 1u : 0u;
      ev.completion_tokens = static_cast<int64_t>(rng() % 400);
      ev.user_agent_hash = 0x2100 + rng() % 9;
    }
    if (rng() % 50 == 0) ev.time_ms -= 30 * 60 * 1000;  // late event
    g.rid = "req-" + std::to_string(i) + (i % 7 == 0 ? "-\xC3\xA9\xC3\xA9\xC3\xA9" : "");
    out.push_back(std::move(g));
  }
  return out;
}

struct Run {
  DetectorConfig cfg;
  std::vector<std::string> cats;
  std::vector<std::unique_ptr<AccountDetector>> shards;
  std::unique_ptr<ClusterStage> cluster;
  std::vector<std::string> lines;
  uint64_t seq = 0;

  Run(const DetectorConfig& c, const std::vector<std::string>& k) : cfg(c), cats(k) {
    for (uint32_t i = 0; i < cfg.shards; ++i) shards.push_back(std::make_unique<AccountDetector>(cfg, cats));
    if (cfg.cluster.enabled) cluster = std::make_unique<ClusterStage>(cfg, cats);
  }

  // Feeds events [from, to) in batches of `batch`, as the pipeline does.
  void feed(const std::vector<GenEv>& evs, size_t from, size_t to, size_t batch) {
    EventBatch b;
    std::vector<Alert> merged;
    for (size_t i = from; i < to; i += batch) {
      b.reset();
      for (size_t j = i; j < std::min(to, i + batch); ++j) {
        Event ev = evs[j].ev;
        ev.account = b.store(evs[j].account);
        ev.account_hash = hash_str(evs[j].account);
        ev.request_id = b.store(evs[j].rid);
        ev.line_in_chunk = static_cast<uint32_t>(j - i);
        b.events.push_back(ev);
      }
      merged.clear();
      for (const Event& ev : b.events)
        shards[(ev.account_hash >> 32) % shards.size()]->observe(ev, b, seq, merged);
      if (cluster) cluster->observe(b, seq, merged);
      std::sort(merged.begin(), merged.end(), [](const Alert& x, const Alert& y) {
        if (x.line_in_chunk != y.line_in_chunk) return x.line_in_chunk < y.line_in_chunk;
        return x.id < y.id;
      });
      for (const auto& a : merged) lines.push_back(alert_to_json(a));
      ++seq;
    }
  }
  void finish() {
    if (!cluster) return;
    std::vector<Alert> out;
    cluster->finish(seq, out);
    for (const auto& a : out) lines.push_back(alert_to_json(a));
  }

  // Everything observable at the end: summaries (the --report), counters, cluster flags.
  std::string dump() const {
    std::string s;
    char buf[512];
    for (const auto& sh : shards) {
      const auto& c = sh->table().counters();
      std::snprintf(buf, sizeof buf, "shard size=%llu created=%llu idle=%llu lru=%llu wm=%lld\n",
                    (unsigned long long)sh->table().size(), (unsigned long long)c.created,
                    (unsigned long long)c.evicted_idle, (unsigned long long)c.evicted_lru,
                    (long long)sh->watermark_ms());
      s += buf;
      sh->table().for_each([&](const AccountState& a) {
        AccountSummary m = sh->summary(a);
        const auto& f = m.features;
        std::snprintf(buf, sizeof buf,
                      "  %s max=%.17g score=%.17g alerts=%u life=%llu win=%llu first=%lld last=%lld late=%llu "
                      "hits=%llu div=%.17g near=%.17g ips=%.17g ent=%.17g cv=%.17g reasons=%zu\n",
                      m.account.c_str(), m.max_score, m.score, m.alerts, (unsigned long long)m.lifetime_requests,
                      (unsigned long long)m.window_requests, (long long)m.first_seen_ms, (long long)m.last_seen_ms,
                      (unsigned long long)a.late_events, (unsigned long long)f.long_hits, f.diversity,
                      f.near_duplicate_share, f.ips,
                      f.hour_entropy, f.gap_cv, m.reasons.size());
        s += buf;
      });
    }
    if (cluster) {
      const auto& c = cluster->counters();
      std::snprintf(buf, sizeof buf,
                    "cluster fp=%llu created=%llu idle=%llu lru=%llu repl=%llu names=%llu evals=%llu flagged=%llu "
                    "alerts=%llu cross=%llu\n",
                    (unsigned long long)cluster->fingerprints(), (unsigned long long)c.fingerprints_created,
                    (unsigned long long)c.fingerprints_evicted_idle, (unsigned long long)c.fingerprints_evicted_lru,
                    (unsigned long long)c.members_replaced, (unsigned long long)c.names_evicted,
                    (unsigned long long)c.evaluations, (unsigned long long)c.clusters_flagged,
                    (unsigned long long)c.member_alerts, (unsigned long long)c.cross_suppressed);
      s += buf;
      for (const auto& f : cluster->flagged()) {
        std::snprintf(buf, sizeof buf, "  flag %s %.17g %lld %s %llu\n", f.account.c_str(), f.score,
                      (long long)f.first_alert_ms, f.cluster.id.c_str(), (unsigned long long)f.cluster.size);
        s += buf;
      }
    }
    return s;
  }
};

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& l : v) s += l + "\n";
  return s;
}

size_t count_with(const std::vector<std::string>& lines, const std::string& needle) {
  return static_cast<size_t>(std::count_if(lines.begin(), lines.end(),
                                           [&](const std::string& l) { return l.find(needle) != std::string::npos; }));
}

std::string saved_state(uint32_t seed, size_t n, size_t k) {
  auto evs = generate(seed, n);
  Run r(test_config(), categories());
  r.feed(evs, 0, k, 97);
  std::string blob;
  save_detector_state(r.shards, r.cluster.get(), blob);
  return blob;
}

}  // namespace

TEST_CASE("state: split anywhere, save, load fresh, continue == one run", "[detect][state]") {
  const DetectorConfig cfg = test_config();
  const auto cats = categories();
  for (uint32_t seed : {1u, 2u}) {
    const size_t n = 5000;
    auto evs = generate(seed, n);
    Run ref(cfg, cats);
    ref.feed(evs, 0, n, 97);
    ref.finish();
    const std::string ref_lines = join(ref.lines);
    const std::string ref_dump = ref.dump();
    // The input must be rich enough for the property to mean something.
    REQUIRE(ref.lines.size() >= 20);
    REQUIRE(count_with(ref.lines, "\"cluster\":{") >= 5);
    REQUIRE(count_with(ref.lines, "cat20_rate") >= 1);  // category 21 of 24 is tracked
    REQUIRE(count_with(ref.lines, "max_logprobs_share") >= 1);
    uint64_t lru = 0;
    for (const auto& sh : ref.shards) lru += sh->table().counters().evicted_lru;
    REQUIRE(lru > 0);
    REQUIRE(ref.cluster->counters().fingerprints_created > 0);
    REQUIRE(ref.cluster->counters().fingerprints_evicted_idle + ref.cluster->counters().fingerprints_evicted_lru > 0);
    REQUIRE(ref.cluster->counters().cross_suppressed > 0);  // cross-stage suppression state matters
    uint64_t idle = 0;
    for (const auto& sh : ref.shards) idle += sh->table().counters().evicted_idle;
    REQUIRE(idle > 0);

    std::vector<size_t> splits = {0, 1, 2, 96, 97, 98, n - 1, n};
    for (size_t k = 150; k < n; k += 173) splits.push_back(k);
    for (size_t k : splits) {
      INFO("seed " << seed << " split at " << k);
      Run a(cfg, cats);
      a.feed(evs, 0, k, 97);
      std::string blob;
      save_detector_state(a.shards, a.cluster.get(), blob);

      Run b(cfg, cats);  // fresh detectors
      auto res = load_detector_state(blob, b.shards, b.cluster.get());
      REQUIRE(res.ok());
      // Canonical: saving what was loaded gives the same bytes.
      std::string again;
      save_detector_state(b.shards, b.cluster.get(), again);
      REQUIRE(again == blob);

      b.seq = a.seq;
      b.lines = a.lines;
      b.feed(evs, k, n, 61);  // other batch boundaries after the restart
      b.finish();
      REQUIRE(join(b.lines) == ref_lines);
      REQUIRE(b.dump() == ref_dump);
    }
  }
}

TEST_CASE("state: without the cluster stage too", "[detect][state]") {
  DetectorConfig cfg = test_config();
  cfg.cluster.enabled = false;
  const auto cats = categories();
  auto evs = generate(5, 3000);
  Run ref(cfg, cats);
  ref.feed(evs, 0, evs.size(), 50);
  REQUIRE(ref.lines.size() >= 5);
  for (size_t k : {size_t(1), size_t(777), size_t(2000)}) {
    Run a(cfg, cats);
    a.feed(evs, 0, k, 50);
    std::string blob;
    save_detector_state(a.shards, nullptr, blob);
    Run b(cfg, cats);
    REQUIRE(load_detector_state(blob, b.shards, nullptr).ok());
    b.lines = a.lines;
    b.feed(evs, k, evs.size(), 50);
    REQUIRE(join(b.lines) == join(ref.lines));
    REQUIRE(b.dump() == ref.dump());
  }
}

TEST_CASE("state: a state from another config or rule set is refused clearly", "[detect][state]") {
  const std::string blob = saved_state(3, 1500, 1500);
  const auto cats = categories();
  {
    DetectorConfig c = test_config();
    c.shards = 8;
    Run b(c, cats);
    auto res = load_detector_state(blob, b.shards, b.cluster.get());
    REQUIRE_FALSE(res.ok());
    REQUIRE_THAT(res.error().message, Catch::Contains("state was written with detector.shards=4, config says 8"));
  }
  {
    DetectorConfig c = test_config();
    c.harvest.output_tokens = 999;
    Run b(c, cats);
    auto res = load_detector_state(blob, b.shards, b.cluster.get());
    REQUIRE_FALSE(res.ok());
    REQUIRE_THAT(res.error().message, Catch::Contains("different detector config or rule categories"));
  }
  {
    auto other = cats;
    other[5] = "renamed";
    Run b(test_config(), other);
    auto res = load_detector_state(blob, b.shards, b.cluster.get());
    REQUIRE_FALSE(res.ok());
    REQUIRE_THAT(res.error().message, Catch::Contains("different detector config or rule categories"));
  }
  {
    DetectorConfig c = test_config();
    c.buckets = 12;
    Run b(c, cats);
    auto res = load_detector_state(blob, b.shards, b.cluster.get());
    REQUIRE_FALSE(res.ok());
    REQUIRE_THAT(res.error().message, Catch::Contains("detector.bucket=120s x 10 buckets, config says 120s x 12"));
  }
  {
    Run b(test_config(), cats);
    auto res = load_detector_state("{\"not\":\"a state\"}", b.shards, b.cluster.get());
    REQUIRE_FALSE(res.ok());
    REQUIRE_THAT(res.error().message, Catch::Contains("not a distillscan detector state"));
  }
  // Older builds' states (1: no near-duplicate sketches; 2: a distinct-account
  // sketch per cluster fingerprint), a newer one's.
  for (char v : {char(1), char(2), char(99)}) {
    std::string other = blob;
    other[8] = v;
    Run b(test_config(), cats);
    auto res = load_detector_state(other, b.shards, b.cluster.get());
    REQUIRE_FALSE(res.ok());
    REQUIRE_THAT(res.error().message, Catch::Contains("format version " + std::to_string(int(v)) +
                                                      ", this build reads version " +
                                                      std::to_string(kDetectorStateVersion)));
  }
}

TEST_CASE("state: truncated or corrupt bytes are refused, detectors untouched", "[detect][state]") {
  const std::string blob = saved_state(4, 1200, 1200);
  const auto cats = categories();
  Run b(test_config(), cats);
  auto evs = generate(9, 300);
  b.feed(evs, 0, evs.size(), 100);
  const std::string before = b.dump();
  const AccountDetector* shard0 = b.shards[0].get();
  // Every truncation (stepping through the blob) and a flipped bit anywhere.
  for (size_t len = 0; len < blob.size(); len += 1 + len / 64) {
    auto res = load_detector_state(std::string_view(blob).substr(0, len), b.shards, b.cluster.get());
    REQUIRE_FALSE(res.ok());
  }
  std::mt19937 rng(7);
  for (int i = 0; i < 300; ++i) {
    std::string bad = blob;
    bad[rng() % bad.size()] ^= static_cast<char>(1u << (rng() % 8));
    auto res = load_detector_state(bad, b.shards, b.cluster.get());
    REQUIRE_FALSE(res.ok());
  }
  REQUIRE(b.shards[0].get() == shard0);
  REQUIRE(b.dump() == before);
  // Trailing garbage after the checksum is refused too.
  REQUIRE_FALSE(load_detector_state(blob + "x", b.shards, b.cluster.get()).ok());
}

TEST_CASE("state: hostile counts behind a valid checksum neither crash nor over-allocate", "[detect][state]") {
  const std::string blob = saved_state(6, 800, 800);
  const auto cats = categories();
  // Rewrite bytes in the body, then fix the checksum so the loader's own
  // validation (counts vs limits and bytes left, ranges) is what refuses it.
  std::mt19937 rng(11);
  int accepted = 0;
  for (int i = 0; i < 2000; ++i) {
    std::string bad = blob.substr(0, blob.size() - 8);
    const size_t pos = 45 + rng() % (bad.size() - 45);
    const int width = 1 + static_cast<int>(rng() % 8);
    for (int j = 0; j < width && pos + static_cast<size_t>(j) < bad.size(); ++j)
      bad[pos + static_cast<size_t>(j)] = static_cast<char>(rng() % 3 == 0 ? 0xFF : rng());
    StateWriter w(bad);
    w(detector_state_checksum(bad));
    Run b(test_config(), cats);
    auto res = load_detector_state(bad, b.shards, b.cluster.get());
    if (res.ok()) {
      ++accepted;  // plausible values: the detectors must keep working on them
      auto evs = generate(12, 200);
      b.feed(evs, 0, evs.size(), 64);
      b.finish();
      (void)b.dump();
    }
  }
  SUCCEED("accepted " << accepted);
}

TEST_CASE("state: write fuzz seeds", "[detect][state][.seeds]") {
  // Regenerates fuzz/corpus/state/ (run: test_detect "[.seeds]").
  const std::string dir = std::string(DS_SOURCE_DIR) + "/fuzz/corpus/state/";
  const std::pair<const char*, std::string> seeds[] = {
      {"empty.state", saved_state(1, 0, 0)},
      {"tiny.state", saved_state(1, 20, 20)},
      {"small.state", saved_state(1, 300, 300)},
  };
  for (const auto& [name, bytes] : seeds) {
    std::ofstream f(dir + name, std::ios::binary);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    REQUIRE(f.good());
  }
}

TEST_CASE("state: the kept fuzz regressions reach the checks they once broke", "[detect][state]") {
  // fuzz/regressions/state/ replays through fuzz_state, which recomputes the
  // checksum; a file whose format version went stale would be refused at the
  // version check and exercise nothing. Same config and categories as fuzz_state.
  auto load_file = [](const char* name) {
    std::ifstream f(std::string(DS_SOURCE_DIR) + "/fuzz/regressions/state/" + name, std::ios::binary);
    std::string blob((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    REQUIRE(blob.size() > 8);
    blob.resize(blob.size() - 8);
    StateWriter w(blob);
    w(detector_state_checksum(blob));
    return blob;
  };
  {
    Run b(test_config(), categories());
    auto res = load_detector_state(load_file("hostile-bucket-seconds.state"), b.shards, b.cluster.get());
    REQUIRE_FALSE(res.ok());
    REQUIRE_THAT(res.error().message, Catch::Contains("state was written with detector.bucket="));
  }
  {
    Run b(test_config(), categories());
    auto res = load_detector_state(load_file("negative-time-hour-index.state"), b.shards, b.cluster.get());
    const std::string why = res.ok() ? std::string() : res.error().message;
    INFO(why);
    REQUIRE(res.ok());
  }
}

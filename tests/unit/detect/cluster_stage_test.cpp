#include <catch2/catch.hpp>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "core/hash.hpp"
#include "detect/alert.hpp"
#include "detect/cluster_stage.hpp"
#include "detect/state_io.hpp"

using namespace ds;

namespace {

std::string name(const char* prefix, long i) {
  std::string s(prefix);
  s += std::to_string(i);
  return s;
}

struct Ev {
  std::string account;
  int64_t t;
  uint32_t cats;
  int64_t completion;
  uint64_t system, ua, ip;
};

// A hydra: `members` accounts share a system prompt, a user agent and a
// proxy pool; every request hits a harvesting rule with a long output.
// Benign: accounts behind one NAT IP, short outputs, no hits.
std::vector<Ev> corpus(int members, int benign, int hours) {
  std::vector<Ev> out;
  int k = 0;
  for (int64_t t = 0; t < int64_t(hours) * 3600000; t += 20000) {
    Ev e;
    e.t = t;
    if (k % 3 != 2) {
      e.account = name("hydra-", static_cast<long>(k % members));
      e.cats = 1;
      e.completion = 2500;
      e.system = 0x5157;
      e.ua = 0xAAA;
      e.ip = 0x100 + (k * 7) % 12;
    } else {
      e.account = name("user-", static_cast<long>(k % benign));
      e.cats = (k % 50 == 0) ? 1u : 0u;
      e.completion = 200;
      e.system = 0;
      e.ua = 0xBBB + k % 5;
      e.ip = 0x9999;  // shared NAT
    }
    out.push_back(e);
    ++k;
  }
  return out;
}

// Feeds events [from, to) in batches of `batch`, appending the alert lines.
void feed(ClusterStage& cs, const std::vector<Ev>& evs, size_t from, size_t to, size_t batch, uint64_t& seq,
          std::vector<std::string>& lines) {
  EventBatch b;
  for (size_t i = from; i < to; i += batch) {
    b.reset();
    for (size_t j = i; j < std::min(to, i + batch); ++j) {
      const Ev& e = evs[j];
      Event ev;
      ev.time_ms = e.t;
      ev.account = b.store(e.account);
      ev.account_hash = hash_str(e.account);
      ev.request_id = b.store(name("r", static_cast<long>(j)));
      ev.category_bits = e.cats;
      ev.completion_tokens = e.completion;
      ev.system_hash = e.system;
      ev.user_agent_hash = e.ua;
      ev.ip_hash = e.ip;
      ev.line_in_chunk = static_cast<uint32_t>(j - i);
      b.events.push_back(ev);
    }
    std::vector<Alert> out;
    cs.observe(b, seq, out);
    for (const auto& a : out) lines.push_back(alert_to_json(a));
    ++seq;
  }
}

void finish(ClusterStage& cs, uint64_t seq, std::vector<std::string>& lines) {
  std::vector<Alert> out;
  cs.finish(seq, out);
  for (const auto& a : out) lines.push_back(alert_to_json(a));
}

const std::vector<std::string> kCategories = {"reasoning_elicitation", "system_prompt_extraction"};

// Feeds all events in batches of `batch` and returns the alert lines in order.
std::vector<std::string> run(const std::vector<Ev>& evs, size_t batch, const DetectorConfig& cfg,
                             ClusterStage* keep = nullptr) {
  ClusterStage local(cfg, kCategories);
  ClusterStage& cs = keep ? *keep : local;
  std::vector<std::string> lines;
  uint64_t seq = 0;
  feed(cs, evs, 0, evs.size(), batch, seq, lines);
  finish(cs, seq, lines);
  return lines;
}

}  // namespace

TEST_CASE("cluster stage flags every hydra member, each in its own alert", "[detect][cluster]") {
  DetectorConfig cfg;
  ClusterStage cs(cfg, {"reasoning_elicitation", "system_prompt_extraction"});
  auto lines = run(corpus(11, 20, 3), 100, cfg, &cs);  // 11: coprime with the 2-in-3 hydra share
  std::set<std::string> flagged;
  for (const auto& l : lines) {
    auto p = l.find("\"account\":\"") + 11;
    flagged.insert(l.substr(p, l.find('"', p) - p));
    REQUIRE(l.find("\"cluster\":{\"id\":") != std::string::npos);
    REQUIRE(l.find("cluster_harvest_share") != std::string::npos);
    REQUIRE(l.find("member_harvest_share") != std::string::npos);
  }
  REQUIRE(flagged.size() == 11);
  for (const auto& a : flagged) REQUIRE(a.rfind("hydra-", 0) == 0);  // no NAT user
  REQUIRE(cs.counters().member_alerts == 33);  // suppress 1h over 3 h: once per member per hour
  auto flags = cs.flagged();
  REQUIRE(flags.size() == 11);
  REQUIRE(flags[0].cluster.size >= 8);
}

TEST_CASE("cluster alerts do not depend on batch boundaries", "[detect][cluster]") {
  DetectorConfig cfg;
  auto evs = corpus(10, 15, 2);
  auto ref = run(evs, 1000000, cfg);
  REQUIRE(!ref.empty());
  for (size_t batch : {size_t(1), size_t(7), size_t(333)}) REQUIRE(run(evs, batch, cfg) == ref);
}

TEST_CASE("a cluster below min_accounts is not flagged", "[detect][cluster]") {
  DetectorConfig cfg;
  cfg.cluster.min_accounts = 8;
  auto lines = run(corpus(5, 10, 3), 100, cfg);
  REQUIRE(lines.empty());
}

TEST_CASE("fingerprint map is capped: idle and LRU evictions are counted", "[detect][cluster]") {
  DetectorConfig cfg;
  cfg.cluster.max_fingerprints = 16;
  cfg.cluster.idle_seconds = 60;
  ClusterStage cs(cfg, {"reasoning_elicitation"});
  EventBatch b;
  std::vector<Alert> out;
  // 100 distinct IP fingerprints within a minute: LRU evictions at the cap.
  for (int i = 0; i < 100; ++i) {
    Event ev;
    ev.time_ms = i * 100;
    ev.account = b.store("a");
    ev.account_hash = hash_str("a");
    ev.category_bits = 1;
    ev.ip_hash = 1000 + i;
    b.events.push_back(ev);
  }
  cs.observe(b, 0, out);
  REQUIRE(cs.fingerprints() <= 16);
  REQUIRE(cs.counters().fingerprints_evicted_lru == 100 - 16);
  // Much later: the old ones are idle and go first.
  b.reset();
  Event ev;
  ev.time_ms = 3600 * 1000;
  ev.account = b.store("a");
  ev.account_hash = hash_str("a");
  ev.category_bits = 1;
  ev.ip_hash = 5;
  b.events.push_back(ev);
  cs.observe(b, 1, out);
  REQUIRE(cs.counters().fingerprints_evicted_idle == 16);
  REQUIRE(cs.fingerprints() == 1);
}

TEST_CASE("member lists are bounded; names table is capped", "[detect][cluster]") {
  DetectorConfig cfg;
  cfg.cluster.max_names = 10;
  ClusterStage cs(cfg, {"reasoning_elicitation"});
  EventBatch b;
  std::vector<Alert> out;
  for (int i = 0; i < 200; ++i) {
    Event ev;
    ev.time_ms = i;
    std::string id = name("acct-", static_cast<long>(i));
    ev.account = b.store(id);
    ev.account_hash = hash_str(id);
    ev.category_bits = 1;
    ev.user_agent_hash = 77;
    b.events.push_back(ev);
  }
  cs.observe(b, 0, out);
  REQUIRE(cs.counters().members_replaced == 200 - ClusterStage::kMaxMembers);
  REQUIRE(cs.counters().names_evicted == 190);
}

TEST_CASE("member blocks of every size survive a checkpoint", "[detect][cluster]") {
  // 70 hydra accounts: the shared prompt's member list passes 4, 16 and 64
  // (SpaceSaving replacements) while the per-IP lists stay small.
  DetectorConfig cfg;
  const auto evs = corpus(70, 20, 8);
  ClusterStage ref_cs(cfg, kCategories);
  const auto ref = run(evs, 97, cfg, &ref_cs);
  REQUIRE(ref.size() >= 10);
  REQUIRE(ref_cs.counters().members_replaced > 0);
  for (size_t k : {size_t(3), size_t(8), size_t(20), size_t(45), size_t(100), size_t(250), evs.size() / 2}) {
    INFO("split at " << k);
    ClusterStage a(cfg, kCategories);
    std::vector<std::string> lines;
    uint64_t seq = 0;
    feed(a, evs, 0, k, 97, seq, lines);
    std::string blob;
    save_detector_state({}, &a, blob);
    ClusterStage b(cfg, kCategories);
    std::vector<std::unique_ptr<AccountDetector>> no_shards;
    REQUIRE(load_detector_state(blob, no_shards, &b).ok());
    std::string again;
    save_detector_state({}, &b, again);
    REQUIRE(again == blob);
    feed(b, evs, k, evs.size(), 61, seq, lines);
    finish(b, seq, lines);
    REQUIRE(lines == ref);
  }
}

// fuzz_state: the detector checkpoint loader (detect/state_io.hpp).
//
// The input is a state blob; its trailing 8-byte checksum is recomputed
// first (the checksum check itself is a unit test), so mutations reach the
// section and record validation instead of dying at the checksum. The
// detectors are built from the same config and categories as the seeds
// (tests/unit/detect/state_io_test.cpp "[.seeds]" writes fuzz/corpus/state/).
//
// Invariants: a refused state has a message and leaves the detectors as they
// were; an accepted one re-saves to exactly the same bytes, and the restored
// detectors keep working (events, cluster evaluation, summaries, alert JSON)
// without crashing, hanging or over-allocating.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/hash.hpp"
#include "detect/account_detector.hpp"
#include "detect/alert.hpp"
#include "detect/cluster_stage.hpp"
#include "detect/state_codec.hpp"
#include "detect/state_io.hpp"
#include "fuzz_common.hpp"

namespace {

using namespace ds;

// Must match tests/unit/detect/state_io_test.cpp (categories(), test_config()).
std::vector<std::string> categories() {
  std::vector<std::string> c = {"reasoning_elicitation", "dataset_generation", "system_prompt_extraction"};
  for (int i = 3; i < 24; ++i) c.push_back("cat" + std::to_string(i));
  return c;
}

DetectorConfig config() {
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
  c.max_accounts = 48;
  c.account_idle_seconds = 1800;
  c.cluster.max_fingerprints = 40;
  c.cluster.max_names = 24;
  c.cluster.min_accounts = 5;
  c.cluster.interval_seconds = 240;
  c.cluster.idle_seconds = 2 * 3600;
  return c;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const DetectorConfig cfg = config();
  static const std::vector<std::string> cats = categories();

  std::string blob(reinterpret_cast<const char*>(data), size);
  if (blob.size() >= 8) {
    blob.resize(blob.size() - 8);
    StateWriter w(blob);
    w(detector_state_checksum(blob));
  }

  std::vector<std::unique_ptr<AccountDetector>> shards;
  for (uint32_t i = 0; i < cfg.shards; ++i) shards.push_back(std::make_unique<AccountDetector>(cfg, cats));
  ClusterStage cluster(cfg, cats);
  const AccountDetector* before = shards[0].get();

  auto res = load_detector_state(blob, shards, &cluster);
  if (!res.ok()) {
    DS_FUZZ_CHECK(!res.error().message.empty());
    DS_FUZZ_CHECK(shards[0].get() == before);
    DS_FUZZ_CHECK(shards[0]->table().size() == 0);
    DS_FUZZ_CHECK(cluster.fingerprints() == 0);
    return 0;
  }
  std::string again;
  save_detector_state(shards, &cluster, again);
  DS_FUZZ_CHECK(again == blob);

  // The restored detectors keep working.
  EventBatch b;
  std::vector<Alert> out;
  int64_t t = shards[0]->watermark_ms() > 0 ? shards[0]->watermark_ms() : 1'700'000'000'000;
  for (uint32_t i = 0; i < 64; ++i) {
    b.reset();
    const std::string acct = i % 3 ? "hydra-" + std::to_string(i % 9) : "harvester-" + std::to_string(i % 3);
    Event ev;
    ev.time_ms = t + int64_t(i) * 45000 - (i % 7 == 0 ? 3'600'000 : 0);
    ev.account = b.store(acct);
    ev.account_hash = hash_str(acct);
    ev.request_id = b.store("req-" + std::to_string(i));
    ev.category_bits = 1u << (i % 24);
    ev.completion_tokens = 2500;
    ev.prompt_tokens = 100;
    ev.system_hash = 0x5157;
    ev.ip_hash = 0x100 + i % 5;
    ev.prompt_hash = mix64(i + 1);
    ev.user_turns = 1;
    ev.logprobs = 1;
    ev.top_logprobs = 20;
    b.events.push_back(ev);
    out.clear();
    shards[(ev.account_hash >> 32) % shards.size()]->observe(b.events.back(), b, i, out);
    cluster.observe(b, i, out);
    for (const auto& a : out) DS_FUZZ_CHECK(!alert_to_json(a).empty());
  }
  out.clear();
  cluster.finish(64, out);
  for (const auto& a : out) (void)alert_to_json(a);
  for (const auto& sh : shards) sh->table().for_each([&](const AccountState& a) { (void)sh->summary(a); });
  (void)cluster.flagged();
  return 0;
}

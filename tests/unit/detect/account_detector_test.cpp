#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "core/hash.hpp"
#include "detect/account_detector.hpp"

using namespace ds;

namespace {

struct Feed {
  EventBatch batch;
  std::vector<Alert> alerts;
  AccountDetector det;
  uint32_t line = 0;

  explicit Feed(DetectorConfig cfg) : det(cfg, {"reasoning_elicitation", "dataset_generation"}) {}

  void add(const std::string& account, int64_t t_ms, uint32_t cats, const std::string& rid = "") {
    batch.reset();
    Event ev;
    ev.time_ms = t_ms;
    ev.account = batch.store(account);
    ev.account_hash = hash_str(account);
    ev.request_id = batch.store(rid);
    ev.category_bits = cats;
    ev.line_in_chunk = line++;
    batch.events.push_back(ev);
    det.observe(batch.events.back(), batch, 0, alerts);
  }
};

DetectorConfig small_config() {
  DetectorConfig c;
  c.bucket_seconds = 60;
  c.buckets = 10;  // 10-minute window
  c.min_requests = 10;
  c.default_threshold = 0.3;
  c.suppress_seconds = 3600;
  return c;
}

}  // namespace

TEST_CASE("no alert below min_requests even at 100% share", "[detect]") {
  Feed f(small_config());
  for (int i = 0; i < 9; ++i) f.add("a", i * 1000, 1);
  REQUIRE(f.alerts.empty());
  f.add("a", 9000, 1, "req-9");
  REQUIRE(f.alerts.size() == 1);
  const Alert& a = f.alerts[0];
  REQUIRE(a.account == "a");
  REQUIRE(a.requests == 10);
  REQUIRE(a.reasons.size() == 1);
  REQUIRE(a.reasons[0].detector == "reasoning_elicitation_rate");
  REQUIRE(a.reasons[0].value == Approx(1.0));
  REQUIRE(a.reasons[0].threshold == Approx(0.3));
  REQUIRE(a.sample_request_ids == std::vector<std::string>{"req-9"});
  REQUIRE(a.critical);  // share 1.0 >= 2x threshold: full strength
}

TEST_CASE("share below threshold does not alert; crossing it does", "[detect]") {
  Feed f(small_config());
  for (int i = 0; i < 50; ++i) f.add("b", i * 1000, i % 5 == 0 ? 2u : 0u);  // 20% dataset_generation
  REQUIRE(f.alerts.empty());
  for (int i = 50; i < 70; ++i) f.add("b", i * 1000, 2u);  // now (10+20)/70 = 43%
  REQUIRE(f.alerts.size() == 1);
  REQUIRE(f.alerts[0].reasons[0].detector == "dataset_generation_rate");
  REQUIRE_FALSE(f.alerts[0].critical);  // 0.43 / 0.6 = 0.71 < 0.8
}

TEST_CASE("repeats are suppressed for the interval, then alert again with a new id", "[detect]") {
  Feed f(small_config());
  for (int i = 0; i < 200; ++i) f.add("c", int64_t(i) * 30000, 1);  // 100 minutes, 2/min
  // First alert at the 10th request; suppressed for an hour; one more after.
  REQUIRE(f.alerts.size() == 2);
  REQUIRE(f.alerts[1].time_ms - f.alerts[0].time_ms >= 3600 * 1000);
  REQUIRE(f.alerts[0].id != f.alerts[1].id);
}

TEST_CASE("alert ids are stable across replays and differ by account", "[detect]") {
  Feed f1(small_config()), f2(small_config());
  for (int i = 0; i < 20; ++i) {
    f1.add("x", i * 1000, 1);
    f2.add("x", i * 1000, 1);
    f2.add("y", i * 1000, 1);
  }
  REQUIRE(f1.alerts.size() == 1);
  REQUIRE(f2.alerts.size() == 2);
  REQUIRE(f1.alerts[0].id == f2.alerts[0].id);
  REQUIRE(f2.alerts[0].id != f2.alerts[1].id);
  REQUIRE(f1.alerts[0].id.size() == 16);
}

TEST_CASE("old hits leave the event-time window", "[detect]") {
  Feed f(small_config());
  for (int i = 0; i < 5; ++i) f.add("d", i * 1000, 1);  // 5 hits at t=0..4s
  // 20 minutes later: 10 clean requests. The early hits are outside the 10-minute window.
  for (int i = 0; i < 10; ++i) f.add("d", 20 * 60 * 1000 + i * 1000, 0);
  REQUIRE(f.alerts.empty());
  // Hits now within the window count again.
  for (int i = 0; i < 10; ++i) f.add("d", 21 * 60 * 1000 + i * 1000, 1);
  REQUIRE(f.alerts.size() == 1);
  REQUIRE(f.alerts[0].requests == 15);  // 10 clean + 5 hits: 5/15 >= 0.3 first
}

TEST_CASE("events older than the window are counted late, not added", "[detect]") {
  Feed f(small_config());
  f.add("e", 60 * 60 * 1000, 0);
  for (int i = 0; i < 30; ++i) f.add("e", 0, 1);  // an hour late
  REQUIRE(f.alerts.empty());
  uint64_t late = 0;
  f.det.table().for_each([&](const AccountState& a) { late += a.late_events; });
  REQUIRE(late == 30);
}

TEST_CASE("slightly out-of-order events inside the window still count", "[detect]") {
  Feed f(small_config());
  f.add("g", 5 * 60 * 1000, 1);
  for (int i = 0; i < 9; ++i) f.add("g", 4 * 60 * 1000, 1);  // one bucket back
  REQUIRE(f.alerts.size() == 1);
  REQUIRE(f.alerts[0].requests == 10);
}

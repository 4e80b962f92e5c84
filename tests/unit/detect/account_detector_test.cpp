#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "core/hash.hpp"
#include "detect/account_detector.hpp"

using namespace ds;

namespace {

// Categories as the bundled rule pack orders them in these tests.
constexpr uint32_t kReasoning = 1u << 0;
constexpr uint32_t kDataset = 1u << 1;
constexpr uint32_t kExtraction = 1u << 2;

struct Req {
  uint32_t cats = 0;
  int64_t completion = -1;
  int64_t prompt = 50;
  uint64_t prompt_hash = 0;  // 0: a fresh one per request
  uint64_t suffix = 0;
  uint64_t near = 0;  // MinHash key; 0: a fresh one per request
  int32_t n = -1;
  float temperature = std::nanf("");
  int8_t logprobs = -1;
  int32_t top_logprobs = -1;
  int32_t bias = -1;
  int64_t max_tokens = -1;
  uint64_t ip = 0;
};

struct Feed {
  EventBatch batch;
  std::vector<Alert> alerts;
  AccountDetector det;
  uint32_t line = 0;
  uint64_t fresh = 1;

  explicit Feed(DetectorConfig cfg)
      : det(cfg, {"reasoning_elicitation", "dataset_generation", "system_prompt_extraction"}) {}

  void add(const std::string& account, int64_t t_ms, const Req& r, const std::string& rid = "") {
    batch.reset();
    Event ev;
    ev.time_ms = t_ms;
    ev.account = batch.store(account);
    ev.account_hash = hash_str(account);
    ev.request_id = batch.store(rid);
    ev.category_bits = r.cats;
    ev.completion_tokens = r.completion;
    ev.prompt_tokens = r.prompt;
    ev.prompt_hash = r.prompt_hash ? r.prompt_hash : hash_combine(0x77, fresh++);
    ev.prompt_suffix_hash = r.suffix;
    ev.prompt_near_hash = r.near ? r.near : hash_combine(0x99, fresh++);
    ev.n = r.n;
    ev.temperature = r.temperature;
    ev.logprobs = r.logprobs;
    ev.top_logprobs = r.top_logprobs;
    ev.logit_bias_count = r.bias;
    ev.max_tokens = r.max_tokens;
    ev.ip_hash = r.ip;
    ev.user_turns = 1;
    ev.line_in_chunk = line++;
    batch.events.push_back(ev);
    det.observe(batch.events.back(), batch, 0, alerts);
  }
  void add(const std::string& account, int64_t t_ms, uint32_t cats, int64_t completion = 2500,
           const std::string& rid = "") {
    Req r;
    r.cats = cats;
    r.completion = completion;
    add(account, t_ms, r, rid);
  }
};

DetectorConfig small_config() {
  DetectorConfig c;
  c.bucket_seconds = 60;
  c.buckets = 10;  // 10-minute window
  c.min_requests = 10;
  c.harvest.min_hits = 10;
  c.default_threshold = 0.3;
  c.suppress_seconds = 3600;
  return c;
}

bool has_reason(const Alert& a, const std::string& name) {
  for (const auto& r : a.reasons)
    if (r.detector == name) return true;
  return false;
}

}  // namespace

TEST_CASE("harvest: rate, volume and long outputs together alert", "[detect]") {
  Feed f(small_config());
  for (int i = 0; i < 9; ++i) f.add("a", i * 1000, kReasoning);
  REQUIRE(f.alerts.empty());
  f.add("a", 9000, kReasoning, 2500, "req-9");
  REQUIRE(f.alerts.size() == 1);
  const Alert& a = f.alerts[0];
  REQUIRE(a.account == "a");
  REQUIRE(a.requests == 10);
  REQUIRE(a.reasons.size() >= 3);
  REQUIRE(a.reasons[0].detector == "reasoning_elicitation_rate");
  REQUIRE(a.reasons[0].value == Approx(1.0));
  REQUIRE(a.reasons[0].threshold == Approx(0.3));
  REQUIRE(has_reason(a, "harvest_requests"));
  REQUIRE(has_reason(a, "harvest_output_tokens"));
  REQUIRE(a.sample_request_ids == std::vector<std::string>{"req-9"});
  REQUIRE(a.critical);
}

TEST_CASE("harvest: one signal alone never alerts", "[detect]") {
  SECTION("100% rule hits with short outputs (an eval harness)") {
    Feed f(small_config());
    for (int i = 0; i < 200; ++i) f.add("e", i * 1000, kReasoning, 400);
    REQUIRE(f.alerts.empty());
  }
  SECTION("long outputs without rule hits, few requests") {
    Feed f(small_config());
    for (int i = 0; i < 50; ++i) f.add("l", i * 1000, 0u, 3000);
    REQUIRE(f.alerts.empty());
  }
  SECTION("rule hits without usage and without any corroborating signal") {
    Feed f(small_config());
    Req r;
    r.cats = kReasoning;
    r.prompt_hash = 42;  // the same prompt over and over: no diversity
    for (int i = 0; i < 50; ++i) f.add("u", i * 60000, r);  // 1/min: no request-rate signal either
    REQUIRE(f.alerts.empty());
  }
}

TEST_CASE("harvest: without usage, a corroborating signal stands in for output length", "[detect]") {
  Feed f(small_config());
  Req r;
  r.cats = kReasoning;  // fresh prompts: diversity 1.0
  for (int i = 0; i < 20; ++i) f.add("d", i * 1000, r);
  REQUIRE(f.alerts.size() == 1);
  REQUIRE(has_reason(f.alerts[0], "prompt_diversity"));
  REQUIRE_FALSE(has_reason(f.alerts[0], "harvest_output_tokens"));
}

TEST_CASE("harvest: a share below the threshold does not alert; crossing it does", "[detect]") {
  Feed f(small_config());
  for (int i = 0; i < 50; ++i) f.add("b", i * 1000, i % 5 == 0 ? kDataset : 0u);  // 20% dataset_generation
  REQUIRE(f.alerts.empty());
  for (int i = 50; i < 70; ++i) f.add("b", i * 1000, kDataset);
  REQUIRE(f.alerts.size() == 1);
  REQUIRE(f.alerts[0].reasons[0].detector == "dataset_generation_rate");
}

TEST_CASE("harvest: reseller mixes are caught over the long horizon", "[detect]") {
  DetectorConfig c = small_config();
  c.harvest.long_min_hits = 60;
  Feed f(c);
  // 6% harvesting with long outputs, the rest ordinary chat; 1,200 requests over 20 hours.
  for (int i = 0; i < 1200; ++i) f.add("m", int64_t(i) * 60000, (i % 16 == 0) ? kReasoning : 0u, (i % 16 == 0) ? 2500 : 300);
  REQUIRE(f.alerts.size() >= 1);
  REQUIRE(f.alerts[0].reasons[0].detector == "harvest_share");
}

TEST_CASE("templated long-output traffic without rule hits needs shape, output and cadence", "[detect]") {
  DetectorConfig c = small_config();
  c.harvest.long_min_hits = 50;
  Feed f(c);
  Req r;
  r.completion = 1800;
  r.suffix = 0xABCDEF;  // one fixed instruction after every question
  // 3 requests a minute for 14 hours: flat around the clock.
  for (int i = 0; i < 14 * 180; ++i) f.add("t", int64_t(i) * 20000, r);
  REQUIRE_FALSE(f.alerts.empty());
  REQUIRE(has_reason(f.alerts[0], "template_share"));
  REQUIRE(has_reason(f.alerts[0], "output_tokens"));
}

TEST_CASE("templated traffic filled in at both ends: near-duplicates with a flat cadence", "[detect]") {
  DetectorConfig c = small_config();
  c.harvest.long_min_hits = 50;
  // No suffix dominates (a fresh one per request), no rule hits; the MinHash
  // keys fall into 5 classes, as near-duplicates of 5 templates would.
  auto run = [&](int per_hour_span, uint64_t classes) {
    Feed f(c);
    Req r;
    r.completion = 1800;
    r.prompt = 400;  // output/input 4.5: not the output_input_ratio shape
    const int n = 25 * 180;
    for (int i = 0; i < n; ++i) {
      r.suffix = hash_combine(0x55, static_cast<uint64_t>(i));
      r.near = classes ? 0x1000 + static_cast<uint64_t>(i) % classes : 0;
      // 3 a minute, either for 25 hours straight (flat) or for one hour on each of 25 days.
      int64_t t = per_hour_span == 24 ? int64_t(i) * 20000
                                      : int64_t(i / 180) * 86400000 + int64_t(i % 180) * 20000;
      f.add("nd", t, r);
    }
    return f.alerts;
  };
  auto flat = run(24, 5);
  REQUIRE_FALSE(flat.empty());
  CHECK(has_reason(flat[0], "near_duplicate_share"));
  CHECK(has_reason(flat[0], "flat_cadence"));
  CHECK_FALSE(has_reason(flat[0], "template_share"));
  for (const auto& r : flat[0].reasons)
    if (r.detector == "near_duplicate_share") CHECK(r.value >= 0.9);

  // The same templates in one hour a day (a batch or evaluation run): the
  // request rate alone corroborates other shapes, not this one.
  CHECK(run(1, 5).empty());
  // Around the clock, but every prompt its own class: nothing templated.
  CHECK(run(24, 0).empty());
}

TEST_CASE("logit probe: logprobs, large biases, tiny outputs and repeated prompts", "[detect]") {
  Feed f(small_config());
  Req r;
  r.logprobs = 1;
  r.top_logprobs = 20;
  r.bias = 200;
  r.max_tokens = 1;
  r.completion = 1;
  for (int i = 0; i < 100; ++i) {
    r.prompt_hash = 1000 + i % 3;
    f.add("p", i * 1000, r);
  }
  REQUIRE(f.alerts.size() == 1);
  REQUIRE(has_reason(f.alerts[0], "logit_bias_share"));
  REQUIRE(has_reason(f.alerts[0], "prompt_repetition"));

  SECTION("a classifier with a small fixed bias and fresh documents is not a probe") {
    Feed g(small_config());
    Req b;
    b.logprobs = 1;
    b.top_logprobs = 2;
    b.bias = 3;
    b.max_tokens = 1;
    b.completion = 1;
    for (int i = 0; i < 500; ++i) g.add("c", i * 1000, b);
    REQUIRE(g.alerts.empty());
  }
}

TEST_CASE("system-prompt extraction: rate, count and several IPs", "[detect]") {
  Feed f(small_config());
  Req r;
  r.cats = kExtraction;
  r.prompt_hash = 5;  // the same attempt: no diversity; several IPs corroborate
  for (int i = 0; i < 12; ++i) {
    r.ip = 100 + i % 4;
    f.add("x", i * 60000, r);
  }
  REQUIRE(f.alerts.size() == 1);
  REQUIRE(f.alerts[0].reasons[0].detector == "system_prompt_extraction_rate");
  REQUIRE(has_reason(f.alerts[0], "distinct_ips"));
}

TEST_CASE("repeats are suppressed for the interval, then alert again with a new id", "[detect]") {
  Feed f(small_config());
  for (int i = 0; i < 200; ++i) f.add("c", int64_t(i) * 30000, kReasoning);  // 100 minutes, 2/min
  REQUIRE(f.alerts.size() == 2);
  REQUIRE(f.alerts[1].time_ms - f.alerts[0].time_ms >= 3600 * 1000);
  REQUIRE(f.alerts[0].id != f.alerts[1].id);
}

TEST_CASE("alert ids are stable across replays and differ by account", "[detect]") {
  Feed f1(small_config()), f2(small_config());
  for (int i = 0; i < 20; ++i) {
    f1.add("x", i * 1000, kReasoning);
    f2.add("x", i * 1000, kReasoning);
    f2.add("y", i * 1000, kReasoning);
  }
  REQUIRE(f1.alerts.size() == 1);
  REQUIRE(f2.alerts.size() == 2);
  REQUIRE(f1.alerts[0].id == f2.alerts[0].id);
  REQUIRE(f2.alerts[0].id != f2.alerts[1].id);
  REQUIRE(f1.alerts[0].id.size() == 16);
}

TEST_CASE("old hits leave the event-time window", "[detect]") {
  DetectorConfig c = small_config();
  c.harvest.long_min_hits = 1000;  // only the short window can fire here
  Feed f(c);
  for (int i = 0; i < 5; ++i) f.add("d", i * 1000, kReasoning);
  for (int i = 0; i < 10; ++i) f.add("d", 20 * 60 * 1000 + i * 1000, 0u, 300);
  REQUIRE(f.alerts.empty());
  for (int i = 0; i < 10; ++i) f.add("d", 21 * 60 * 1000 + i * 1000, kReasoning);
  REQUIRE(f.alerts.size() == 1);
  REQUIRE(f.alerts[0].reasons[0].value == Approx(0.5));  // window: 10 hits of 20, the old 5 have left
}

TEST_CASE("events older than the window are counted late, not added", "[detect]") {
  Feed f(small_config());
  f.add("e", 60 * 60 * 1000, 0u);
  for (int i = 0; i < 30; ++i) f.add("e", 0, kReasoning);  // an hour late
  uint64_t late = 0;
  f.det.table().for_each([&](const AccountState& a) { late += a.late_events; });
  REQUIRE(late == 30);
}

TEST_CASE("slightly out-of-order events inside the window still count", "[detect]") {
  Feed f(small_config());
  f.add("g", 5 * 60 * 1000, kReasoning);
  for (int i = 0; i < 9; ++i) f.add("g", 4 * 60 * 1000, kReasoning);  // one bucket back
  REQUIRE(f.alerts.size() == 1);
  REQUIRE(f.alerts[0].requests == 10);
}

TEST_CASE("summary exposes features and the current reasons", "[detect]") {
  Feed f(small_config());
  for (int i = 0; i < 30; ++i) f.add("s", i * 1000, kReasoning, 3000);
  bool seen = false;
  f.det.table().for_each([&](const AccountState& a) {
    AccountSummary s = f.det.summary(a);
    REQUIRE(s.account == "s");
    REQUIRE(s.features.window_requests == 30);
    REQUIRE(s.features.output_per_hit == Approx(3000));
    REQUIRE(s.features.hit_share == Approx(1.0));
    REQUIRE(s.score > 0.5);
    REQUIRE_FALSE(s.reasons.empty());
    seen = true;
  });
  REQUIRE(seen);
}

TEST_CASE("AccountState stays trivially copyable apart from its id", "[detect]") {
  // Every member but `id` is plain data (detect/state_io.cpp encodes it field by field).
  STATIC_REQUIRE(std::is_trivially_copyable_v<WindowCounts>);
  STATIC_REQUIRE(std::is_trivially_copyable_v<WindowBucket>);
  STATIC_REQUIRE(std::is_trivially_copyable_v<Hll<6>>);
  STATIC_REQUIRE(sizeof(AccountState) == 1424);  // 32 tracked categories (account_state.hpp)
}

TEST_CASE("the window sum equals a brute-force count over random bucket jumps", "[detect]") {
  // Ring advance (stepped slot index), the cached bucket and slot, late
  // events, negative times and jumps of 0, < n, n and > n buckets, for two
  // accounts whose rings sit at different buckets.
  DetectorConfig c = small_config();
  c.harvest.min_hits = 1000000;  // counting only: nothing may alert
  c.harvest.long_min_hits = 1000000;
  c.extraction.min_hits = 1000000;
  const int64_t bucket_ms = c.bucket_seconds * 1000, n = c.buckets;
  Feed f(c);
  struct Seen {
    std::vector<int64_t> buckets;  // of the events added to the window
    int64_t newest = INT64_MIN;
  };
  Seen seen[2];
  const std::string names[2] = {"w0", "w1"};
  uint32_t rng = 3;
  auto next_rand = [&rng] { return rng = rng * 1103515245u + 12345u, (rng >> 16) & 0x7fff; };
  int64_t t[2] = {-7 * bucket_ms - 1, 5 * bucket_ms};
  for (int i = 0; i < 4000; ++i) {
    const int k = static_cast<int>(next_rand() % 2);
    switch (next_rand() % 10) {
      case 0: t[k] += static_cast<int64_t>(next_rand() % (3 * n)) * bucket_ms; break;  // a jump, often past the window
      case 1: t[k] += n * bucket_ms; break;                                             // exactly the window
      case 2: t[k] -= static_cast<int64_t>(next_rand() % (2 * n)) * bucket_ms; break;   // back: inside or late
      default: t[k] += static_cast<int64_t>(next_rand() % (bucket_ms / 2)); break;
    }
    f.add(names[k], t[k], 0u, 100);
    const int64_t b = floor_div(t[k], bucket_ms);
    Seen& s = seen[k];
    s.newest = std::max(s.newest, b);
    if (b > s.newest - n) s.buckets.push_back(b);
    uint32_t want = 0;
    for (int64_t x : s.buckets) want += x > s.newest - n;
    const AccountState* a = const_cast<AccountTable&>(f.det.table()).find(hash_str(names[k]));
    REQUIRE(a != nullptr);
    INFO("event " << i << " time " << t[k] << " bucket " << b << " newest " << s.newest);
    REQUIRE(a->window.requests == want);
    REQUIRE(a->newest_bucket == s.newest);
  }
  REQUIRE(f.alerts.empty());
}

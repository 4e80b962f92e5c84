// AccountState: everything the detector keeps about one account. Fixed size
// (the window ring lives in the AccountTable's bucket pool, `buckets` entries
// per account), so memory is bounded by max_accounts x sizeof(AccountState)
// + buckets x sizeof(WindowBucket). Plain data (trivially copyable except for
// `id`, so a checkpoint can serialise it); detectors read and update it.
//
// Bytes per account (x86-64, checked by static_asserts in account_detector.cpp):
//   WindowCounts                      152 B
//   WindowBucket                      160 B  x `buckets` (default 12 -> 1,920 B, in the table's pool)
//   AccountState                    1,112 B  (+ the id string's heap buffer when longer than 15 bytes):
//     short window sum (WindowCounts)            152
//     long horizon: 2 epochs x WindowCounts      304   (horizon/2 each; default 2 x 12 h)
//     dominant-suffix vote, 2 epochs              24
//     prompt HLL (P=6) x 2 epochs                128   distinct prompts
//     ip / key / user-agent HLL (P=4)             48
//     temperature bins, 2 epochs                   4
//     hour-of-day histogram 24 x u32              96   cadence flatness
//     inter-arrival Welford (n, mean, m2)         24   cadence regularity
//     sample request ids 3 x 64 + bookkeeping    196
//     id, times, counters, alerting, LRU links  ~136
// Default total 3,032 B per tracked account, plus 12 B of index: 200,000
// accounts (limits.max_accounts) ~ 610 MB worst case; fewer buckets or a
// lower limits.max_accounts shrink it.
#pragma once
#include <array>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "detect/sketch.hpp"

namespace ds {

inline constexpr uint32_t kMaxBuckets = 288;        // e.g. 1 day of 5-minute buckets
inline constexpr uint32_t kTrackedCategories = 16;  // rule categories counted per bucket

// Counters for one event-time bucket, and (summed) for the whole window.
struct WindowCounts {
  uint32_t requests = 0;
  uint32_t hit_requests = 0;  // requests that hit any rule
  std::array<uint32_t, kTrackedCategories> category{};
  uint64_t prompt_tokens = 0;
  uint64_t completion_tokens = 0;
  // Token economics of rule-hitting requests: completion tokens per choice
  // (completion / max(1, n)) and how many hit requests reported them.
  uint64_t hit_output_tokens = 0;
  uint32_t hit_with_usage = 0;
  // All requests: completion tokens per choice, and how many reported usage.
  uint64_t output_tokens = 0;
  uint32_t with_usage = 0;
  uint32_t top_suffix = 0;  // requests whose prompt suffix is the epoch's dominant one (epochs only)
  // Parameter signals (requests with ...).
  uint32_t n_multi = 0;        // n > 1
  uint32_t logprobs = 0;       // logprobs requested (bool true or legacy integer)
  uint32_t top_logprobs_hi = 0;  // top_logprobs >= logit_probe.top_logprobs (default 5)
  uint32_t bias_big = 0;       // logit_bias with >= logit_probe.bias_entries entries
  uint32_t tiny_output = 0;    // max_tokens <= logit_probe.max_tokens
  // Turn structure.
  uint32_t single_turn = 0;    // one user turn, no assistant/tool turns
  uint32_t tool_turns = 0;     // requests carrying tool results

  void add(const WindowCounts& o) {
    requests += o.requests;
    hit_requests += o.hit_requests;
    for (uint32_t i = 0; i < kTrackedCategories; ++i) category[i] += o.category[i];
    prompt_tokens += o.prompt_tokens;
    completion_tokens += o.completion_tokens;
    hit_output_tokens += o.hit_output_tokens;
    hit_with_usage += o.hit_with_usage;
    output_tokens += o.output_tokens;
    with_usage += o.with_usage;
    top_suffix += o.top_suffix;
    n_multi += o.n_multi;
    logprobs += o.logprobs;
    top_logprobs_hi += o.top_logprobs_hi;
    bias_big += o.bias_big;
    tiny_output += o.tiny_output;
    single_turn += o.single_turn;
    tool_turns += o.tool_turns;
  }
  void sub(const WindowCounts& o) {
    requests -= o.requests;
    hit_requests -= o.hit_requests;
    for (uint32_t i = 0; i < kTrackedCategories; ++i) category[i] -= o.category[i];
    prompt_tokens -= o.prompt_tokens;
    completion_tokens -= o.completion_tokens;
    hit_output_tokens -= o.hit_output_tokens;
    hit_with_usage -= o.hit_with_usage;
    output_tokens -= o.output_tokens;
    with_usage -= o.with_usage;
    top_suffix -= o.top_suffix;
    n_multi -= o.n_multi;
    logprobs -= o.logprobs;
    top_logprobs_hi -= o.top_logprobs_hi;
    bias_big -= o.bias_big;
    tiny_output -= o.tiny_output;
    single_turn -= o.single_turn;
    tool_turns -= o.tool_turns;
  }
};

struct WindowBucket {
  int64_t index = std::numeric_limits<int64_t>::min();  // bucket number = floor(time / bucket_seconds)
  WindowCounts counts;
};

inline constexpr size_t kSampleIds = 3;
inline constexpr size_t kSampleIdBytes = 64;

struct AccountState {
  uint64_t hash = 0;
  std::string id;  // capacity is reused when the slot is recycled
  int64_t first_seen_ms = 0;
  int64_t last_seen_ms = 0;
  int64_t newest_bucket = std::numeric_limits<int64_t>::min();
  uint64_t lifetime_requests = 0;
  uint64_t late_events = 0;  // older than the window when they arrived
  WindowCounts window;       // sum over the ring

  // Long horizon: two epochs of horizon/2 each (current and previous), so
  // the sum covers between horizon/2 and horizon of event time.
  int64_t epoch = std::numeric_limits<int64_t>::min();
  std::array<WindowCounts, 2> epochs{};
  std::array<Hll<6>, 2> prompts{};       // distinct prompt fingerprints per epoch
  std::array<uint16_t, 2> temp_bins{};   // temperatures seen per epoch (16 bins of 0.1)
  uint8_t epoch_cur = 0;
  // Dominant prompt suffix per epoch (Boyer-Moore majority vote: candidate
  // and vote; WindowCounts::top_suffix counts requests matching the candidate
  // since it was last chosen).
  std::array<uint64_t, 2> suffix_cand{};
  std::array<int32_t, 2> suffix_votes{};

  // Lifetime sketches.
  Hll<4> ips{};
  Hll<4> keys{};
  Hll<4> user_agents{};
  std::array<uint32_t, 24> hour_hist{};  // requests per UTC hour of day
  // Inter-arrival regularity (Welford over gaps in seconds, capped).
  uint32_t gaps = 0;
  double gap_mean = 0, gap_m2 = 0;

  // Alerting.
  int64_t last_alert_ms = std::numeric_limits<int64_t>::min();
  uint32_t alerts = 0;
  double max_score = 0;
  double last_score = 0;
  uint32_t last_detectors = 0;  // bit set of AccountDetector::Kind that fired last

  // Most recent request ids of rule-hitting requests (evidence), fixed storage.
  std::array<std::array<char, kSampleIdBytes>, kSampleIds> sample_ids{};
  std::array<uint8_t, kSampleIds> sample_len{};
  uint8_t sample_next = 0;

  // LRU links (slot indices) owned by AccountTable.
  uint32_t lru_prev = 0xFFFFFFFFu;
  uint32_t lru_next = 0xFFFFFFFFu;

  void add_sample(std::string_view rid) {
    if (rid.empty()) return;
    size_t n = rid.size() < kSampleIdBytes ? rid.size() : kSampleIdBytes;
    auto& dst = sample_ids[sample_next];
    for (size_t i = 0; i < n; ++i) dst[i] = rid[i];
    sample_len[sample_next] = static_cast<uint8_t>(n);
    sample_next = static_cast<uint8_t>((sample_next + 1) % kSampleIds);
  }
};

}  // namespace ds

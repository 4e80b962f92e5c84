// AccountState: everything the detector keeps about one account. Fixed size
// (the window ring lives in the AccountTable's bucket pool, `buckets` entries
// per account), so memory is bounded by max_accounts x sizeof + buckets x
// sizeof(WindowCounts). Plain data; detectors read and update it.
#pragma once
#include <array>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

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

  void add(const WindowCounts& o) {
    requests += o.requests;
    hit_requests += o.hit_requests;
    for (uint32_t i = 0; i < kTrackedCategories; ++i) category[i] += o.category[i];
    prompt_tokens += o.prompt_tokens;
    completion_tokens += o.completion_tokens;
  }
  void sub(const WindowCounts& o) {
    requests -= o.requests;
    hit_requests -= o.hit_requests;
    for (uint32_t i = 0; i < kTrackedCategories; ++i) category[i] -= o.category[i];
    prompt_tokens -= o.prompt_tokens;
    completion_tokens -= o.completion_tokens;
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

  // Alerting.
  int64_t last_alert_ms = std::numeric_limits<int64_t>::min();
  uint32_t alerts = 0;
  double max_score = 0;

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

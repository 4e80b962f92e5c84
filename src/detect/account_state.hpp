// AccountState: everything the detector keeps about one account. Fixed size
// (the window ring lives in the AccountTable's bucket pool, `buckets` entries
// per account), so memory is bounded by max_accounts x sizeof(AccountState)
// + buckets x sizeof(WindowBucket). Plain data (trivially copyable except for
// `id`, so a checkpoint can serialise it); detectors read and update it.
//
// Bytes per account (x86-64, checked by static_asserts in account_detector.cpp):
//   WindowCounts                      216 B  (32 category counters: every category a RuleSet allows)
//   WindowBucket                      224 B  x `buckets` (default 12 -> 2,688 B, in the table's pool)
//   AccountState                    1,424 B  (+ the id string's heap buffer when longer than 15 bytes;
//                                             ids are capped at detector max_account_bytes, default 256):
//     short window sum (WindowCounts)            216
//     long horizon: 2 epochs x WindowCounts      432   (horizon/2 each; default 2 x 12 h)
//     dominant-suffix vote, 2 epochs              24
//     prompt HLL (P=6) x 2 epochs                128   distinct prompts
//     near-duplicate HLL (P=6) x 2 epochs        128   distinct MinHash keys
//     ip / key / user-agent HLL (P=4)             48
//     temperature bins, 2 epochs                   4
//     hour-of-day histogram 24 x u32              96   cadence flatness
//     inter-arrival Welford (n, mean, m2)         24   cadence regularity
//     sample request ids 3 x 64 + bookkeeping    196
//     id, times, counters, alerting            ~128
//   LRU link                            8 B  (in AccountTable, beside the states)
// Default total 4,120 B per tracked account, plus 32-64 B of index (16 B a
// cell at a load factor of 1/4..1/2; the index grows on demand), plus the id
// when longer than 15 bytes (<= 256). 200,000 accounts (limits.max_accounts)
// ~ 837 MB worst case; fewer buckets or a lower limits.max_accounts shrink
// it. Nothing is allocated for accounts that do not exist yet.
#pragma once
#include <array>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>

#include "core/hash.hpp"
#include "detect/sketch.hpp"

namespace ds {

// Floor division (event times before 1970 are negative; / truncates).
inline int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

// The window-ring slot of bucket number `bucket` in a ring of `n` buckets.
inline uint32_t ring_slot(int64_t bucket, int64_t n) { return static_cast<uint32_t>(((bucket % n) + n) % n); }

// floor_div(t, width) (width > 0) for a stream of nearby times, mostly
// without a division: remembers the interval [lo, hi) of the last answer.
// Log times advance slowly, so nearly every call is two compares instead of
// a 64-bit division (the shard thread's hot path did several per event).
class IntervalOf {
 public:
  explicit IntervalOf(int64_t width) : width_(width) {}
  int64_t operator()(int64_t t) {
    if (t >= lo_ && t < hi_) return index_;
    index_ = floor_div(t, width_);
    int64_t lo = 0, hi = 0;
    if (__builtin_mul_overflow(index_, width_, &lo) || __builtin_add_overflow(lo, width_, &hi)) {
      lo_ = 1, hi_ = 0;  // at the ends of the time range: no interval remembered
    } else {
      lo_ = lo, hi_ = hi;
    }
    return index_;
  }

 private:
  int64_t width_;
  int64_t lo_ = 1, hi_ = 0;  // empty until the first call
  int64_t index_ = 0;
};

inline constexpr uint32_t kMaxBuckets = 288;        // e.g. 1 day of 5-minute buckets
inline constexpr uint32_t kTrackedCategories = 32;  // rule categories counted per bucket: all that a RuleSet allows (match/rule_set.cpp kMaxCategories)

// One request's contribution to WindowCounts, compact: the detector adds it
// to the epoch, the ring bucket and the window sum, and a request hits few
// of the 32 category counters (adding a whole WindowCounts three times was
// most of the shard thread's per-event instructions).
struct RequestDelta {
  uint32_t categories = 0;  // category bits
  uint64_t prompt_tokens = 0;
  uint64_t completion_tokens = 0;
  uint64_t hit_output_tokens = 0;
  uint64_t output_tokens = 0;
  bool hit = false;
  bool hit_with_usage = false;
  bool with_usage = false;
  bool top_suffix = false;
  bool n_multi = false;
  bool logprobs = false;
  bool top_logprobs_hi = false;
  bool bias_big = false;
  bool tiny_output = false;
  bool single_turn = false;
  bool tool_turns = false;
};

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

  void add(const RequestDelta& d) {
    ++requests;
    hit_requests += d.hit;
    for (uint32_t b = d.categories; b != 0; b &= b - 1) ++category[static_cast<uint32_t>(__builtin_ctz(b))];
    prompt_tokens += d.prompt_tokens;
    completion_tokens += d.completion_tokens;
    hit_output_tokens += d.hit_output_tokens;
    hit_with_usage += d.hit_with_usage;
    output_tokens += d.output_tokens;
    with_usage += d.with_usage;
    top_suffix += d.top_suffix;
    n_multi += d.n_multi;
    logprobs += d.logprobs;
    top_logprobs_hi += d.top_logprobs_hi;
    bias_big += d.bias_big;
    tiny_output += d.tiny_output;
    single_turn += d.single_turn;
    tool_turns += d.tool_turns;
  }
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

// Largest n' <= n such that s[0, n') does not end inside a UTF-8 sequence
// (ids are cut to fixed storage; a cut mid-character made the alert JSON
// invalid). Bytes that are not UTF-8 at all are the parser's business.
inline size_t utf8_cut(std::string_view s, size_t n) {
  while (n > 0 && n < s.size() && (static_cast<uint8_t>(s[n]) & 0xC0) == 0x80) --n;
  return n;
}

// Account ids are stored (and reported) with at most `max_bytes` bytes
// (detector max_account_bytes, default 256; never below kMinAccountBytes).
// A longer id keeps its first bytes (cut on a UTF-8 boundary) and ends with
// "~" and 16 hex digits of the hash of the whole id, so distinct long ids
// stay distinct and the same id is always shortened the same way. State is
// keyed by the hash of the full id either way. Allocation-free once `dst`
// has the capacity (slots reuse it).
inline constexpr uint32_t kMinAccountBytes = 32;
inline constexpr uint32_t kDefaultAccountBytes = 256;
inline void assign_account_id(std::string& dst, std::string_view id, uint32_t max_bytes) {
  if (max_bytes < kMinAccountBytes) max_bytes = kMinAccountBytes;
  if (id.size() <= max_bytes) {
    dst.assign(id.data(), id.size());
    return;
  }
  const size_t keep = utf8_cut(id, max_bytes - 17);
  dst.assign(id.data(), keep);
  dst.push_back('~');
  const uint64_t h = hash_str(id);
  static constexpr char kHex[] = "0123456789abcdef";
  for (int i = 0; i < 16; ++i) dst.push_back(kHex[(h >> (60 - 4 * i)) & 0xF]);
}

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
  std::array<Hll<6>, 2> near_prompts{};  // distinct MinHash keys per epoch (near-duplicate classes)
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

  void add_sample(std::string_view rid) {
    if (rid.empty()) return;
    size_t n = rid.size() < kSampleIdBytes ? rid.size() : kSampleIdBytes;
    n = utf8_cut(rid, n);
    if (n == 0) return;
    std::memcpy(sample_ids[sample_next].data(), rid.data(), n);
    sample_len[sample_next] = static_cast<uint8_t>(n);
    sample_next = static_cast<uint8_t>((sample_next + 1) % kSampleIds);
  }
};

}  // namespace ds

// DetectorConfig: thresholds, windows and limits of the detector stage.
// Every value has a default; the YAML `detector:` and `limits:` sections
// override them (app/config.cpp). Plain data, no behaviour.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace ds {

struct CategoryThreshold {
  std::string category;
  double threshold = 0.3;  // share of window requests hitting the category
  double weight = 1.0;
};

struct DetectorConfig {
  // Event-time window: `buckets` ring buckets of `bucket_seconds` each.
  int64_t bucket_seconds = 300;
  uint32_t buckets = 12;  // window = 1 h by default (max kMaxBuckets)
  uint64_t min_requests = 20;  // an account needs this many requests in the window to be judged
  double default_threshold = 0.3;
  std::vector<CategoryThreshold> categories;  // per-category overrides
  double critical_score = 0.8;               // score >= this => critical, else warning
  double alert_score = 0.5;                  // minimum score to alert
  int64_t suppress_seconds = 3600;           // repeats for one account are suppressed this long

  // Limits.
  uint32_t shards = 4;            // fixed (not tied to --threads) so results never depend on it
  uint64_t max_accounts = 200000; // across all shards; LRU eviction beyond
  int64_t account_idle_seconds = 2 * 86400;  // accounts idle this long (event time) are evicted

  int64_t window_seconds() const { return bucket_seconds * static_cast<int64_t>(buckets); }
};

}  // namespace ds

// AccountDetector: per-account event-time windows and the per-account
// detectors for one shard. Owned by exactly one shard thread; sees events of
// its accounts in input order, so its output never depends on thread timing.
// Never includes simdjson or Hyperscan headers.
//
// Detectors (each needs several signals at once; one signal never alerts):
//   harvest      a harvesting rule category's rate (or, for reseller mixes,
//                the share of all harvesting hits over the long horizon)
//                AND a volume of such requests AND long outputs per hit
//                (completion tokens per choice) -- or, when the log carries
//                no usage, one more corroborating signal.
//   logit_probe  >= min_signals of: logprobs share, large logit_bias share,
//                tiny max_tokens share, prompt repetition.
//   extraction   system-prompt-extraction rate AND count AND (several IPs or
//                varied prompts).
// Corroborating signals (n > 1, temperature sweeps, prompt diversity, flat
// 24/7 cadence, request rate, IPs, keys) raise the score and are listed.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "core/event.hpp"
#include "detect/account_table.hpp"
#include "detect/alert.hpp"
#include "detect/detector_config.hpp"

namespace ds {

// Derived features of one account (for scoring and --report).
struct AccountFeatures {
  uint64_t window_requests = 0;   // short window
  uint64_t long_requests = 0;     // long horizon
  uint64_t window_hits = 0, long_hits = 0;
  double hit_share = 0;           // long horizon
  int best_category = -1;         // highest-share category (long horizon), -1 = none
  double best_category_share = 0;
  double output_per_hit = -1;     // completion tokens per choice of hit requests (long), -1 unknown
  double output_per_request = 0;  // completion tokens per request (long)
  double output_input_ratio = 0;  // completion / prompt tokens (long)
  double n_share = 0, logprobs_share = 0, top_logprobs_share = 0, bias_share = 0, tiny_output_share = 0;
  double single_turn_share = 0, tool_share = 0;
  double distinct_prompts = 0, diversity = 0;  // long horizon
  double near_duplicate_share = 0;  // 1 - distinct MinHash keys / requests (long horizon)
  uint32_t temperatures = 0;
  double ips = 0, keys = 0, user_agents = 0;
  double hour_entropy = 0;        // normalised 0..1 over the 24 UTC hours
  double span_hours = 0;          // first to last seen
  double gap_cv = 0;              // coefficient of variation of inter-arrival gaps
  double rate_per_hour = 0;       // short window
};

struct AccountSummary {
  std::string account;
  double max_score = 0;
  double score = 0;               // score of the current state (may be below alert_score)
  uint32_t alerts = 0;
  uint64_t lifetime_requests = 0;
  uint64_t window_requests = 0;
  int64_t first_seen_ms = 0, last_seen_ms = 0;
  AccountFeatures features;
  std::vector<AlertReason> reasons;  // reasons of the current state (fired signals)
  bool cluster_member = false;       // flagged by the cross-account stage
  AlertCluster cluster;
};

class AccountDetector {
 public:
  AccountDetector(const DetectorConfig& cfg, const std::vector<std::string>& categories);

  // Updates the account's state with one event; appends any alert to `out`.
  void observe(const Event& ev, const EventBatch& batch, uint64_t seq, std::vector<Alert>& out);

  const AccountTable& table() const { return table_; }
  int64_t watermark_ms() const { return watermark_ms_; }

  AccountFeatures features(const AccountState& a) const;
  // Score and fired reasons of an account's current state (alert or not).
  double assess(const AccountState& a, std::vector<AlertReason>* reasons, uint32_t* kinds) const;
  AccountSummary summary(const AccountState& a) const;

  const std::vector<std::string>& categories() const { return categories_; }
  const DetectorConfig& config() const { return cfg_; }

  // Checkpoints (detect/state_io.cpp).
  void save_state(class StateWriter& w) const;
  bool load_state(class StateReader& r, std::string& err);

 private:
  void advance_ring(AccountState& a, WindowBucket* ring, int64_t bucket);
  void advance_epoch(AccountState& a, int64_t epoch);
  void evaluate(AccountState& a, const Event& ev, uint64_t seq, std::vector<Alert>& out);

  DetectorConfig cfg_;
  std::vector<std::string> categories_;
  std::vector<std::string> rate_names_;  // per category: "<category>_rate"
  std::vector<double> thresholds_;
  std::vector<double> weights_;
  uint32_t harvest_mask_ = 0;     // categories that count as harvesting
  int extraction_cat_ = -1;
  AccountTable table_;
  int64_t watermark_ms_ = INT64_MIN;
  // Event time -> epoch and window bucket numbers, and the ring slot of the
  // last bucket (caches: no division per event).
  IntervalOf epoch_of_{1};
  IntervalOf bucket_of_{1};
  int64_t slot_bucket_ = INT64_MIN;
  uint32_t slot_ = 0;
};

}  // namespace ds

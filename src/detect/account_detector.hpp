// AccountDetector: per-account event-time windows and the per-account
// detectors for one shard. Owned by exactly one shard thread; sees events of
// its accounts in input order, so its output never depends on thread timing.
// Never includes simdjson or Hyperscan headers.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/event.hpp"
#include "detect/account_table.hpp"
#include "detect/alert.hpp"
#include "detect/detector_config.hpp"

namespace ds {

struct AccountSummary {
  std::string account;
  double max_score = 0;
  uint32_t alerts = 0;
  uint64_t lifetime_requests = 0;
  uint64_t window_requests = 0;
};

class AccountDetector {
 public:
  AccountDetector(const DetectorConfig& cfg, const std::vector<std::string>& categories);

  // Updates the account's state with one event; appends any alert to `out`.
  void observe(const Event& ev, const EventBatch& batch, uint64_t seq, std::vector<Alert>& out);

  const AccountTable& table() const { return table_; }
  int64_t watermark_ms() const { return watermark_ms_; }

 private:
  void advance_ring(AccountState& a, WindowBucket* ring, int64_t bucket);
  void evaluate(AccountState& a, const Event& ev, uint64_t seq, std::vector<Alert>& out);

  DetectorConfig cfg_;
  std::vector<std::string> detector_names_;  // per category: "<category>_rate"
  std::vector<double> thresholds_;
  std::vector<double> weights_;
  AccountTable table_;
  int64_t watermark_ms_ = INT64_MIN;
};

}  // namespace ds

// Alert: what the detector stage emits and the sinks write (DESIGN.md, alert contract).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace ds {

struct AlertReason {
  std::string detector;  // e.g. "reasoning_elicitation_rate"
  double value = 0;
  double threshold = 0;
};

struct AlertCluster {
  std::string id;
  uint64_t size = 0;
  std::vector<std::string> members;  // bounded
};

struct Alert {
  // Ordering key: position of the triggering line in the input.
  uint64_t seq = 0;
  uint32_t line_in_chunk = 0;

  std::string id;
  int64_t time_ms = 0;
  std::string account;
  uint64_t account_hash = 0;  // hash of the full account id (state key); 0 = unknown (hash_str(account) is used)
  bool critical = false;
  double score = 0;
  std::vector<AlertReason> reasons;
  bool has_cluster = false;
  AlertCluster cluster;
  uint64_t requests = 0;
  std::vector<std::string> sample_request_ids;
};

// One JSON line (no trailing newline) per the alert contract.
std::string alert_to_json(const Alert& a);
// The same line appended to `out` (a reused buffer: no allocation once it has the capacity).
void alert_to_json_append(std::string& out, const Alert& a);
// The "reasons" array body (without brackets): {"detector","value","threshold"} objects.
void reasons_json_append(std::string& o, const std::vector<AlertReason>& reasons);
// RFC 3339 UTC with second precision ("2026-11-28T10:15:00Z").
std::string format_time_utc(int64_t time_ms);
void format_time_utc_append(std::string& out, int64_t time_ms);

}  // namespace ds

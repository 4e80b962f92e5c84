// Observability wiring shared by the long-running and replay commands: the
// alert sinks (JSONL + Alertmanager + webhooks, fanned out) and the metrics
// (with the delivery sinks' counters). `scan` builds one per run; `tail`
// builds one per process.
#pragma once
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "metrics/metrics.hpp"
#include "sink/delivery.hpp"

namespace ds {

struct ObservabilityOptions {
  std::string metrics_listen;  // "" = no /metrics endpoint
  uint32_t top_k = 10;
  std::vector<std::string> alertmanagers;  // http:// URLs
  std::vector<std::string> webhooks;       // http:// URLs
  std::chrono::milliseconds delivery_timeout{10000};  // flush at exit
  std::chrono::milliseconds resend_interval{60000};
  std::chrono::milliseconds resolve_after{7200000};   // also: how long an account counts as flagged
  size_t delivery_queue = 10000;
  std::string runbook_url;
  std::vector<std::string> rule_ids;   // for per-rule series
  std::vector<std::string> detectors;  // known detector names
};

struct Observability {
  // Declaration order matters: metrics (which reads the sinks' counters at
  // scrape time) is destroyed before the sinks.
  std::unique_ptr<FanoutAlertSink> sinks;
  std::unique_ptr<Metrics> metrics;
};

// `primary` (the JSONL sink) is written first. Errors name the option.
Result<Observability> make_observability(const ObservabilityOptions& opt, std::unique_ptr<AlertSink> primary);

}  // namespace ds

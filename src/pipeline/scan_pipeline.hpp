// ScanPipeline: wires source -> framer -> N parse workers -> detector shard
// threads -> collector, over a ring of slots (chunk + event batch) so memory
// is bounded by the ring, not by the input. Shards consume batches in chunk
// sequence order and the collector writes alerts in input-line order, so the
// output is byte-identical for any thread count and chunk size.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/parse_error.hpp"
#include "core/result.hpp"
#include "detect/account_detector.hpp"
#include "detect/cluster_stage.hpp"
#include "detect/detector_config.hpp"
#include "parse/field_mapping.hpp"
#include "parse/line_parser.hpp"
#include "sink/alert_sink.hpp"
#include "source/framer.hpp"

namespace ds {

class RuleSet;
class Metrics;

struct PipelineOptions {
  unsigned threads = 1;  // parse workers
  FramerOptions framer;
  ParseOptions parse;
  FieldMapping mapping = FieldMapping::defaults();
  DetectorConfig detector;
  std::shared_ptr<const RuleSet> rules;  // may be null: no rules
  Metrics* metrics = nullptr;  // optional (src/metrics): updated once per batch by the collector
};

struct RunStats {
  uint64_t lines = 0;
  uint64_t records = 0;
  uint64_t bytes = 0;
  ErrorCounts errors;
  uint64_t field_type_errors = 0;
  uint64_t accounts = 0;  // account states created
  uint64_t accounts_tracked = 0;
  uint64_t accounts_evicted_idle = 0;
  uint64_t accounts_evicted_lru = 0;
  uint64_t alerts = 0;
  uint64_t late_events = 0;
  // Cross-account stage (detect/cluster_stage.hpp): bounded maps, counted.
  uint64_t cluster_fingerprints = 0;          // tracked at the end
  uint64_t cluster_fingerprints_created = 0;
  uint64_t cluster_evicted_idle = 0;
  uint64_t cluster_evicted_lru = 0;
  uint64_t cluster_members_replaced = 0;
  uint64_t cluster_names_evicted = 0;
  uint64_t cluster_member_alerts = 0;
  uint64_t cluster_memory_bytes = 0;
  std::vector<uint64_t> rule_matches;  // per rule index
  std::vector<std::string> input_errors;  // files that could not be read (fully)
  double seconds = 0;
  uint64_t peak_rss_bytes = 0;
};

// Live counters for progress display (read from another thread).
struct Progress {
  std::atomic<uint64_t> raw_bytes_done{0};  // bytes of finished inputs + current input's raw read
  std::atomic<uint64_t> raw_bytes_total{0}; // sum of known input sizes (0 = unknown)
  std::atomic<uint64_t> bytes{0};           // decompressed bytes processed
  std::atomic<uint64_t> lines{0};
};

class ScanPipeline {
 public:
  explicit ScanPipeline(PipelineOptions opt);
  ~ScanPipeline();
  // Runs to end of all inputs. Alerts go to `sink` in input order.
  // `on_tick` (optional) is called from the collector about every 200 ms.
  RunStats run(const std::vector<std::string>& inputs, AlertSink& sink,
               const std::function<void(const Progress&)>& on_tick = {});
  // Every account's summary (for the ranked report), after run().
  std::vector<AccountSummary> account_summaries() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ds

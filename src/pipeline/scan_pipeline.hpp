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
#include "source/chunk_producer.hpp"
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
  // CPU seconds each pipeline stage used in this run (all its threads), set
  // when a scan (not a live run) ends: shows which stage bounds the
  // throughput (the workers should dominate; what the others use, -j N
  // takes from them). The collector's figure is everything the calling
  // thread did during the run: the cross-account stage, alert output, stats.
  struct StageCpu {
    double reader = 0, workers = 0, shards = 0, collector = 0;
  } cpu;
};

// Live counters for progress display (read from another thread).
struct Progress {
  std::atomic<uint64_t> raw_bytes_done{0};  // bytes of finished inputs + current input's raw read
  std::atomic<uint64_t> raw_bytes_total{0}; // sum of known input sizes (0 = unknown)
  std::atomic<uint64_t> bytes{0};           // decompressed bytes processed
  std::atomic<uint64_t> lines{0};
};

// Live mode (tail): what the pipeline shows a checkpoint writer. Given on
// the collector thread while the reader is paused and every chunk fed so far
// has been collected, so stats, detector state and the producer's positions
// describe exactly the same input lines.
struct LiveSnapshot {
  const RunStats& stats;  // cumulative (initial + this run), detector counters filled in
  const std::vector<std::unique_ptr<AccountDetector>>& shards;
  const ClusterStage* cluster;  // null when the cross-account stage is off
  bool final;                   // the last one, after stop
};

struct LiveHooks {
  RunStats initial;  // counters restored from a checkpoint (lines, records, bytes, errors, alerts, ...)
  std::function<void(const Progress&)> on_tick;             // collector, about every 200 ms
  std::function<void(const LiveSnapshot&)> on_checkpoint;   // collector, drained (see LiveSnapshot)
  std::function<void()> on_alerts_written;  // collector, after a batch wrote alerts (flush the file sink)
  // collector, every batch in sequence order, before its alerts are written
  // (consume: publishes cluster fingerprints to the other instances)
  std::function<void(const EventBatch&)> on_batch;
};

class ScanPipeline {
 public:
  explicit ScanPipeline(PipelineOptions opt);
  ~ScanPipeline();
  // Runs to end of all inputs. Alerts go to `sink` in input order.
  // `on_tick` (optional) is called from the collector about every 200 ms.
  RunStats run(const std::vector<std::string>& inputs, AlertSink& sink,
               const std::function<void(const Progress&)>& on_tick = {});
  // Same over any producer: scan's files, tail's follower. run() is this over
  // the files, with cluster->finish() at the end of input.
  RunStats run(ChunkProducer& producer, AlertSink& sink, const std::function<void(const Progress&)>& on_tick = {});

  // --- live mode (tail) ---
  // Runs until request_stop(): then drains every chunk already read, calls
  // on_checkpoint(final = true) and returns. No end-of-input cluster evaluation.
  RunStats run_live(ChunkProducer& producer, AlertSink& sink, const LiveHooks& hooks);
  // Any thread. Pause the reader, drain, call hooks.on_checkpoint, resume.
  void request_checkpoint();
  void request_stop();
  // Any thread: workers switch to `rules` at their next chunk boundary.
  void swap_rules(std::shared_ptr<const RuleSet> rules);
  // Any thread: new field mapping / parse options, same switch point.
  void swap_parse(FieldMapping mapping, ParseOptions parse);
  // Chunks read but not yet collected (queue depth), and the ring's capacity.
  uint32_t in_flight() const;
  uint32_t ring_capacity() const;
  // Newest event time collected (Unix ms; INT64_MIN = none yet).
  int64_t newest_event_ms() const;
  // Before run_live: the detector shards and cluster stage, for a state loader.
  std::vector<std::unique_ptr<AccountDetector>>& shards();
  ClusterStage* cluster();

  // Every account's summary (for the ranked report), after run().
  std::vector<AccountSummary> account_summaries() const;

 private:
  RunStats run_impl(ChunkProducer& producer, AlertSink& sink, const LiveHooks& hooks, bool live);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ds

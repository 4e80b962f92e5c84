// Metrics: distillscan's Prometheus metrics (catalogue.hpp) and the optional
// /metrics endpoint (prometheus-cpp pull Exposer).
//
// Threading: the pipeline's collector calls on_batch() once per chunk and
// on_alert() once per alert; nothing touches a prometheus object per line.
// Scrapes run on the exposer's threads; what they compute at scrape time
// (event lag, flagged accounts, the top-K risk gauge, delivery counters) is
// guarded by one mutex that the collector holds only briefly.
//
// Reuse: a long-running mode (tail) keeps one Metrics for the life of the
// process and calls the same hooks; on_reload() and the delivery probes are
// there for it.
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/event.hpp"
#include "core/result.hpp"
#include "detect/alert.hpp"
#include "sink/delivery.hpp"

namespace ds {

struct MetricsOptions {
  std::string listen;  // HOST:PORT for /metrics; empty = no endpoint (the registry still counts)
  uint32_t top_k = 10;                        // accounts in distillscan_account_risk_score (0 = none)
  std::vector<std::string> rule_ids;          // per-rule series, pre-created at 0
  std::vector<std::string> detectors;         // known detectors, alert series pre-created at 0
  std::chrono::milliseconds flagged_for{7200000};  // an account counts as flagged this long after its last alert
  size_t max_flagged = 100000;                // bound on accounts remembered as flagged (oldest forgotten)
  std::function<double()> wall_clock;         // Unix seconds; default: system clock (tests inject one)
};

// Per-batch values the pipeline's collector knows (all absolute after the
// batch, except what EventBatch itself carries).
struct BatchContext {
  std::span<const uint64_t> rule_matches_total;  // cumulative per rule index
  uint64_t accounts_tracked = 0;
  uint64_t accounts_created = 0;        // cumulative
  uint64_t accounts_evicted_idle = 0;   // cumulative
  uint64_t accounts_evicted_lru = 0;    // cumulative
  int64_t watermark_ms = INT64_MIN;     // newest event time seen (INT64_MIN = none yet)
  double latency_seconds = -1;          // chunk read -> collected; < 0 = unknown
  uint64_t input_errors = 0;            // cumulative
  uint32_t ring_in_flight = 0;
  uint32_t ring_slots = 0;
};

// Live-mode (tail) status, read at scrape time from a probe.
struct TailStatus {
  struct File {
    std::string path;   // followed path (bounded by tail.max_files)
    uint64_t lag_bytes = 0;  // file size minus the position processed
  };
  std::vector<File> files;
  uint64_t files_tracked = 0;
  uint64_t files_forgotten = 0;  // finished files dropped beyond the cap
  uint64_t files_refused = 0;    // new files not followed (cap reached)
  uint64_t rotations = 0;
  uint64_t truncations = 0;
  uint32_t queue_depth = 0;      // chunks read, not yet collected
  double newest_event_unix = 0;  // 0 = none yet
  uint64_t checkpoints = 0;
  uint64_t checkpoint_failures = 0;
  double checkpoint_last_success_unix = 0;  // 0 = never
  // consume (Kafka) and listen (TCP), src/ingest: emitted only when set.
  bool kafka = false;
  std::vector<std::pair<int32_t, int64_t>> kafka_partition_lag;  // assigned partition -> messages behind (bounded by partitions)
  uint64_t kafka_rebalances = 0;
  uint64_t kafka_partitions_rebuilt = 0;
  uint64_t kafka_replayed_messages = 0;
  uint64_t kafka_commit_failures = 0;
  uint64_t kafka_handover_keys_dropped = 0;
  uint64_t kafka_handover_keys = 0;
  bool cluster_exchange = false;  // consume --cluster-topic (src/ingest/cluster_exchange.hpp)
  uint64_t xc_records_published = 0;
  uint64_t xc_records_received = 0;
  uint64_t xc_records_repeated = 0;
  uint64_t xc_record_ids = 0;           // records remembered now to drop repeats (cap: max_record_ids)
  uint64_t xc_record_ids_evicted = 0;
  uint64_t xc_alerts_held = 0;          // held now (cap: max_held_alerts)
  uint64_t xc_alerts_held_evicted = 0;
  uint64_t xc_alerts_claimed = 0;
  uint64_t xc_local_accounts = 0;       // now (cap: max_local_accounts)
  uint64_t xc_local_cleared = 0;
  uint64_t xc_alert_ids = 0;            // written alert ids remembered now (cap: max_written_ids)
  uint64_t xc_alert_ids_evicted = 0;
  uint64_t xc_duplicates_suppressed = 0;
  bool tcp = false;
  uint64_t tcp_connections_open = 0;
  uint64_t tcp_connections_accepted = 0;
  uint64_t tcp_connections_rejected = 0;
  uint64_t tcp_read_pauses = 0;
};

class Metrics {
 public:
  // Starts the endpoint when opt.listen is set. Errors: a malformed address,
  // or the port cannot be bound.
  static Result<std::unique_ptr<Metrics>> create(MetricsOptions opt);
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // Collector thread, once per batch / per alert.
  void on_batch(const EventBatch& batch, const BatchContext& ctx);
  void on_alert(const Alert& alert);
  // Rule (re)loads: ok=false keeps the old set (rules unchanged).
  void on_reload(bool ok, size_t rules);
  void set_rules_loaded(size_t rules);
  // tail: per-file lag, queue depth, checkpoints -- read at scrape time.
  void set_tail_probe(std::function<TailStatus()> probe);

  // A delivery sink whose counters are read at scrape time. The sink must
  // outlive this Metrics, or be removed with clear_delivery_probes() first.
  void add_delivery_probe(std::string sink, std::string target, std::function<DeliveryStats()> probe);
  void clear_delivery_probes();

  // The text exposition of everything (what GET /metrics returns).
  std::string scrape() const;
  // Bound port of the endpoint (0 when none), e.g. for --metrics-listen 127.0.0.1:0.
  int port() const;
  // http://HOST:PORT/metrics of the endpoint ("" when none).
  std::string endpoint_url() const;

 private:
  explicit Metrics(MetricsOptions opt);
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// "HOST:PORT", "[::1]:PORT" or ":PORT"/"PORT" (loopback). Returns the
// civetweb listening spec ("127.0.0.1:9464") or an error.
Result<std::string> metrics_listen_spec(const std::string& addr);

// The metric names of the catalogue (for tests and docs).
std::vector<std::string> metric_catalogue_names();

}  // namespace ds

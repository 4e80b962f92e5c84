// The long-running runner shared by `consume` and `listen`
// (consume_command.cpp): a source adapter (positions in the checkpoint,
// what to do after a checkpoint, how to stop) plus the common live pipeline.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "app/config.hpp"
#include "app/scan_command.hpp"
#include "core/result.hpp"
#include "metrics/metrics.hpp"
#include "pipeline/scan_pipeline.hpp"
#include "sink/alert_sink.hpp"
#include "source/file_follower.hpp"

namespace ds {

class LiveSource {
 public:
  virtual ~LiveSource() = default;
  virtual ChunkProducer& producer() = 0;
  // Positions from a checkpoint (before the pipeline runs); an error = not ours.
  virtual Result<void> restore(const std::vector<FilePosition>& files) = 0;
  // Pipeline drained (collector thread): positions describing the state.
  virtual std::vector<FilePosition> checkpoint() = 0;
  // Right after the checkpoint file was written (written=false: it failed, or no --state-dir).
  virtual void after_checkpoint(bool written) = 0;
  virtual AlertSink& wrap_sink(AlertSink& inner) { return inner; }
  // SIGTERM/SIGINT (control thread).
  virtual void stop(ScanPipeline& p) = 0;
  // After the pipeline has returned.
  virtual void finish() {}
  virtual void probe(TailStatus&) {}
  // Collector thread: every batch before its alerts (LiveHooks::on_batch), and about every 200 ms.
  virtual void on_batch(const EventBatch&) {}
  // `alerts_out` as for after_alerts.
  virtual void on_tick(AlertSink& /*unfiltered sink*/, const std::function<AlertsOut()>& /*alerts_out*/) {}
  // Collector thread, after a batch's (or on_tick's) alerts were written:
  // `alerts_out` flushes the alerts file, fdatasyncs what is new in it and
  // says how that went (JsonlAlertSink::durable_state); call it only when needed.
  virtual void after_alerts(const std::function<AlertsOut()>& /*alerts_out*/) {}
  // Members of the mode's --stats object (without braces).
  virtual std::string stats_json() = 0;
};

struct LiveMode {
  std::string default_metrics_listen;
  std::function<void(Config&)> adjust_config;  // optional, before the pipeline is built
  int source_error_status = 2;  // exit status when make_source fails ("cannot listen" is always 1)
  std::function<Result<std::unique_ptr<LiveSource>>(const Config& original, const std::vector<std::string>& categories)>
      make_source;
};

int run_live_source(const TailArgs& args, const char* mode_name, const LiveMode& mode);

}  // namespace ds

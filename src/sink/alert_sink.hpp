// AlertSink: where alerts go. Called from one thread (the pipeline's
// collector) in deterministic input order. Implementations: JSON lines to a
// file or stdout (here); Alertmanager, webhooks (HTTP delivery on a
// background thread) and a fan-out to several sinks in sink/delivery.hpp.
#pragma once
#include <cerrno>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "detect/alert.hpp"

namespace ds {

// Where the alerts handed to a sink since the last look stand, for whoever
// shares the ids of written alerts (ingest/cluster_exchange.hpp): all
// written; some still held (written later, none dropped); some dropped.
enum class AlertsOut { written, held, lost };

class AlertSink {
 public:
  virtual ~AlertSink() = default;
  virtual void write(const Alert& alert) = 0;
  virtual Result<void> flush() = 0;
  // The alerts of one pipeline batch are written between begin_batch() and
  // end_batch(): a sink may make them visible once, at end_batch(), instead
  // of after each alert. Writers that do not call them (wrappers that do not
  // forward them) keep the per-alert behaviour.
  virtual void begin_batch() {}
  virtual void end_batch() {}
};

// JSON lines, one alert per line. "-" = stdout. `append` keeps existing
// content (long-running modes); scan truncates. In append mode a regular file
// is locked (flock: one writer per alerts file), and a partial last line left
// by a kill -9 is moved to PATH.partial and cut off (alert_sink.cpp).
//
// A failed write (ENOSPC, EDQUOT, EFBIG, EIO, EAGAIN on a non-blocking
// stdout) loses nothing: write(2) reports an error only when it wrote
// nothing, so what it did write is a prefix of the held lines; the rest is
// kept in memory, in order, and every later write, end of batch, flush and
// sync goes on from there. Nothing is cut or written twice, so the file only
// grows, as if the write had been slow. Until everything held is out,
// flush() and sync() report the error (tail and consume take no checkpoint).
// Kept until a restart, which replays from the last checkpoint: alerts that
// arrive while kMaxPending bytes are held are dropped, and a failed
// fdatasync (Linux reports a writeback error once; data it dropped cannot be
// told from data on disk). Alerts after that are still written.
class JsonlAlertSink final : public AlertSink {
 public:
  static constexpr size_t kMaxPending = size_t{64} << 20;
  static Result<std::unique_ptr<JsonlAlertSink>> open(const std::string& path, bool append);
  ~JsonlAlertSink() override;
  void write(const Alert& alert) override;
  Result<void> flush() override;
  // flush(), then fdatasync(2) a regular file (stdout too when it is
  // redirected to one; a pipe or terminal has nothing to sync): called before
  // a checkpoint, so that no line the checkpoint counts as done can lose its
  // alert, and by durable_state(). Opening a regular file in append mode
  // also syncs its directory, so that a new file keeps its name in a crash.
  Result<void> sync();
  // sync() before a checkpoint: true when it may go ahead. A failure is
  // reported on stderr the first time and every 100th; the recovery once.
  bool sync_for_checkpoint();
  void begin_batch() override { in_batch_ = true; }
  void end_batch() override;
  // Bytes of alert lines not yet written (a batch's, or all since a failed write).
  size_t pending_bytes() const { return pending_.size() - done_; }
  // A loss kept until a restart (see above).
  bool lost() const { return !lost_.empty(); }
  // Writes what it can, then: `lost` if an alert was dropped since the last
  // call or a loss is kept (nothing is synced any more), else `held` if some
  // are not written yet, else `written`.
  AlertsOut flush_state();
  // flush_state(), and when that is `written`, also on disk: fdatasync(2)
  // if anything was written since the last sync (a failure is a kept loss:
  // `lost`). For whoever shares the ids of written alerts: an id must not
  // reach other instances while a host crash could still take its alert.
  AlertsOut durable_state();

 private:
  JsonlAlertSink(int fd, bool owned, std::string path) : fd_(fd), owned_(owned), path_(std::move(path)) {}
  void drain();  // writes what is pending, as far as it goes
  void keep_loss(std::string why);  // sets lost_ and says so on stderr, once
  int fd_;
  bool owned_;
  std::string path_;
  std::string line_;
  std::string pending_;  // alert lines not yet written whole; the first done_ bytes are out
  size_t done_ = 0;
  int error_ = 0;      // errno of the failed write not yet made good
  std::string lost_;   // why alerts were lost (kept until a restart); empty: none
  bool dropped_ = false;  // an alert was dropped since the last flush_state()
  bool unsynced_ = false;  // bytes written since the last fdatasync
  uint64_t sync_failures_ = 0;
  bool in_batch_ = false;
};

// Keeps alerts in memory (tests).
class MemoryAlertSink final : public AlertSink {
 public:
  void write(const Alert& alert) override { lines.push_back(alert_to_json(alert)); }
  Result<void> flush() override { return {}; }
  std::vector<std::string> lines;
};

}  // namespace ds

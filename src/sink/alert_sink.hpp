// AlertSink: where alerts go. Called from one thread (the pipeline's
// collector) in deterministic input order. Implementations: JSON lines to a
// file or stdout (here); Alertmanager, webhooks (HTTP delivery on a
// background thread) and a fan-out to several sinks in sink/delivery.hpp.
#pragma once
#include <cerrno>
#include <cstdio>
#include <sys/types.h>
#include <memory>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "detect/alert.hpp"

namespace ds {

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
// A failed write to a file it opened (ENOSPC, EDQUOT, EFBIG, EIO) loses
// nothing: the sink knows how much of the file is whole alert lines, keeps
// the unwritten lines in memory (up to kMaxPending bytes), and on every later
// write, flush and sync cuts the file back to its last whole line and writes
// them again, so once the disk has room the file is as if nothing had failed.
// Until then flush() and sync() report the error (tail and consume take no
// checkpoint). Kept until a restart, which replays from the last checkpoint:
// more than kMaxPending bytes held, a failed fdatasync (Linux reports a
// writeback error once; data it dropped cannot be told from data on disk),
// or any error on stdout, a pipe or another file that cannot be cut back.
class JsonlAlertSink final : public AlertSink {
 public:
  static constexpr size_t kMaxPending = size_t{64} << 20;
  static Result<std::unique_ptr<JsonlAlertSink>> open(const std::string& path, bool append);
  ~JsonlAlertSink() override;
  void write(const Alert& alert) override;
  Result<void> flush() override;
  // flush(), then fdatasync(2) a regular file: called before a checkpoint,
  // so that no line the checkpoint counts as done can lose its alert.
  Result<void> sync();
  // sync() before a checkpoint: true when it may go ahead. A failure is
  // reported on stderr the first time and every 100th.
  bool sync_for_checkpoint();
  void begin_batch() override { in_batch_ = true; }
  void end_batch() override;
  // Bytes of alert lines waiting to be written (a batch's, or all since a failed write).
  size_t pending_bytes() const { return pending_.size(); }

 private:
  JsonlAlertSink(int fd, bool owned, bool recoverable, off_t size, std::string path)
      : fd_(fd), owned_(owned), recoverable_(recoverable), whole_(size), path_(std::move(path)) {}
  // Writes pending_ (after cutting the file back to whole_ if a write failed).
  void drain();
  void lose(int err);  // kept until a restart
  int fd_;
  bool owned_;
  bool recoverable_;  // a regular file this sink opened: can be cut back and written again
  off_t whole_;       // the file's size up to the end of the last alert line written whole
  std::string path_;
  std::string line_;
  std::string pending_;
  int error_ = 0;  // the failed write not yet recovered from (errno)
  int lost_ = 0;   // errno of a loss kept until a restart
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

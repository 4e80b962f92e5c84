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
class JsonlAlertSink final : public AlertSink {
 public:
  static Result<std::unique_ptr<JsonlAlertSink>> open(const std::string& path, bool append);
  ~JsonlAlertSink() override;
  void write(const Alert& alert) override;
  Result<void> flush() override;
  // flush(), then fdatasync(2) a regular file: called before a checkpoint,
  // so that no line the checkpoint counts as done can lose its alert.
  Result<void> sync();
  // sync() before a checkpoint: true when it may go ahead. A failure is
  // reported on stderr the first time and every 100th (a kept write error
  // fails every later one).
  bool sync_for_checkpoint();
  void begin_batch() override { in_batch_ = true; }
  void end_batch() override;

 private:
  JsonlAlertSink(std::FILE* f, bool owned, std::string path) : f_(f), owned_(owned), path_(std::move(path)) {}
  std::FILE* f_;
  bool owned_;
  std::string path_;
  std::string line_;
  // The first write error (errno), kept: a stream that lost an alert stays
  // failed, and every later flush() reports it.
  int error_ = 0;
  uint64_t sync_failures_ = 0;
  void fail() {
    if (error_ == 0) error_ = errno != 0 ? errno : EIO;
  }
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

// Alert delivery over HTTP on a background thread: the Alertmanager (API v2)
// and generic webhook sinks. The collector only enqueues (a mutex and a
// bounded container, never I/O), so a slow or dead receiver never stalls the
// scan. While the receiver is down, alerts wait (bounded by
// `max_queue`, counted as `dropped` beyond it) and are retried with
// exponential backoff until it returns: within the bound, nothing is lost.
#pragma once
#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "sink/alert_sink.hpp"
#include "sink/http_client.hpp"

namespace ds {

struct DeliveryOptions {
  size_t max_queue = 10000;  // alerts held (waiting or, for Alertmanager, active); beyond: dropped, counted
  size_t max_batch = 100;    // alerts per HTTP request
  std::chrono::milliseconds request_timeout{5000};
  std::chrono::milliseconds backoff_initial{500};
  std::chrono::milliseconds backoff_max{10000};
  std::chrono::milliseconds flush_timeout{10000};  // flush(): longest wait for the queue to drain
  bool log_errors = true;                          // delivery failures/recoveries on stderr
};

// Counters of one delivery sink (read by the metrics endpoint).
struct DeliveryStats {
  uint64_t sent = 0;      // alert notifications the receiver accepted (re-sends included)
  uint64_t failed = 0;    // HTTP requests that failed (retried unless rejected)
  uint64_t rejected = 0;  // notifications the receiver refused with a 4xx (not retried)
  uint64_t dropped = 0;   // alerts dropped because the queue was full
  uint64_t queued = 0;    // notifications waiting for delivery now
  double last_success_unix = 0;  // wall time of the last accepted request (0 = never)
  // Duration of each HTTP request (success or failure): a histogram with
  // these upper bounds (seconds), per bucket (not cumulative), last = +Inf.
  static constexpr std::array<double, 11> kRequestSecondsBounds{0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                                 0.5,   1,    2.5,   5,    10};
  std::array<uint64_t, kRequestSecondsBounds.size() + 1> request_seconds{};
  double request_seconds_sum = 0;
};

class HttpDeliverySink : public AlertSink {
 public:
  ~HttpDeliverySink() override;
  // Waits (at most flush_timeout) until nothing is waiting; an error names
  // what was not delivered.
  Result<void> flush() override;
  DeliveryStats stats() const;
  const std::string& kind() const { return kind_; }  // "alertmanager" | "webhook"
  const std::string& url() const { return url_.text; }

 protected:
  using Clock = std::chrono::steady_clock;
  HttpDeliverySink(std::string kind, HttpUrl url, DeliveryOptions opt, std::string content_type);
  void start();  // derived constructors call this last
  void stop();   // derived destructors call this first

  // All called by the delivery thread with mu_ held.
  // Builds the next request body; returns how many notifications it carries (0: none due).
  virtual size_t next_request_locked(std::string& body, Clock::time_point now) = 0;
  // The last request was accepted (or rejected for good): forget what it carried.
  virtual void request_done_locked() = 0;
  virtual size_t pending_locked() const = 0;
  // The receiver accepted a request after failures (it may have restarted and
  // lost its state): called before request_done_locked() of that request.
  virtual void receiver_recovered_locked() {}
  // When the thread must wake up for a timer even without new alerts.
  virtual Clock::time_point next_timer_locked(Clock::time_point /*now*/) const { return Clock::time_point::max(); }

  mutable std::mutex mu_;
  std::condition_variable cv_;
  DeliveryOptions opt_;
  DeliveryStats stats_;

 private:
  void run();
  std::string kind_;
  HttpUrl url_;
  std::string content_type_;
  std::thread thread_;
  bool stopping_ = false;
  bool failing_ = false;
  std::string last_error_;
  Clock::time_point retry_at_{};
  std::chrono::milliseconds backoff_{0};
};

// Generic webhook: POSTs alert JSON objects (the alert contract), batched as a
// JSON array (application/json), or as JSON lines (application/x-ndjson).
class WebhookAlertSink final : public HttpDeliverySink {
 public:
  static Result<std::unique_ptr<WebhookAlertSink>> create(const std::string& url, DeliveryOptions opt,
                                                          bool ndjson = false);
  ~WebhookAlertSink() override;
  void write(const Alert& alert) override;

 private:
  WebhookAlertSink(HttpUrl url, DeliveryOptions opt, bool ndjson);
  size_t next_request_locked(std::string& body, Clock::time_point now) override;
  void request_done_locked() override;
  size_t pending_locked() const override { return queue_.size(); }

  bool ndjson_;
  std::deque<std::string> queue_;
  size_t inflight_ = 0;
};

struct AlertmanagerOptions {
  std::chrono::milliseconds resend_interval{60000};  // re-send active alerts this often
  std::chrono::milliseconds resolve_after{7200000};  // no new alert for this long (wall clock) -> resolved
  std::string runbook_url;    // annotation runbook_url (omitted when empty)
  std::string generator_url;  // generatorURL (omitted when empty)
  std::string alertname = "DistillationSuspected";
  std::vector<std::pair<std::string, std::string>> extra_labels;  // e.g. {"team","trust-safety"}
};

// Alertmanager API v2: POST /api/v2/alerts with a JSON array of alerts. One
// Alertmanager alert per (account, severity, detector set): labels
// alertname, account, severity, detectors (+ extra labels) - nothing per
// request, so alerts group and deduplicate well. Active alerts are re-sent
// every resend_interval with endsAt = now + 4 x resend_interval; when an
// account raised no alert for resolve_after, it is sent once more as resolved
// (endsAt = now) and forgotten. A new alert for an account whose severity or
// detector set changed resolves the previous label set. When the receiver
// comes back after failed requests (e.g. Alertmanager restarted without its
// state), every firing alert is re-sent at once, not only at the next
// resend_interval.
class AlertmanagerSink final : public HttpDeliverySink {
 public:
  // `url` is the Alertmanager base URL (http://host:9093) or the full
  // http://host:9093/api/v2/alerts.
  static Result<std::unique_ptr<AlertmanagerSink>> create(const std::string& url, DeliveryOptions opt,
                                                          AlertmanagerOptions am);
  ~AlertmanagerSink() override;
  void write(const Alert& alert) override;
  size_t active() const;  // firing alerts held

  // The payload of one alert (exposed for tests).
  struct Entry {
    std::string account, severity, detectors;
    std::string annotations;  // rendered JSON object
    std::string starts_at;    // RFC 3339
    std::string ends_at;      // set when resolved
    Clock::time_point last_alert{};
    bool resolved = false;
    bool dirty = true;
    uint64_t version = 0;
  };
  static std::string render(const Entry& e, const AlertmanagerOptions& am, const std::string& ends_at);
  static std::string annotations_json(const Alert& a, const AlertmanagerOptions& am);

 private:
  AlertmanagerSink(HttpUrl url, DeliveryOptions opt, AlertmanagerOptions am);
  size_t next_request_locked(std::string& body, Clock::time_point now) override;
  void request_done_locked() override;
  size_t pending_locked() const override;
  Clock::time_point next_timer_locked(Clock::time_point now) const override;
  void receiver_recovered_locked() override;

  AlertmanagerOptions am_;
  std::map<std::string, Entry> entries_;                          // by label-set key
  std::unordered_map<std::string, std::string> firing_key_;       // account -> key of its firing entry
  std::vector<std::pair<std::string, uint64_t>> inflight_;        // key, version
  Clock::time_point next_resend_ = Clock::time_point::max();
};

// Fans alerts out to several sinks (JSONL file + delivery sinks), in order.
class FanoutAlertSink final : public AlertSink {
 public:
  void add(std::unique_ptr<AlertSink> s) { sinks_.push_back(std::move(s)); }
  void write(const Alert& alert) override {
    for (auto& s : sinks_) s->write(alert);
  }
  void begin_batch() override {
    for (auto& s : sinks_) s->begin_batch();
  }
  void end_batch() override {
    for (auto& s : sinks_) s->end_batch();
  }
  // Flushes every sink (each within its own bound); the errors joined.
  Result<void> flush() override;
  const std::vector<std::unique_ptr<AlertSink>>& sinks() const { return sinks_; }

 private:
  std::vector<std::unique_ptr<AlertSink>> sinks_;
};

// RFC 3339 UTC with milliseconds ("2026-11-28T10:15:00.123Z").
std::string format_time_utc_ms(int64_t unix_ms);

}  // namespace ds

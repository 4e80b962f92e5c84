#include "sink/delivery.hpp"

#include <algorithm>
#include <cstdio>

#include "core/json_write.hpp"

namespace ds {

std::string format_time_utc_ms(int64_t unix_ms) {
  std::string s = format_time_utc(unix_ms);  // ...:SSZ
  int64_t ms = ((unix_ms % 1000) + 1000) % 1000;
  char frac[8];
  std::snprintf(frac, sizeof frac, ".%03lld", static_cast<long long>(ms));
  s.insert(s.size() - 1, frac);
  return s;
}

namespace {

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

// ---------------------------------------------------------------------------
// HttpDeliverySink: the delivery thread, retries and backoff.

HttpDeliverySink::HttpDeliverySink(std::string kind, HttpUrl url, DeliveryOptions opt, std::string content_type)
    : opt_(opt), kind_(std::move(kind)), url_(std::move(url)), content_type_(std::move(content_type)) {
  if (opt_.max_batch == 0) opt_.max_batch = 1;
  if (opt_.backoff_initial.count() <= 0) opt_.backoff_initial = std::chrono::milliseconds(1);
  if (opt_.backoff_max < opt_.backoff_initial) opt_.backoff_max = opt_.backoff_initial;
}

HttpDeliverySink::~HttpDeliverySink() { stop(); }

void HttpDeliverySink::start() { thread_ = std::thread([this] { run(); }); }

void HttpDeliverySink::stop() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

DeliveryStats HttpDeliverySink::stats() const {
  std::lock_guard lk(mu_);
  DeliveryStats s = stats_;
  s.queued = pending_locked();
  return s;
}

Result<void> HttpDeliverySink::flush() {
  std::unique_lock lk(mu_);
  auto deadline = Clock::now() + opt_.flush_timeout;
  cv_.wait_until(lk, deadline, [&] { return pending_locked() == 0; });
  size_t left = pending_locked();
  if (left == 0) return {};
  char secs[32];
  std::snprintf(secs, sizeof secs, "%.1fs", static_cast<double>(opt_.flush_timeout.count()) / 1000.0);
  return make_error(kind_ + " " + url_.text + ": " + std::to_string(left) + " alert(s) not delivered within " + secs +
                    (last_error_.empty() ? std::string() : " (last error: " + last_error_ + ")"));
}

void HttpDeliverySink::run() {
  std::unique_lock lk(mu_);
  std::string body;
  while (!stopping_) {
    auto now = Clock::now();
    if (now < retry_at_) {
      cv_.wait_until(lk, retry_at_, [&] { return stopping_; });
      continue;
    }
    body.clear();
    size_t n = next_request_locked(body, now);
    if (n == 0) {
      auto wake = next_timer_locked(now);
      // Wake for new alerts (notify) or the sink's own timers.
      if (wake == Clock::time_point::max())
        cv_.wait(lk);
      else
        cv_.wait_until(lk, wake);
      continue;
    }
    lk.unlock();
    HttpResult r = http_post(url_, content_type_, body, opt_.request_timeout);
    lk.lock();
    {
      double secs = std::chrono::duration<double>(Clock::now() - now).count();
      const auto& b = DeliveryStats::kRequestSecondsBounds;
      size_t i = static_cast<size_t>(std::lower_bound(b.begin(), b.end(), secs) - b.begin());
      ++stats_.request_seconds[i];
      stats_.request_seconds_sum += secs;
    }
    now = Clock::now();
    if (r.success()) {
      if (failing_) receiver_recovered_locked();
      request_done_locked();
      stats_.sent += n;
      stats_.last_success_unix = static_cast<double>(wall_ms()) / 1000.0;
      backoff_ = std::chrono::milliseconds(0);
      retry_at_ = {};
      if (failing_ && opt_.log_errors)
        std::fprintf(stderr, "distillscan: %s %s: delivery recovered (%zu waiting)\n", kind_.c_str(),
                     url_.text.c_str(), pending_locked());
      failing_ = false;
      last_error_.clear();
    } else {
      ++stats_.failed;
      last_error_ = r.status ? "HTTP " + std::to_string(r.status) + (r.body.empty() ? "" : ": " + r.body.substr(0, 200))
                             : r.error;
      while (!last_error_.empty() && (last_error_.back() == '\n' || last_error_.back() == '\r')) last_error_.pop_back();
      if (r.permanent_failure()) {
        // The receiver refuses this payload: retrying cannot help. Drop it, count it, say so.
        request_done_locked();
        stats_.rejected += n;
        if (opt_.log_errors)
          std::fprintf(stderr, "distillscan: %s %s: %zu alert(s) rejected: %s\n", kind_.c_str(), url_.text.c_str(), n,
                       last_error_.c_str());
      } else {
        backoff_ = backoff_.count() == 0 ? opt_.backoff_initial : std::min(opt_.backoff_max, backoff_ * 2);
        retry_at_ = now + backoff_;
        if (!failing_ && opt_.log_errors)
          std::fprintf(stderr, "distillscan: %s %s: delivery failed (%s); retrying with backoff, alerts wait in the queue\n",
                       kind_.c_str(), url_.text.c_str(), last_error_.c_str());
        failing_ = true;
      }
    }
    cv_.notify_all();  // flush() waiters
  }
}

// ---------------------------------------------------------------------------
// Webhook

Result<std::unique_ptr<WebhookAlertSink>> WebhookAlertSink::create(const std::string& url, DeliveryOptions opt,
                                                                   bool ndjson) {
  auto u = parse_http_url(url);
  if (!u) return make_error("--webhook " + u.error().message);
  auto s = std::unique_ptr<WebhookAlertSink>(new WebhookAlertSink(std::move(*u), opt, ndjson));
  s->start();
  return s;
}

WebhookAlertSink::WebhookAlertSink(HttpUrl url, DeliveryOptions opt, bool ndjson)
    : HttpDeliverySink("webhook", std::move(url), opt, ndjson ? "application/x-ndjson" : "application/json"),
      ndjson_(ndjson) {}

WebhookAlertSink::~WebhookAlertSink() { stop(); }

void WebhookAlertSink::write(const Alert& alert) {
  std::string line = alert_to_json(alert);  // outside the lock
  {
    std::lock_guard lk(mu_);
    if (queue_.size() >= opt_.max_queue) {
      ++stats_.dropped;
      return;
    }
    queue_.push_back(std::move(line));
  }
  cv_.notify_all();
}

size_t WebhookAlertSink::next_request_locked(std::string& body, Clock::time_point) {
  size_t n = std::min(queue_.size(), opt_.max_batch);
  if (n == 0) return 0;
  if (!ndjson_) body += '[';
  for (size_t i = 0; i < n; ++i) {
    if (i && !ndjson_) body += ',';
    body += queue_[i];
    if (ndjson_) body += '\n';
  }
  if (!ndjson_) body += ']';
  inflight_ = n;
  return n;
}

void WebhookAlertSink::request_done_locked() {
  // Only this thread pops, and write() only appends: the first inflight_ are the ones sent.
  for (size_t i = 0; i < inflight_ && !queue_.empty(); ++i) queue_.pop_front();
  inflight_ = 0;
}

// ---------------------------------------------------------------------------
// Alertmanager

Result<std::unique_ptr<AlertmanagerSink>> AlertmanagerSink::create(const std::string& url, DeliveryOptions opt,
                                                                   AlertmanagerOptions am) {
  auto u = parse_http_url(url);
  if (!u) return make_error("--alertmanager " + u.error().message);
  // A base URL gets the API path appended.
  if (u->target == "/" || u->target.empty()) {
    u->target = "/api/v2/alerts";
  } else if (u->target.find("/api/v2/alerts") == std::string::npos) {
    if (u->target.back() == '/') u->target.pop_back();
    u->target += "/api/v2/alerts";  // Alertmanager behind a path prefix (--web.route-prefix)
  }
  if (am.resend_interval.count() <= 0) return make_error("alertmanager resend interval must be positive");
  if (am.resolve_after.count() <= 0) return make_error("alertmanager resolve interval must be positive");
  auto s = std::unique_ptr<AlertmanagerSink>(new AlertmanagerSink(std::move(*u), opt, std::move(am)));
  s->start();
  return s;
}

AlertmanagerSink::AlertmanagerSink(HttpUrl url, DeliveryOptions opt, AlertmanagerOptions am)
    : HttpDeliverySink("alertmanager", std::move(url), opt, "application/json"), am_(std::move(am)) {}

AlertmanagerSink::~AlertmanagerSink() { stop(); }

size_t AlertmanagerSink::active() const {
  std::lock_guard lk(mu_);
  return firing_key_.size();
}

std::string AlertmanagerSink::annotations_json(const Alert& a, const AlertmanagerOptions& am) {
  std::string detectors_text;
  for (size_t i = 0; i < a.reasons.size(); ++i) {
    const auto& r = a.reasons[i];
    if (i) detectors_text += "; ";
    detectors_text += r.detector + " ";
    json_number_append(detectors_text, r.value);
    detectors_text += " (threshold ";
    json_number_append(detectors_text, r.threshold);
    detectors_text += ")";
  }
  std::string score;
  json_number_append(score, a.score);
  std::string summary = "Account " + a.account + " looks like it is distilling the model (" +
                        (a.critical ? "critical" : "warning") + ", score " + score + ")";
  std::string desc = detectors_text + ". " + std::to_string(a.requests) + " requests in the detector window";
  if (!a.sample_request_ids.empty()) {
    desc += "; sample requests: ";
    for (size_t i = 0; i < a.sample_request_ids.size(); ++i) desc += (i ? ", " : "") + a.sample_request_ids[i];
  }
  if (a.has_cluster)
    desc += "; part of cluster " + a.cluster.id + " (" + std::to_string(a.cluster.size) + " accounts)";
  desc += ". Last alert " + a.id + " at event time " + format_time_utc(a.time_ms) + ".";

  std::string o = "{\"summary\":";
  json_escape_append(o, summary);
  o += ",\"description\":";
  json_escape_append(o, desc);
  if (!am.runbook_url.empty()) {
    o += ",\"runbook_url\":";
    json_escape_append(o, am.runbook_url);
  }
  o += ",\"score\":";
  json_escape_append(o, score);
  o += ",\"alert_id\":";
  json_escape_append(o, a.id);
  o += ",\"event_time\":";
  json_escape_append(o, format_time_utc(a.time_ms));
  o += ",\"requests\":";
  json_escape_append(o, std::to_string(a.requests));
  if (a.has_cluster) {
    o += ",\"cluster_id\":";
    json_escape_append(o, a.cluster.id);
  }
  o += '}';
  return o;
}

std::string AlertmanagerSink::render(const Entry& e, const AlertmanagerOptions& am, const std::string& ends_at) {
  std::string o = "{\"labels\":{\"alertname\":";
  json_escape_append(o, am.alertname);
  o += ",\"account\":";
  json_escape_append(o, e.account);
  o += ",\"severity\":";
  json_escape_append(o, e.severity);
  if (!e.detectors.empty()) {  // an empty label value would mean "no label" anyway
    o += ",\"detectors\":";
    json_escape_append(o, e.detectors);
  }
  for (const auto& [k, v] : am.extra_labels) {
    o += ',';
    json_escape_append(o, k);
    o += ':';
    json_escape_append(o, v);
  }
  o += "},\"annotations\":";
  o += e.annotations;
  o += ",\"startsAt\":";
  json_escape_append(o, e.starts_at);
  o += ",\"endsAt\":";
  json_escape_append(o, ends_at);
  if (!am.generator_url.empty()) {
    o += ",\"generatorURL\":";
    json_escape_append(o, am.generator_url);
  }
  o += '}';
  return o;
}

void AlertmanagerSink::write(const Alert& a) {
  std::string detectors;
  {
    std::vector<std::string> names;
    for (const auto& r : a.reasons) names.push_back(r.detector);
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    for (size_t i = 0; i < names.size(); ++i) detectors += (i ? "," : "") + names[i];
  }
  std::string severity = a.critical ? "critical" : "warning";
  std::string key = a.account + '\x1f' + severity + '\x1f' + detectors;
  std::string annotations = annotations_json(a, am_);
  auto now = Clock::now();
  std::string now_text = format_time_utc_ms(wall_ms());
  {
    std::lock_guard lk(mu_);
    // Same account, different label set (severity or detectors changed): the old one is resolved.
    if (auto f = firing_key_.find(a.account); f != firing_key_.end() && f->second != key) {
      if (auto old = entries_.find(f->second); old != entries_.end()) {
        old->second.resolved = true;
        old->second.ends_at = now_text;
        old->second.dirty = true;
        ++old->second.version;
      }
      firing_key_.erase(f);
    }
    auto it = entries_.find(key);
    if (it == entries_.end()) {
      if (entries_.size() >= opt_.max_queue) {
        ++stats_.dropped;
        return;
      }
      it = entries_.emplace(key, Entry{}).first;
      Entry& e = it->second;
      e.account = a.account;
      e.severity = severity;
      e.detectors = detectors;
      e.starts_at = now_text;
    } else if (it->second.resolved) {
      // Resolved but not yet delivered, and firing again: fire anew.
      it->second.resolved = false;
      it->second.ends_at.clear();
      it->second.starts_at = now_text;
    }
    Entry& e = it->second;
    e.annotations = std::move(annotations);
    e.last_alert = now;
    e.dirty = true;
    ++e.version;
    firing_key_[a.account] = key;
    if (next_resend_ == Clock::time_point::max()) next_resend_ = now + am_.resend_interval;
  }
  cv_.notify_all();
}

size_t AlertmanagerSink::pending_locked() const {
  size_t n = 0;
  for (const auto& [k, e] : entries_) n += e.dirty;
  return n;
}

AlertmanagerSink::Clock::time_point AlertmanagerSink::next_timer_locked(Clock::time_point) const {
  if (firing_key_.empty()) return Clock::time_point::max();
  auto t = next_resend_;
  for (const auto& [k, e] : entries_)
    if (!e.resolved) t = std::min(t, e.last_alert + am_.resolve_after);
  return t;
}

size_t AlertmanagerSink::next_request_locked(std::string& body, Clock::time_point now) {
  std::string now_text;
  // Accounts that calmed down: resolve.
  for (auto& [k, e] : entries_) {
    if (e.resolved || now - e.last_alert < am_.resolve_after) continue;
    if (now_text.empty()) now_text = format_time_utc_ms(wall_ms());
    e.resolved = true;
    e.ends_at = now_text;
    e.dirty = true;
    ++e.version;
    firing_key_.erase(e.account);
  }
  // Periodic re-send of everything still firing (Alertmanager forgets an
  // alert at endsAt, and after a restart it knows nothing).
  if (firing_key_.empty()) {
    next_resend_ = Clock::time_point::max();
  } else if (now >= next_resend_) {
    for (auto& [k, e] : entries_)
      if (!e.resolved) e.dirty = true;
    next_resend_ = now + am_.resend_interval;
  }
  inflight_.clear();
  std::string firing_ends;
  for (const auto& [k, e] : entries_) {
    if (!e.dirty) continue;
    if (inflight_.size() >= opt_.max_batch) break;
    if (firing_ends.empty())
      firing_ends = format_time_utc_ms(wall_ms() + 4 * std::chrono::duration_cast<std::chrono::milliseconds>(
                                                            am_.resend_interval).count());
    body += inflight_.empty() ? '[' : ',';
    body += render(e, am_, e.resolved ? e.ends_at : firing_ends);
    inflight_.emplace_back(k, e.version);
  }
  if (!inflight_.empty()) body += ']';
  return inflight_.size();
}

void AlertmanagerSink::receiver_recovered_locked() {
  // Alertmanager may have restarted (it keeps no alerts across restarts): all
  // that is firing goes out again now. What the accepted request carried is
  // left alone (its version decides in request_done_locked()).
  for (auto& entry : entries_) {
    Entry& e = entry.second;
    if (e.resolved || e.dirty) continue;
    const std::string& key = entry.first;  // (clang 14 cannot capture structured bindings)
    bool carried = std::any_of(inflight_.begin(), inflight_.end(), [&](const auto& p) { return p.first == key; });
    if (!carried) e.dirty = true;
  }
}

void AlertmanagerSink::request_done_locked() {
  for (const auto& [key, version] : inflight_) {
    auto it = entries_.find(key);
    if (it == entries_.end() || it->second.version != version) continue;  // changed meanwhile: send again
    it->second.dirty = false;
    if (it->second.resolved) entries_.erase(it);
  }
  inflight_.clear();
}

// ---------------------------------------------------------------------------

Result<void> FanoutAlertSink::flush() {
  std::string errors;
  for (auto& s : sinks_) {
    auto r = s->flush();
    if (!r) errors += (errors.empty() ? "" : "\ndistillscan: ") + r.error().message;
  }
  if (errors.empty()) return {};
  return make_error(errors);
}

}  // namespace ds

#include "metrics/metrics.hpp"

#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <atomic>
#include <limits>
#include <map>
#include <mutex>
#include <sstream>
#include <string_view>
#include <unordered_map>

#include "distillscan/version.hpp"
#include "metrics/catalogue.hpp"

namespace ds {

namespace {

enum class Kind { counter, gauge, histogram, gauge_scrape, counter_scrape, histogram_scrape };

struct MetricDef {
  Kind kind;
  const char* name;
  const char* help;
  std::vector<std::string> labels;
};

enum class Id : size_t {
#define DS_X(id, type, name, help, ...) id,
  DS_METRIC_CATALOGUE(DS_X)
#undef DS_X
      kCount
};

const std::vector<MetricDef>& catalogue() {
  static const std::vector<MetricDef> defs = {
#define DS_X(id, type, name, help, ...) {Kind::type, name, help, {__VA_ARGS__}},
      DS_METRIC_CATALOGUE(DS_X)
#undef DS_X
  };
  return defs;
}

const MetricDef& def(Id id) { return catalogue()[static_cast<size_t>(id)]; }

double system_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

template <class T>
prometheus::Family<T>& build(prometheus::Registry& r, Id id) {
  const auto& d = def(id);
  if constexpr (std::is_same_v<T, prometheus::Counter>)
    return prometheus::BuildCounter().Name(d.name).Help(d.help).Register(r);
  else if constexpr (std::is_same_v<T, prometheus::Gauge>)
    return prometheus::BuildGauge().Name(d.name).Help(d.help).Register(r);
  else
    return prometheus::BuildHistogram().Name(d.name).Help(d.help).Register(r);
}

struct FlaggedAccount {
  double score = 0;         // highest alert score while active
  double last_alert = 0;    // wall seconds
};

struct Probe {
  std::string sink, target;
  std::function<DeliveryStats()> fn;
};

}  // namespace

std::vector<std::string> metric_catalogue_names() {
  std::vector<std::string> out;
  for (const auto& d : catalogue()) out.emplace_back(d.name);
  return out;
}

Result<std::string> metrics_listen_spec(const std::string& addr) {
  std::string host, port;
  if (!addr.empty() && addr.front() == '[') {
    size_t close = addr.find(']');
    if (close == std::string::npos || close + 1 >= addr.size() || addr[close + 1] != ':')
      return make_error("--metrics-listen '" + addr + "': expected [IPV6]:PORT");
    host = addr.substr(0, close + 1);
    port = addr.substr(close + 2);
  } else {
    size_t colon = addr.rfind(':');
    if (colon == std::string::npos) {
      port = addr;
    } else {
      host = addr.substr(0, colon);
      port = addr.substr(colon + 1);
    }
    if (host.find(':') != std::string::npos)
      return make_error("--metrics-listen '" + addr + "': put an IPv6 address in brackets: [::1]:9741");
  }
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
      std::stoul(port) > 65535)
    return make_error("--metrics-listen '" + addr + "': expected HOST:PORT (e.g. 127.0.0.1:9741)");
  if (host.empty()) host = "127.0.0.1";  // loopback unless an address is given explicitly
  if (host == "localhost") host = "127.0.0.1";
  return host + ":" + port;
}

// ---------------------------------------------------------------------------

struct Metrics::Impl : prometheus::Collectable {
  MetricsOptions opt;
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  std::unique_ptr<prometheus::Exposer> exposer;
  std::string listen_host;

  // Registry-backed series (collector thread writes; atomic inside).
  prometheus::Counter* lines = nullptr;
  prometheus::Counter* records = nullptr;
  prometheus::Counter* bytes = nullptr;
  prometheus::Counter* field_type_errors = nullptr;
  prometheus::Counter* input_errors = nullptr;
  prometheus::Counter* batches = nullptr;
  prometheus::Counter* accounts_created = nullptr;
  prometheus::Counter* evicted_idle = nullptr;
  prometheus::Counter* evicted_lru = nullptr;
  prometheus::Counter* reload_ok = nullptr;
  prometheus::Counter* reload_failed = nullptr;
  prometheus::Gauge* accounts_tracked = nullptr;
  prometheus::Gauge* rules_loaded = nullptr;
  prometheus::Gauge* newest_event = nullptr;
  prometheus::Gauge* ring_in_flight = nullptr;
  prometheus::Gauge* ring_slots = nullptr;
  prometheus::Histogram* batch_latency = nullptr;
  std::array<prometheus::Counter*, kErrorReasonCount> parse_errors{};
  std::vector<prometheus::Counter*> rule_matches;
  prometheus::Family<prometheus::Counter>* alerts_family = nullptr;
  // (detector, severity). Looked up without building a key: on_alert runs on
  // the collector thread for every alert reason, which limits -j scaling.
  using AlertKey = std::pair<std::string, std::string>;
  using AlertKeyView = std::pair<std::string_view, std::string_view>;
  static AlertKeyView key_view(const AlertKey& k) { return {k.first, k.second}; }
  static AlertKeyView key_view(const AlertKeyView& k) { return k; }
  struct AlertKeyHash {
    using is_transparent = void;
    template <class K>
    size_t operator()(const K& k) const {
      const AlertKeyView v = key_view(k);
      return std::hash<std::string_view>{}(v.first) * 31 + std::hash<std::string_view>{}(v.second);
    }
  };
  struct AlertKeyEq {
    using is_transparent = void;
    template <class A, class B>
    bool operator()(const A& a, const B& b) const { return key_view(a) == key_view(b); }
  };
  std::unordered_map<AlertKey, prometheus::Counter*, AlertKeyHash, AlertKeyEq> alerts;

  // Collector-side bookkeeping (collector thread only).
  std::vector<uint64_t> rule_seen;
  uint64_t created_seen = 0, idle_seen = 0, lru_seen = 0, input_errors_seen = 0;

  // Scrape-time state.
  mutable std::mutex mu;
  int64_t watermark_ms = INT64_MIN;
  mutable std::unordered_map<std::string, FlaggedAccount> flagged;
  std::vector<Probe> probes;

  explicit Impl(MetricsOptions o) : opt(std::move(o)) {
    if (!opt.wall_clock) opt.wall_clock = system_seconds;
    auto& r = *registry;
    lines = &build<prometheus::Counter>(r, Id::lines).Add({});
    records = &build<prometheus::Counter>(r, Id::records).Add({});
    bytes = &build<prometheus::Counter>(r, Id::bytes).Add({});
    auto& pe = build<prometheus::Counter>(r, Id::parse_errors);
    for (size_t i = 0; i < kErrorReasonCount; ++i)
      parse_errors[i] = &pe.Add({{"reason", std::string(reason_name(static_cast<ErrorReason>(i)))}});
    field_type_errors = &build<prometheus::Counter>(r, Id::field_type_errors).Add({});
    input_errors = &build<prometheus::Counter>(r, Id::input_errors).Add({});
    auto& rm = build<prometheus::Counter>(r, Id::rule_matches);
    for (const auto& id : opt.rule_ids) rule_matches.push_back(&rm.Add({{"rule", id}}));
    rule_seen.assign(rule_matches.size(), 0);
    rules_loaded = &build<prometheus::Gauge>(r, Id::rules_loaded).Add({});
    rules_loaded->Set(static_cast<double>(opt.rule_ids.size()));
    auto& rl = build<prometheus::Counter>(r, Id::rule_reloads);
    reload_ok = &rl.Add({{"result", "success"}});
    reload_failed = &rl.Add({{"result", "failure"}});
    alerts_family = &build<prometheus::Counter>(r, Id::alerts);
    for (const auto& d : opt.detectors)
      for (const char* sev : {"warning", "critical"}) alert_counter(d, sev);
    accounts_tracked = &build<prometheus::Gauge>(r, Id::accounts_tracked).Add({});
    accounts_created = &build<prometheus::Counter>(r, Id::accounts_created).Add({});
    auto& ev = build<prometheus::Counter>(r, Id::accounts_evicted);
    evicted_idle = &ev.Add({{"reason", "idle"}});
    evicted_lru = &ev.Add({{"reason", "lru"}});
    newest_event = &build<prometheus::Gauge>(r, Id::newest_event_time).Add({});
    batches = &build<prometheus::Counter>(r, Id::batches).Add({});
    batch_latency = &build<prometheus::Histogram>(r, Id::batch_latency)
                         .Add({}, prometheus::Histogram::BucketBoundaries{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                                          0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30});
    ring_in_flight = &build<prometheus::Gauge>(r, Id::ring_in_flight).Add({});
    ring_slots = &build<prometheus::Gauge>(r, Id::ring_slots).Add({});
    build<prometheus::Gauge>(r, Id::start_time).Add({}).Set(opt.wall_clock());
    build<prometheus::Gauge>(r, Id::build_info).Add({{"version", kVersion}}).Set(1);
  }

  prometheus::Counter* alert_counter(std::string_view detector, std::string_view severity) {
    auto it = alerts.find(AlertKeyView{detector, severity});
    if (it != alerts.end()) return it->second;
    auto* c = &alerts_family->Add({{"detector", std::string(detector)}, {"severity", std::string(severity)}});
    alerts.emplace(std::make_pair(std::string(detector), std::string(severity)), c);
    return c;
  }

  // Drops flagged accounts whose last alert is older than flagged_for. mu held.
  void expire_locked(double now) const {
    double ttl = std::chrono::duration<double>(opt.flagged_for).count();
    for (auto it = flagged.begin(); it != flagged.end();) {
      if (now - it->second.last_alert >= ttl)
        it = flagged.erase(it);
      else
        ++it;
    }
  }

  static prometheus::ClientMetric::Label label(const std::string& k, const std::string& v) { return {k, v}; }

  static prometheus::MetricFamily family(Id id) {
    prometheus::MetricFamily f;
    f.name = def(id).name;
    f.help = def(id).help;
    f.type = def(id).kind == Kind::counter_scrape     ? prometheus::MetricType::Counter
             : def(id).kind == Kind::histogram_scrape ? prometheus::MetricType::Histogram
                                                      : prometheus::MetricType::Gauge;
    return f;
  }

  std::function<TailStatus()> tail_probe;  // guarded by mu

  static prometheus::MetricFamily tail_family(const char* name, const char* help, prometheus::MetricType t) {
    prometheus::MetricFamily f;
    f.name = name;
    f.help = help;
    f.type = t;
    return f;
  }
  static void append_tail(std::vector<prometheus::MetricFamily>& out, const TailStatus& t, double now) {
    using MT = prometheus::MetricType;
    auto lag = tail_family("distillscan_tail_file_lag_bytes",
                           "Bytes behind the end of each followed file (size minus position processed).", MT::Gauge);
    for (const auto& f : t.files) {
      auto& m = lag.metric.emplace_back();
      m.label.push_back(label("file", f.path));
      m.gauge.value = static_cast<double>(f.lag_bytes);
    }
    out.push_back(std::move(lag));
    auto gauge = [&](const char* name, const char* help, double v) {
      auto f = tail_family(name, help, MT::Gauge);
      f.metric.emplace_back().gauge.value = v;
      out.push_back(std::move(f));
    };
    auto counter = [&](const char* name, const char* help, double v) {
      auto f = tail_family(name, help, MT::Counter);
      f.metric.emplace_back().counter.value = v;
      out.push_back(std::move(f));
    };
    uint64_t total_lag = 0;
    for (const auto& f : t.files) total_lag += f.lag_bytes;
    gauge("distillscan_tail_lag_bytes", "Bytes behind the end of all followed files.", static_cast<double>(total_lag));
    gauge("distillscan_tail_files_tracked", "Files followed or remembered (capped by tail.max_files).",
          static_cast<double>(t.files_tracked));
    counter("distillscan_tail_files_forgotten_total", "Finished files forgotten beyond tail.max_files (LRU).",
            static_cast<double>(t.files_forgotten));
    counter("distillscan_tail_files_refused_total", "Distinct new files not followed because tail.max_files were tracked.",
            static_cast<double>(t.files_refused));
    counter("distillscan_tail_rotations_total", "Followed files renamed away or deleted.", static_cast<double>(t.rotations));
    counter("distillscan_tail_truncations_total", "Followed files truncated (copytruncate) or replaced in place.",
            static_cast<double>(t.truncations));
    gauge("distillscan_pipeline_queue_depth", "Chunks read but not yet collected, now.", static_cast<double>(t.queue_depth));
    if (t.newest_event_unix > 0)
      gauge("distillscan_tail_event_lag_seconds", "Wall clock minus the newest event time processed by tail.",
            std::max(0.0, now - t.newest_event_unix));
    counter("distillscan_checkpoints_total", "Checkpoints written.", static_cast<double>(t.checkpoints));
    counter("distillscan_checkpoint_failures_total", "Checkpoints that could not be written.",
            static_cast<double>(t.checkpoint_failures));
    if (t.checkpoint_last_success_unix > 0)
      gauge("distillscan_checkpoint_age_seconds", "Seconds since the last checkpoint was written.",
            std::max(0.0, now - t.checkpoint_last_success_unix));
    if (t.kafka) {  // consume (src/ingest/kafka_source.hpp)
      auto klag = tail_family("distillscan_kafka_consumer_lag",
                              "Messages behind the high watermark, per assigned partition.", MT::Gauge);
      for (const auto& [p, l] : t.kafka_partition_lag) {
        auto& m = klag.metric.emplace_back();
        m.label.push_back(label("partition", std::to_string(p)));
        m.gauge.value = static_cast<double>(l);
      }
      out.push_back(std::move(klag));
      counter("distillscan_kafka_rebalances_total", "Partition assignments received from the consumer group.",
              static_cast<double>(t.kafka_rebalances));
      counter("distillscan_kafka_partitions_rebuilt_total",
              "Assigned partitions whose accounts were rebuilt by a replay (alerts suppressed).",
              static_cast<double>(t.kafka_partitions_rebuilt));
      counter("distillscan_kafka_replayed_messages_total", "Messages re-read to rebuild state after an assignment.",
              static_cast<double>(t.kafka_replayed_messages));
      counter("distillscan_kafka_commit_failures_total", "Offset commits that failed (retried at the next checkpoint).",
              static_cast<double>(t.kafka_commit_failures));
      counter("distillscan_kafka_handover_keys_dropped_total",
              "Accounts forgotten when the handover key sets reached their cap (limits.max_accounts, at most 2^22); "
              "a handover then misses them.",
              static_cast<double>(t.kafka_handover_keys_dropped));
      gauge("distillscan_kafka_handover_keys",
            "Message keys (accounts) remembered over all partitions to hand accounts over in a rebalance, now.",
            static_cast<double>(t.kafka_handover_keys));
    }
    if (t.cluster_exchange) {  // consume --cluster-topic (src/ingest/cluster_exchange.hpp)
      counter("distillscan_cluster_exchange_records_published_total",
              "Fingerprint records this instance published to the cluster topic.",
              static_cast<double>(t.xc_records_published));
      counter("distillscan_cluster_exchange_records_received_total",
              "Fingerprint records read from the cluster topic (every instance's).",
              static_cast<double>(t.xc_records_received));
      counter("distillscan_cluster_exchange_records_repeated_total",
              "Fingerprint records received again (a copy of one with a request id, published twice after a "
              "crash or a handover) and not counted again.",
              static_cast<double>(t.xc_records_repeated));
      gauge("distillscan_cluster_exchange_record_ids",
            "Received records remembered to recognise a repeat, now (capped).",
            static_cast<double>(t.xc_record_ids));
      counter("distillscan_cluster_exchange_record_ids_evicted_total",
              "Remembered records dropped beyond the cap (oldest first): repeats older than that count again.",
              static_cast<double>(t.xc_record_ids_evicted));
      gauge("distillscan_cluster_exchange_alerts_held",
            "Member alerts held for accounts not processed here (written if the account becomes ours).",
            static_cast<double>(t.xc_alerts_held));
      counter("distillscan_cluster_exchange_alerts_held_evicted_total",
              "Held member alerts dropped beyond the cap (oldest first).",
              static_cast<double>(t.xc_alerts_held_evicted));
      counter("distillscan_cluster_exchange_alerts_claimed_total",
              "Held member alerts written when their account became ours (partition taken over).",
              static_cast<double>(t.xc_alerts_claimed));
      gauge("distillscan_cluster_exchange_local_accounts", "Accounts this instance has processed (its own).",
            static_cast<double>(t.xc_local_accounts));
      counter("distillscan_cluster_exchange_local_cleared_total",
              "Times the own-accounts set reached its cap and was cleared.",
              static_cast<double>(t.xc_local_cleared));
      gauge("distillscan_cluster_exchange_alert_ids", "Ids of written alerts remembered (any instance's).",
            static_cast<double>(t.xc_alert_ids));
      counter("distillscan_cluster_exchange_alert_ids_evicted_total",
              "Remembered alert ids dropped beyond the cap (oldest first).",
              static_cast<double>(t.xc_alert_ids_evicted));
      counter("distillscan_cluster_exchange_duplicates_suppressed_total",
              "Alerts not written because an instance had written their id already.",
              static_cast<double>(t.xc_duplicates_suppressed));
    }
    if (t.tcp) {  // listen (src/ingest/tcp_source.hpp)
      gauge("distillscan_tcp_connections", "Open TCP ingest connections.", static_cast<double>(t.tcp_connections_open));
      counter("distillscan_tcp_connections_total", "TCP ingest connections accepted.",
              static_cast<double>(t.tcp_connections_accepted));
      counter("distillscan_tcp_connections_rejected_total", "TCP ingest connections closed at once (max connections).",
              static_cast<double>(t.tcp_connections_rejected));
      counter("distillscan_tcp_read_pauses_total", "Times a connection stopped being read because the pipeline was full (backpressure).",
              static_cast<double>(t.tcp_read_pauses));
    }
  }

  // Scrape-time metrics (Collectable, called on the exposer's threads).
  std::vector<prometheus::MetricFamily> Collect() const override {
    std::vector<prometheus::MetricFamily> out;
    double now = opt.wall_clock();
    std::lock_guard lk(mu);
    expire_locked(now);

    auto flagged_f = family(Id::accounts_flagged);
    flagged_f.metric.emplace_back().gauge.value = static_cast<double>(flagged.size());
    out.push_back(std::move(flagged_f));

    auto risk = family(Id::account_risk_score);
    if (opt.top_k > 0 && !flagged.empty()) {
      std::vector<std::pair<const std::string*, double>> v;
      v.reserve(flagged.size());
      for (const auto& [acct, fa] : flagged) v.emplace_back(&acct, fa.score);
      size_t k = std::min<size_t>(opt.top_k, v.size());
      auto by_risk = [](const auto& a, const auto& b) {
        if (a.second != b.second) return a.second > b.second;
        return *a.first < *b.first;
      };
      std::partial_sort(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end(), by_risk);
      for (size_t i = 0; i < k; ++i) {
        auto& m = risk.metric.emplace_back();
        m.label.push_back(label("account", *v[i].first));
        m.gauge.value = v[i].second;
      }
    }
    out.push_back(std::move(risk));

    if (watermark_ms != INT64_MIN) {
      auto lag = family(Id::event_lag);
      lag.metric.emplace_back().gauge.value = std::max(0.0, now - static_cast<double>(watermark_ms) / 1000.0);
      out.push_back(std::move(lag));
    }

    if (tail_probe) append_tail(out, tail_probe(), now);

    if (!probes.empty()) {
      std::vector<DeliveryStats> st;
      for (const auto& p : probes) st.push_back(p.fn());
      auto emit = [&](Id id, auto value) {
        auto f = family(id);
        for (size_t i = 0; i < probes.size(); ++i) {
          auto& m = f.metric.emplace_back();
          m.label = {label("sink", probes[i].sink), label("target", probes[i].target)};
          double v = static_cast<double>(value(st[i]));
          if (f.type == prometheus::MetricType::Counter)
            m.counter.value = v;
          else
            m.gauge.value = v;
        }
        out.push_back(std::move(f));
      };
      emit(Id::delivery_sent, [](const DeliveryStats& s) { return s.sent; });
      emit(Id::delivery_failed, [](const DeliveryStats& s) { return s.failed; });
      emit(Id::delivery_rejected, [](const DeliveryStats& s) { return s.rejected; });
      emit(Id::delivery_dropped, [](const DeliveryStats& s) { return s.dropped; });
      emit(Id::delivery_queued, [](const DeliveryStats& s) { return s.queued; });
      emit(Id::delivery_last_success, [](const DeliveryStats& s) { return s.last_success_unix; });
      auto hist = family(Id::delivery_request_seconds);
      for (size_t i = 0; i < probes.size(); ++i) {
        auto& m = hist.metric.emplace_back();
        m.label = {label("sink", probes[i].sink), label("target", probes[i].target)};
        const auto& bounds = DeliveryStats::kRequestSecondsBounds;
        uint64_t cum = 0;
        for (size_t b = 0; b < st[i].request_seconds.size(); ++b) {
          cum += st[i].request_seconds[b];
          auto& bk = m.histogram.bucket.emplace_back();
          bk.cumulative_count = cum;
          bk.upper_bound = b < bounds.size() ? bounds[b] : std::numeric_limits<double>::infinity();
        }
        m.histogram.sample_count = cum;
        m.histogram.sample_sum = st[i].request_seconds_sum;
      }
      out.push_back(std::move(hist));
    }
    return out;
  }
};

Metrics::Metrics(MetricsOptions opt) : impl_(std::make_shared<Impl>(std::move(opt))) {}

Metrics::~Metrics() {
  // Stop serving before the state the scrape reads goes away.
  impl_->exposer.reset();
}

Result<std::unique_ptr<Metrics>> Metrics::create(MetricsOptions opt) {
  std::string spec;
  if (!opt.listen.empty()) {
    auto s = metrics_listen_spec(opt.listen);
    if (!s) return s.error();
    spec = *s;
  }
  std::unique_ptr<Metrics> m(new Metrics(std::move(opt)));
  if (!spec.empty()) {
    try {
      // Exposure limits (civetweb options). No document_root: civetweb serves
      // no files, and only /metrics has a handler (anything else is 404).
      // One thread is plenty for a scrape every few seconds; a second keeps a
      // slow scraper from blocking another. Requests are bounded in size and
      // time, at most 8 connections wait for a thread, and a connection serves
      // one request (no keep-alive), so idle peers cannot hold the threads.
      m->impl_->exposer = std::make_unique<prometheus::Exposer>(std::vector<std::string>{
          "listening_ports", spec,            //
          "num_threads", "2",                 //
          "connection_queue", "8",            //
          "listen_backlog", "16",             //
          "max_request_size", "16384",        // request line + headers, bytes
          "request_timeout_ms", "10000",      //
          "enable_keep_alive", "no",          //
          "enable_directory_listing", "no"});
    } catch (const std::exception& e) {
      return make_error("--metrics-listen " + spec + ": cannot listen: " + e.what());
    }
    m->impl_->exposer->RegisterCollectable(m->impl_->registry);
    m->impl_->exposer->RegisterCollectable(std::static_pointer_cast<prometheus::Collectable>(m->impl_));
    m->impl_->listen_host = spec.substr(0, spec.rfind(':'));
  }
  return m;
}

void Metrics::on_batch(const EventBatch& b, const BatchContext& ctx) {
  Impl& m = *impl_;
  m.batches->Increment();
  if (b.lines) m.lines->Increment(static_cast<double>(b.lines));
  if (!b.events.empty()) m.records->Increment(static_cast<double>(b.events.size()));
  if (b.bytes) m.bytes->Increment(static_cast<double>(b.bytes));
  for (size_t i = 0; i < kErrorReasonCount; ++i)
    if (b.errors.n[i]) m.parse_errors[i]->Increment(static_cast<double>(b.errors.n[i]));
  if (b.field_type_errors) m.field_type_errors->Increment(static_cast<double>(b.field_type_errors));

  size_t nr = std::min(ctx.rule_matches_total.size(), m.rule_matches.size());
  for (size_t r = 0; r < nr; ++r) {
    uint64_t v = ctx.rule_matches_total[r];
    if (v > m.rule_seen[r]) {
      m.rule_matches[r]->Increment(static_cast<double>(v - m.rule_seen[r]));
      m.rule_seen[r] = v;
    }
  }
  auto sync = [](prometheus::Counter* c, uint64_t now, uint64_t& seen) {
    if (now > seen) {
      c->Increment(static_cast<double>(now - seen));
      seen = now;
    }
  };
  sync(m.accounts_created, ctx.accounts_created, m.created_seen);
  sync(m.evicted_idle, ctx.accounts_evicted_idle, m.idle_seen);
  sync(m.evicted_lru, ctx.accounts_evicted_lru, m.lru_seen);
  sync(m.input_errors, ctx.input_errors, m.input_errors_seen);
  m.accounts_tracked->Set(static_cast<double>(ctx.accounts_tracked));
  if (ctx.latency_seconds >= 0) m.batch_latency->Observe(ctx.latency_seconds);
  m.ring_in_flight->Set(ctx.ring_in_flight);
  if (ctx.ring_slots) m.ring_slots->Set(ctx.ring_slots);
  if (ctx.watermark_ms != INT64_MIN) {
    std::lock_guard lk(m.mu);
    if (ctx.watermark_ms > m.watermark_ms) {
      m.watermark_ms = ctx.watermark_ms;
      m.newest_event->Set(static_cast<double>(ctx.watermark_ms) / 1000.0);
    }
  }
}

void Metrics::on_alert(const Alert& a) {
  Impl& m = *impl_;
  const char* sev = a.critical ? "critical" : "warning";
  for (const auto& r : a.reasons) m.alert_counter(r.detector, sev)->Increment();
  double now = m.opt.wall_clock();
  std::lock_guard lk(m.mu);
  auto it = m.flagged.find(a.account);
  if (it == m.flagged.end()) {
    if (m.opt.max_flagged == 0) return;
    if (m.flagged.size() >= m.opt.max_flagged) {
      m.expire_locked(now);
      if (m.flagged.size() >= m.opt.max_flagged) {
        // Forget the account whose last alert is oldest (bounded memory).
        auto oldest = std::min_element(m.flagged.begin(), m.flagged.end(), [](const auto& x, const auto& y) {
          return x.second.last_alert < y.second.last_alert;
        });
        m.flagged.erase(oldest);
      }
    }
    it = m.flagged.emplace(a.account, FlaggedAccount{}).first;
  } else if (now - it->second.last_alert >= std::chrono::duration<double>(m.opt.flagged_for).count()) {
    it->second.score = 0;  // expired but not yet swept: a new episode
  }
  it->second.score = std::max(it->second.score, a.score);
  it->second.last_alert = now;
}

void Metrics::on_reload(bool ok, size_t rules) {
  (ok ? impl_->reload_ok : impl_->reload_failed)->Increment();
  if (ok) impl_->rules_loaded->Set(static_cast<double>(rules));
}

void Metrics::set_rules_loaded(size_t rules) { impl_->rules_loaded->Set(static_cast<double>(rules)); }

void Metrics::set_tail_probe(std::function<TailStatus()> probe) {
  std::lock_guard lk(impl_->mu);
  impl_->tail_probe = std::move(probe);
}

void Metrics::add_delivery_probe(std::string sink, std::string target, std::function<DeliveryStats()> probe) {
  std::lock_guard lk(impl_->mu);
  impl_->probes.push_back({std::move(sink), std::move(target), std::move(probe)});
}

void Metrics::clear_delivery_probes() {
  std::lock_guard lk(impl_->mu);
  impl_->probes.clear();
}

std::string Metrics::scrape() const {
  auto families = impl_->registry->Collect();
  auto more = impl_->Collect();
  families.insert(families.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
  std::ostringstream os;
  prometheus::TextSerializer().Serialize(os, families);
  return os.str();
}

int Metrics::port() const {
  if (!impl_->exposer) return 0;
  auto ports = impl_->exposer->GetListeningPorts();
  return ports.empty() ? 0 : ports.front();
}

std::string Metrics::endpoint_url() const {
  if (!impl_->exposer) return {};
  std::string host = impl_->listen_host;
  return "http://" + host + ":" + std::to_string(port()) + "/metrics";
}

}  // namespace ds

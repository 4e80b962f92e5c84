// `distillscan consume` (Kafka consumer group, src/ingest/kafka_source.hpp)
// and the live runner it shares with `listen` (listen_command.cpp): the same
// live pipeline, checkpoint file, signals and statistics as `tail`, with the
// source's positions in the checkpoint.
//
// Order at every checkpoint (collector thread, pipeline drained): flush
// alerts -> write the checkpoint (positions, cumulative stats, detector state)
// atomically -> commit the Kafka offsets. A crash between any two steps
// replays records (same alert ids) and never skips them.
#include "app/consume_command.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <optional>
#include <thread>

#include "app/config.hpp"
#include "app/live_runner.hpp"
#include "core/json_write.hpp"
#include "detect/state_io.hpp"
#include "ingest/cluster_exchange.hpp"
#include "ingest/kafka_source.hpp"
#include "ingest/replay_gate.hpp"
#include "match/rule_set.hpp"
#include "metrics/observability.hpp"
#include "pipeline/checkpoint.hpp"
#include "pipeline/scan_pipeline.hpp"

namespace ds {

std::string stats_json(const RunStats& s, const std::string& extra);
std::shared_ptr<const RuleSet> load_rules_or_print(const std::vector<std::string>& paths, bool& ok);

namespace {

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

Result<Config> load_config_with_overrides(const TailArgs& args) {
  Config cfg;
  if (!args.config.empty()) {
    auto c = load_config_file(args.config);
    if (!c) return c.error();
    cfg = std::move(*c);
  }
  for (const auto& f : args.fields) {
    auto r = cfg.fields.set_from_arg(f);
    if (!r) return make_error("--field " + f + ": " + r.error().message);
  }
  return cfg;
}

}  // namespace

int run_live_source(const TailArgs& args, const char* mode_name, const LiveMode& mode_in) {
  LiveMode mode = mode_in;
  auto cfgr = load_config_with_overrides(args);
  if (!cfgr) {
    std::fprintf(stderr, "distillscan: %s\n", cfgr.error().message.c_str());
    return 2;
  }
  Config cfg = std::move(*cfgr);
  if (!args.checkpoint_interval.empty()) {
    auto t = parse_duration_seconds(args.checkpoint_interval);
    if (!t || *t < 1) {
      std::fprintf(stderr, "distillscan: --checkpoint-interval '%s': expected a duration of at least 1s, like 10s\n",
                   args.checkpoint_interval.c_str());
      return 2;
    }
    cfg.tail.checkpoint_interval_seconds = *t;
  }
  const std::vector<std::string> rule_paths = args.rules.empty() ? default_rule_paths() : args.rules;
  bool ok = false;
  auto rules = load_rules_or_print(rule_paths, ok);
  if (!ok) return 2;

  // --- state dir: one instance per directory (flock), checkpoint file ---
  std::string ckpt_path;
  int lock_fd = -1;
  std::optional<Checkpoint> ckpt;
  if (!args.state_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(args.state_dir, ec);
    if (ec) {
      std::fprintf(stderr, "distillscan: --state-dir %s: %s\n", args.state_dir.c_str(), ec.message().c_str());
      return 2;
    }
    const std::string lock_path = args.state_dir + "/lock";
    lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock_fd < 0 || ::flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
      std::fprintf(stderr, "distillscan: %s: %s\n", lock_path.c_str(),
                   lock_fd < 0 ? std::strerror(errno) : "another distillscan instance uses this --state-dir");
      return 1;
    }
    ckpt_path = args.state_dir + "/checkpoint";
    auto loaded = load_checkpoint_file(ckpt_path);
    if (!loaded) {
      if (!args.reset_state) {
        std::fprintf(stderr, "distillscan: %s\n", loaded.error().message.c_str());
        return 2;
      }
      std::fprintf(stderr, "distillscan: --reset-state: ignoring %s and starting fresh\n", ckpt_path.c_str());
    } else {
      ckpt = std::move(*loaded);
    }
  }

  auto jsonl = JsonlAlertSink::open(args.alerts, /*append=*/true);
  if (!jsonl) {
    std::fprintf(stderr, "distillscan: %s\n", jsonl.error().message.c_str());
    return 1;
  }
  JsonlAlertSink* primary = jsonl->get();
  ObservabilityOptions oo;
  oo.metrics_listen = args.metrics_listen.empty() ? mode.default_metrics_listen : args.metrics_listen;
  if (oo.metrics_listen == "off" || oo.metrics_listen == "none") oo.metrics_listen.clear();
  oo.alertmanagers = args.alertmanagers;
  oo.webhooks = args.webhooks;
  oo.runbook_url = args.runbook_url;
  oo.resolve_after = std::chrono::seconds(2 * cfg.detector.suppress_seconds);
  if (auto t = parse_duration_seconds(args.delivery_timeout); t && *t >= 0) {
    oo.delivery_timeout = std::chrono::seconds(*t);
  } else {
    std::fprintf(stderr, "distillscan: --delivery-timeout '%s': expected a duration like 10s\n",
                 args.delivery_timeout.c_str());
    return 2;
  }
  for (const auto& r : rules->rules()) oo.rule_ids.push_back(r.id);
  for (const auto& c : rules->categories()) oo.detectors.push_back(c + "_rate");
  auto obs = make_observability(oo, std::move(*jsonl));
  if (!obs) {
    std::fprintf(stderr, "distillscan: %s\n", obs.error().message.c_str());
    return obs.error().message.find("cannot listen") != std::string::npos ? 1 : 2;
  }
  obs->metrics->set_rules_loaded(rules->rules().size());

  PipelineOptions opt;
  opt.threads = args.threads > 0 ? static_cast<unsigned>(args.threads)
                                 : std::max(1u, std::thread::hardware_concurrency());
  const Config original = cfg;
  if (mode.adjust_config) mode.adjust_config(cfg);
  opt.framer = cfg.framer;
  opt.parse = cfg.parse;
  opt.mapping = cfg.fields;
  opt.detector = cfg.detector;
  opt.rules = rules;
  opt.metrics = obs->metrics.get();
  ScanPipeline pipeline(opt);

  auto src = mode.make_source(original, rules->categories());
  if (!src) {
    std::fprintf(stderr, "distillscan: %s\n", src.error().message.c_str());
    return src.error().message.find("cannot listen") != std::string::npos ? 1 : mode.source_error_status;
  }
  LiveSource& source = **src;

  LiveHooks hooks;
  if (ckpt) {
    if (auto r = source.restore(ckpt->files); !r) {
      std::fprintf(stderr, "distillscan: %s: %s (use another --state-dir, or --reset-state)\n", ckpt_path.c_str(),
                   r.error().message.c_str());
      if (!args.reset_state) return 2;
      ckpt.reset();
    }
  }
  if (ckpt) {
    if (!ckpt->detector_state.empty()) {
      auto r = load_detector_state(ckpt->detector_state, pipeline.shards(), pipeline.cluster());
      if (!r) {
        if (!args.reset_state) {
          std::fprintf(stderr,
                       "distillscan: %s: detector state: %s; refusing to resume from it (move it away, or pass "
                       "--reset-state to start fresh)\n",
                       ckpt_path.c_str(), r.error().message.c_str());
          return 2;
        }
        std::fprintf(stderr, "distillscan: --reset-state: %s: detector state: %s; starting fresh\n",
                     ckpt_path.c_str(), r.error().message.c_str());
        ckpt.reset();
        (void)source.restore({});
      }
    }
    if (ckpt) hooks.initial = ckpt->stats;
  }
  AlertSink& sink = source.wrap_sink(*obs->sinks);

  std::atomic<uint64_t> ck_written{0}, ck_failed{0};
  std::atomic<double> ck_last{0};
  obs->metrics->set_tail_probe([&] {
    TailStatus t;
    t.queue_depth = pipeline.in_flight();
    int64_t newest = pipeline.newest_event_ms();
    t.newest_event_unix = newest == INT64_MIN ? 0 : static_cast<double>(newest) / 1000.0;
    t.checkpoints = ck_written.load();
    t.checkpoint_failures = ck_failed.load();
    t.checkpoint_last_success_unix = ck_last.load();
    source.probe(t);
    return t;
  });

  bool final_ok = true;
  // Ids of written alerts are shared (cluster exchange) only once the alerts
  // are on disk: an id out while a host crash could still take its alert
  // would stop every instance from writing it again after the crash.
  // Every mode retries alerts held by a failed write (a full disk) after each
  // batch and tick; only consume's exchange asks for the fdatasync.
  const std::function<AlertsOut()> alerts_out = [primary] { return primary->durable_state(); };
  hooks.on_alerts_written = [&source, &alerts_out, primary] {
    (void)primary->flush();
    source.after_alerts(alerts_out);
  };
  hooks.on_batch = [&source](const EventBatch& b) { source.on_batch(b); };
  // Alerts a source writes itself (the cross-instance cluster stage): to every
  // sink, counted in the metrics like the pipeline's own.
  class CountingSink final : public AlertSink {
   public:
    CountingSink(AlertSink& inner, Metrics* m) : inner_(inner), m_(m) {}
    void write(const Alert& a) override {
      inner_.write(a);
      if (m_) m_->on_alert(a);
    }
    Result<void> flush() override { return inner_.flush(); }

   private:
    AlertSink& inner_;
    Metrics* m_;
  };
  CountingSink unfiltered(*obs->sinks, obs->metrics.get());
  hooks.on_tick = [&source, &unfiltered, &alerts_out, primary](const Progress&) {
    source.on_tick(unfiltered, alerts_out);
    (void)primary->flush();
    source.after_alerts(alerts_out);
  };
  hooks.on_checkpoint = [&](const LiveSnapshot& snap) {
    // A checkpoint (and the Kafka offsets) would count records whose alerts
    // may be lost: keep the previous one.
    const bool alerts_ok = primary->sync_for_checkpoint();
    bool ok_now = alerts_ok;
    bool written = ckpt_path.empty() && alerts_ok;
    if (!ckpt_path.empty() && !alerts_ok) {
      ck_failed.fetch_add(1);
    } else if (!ckpt_path.empty()) {
      Checkpoint c;
      c.files = source.checkpoint();
      c.stats = snap.stats;
      save_detector_state(snap.shards, snap.cluster, c.detector_state);
      auto w = write_file_atomic(ckpt_path, encode_checkpoint(c));
      if (w) {
        written = true;
        ck_written.fetch_add(1);
        ck_last.store(unix_now());
      } else {
        ok_now = false;
        if (ck_failed.fetch_add(1) % 100 == 0)
          std::fprintf(stderr, "distillscan: checkpoint: %s\n", w.error().message.c_str());
      }
    }
    source.after_checkpoint(written);  // Kafka: commit offsets now that the state is durable
    if (!args.stats.empty()) {
      RunStats s = snap.stats;
      struct rusage ru {};
      if (getrusage(RUSAGE_SELF, &ru) == 0) s.peak_rss_bytes = static_cast<uint64_t>(ru.ru_maxrss) * 1024;
      std::string extra = ",\"" + std::string(mode_name) + "\":{";
      extra += source.stats_json();
      extra += ",\"queue_depth\":";
      json_uint_append(extra, pipeline.in_flight());
      extra += ",\"checkpoints\":";
      json_uint_append(extra, ck_written.load());
      extra += ",\"checkpoint_failures\":";
      json_uint_append(extra, ck_failed.load());
      extra += '}';
      if (auto w = write_file_atomic(args.stats, stats_json(s, extra)); !w) {
        std::fprintf(stderr, "distillscan: %s: cannot write stats: %s\n", args.stats.c_str(),
                     w.error().message.c_str());
        ok_now = false;
      }
    }
    if (snap.final) final_ok = ok_now;
  };

  // --- control plane: signals, checkpoint timer, rule reloads ---
  boost::asio::io_context io;
  boost::asio::signal_set signals(io, SIGINT, SIGTERM, SIGHUP);
  boost::asio::steady_timer timer(io);
  std::thread reload_thread;
  std::atomic<bool> reloading{false};
  Metrics* metrics = obs->metrics.get();
  auto do_reload = [&] {
    std::vector<RuleDiagnostic> diags;
    auto nr = RuleSet::load(rule_paths, &diags);
    for (const auto& d : diags) std::fprintf(stderr, "distillscan: reload: %s\n", d.format().c_str());
    if (!nr || (*nr)->categories() != rules->categories()) {
      if (nr) std::fprintf(stderr, "distillscan: reload: the rule categories changed; this needs a restart\n");
      else if (diags.empty()) std::fprintf(stderr, "distillscan: reload: %s\n", nr.error().message.c_str());
      std::fprintf(stderr, "distillscan: reload failed; keeping the running rules\n");
      metrics->on_reload(false, rules->rules().size());
    } else {
      pipeline.swap_rules(*nr);
      metrics->on_reload(true, (*nr)->rules().size());
      std::fprintf(stderr, "distillscan: reload: %zu rules now active\n", (*nr)->rules().size());
    }
    reloading.store(false);
  };
  std::function<void(const boost::system::error_code&, int)> on_signal = [&](const boost::system::error_code& ec,
                                                                              int sig) {
    if (ec) return;
    if (sig == SIGHUP) {
      if (!reloading.exchange(true)) {
        if (reload_thread.joinable()) reload_thread.join();
        reload_thread = std::thread(do_reload);
      }
      signals.async_wait(on_signal);
      return;
    }
    std::fprintf(stderr, "distillscan: %s: draining, checkpointing and stopping\n",
                 sig == SIGTERM ? "SIGTERM" : "SIGINT");
    source.stop(pipeline);
  };
  signals.async_wait(on_signal);
  const auto interval = std::chrono::seconds(cfg.tail.checkpoint_interval_seconds);
  std::function<void(const boost::system::error_code&)> on_timer = [&](const boost::system::error_code& ec) {
    if (ec) return;
    pipeline.request_checkpoint();
    timer.expires_after(interval);
    timer.async_wait(on_timer);
  };
  timer.expires_after(interval);
  timer.async_wait(on_timer);
  std::thread control([&] { io.run(); });

  RunStats stats = pipeline.run_live(source.producer(), sink, hooks);

  io.stop();
  control.join();
  if (reload_thread.joinable()) reload_thread.join();
  source.finish();
  int rc = final_ok ? 0 : 1;
  if (auto f = obs->sinks->flush(); !f) {
    std::fprintf(stderr, "distillscan: %s\n", f.error().message.c_str());
    rc = 1;
  }
  std::fprintf(stderr, "distillscan: %s stopped: %llu lines, %llu records, %llu alerts (cumulative)\n", mode_name,
               static_cast<unsigned long long>(stats.lines), static_cast<unsigned long long>(stats.records),
               static_cast<unsigned long long>(stats.alerts));
  obs->metrics->set_tail_probe({});
  if (lock_fd >= 0) ::close(lock_fd);
  return rc;
}

namespace {

// Checkpoint positions of a Kafka consumer: FilePosition{path = "kafka:TOPIC/PARTITION", offset}.
class KafkaLive final : public LiveSource {
 public:
  KafkaLive(std::unique_ptr<KafkaSource> src, std::string topic)
      : src_(std::move(src)), topic_(std::move(topic)), prefix_("kafka:" + topic_ + "/") {}
  ReplayLedger& ledger() { return ledger_; }
  HandoverLedger* handover() { return exchange_ ? &handover_ : nullptr; }
  void set_exchange(std::unique_ptr<ClusterExchange> x) { exchange_ = std::move(x); }
  void on_batch(const EventBatch& b) override {
    if (!exchange_) return;
    take_handovers(b.seq);  // every chunk before this one is collected
    exchange_->publish(b, !ledger_.replayed(b.seq));
    next_seq_ = b.seq + 1;
  }
  void probe(TailStatus& t) override {
    t.kafka = true;
    for (const auto& s : src_->status())
      if (s.assigned) t.kafka_partition_lag.emplace_back(s.partition, s.lag());
    auto c = src_->counters();
    t.kafka_rebalances = c.rebalances;
    t.kafka_partitions_rebuilt = c.partitions_rebuilt;
    t.kafka_replayed_messages = c.replayed_messages;
    t.kafka_commit_failures = c.commit_failures;
    t.kafka_handover_keys_dropped = c.handover_keys_dropped;
    t.kafka_handover_keys = c.handover_keys;
    if (exchange_) {
      const auto x = exchange_->snapshot();
      t.cluster_exchange = true;
      t.xc_records_published = x.records_published;
      t.xc_records_received = x.records_received;
      t.xc_records_repeated = x.records_repeated;
      t.xc_record_ids = x.record_ids_now;
      t.xc_record_ids_evicted = x.record_ids_evicted;
      t.xc_alerts_held = x.alerts_held_now;
      t.xc_alerts_held_evicted = x.alerts_held_evicted;
      t.xc_alerts_claimed = x.alerts_claimed;
      t.xc_local_accounts = x.local_accounts;
      t.xc_local_cleared = x.local_cleared;
      t.xc_alert_ids = x.alert_ids_now;
      t.xc_alert_ids_evicted = x.alert_ids_evicted;
      t.xc_duplicates_suppressed = x.duplicates_suppressed;
    }
  }
  void on_tick(AlertSink& sink, const std::function<AlertsOut()>& alerts_out) override {
    if (!exchange_) return;
    take_handovers(next_seq_);
    exchange_->poll(sink, alerts_out);
  }
  void set(std::unique_ptr<KafkaSource> s) { src_ = std::move(s); }
  ChunkProducer& producer() override { return *src_; }
  Result<void> restore(const std::vector<FilePosition>& files) override {
    std::vector<std::pair<int32_t, int64_t>> pos;
    for (const auto& f : files) {
      if (f.path.compare(0, prefix_.size(), prefix_) != 0)
        return make_error("the checkpoint belongs to another input ('" + f.path + "'), not Kafka topic " + topic_);
      char* end = nullptr;
      long p = std::strtol(f.path.c_str() + prefix_.size(), &end, 10);
      if (!end || *end || p < 0 || p > INT32_MAX) return make_error("bad Kafka position '" + f.path + "'");
      pos.emplace_back(static_cast<int32_t>(p), static_cast<int64_t>(f.offset));
    }
    src_->restore(pos);
    return {};
  }
  std::vector<FilePosition> checkpoint() override {
    std::vector<FilePosition> v;
    for (const auto& [p, off] : src_->positions()) {
      FilePosition f;
      f.path = prefix_ + std::to_string(p);
      f.offset = static_cast<uint64_t>(off);
      v.push_back(std::move(f));
    }
    ledger_.collected_before(src_->chunks_produced());  // drained: every replay chunk is collected
    return v;
  }
  void after_checkpoint(bool written) override {
    if (!written) return;  // never commit past state that is not on disk
    if (exchange_) {  // the fingerprints of the committed records must be published first
      if (auto r = exchange_->flush(); !r) {
        std::fprintf(stderr, "distillscan: %s; offsets not committed\n", r.error().message.c_str());
        return;
      }
    }
    if (auto r = src_->commit(); !r) {
      if (++commit_errors_ % 20 == 1) std::fprintf(stderr, "distillscan: %s (retried at the next checkpoint)\n",
                                                  r.error().message.c_str());
    }
  }
  // Replayed records' alerts are dropped; then alerts whose id any instance
  // already wrote (the fingerprint topic carries written ids).
  AlertSink& wrap_sink(AlertSink& inner) override {
    once_ = std::make_unique<OnceSink>(inner, exchange_);
    filter_ = std::make_unique<ReplayFilterSink>(*once_, ledger_);
    return *filter_;
  }
  void after_alerts(const std::function<AlertsOut()>& alerts_out) override {
    if (exchange_ && exchange_->ids_waiting()) exchange_->flush_ids(alerts_out());
  }
  void stop(ScanPipeline& p) override { p.request_stop(); }
  void finish() override { src_->close(); }
  std::string stats_json() override {
    std::string o = "\"topic\":";
    json_escape_append(o, topic_);
    o += ",\"partitions\":[";
    uint64_t lag = 0;
    bool first = true;
    for (const auto& s : src_->status()) {
      if (!first) o += ',';
      first = false;
      o += "{\"partition\":" + std::to_string(s.partition) + ",\"assigned\":" + (s.assigned ? "true" : "false") +
           ",\"position\":" + std::to_string(s.position) + ",\"high\":" + std::to_string(s.high) +
           ",\"lag\":" + std::to_string(s.lag()) + ",\"replaying\":" + (s.replay_end >= 0 ? "true" : "false") + "}";
      if (s.assigned) lag += static_cast<uint64_t>(s.lag());
    }
    auto c = src_->counters();
    o += "],\"lag\":" + std::to_string(lag);
    o += ",\"messages\":" + std::to_string(c.messages);
    o += ",\"replayed_messages\":" + std::to_string(c.replayed_messages);
    o += ",\"replay_alerts_suppressed\":" + std::to_string(filter_ ? filter_->suppressed() : 0);
    o += ",\"rebalances\":" + std::to_string(c.rebalances);
    o += ",\"partitions_rebuilt\":" + std::to_string(c.partitions_rebuilt);
    o += ",\"handover_keys_dropped\":" + std::to_string(c.handover_keys_dropped);
    o += ",\"handover_keys\":" + std::to_string(c.handover_keys);
    o += ",\"oversized_messages\":" + std::to_string(c.oversized_messages);
    o += ",\"consumer_errors\":" + std::to_string(c.consumer_errors);
    o += ",\"commits\":" + std::to_string(c.commits);
    o += ",\"commit_failures\":" + std::to_string(c.commit_failures);
    if (exchange_) {
      auto x = exchange_->counters();
      o += ",\"cluster_exchange\":{\"records_published\":" + std::to_string(x.records_published);
      o += ",\"records_received\":" + std::to_string(x.records_received);
      o += ",\"messages_refused\":" + std::to_string(x.messages_refused);
      o += ",\"fingerprints\":" + std::to_string(x.fingerprints);
      o += ",\"records_repeated\":" + std::to_string(x.records_repeated);
      o += ",\"record_ids_now\":" + std::to_string(x.record_ids_now);
      o += ",\"record_ids_evicted\":" + std::to_string(x.record_ids_evicted);
      o += ",\"alerts_written\":" + std::to_string(x.alerts_written);
      o += ",\"alerts_not_ours\":" + std::to_string(x.alerts_not_ours);
      o += ",\"alerts_suppressed_catchup\":" + std::to_string(x.alerts_suppressed_catchup);
      o += ",\"alerts_held\":" + std::to_string(x.alerts_held);
      o += ",\"alerts_claimed\":" + std::to_string(x.alerts_claimed);
      o += ",\"alerts_held_evicted\":" + std::to_string(x.alerts_held_evicted);
      o += ",\"alerts_held_now\":" + std::to_string(x.alerts_held_now);
      o += ",\"alert_ids_published\":" + std::to_string(x.alert_ids_published);
      o += ",\"alert_ids_received\":" + std::to_string(x.alert_ids_received);
      o += ",\"duplicates_suppressed\":" + std::to_string(x.duplicates_suppressed);
      o += ",\"alert_ids_evicted\":" + std::to_string(x.alert_ids_evicted);
      o += ",\"alert_ids_now\":" + std::to_string(x.alert_ids_now);
      o += ",\"alerts_deferred\":" + std::to_string(x.alerts_deferred);
      o += ",\"alerts_due_waiting\":" + std::to_string(x.alerts_due_waiting);
      o += ",\"watermark_errors\":" + std::to_string(x.watermark_errors);
      o += ",\"accounts_disowned\":" + std::to_string(x.accounts_disowned);
      o += ",\"evaluations\":" + std::to_string(x.evaluations);
      o += ",\"idle_evaluations\":" + std::to_string(x.idle_evaluations);
      o += ",\"clusters_flagged\":" + std::to_string(x.clusters_flagged);
      o += ",\"local_accounts\":" + std::to_string(x.local_accounts);
      o += ",\"local_cleared\":" + std::to_string(x.local_cleared);
      o += ",\"produce_errors\":" + std::to_string(x.produce_errors) + "}";
    }
    return o;
  }

 private:
  std::unique_ptr<KafkaSource> src_;
  std::string topic_, prefix_;
  ReplayLedger ledger_;
  HandoverLedger handover_;
  std::vector<uint64_t> lost_;
  uint64_t next_seq_ = 0;  // chunks before this one are collected
  void take_handovers(uint64_t next_seq) {
    lost_.clear();
    if (handover_.take(next_seq, lost_)) exchange_->disown(lost_);
  }
  std::unique_ptr<ReplayFilterSink> filter_;
  std::unique_ptr<ClusterExchange> exchange_;
  class OnceSink final : public AlertSink {
   public:
    OnceSink(AlertSink& inner, const std::unique_ptr<ClusterExchange>& x) : inner_(inner), x_(x) {}
    void write(const Alert& a) override {
      if (x_ && x_->already_written(a)) return;
      inner_.write(a);
      if (x_) x_->note_written(a);
    }
    Result<void> flush() override { return inner_.flush(); }

   private:
    AlertSink& inner_;
    const std::unique_ptr<ClusterExchange>& x_;
  };
  std::unique_ptr<OnceSink> once_;
  uint64_t commit_errors_ = 0;
};

}  // namespace

int run_consume(const ConsumeArgs& args) {
  KafkaOptions ko;
  ko.brokers = args.brokers;
  ko.topic = args.topic;
  ko.group = args.group;
  for (const auto& kv : args.kafka_props) {
    auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::fprintf(stderr, "distillscan: -X '%s': expected KEY=VALUE (a librdkafka setting)\n", kv.c_str());
      return 2;
    }
    ko.properties.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
    const auto& [k, v] = ko.properties.back();
    if ((k == "partition.assignment.strategy" && v.find("cooperative") != std::string::npos) ||
        (k == "enable.auto.commit" && v != "false")) {
      std::fprintf(stderr, "distillscan: -X %s: not supported (%s)\n", kv.c_str(),
                   k == "enable.auto.commit" ? "offsets are committed after checkpoints"
                                             : "eager assignors only: range, roundrobin");
      return 2;
    }
  }
  if (args.rebuild == "all") {
    ko.rebuild_ms = -1;
  } else {
    auto rb = parse_duration_seconds(args.rebuild);
    if (!rb || *rb < 0) {
      std::fprintf(stderr, "distillscan: --rebuild '%s': expected a duration like 1d, or all\n", args.rebuild.c_str());
      return 2;
    }
    ko.rebuild_ms = *rb * 1000;
  }
  if (!valid_broker_list(ko.brokers)) {
    std::fprintf(stderr, "distillscan: --brokers '%s': expected HOST:PORT[,HOST:PORT...]\n", ko.brokers.c_str());
    return 2;
  }
  std::string cluster_topic = args.cluster_topic.empty() ? ko.topic + ".clusters" : args.cluster_topic;
  const bool exchange = cluster_topic != "off";
  LiveMode mode;
  mode.default_metrics_listen = "127.0.0.1:9741";
  mode.source_error_status = 1;  // options are validated above: what fails now is Kafka (unreachable, no topic)
  // With the exchange, cross-account detection runs on the global stage fed by
  // every instance; the pipeline's own (partition-local) stage is off.
  if (exchange) mode.adjust_config = [](Config& c) { c.detector.cluster.enabled = false; };
  mode.make_source = [ko, cluster_topic, exchange](const Config& cfg, const std::vector<std::string>& categories) mutable
      -> Result<std::unique_ptr<LiveSource>> {
    ko.chunk_bytes = cfg.framer.chunk_bytes;
    ko.max_line_bytes = cfg.framer.max_line_bytes;
    // As the exchange's account set, but at most 2^22 keys (~170 MB): the
    // config accepts max_accounts up to 1e9, and these keys outlive evictions.
    ko.max_handover_keys = std::clamp<uint64_t>(cfg.detector.max_accounts, 1024, uint64_t{1} << 22);
    auto live = std::make_unique<KafkaLive>(nullptr, ko.topic);
    if (exchange && cfg.detector.cluster.enabled) {
      ClusterExchangeOptions xo;
      xo.brokers = ko.brokers;
      xo.topic = cluster_topic;
      xo.reader_group = ko.group + ".cluster-exchange";
      xo.properties = ko.properties;
      xo.rebuild_ms = ko.rebuild_ms;
      xo.max_local_accounts = std::max<uint64_t>(1024, cfg.detector.max_accounts);
      auto x = ClusterExchange::create(xo, cfg.detector, categories);
      if (!x) return x.error();
      live->set_exchange(std::move(*x));
    }
    auto src = KafkaSource::create(ko, &live->ledger(), live->handover());
    if (!src) return src.error();
    live->set(std::move(*src));
    return std::unique_ptr<LiveSource>(std::move(live));
  };
  return run_live_source(args, "kafka", mode);
}

}  // namespace ds

// `distillscan tail`: follow files through rotation (source/file_follower),
// run them through the live pipeline, checkpoint to --state-dir, reload on
// SIGHUP. Control plane: a Boost.Asio io_context on its own thread (signals,
// checkpoint timer); rule reloads compile on a separate thread.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <optional>
#include <thread>

#include "app/config.hpp"
#include "app/scan_command.hpp"
#include "core/json_write.hpp"
#include "detect/state_io.hpp"
#include "match/rule_set.hpp"
#include "metrics/observability.hpp"
#include "pipeline/checkpoint.hpp"
#include "pipeline/scan_pipeline.hpp"
#include "source/file_follower.hpp"

namespace ds {

std::string stats_json(const RunStats& s, const std::string& extra);
std::shared_ptr<const RuleSet> load_rules_or_print(const std::vector<std::string>& paths, bool& ok);

namespace {

constexpr const char* kDefaultMetricsListen = "127.0.0.1:9741";  // deploy/prometheus/prometheus.yml

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

struct CheckpointCounters {
  std::atomic<uint64_t> written{0};
  std::atomic<uint64_t> failed{0};
  std::atomic<double> last_success_unix{0};
};

std::string tail_stats_extra(const std::vector<FileLag>& lag, const FollowerCounters& fc, uint32_t queue_depth,
                             uint32_t ring, int64_t newest_ms, const CheckpointCounters& cc) {
  std::string o = ",\"tail\":{\"files\":[";
  uint64_t total = 0;
  for (size_t i = 0; i < lag.size(); ++i) {
    if (i) o += ',';
    o += "{\"path\":";
    json_escape_append(o, lag[i].path);
    o += ",\"lag_bytes\":";
    json_uint_append(o, lag[i].lag_bytes);
    o += '}';
    total += lag[i].lag_bytes;
  }
  o += "],\"lag_bytes\":";
  json_uint_append(o, total);
  o += ",\"event_lag_seconds\":";
  if (newest_ms == INT64_MIN)
    o += "null";
  else
    json_number_append(o, std::max(0.0, unix_now() - static_cast<double>(newest_ms) / 1000.0));
  o += ",\"queue_depth\":";
  json_uint_append(o, queue_depth);
  o += ",\"queue_capacity\":";
  json_uint_append(o, ring);
  o += ",\"files_opened\":";
  json_uint_append(o, fc.files_opened);
  o += ",\"rotations\":";
  json_uint_append(o, fc.rotations);
  o += ",\"truncations\":";
  json_uint_append(o, fc.truncations);
  o += ",\"recovered_copies\":";
  json_uint_append(o, fc.recovered_copies);
  o += ",\"files_forgotten\":";
  json_uint_append(o, fc.files_forgotten);
  o += ",\"files_refused\":";
  json_uint_append(o, fc.files_refused);
  o += ",\"checkpoints\":";
  json_uint_append(o, cc.written.load());
  o += ",\"checkpoint_failures\":";
  json_uint_append(o, cc.failed.load());
  o += '}';
  return o;
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

int run_tail(const TailArgs& args) {
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
  if (args.inputs.empty()) {
    std::fprintf(stderr, "distillscan: tail: give at least one PATH or GLOB to follow\n");
    return 2;
  }
  for (const auto& p : args.inputs)
    if (p == "-") {
      std::fprintf(stderr, "distillscan: tail follows files; for stdin use `scan -`\n");
      return 2;
    }
  const std::vector<std::string> rule_paths = args.rules.empty() ? default_rule_paths() : args.rules;
  bool ok = false;
  auto rules = load_rules_or_print(rule_paths, ok);
  if (!ok) return 2;

  // --- state dir: one tailer per directory (flock), checkpoint file ---
  std::string ckpt_path;
  int lock_fd = -1;
  std::optional<Checkpoint> ckpt;
  if (!args.state_dir.empty()) {
    std::error_code ec;
    // Owner only: checkpoints hold account ids and positions in private logs.
    if (std::filesystem::create_directories(args.state_dir, ec) && !ec)
      std::filesystem::permissions(args.state_dir, std::filesystem::perms::owner_all,
                                   std::filesystem::perm_options::replace, ec);
    if (ec) {
      std::fprintf(stderr, "distillscan: --state-dir %s: %s\n", args.state_dir.c_str(), ec.message().c_str());
      return 2;
    }
    const std::string lock_path = args.state_dir + "/lock";
    lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock_fd < 0 || ::flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
      std::fprintf(stderr, "distillscan: %s: %s\n", lock_path.c_str(),
                   lock_fd < 0 ? std::strerror(errno) : "another distillscan tail uses this --state-dir");
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

  auto jsonl = JsonlAlertSink::open(args.alerts, /*append=*/true);  // long-running: never rewrite alerts
  if (!jsonl) {
    std::fprintf(stderr, "distillscan: %s\n", jsonl.error().message.c_str());
    return 1;
  }
  JsonlAlertSink* primary = jsonl->get();

  ObservabilityOptions oo;
  oo.metrics_listen = args.metrics_listen.empty() ? kDefaultMetricsListen : args.metrics_listen;
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
  opt.framer = cfg.framer;
  opt.parse = cfg.parse;
  opt.mapping = cfg.fields;
  opt.detector = cfg.detector;
  opt.rules = rules;
  opt.metrics = obs->metrics.get();
  ScanPipeline pipeline(opt);

  LiveHooks hooks;
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
      }
    }
    if (ckpt) hooks.initial = ckpt->stats;
  }

  FollowerOptions fo;
  fo.patterns = args.inputs;
  fo.chunk_bytes = cfg.framer.chunk_bytes;
  fo.max_line_bytes = cfg.framer.max_line_bytes;
  fo.poll_interval = std::chrono::milliseconds(cfg.tail.poll_interval_ms);
  fo.rotate_wait = std::chrono::seconds(cfg.tail.rotate_wait_seconds);
  fo.max_files = cfg.tail.max_files;
  if (const char* e = std::getenv("DISTILLSCAN_NO_INOTIFY"); e && *e == '1') fo.use_inotify = false;  // tests
  FileFollower follower(fo);
  if (ckpt) follower.restore(ckpt->files);

  CheckpointCounters cc;
  obs->metrics->set_tail_probe([&] {
    TailStatus t;
    for (auto& f : follower.lag()) t.files.push_back({std::move(f.path), f.lag_bytes});
    auto fc = follower.counters();
    t.files_tracked = follower.tracked();
    t.files_forgotten = fc.files_forgotten;
    t.files_refused = fc.files_refused;
    t.rotations = fc.rotations;
    t.truncations = fc.truncations;
    t.queue_depth = pipeline.in_flight();
    int64_t newest = pipeline.newest_event_ms();
    t.newest_event_unix = newest == INT64_MIN ? 0 : static_cast<double>(newest) / 1000.0;
    t.checkpoints = cc.written.load();
    t.checkpoint_failures = cc.failed.load();
    t.checkpoint_last_success_unix = cc.last_success_unix.load();
    return t;
  });

  // Collector thread, pipeline drained: alerts first (so no alert of a line the
  // checkpoint counts as processed can be lost), then the checkpoint, then stats.
  bool final_ok = true;
  hooks.on_alerts_written = [primary] { (void)primary->flush(); };
  hooks.on_checkpoint = [&](const LiveSnapshot& snap) {
    // A checkpoint would count lines whose alerts may be lost: keep the previous one.
    const bool alerts_ok = primary->sync_for_checkpoint();
    bool ok_now = alerts_ok;
    if (!ckpt_path.empty() && !alerts_ok) {
      cc.failed.fetch_add(1);
    } else if (!ckpt_path.empty()) {
      Checkpoint c;
      c.files = follower.checkpoint();
      c.stats = snap.stats;
      save_detector_state(snap.shards, snap.cluster, c.detector_state);
      auto w = write_file_atomic(ckpt_path, encode_checkpoint(c));
      if (w) {
        cc.written.fetch_add(1);
        cc.last_success_unix.store(unix_now());
      } else {
        ok_now = false;
        if (cc.failed.fetch_add(1) % 100 == 0)
          std::fprintf(stderr, "distillscan: checkpoint: %s\n", w.error().message.c_str());
      }
    }
    if (!args.stats.empty()) {
      RunStats s = snap.stats;
      struct rusage ru {};
      if (getrusage(RUSAGE_SELF, &ru) == 0) s.peak_rss_bytes = static_cast<uint64_t>(ru.ru_maxrss) * 1024;
      auto extra = tail_stats_extra(follower.lag(), follower.counters(), pipeline.in_flight(),
                                    pipeline.ring_capacity(), pipeline.newest_event_ms(), cc);
      if (auto w = write_file_atomic(args.stats, stats_json(s, extra)); !w) {
        std::fprintf(stderr, "distillscan: %s: cannot write stats: %s\n", args.stats.c_str(),
                     w.error().message.c_str());
        ok_now = false;
      }
    }
    if (snap.final) final_ok = ok_now;
  };

  // --- control plane: signals, checkpoint timer, reloads ---
  boost::asio::io_context io;
  boost::asio::signal_set signals(io, SIGINT, SIGTERM, SIGHUP);
  boost::asio::steady_timer timer(io);
  std::atomic<bool> reloading{false};
  std::thread reload_thread;
  std::mutex reload_mu;
  auto current_rules = rules;  // guarded by reload_mu
  Metrics* metrics = obs->metrics.get();

  auto do_reload = [&] {
    // Off the hot path: the compile runs here while the workers keep scanning
    // with the old set; they switch at their next chunk boundary.
    std::fprintf(stderr, "distillscan: SIGHUP: reloading rules%s\n", args.config.empty() ? "" : " and config");
    std::shared_ptr<const RuleSet> old;
    {
      std::lock_guard lk(reload_mu);
      old = current_rules;
    }
    bool good = true;
    std::optional<Config> newcfg;
    if (!args.config.empty()) {
      auto c = load_config_with_overrides(args);
      if (!c) {
        std::fprintf(stderr, "distillscan: reload: %s\n", c.error().message.c_str());
        good = false;
      } else {
        newcfg = std::move(*c);
      }
    }
    std::vector<RuleDiagnostic> diags;
    auto nr = RuleSet::load(rule_paths, &diags);
    for (const auto& d : diags) std::fprintf(stderr, "distillscan: reload: %s\n", d.format().c_str());
    if (!nr) {
      if (diags.empty()) std::fprintf(stderr, "distillscan: reload: %s\n", nr.error().message.c_str());
      good = false;
    } else if ((*nr)->categories() != old->categories()) {
      std::fprintf(stderr,
                   "distillscan: reload: the rule categories changed; detector state depends on them, so this "
                   "needs a restart (with a fresh --state-dir)\n");
      good = false;
    }
    if (good && newcfg &&
        detector_config_hash(newcfg->detector, old->categories()) !=
            detector_config_hash(cfg.detector, old->categories()))
      std::fprintf(stderr, "distillscan: reload: detector settings changed; they take effect at the next restart\n");
    if (!good) {
      std::fprintf(stderr, "distillscan: reload failed; keeping the running rules (%zu rules)\n",
                   old->rules().size());
      metrics->on_reload(false, old->rules().size());
    } else {
      if (newcfg) pipeline.swap_parse(newcfg->fields, newcfg->parse);
      pipeline.swap_rules(*nr);
      {
        std::lock_guard lk(reload_mu);
        current_rules = *nr;
      }
      metrics->on_reload(true, (*nr)->rules().size());
      std::fprintf(stderr, "distillscan: reload: %zu rules in %zu categories now active\n", (*nr)->rules().size(),
                   (*nr)->categories().size());
    }
    reloading.store(false);
  };

  std::function<void(const boost::system::error_code&, int)> on_signal = [&](const boost::system::error_code& ec,
                                                                              int sig) {
    if (ec) return;
    if (sig == SIGHUP) {
      if (reloading.exchange(true)) {
        std::fprintf(stderr, "distillscan: SIGHUP: a reload is already running\n");
      } else {
        if (reload_thread.joinable()) reload_thread.join();
        reload_thread = std::thread(do_reload);
      }
    } else {
      std::fprintf(stderr, "distillscan: %s: checkpointing and stopping\n", sig == SIGTERM ? "SIGTERM" : "SIGINT");
      pipeline.request_stop();
      return;  // no more signals handled; a second one is ignored by the set until exit
    }
    signals.async_wait(on_signal);
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

  RunStats stats = pipeline.run_live(follower, *obs->sinks, hooks);

  io.stop();
  control.join();
  if (reload_thread.joinable()) reload_thread.join();

  int rc = final_ok ? 0 : 1;
  if (auto f = obs->sinks->flush(); !f) {
    std::fprintf(stderr, "distillscan: %s\n", f.error().message.c_str());
    rc = 1;
  }
  std::fprintf(stderr, "distillscan: tail stopped: %llu lines, %llu records, %llu alerts (cumulative)\n",
               static_cast<unsigned long long>(stats.lines), static_cast<unsigned long long>(stats.records),
               static_cast<unsigned long long>(stats.alerts));
  obs->metrics->set_tail_probe({});
  if (lock_fd >= 0) ::close(lock_fd);
  return rc;
}

}  // namespace ds

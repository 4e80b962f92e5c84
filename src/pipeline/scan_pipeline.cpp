#include "pipeline/scan_pipeline.hpp"

#include <pthread.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "core/fast_mod.hpp"
#include "match/rule_set.hpp"
#include "metrics/metrics.hpp"
#include "source/mapped_file.hpp"

namespace ds {
namespace {

enum SlotState : int { kFree = 0, kFilled = 1, kParsed = 2, kDetected = 3 };

struct Slot {
  Chunk chunk;
  EventBatch batch;
  std::vector<std::vector<Alert>> alerts;  // one vector per shard thread
  int state = kFree;
  uint64_t seq = 0;
  unsigned shards_pending = 0;
  // metrics (src/metrics): when the chunk was read; each shard thread's account counts after it
  std::chrono::steady_clock::time_point read_at{};
  std::vector<BatchContext> shard_stats;
};

// Names the calling thread (at most 15 bytes), so `top -H`, `ps -L` and
// `perf report --sort comm` tell the pipeline's stages apart.
void name_thread(const char* name) { pthread_setname_np(pthread_self(), name); }

// CPU time of the calling thread so far.
uint64_t thread_cpu_ns() {
  timespec ts{};
  if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0) return 0;
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}

// A batch's alerts reach the sink together: a file sink makes them visible
// with one write(2) at end_batch() instead of one per alert.
void write_batch(AlertSink& sink, const std::vector<Alert>& alerts) {
  if (alerts.empty()) return;
  sink.begin_batch();
  for (const auto& a : alerts) sink.write(a);
  sink.end_batch();
}

}  // namespace

struct ScanPipeline::Impl {
  PipelineOptions opt;
  unsigned shard_threads = 1;
  std::vector<std::unique_ptr<AccountDetector>> shards;
  std::vector<uint32_t> shard_owner;  // shard -> the shard thread that runs it (shard % shard_threads)
  std::unique_ptr<ClusterStage> cluster;  // cross-account stage (collector thread only)
  std::vector<Slot> ring;

  // Thread CPU per stage (RunStats::cpu), added by each thread as it ends.
  enum Stage : unsigned { kReaderCpu, kWorkersCpu, kShardsCpu, kStages };
  std::array<std::atomic<uint64_t>, kStages> cpu_ns{};
  void add_cpu(Stage st) { cpu_ns[st].fetch_add(thread_cpu_ns(), std::memory_order_relaxed); }

  // One mutex; a condition variable per role, so a state change wakes only
  // the threads that wait for it (one shared variable woke all of them for
  // every chunk, CPU that -j N on N cores takes from the workers).
  std::mutex mu;
  std::condition_variable reader_cv;     // a slot freed; pause or stop requested or lifted
  std::condition_variable workers_cv;    // a chunk filled; input done
  std::condition_variable shards_cv;     // a chunk parsed; input done
  std::condition_variable collector_cv;  // a chunk detected; reader parked; input done
  void wake_all() {
    reader_cv.notify_all();
    workers_cv.notify_all();
    shards_cv.notify_all();
    collector_cv.notify_all();
  }
  uint64_t filled = 0;  // slots with seq < filled have been filled
  uint64_t next_parse = 0;
  bool reader_done = false;
  uint64_t total = 0;

  // Live mode (tail). All guarded by mu except the atomics.
  bool pause_requested = false;
  bool reader_paused = false;
  bool stop_requested = false;
  std::atomic<uint64_t> rules_gen{0};
  std::shared_ptr<const RuleSet> live_rules;  // guarded by mu
  std::atomic<uint64_t> parse_gen{0};
  FieldMapping live_mapping;  // guarded by mu
  ParseOptions live_parse;    // guarded by mu
  std::atomic<uint32_t> in_flight{0};
  std::atomic<int64_t> newest_event_ms{INT64_MIN};

  Progress progress;
  std::vector<std::string> input_errors;

  explicit Impl(PipelineOptions o) : opt(std::move(o)) {
    if (opt.threads == 0) opt.threads = 1;
    if (opt.detector.shards == 0) opt.detector.shards = 1;
    shard_threads = std::min<unsigned>(opt.detector.shards, std::max(1u, opt.threads / 2));
    static const std::vector<std::string> kNoCategories;
    const auto& cats = opt.rules ? opt.rules->categories() : kNoCategories;
    for (uint32_t i = 0; i < opt.detector.shards; ++i)
      shards.push_back(std::make_unique<AccountDetector>(opt.detector, cats));
    shard_mod = FastMod(static_cast<uint32_t>(shards.size()));
    for (uint32_t i = 0; i < shards.size(); ++i) shard_owner.push_back(i % shard_threads);
    if (opt.detector.cluster.enabled) cluster = std::make_unique<ClusterStage>(opt.detector, cats);
    // Enough slots that every worker and shard thread can be busy while the
    // reader fills the next one; memory is bounded by this ring.
    ring = std::vector<Slot>(2 * (opt.threads + shard_threads) + 2);
    for (auto& s : ring) s.alerts.resize(shard_threads);
    if (opt.metrics) for (auto& s : ring) s.shard_stats.resize(shard_threads);  // metrics
    live_rules = opt.rules;
    live_mapping = opt.mapping;
    live_parse = opt.parse;
  }

  FastMod shard_mod;  // % shards.size(), without a division per event
  uint32_t shard_of(const Event& ev) const { return shard_mod(static_cast<uint32_t>(ev.account_hash >> 32)); }

  // Takes chunks from the producer into free slots, in sequence. Waits when
  // the ring is full (backpressure: nothing is dropped). Live mode: parks on
  // a pause request (checkpoint) and stops on a stop request.
  void reader(ChunkProducer& producer) {
    uint64_t seq = 0;
    for (;;) {
      Slot& s = ring[seq % ring.size()];
      {
        std::unique_lock lk(mu);
        reader_cv.wait(lk, [&] { return s.state == kFree || pause_requested || stop_requested; });
        if (pause_requested && !stop_requested) {
          reader_paused = true;
          collector_cv.notify_all();
          reader_cv.wait(lk, [&] { return !pause_requested || stop_requested; });
          reader_paused = false;
        }
        if (stop_requested) break;
        if (s.state != kFree) continue;
      }
      // A mapped file's chunk: it and every chunk before it are done (slots
      // are freed in sequence order), so their pages can leave RSS.
      if (s.chunk.view) s.chunk.mapping->release(static_cast<uint64_t>(s.chunk.view + s.chunk.view_size - s.chunk.mapping->data()));
      s.chunk.clear_view();
      const Produce r = producer.next(s.chunk);
      progress.raw_bytes_done.store(producer.raw_bytes_done(), std::memory_order_relaxed);
      if (auto errs = producer.take_errors(); !errs.empty()) {
        std::lock_guard lk(mu);
        for (auto& e : errs) input_errors.push_back(std::move(e));
      }
      if (r == Produce::end) break;
      if (r == Produce::idle) continue;
      s.chunk.seq = seq;
      if (opt.metrics) s.read_at = std::chrono::steady_clock::now();  // metrics: batch latency
      {
        std::lock_guard lk(mu);
        s.seq = seq;
        s.state = kFilled;
        filled = ++seq;
      }
      in_flight.fetch_add(1, std::memory_order_relaxed);
      workers_cv.notify_one();
    }
    {
      std::lock_guard lk(mu);
      reader_done = true;
      reader_paused = false;
      total = seq;
    }
    wake_all();
  }

  void worker() {
    uint64_t my_rules = rules_gen.load(std::memory_order_acquire);
    uint64_t my_parse = parse_gen.load(std::memory_order_acquire);
    std::optional<LineParser> parser;
    std::optional<RuleScanner> scanner;
    {
      std::lock_guard lk(mu);
      parser.emplace(live_mapping, live_parse);
      if (live_rules) scanner.emplace(live_rules);
    }
    for (;;) {
      uint64_t seq;
      {
        std::unique_lock lk(mu);
        workers_cv.wait(lk, [&] { return next_parse < filled || (reader_done && next_parse >= total); });
        if (next_parse >= filled) return;
        seq = next_parse++;
      }
      // Reloads (tail, SIGHUP) take effect here, at a chunk boundary; never per line.
      if (rules_gen.load(std::memory_order_acquire) != my_rules ||
          parse_gen.load(std::memory_order_acquire) != my_parse) {
        std::lock_guard lk(mu);
        my_rules = rules_gen.load(std::memory_order_acquire);
        my_parse = parse_gen.load(std::memory_order_acquire);
        scanner.reset();
        if (live_rules) scanner.emplace(live_rules);
        parser.emplace(live_mapping, live_parse);
      }
      Slot& s = ring[seq % ring.size()];
      EventBatch& b = s.batch;
      b.reset();
      b.seq = seq;
      b.source_index = s.chunk.source_index;
      b.source_offset = s.chunk.source_offset;
      if (s.chunk.skipped_long_lines) {
        b.errors.add(ErrorReason::line_too_long, s.chunk.skipped_long_lines);
        b.lines += s.chunk.skipped_long_lines;
        b.bytes += s.chunk.skipped_bytes;
      }
      parser->parse_chunk(s.chunk.data(), s.chunk.size(), scanner ? &*scanner : nullptr, b);
      {
        std::lock_guard lk(mu);
        s.state = kParsed;
        s.shards_pending = shard_threads;
      }
      shards_cv.notify_all();
    }
  }

  void shard_thread(unsigned t) {
    for (uint64_t next = 0;; ++next) {
      Slot& s = ring[next % ring.size()];
      {
        std::unique_lock lk(mu);
        shards_cv.wait(lk, [&] { return (s.seq == next && s.state >= kParsed) || (reader_done && next >= total); });
        if (reader_done && next >= total) return;
      }
      auto& out = s.alerts[t];
      for (const Event& ev : s.batch.events) {
        const uint32_t sh = shard_of(ev);
        if (shard_owner[sh] == t) shards[sh]->observe(ev, s.batch, next, out);
      }
      if (opt.metrics) s.shard_stats[t] = shard_account_stats(t);  // metrics
      bool last;
      {
        std::lock_guard lk(mu);
        last = --s.shards_pending == 0;
        if (last) s.state = kDetected;
      }
      if (last) collector_cv.notify_one();
    }
  }

  // Detector-derived counters (shards idle: after join, or drained in live mode).
  void fill_detector_stats(RunStats& stats) const {
    if (cluster) {
      const auto& cc = cluster->counters();
      stats.cluster_fingerprints = cluster->fingerprints();
      stats.cluster_fingerprints_created = cc.fingerprints_created;
      stats.cluster_evicted_idle = cc.fingerprints_evicted_idle;
      stats.cluster_evicted_lru = cc.fingerprints_evicted_lru;
      stats.cluster_members_replaced = cc.members_replaced;
      stats.cluster_names_evicted = cc.names_evicted;
      stats.cluster_member_alerts = cc.member_alerts;
      stats.cluster_memory_bytes = cluster->memory_bytes();
    }
    stats.accounts = stats.accounts_evicted_idle = stats.accounts_evicted_lru = stats.accounts_tracked = 0;
    stats.late_events = 0;
    for (const auto& sh : shards) {
      const auto& c = sh->table().counters();
      stats.accounts += c.created;
      stats.accounts_evicted_idle += c.evicted_idle;
      stats.accounts_evicted_lru += c.evicted_lru;
      stats.accounts_tracked += sh->table().size();
      sh->table().for_each([&](const AccountState& a) { stats.late_events += a.late_events; });
    }
  }

  // --- metrics (src/metrics): once per batch, never per line ---
  // Account counts of the shards that shard thread `t` owns (called by that thread).
  BatchContext shard_account_stats(unsigned t) const {
    BatchContext c;
    for (uint32_t sh = t; sh < shards.size(); sh += shard_threads) {
      const auto& tc = shards[sh]->table().counters();
      c.accounts_tracked += shards[sh]->table().size();
      c.accounts_created += tc.created;
      c.accounts_evicted_idle += tc.evicted_idle;
      c.accounts_evicted_lru += tc.evicted_lru;
      c.watermark_ms = std::max(c.watermark_ms, shards[sh]->watermark_ms());
    }
    return c;
  }
  // Collector: the slot's batch is done; `stats` already includes it.
  void update_metrics(const Slot& s, const RunStats& stats, uint64_t seq) {
    BatchContext c;
    c.rule_matches_total = stats.rule_matches;
    for (const auto& t : s.shard_stats) {
      c.accounts_tracked += t.accounts_tracked;
      c.accounts_created += t.accounts_created;
      c.accounts_evicted_idle += t.accounts_evicted_idle;
      c.accounts_evicted_lru += t.accounts_evicted_lru;
      c.watermark_ms = std::max(c.watermark_ms, t.watermark_ms);
    }
    c.latency_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - s.read_at).count();
    c.ring_slots = static_cast<uint32_t>(ring.size());
    {
      std::lock_guard lk(mu);
      c.input_errors = input_errors.size();
      c.ring_in_flight = static_cast<uint32_t>(filled > seq ? filled - seq : 0);
    }
    opt.metrics->on_batch(s.batch, c);
  }
};

ScanPipeline::ScanPipeline(PipelineOptions opt) : impl_(std::make_unique<Impl>(std::move(opt))) {}
ScanPipeline::~ScanPipeline() = default;

namespace {

// scan's producer: the inputs in command-line order, each through a Framer.
class FileListProducer final : public ChunkProducer {
 public:
  FileListProducer(const std::vector<std::string>& inputs, FramerOptions opt) : inputs_(inputs), opt_(opt) {}
  Produce next(Chunk& out) override {
    for (;;) {
      if (!framer_) {
        if (i_ >= inputs_.size()) return Produce::end;
        auto src = open_input(inputs_[i_]);
        if (!src) {
          errors_.push_back(src.error().message);
          ++i_;
          continue;
        }
        src_ = std::move(*src);
        framer_.emplace(*src_, opt_, static_cast<uint32_t>(i_));
      }
      if (framer_->next(out)) return Produce::chunk;
      if (framer_->failed()) errors_.push_back(framer_->error());  // names the input already
      raw_done_ += src_->raw_bytes_read();
      framer_.reset();
      src_.reset();
      ++i_;
    }
  }
  std::vector<std::string> take_errors() override { return std::exchange(errors_, {}); }
  uint64_t raw_bytes_done() const override { return raw_done_ + (src_ ? src_->raw_bytes_read() : 0); }

 private:
  const std::vector<std::string>& inputs_;
  FramerOptions opt_;
  size_t i_ = 0;
  std::unique_ptr<ByteSource> src_;
  std::optional<Framer> framer_;
  uint64_t raw_done_ = 0;
  std::vector<std::string> errors_;
};

}  // namespace

RunStats ScanPipeline::run(const std::vector<std::string>& inputs, AlertSink& sink,
                           const std::function<void(const Progress&)>& on_tick) {
  uint64_t raw_total = 0;
  for (const auto& p : inputs) {
    struct stat st {};
    if (p != "-" && ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode)) raw_total += static_cast<uint64_t>(st.st_size);
  }
  impl_->progress.raw_bytes_total = raw_total;
  FileListProducer producer(inputs, impl_->opt.framer);
  return run(producer, sink, on_tick);
}

RunStats ScanPipeline::run(ChunkProducer& producer, AlertSink& sink,
                           const std::function<void(const Progress&)>& on_tick) {
  LiveHooks hooks;
  hooks.on_tick = on_tick;
  return run_impl(producer, sink, hooks, /*live=*/false);
}

RunStats ScanPipeline::run_live(ChunkProducer& producer, AlertSink& sink, const LiveHooks& hooks) {
  return run_impl(producer, sink, hooks, /*live=*/true);
}

void ScanPipeline::request_checkpoint() {
  {
    std::lock_guard lk(impl_->mu);
    if (impl_->reader_done) return;
    impl_->pause_requested = true;
  }
  impl_->wake_all();
}

void ScanPipeline::request_stop() {
  {
    std::lock_guard lk(impl_->mu);
    impl_->stop_requested = true;
  }
  impl_->wake_all();
}

void ScanPipeline::swap_rules(std::shared_ptr<const RuleSet> rules) {
  std::lock_guard lk(impl_->mu);
  impl_->live_rules = std::move(rules);
  impl_->rules_gen.fetch_add(1, std::memory_order_release);
}

void ScanPipeline::swap_parse(FieldMapping mapping, ParseOptions parse) {
  std::lock_guard lk(impl_->mu);
  impl_->live_mapping = std::move(mapping);
  impl_->live_parse = parse;
  impl_->parse_gen.fetch_add(1, std::memory_order_release);
}

uint32_t ScanPipeline::in_flight() const { return impl_->in_flight.load(std::memory_order_relaxed); }
uint32_t ScanPipeline::ring_capacity() const { return static_cast<uint32_t>(impl_->ring.size()); }
int64_t ScanPipeline::newest_event_ms() const { return impl_->newest_event_ms.load(std::memory_order_relaxed); }
std::vector<std::unique_ptr<AccountDetector>>& ScanPipeline::shards() { return impl_->shards; }
ClusterStage* ScanPipeline::cluster() { return impl_->cluster.get(); }

RunStats ScanPipeline::run_impl(ChunkProducer& producer, AlertSink& sink, const LiveHooks& hooks, bool live) {
  Impl& m = *impl_;
  auto t0 = std::chrono::steady_clock::now();
  const auto& on_tick = hooks.on_tick;

  RunStats stats;
  if (live) {
    stats = hooks.initial;
    stats.input_errors.clear();
  }
  {
    std::lock_guard lk(m.mu);
    if (m.live_rules && stats.rule_matches.size() < m.live_rules->rules().size())
      stats.rule_matches.resize(m.live_rules->rules().size(), 0);
  }
  const double seconds_before = live ? hooks.initial.seconds : 0;

  std::vector<std::thread> threads;
  const uint64_t collector_cpu0 = thread_cpu_ns();
  threads.emplace_back([&] {
    name_thread("ds-reader");
    m.reader(producer);
    m.add_cpu(Impl::kReaderCpu);
  });
  for (unsigned i = 0; i < m.opt.threads; ++i)
    threads.emplace_back([&] {
      name_thread("ds-worker");
      m.worker();
      m.add_cpu(Impl::kWorkersCpu);
    });
  for (unsigned t = 0; t < m.shard_threads; ++t)
    threads.emplace_back([&m, t] {
      name_thread("ds-shard");
      m.shard_thread(t);
      m.add_cpu(Impl::kShardsCpu);
    });

  // Live mode: the collector's view of the cumulative statistics, detector counters filled in.
  auto snapshot = [&](bool final) {
    RunStats snap = stats;
    m.fill_detector_stats(snap);
    snap.input_errors = m.input_errors;
    snap.seconds = seconds_before + std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (hooks.on_checkpoint) hooks.on_checkpoint(LiveSnapshot{snap, m.shards, m.cluster.get(), final});
  };

  // Collector: this thread. Takes batches in sequence order, writes alerts in
  // input-line order, accumulates statistics, and frees the slot.
  std::vector<Alert> merged;
  auto last_tick = std::chrono::steady_clock::now();
  for (uint64_t next = 0;;) {
    Slot& s = m.ring[next % m.ring.size()];
    bool ready = false, done = false, drained = false;
    {
      std::unique_lock lk(m.mu);
      ready = m.collector_cv.wait_for(lk, std::chrono::milliseconds(200), [&] {
        return (s.seq == next && s.state == kDetected) || (m.reader_done && next >= m.total) ||
               (m.pause_requested && m.reader_paused && next >= m.filled);
      });
      done = m.reader_done && next >= m.total;
      drained = !done && m.pause_requested && m.reader_paused && next >= m.filled;
    }
    if (on_tick && std::chrono::steady_clock::now() - last_tick >= std::chrono::milliseconds(200)) {
      on_tick(m.progress);
      last_tick = std::chrono::steady_clock::now();
    }
    if (done) break;
    if (drained) {
      // Every chunk read so far is collected and the reader is parked: shard
      // threads and workers are idle, so their state can be read here.
      snapshot(false);
      {
        std::lock_guard lk(m.mu);
        m.pause_requested = false;
      }
      m.reader_cv.notify_all();
      continue;
    }
    if (!ready) continue;

    merged.clear();
    for (auto& v : s.alerts) {
      for (auto& a : v) merged.push_back(std::move(a));
      v.clear();
    }
    // Cross-account stage: every event of the batch in input order (detect/cluster_stage.hpp).
    if (m.cluster) m.cluster->observe(s.batch, next, merged);
    std::sort(merged.begin(), merged.end(), [](const Alert& a, const Alert& b) {
      if (a.line_in_chunk != b.line_in_chunk) return a.line_in_chunk < b.line_in_chunk;
      return a.id < b.id;
    });
    if (live && hooks.on_batch) hooks.on_batch(s.batch);
    write_batch(sink, merged);
    if (m.opt.metrics) for (const auto& a : merged) m.opt.metrics->on_alert(a);  // metrics
    stats.alerts += merged.size();

    const EventBatch& b = s.batch;
    stats.lines += b.lines;
    stats.records += b.events.size();
    stats.bytes += b.bytes;
    stats.errors += b.errors;
    stats.field_type_errors += b.field_type_errors;
    if (!stats.rule_matches.empty()) {
      for (const Event& ev : b.events) {
        if (ev.category_bits == 0) continue;
        for (size_t r = ev.rule_hits._Find_first(); r < ev.rule_hits.size(); r = ev.rule_hits._Find_next(r))
          if (r < stats.rule_matches.size()) ++stats.rule_matches[r];
      }
    }
    if (live) {
      int64_t newest = m.newest_event_ms.load(std::memory_order_relaxed);
      for (const Event& ev : b.events) newest = std::max(newest, ev.time_ms);
      m.newest_event_ms.store(newest, std::memory_order_relaxed);
      if (!merged.empty() && hooks.on_alerts_written) hooks.on_alerts_written();  // live: alerts out promptly
    }
    if (m.opt.metrics) m.update_metrics(s, stats, next);  // metrics
    m.progress.bytes.store(stats.bytes, std::memory_order_relaxed);
    m.progress.lines.store(stats.lines, std::memory_order_relaxed);
    {
      std::lock_guard lk(m.mu);
      // A mapped file that shrank after the reader had passed its end: this
      // chunk (or an earlier one) read NULs; say so once, as an input error.
      if (s.chunk.view && s.chunk.mapping->faulted() && s.chunk.mapping->claim_fault_report())
        m.input_errors.push_back(s.chunk.mapping->fault_message());
      s.state = kFree;
    }
    m.in_flight.fetch_sub(1, std::memory_order_relaxed);
    m.reader_cv.notify_one();
    ++next;
  }
  for (auto& t : threads) t.join();
  if (live) {
    snapshot(true);
  } else if (m.cluster) {  // last cross-account evaluation, after every input line
    merged.clear();
    m.cluster->finish(m.total, merged);
    write_batch(sink, merged);
    if (m.opt.metrics) for (const auto& a : merged) m.opt.metrics->on_alert(a);  // metrics
    stats.alerts += merged.size();
  }
  m.fill_detector_stats(stats);
  stats.input_errors = m.input_errors;
  if (!live) {  // live runs are cumulative across restarts; this is one process's run (and checkpoint I/O)
    stats.cpu.collector = static_cast<double>(thread_cpu_ns() - collector_cpu0) / 1e9;
    stats.cpu.reader = static_cast<double>(m.cpu_ns[Impl::kReaderCpu].load()) / 1e9;
    stats.cpu.workers = static_cast<double>(m.cpu_ns[Impl::kWorkersCpu].load()) / 1e9;
    stats.cpu.shards = static_cast<double>(m.cpu_ns[Impl::kShardsCpu].load()) / 1e9;
  }
  stats.seconds = seconds_before + std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  struct rusage ru {};
  if (getrusage(RUSAGE_SELF, &ru) == 0) stats.peak_rss_bytes = static_cast<uint64_t>(ru.ru_maxrss) * 1024;
  return stats;
}

std::vector<AccountSummary> ScanPipeline::account_summaries() const {
  std::vector<AccountSummary> out;
  for (const auto& sh : impl_->shards) {
    sh->table().for_each([&](const AccountState& a) {
      out.push_back(sh->summary(a));
    });
  }
  if (impl_->cluster) {  // hydra members flagged by the cross-account stage
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.account < b.account; });
    for (auto& f : impl_->cluster->flagged()) {
      auto it = std::lower_bound(out.begin(), out.end(), f.account,
                                 [](const AccountSummary& a, const std::string& id) { return a.account < id; });
      if (it == out.end() || it->account != f.account) continue;  // evicted from the account table
      it->cluster_member = true;
      it->cluster = std::move(f.cluster);
      it->max_score = std::max(it->max_score, f.score);
      ++it->alerts;
      it->reasons.insert(it->reasons.begin(), f.reasons.begin(), f.reasons.end());
    }
  }
  return out;
}

}  // namespace ds

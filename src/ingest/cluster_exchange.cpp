#include "ingest/cluster_exchange.hpp"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

#include "detect/cluster_stage.hpp"
#include "detect/state_io.hpp"

namespace ds {

namespace {

constexpr uint32_t kMagic = 0x50465344u;  // "DSFP"
constexpr uint16_t kVersion = 1;
constexpr size_t kHeaderBytes = 4 + 2 + 2 + 8 + 4;
constexpr size_t kMaxName = 255;

template <class T>
void put(std::string& out, T v) {
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));  // little-endian hosts (x86-64, arm64)
  out.append(b, sizeof(T));
}

struct Reader {
  std::string_view s;
  size_t pos = 0;
  bool ok = true;
  template <class T>
  T get() {
    T v{};
    if (pos + sizeof(T) > s.size()) {
      ok = false;
      return v;
    }
    std::memcpy(&v, s.data() + pos, sizeof(T));
    pos += sizeof(T);
    return v;
  }
  std::string_view bytes(size_t n) {
    if (pos + n > s.size()) {
      ok = false;
      return {};
    }
    std::string_view v = s.substr(pos, n);
    pos += n;
    return v;
  }
};

}  // namespace

void encode_fingerprint_header(uint64_t config_hash, uint32_t count, std::string& out, uint16_t kind) {
  put<uint32_t>(out, kMagic);
  put<uint16_t>(out, kVersion);
  put<uint16_t>(out, kind);
  put<uint64_t>(out, config_hash);
  put<uint32_t>(out, count);
}

void encode_fingerprint_record(const Event& ev, const EventBatch& b, std::string& out) {
  put<int64_t>(out, ev.time_ms);
  put<uint64_t>(out, ev.account_hash);
  put<uint64_t>(out, ev.system_hash);
  put<uint64_t>(out, ev.prompt_suffix_hash);
  put<uint64_t>(out, ev.user_agent_hash);
  put<uint64_t>(out, ev.ip_hash);
  put<uint32_t>(out, ev.category_bits);
  put<int64_t>(out, ev.completion_tokens);
  put<int32_t>(out, ev.n);
  put<uint16_t>(out, ev.tool_turns);
  std::string_view acct = b.view(ev.account).substr(0, kMaxName);
  std::string_view rid = b.view(ev.request_id).substr(0, kMaxName);
  put<uint8_t>(out, static_cast<uint8_t>(acct.size()));
  put<uint8_t>(out, static_cast<uint8_t>(rid.size()));
  out.append(acct);
  out.append(rid);
}

int exchange_message_kind(std::string_view msg, uint64_t config_hash) {
  Reader r{msg};
  if (r.get<uint32_t>() != kMagic || r.get<uint16_t>() != kVersion) return -1;
  const uint16_t kind = r.get<uint16_t>();
  if (r.get<uint64_t>() != config_hash || !r.ok || kind > 1) return -1;
  return kind;
}

bool decode_fingerprint_message(std::string_view msg, uint64_t config_hash, EventBatch& b) {
  b.reset();
  Reader r{msg};
  if (r.get<uint32_t>() != kMagic || r.get<uint16_t>() != kVersion) return false;
  if (r.get<uint16_t>() != 0) return false;  // not fingerprint records
  if (r.get<uint64_t>() != config_hash) return false;
  const uint32_t n = r.get<uint32_t>();
  if (!r.ok || n > msg.size() / 40) return false;  // a record is at least 62 bytes
  b.events.reserve(n);
  for (uint32_t i = 0; i < n; ++i) {
    Event ev;
    ev.line_in_chunk = i;
    ev.time_ms = r.get<int64_t>();
    ev.account_hash = r.get<uint64_t>();
    ev.system_hash = r.get<uint64_t>();
    ev.prompt_suffix_hash = r.get<uint64_t>();
    ev.user_agent_hash = r.get<uint64_t>();
    ev.ip_hash = r.get<uint64_t>();
    ev.category_bits = r.get<uint32_t>();
    ev.completion_tokens = r.get<int64_t>();
    ev.n = r.get<int32_t>();
    ev.tool_turns = r.get<uint16_t>();
    const uint8_t al = r.get<uint8_t>(), rl = r.get<uint8_t>();
    std::string_view acct = r.bytes(al), rid = r.bytes(rl);
    if (!r.ok || ev.account_hash == 0) return false;
    ev.account = b.store(acct);
    ev.request_id = b.store(rid);
    b.events.push_back(ev);
  }
  b.lines = n;
  return r.ok && r.pos == msg.size();
}

struct ClusterExchange::Impl {
  ClusterExchangeOptions opt;
  uint64_t config_hash = 0;
  rd_kafka_t* prod = nullptr;
  rd_kafka_t* cons = nullptr;
  rd_kafka_topic_t* ptopic = nullptr;
  std::unique_ptr<ClusterStage> stage;
  int64_t catchup_end = 0;  // alerts of records before this offset were written before we started
  uint64_t seq = 0;
  std::string buf;  // records being collected (header first)
  uint32_t buf_count = 0;
  EventBatch in;
  std::vector<Alert> out;
  std::unordered_set<uint64_t> local;
  // Member alerts for accounts that are not ours: held (bounded, FIFO) and
  // written if the account becomes ours. An instance killed before an
  // evaluation that flags its accounts writes nothing; the survivor that takes
  // its partitions over replays them, so the accounts become its own and the
  // held alerts (same ids) are written then.
  struct Held {
    Alert alert;
    uint64_t gen = 0;
  };
  std::unordered_map<uint64_t, Held> held;
  std::deque<std::pair<uint64_t, uint64_t>> held_order;  // (account hash, gen), oldest first
  uint64_t held_gen = 0;
  std::vector<uint64_t> claimed;  // became ours with an alert held: written by the next poll()
  // Alerts to write, each once this instance has read the topic up to
  // `target` -- its end when the alert was due -- and only if the account is
  // still ours then: the written ids of every instance up to that moment
  // reach us before we write (another instance that wrote the same alert
  // before, e.g. the previous owner of a partition we took over while it was
  // still live, or one behind us in the topic, is seen; see already()).
  struct Pending {
    Alert alert;
    uint64_t h = 0;
    int64_t target = 0;
    bool claimed = false;
  };
  std::deque<Pending> pending;
  int64_t read_pos = 0;     // offset after the last message read from the topic
  int64_t due_target = -1;  // the topic's end as last queried
  // Records received since the stage last evaluated, and when the last one
  // came: a stream that goes quiet after late records (a partition taken
  // over and replayed after its owner died, hours of event time behind)
  // crosses no more interval boundary, so the stage evaluates once it has
  // been idle for a second.
  uint64_t since_eval = 0;
  std::chrono::steady_clock::time_point last_rx{};
  ClusterExchangeCounters ctr;
  uint64_t delivery_errors = 0;
  std::unordered_set<uint64_t> written;     // alert ids (hashed) written by any instance
  std::deque<uint64_t> written_order;        // FIFO for the cap
  std::vector<uint64_t> unsent_ids;          // ids of alerts handed to the sinks, not yet sent (settle_ids)
  FlatIndex record_index;                    // records received (repeated_record), FIFO in record_ring
  std::vector<uint64_t> record_ring;
  size_t record_next = 0;                    // oldest entry of record_ring once it is full
  mutable std::mutex snap_mu;
  ClusterExchangeCounters snap;  // counters as of the last poll(), for other threads

  static void dr_cb(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    if (m->err) ++static_cast<Impl*>(opaque)->delivery_errors;
  }

  ~Impl() {
    if (ptopic) rd_kafka_topic_destroy(ptopic);
    if (prod) {
      rd_kafka_flush(prod, 5000);
      rd_kafka_destroy(prod);
    }
    if (cons) {
      rd_kafka_consumer_close(cons);
      rd_kafka_destroy(cons);
    }
  }

  void hold(const Alert& a, uint64_t h) {
    auto [it, fresh] = held.try_emplace(h);
    it->second.alert = a;  // the newest alert for the account
    it->second.gen = ++held_gen;
    held_order.emplace_back(h, held_gen);
    if (fresh) ++ctr.alerts_held;
    while (held.size() > opt.max_held_alerts && !held_order.empty()) {
      auto [oh, og] = held_order.front();
      held_order.pop_front();
      auto o = held.find(oh);
      if (o != held.end() && o->second.gen == og) {
        held.erase(o);
        ++ctr.alerts_held_evicted;
      }
    }
    // Entries superseded by a newer hold of the same account: drop when they dominate.
    if (held_order.size() > 2 * held.size() + 64) {
      std::deque<std::pair<uint64_t, uint64_t>> keep;
      for (const auto& [oh, og] : held_order) {
        auto o = held.find(oh);
        if (o != held.end() && o->second.gen == og) keep.emplace_back(oh, og);
      }
      held_order.swap(keep);
    }
  }

  void remember_id(uint64_t id) {
    if (!written.insert(id).second) return;
    written_order.push_back(id);
    while (written.size() > opt.max_written_ids && !written_order.empty()) {
      written.erase(written_order.front());
      written_order.pop_front();
      ++ctr.alert_ids_evicted;
    }
  }
  // Whether this record was received already (among the last
  // max_record_ids): the same request id, account and time, and the same
  // content (a copy is byte for byte the same record), so that a request id
  // that is not unique (a client's, or whole seconds in the times) cannot
  // merge different requests. Remembers it if not. Records without a
  // request id are always new.
  bool repeated_record(const Event& ev, const EventBatch& b) {
    const std::string_view rid = b.view(ev.request_id);
    if (rid.empty() || opt.max_record_ids == 0) return false;
    uint64_t key = hash_combine(ev.account_hash, hash_str(rid));
    for (uint64_t v : {static_cast<uint64_t>(ev.time_ms), ev.system_hash, ev.prompt_suffix_hash, ev.user_agent_hash,
                       ev.ip_hash, static_cast<uint64_t>(ev.completion_tokens),
                       (uint64_t{ev.category_bits} << 32) ^ (static_cast<uint64_t>(static_cast<uint32_t>(ev.n)) << 16) ^
                           ev.tool_turns})
      key = hash_combine(key, v);
    key += key == 0;  // FlatIndex keys are never 0
    if (record_index.find(key) != FlatIndex::kNone) return true;
    if (record_ring.size() < opt.max_record_ids) {
      record_ring.push_back(key);
    } else {
      record_index.erase(record_ring[record_next]);
      record_ring[record_next] = key;
      record_next = (record_next + 1) % record_ring.size();
      ++ctr.record_ids_evicted;
    }
    record_index.insert(key, 0);
    return false;
  }
  static uint64_t id_of(const Alert& a) { return hash_str(a.id); }
  bool already(const Alert& a) {
    const uint64_t id = id_of(a);
    if (!written.count(id) && std::find(unsent_ids.begin(), unsent_ids.end(), id) == unsent_ids.end()) return false;
    ++ctr.duplicates_suppressed;
    return true;
  }
  // The id is sent (and taken for written here too) by settle_ids(), once the
  // alert is out: an id that reached the topic before its alert reached the
  // alerts file would suppress the alert everywhere if the write then failed.
  void noted(const Alert& a) { unsent_ids.push_back(id_of(a)); }
  // All unsent ids, packed into messages of at most max_message_bytes.
  void send_ids() {
    const size_t per_msg = std::max<size_t>(1, (opt.max_message_bytes - kHeaderBytes) / sizeof(uint64_t));
    std::string msg;
    for (size_t at = 0; at < unsent_ids.size(); at += per_msg) {
      const size_t n = std::min(per_msg, unsent_ids.size() - at);
      msg.clear();
      encode_fingerprint_header(config_hash, static_cast<uint32_t>(n), msg, 1);
      for (size_t i = at; i < at + n; ++i) {
        put<uint64_t>(msg, unsent_ids[i]);
        remember_id(unsent_ids[i]);
      }
      produce(msg, n, ctr.alert_ids_published);
    }
    unsent_ids.clear();
  }
  // The end of the topic now: one broker round trip, again only once we have read up to the last answer.
  int64_t topic_end() {
    if (due_target > read_pos) return due_target;
    int64_t lo = -1, hi = -1;
    if (rd_kafka_query_watermark_offsets(cons, opt.topic.c_str(), 0, &lo, &hi, 1000) !=
            RD_KAFKA_RESP_ERR_NO_ERROR &&
        rd_kafka_get_watermark_offsets(cons, opt.topic.c_str(), 0, &lo, &hi) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      ++ctr.watermark_errors;
      hi = read_pos;  // unknown: write with what we have read
    }
    due_target = std::max(hi, read_pos);
    return due_target;
  }
  void due(const Alert& a, uint64_t h, bool from_hold) {
    pending.push_back(Pending{a, h, topic_end(), from_hold});
    ++ctr.alerts_deferred;
  }
  // Writes the pending alerts whose target has been read; then, if any was
  // written and `alerts_out` is given, settles their ids by what it reports
  // (written, i.e. flushed and synced: sent; held: kept; lost: dropped).
  void write_ready(AlertSink& sink, const std::function<AlertsOut()>& alerts_out) {
    const size_t unsent_before = unsent_ids.size();
    write_ready(sink);
    if (!alerts_out || unsent_ids.size() == unsent_before) return;
    if (settle_ids(alerts_out())) rd_kafka_poll(prod, 0);
  }
  // Sends the unsent ids if their alerts are written; keeps them while held
  // (up to kMaxHeldIds, as already() looks through them; past that they are
  // taken for written here, unsent: held alerts are never dropped); drops
  // them if alerts were lost. True when some were sent.
  bool settle_ids(AlertsOut state) {
    if (unsent_ids.empty()) return false;
    if (state == AlertsOut::written) {
      send_ids();
      return true;
    }
    if (state == AlertsOut::held && unsent_ids.size() > ClusterExchange::kMaxHeldIds)
      for (uint64_t id : unsent_ids) remember_id(id);
    if (state == AlertsOut::lost || unsent_ids.size() > ClusterExchange::kMaxHeldIds) unsent_ids.clear();
    return false;
  }
  void write_ready(AlertSink& sink) {
    while (!pending.empty() && pending.front().target <= read_pos) {
      Pending& p = pending.front();
      if (!local.count(p.h)) {  // handed over meanwhile: the new owner writes it (or claims it later)
        ++ctr.alerts_not_ours;
        hold(p.alert, p.h);
      } else if (!already(p.alert)) {
        if (p.claimed) ++ctr.alerts_claimed;
        sink.write(p.alert);
        ++ctr.alerts_written;
        noted(p.alert);
      }
      pending.pop_front();
    }
  }

  void claim() {
    for (uint64_t h : claimed) {
      auto it = held.find(h);
      if (it == held.end() || !local.count(h)) continue;
      due(it->second.alert, h, true);
      held.erase(it);
    }
    claimed.clear();
  }

  void start_buf() {
    buf.clear();
    encode_fingerprint_header(config_hash, 0, buf);
    buf_count = 0;
  }

  void send() {
    if (buf_count == 0) return;
    std::memcpy(buf.data() + kHeaderBytes - 4, &buf_count, 4);
    produce(buf, buf_count, ctr.records_published);
    start_buf();
  }
  // Produces one message of `n` items (counted in `published`), waiting out a full queue.
  void produce(const std::string& msg, uint64_t n, uint64_t& published) {
    for (int attempt = 0;; ++attempt) {
      if (rd_kafka_produce(ptopic, 0, RD_KAFKA_MSG_F_COPY, const_cast<char*>(msg.data()), msg.size(), nullptr, 0,
                           nullptr) == 0) {
        published += n;
        return;
      }
      if (rd_kafka_last_error() != RD_KAFKA_RESP_ERR__QUEUE_FULL || attempt > 600) {
        ++ctr.produce_errors;
        return;
      }
      rd_kafka_poll(prod, 100);  // backpressure: wait for the broker
    }
  }
};

ClusterExchange::ClusterExchange(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ClusterExchange::~ClusterExchange() = default;

Result<std::unique_ptr<ClusterExchange>> ClusterExchange::create(ClusterExchangeOptions opt,
                                                                 const DetectorConfig& cfg,
                                                                 const std::vector<std::string>& categories) {
  auto m = std::make_unique<Impl>();
  m->opt = std::move(opt);
  m->config_hash = detector_config_hash(cfg, categories);
  m->stage = std::make_unique<ClusterStage>(cfg, categories);
  char err[512];
  auto make = [&](rd_kafka_type_t type, bool consumer) -> rd_kafka_t* {
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "4", err, sizeof err);
    if (rd_kafka_conf_set(conf, "bootstrap.servers", m->opt.brokers.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return nullptr;
    }
    if (consumer) {
      // assign() only, never joins or commits; librdkafka still wants a group id.
      rd_kafka_conf_set(conf, "group.id", m->opt.reader_group.c_str(), err, sizeof err);
      rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof err);
      rd_kafka_conf_set(conf, "enable.partition.eof", "false", err, sizeof err);
      rd_kafka_conf_set(conf, "fetch.wait.max.ms", "50", err, sizeof err);
    } else {
      rd_kafka_conf_set(conf, "linger.ms", "5", err, sizeof err);
      rd_kafka_conf_set(conf, "message.max.bytes", "2000000", err, sizeof err);
      rd_kafka_conf_set_dr_msg_cb(conf, &Impl::dr_cb);
      rd_kafka_conf_set_opaque(conf, m.get());
    }
    for (const auto& [k, v] : m->opt.properties) {
      if (k == "group.id" || k.rfind("session.", 0) == 0 || k.rfind("heartbeat.", 0) == 0 || k == "enable.auto.commit")
        continue;  // consumer-group settings of the main consumer
      rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err);
    }
    rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof err);
    if (!rk) rd_kafka_conf_destroy(conf);
    return rk;
  };
  m->prod = make(RD_KAFKA_PRODUCER, false);
  if (!m->prod) return make_error(std::string("cluster topic producer: ") + err);
  m->cons = make(RD_KAFKA_CONSUMER, true);
  if (!m->cons) return make_error(std::string("cluster topic consumer: ") + err);
  rd_kafka_poll_set_consumer(m->cons);
  m->ptopic = rd_kafka_topic_new(m->prod, m->opt.topic.c_str(), nullptr);

  int64_t lo = 0, hi = 0;
  if (auto e = rd_kafka_query_watermark_offsets(m->cons, m->opt.topic.c_str(), 0, &lo, &hi, 10000); e)
    return make_error("--cluster-topic " + m->opt.topic + ": " + rd_kafka_err2str(e) +
                      " (create it with one partition, or pass --cluster-topic off)");
  int64_t start = lo;
  if (m->opt.rebuild_ms >= 0) {
    rd_kafka_topic_partition_list_t* t = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(t, m->opt.topic.c_str(), 0)->offset =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count() -
        m->opt.rebuild_ms;
    if (rd_kafka_offsets_for_times(m->cons, t, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR && !t->elems[0].err)
      start = t->elems[0].offset >= 0 ? t->elems[0].offset : hi;
    rd_kafka_topic_partition_list_destroy(t);
  }
  m->catchup_end = hi;
  rd_kafka_topic_partition_list_t* a = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(a, m->opt.topic.c_str(), 0)->offset = start;
  auto e = rd_kafka_assign(m->cons, a);
  rd_kafka_topic_partition_list_destroy(a);
  if (e) return make_error("--cluster-topic " + m->opt.topic + ": " + rd_kafka_err2str(e));
  m->start_buf();
  m->local.reserve(1024);
  return std::unique_ptr<ClusterExchange>(new ClusterExchange(std::move(m)));
}

void ClusterExchange::publish(const EventBatch& b, bool records) {
  Impl& m = *impl_;
  for (const Event& ev : b.events) {
    if (m.local.size() >= m.opt.max_local_accounts) {  // bounded: forget, re-learned from the next batches
      m.local.clear();
      ++m.ctr.local_cleared;
    }
    if (m.local.insert(ev.account_hash).second && !m.held.empty() && m.held.count(ev.account_hash))
      m.claimed.push_back(ev.account_hash);
    if (!records) continue;
    encode_fingerprint_record(ev, b, m.buf);
    ++m.buf_count;
    if (m.buf.size() >= m.opt.max_message_bytes) m.send();
  }
  m.send();
  rd_kafka_poll(m.prod, 0);
}

void ClusterExchange::poll(AlertSink& sink, const std::function<AlertsOut()>& alerts_out) {
  Impl& m = *impl_;
  rd_kafka_poll(m.prod, 0);
  m.due_target = -1;  // queried afresh when an alert is due
  m.claim();
  auto emit = [&](bool catchup) {
    for (const Alert& a : m.out) {
      if (catchup) {
        ++m.ctr.alerts_suppressed_catchup;
      } else if (const uint64_t h = a.account_hash ? a.account_hash : hash_str(a.account); !m.local.count(h)) {
        ++m.ctr.alerts_not_ours;
        m.hold(a, h);
      } else {
        m.due(a, h, false);
      }
    }
  };
  // One message of the topic: written ids, or fingerprint records for the stage.
  auto handle = [&](rd_kafka_message_t* msg) {
    if (msg->err) {
      rd_kafka_message_destroy(msg);
      return;
    }
    m.read_pos = std::max(m.read_pos, msg->offset + 1);
    const bool catchup = msg->offset < m.catchup_end;
    const std::string_view payload(static_cast<const char*>(msg->payload), msg->len);
    if (exchange_message_kind(payload, m.config_hash) == 1) {  // ids of written alerts
      Reader r{payload.substr(kHeaderBytes - 4)};
      const uint32_t n = r.get<uint32_t>();
      for (uint32_t i = 0; r.ok && i < n; ++i) {
        const uint64_t id = r.get<uint64_t>();
        if (!r.ok) break;
        m.remember_id(id);
        ++m.ctr.alert_ids_received;
      }
      if (!r.ok) ++m.ctr.messages_refused;
      rd_kafka_message_destroy(msg);
      return;
    }
    if (!decode_fingerprint_message(payload, m.config_hash, m.in)) {
      ++m.ctr.messages_refused;
      rd_kafka_message_destroy(msg);
      return;
    }
    rd_kafka_message_destroy(msg);
    m.ctr.records_received += m.in.events.size();
    auto& evs = m.in.events;
    size_t kept = 0;
    for (size_t i = 0; i < evs.size(); ++i) {
      if (m.repeated_record(evs[i], m.in)) {
        ++m.ctr.records_repeated;
      } else {
        if (kept != i) evs[kept] = evs[i];
        ++kept;
      }
    }
    evs.resize(kept);
    if (kept == 0) return;  // all copies: nothing new for the stage (nor for its idle evaluation)
    m.in.seq = m.seq;
    m.out.clear();
    const uint64_t evals = m.stage->counters().evaluations;
    m.stage->observe(m.in, m.seq++, m.out);
    m.since_eval = m.stage->counters().evaluations != evals ? 0 : m.since_eval + m.in.events.size();
    m.last_rx = std::chrono::steady_clock::now();
    emit(catchup);
  };
  for (int budget = 0;; ++budget) {
    rd_kafka_message_t* msg = budget < 1024 ? rd_kafka_consumer_poll(m.cons, 0) : nullptr;
    if (!msg) {
      const auto now = std::chrono::steady_clock::now();
      if (budget == 0 && m.since_eval > 0 && now - m.last_rx >= std::chrono::seconds(1)) {
        m.out.clear();
        m.stage->finish(m.seq++, m.out);  // evaluates at the watermark
        m.since_eval = 0;
        ++m.ctr.idle_evaluations;
        emit(false);
      }
      break;
    }
    handle(msg);
  }
  // Alerts due: read on to the topic's end as of when they became due (the
  // ids other instances wrote by then), briefly; what is still short of it
  // waits for the next poll().
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  for (m.write_ready(sink, alerts_out); !m.pending.empty() && std::chrono::steady_clock::now() < deadline;
       m.write_ready(sink, alerts_out))
    if (rd_kafka_message_t* msg = rd_kafka_consumer_poll(m.cons, 20)) handle(msg);
  if (!m.pending.empty()) ++m.ctr.alerts_due_waiting;
  {
    ClusterExchangeCounters c = counters();
    std::lock_guard lk(m.snap_mu);
    m.snap = c;
  }
}

void ClusterExchange::disown(const std::vector<uint64_t>& accounts) {
  Impl& m = *impl_;
  for (uint64_t h : accounts) m.ctr.accounts_disowned += m.local.erase(h);
}

Result<void> ClusterExchange::flush() {
  Impl& m = *impl_;
  m.send();
  if (auto e = rd_kafka_flush(m.prod, 10000); e) return make_error(std::string("cluster topic: ") + rd_kafka_err2str(e));
  if (m.delivery_errors) {
    m.ctr.produce_errors += m.delivery_errors;
    m.delivery_errors = 0;
    return make_error("cluster topic: some fingerprint records were not delivered");
  }
  return {};
}

bool ClusterExchange::already_written(const Alert& a) { return impl_->already(a); }
void ClusterExchange::note_written(const Alert& a) { impl_->noted(a); }
bool ClusterExchange::ids_waiting() const { return !impl_->unsent_ids.empty(); }
void ClusterExchange::flush_ids(AlertsOut alerts_out) {
  Impl& m = *impl_;
  if (m.settle_ids(alerts_out) && rd_kafka_flush(m.prod, 2000) != RD_KAFKA_RESP_ERR_NO_ERROR) ++m.ctr.produce_errors;
}

ClusterExchangeCounters ClusterExchange::snapshot() const {
  std::lock_guard lk(impl_->snap_mu);
  return impl_->snap;
}

ClusterExchangeCounters ClusterExchange::counters() const {
  ClusterExchangeCounters c = impl_->ctr;
  c.local_accounts = impl_->local.size();
  c.alerts_held_now = impl_->held.size();
  c.alert_ids_now = impl_->written.size();
  c.record_ids_now = impl_->record_ring.size();
  c.evaluations = impl_->stage->counters().evaluations;
  c.clusters_flagged = impl_->stage->counters().clusters_flagged;
  c.fingerprints = impl_->stage->fingerprints();
  return c;
}

}  // namespace ds

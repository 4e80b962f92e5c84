#include "ingest/kafka_source.hpp"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <unordered_set>

#include "core/hash.hpp"

namespace ds {

PartitionPlan plan_partition_start(int64_t known_pos, int64_t committed, int64_t low, int64_t high,
                                   int64_t rebuild_start) {
  PartitionPlan p;
  if (low < 0) low = 0;
  if (high < low) high = low;
  // The group's position: the committed offset, else the beginning (auto.offset.reset=earliest).
  int64_t c = committed >= 0 ? std::clamp(committed, low, high) : low;
  if (known_pos >= 0 && known_pos >= c) {  // our state already covers everything committed
    p.start = std::min(known_pos, high);
    if (known_pos > high) p.start = high;  // topic truncated/recreated: nothing beyond high to resume
    return p;
  }
  // Records before `c` were processed by someone else (or by us before a
  // gap): rebuild the accounts from the replay span, alerts suppressed.
  int64_t rs = rebuild_start < 0 ? high : rebuild_start;
  int64_t from = std::max({known_pos, rs, low});
  if (from < c) {
    p.start = from;
    p.replay_end = c;
  } else {
    p.start = c;
  }
  return p;
}

bool valid_broker_list(const std::string& s) {
  if (s.empty()) return false;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(',', start);
    if (end == std::string::npos) end = s.size();
    std::string part = s.substr(start, end - start);
    size_t colon = part.rfind(':');
    if (part.empty() || colon == std::string::npos || colon == 0 || colon + 1 >= part.size()) return false;
    for (size_t i = colon + 1; i < part.size(); ++i)
      if (part[i] < '0' || part[i] > '9') return false;
    start = end + 1;
  }
  return true;
}

struct KafkaSource::Impl {
  KafkaOptions opt;
  ReplayLedger* ledger = nullptr;
  HandoverLedger* handover = nullptr;  // null: message keys are not tracked
  rd_kafka_t* rk = nullptr;
  bool closed = false;

  // Reader-thread state (also read while the reader is paused).
  std::vector<int64_t> pos;         // per partition: next offset after records handed over (-1 unknown)
  std::vector<int64_t> replay_end;  // per partition: replay up to this offset (-1 none)
  std::vector<char> assigned;       // per partition
  rd_kafka_message_t* pending = nullptr;  // polled, did not fit in the previous chunk
  // With a HandoverLedger: hashed message keys (accounts) seen per partition,
  // and the sequence number of the chunk next() is filling (a rebalance runs
  // inside its consumer poll).
  std::vector<std::unordered_set<uint64_t>> keys;
  uint64_t keys_total = 0;  // sum of keys[p].size() (capped by opt.max_handover_keys)
  uint64_t filling_seq = 0;
  bool filling_nonempty = false;
  std::chrono::steady_clock::time_point last_status{};

  // Snapshots for other threads.
  mutable std::mutex snap_mu;
  std::vector<KafkaPartitionStatus> snap_status;
  KafkaCounters counters;  // guarded by snap_mu when read from other threads
  KafkaCounters local;     // reader thread

  void count_error(const char* what, rd_kafka_resp_err_t err) {
    ++local.consumer_errors;
    if (local.consumer_errors <= 20 || local.consumer_errors % 1000 == 0)
      std::fprintf(stderr, "distillscan: kafka: %s: %s\n", what, rd_kafka_err2str(err));
  }

  void grow(int32_t p) {
    size_t need = static_cast<size_t>(p) + 1;
    if (pos.size() < need) {
      pos.resize(need, -1);
      replay_end.resize(need, -1);
      assigned.resize(need, 0);
      keys.resize(need);
    }
  }

  static void rebalance_cb(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts,
                           void* opaque) {
    static_cast<Impl*>(opaque)->on_rebalance(rk, err, parts);
  }

  void on_rebalance(rd_kafka_t* k, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts) {
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      ++local.rebalances;
      // Committed offsets of the whole assignment in one request.
      rd_kafka_topic_partition_list_t* committed = rd_kafka_topic_partition_list_copy(parts);
      if (auto e = rd_kafka_committed(k, committed, 10000); e) count_error("committed offsets", e);
      // First offsets within the rebuild span, by message timestamp.
      rd_kafka_topic_partition_list_t* times = rd_kafka_topic_partition_list_copy(parts);
      const int64_t since = std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::system_clock::now().time_since_epoch()).count() - opt.rebuild_ms;
      for (int i = 0; i < times->cnt; ++i) times->elems[i].offset = since;
      const bool all = opt.rebuild_ms < 0;  // rebuild from everything retained
      bool times_ok = !all && rd_kafka_offsets_for_times(k, times, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR;
      for (int i = 0; i < parts->cnt; ++i) {
        auto& tp = parts->elems[i];
        if (tp.partition < 0 || static_cast<uint32_t>(tp.partition) >= opt.max_partitions) {
          std::fprintf(stderr, "distillscan: kafka: partition %d beyond kafka max_partitions (%u): not consumed\n",
                       tp.partition, opt.max_partitions);
          tp.offset = RD_KAFKA_OFFSET_END;
          continue;
        }
        grow(tp.partition);
        int64_t lo = -1, hi = -1;
        if (auto e = rd_kafka_query_watermark_offsets(k, tp.topic, tp.partition, &lo, &hi, 10000); e) {
          count_error("watermark offsets", e);
          lo = 0;
          hi = INT64_MAX / 4;
        }
        int64_t c = committed->elems[i].err ? -1 : committed->elems[i].offset;
        int64_t rs = lo;  // `all`, or the lookup failed: rebuild from everything retained (safe, costly)
        if (!all && times_ok && times->elems[i].err == RD_KAFKA_RESP_ERR_NO_ERROR)
          rs = times->elems[i].offset >= 0 ? times->elems[i].offset : hi;
        PartitionPlan plan = plan_partition_start(pos[tp.partition], c, lo, hi, rs);
        tp.offset = plan.start;
        replay_end[tp.partition] = plan.replay_end;
        assigned[tp.partition] = 1;
        if (plan.replay_end >= 0) {
          ++local.partitions_rebuilt;
          std::fprintf(stderr, "distillscan: kafka: partition %d assigned: rebuilding state from offsets [%lld, %lld)\n",
                       tp.partition, static_cast<long long>(plan.start), static_cast<long long>(plan.replay_end));
        }
        // Records before plan.start are in our state or not ours to process.
        pos[tp.partition] = plan.start;
      }
      rd_kafka_topic_partition_list_destroy(times);
      rd_kafka_topic_partition_list_destroy(committed);
      if (handover) {  // partitions we had records of and no longer have: their accounts are not ours now
        std::vector<uint64_t> lost;
        for (size_t p = 0; p < keys.size(); ++p) {
          if (assigned[p] || keys[p].empty()) continue;
          lost.insert(lost.end(), keys[p].begin(), keys[p].end());
          keys_total -= keys[p].size();
          std::unordered_set<uint64_t>().swap(keys[p]);
        }
        // Chunks before the one being filled (and that one, if it holds records) may carry them.
        handover->lost(filling_seq + (filling_nonempty ? 1 : 0), std::move(lost));
      }
      if (auto e = rd_kafka_assign(k, parts); e) count_error("assign", e);
    } else {
      // Revoked (eager protocol: everything). In-flight records stay in our
      // state; the next owner rebuilds from the last commit.
      for (int i = 0; i < parts->cnt; ++i) {
        int32_t p = parts->elems[i].partition;
        if (p >= 0 && static_cast<size_t>(p) < assigned.size()) {
          assigned[p] = 0;
          replay_end[p] = -1;
        }
      }
      if (pending) {
        rd_kafka_message_destroy(pending);
        pending = nullptr;
      }
      if (err != RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) count_error("rebalance", err);
      rd_kafka_assign(k, nullptr);
    }
    publish();
  }

  void publish() {
    std::vector<KafkaPartitionStatus> st;
    for (size_t p = 0; p < pos.size(); ++p) {
      if (!assigned[p] && pos[p] < 0) continue;
      KafkaPartitionStatus s;
      s.partition = static_cast<int32_t>(p);
      s.assigned = assigned[p] != 0;
      s.position = pos[p];
      s.replay_end = replay_end[p];
      if (rk && s.assigned) {
        int64_t lo = -1, hi = -1;
        if (rd_kafka_get_watermark_offsets(rk, opt.topic.c_str(), s.partition, &lo, &hi) == RD_KAFKA_RESP_ERR_NO_ERROR)
          s.high = hi;
      }
      st.push_back(s);
    }
    local.handover_keys = keys_total;
    std::lock_guard lk(snap_mu);
    snap_status = std::move(st);
    counters = local;
  }
};

KafkaSource::KafkaSource(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

KafkaSource::~KafkaSource() {
  if (!impl_) return;
  if (impl_->pending) rd_kafka_message_destroy(impl_->pending);
  if (impl_->rk) {
    if (!impl_->closed) rd_kafka_consumer_close(impl_->rk);
    rd_kafka_destroy(impl_->rk);
  }
}

Result<std::unique_ptr<KafkaSource>> KafkaSource::create(KafkaOptions opt, ReplayLedger* ledger,
                                                         HandoverLedger* handover) {
  if (!valid_broker_list(opt.brokers)) return make_error("--brokers '" + opt.brokers + "': expected HOST:PORT[,HOST:PORT...]");
  if (opt.topic.empty()) return make_error("--topic: a topic name is required");
  if (opt.group.empty()) return make_error("--group: a consumer group id is required");
  auto impl = std::make_unique<Impl>();
  impl->opt = std::move(opt);
  impl->ledger = ledger;
  impl->handover = handover;
  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  auto set = [&](const std::string& k, const std::string& v) -> Result<void> {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), errstr, sizeof errstr) != RD_KAFKA_CONF_OK)
      return make_error("kafka setting " + k + "=" + v + ": " + errstr);
    return {};
  };
  const std::pair<const char*, std::string> defaults[] = {
      {"bootstrap.servers", impl->opt.brokers},
      {"group.id", impl->opt.group},
      {"client.id", "distillscan"},
      {"enable.auto.commit", "false"},      // commit only after a checkpoint (at-least-once)
      {"enable.auto.offset.store", "false"},
      {"auto.offset.reset", "earliest"},    // a new group starts at the beginning
      {"enable.partition.eof", "false"},
      {"fetch.wait.max.ms", "100"},
  };
  for (const auto& [k, v] : defaults)
    if (auto r = set(k, v); !r) {
      rd_kafka_conf_destroy(conf);
      return r.error();
    }
  for (const auto& [k, v] : impl->opt.properties) {
    if (k == "partition.assignment.strategy" && v.find("cooperative") != std::string::npos) {
      rd_kafka_conf_destroy(conf);
      return make_error("kafka setting partition.assignment.strategy=" + v +
                        ": the incremental (cooperative) protocol is not supported; use range or roundrobin");
    }
    if (k == "enable.auto.commit" && v != "false") {
      rd_kafka_conf_destroy(conf);
      return make_error("kafka setting enable.auto.commit must stay false (offsets are committed after checkpoints)");
    }
    if (auto r = set(k, v); !r) {
      rd_kafka_conf_destroy(conf);
      return r.error();
    }
  }
  rd_kafka_conf_set_rebalance_cb(conf, &Impl::rebalance_cb);
  rd_kafka_conf_set_opaque(conf, impl.get());
  impl->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);  // takes conf on success
  if (!impl->rk) {
    rd_kafka_conf_destroy(conf);
    return make_error(std::string("kafka consumer: ") + errstr);
  }
  rd_kafka_poll_set_consumer(impl->rk);
  rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, impl->opt.topic.c_str(), RD_KAFKA_PARTITION_UA);
  rd_kafka_resp_err_t e = rd_kafka_subscribe(impl->rk, topics);
  rd_kafka_topic_partition_list_destroy(topics);
  if (e) return make_error(std::string("kafka subscribe to ") + impl->opt.topic + ": " + rd_kafka_err2str(e));
  return std::unique_ptr<KafkaSource>(new KafkaSource(std::move(impl)));
}

void KafkaSource::restore(const std::vector<std::pair<int32_t, int64_t>>& positions) {
  std::fill(impl_->pos.begin(), impl_->pos.end(), -1);  // replaces whatever was restored before
  for (const auto& [p, off] : positions) {
    if (p < 0 || static_cast<uint32_t>(p) >= impl_->opt.max_partitions) continue;
    impl_->grow(p);
    impl_->pos[p] = off;
  }
  impl_->publish();
}

Produce KafkaSource::next(Chunk& out) {
  Impl& m = *impl_;
  out.buf.resize(0);
  out.source_index = 0;
  out.source_offset = 0;
  out.skipped_long_lines = 0;
  out.skipped_bytes = 0;
  out.last_of_source = false;
  if (out.buf.capacity() < m.opt.chunk_bytes + 1) out.buf.reserve(m.opt.chunk_bytes + 1);
  int mode = -1;  // -1 empty, 0 live, 1 replay: one chunk never mixes them (ReplayLedger)
  const auto t0 = std::chrono::steady_clock::now();
  auto last_msg = t0;
  auto deliver = [&]() {
    out.buf.pad();
    if (mode == 1 && m.ledger) m.ledger->mark(chunks_);
    ++chunks_;
    auto now = std::chrono::steady_clock::now();
    if (now - m.last_status >= std::chrono::seconds(1)) {
      m.last_status = now;
      m.publish();
    }
    return Produce::chunk;
  };
  m.filling_seq = chunks_;
  for (;;) {
    rd_kafka_message_t* msg = m.pending;
    m.pending = nullptr;
    if (!msg) {
      m.filling_nonempty = mode != -1;
      const bool have = out.buf.size() > 0 || out.skipped_long_lines > 0;
      const auto now = std::chrono::steady_clock::now();
      if (have && now - last_msg >= m.opt.linger) return deliver();
      if (!have && now - t0 >= m.opt.idle_return) {
        if (now - m.last_status >= std::chrono::seconds(1)) {
          m.last_status = now;
          m.publish();
        }
        return Produce::idle;
      }
      msg = rd_kafka_consumer_poll(m.rk, have ? 5 : 20);
      if (!msg) continue;
    }
    if (msg->err) {
      if (msg->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) m.count_error("consume", msg->err);
      rd_kafka_message_destroy(msg);
      continue;
    }
    const int32_t p = msg->partition;
    if (p < 0 || static_cast<size_t>(p) >= m.pos.size() || !m.assigned[p] || msg->offset < m.pos[p]) {
      rd_kafka_message_destroy(msg);  // stale (revoked partition, or before our planned start)
      continue;
    }
    const bool replay = m.replay_end[p] >= 0 && msg->offset < m.replay_end[p];
    if (m.handover && msg->key_len > 0) {
      const uint64_t key = hash_str(std::string_view(static_cast<const char*>(msg->key), msg->key_len));
      if (m.keys[p].count(key) == 0) {
        if (m.keys_total >= std::max<uint64_t>(1, m.opt.max_handover_keys)) {
          // Bounded: forget the largest partition's keys (a handover of it
          // then misses those accounts; the rebuild covers them).
          size_t big = p;
          for (size_t q = 0; q < m.keys.size(); ++q)
            if (m.keys[q].size() > m.keys[big].size()) big = q;
          m.local.handover_keys_dropped += m.keys[big].size();
          m.keys_total -= m.keys[big].size();
          std::unordered_set<uint64_t>().swap(m.keys[big]);
        }
        m.keys[p].insert(key);
        ++m.keys_total;
      }
    }
    const size_t len = msg->len;
    const char* data = static_cast<const char*>(msg->payload);
    const bool nl = len > 0 && data[len - 1] == '\n';
    const size_t need = len + (nl ? 0 : 1);
    if (mode != -1 && (mode != (replay ? 1 : 0) || out.buf.size() + need > m.opt.chunk_bytes)) {
      m.pending = msg;  // starts the next chunk
      return deliver();
    }
    mode = replay ? 1 : 0;
    if (len > m.opt.max_line_bytes) {
      ++out.skipped_long_lines;
      out.skipped_bytes += need;
      ++m.local.oversized_messages;
    } else if (len > 0) {
      if (out.buf.size() + need > out.buf.capacity()) out.buf.reserve(out.buf.size() + need);  // only a message > chunk_bytes
      std::memcpy(out.buf.data() + out.buf.size(), data, len);
      if (!nl) out.buf.data()[out.buf.size() + len] = '\n';
      out.buf.resize(out.buf.size() + need);
    }
    ++m.local.messages;
    if (replay) ++m.local.replayed_messages;
    m.pos[p] = msg->offset + 1;
    if (replay && m.pos[p] >= m.replay_end[p]) m.replay_end[p] = -1;  // caught up: live from here
    rd_kafka_message_destroy(msg);
    last_msg = std::chrono::steady_clock::now();
    if (out.buf.size() >= m.opt.chunk_bytes) return deliver();
  }
}

std::vector<std::pair<int32_t, int64_t>> KafkaSource::positions() const {
  std::vector<std::pair<int32_t, int64_t>> v;
  for (size_t p = 0; p < impl_->pos.size(); ++p)
    if (impl_->pos[p] >= 0) v.emplace_back(static_cast<int32_t>(p), impl_->pos[p]);
  return v;
}

Result<void> KafkaSource::commit() {
  Impl& m = *impl_;
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(8);
  for (size_t p = 0; p < m.pos.size(); ++p) {
    if (!m.assigned[p] || m.pos[p] < 0 || m.replay_end[p] >= 0) continue;  // replaying: the commit is ahead already
    rd_kafka_topic_partition_list_add(list, m.opt.topic.c_str(), static_cast<int32_t>(p))->offset = m.pos[p];
  }
  rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;
  if (list->cnt > 0) e = rd_kafka_commit(m.rk, list, 0);
  rd_kafka_topic_partition_list_destroy(list);
  if (e && e != RD_KAFKA_RESP_ERR__NO_OFFSET) {
    ++m.local.commit_failures;
    m.publish();
    return make_error(std::string("kafka commit: ") + rd_kafka_err2str(e));
  }
  ++m.local.commits;
  m.publish();
  return {};
}

void KafkaSource::close() {
  if (!impl_->rk || impl_->closed) return;
  if (impl_->pending) {
    rd_kafka_message_destroy(impl_->pending);
    impl_->pending = nullptr;
  }
  rd_kafka_consumer_close(impl_->rk);
  impl_->closed = true;
}

std::vector<KafkaPartitionStatus> KafkaSource::status() const {
  std::lock_guard lk(impl_->snap_mu);
  return impl_->snap_status;
}

KafkaCounters KafkaSource::counters() const {
  std::lock_guard lk(impl_->snap_mu);
  return impl_->counters;
}

}  // namespace ds

// ClusterExchange between two instances over librdkafka's in-process mock
// cluster: a member alert written by one instance is not written again by
// another that evaluates the same point of the fingerprint topic.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/hash.hpp"
#include "detect/detector_config.hpp"
#include "ingest/cluster_exchange.hpp"

using namespace ds;

namespace {

struct MockCluster {
  rd_kafka_t* rk = nullptr;
  rd_kafka_mock_cluster_t* mc = nullptr;
  std::string bootstrap;
  explicit MockCluster(const char* topic) {
    char err[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "2", err, sizeof err);
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    REQUIRE(rk);
    mc = rd_kafka_mock_cluster_new(rk, 1);
    REQUIRE(mc);
    REQUIRE(rd_kafka_mock_topic_create(mc, topic, 1, 1) == RD_KAFKA_RESP_ERR_NO_ERROR);
    bootstrap = rd_kafka_mock_cluster_bootstraps(mc);
  }
  ~MockCluster() {
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
  }
};

struct VecSink final : AlertSink {
  std::vector<Alert> alerts;
  void write(const Alert& a) override { alerts.push_back(a); }
  Result<void> flush() override { return {}; }
};

// A hydra: 11 accounts share a system prompt and a user agent, every request
// hits a harvesting rule with a long output; interleaved benign accounts.
std::vector<EventBatch> hydra_batches() {
  std::vector<EventBatch> out;
  int k = 0;
  for (int64_t t = 0; t < 3LL * 3600000; t += 20000, ++k) {
    if (k % 100 == 0) out.emplace_back();
    EventBatch& b = out.back();
    Event ev;
    ev.time_ms = 1764000000000 + t;
    std::string acct = k % 3 != 2 ? "hydra-" + std::to_string(k % 11) : "user-" + std::to_string(k % 20);
    ev.account = b.store(acct);
    ev.account_hash = hash_str(acct);
    ev.request_id = b.store("r" + std::to_string(k));
    if (k % 3 != 2) {
      ev.category_bits = 1;
      ev.completion_tokens = 2500;
      ev.system_hash = 0x5157;
      ev.user_agent_hash = 0xAAA;
      ev.ip_hash = 0x100 + (k * 7) % 12;
    } else {
      ev.completion_tokens = 200;
      ev.user_agent_hash = 0xBBB + k % 5;
      ev.ip_hash = 0x9999;
    }
    ev.line_in_chunk = static_cast<uint32_t>(b.events.size());
    b.events.push_back(ev);
    ++b.lines;
  }
  return out;
}

// Polls until `done` or 15 s, then 1.3 s more (the stage evaluates once the topic is quiet for 1 s).
void poll_until(ClusterExchange& x, AlertSink& sink, const std::function<bool()>& done,
                const std::function<AlertsOut()>& alerts_out = {}) {
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (!done() && std::chrono::steady_clock::now() < end) {
    x.poll(sink, alerts_out);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  end = std::chrono::steady_clock::now() + std::chrono::milliseconds(1300);
  while (std::chrono::steady_clock::now() < end) {
    x.poll(sink, alerts_out);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

const std::vector<std::string> kCategories = {"reasoning_elicitation", "system_prompt_extraction"};

// An exchange on the mock cluster's "fp" topic, from its start (no rebuild window).
ClusterExchangeOptions exchange_options(const MockCluster& mc) {
  ClusterExchangeOptions o;
  o.brokers = mc.bootstrap;
  o.topic = "fp";
  o.rebuild_ms = -1;
  o.properties = {{"log_level", "2"}};
  return o;
}

// Two exchanges on one mock cluster that both take the hydra accounts for
// theirs (a partition in handover: the old owner's collector has not passed
// the revocation yet, the new owner has replayed it); `a` has published the
// records.
struct TwoExchanges {
  MockCluster mc{"fp"};
  DetectorConfig cfg;
  std::unique_ptr<ClusterExchange> a, b;
  uint64_t records = 0;
  TwoExchanges() {
    const ClusterExchangeOptions o = exchange_options(mc);
    auto xa = ClusterExchange::create(o, cfg, kCategories);
    REQUIRE(xa);
    auto xb = ClusterExchange::create(o, cfg, kCategories);
    REQUIRE(xb);
    a = std::move(*xa);
    b = std::move(*xb);
    for (const EventBatch& batch : hydra_batches()) {
      a->publish(batch, true);
      b->publish(batch, false);
      records += batch.events.size();
    }
    REQUIRE(a->flush());
  }
};

}  // namespace

TEST_CASE("cluster exchange: an instance behind in the topic does not repeat a member alert another one wrote",
          "[ingest][kafka]") {
  TwoExchanges two;
  auto& a = two.a;
  auto& b = two.b;
  const uint64_t records = two.records;
  // `a` reads the topic first and writes the member alerts; their ids follow the records in the topic.
  VecSink sa, sb;
  poll_until(*a, sa, [&] { return a->counters().records_received == records;  });
  a->flush_ids(AlertsOut::written);
  REQUIRE(a->counters().records_received == records);
  REQUIRE(sa.alerts.size() >= 11);
  std::set<std::string> ids_a;
  for (const Alert& x : sa.alerts) CHECK(ids_a.insert(x.id).second);
  // `b`, behind in the topic, evaluates the same points: every alert is a's,
  // whose id is in the topic by then (after the records that triggered it).
  poll_until(*b, sb, [&] {
    return b->counters().records_received == records && b->counters().alert_ids_received >= sa.alerts.size();
  });
  REQUIRE(b->counters().records_received == records);
  for (const Alert& x : sb.alerts) CHECK(ids_a.count(x.id) == 0);  // written by a already
  CHECK(sb.alerts.empty());
  CHECK(b->counters().duplicates_suppressed >= 1);
}

TEST_CASE("cluster exchange: the ids of alerts held through a full disk are published once they are written",
          "[ingest][kafka]") {
  TwoExchanges two;
  auto& a = two.a;
  auto& b = two.b;
  const uint64_t records = two.records;
  // `a` writes the member alerts, but its alerts file is full: they are held.
  VecSink sa, sb;
  int flushes = 0;
  poll_until(*a, sa, [&] { return a->counters().records_received == records; },
             [&] { return ++flushes, AlertsOut::held; });
  a->flush_ids(AlertsOut::held);
  REQUIRE(a->counters().records_received == records);
  REQUIRE(sa.alerts.size() >= 11);
  CHECK(flushes >= 1);
  CHECK(a->counters().alert_ids_published == 0);  // not out yet: not shared
  CHECK(a->already_written(sa.alerts.front()));    // but not written twice here either
  // The disk has room again: the held ids go out, and `b` writes none of the alerts.
  a->flush_ids(AlertsOut::written);
  CHECK(a->counters().alert_ids_published == sa.alerts.size());
  poll_until(*b, sb, [&] {
    return b->counters().records_received == records && b->counters().alert_ids_received >= sa.alerts.size();
  });
  REQUIRE(b->counters().records_received == records);
  CHECK(b->counters().alert_ids_received == sa.alerts.size());
  CHECK(sb.alerts.empty());
}

TEST_CASE("cluster exchange: the ids of alerts whose alerts file flush failed are not published",
          "[ingest][kafka]") {
  TwoExchanges two;
  auto& a = two.a;
  auto& b = two.b;
  const uint64_t records = two.records;
  // `a` writes the member alerts, but its alerts file could not be flushed:
  // reported by the callback poll() calls after its writes, or by the
  // collector's flush_ids() after the batch.
  VecSink sa, sb;
  int flushes = 0;
  SECTION("the flush poll() asks for fails") {
    poll_until(*a, sa, [&] { return a->counters().records_received == records; },
               [&] { return ++flushes, AlertsOut::lost; });
    CHECK(flushes >= 1);
  }
  SECTION("the flush after poll() fails") {
    poll_until(*a, sa, [&] { return a->counters().records_received == records; });
    a->flush_ids(AlertsOut::lost);
  }
  REQUIRE(sa.alerts.size() >= 11);
  // `b` must not take them for written: it writes every one of them.
  poll_until(*b, sb, [&] { return b->counters().records_received == records; });
  REQUIRE(b->counters().records_received == records);
  CHECK(a->counters().alert_ids_published == 0);
  CHECK(b->counters().alert_ids_received == 0);
  CHECK(b->counters().duplicates_suppressed == 0);
  std::set<std::string> ids_a, ids_b;
  for (const Alert& x : sa.alerts) ids_a.insert(x.id);
  for (const Alert& x : sb.alerts) ids_b.insert(x.id);
  CHECK(ids_b == ids_a);
  // `a` does not take them for written either (its own replay writes them).
  CHECK_FALSE(a->already_written(sa.alerts.front()));
  // An alert written once the file works again is published, alone.
  Alert later = sa.alerts.front();
  later.id = "later-alert-id";
  a->note_written(later);
  CHECK(a->already_written(later));  // noted, not yet sent: no repeat meanwhile
  a->flush_ids(AlertsOut::written);
  CHECK(a->counters().alert_ids_published == 1);
  poll_until(*b, sb, [&] { return b->counters().alert_ids_received == 1; });
  CHECK(b->counters().alert_ids_received == 1);
  CHECK(b->already_written(later));
}

TEST_CASE("cluster exchange: accounts handed over to another instance are held, not written", "[ingest][kafka]") {
  MockCluster mc("fp");
  DetectorConfig cfg;
  const std::vector<std::string> cats = kCategories;
  const ClusterExchangeOptions o = exchange_options(mc);
  auto a = ClusterExchange::create(o, cfg, cats);
  REQUIRE(a);
  uint64_t records = 0;
  std::set<uint64_t> accounts;
  for (const EventBatch& batch : hydra_batches()) {
    (*a)->publish(batch, true);
    records += batch.events.size();
    for (const Event& ev : batch.events) accounts.insert(ev.account_hash);
  }
  REQUIRE((*a)->flush());
  (*a)->disown(std::vector<uint64_t>(accounts.begin(), accounts.end()));  // the partition moved away
  VecSink sa;
  poll_until(**a, sa, [&] { return (*a)->counters().records_received == records;  });
  CHECK(sa.alerts.empty());
  CHECK((*a)->counters().alerts_held >= 11);
  CHECK((*a)->counters().accounts_disowned == accounts.size());
}

TEST_CASE("cluster exchange: held ids are dropped when alerts are lost, and remembered unsent past kMaxHeldIds",
          "[ingest][kafka]") {
  MockCluster mc{"fp"};
  DetectorConfig cfg;
  auto x = ClusterExchange::create(exchange_options(mc), cfg, kCategories);
  REQUIRE(x);
  ClusterExchange& a = **x;
  auto alert = [](size_t i) {
    Alert al;
    al.id = "held-" + std::to_string(i);
    return al;
  };
  SECTION("held, then lost: dropped, neither sent nor taken for written") {
    a.note_written(alert(0));
    a.flush_ids(AlertsOut::held);
    CHECK(a.already_written(alert(0)));  // held: written later, not twice
    a.flush_ids(AlertsOut::lost);
    CHECK_FALSE(a.already_written(alert(0)));
    a.flush_ids(AlertsOut::written);
    CHECK(a.counters().alert_ids_published == 0);
  }
  SECTION("more than kMaxHeldIds held: taken for written here, never sent") {
    const size_t n = ClusterExchange::kMaxHeldIds + 1;
    for (size_t i = 0; i < n; ++i) a.note_written(alert(i));
    a.flush_ids(AlertsOut::held);
    a.flush_ids(AlertsOut::written);
    CHECK(a.counters().alert_ids_published == 0);
    CHECK(a.already_written(alert(0)));
    CHECK(a.already_written(alert(n - 1)));
  }
  SECTION("held, then written: sent") {
    a.note_written(alert(0));
    a.flush_ids(AlertsOut::held);
    CHECK(a.counters().alert_ids_published == 0);
    a.flush_ids(AlertsOut::written);
    CHECK(a.counters().alert_ids_published == 1);
  }
}

TEST_CASE("cluster exchange: a record published twice counts once while it is remembered", "[ingest][kafka]") {
  MockCluster mc{"fp"};
  DetectorConfig cfg;
  cfg.cluster.member_min_requests = 50;  // each hydra member sends ~33 requests: a cluster only if counted twice
  ClusterExchangeOptions o = exchange_options(mc);
  auto xa = ClusterExchange::create(o, cfg, kCategories);
  REQUIRE(xa);
  const size_t remembered = GENERATE(size_t{1} << 18, size_t{100});
  o.max_record_ids = remembered;
  auto xb = ClusterExchange::create(o, cfg, kCategories);
  REQUIRE(xb);
  ClusterExchange& a = **xa;
  ClusterExchange& b = **xb;
  const std::vector<EventBatch> batches = hydra_batches();
  uint64_t records = 0;
  for (const EventBatch& batch : batches) {
    a.publish(batch, true);
    b.publish(batch, false);  // b processes the hydra's accounts: it writes their member alerts
    records += batch.events.size();
  }
  for (const EventBatch& batch : batches) a.publish(batch, true);  // processed again after a crash
  REQUIRE(a.flush());
  VecSink sb;
  poll_until(b, sb, [&] { return b.counters().records_received == 2 * records; });
  const ClusterExchangeCounters c = b.counters();
  REQUIRE(c.records_received == 2 * records);
  if (remembered >= records) {
    CHECK(c.records_repeated == records);
    CHECK(c.record_ids_now == records);
    CHECK(c.record_ids_evicted == 0);
    CHECK(c.clusters_flagged == 0);
    CHECK(sb.alerts.empty());
  } else {  // the first copies are forgotten before the second ones arrive: counted twice, a cluster
    CHECK(c.records_repeated == 0);
    CHECK(c.record_ids_now == remembered);
    CHECK(c.record_ids_evicted == 2 * records - remembered);
    CHECK(c.clusters_flagged >= 1);
    CHECK_FALSE(sb.alerts.empty());
  }
}

TEST_CASE("cluster exchange: only a copy of the same record is a repeat", "[ingest][kafka]") {
  MockCluster mc{"fp"};
  DetectorConfig cfg;
  const ClusterExchangeOptions o = exchange_options(mc);
  auto xa = ClusterExchange::create(o, cfg, kCategories);
  REQUIRE(xa);
  auto xb = ClusterExchange::create(o, cfg, kCategories);
  REQUIRE(xb);
  EventBatch b;
  auto add = [&](const std::string& acct, const std::string& rid, int64_t t, int64_t tokens) {
    Event ev;
    ev.time_ms = t;
    ev.account = b.store(acct);
    ev.account_hash = hash_str(acct);
    ev.request_id = b.store(rid);
    ev.system_hash = 0x5157;
    ev.completion_tokens = tokens;
    ev.line_in_chunk = static_cast<uint32_t>(b.events.size());
    b.events.push_back(ev);
    ++b.lines;
  };
  const int64_t t0 = 1764000000000;
  add("acct-a", "req-1", t0, 100);
  add("acct-b", "req-1", t0, 100);         // the same id, another account
  add("acct-a", "req-1", t0 + 1000, 100);  // the same id, another time
  add("acct-a", "req-1", t0, 101);         // the same id and time, other content (an id that is not unique)
  add("acct-a", "", t0, 100);              // no id: never a repeat,
  add("acct-a", "", t0, 100);              // not even of an identical record
  (*xa)->publish(b, true);
  (*xa)->publish(b, true);  // and all of it again
  REQUIRE((*xa)->flush());
  VecSink sb;
  poll_until(**xb, sb, [&] { return (*xb)->counters().records_received == 12; });
  const ClusterExchangeCounters c = (*xb)->counters();
  REQUIRE(c.records_received == 12);
  CHECK(c.records_repeated == 4);  // the second copies of the four records with an id
  CHECK(c.record_ids_now == 4);
}

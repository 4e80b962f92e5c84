// Alert delivery: URL parsing, webhook batching, retries with backoff, the
// queue bound, receiver down -> up (nothing lost within the bound), and the
// Alertmanager payload, re-sends and resolution - against a real HTTP server
// on 127.0.0.1.
#include <catch2/catch.hpp>

#include <optional>
#include <set>

#include "sink/delivery.hpp"
#include "test_http_server.hpp"

using namespace ds;
using ds::test::count_of;
using ds::test::TestHttpServer;
using namespace std::chrono_literals;

namespace {

Alert make_alert(const std::string& account, double score = 0.9, const std::string& detector = "reasoning_elicitation_rate",
                 int n = 0) {
  Alert a;
  a.id = "id-" + account + "-" + std::to_string(n);
  a.time_ms = 1795861800000 + n;  // 2026-11-28T10:30:00Z
  a.account = account;
  a.score = score;
  a.critical = score >= 0.8;
  a.reasons.push_back({detector, 0.82, 0.3});
  a.requests = 4210;
  a.sample_request_ids = {"req_1", "req_2"};
  return a;
}

DeliveryOptions fast() {
  DeliveryOptions d;
  d.backoff_initial = 20ms;
  d.backoff_max = 100ms;
  d.request_timeout = 1000ms;
  d.flush_timeout = 5000ms;
  d.log_errors = false;
  return d;
}

// A port that nothing listens on (bound once, then released).
unsigned short free_port() {
  TestHttpServer s;
  return s.port();
}

}  // namespace

TEST_CASE("http URLs are parsed strictly", "[sink][http]") {
  auto u = parse_http_url("http://127.0.0.1:9093");
  REQUIRE(u);
  CHECK(u->host == "127.0.0.1");
  CHECK(u->port == "9093");
  CHECK(u->target == "/");
  CHECK(u->host_header == "127.0.0.1:9093");
  auto v = parse_http_url("http://[::1]:8080/hook/x?y=1");
  REQUIRE(v);
  CHECK(v->host == "::1");
  CHECK(v->port == "8080");
  CHECK(v->target == "/hook/x?y=1");
  auto w = parse_http_url("http://example.org/a");
  REQUIRE(w);
  CHECK(w->port == "80");
  CHECK_FALSE(parse_http_url("https://example.org/"));
  CHECK_FALSE(parse_http_url("ftp://example.org/"));
  CHECK_FALSE(parse_http_url("http://:80/"));
  CHECK_FALSE(parse_http_url("http://h:99999/"));
  CHECK_FALSE(parse_http_url("http://h:8x/"));
  CHECK_FALSE(parse_http_url("http://user:pw@h/"));
  CHECK(parse_http_url("https://x/").error().message.find("https is not supported") != std::string::npos);
}

TEST_CASE("http_post reports refused connections and timeouts", "[sink][http]") {
  auto u = parse_http_url("http://127.0.0.1:" + std::to_string(free_port()) + "/");
  REQUIRE(u);
  auto r = http_post(*u, "application/json", "[]", 1000ms);
  CHECK(r.status == 0);
  CHECK(r.error.find("connect") != std::string::npos);

  TestHttpServer slow;
  slow.set_delay(1500ms);
  auto su = parse_http_url(slow.url("/"));
  auto t0 = std::chrono::steady_clock::now();
  auto r2 = http_post(*su, "application/json", "[]", 200ms);
  CHECK(std::chrono::steady_clock::now() - t0 < 1200ms);
  CHECK(r2.status == 0);
  CHECK(r2.error.find("timed out") != std::string::npos);
}

TEST_CASE("format_time_utc_ms", "[sink]") {
  CHECK(format_time_utc_ms(0) == "1970-01-01T00:00:00.000Z");
  CHECK(format_time_utc_ms(1795861800123) == "2026-11-28T10:30:00.123Z");
}

TEST_CASE("webhook posts alert JSON in batches", "[sink][webhook]") {
  TestHttpServer srv;
  auto opt = fast();
  opt.max_batch = 4;
  auto s = WebhookAlertSink::create(srv.url("/hook"), opt);
  REQUIRE(s);
  for (int i = 0; i < 10; ++i) (*s)->write(make_alert("acct-" + std::to_string(i)));
  REQUIRE((*s)->flush());
  auto reqs = srv.requests();
  size_t alerts = 0;
  for (const auto& r : reqs) {
    CHECK(r.target == "/hook");
    CHECK(r.content_type == "application/json");
    CHECK(r.body.front() == '[');
    CHECK(r.body.back() == ']');
    size_t n = count_of(r.body, "\"account\":");
    CHECK(n <= 4);
    alerts += n;
  }
  CHECK(alerts == 10);
  CHECK(reqs.front().body.find("\"account\":\"acct-0\"") != std::string::npos);
  auto st = (*s)->stats();
  CHECK(st.sent == 10);
  CHECK(st.queued == 0);
  CHECK(st.dropped == 0);
  CHECK(st.last_success_unix > 0);
}

TEST_CASE("webhook ndjson mode", "[sink][webhook]") {
  TestHttpServer srv;
  auto s = WebhookAlertSink::create(srv.url("/"), fast(), /*ndjson=*/true);
  REQUIRE(s);
  (*s)->write(make_alert("a"));
  (*s)->write(make_alert("b"));
  REQUIRE((*s)->flush());
  std::string all;
  for (const auto& r : srv.requests()) {
    CHECK(r.content_type == "application/x-ndjson");
    all += r.body;
  }
  CHECK(count_of(all, "\n") == 2);
  CHECK(all.find("{\"id\":\"id-a-0\"") == 0);
}

TEST_CASE("receiver down then up: every queued alert is delivered once, in order", "[sink][webhook][retry]") {
  unsigned short port = free_port();
  auto opt = fast();
  opt.max_batch = 7;
  auto s = WebhookAlertSink::create("http://127.0.0.1:" + std::to_string(port) + "/", opt);
  REQUIRE(s);
  for (int i = 0; i < 50; ++i) (*s)->write(make_alert("acct-" + std::to_string(i)));
  std::this_thread::sleep_for(300ms);
  auto down = (*s)->stats();
  CHECK(down.sent == 0);
  CHECK(down.failed >= 2);  // retried
  CHECK(down.queued == 50);
  CHECK(down.dropped == 0);

  TestHttpServer srv(port);  // back up
  REQUIRE((*s)->flush());
  std::vector<std::string> order;
  for (const auto& r : srv.requests()) {
    for (size_t p = r.body.find("\"account\":\""); p != std::string::npos; p = r.body.find("\"account\":\"", p + 1)) {
      size_t b = p + 11;
      order.push_back(r.body.substr(b, r.body.find('"', b) - b));
    }
  }
  REQUIRE(order.size() == 50);
  for (int i = 0; i < 50; ++i) CHECK(order[static_cast<size_t>(i)] == "acct-" + std::to_string(i));
  auto up = (*s)->stats();
  CHECK(up.sent == 50);
  CHECK(up.queued == 0);
}

TEST_CASE("retries back off exponentially up to the cap", "[sink][retry]") {
  unsigned short port = free_port();
  DeliveryOptions opt = fast();
  opt.backoff_initial = 50ms;
  opt.backoff_max = 200ms;
  auto s = WebhookAlertSink::create("http://127.0.0.1:" + std::to_string(port) + "/", opt);
  REQUIRE(s);
  (*s)->write(make_alert("a"));
  std::this_thread::sleep_for(1000ms);
  // Attempts at ~0, 50, 150, 350, 550, 750, 950 ms: about 7; without backoff it would be hundreds.
  auto st = (*s)->stats();
  CHECK(st.failed >= 4);
  CHECK(st.failed <= 10);
}

TEST_CASE("the queue is bounded: beyond it alerts are dropped and counted", "[sink][queue]") {
  unsigned short port = free_port();
  DeliveryOptions opt = fast();
  opt.max_queue = 10;
  auto s = WebhookAlertSink::create("http://127.0.0.1:" + std::to_string(port) + "/", opt);
  REQUIRE(s);
  for (int i = 0; i < 15; ++i) (*s)->write(make_alert("acct-" + std::to_string(i)));
  auto st = (*s)->stats();
  CHECK(st.queued == 10);
  CHECK(st.dropped == 5);
  TestHttpServer srv(port);
  REQUIRE((*s)->flush());
  size_t n = 0;
  for (const auto& r : srv.requests()) n += count_of(r.body, "\"account\":");
  CHECK(n == 10);  // exactly the bound, none of them lost
  CHECK((*s)->stats().sent == 10);
}

TEST_CASE("a 4xx rejection is counted and not retried; 5xx is retried", "[sink][retry]") {
  TestHttpServer srv;
  srv.set_status(400);
  auto s = WebhookAlertSink::create(srv.url("/"), fast());
  REQUIRE(s);
  (*s)->write(make_alert("a"));
  REQUIRE((*s)->flush());
  auto st = (*s)->stats();
  CHECK(st.rejected == 1);
  CHECK(st.failed == 1);
  CHECK(st.sent == 0);

  srv.set_status(503);
  (*s)->write(make_alert("b"));
  std::this_thread::sleep_for(200ms);
  CHECK((*s)->stats().failed >= 3);
  CHECK((*s)->stats().queued == 1);
  srv.set_status(200);
  REQUIRE((*s)->flush());
  CHECK((*s)->stats().sent == 1);
}

TEST_CASE("flush waits a bounded time and names what was not delivered", "[sink][flush]") {
  unsigned short port = free_port();
  DeliveryOptions opt = fast();
  opt.flush_timeout = 300ms;
  auto s = WebhookAlertSink::create("http://127.0.0.1:" + std::to_string(port) + "/", opt);
  REQUIRE(s);
  (*s)->write(make_alert("a"));
  (*s)->write(make_alert("b"));
  auto t0 = std::chrono::steady_clock::now();
  auto r = (*s)->flush();
  auto took = std::chrono::steady_clock::now() - t0;
  CHECK(took >= 250ms);
  CHECK(took < 2000ms);
  REQUIRE_FALSE(r);
  CHECK(r.error().message.find("2 alert(s) not delivered") != std::string::npos);
  CHECK(r.error().message.find("Connection refused") != std::string::npos);
  // Destroying a sink with a dead receiver returns promptly.
  t0 = std::chrono::steady_clock::now();
  s->reset();
  CHECK(std::chrono::steady_clock::now() - t0 < 2000ms);
}

TEST_CASE("Alertmanager payload: labels group, annotations explain", "[sink][alertmanager]") {
  AlertmanagerOptions am;
  am.runbook_url = "https://runbooks.example/distillscan";
  am.generator_url = "http://scanner-1:9464/metrics";
  am.extra_labels = {{"team", "trust-safety"}};
  Alert a = make_alert("acct-123", 0.93);
  a.reasons.push_back({"logit_probe_rate", 0.5, 0.2});
  AlertmanagerSink::Entry e;
  e.account = a.account;
  e.severity = "critical";
  e.detectors = "logit_probe_rate,reasoning_elicitation_rate";
  e.annotations = AlertmanagerSink::annotations_json(a, am);
  e.starts_at = "2026-11-29T01:00:00.000Z";
  std::string j = AlertmanagerSink::render(e, am, "2026-11-29T01:04:00.000Z");
  CHECK(j.rfind("{\"labels\":{\"alertname\":\"DistillationSuspected\",\"account\":\"acct-123\","
                "\"severity\":\"critical\",\"detectors\":\"logit_probe_rate,reasoning_elicitation_rate\","
                "\"team\":\"trust-safety\"},\"annotations\":{\"summary\":",
                0) == 0);
  CHECK(j.find("\"startsAt\":\"2026-11-29T01:00:00.000Z\",\"endsAt\":\"2026-11-29T01:04:00.000Z\","
               "\"generatorURL\":\"http://scanner-1:9464/metrics\"}") != std::string::npos);
  CHECK(j.find("\"runbook_url\":\"https://runbooks.example/distillscan\"") != std::string::npos);
  CHECK(j.find("\"summary\":\"Account acct-123 looks like it is distilling the model (critical, score 0.93)\"") !=
        std::string::npos);
  CHECK(j.find("reasoning_elicitation_rate 0.82 (threshold 0.3); logit_probe_rate 0.5 (threshold 0.2)") !=
        std::string::npos);
  CHECK(j.find("sample requests: req_1, req_2") != std::string::npos);
  CHECK(j.find("\"alert_id\":\"id-acct-123-0\"") != std::string::npos);
  CHECK(j.find("\"event_time\":\"2026-11-28T10:30:00Z\"") != std::string::npos);
  // Per-request values never become labels.
  std::string labels = j.substr(0, j.find("\"annotations\""));
  CHECK(labels.find("req_1") == std::string::npos);
  CHECK(labels.find("id-acct") == std::string::npos);
  CHECK(labels.find("0.93") == std::string::npos);

  // Without runbook/generator they are omitted, not empty.
  AlertmanagerOptions bare;
  e.annotations = AlertmanagerSink::annotations_json(a, bare);
  std::string k = AlertmanagerSink::render(e, bare, "x");
  CHECK(k.find("runbook_url") == std::string::npos);
  CHECK(k.find("generatorURL") == std::string::npos);
}

TEST_CASE("Alertmanager: posted to /api/v2/alerts, re-sent while active, resolved when calm", "[sink][alertmanager]") {
  TestHttpServer srv;
  AlertmanagerOptions am;
  am.resend_interval = 200ms;
  am.resolve_after = 700ms;
  auto s = AlertmanagerSink::create(srv.url(), fast(), am);
  REQUIRE(s);
  auto t0 = std::chrono::steady_clock::now();
  (*s)->write(make_alert("acct-1"));
  REQUIRE(srv.wait_for([](const auto& r) { return !r.empty(); }));
  auto first = srv.requests().front();
  CHECK(first.target == "/api/v2/alerts");
  CHECK(first.content_type == "application/json");
  CHECK(first.body.find("\"account\":\"acct-1\"") != std::string::npos);
  CHECK((*s)->active() == 1);

  // Re-sent periodically while active.
  REQUIRE(srv.wait_for([](const auto& r) { return r.size() >= 3; }, 2000ms));
  CHECK(std::chrono::steady_clock::now() - t0 >= 350ms);

  // No new alert for resolve_after: one resolved notification (endsAt = now), then silence.
  auto wall = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch()).count();
  };
  std::string calm_from = format_time_utc_ms(wall() - 100);
  REQUIRE(srv.wait_for([&](const auto&) { return (*s)->active() == 0; }, 3000ms));
  REQUIRE((*s)->flush());
  std::string after = format_time_utc_ms(wall() + 1);
  auto reqs = srv.requests();
  std::string last = reqs.back().body;
  CHECK(std::chrono::steady_clock::now() - t0 >= 700ms);
  auto field = [](const std::string& b, const std::string& k) {
    size_t p = b.find("\"" + k + "\":\"");
    return p == std::string::npos ? std::string() : b.substr(p + k.size() + 4, 24);
  };
  CHECK(field(last, "startsAt") == field(first.body, "startsAt"));
  CHECK(field(last, "endsAt") >= calm_from);
  CHECK(field(last, "endsAt") <= after);
  CHECK(field(first.body, "endsAt") > field(first.body, "startsAt"));
  size_t n_after = srv.count();
  std::this_thread::sleep_for(500ms);
  CHECK(srv.count() == n_after);  // nothing re-sent after resolution
  auto st = (*s)->stats();
  CHECK(st.sent >= 4);
  CHECK(st.queued == 0);
}

TEST_CASE("Alertmanager: a changed severity resolves the previous label set", "[sink][alertmanager]") {
  TestHttpServer srv;
  AlertmanagerOptions am;
  am.resend_interval = 10s;
  auto s = AlertmanagerSink::create(srv.url("/"), fast(), am);
  REQUIRE(s);
  (*s)->write(make_alert("acct-7", 0.6));  // warning
  REQUIRE((*s)->flush());
  (*s)->write(make_alert("acct-7", 0.95));  // critical now
  REQUIRE((*s)->flush());
  std::string all;
  for (const auto& r : srv.requests()) all += r.body;
  size_t warn = all.rfind("\"severity\":\"warning\"");
  size_t crit = all.rfind("\"severity\":\"critical\"");
  REQUIRE(warn != std::string::npos);
  REQUIRE(crit != std::string::npos);
  CHECK((*s)->active() == 1);
  CHECK(count_of(all, "\"account\":\"acct-7\"") == 3);  // warning fired, warning resolved, critical fired
}

TEST_CASE("Alertmanager down then up: alerts raised meanwhile all arrive", "[sink][alertmanager][retry]") {
  unsigned short port = free_port();
  AlertmanagerOptions am;
  am.resend_interval = 60s;
  auto opt = fast();
  opt.max_batch = 8;
  auto s = AlertmanagerSink::create("http://127.0.0.1:" + std::to_string(port), opt, am);
  REQUIRE(s);
  for (int i = 0; i < 30; ++i) (*s)->write(make_alert("acct-" + std::to_string(i)));
  (*s)->write(make_alert("acct-3", 0.85, "reasoning_elicitation_rate", 1));  // a repeat coalesces
  std::this_thread::sleep_for(200ms);
  CHECK((*s)->stats().queued == 30);
  CHECK((*s)->stats().failed >= 1);
  TestHttpServer srv(port);
  REQUIRE((*s)->flush());
  std::set<std::string> accounts;
  for (const auto& r : srv.requests()) {
    CHECK(count_of(r.body, "\"alertname\"") <= 8);
    for (int i = 0; i < 30; ++i)
      if (r.body.find("\"account\":\"acct-" + std::to_string(i) + "\"") != std::string::npos)
        accounts.insert("acct-" + std::to_string(i));
  }
  CHECK(accounts.size() == 30);
  CHECK((*s)->stats().sent == 30);
  CHECK((*s)->stats().dropped == 0);
}

TEST_CASE("Alertmanager: the bound on held alerts drops and counts new accounts", "[sink][alertmanager][queue]") {
  unsigned short port = free_port();
  auto opt = fast();
  opt.max_queue = 5;
  auto s = AlertmanagerSink::create("http://127.0.0.1:" + std::to_string(port), opt, AlertmanagerOptions{});
  REQUIRE(s);
  for (int i = 0; i < 8; ++i) (*s)->write(make_alert("acct-" + std::to_string(i)));
  (*s)->write(make_alert("acct-0", 0.91, "reasoning_elicitation_rate", 2));  // known account: still updated
  auto st = (*s)->stats();
  CHECK(st.dropped == 3);
  CHECK(st.queued == 5);
}

TEST_CASE("Alertmanager URL forms", "[sink][alertmanager]") {
  TestHttpServer srv;
  for (std::string path : {"", "/", "/am", "/am/", "/api/v2/alerts"}) {
    auto s = AlertmanagerSink::create(srv.url(path), fast(), AlertmanagerOptions{});
    REQUIRE(s);
    (*s)->write(make_alert("a"));
    REQUIRE((*s)->flush());
  }
  auto reqs = srv.requests();
  REQUIRE(reqs.size() == 5);
  CHECK(reqs[0].target == "/api/v2/alerts");
  CHECK(reqs[1].target == "/api/v2/alerts");
  CHECK(reqs[2].target == "/am/api/v2/alerts");
  CHECK(reqs[3].target == "/am/api/v2/alerts");
  CHECK(reqs[4].target == "/api/v2/alerts");
  CHECK_FALSE(AlertmanagerSink::create("https://am:9093", fast(), AlertmanagerOptions{}));
}

TEST_CASE("fanout writes every sink and joins flush errors", "[sink]") {
  FanoutAlertSink f;
  auto mem = std::make_unique<MemoryAlertSink>();
  auto* m = mem.get();
  f.add(std::move(mem));
  DeliveryOptions opt = fast();
  opt.flush_timeout = 100ms;
  auto dead = WebhookAlertSink::create("http://127.0.0.1:" + std::to_string(free_port()) + "/", opt);
  REQUIRE(dead);
  f.add(std::move(*dead));
  f.write(make_alert("x"));
  CHECK(m->lines.size() == 1);
  auto r = f.flush();
  REQUIRE_FALSE(r);
  CHECK(r.error().message.find("webhook http://127.0.0.1:") == 0);
}

TEST_CASE("Alertmanager restarted: firing alerts are re-sent when it returns, not only at the next resend",
          "[sink][alertmanager][retry]") {
  AlertmanagerOptions am;
  am.resend_interval = 60s;  // far beyond this test: only the recovery re-send can deliver acct-a again
  auto opt = fast();
  opt.flush_timeout = 300ms;
  std::optional<TestHttpServer> first(std::in_place);
  unsigned short port = first->port();
  auto s = AlertmanagerSink::create(first->url(), opt, am);
  REQUIRE(s);
  (*s)->write(make_alert("acct-a"));
  REQUIRE((*s)->flush());
  REQUIRE(first->count() == 1);
  first.reset();  // Alertmanager stops (and forgets acct-a)

  (*s)->write(make_alert("acct-b"));  // raised while it is down
  REQUIRE(!(*s)->flush());  // cannot be delivered while it is down (flush_timeout below)
  TestHttpServer second(port);  // back, empty
  REQUIRE(second.wait_for([](const auto& reqs) {
    std::string all;
    for (const auto& r : reqs) all += r.body;
    return all.find("\"account\":\"acct-a\"") != std::string::npos &&
           all.find("\"account\":\"acct-b\"") != std::string::npos;
  }));
  std::string all;
  for (const auto& r : second.requests()) all += r.body;
  CHECK(count_of(all, "\"account\":\"acct-b\"") == 1);
  // acct-a went out again as firing: its endsAt is in the future, not a resolution.
  size_t p = all.find("\"account\":\"acct-a\"");
  size_t ends = all.find("\"endsAt\":\"", p);
  REQUIRE(ends != std::string::npos);
  auto wall_now = format_time_utc_ms(std::chrono::duration_cast<std::chrono::milliseconds>(
                                         std::chrono::system_clock::now().time_since_epoch())
                                         .count());
  CHECK(all.substr(ends + 10, 24) > wall_now);
  CHECK((*s)->active() == 2);
  CHECK((*s)->stats().failed >= 1);
  CHECK((*s)->stats().dropped == 0);
}

TEST_CASE("Alertmanager: no recovery re-send without a failure in between", "[sink][alertmanager]") {
  TestHttpServer srv;
  AlertmanagerOptions am;
  am.resend_interval = 60s;
  auto s = AlertmanagerSink::create(srv.url(), fast(), am);
  REQUIRE(s);
  (*s)->write(make_alert("acct-a"));
  REQUIRE((*s)->flush());
  (*s)->write(make_alert("acct-b"));
  REQUIRE((*s)->flush());
  std::string all;
  for (const auto& r : srv.requests()) all += r.body;
  CHECK(count_of(all, "\"account\":\"acct-a\"") == 1);
  CHECK(count_of(all, "\"account\":\"acct-b\"") == 1);
}

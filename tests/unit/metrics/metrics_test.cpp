// Metrics: the catalogue, per-batch updates, the top-K risk gauge, scrape-
// time values, delivery probes and the /metrics endpoint.
// GCC 12 reports false -Wmaybe-uninitialized inside Boost.Beast's parser and
// std::function when inlining under sanitizers; they are not ours to fix.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <catch2/catch.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <set>

#include "distillscan/version.hpp"
#include "metrics/catalogue.hpp"
#include "metrics/metrics.hpp"

using namespace ds;

namespace {

// The value of one series in a text exposition ("name{labels} value"), or NaN.
double value_of(const std::string& text, const std::string& series) {
  size_t p = 0;
  while ((p = text.find(series + " ", p)) != std::string::npos) {
    if (p == 0 || text[p - 1] == '\n') return std::stod(text.substr(p + series.size() + 1));
    p += series.size();
  }
  return std::nan("");
}

bool has_series(const std::string& text, const std::string& series) { return !std::isnan(value_of(text, series)); }

Alert alert(const std::string& account, double score, const std::string& detector = "reasoning_elicitation_rate") {
  Alert a;
  a.account = account;
  a.score = score;
  a.critical = score >= 0.8;
  a.reasons.push_back({detector, 0.5, 0.3});
  return a;
}

struct FakeClock {
  double now = 1'800'000'000.0;
  std::function<double()> fn() {
    return [this] { return now; };
  }
};

std::string http_get(int port, const std::string& target) {
  namespace beast = boost::beast;
  namespace http = beast::http;
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::resolver resolver(ioc);
  beast::tcp_stream stream(ioc);
  stream.connect(resolver.resolve("127.0.0.1", std::to_string(port)));
  http::request<http::empty_body> req{http::verb::get, target, 11};
  req.set(http::field::host, "127.0.0.1");
  http::write(stream, req);
  beast::flat_buffer buf;
  http::response<http::string_body> res;
  http::read(stream, buf, res);
  return res.body();
}

// One request on its own connection: {status, body}.
std::pair<int, std::string> http_request(int port, boost::beast::http::verb verb, const std::string& target,
                                         const std::string& body = "") {
  namespace beast = boost::beast;
  namespace http = beast::http;
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::resolver resolver(ioc);
  beast::tcp_stream stream(ioc);
  stream.connect(resolver.resolve("127.0.0.1", std::to_string(port)));
  http::request<http::string_body> req{verb, target, 11};
  req.set(http::field::host, "127.0.0.1");
  req.body() = body;
  req.prepare_payload();
  http::write(stream, req);
  beast::flat_buffer buf;
  http::response<http::string_body> res;
  http::read(stream, buf, res);
  return {static_cast<int>(res.result_int()), res.body()};
}

}  // namespace

TEST_CASE("the catalogue declares every contract name once, with conventional names", "[metrics]") {
  auto names = metric_catalogue_names();
  std::set<std::string> unique(names.begin(), names.end());
  CHECK(unique.size() == names.size());
  for (const char* contract :
       {"distillscan_lines_total", "distillscan_bytes_total", "distillscan_parse_errors_total",
        "distillscan_rule_matches_total", "distillscan_alerts_total", "distillscan_accounts_tracked",
        "distillscan_accounts_flagged", "distillscan_event_lag_seconds", "distillscan_build_info"})
    CHECK(unique.count(contract) == 1);
  for (const auto& n : names) {
    INFO(n);
    CHECK(n.rfind("distillscan_", 0) == 0);
    CHECK(n.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") == std::string::npos);
  }
  // Counters end in _total and only counters do (promtool's lint).
#define DS_X(id, type, name, help, ...)                                            \
  {                                                                              \
    std::string t = #type, nm = name;                                            \
    bool total = nm.size() > 6 && nm.compare(nm.size() - 6, 6, "_total") == 0;   \
    INFO(nm);                                                                    \
    CHECK(total == (t.rfind("counter", 0) == 0));                                \
    CHECK(std::string(help).size() > 10);                                        \
  }
  DS_METRIC_CATALOGUE(DS_X)
#undef DS_X
}

TEST_CASE("a fresh registry exports the contract series with zero values", "[metrics]") {
  MetricsOptions o;
  o.rule_ids = {"cot_show_reasoning", "dataset_bulk"};
  o.detectors = {"reasoning_elicitation_rate"};
  auto m = Metrics::create(o);
  REQUIRE(m);
  std::string t = (*m)->scrape();
  CHECK(value_of(t, "distillscan_lines_total") == 0);
  CHECK(value_of(t, "distillscan_bytes_total") == 0);
  CHECK(value_of(t, "distillscan_parse_errors_total{reason=\"invalid_json\"}") == 0);
  CHECK(value_of(t, "distillscan_parse_errors_total{reason=\"bad_account\"}") == 0);
  CHECK(value_of(t, "distillscan_rule_matches_total{rule=\"dataset_bulk\"}") == 0);
  CHECK(value_of(t, "distillscan_alerts_total{detector=\"reasoning_elicitation_rate\",severity=\"critical\"}") == 0);
  CHECK(value_of(t, "distillscan_accounts_tracked") == 0);
  CHECK(value_of(t, "distillscan_accounts_flagged") == 0);
  CHECK(value_of(t, std::string("distillscan_build_info{version=\"") + kVersion + "\"}") == 1);
  CHECK(value_of(t, "distillscan_rules_loaded") == 2);
  CHECK(value_of(t, "distillscan_rule_reloads_total{result=\"failure\"}") == 0);
  CHECK(value_of(t, "distillscan_accounts_evicted_total{reason=\"lru\"}") == 0);
  CHECK(t.find("# TYPE distillscan_lines_total counter") != std::string::npos);
  CHECK(t.find("# HELP distillscan_event_lag_seconds") == std::string::npos);  // no event yet: no lag
  CHECK((*m)->port() == 0);
  CHECK((*m)->endpoint_url().empty());
}

TEST_CASE("on_batch adds batch counts and syncs cumulative ones", "[metrics]") {
  FakeClock clock;
  MetricsOptions o;
  o.rule_ids = {"r0", "r1"};
  o.wall_clock = clock.fn();
  auto m = Metrics::create(o);
  REQUIRE(m);
  EventBatch b;
  b.lines = 10;
  b.bytes = 1000;
  b.events.resize(7);
  b.errors.add(ErrorReason::invalid_json, 2);
  b.errors.add(ErrorReason::empty_line, 1);
  b.field_type_errors = 4;
  std::vector<uint64_t> rules = {3, 0};
  BatchContext c;
  c.rule_matches_total = rules;
  c.accounts_tracked = 5;
  c.accounts_created = 6;
  c.accounts_evicted_idle = 1;
  c.watermark_ms = static_cast<int64_t>((clock.now - 30) * 1000);
  c.latency_seconds = 0.02;
  c.ring_in_flight = 3;
  c.ring_slots = 10;
  (*m)->on_batch(b, c);
  rules = {5, 2};
  c.accounts_tracked = 4;
  c.accounts_created = 6;
  c.accounts_evicted_idle = 2;
  c.accounts_evicted_lru = 1;
  c.input_errors = 1;
  (*m)->on_batch(b, c);
  clock.now += 15;
  std::string t = (*m)->scrape();
  CHECK(value_of(t, "distillscan_lines_total") == 20);
  CHECK(value_of(t, "distillscan_records_total") == 14);
  CHECK(value_of(t, "distillscan_bytes_total") == 2000);
  CHECK(value_of(t, "distillscan_parse_errors_total{reason=\"invalid_json\"}") == 4);
  CHECK(value_of(t, "distillscan_parse_errors_total{reason=\"empty_line\"}") == 2);
  CHECK(value_of(t, "distillscan_field_type_errors_total") == 8);
  CHECK(value_of(t, "distillscan_rule_matches_total{rule=\"r0\"}") == 5);
  CHECK(value_of(t, "distillscan_rule_matches_total{rule=\"r1\"}") == 2);
  CHECK(value_of(t, "distillscan_accounts_tracked") == 4);
  CHECK(value_of(t, "distillscan_accounts_created_total") == 6);
  CHECK(value_of(t, "distillscan_accounts_evicted_total{reason=\"idle\"}") == 2);
  CHECK(value_of(t, "distillscan_accounts_evicted_total{reason=\"lru\"}") == 1);
  CHECK(value_of(t, "distillscan_input_errors_total") == 1);
  CHECK(value_of(t, "distillscan_batches_total") == 2);
  CHECK(value_of(t, "distillscan_batch_latency_seconds_count") == 2);
  CHECK(value_of(t, "distillscan_batch_latency_seconds_bucket{le=\"0.025\"}") == 2);
  CHECK(value_of(t, "distillscan_batch_latency_seconds_bucket{le=\"0.01\"}") == 0);
  CHECK(value_of(t, "distillscan_pipeline_slots_in_flight") == 3);
  CHECK(value_of(t, "distillscan_pipeline_slots") == 10);
  // Lag is measured at scrape time: it grows while nothing new arrives.
  CHECK(value_of(t, "distillscan_event_lag_seconds") == Approx(45));
  CHECK(value_of(t, "distillscan_newest_event_timestamp_seconds") == Approx(clock.now - 45));
  clock.now += 100;
  CHECK(value_of((*m)->scrape(), "distillscan_event_lag_seconds") == Approx(145));
}

TEST_CASE("alerts count per detector and severity", "[metrics]") {
  auto m = Metrics::create({});
  REQUIRE(m);
  Alert a = alert("x", 0.9);
  a.reasons.push_back({"logit_probe_rate", 0.4, 0.2});
  (*m)->on_alert(a);
  (*m)->on_alert(alert("y", 0.5));
  std::string t = (*m)->scrape();
  CHECK(value_of(t, "distillscan_alerts_total{detector=\"reasoning_elicitation_rate\",severity=\"critical\"}") == 1);
  CHECK(value_of(t, "distillscan_alerts_total{detector=\"logit_probe_rate\",severity=\"critical\"}") == 1);
  CHECK(value_of(t, "distillscan_alerts_total{detector=\"reasoning_elicitation_rate\",severity=\"warning\"}") == 1);
}

TEST_CASE("the risk gauge holds the top K active accounts only", "[metrics][topk]") {
  FakeClock clock;
  MetricsOptions o;
  o.top_k = 3;
  o.flagged_for = std::chrono::seconds(100);
  o.wall_clock = clock.fn();
  auto m = Metrics::create(o);
  REQUIRE(m);
  (*m)->on_alert(alert("a", 0.5));
  (*m)->on_alert(alert("b", 0.9));
  (*m)->on_alert(alert("c", 0.7));
  (*m)->on_alert(alert("d", 0.6));
  std::string t = (*m)->scrape();
  CHECK(value_of(t, "distillscan_accounts_flagged") == 4);
  CHECK(value_of(t, "distillscan_account_risk_score{account=\"b\"}") == Approx(0.9));
  CHECK(value_of(t, "distillscan_account_risk_score{account=\"c\"}") == Approx(0.7));
  CHECK(value_of(t, "distillscan_account_risk_score{account=\"d\"}") == Approx(0.6));
  CHECK_FALSE(has_series(t, "distillscan_account_risk_score{account=\"a\"}"));

  // A riskier account pushes the lowest out of the gauge.
  clock.now += 50;
  (*m)->on_alert(alert("e", 0.95));
  t = (*m)->scrape();
  CHECK(has_series(t, "distillscan_account_risk_score{account=\"e\"}"));
  CHECK_FALSE(has_series(t, "distillscan_account_risk_score{account=\"d\"}"));
  CHECK(value_of(t, "distillscan_accounts_flagged") == 5);

  // The score is the highest while active: a lower repeat does not lower it.
  (*m)->on_alert(alert("b", 0.4));
  CHECK(value_of((*m)->scrape(), "distillscan_account_risk_score{account=\"b\"}") == Approx(0.9));

  // Accounts calm down after flagged_for without alerts and leave the gauge.
  clock.now += 60;  // a, c, d: 110 s since their alert; b: 60 s; e: 60 s
  t = (*m)->scrape();
  CHECK(value_of(t, "distillscan_accounts_flagged") == 2);
  CHECK(has_series(t, "distillscan_account_risk_score{account=\"b\"}"));
  CHECK(has_series(t, "distillscan_account_risk_score{account=\"e\"}"));
  CHECK_FALSE(has_series(t, "distillscan_account_risk_score{account=\"c\"}"));
  clock.now += 100;
  t = (*m)->scrape();
  CHECK(value_of(t, "distillscan_accounts_flagged") == 0);
  CHECK(t.find("distillscan_account_risk_score{") == std::string::npos);
}

TEST_CASE("top-K: K=0 exports no account label at all; memory is bounded", "[metrics][topk]") {
  FakeClock clock;
  MetricsOptions o;
  o.top_k = 0;
  o.max_flagged = 100;
  o.wall_clock = clock.fn();
  auto m = Metrics::create(o);
  REQUIRE(m);
  for (int i = 0; i < 1000; ++i) {
    clock.now += 1;
    (*m)->on_alert(alert("acct-" + std::to_string(i), 0.5));
  }
  std::string t = (*m)->scrape();
  CHECK(t.find("account=") == std::string::npos);
  CHECK(value_of(t, "distillscan_accounts_flagged") == 100);
}

TEST_CASE("delivery probes are read at scrape time", "[metrics]") {
  auto m = Metrics::create({});
  REQUIRE(m);
  DeliveryStats st;
  st.sent = 3;
  st.failed = 2;
  st.queued = 7;
  st.dropped = 1;
  (*m)->add_delivery_probe("alertmanager", "http://127.0.0.1:9093", [&] { return st; });
  std::string t = (*m)->scrape();
  std::string l = "{sink=\"alertmanager\",target=\"http://127.0.0.1:9093\"}";
  CHECK(value_of(t, "distillscan_alert_deliveries_total" + l) == 3);
  CHECK(value_of(t, "distillscan_alert_delivery_failures_total" + l) == 2);
  CHECK(value_of(t, "distillscan_alert_delivery_queued" + l) == 7);
  CHECK(value_of(t, "distillscan_alert_delivery_dropped_total" + l) == 1);
  CHECK(t.find("# TYPE distillscan_alert_deliveries_total counter") != std::string::npos);
  CHECK(t.find("# TYPE distillscan_alert_delivery_queued gauge") != std::string::npos);
  st.sent = 4;
  CHECK(value_of((*m)->scrape(), "distillscan_alert_deliveries_total" + l) == 4);
  (*m)->clear_delivery_probes();
  CHECK((*m)->scrape().find("alert_deliveries") == std::string::npos);
}

TEST_CASE("delivery request durations are a histogram per sink", "[metrics]") {
  auto m = Metrics::create({});
  REQUIRE(m);
  DeliveryStats st;
  st.request_seconds[0] = 2;   // <= 5 ms
  st.request_seconds[4] = 1;   // <= 100 ms
  st.request_seconds.back() = 1;  // > 10 s
  st.request_seconds_sum = 12.11;
  (*m)->add_delivery_probe("webhook", "http://127.0.0.1:1/x", [&] { return st; });
  std::string t = (*m)->scrape();
  std::string n = "distillscan_alert_delivery_request_seconds";
  std::string l = "sink=\"webhook\",target=\"http://127.0.0.1:1/x\"";
  CHECK(t.find("# TYPE " + n + " histogram") != std::string::npos);
  CHECK(value_of(t, n + "_bucket{" + l + ",le=\"0.005\"}") == 2);
  CHECK(value_of(t, n + "_bucket{" + l + ",le=\"0.05\"}") == 2);
  CHECK(value_of(t, n + "_bucket{" + l + ",le=\"0.1\"}") == 3);
  CHECK(value_of(t, n + "_bucket{" + l + ",le=\"10\"}") == 3);
  CHECK(value_of(t, n + "_bucket{" + l + ",le=\"+Inf\"}") == 4);
  CHECK(value_of(t, n + "_count{" + l + "}") == 4);
  CHECK(value_of(t, n + "_sum{" + l + "}") == Approx(12.11));
}

TEST_CASE("reloads are counted by result", "[metrics]") {
  auto m = Metrics::create({});
  REQUIRE(m);
  (*m)->on_reload(true, 12);
  (*m)->on_reload(false, 0);
  (*m)->on_reload(false, 0);
  std::string t = (*m)->scrape();
  CHECK(value_of(t, "distillscan_rule_reloads_total{result=\"success\"}") == 1);
  CHECK(value_of(t, "distillscan_rule_reloads_total{result=\"failure\"}") == 2);
  CHECK(value_of(t, "distillscan_rules_loaded") == 12);
}

TEST_CASE("listen addresses: loopback unless a host is given", "[metrics]") {
  CHECK(*metrics_listen_spec("9464") == "127.0.0.1:9464");
  CHECK(*metrics_listen_spec(":9464") == "127.0.0.1:9464");
  CHECK(*metrics_listen_spec("localhost:9464") == "127.0.0.1:9464");
  CHECK(*metrics_listen_spec("0.0.0.0:9464") == "0.0.0.0:9464");
  CHECK(*metrics_listen_spec("[::1]:9464") == "[::1]:9464");
  CHECK_FALSE(metrics_listen_spec("::1:9464"));
  CHECK_FALSE(metrics_listen_spec("host:port"));
  CHECK_FALSE(metrics_listen_spec("host:99999"));
  CHECK_FALSE(metrics_listen_spec(""));
  CHECK_FALSE(metrics_listen_spec("[::1]"));
}

TEST_CASE("the endpoint serves the scrape over HTTP", "[metrics][http]") {
  MetricsOptions o;
  o.listen = "127.0.0.1:0";
  auto m = Metrics::create(o);
  REQUIRE(m);
  int port = (*m)->port();
  REQUIRE(port > 0);
  CHECK((*m)->endpoint_url() == "http://127.0.0.1:" + std::to_string(port) + "/metrics");
  (*m)->on_alert(alert("acct-http", 0.9));
  std::string body = http_get(port, "/metrics");
  CHECK(value_of(body, std::string("distillscan_build_info{version=\"") + kVersion + "\"}") == 1);
  CHECK(value_of(body, "distillscan_account_risk_score{account=\"acct-http\"}") == Approx(0.9));
  CHECK(value_of(body, "distillscan_lines_total") == 0);

  // The same port cannot be bound twice: a clear error, no crash.
  MetricsOptions o2;
  o2.listen = "127.0.0.1:" + std::to_string(port);
  auto m2 = Metrics::create(o2);
  REQUIRE_FALSE(m2);
  CHECK(m2.error().message.find("cannot listen") != std::string::npos);
}

TEST_CASE("the endpoint serves no files and changes no state", "[metrics][http]") {
  namespace http = boost::beast::http;
  MetricsOptions o;
  o.listen = "127.0.0.1:0";
  auto m = Metrics::create(o);
  REQUIRE(m);
  int port = (*m)->port();
  REQUIRE(port > 0);
  for (std::string target : {"/etc/passwd", "/../../../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/index.html",
                             "/", "/CMakeCache.txt", "/proc/self/environ"}) {
    INFO(target);
    auto [status, body] = http_request(port, http::verb::get, target);
    CHECK(status == 404);
    CHECK(body.find("root:") == std::string::npos);
    CHECK(body.find("distillscan_") == std::string::npos);
  }
  for (auto verb : {http::verb::post, http::verb::put, http::verb::delete_}) {
    auto [status, body] = http_request(port, verb, "/metrics", "distillscan_lines_total 5\n");
    CHECK(status >= 400);
  }
  auto [status, body] = http_request(port, http::verb::get, "/metrics");
  CHECK(status == 200);
  CHECK(value_of(body, "distillscan_lines_total") == 0);
}

#include <catch2/catch.hpp>

#include "app/config.hpp"

using namespace ds;

TEST_CASE("empty config gives the defaults", "[app][config]") {
  auto c = load_config_text("", "c.yaml");
  REQUIRE(c.ok());
  REQUIRE(c->detector.window_seconds() == 3600);
  REQUIRE(c->framer.max_line_bytes == 8u << 20);
  REQUIRE(c->fields.pointer(Field::time) == "/timestamp");
}

TEST_CASE("config values are applied", "[app][config]") {
  auto c = load_config_text(R"(fields:
  account: /user/id
  ip:
limits:
  max_line_bytes: 1MiB
  chunk_bytes: 64KiB
  max_accounts: 5000
  account_idle: 3h
detector:
  bucket: 1m
  window: 30m
  min_requests: 7
  suppress: 2h
  categories:
    reasoning_elicitation: {threshold: 0.5, weight: 2}
parse:
  full_validation: false
report:
  top: 3
)",
                            "c.yaml");
  REQUIRE(c.ok());
  REQUIRE(c->fields.pointer(Field::account) == "/user/id");
  REQUIRE(c->fields.tokens(Field::ip).empty());
  REQUIRE(c->framer.max_line_bytes == 1u << 20);
  REQUIRE(c->framer.chunk_bytes == 64u << 10);
  REQUIRE(c->detector.max_accounts == 5000);
  REQUIRE(c->detector.account_idle_seconds == 3 * 3600);
  REQUIRE(c->detector.bucket_seconds == 60);
  REQUIRE(c->detector.buckets == 30);
  REQUIRE(c->detector.min_requests == 7);
  REQUIRE(c->detector.suppress_seconds == 7200);
  REQUIRE(c->detector.categories.size() == 1);
  REQUIRE(c->detector.categories[0].threshold == Approx(0.5));
  REQUIRE(c->detector.categories[0].weight == Approx(2));
  REQUIRE_FALSE(c->parse.full_validation);
  REQUIRE(c->report_top == 3);
}

TEST_CASE("config errors name the file and line", "[app][config]") {
  auto expect_error = [](const std::string& yaml, const std::string& needle) {
    auto c = load_config_text(yaml, "cfg.yaml");
    INFO(yaml);
    REQUIRE_FALSE(c.ok());
    INFO(c.error().message);
    REQUIRE(c.error().message.find(needle) != std::string::npos);
  };
  expect_error("detector:\n  windw: 1h\n", "cfg.yaml:2: unknown key 'windw'");
  expect_error("detector:\n  window: 7m\n", "cfg.yaml:2: detector.window must be a multiple");
  expect_error("limits:\n  max_line_bytes: lots\n", "cfg.yaml:2: limits.max_line_bytes: bad size");
  expect_error("detector:\n  bucket: 5 minutes\n", "cfg.yaml:2: detector.bucket");
  expect_error("fields:\n  time: timestamp\n", "cfg.yaml:2:");
  expect_error("fields:\n  colour: /x\n", "cfg.yaml:2:");
  expect_error("detector: [1, 2\n", "cfg.yaml:");
  expect_error("- just\n- a list\n", "cfg.yaml:1: the config must be a YAML map");
  expect_error("detector:\n  min_requests: -3\n", "cfg.yaml:2: detector.min_requests must be a number");
}

TEST_CASE("durations and sizes", "[app][config]") {
  REQUIRE(*parse_duration_seconds("90") == 90);
  REQUIRE(*parse_duration_seconds("5m") == 300);
  REQUIRE(*parse_duration_seconds("2d") == 172800);
  REQUIRE_FALSE(parse_duration_seconds("5w").ok());
  REQUIRE_FALSE(parse_duration_seconds("").ok());
  REQUIRE(*parse_size_bytes("8MiB") == 8u << 20);
  REQUIRE_FALSE(parse_size_bytes("8TB").ok());
}

TEST_CASE("limits.max_account_bytes", "[app][config]") {
  auto d = load_config_text("", "c.yaml");
  REQUIRE(d.ok());
  CHECK(d->detector.max_account_bytes == 256);
  auto c = load_config_text("limits:\n  max_account_bytes: 64\n", "c.yaml");
  REQUIRE(c.ok());
  CHECK(c->detector.max_account_bytes == 64);
  auto lo = load_config_text("limits:\n  max_account_bytes: 32\n", "c.yaml");
  REQUIRE(lo.ok());
  CHECK(lo->detector.max_account_bytes == 32);
  for (const char* bad : {"limits:\n  max_account_bytes: 31\n", "limits:\n  max_account_bytes: 0\n",
                          "limits:\n  max_account_bytes: many\n", "limits:\n  max_account_bytes: 100000\n"}) {
    auto e = load_config_text(bad, "c.yaml");
    INFO(bad);
    REQUIRE_FALSE(e.ok());
    CHECK(e.error().message.find("c.yaml:2: limits.max_account_bytes") != std::string::npos);
  }
}

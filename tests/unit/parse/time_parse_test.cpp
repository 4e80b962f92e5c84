// Event-time parsing: RFC 3339 strings and epoch numbers.
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <string>

#include "parse/line_parser.hpp"

using namespace ds;

namespace {
int64_t ms(std::string_view s) {
  int64_t v = -1;
  INFO(s);
  REQUIRE(parse_rfc3339_ms(s, v));
  return v;
}
bool rejects(std::string_view s) {
  int64_t v = 12345;
  bool ok = parse_rfc3339_ms(s, v);
  return !ok && v == 12345;  // untouched on failure
}
}  // namespace

TEST_CASE("RFC 3339: valid forms", "[parse][time]") {
  CHECK(ms("1970-01-01T00:00:00Z") == 0);
  CHECK(ms("2026-11-28T10:15:00Z") == 1795860900000);
  CHECK(ms("2026-11-28t10:15:00z") == 1795860900000);
  CHECK(ms("2026-11-28 10:15:00Z") == 1795860900000);
  CHECK(ms("2026-11-28T10:15:00") == 1795860900000);  // no zone: UTC
  CHECK(ms("2026-11-28T11:15:00+01:00") == 1795860900000);
  CHECK(ms("2026-11-28T05:45:00-04:30") == 1795860900000);
  CHECK(ms("2026-11-28T10:15:00-00:00") == 1795860900000);
  CHECK(ms("2026-11-29T10:14:00+23:59") == 1795860900000);
  CHECK(ms("2023-11-14T22:13:20Z") == 1700000000000);
  CHECK(ms("2000-01-01T00:00:00Z") == 946684800000);
  CHECK(ms("2286-11-20T17:46:40Z") == 10000000000000);  // the upper bound itself
}

TEST_CASE("RFC 3339: fractions of any length are truncated to ms", "[parse][time]") {
  const int64_t base = 1700000000000;
  CHECK(ms("2023-11-14T22:13:20.1Z") == base + 100);
  CHECK(ms("2023-11-14T22:13:20.12Z") == base + 120);
  CHECK(ms("2023-11-14T22:13:20.123Z") == base + 123);
  CHECK(ms("2023-11-14T22:13:20.1239Z") == base + 123);
  CHECK(ms("2023-11-14T22:13:20.99999Z") == base + 999);
  CHECK(ms("2023-11-14T22:13:20.123456Z") == base + 123);
  CHECK(ms("2023-11-14T22:13:20.1234567Z") == base + 123);
  CHECK(ms("2023-11-14T22:13:20.12345678Z") == base + 123);
  CHECK(ms("2023-11-14T22:13:20.123456789Z") == base + 123);
  CHECK(ms("2023-11-14T22:13:20.000000000000000000001Z") == base);
  CHECK(ms("2023-11-14T22:13:20.5+00:00") == base + 500);
  CHECK(ms("2023-11-14T22:13:20.123456") == base + 123);
}

TEST_CASE("RFC 3339: calendar and clock ranges", "[parse][time]") {
  CHECK(ms("2024-02-29T00:00:00Z") == 1709164800000);  // leap year
  CHECK(ms("2000-02-29T00:00:00Z") == 951782400000);   // divisible by 400
  CHECK(rejects("2023-02-29T00:00:00Z"));
  CHECK(rejects("2100-02-29T00:00:00Z"));                           // divisible by 100, not 400
  CHECK(ms("2023-12-31T23:59:60Z") == ms("2023-12-31T23:59:59Z"));  // leap second clamps
  CHECK(rejects("2023-04-31T00:00:00Z"));
  CHECK(ms("2023-01-31T00:00:00Z") > 0);
  CHECK(rejects("2023-00-10T00:00:00Z"));
  CHECK(rejects("2023-13-10T00:00:00Z"));
  CHECK(rejects("2023-01-00T00:00:00Z"));
  CHECK(rejects("2023-01-32T00:00:00Z"));
  CHECK(rejects("2023-01-01T24:00:00Z"));
  CHECK(rejects("2023-01-01T00:60:00Z"));
  CHECK(rejects("2023-01-01T00:00:61Z"));
  CHECK(rejects("2023-01-01T00:00:00+24:00"));
  CHECK(rejects("2023-01-01T00:00:00+01:60"));
}

TEST_CASE("RFC 3339: malformed strings", "[parse][time]") {
  for (const char* s : {"",
                        "2023",
                        "2023-01-01",
                        "2023-01-01T",
                        "2023-01-01T00:00",
                        "2023-1-01T00:00:00Z",
                        "2023-01-01X00:00:00Z",
                        "2023-01-01T00:00:00.Z",
                        "2023-01-01T00:00:00ZZ",
                        "2023-01-01T00:00:00+0100",
                        "2023-01-01T00:00:00+01",
                        "2023-01-01T00:00:00 Z",
                        "2023-01-01T00:00:00Z ",
                        " 2023-01-01T00:00:00Z",
                        "2023-01-01T00:00:00UTC",
                        "+2023-01-01T00:00:00Z",
                        "2023/01/01T00:00:00Z",
                        "２０２３-01-01T00:00:00Z",
                        "2023-01-01T0a:00:00Z",
                        "1700000000",
                        "1969-12-31T23:59:59Z",
                        "1970-01-01T00:00:00+00:01",
                        "2286-11-20T17:46:40.001Z",
                        "9999-12-31T23:59:59Z"}) {
    INFO(s);
    CHECK(rejects(s));
  }
}

TEST_CASE("epoch numbers: seconds below 1e11, else milliseconds", "[parse][time]") {
  int64_t v = 0;
  REQUIRE(epoch_to_ms(0, v));
  CHECK(v == 0);
  REQUIRE(epoch_to_ms(1700000000, v));
  CHECK(v == 1700000000000);
  REQUIRE(epoch_to_ms(1700000000.9999, v));
  CHECK(v == 1700000000999);
  REQUIRE(epoch_to_ms(9999999999.0, v));  // seconds, year 2286
  CHECK(v == 9999999999000);
  REQUIRE(epoch_to_ms(1e11, v));  // milliseconds from here on
  CHECK(v == 100000000000);
  REQUIRE(epoch_to_ms(1700000000123.0, v));
  CHECK(v == 1700000000123);
  REQUIRE(epoch_to_ms(1e13, v));
  CHECK(v == 10000000000000);
  v = 42;
  CHECK_FALSE(epoch_to_ms(1e13 + 1, v));
  CHECK_FALSE(epoch_to_ms(99999999999.0, v));  // seconds (< 1e11), but beyond year 2286
  CHECK_FALSE(epoch_to_ms(-1, v));
  CHECK_FALSE(epoch_to_ms(-1700000000, v));
  CHECK_FALSE(epoch_to_ms(std::nan(""), v));
  CHECK_FALSE(epoch_to_ms(std::numeric_limits<double>::infinity(), v));
  CHECK_FALSE(epoch_to_ms(-std::numeric_limits<double>::infinity(), v));
  CHECK_FALSE(epoch_to_ms(1e300, v));
  CHECK(v == 42);
}

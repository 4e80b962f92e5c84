// One outcome per line: every error reason, line endings, chunk splitting.
#include <catch2/catch.hpp>
#include <string>

#include "parse_test_util.hpp"

using namespace ds;
using test::parse_one;

namespace {

ErrorReason reason(std::string_view line, ParseOptions opt = {}) {
  return parse_one(line, nullptr, opt).reason();
}

std::string nested(size_t depth, const char* open, const char* close, const char* inner) {
  std::string s;
  for (size_t i = 0; i < depth; ++i) s += open;
  s += inner;
  for (size_t i = 0; i < depth; ++i) s += close;
  return s;
}

}  // namespace

TEST_CASE("empty lines", "[parse][errors]") {
  for (const char* s : {"", "\r", " ", "\t \t", "   \r", "\n", " \r\n"}) {
    INFO('"' << s << '"');
    CHECK(reason(s) == ErrorReason::empty_line);
  }
  CHECK(reason("\f") == ErrorReason::invalid_json);  // not JSON whitespace
  CHECK(reason("\r\r") == ErrorReason::empty_line);  // '\r' is JSON whitespace anyway
}

TEST_CASE("invalid UTF-8", "[parse][errors]") {
  CHECK(reason("{\"timestamp\":0,\"account_id\":\"a\xff\"}") == ErrorReason::invalid_utf8);
  CHECK(reason("{\"timestamp\":0,\"account_id\":\"a\",\"x\":\"\xc3\"}") == ErrorReason::invalid_utf8);
  CHECK(reason("{\"timestamp\":0,\"account_id\":\"a\",\"x\":\"\xed\xa0\x80\"}") == ErrorReason::invalid_utf8);
  // Even where nothing is mapped and validation is lazy: stage 1 checks every byte.
  CHECK(reason("{\"timestamp\":0,\"account_id\":\"a\",\"x\":\"\xc0\xaf\"}", ParseOptions{false}) ==
        ErrorReason::invalid_utf8);
}

TEST_CASE("nesting depth", "[parse][errors]") {
  const std::string head = R"({"timestamp":0,"account_id":"a","x":)";
  // Root object = level 1, so 1023 more levels are fine and 1024 are too many.
  CHECK(parse_one(head + nested(1023, "[", "]", "1") + "}").ok());
  CHECK(reason(head + nested(1024, "[", "]", "1") + "}") == ErrorReason::too_deep);
  CHECK(reason(head + nested(5000, "{\"k\":", "}", "1") + "}") == ErrorReason::too_deep);
  // Hostile nesting in a mapped path is bounded the same way.
  CHECK(reason(R"({"timestamp":0,"account_id":"a","request":{"messages":)" + nested(3000, "[", "]", "") +
               "}}") == ErrorReason::too_deep);
  CHECK(reason(nested(1024, "[", "]", "")) == ErrorReason::not_an_object);
  CHECK(reason(nested(1025, "[", "]", "")) == ErrorReason::too_deep);
  CHECK(reason(nested(100000, "[", "]", "")) == ErrorReason::too_deep);
  // Lazy validation skips unmapped values without recursion: no limit there.
  CHECK(parse_one(head + nested(100000, "[", "]", "") + "}", nullptr, ParseOptions{false}).ok());
}

TEST_CASE("invalid JSON", "[parse][errors]") {
  for (const char* s :
       {"{",
        "}",
        "{\"timestamp\":0,",
        "{\"timestamp\":0,\"account_id\":\"a\"",
        "{\"timestamp\":0,\"account_id\":\"a\"}}",
        "{\"timestamp\":0,\"account_id\":\"a\"} x",
        "{\"timestamp\":0,\"account_id\":\"a\"}{}",
        "{\"timestamp\":0,\"account_id\":\"a\",}",
        "{\"timestamp\":0 \"account_id\":\"a\"}",
        "{timestamp:0}",
        "{'timestamp':0}",
        "{\"timestamp\":01,\"account_id\":\"a\"}",
        "{\"timestamp\":-,\"account_id\":\"a\"}",
        "{\"timestamp\":1.,\"account_id\":\"a\"}",
        "{\"timestamp\":0,\"account_id\":\"a\\x\"}",
        "{\"timestamp\":0,\"account_id\":\"a\",\"z\":tru}",
        "{\"timestamp\":0,\"account_id\":\"a\",\"z\":nul}",
        "{\"timestamp\":0,\"account_id\":\"a\",\"z\":[1,]}",
        "{\"timestamp\":0,\"account_id\":\"a\",\"z\":{\"k\"}}",
        "{\"timestamp\":0,\"account_id\":\"a\",\"z\":\"\\uD80\"}",
        "{\"timestamp\":0,\"account_id\":\"a\",\"z\":NaN}",
        "{\"timestamp\":0,\"account_id\":\"a\",\"z\":\"tab\there\"}",
        "{\"timestamp\":0,\"account_id\":\"a\",\"request\":{\"temperature\":+1}}",
        "{\"timestamp\":0,\"account_id\":\"a\",\"request\":{\"logprobs\":truth}}",
        R"({"timestamp":0,"account_id":"a","request":{"messages":[{"role":"user","content":"x",}]}})",
        "[1,]",
        "[1] [2]",
        "\"unterminated",
        "tru",
        "1 2",
        "\"a\" \"b\"",
        "nul"}) {
    INFO(s);
    CHECK(reason(s) == ErrorReason::invalid_json);
  }
  // Raw control characters in strings are syntax errors even in lazy mode.
  CHECK(reason("{\"timestamp\":0,\"account_id\":\"a\",\"z\":\"x\x01y\"}", ParseOptions{false}) ==
        ErrorReason::invalid_json);
}

TEST_CASE("a string followed by ':' where a value ends is invalid", "[parse][errors]") {
  // simdjson's skip takes such a string for a key; the walk must not skip
  // strings (regression found by mutating real records).
  for (const char* s :
       {R"({"timestamp":0,"account_id":"a","x":"y":1})", R"({"timestamp":0,"account_id":"a","x":["y":1]})",
        R"({"timestamp":"2026-01-01T00:00:0quest_id":5,"account_id":"a"})",
        R"({"timestamp":0,"account_id":"a":"b"})", R"(["a":1])",
        R"({"timestamp":0,"account_id":"a","request":{"messages":[{"role":"user":"x"}]}})",
        R"({"timestamp":0,"account_id":"a","tools":[{"type":"function"},"type":"function",{}]})"}) {
    INFO(s);
    CHECK(reason(s) == ErrorReason::invalid_json);
  }
  // Lazy validation still rejects it in mapped values (it skips unmapped ones unchecked).
  CHECK(reason(R"({"timestamp":"2026-01-01T00:00:00Z":5,"account_id":"a"})", ParseOptions{false}) ==
        ErrorReason::invalid_json);
  CHECK(reason(R"({"timestamp":0,"account_id":"a":"b"})", ParseOptions{false}) == ErrorReason::invalid_json);
}

TEST_CASE("numbers beyond double range are still valid JSON", "[parse][errors]") {
  // RFC 8259 leaves range to implementations; a huge number in an unmapped
  // field must not drop the record (simdjson's DOM would say NUMBER_ERROR).
  CHECK(parse_one(R"({"timestamp":0,"account_id":"a","x":[1e400,-1e400,123456789012345678901234567890]})")
            .ok());
  auto r = parse_one(R"({"timestamp":0,"account_id":"a","request":{"max_tokens":1e400}})");
  REQUIRE(r.ok());
  CHECK(r.batch.field_type_errors == 1);
}

TEST_CASE("not an object", "[parse][errors]") {
  for (const char* s : {"[]", "[1,{\"a\":[null]}]", "1", "-0.5e3", "\"str\"", "\"esc\\n\"", "true", "false",
                        "null", " [ ] ", "\"\""}) {
    INFO(s);
    CHECK(reason(s) == ErrorReason::not_an_object);
  }
}

TEST_CASE("missing and bad time/account; time is checked first", "[parse][errors]") {
  CHECK(reason(R"({})") == ErrorReason::missing_time);
  CHECK(reason(R"({"account_id":"a"})") == ErrorReason::missing_time);
  CHECK(reason(R"({"account_id":"a","timestamp":null})") == ErrorReason::missing_time);
  CHECK(reason(R"({"timestamp":0})") == ErrorReason::missing_account);
  CHECK(reason(R"({"timestamp":0,"account_id":null})") == ErrorReason::missing_account);
  CHECK(reason(R"({"timestamp":"yesterday","account_id":"a"})") == ErrorReason::bad_time);
  CHECK(reason(R"({"timestamp":"yesterday"})") == ErrorReason::bad_time);
  CHECK(reason(R"({"timestamp":true,"account_id":"a"})") == ErrorReason::bad_time);
  CHECK(reason(R"({"timestamp":{},"account_id":"a"})") == ErrorReason::bad_time);
  CHECK(reason(R"({"timestamp":-5,"account_id":"a"})") == ErrorReason::bad_time);
  CHECK(reason(R"({"timestamp":1e300,"account_id":"a"})") == ErrorReason::bad_time);
  CHECK(reason(R"({"timestamp":0,"account_id":""})") == ErrorReason::bad_account);
  CHECK(reason(R"({"timestamp":0,"account_id":1.5})") == ErrorReason::bad_account);
  CHECK(reason(R"({"timestamp":0,"account_id":2.0})") == ErrorReason::bad_account);
  CHECK(reason(R"({"timestamp":0,"account_id":[]})") == ErrorReason::bad_account);
  CHECK(reason(R"({"timestamp":0,"account_id":false})") == ErrorReason::bad_account);
  CHECK(reason(R"({"timestamp":"x","account_id":""})") == ErrorReason::bad_time);
  CHECK(reason(R"({"account_id":""})") == ErrorReason::missing_time);
  // A wrong-typed time does not hide later syntax errors.
  CHECK(reason(R"({"timestamp":"x","account_id":"a","z":[,]})") == ErrorReason::invalid_json);
}

TEST_CASE("CRLF, BOM and surrounding whitespace", "[parse][errors]") {
  CHECK(parse_one("{\"timestamp\":0,\"account_id\":\"a\"}\r").ok());
  CHECK(parse_one("  {\"timestamp\":0,\"account_id\":\"a\"}  \t\r").ok());
  CHECK(parse_one("\xEF\xBB\xBF{\"timestamp\":0,\"account_id\":\"a\"}").ok());
  CHECK(reason("{\"timestamp\":0,\"account_id\":\"a\"}\r\r") ==
        ErrorReason::kCount);  // '\r' is JSON whitespace
}

TEST_CASE("parse_chunk: lines, bytes, indexes", "[parse][chunk]") {
  LineParser p(FieldMapping::defaults(), {});
  const std::string good = R"({"timestamp":0,"account_id":"a"})";
  std::string data = good + "\n\n" + good + "\r\n" + "[1]\n" + "{bad\n" + good;  // last line without '\n'
  std::string buf = test::padded(data);
  EventBatch b;
  p.parse_chunk(buf.data(), data.size(), nullptr, b);
  CHECK(b.lines == 6);
  CHECK(b.bytes == data.size());
  REQUIRE(b.events.size() == 3);
  CHECK(b.events[0].line_in_chunk == 0);
  CHECK(b.events[1].line_in_chunk == 2);
  CHECK(b.events[2].line_in_chunk == 5);
  CHECK(b.errors.get(ErrorReason::empty_line) == 1);
  CHECK(b.errors.get(ErrorReason::not_an_object) == 1);
  CHECK(b.errors.get(ErrorReason::invalid_json) == 1);
  CHECK(b.events.size() + b.errors.total() == b.lines);

  SECTION("a chunk ending in '\\n' has no extra empty line; an empty chunk has none") {
    EventBatch c;
    std::string d2 = good + "\n" + good + "\n";
    std::string b2 = test::padded(d2);
    p.parse_chunk(b2.data(), d2.size(), nullptr, c);
    CHECK(c.lines == 2);
    CHECK(c.events.size() == 2);
    EventBatch e;
    p.parse_chunk(b2.data(), 0, nullptr, e);
    CHECK(e.lines == 0);
    CHECK(e.bytes == 0);
  }
  SECTION("counts accumulate across calls") {
    p.parse_chunk(buf.data(), data.size(), nullptr, b);
    CHECK(b.lines == 12);
    CHECK(b.bytes == 2 * data.size());
    CHECK(b.events.size() + b.errors.total() == b.lines);
  }
}

TEST_CASE("arena holds ids of every event", "[parse][chunk]") {
  LineParser p(FieldMapping::defaults(), {});
  std::string data;
  for (int i = 0; i < 100; ++i)
    data += R"({"timestamp":0,"account_id":"acct-)" + std::to_string(i) + R"(","request_id":"r)" +
            std::to_string(i) + "\"}\n";
  std::string buf = test::padded(data);
  EventBatch b;
  p.parse_chunk(buf.data(), data.size(), nullptr, b);
  REQUIRE(b.events.size() == 100);
  for (int i = 0; i < 100; ++i) {
    CHECK(b.view(b.events[i].account) == "acct-" + std::to_string(i));
    CHECK(b.view(b.events[i].request_id) == "r" + std::to_string(i));
  }
}

TEST_CASE("a long line after short ones grows the parser", "[parse][chunk]") {
  LineParser p(FieldMapping::defaults(), {});
  std::string big(300000, 'x');
  auto small = test::parse_one(p, R"({"timestamp":0,"account_id":"a"})");
  CHECK(small.ok());
  auto r = test::parse_one(p, R"({"timestamp":0,"account_id":"a","request":{"prompt":")" + big + "\"}}");
  REQUIRE(r.ok());
  CHECK(r.event().user_chars == big.size());
  CHECK(test::parse_one(p, R"({"timestamp":0,"account_id":"b"})").account() == "b");
}

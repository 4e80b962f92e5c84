// Hostile records fed straight to LineParser: whatever the bytes, every line
// has exactly one outcome (one event or one error reason), nothing crashes,
// and a hostile line never disturbs its neighbours in the same chunk.
// The same classes run end to end in tests/e2e/hostile_input.sh; the fuzzer
// (fuzz/fuzz_line.cpp) covers what these examples do not.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "core/chunk.hpp"
#include "parse/line_parser.hpp"

using namespace ds;

namespace {

constexpr std::string_view kHead = R"({"timestamp":"2026-11-28T10:15:00Z","account_id":"acct")";

// Result of one hostile line, parsed alone and between two good lines.
struct Outcome {
  EventBatch alone;
  bool ok() const { return alone.events.size() == 1; }
  const Event& event() const { return alone.events.at(0); }
  std::string_view account() const { return alone.view(event().account); }
  ErrorReason reason() const {
    for (size_t i = 0; i < kErrorReasonCount; ++i)
      if (alone.errors.n[i] != 0) return static_cast<ErrorReason>(i);
    return ErrorReason::kCount;  // an event
  }
};

// Parses `line` with a fresh parser (strict or lazy validation). Checks the
// one-outcome rule, and that inside a chunk "good \n line \n good" the good
// lines are unaffected and the hostile line has the same outcome as alone.
Outcome parse(std::string_view line, bool full_validation = true) {
  LineParser p(FieldMapping::defaults(), ParseOptions{full_validation});
  Outcome o;
  {
    std::string buf(line);
    buf.append(kChunkPadding, '"');  // garbage padding: the parser must not rely on zeros
    p.parse_line(std::string_view(buf.data(), line.size()), 0, nullptr, o.alone);
  }
  REQUIRE(o.alone.events.size() + o.alone.errors.total() == 1);

  const std::string good1 = R"({"timestamp":"2026-11-28T10:15:00Z","account_id":"good1"})";
  const std::string good2 = R"({"timestamp":"2026-11-28T10:15:01Z","account_id":"good2"})";
  std::string chunk = good1 + "\n" + std::string(line) + "\n" + good2 + "\n";
  const size_t n = chunk.size();
  chunk.append(kChunkPadding, '\0');
  EventBatch b;
  p.parse_chunk(chunk.data(), n, nullptr, b);
  REQUIRE(b.lines == 3 + static_cast<uint64_t>(std::count(line.begin(), line.end(), '\n')));
  REQUIRE(b.events.size() + b.errors.total() == b.lines);
  REQUIRE(b.events.size() >= 2);
  CHECK(b.view(b.events.front().account) == "good1");
  CHECK(b.view(b.events.back().account) == "good2");
  if (line.find('\n') == std::string_view::npos) {
    CHECK(b.events.size() == 2 + o.alone.events.size());
    for (size_t i = 0; i < kErrorReasonCount; ++i) CHECK(b.errors.n[i] == o.alone.errors.n[i]);
  }
  return o;
}

std::string nested(size_t depth, std::string_view open, std::string_view close, std::string_view inner) {
  std::string s;
  s.reserve(depth * (open.size() + close.size()) + inner.size());
  for (size_t i = 0; i < depth; ++i) s += open;
  s += inner;
  for (size_t i = 0; i < depth; ++i) s += close;
  return s;
}

std::string with(std::string_view members) { return std::string(kHead) + "," + std::string(members) + "}"; }

}  // namespace

TEST_CASE("hostile: deep nesting at 1k, 10k and 100k levels", "[parse][hostile]") {
  // The root object is level 1; the parser allows 1024 levels (kMaxDepth).
  for (size_t depth : {1000u, 10000u, 100000u}) {
    INFO("depth " << depth);
    const bool within = depth + 1 <= 1024;
    const ErrorReason deep = ErrorReason::too_deep;
    // Unmapped value: arrays, objects, mixed.
    for (bool strict : {true, false}) {
      INFO("full_validation " << strict);
      auto arrays = parse(with("\"x\":" + nested(depth, "[", "]", "1")), strict);
      auto objects = parse(with("\"x\":" + nested(depth, "{\"k\":", "}", "null")), strict);
      auto mixed = parse(with("\"x\":" + nested(depth / 2, "[{\"a\":", "}]", "\"s\"")), strict);
      if (within || !strict) {  // lazy validation skips unmapped values without recursing
        CHECK(arrays.ok());
        CHECK(objects.ok());
        CHECK(mixed.ok());
      } else {
        CHECK(arrays.reason() == deep);
        CHECK(objects.reason() == deep);
        CHECK(mixed.reason() == deep);
      }
      // Mapped paths: the walk itself bounds recursion, lazy or not.
      auto in_messages = parse(with("\"request\":{\"messages\":" + nested(depth, "[", "]", "") + "}"), strict);
      auto in_content = parse(
          with(R"("request":{"messages":[{"role":"user","content":[{"type":"text","text":)" +
               nested(depth, "[", "]", "") + "}]}]}"),
          strict);
      auto in_logit_bias =
          parse(with("\"request\":{\"logit_bias\":{\"1\":" + nested(depth, "[", "]", "") + "}}"), strict);
      auto in_request = parse(with("\"request\":" + nested(depth, "{\"request\":", "}", "{}")), strict);
      if (within) {
        CHECK(in_messages.ok());
        CHECK(in_content.ok());
        CHECK(in_logit_bias.ok());
        CHECK(in_request.ok());
      } else if (strict) {
        CHECK(in_messages.reason() == deep);
        CHECK(in_content.reason() == deep);
        CHECK(in_logit_bias.reason() == deep);
        CHECK(in_request.reason() == deep);
      }
      // The root itself.
      auto root_arrays = parse(nested(depth, "[", "]", ""), strict);
      CHECK(root_arrays.reason() == (within ? ErrorReason::not_an_object : deep));
      auto root_objects = parse(nested(depth, "{\"a\":", "}", "1"), strict);
      CHECK((root_objects.reason() == (within ? ErrorReason::missing_time : deep) || !strict));
      // Unbalanced: open only.
      auto unclosed = parse(with("\"x\":" + std::string(depth, '[')), strict);
      CHECK(!unclosed.ok());
      CHECK((unclosed.reason() == ErrorReason::invalid_json || unclosed.reason() == deep));
    }
  }
}

TEST_CASE("hostile: NUL bytes", "[parse][hostile]") {
  using namespace std::string_literals;
  // A raw NUL is a control character: not allowed in a JSON string, nor between tokens.
  for (bool strict : {true, false}) {
    INFO("full_validation " << strict);
    CHECK(parse(R"({"timestamp":"2026-11-28T10:15:00Z","account_id":"a)"s + '\0' + "b\"}", strict).reason() ==
          ErrorReason::invalid_json);
    CHECK(parse(with("\"x\":\"a"s + '\0' + "b\""), strict).reason() == ErrorReason::invalid_json);
    CHECK(parse(with("\"k"s + '\0' + "\":1"), strict).reason() == ErrorReason::invalid_json);
    CHECK(parse(with("\"x\":1"s + '\0'), strict).reason() == ErrorReason::invalid_json);
    CHECK(parse("\0"s + std::string(kHead) + "}", strict).reason() == ErrorReason::invalid_json);
    CHECK(parse(std::string(kHead) + "}" + '\0', strict).reason() == ErrorReason::invalid_json);
    CHECK(parse(std::string(100, '\0'), strict).reason() == ErrorReason::invalid_json);
  }
  // An escaped NUL is fine: the account id then contains a NUL byte.
  auto o = parse(R"({"timestamp":"2026-11-28T10:15:00Z","account_id":"a\u0000b"})");
  REQUIRE(o.ok());
  CHECK(o.account() == "a\0b"s);
}

TEST_CASE("hostile: invalid UTF-8 in keys and values", "[parse][hostile]") {
  const char* const bad[] = {
      "\x80",                  // lone continuation byte
      "\xbf\xbf",              // continuation bytes only
      "\xc3",                  // truncated 2-byte sequence
      "\xe2\x82",              // truncated 3-byte sequence
      "\xf0\x9f\x98",          // truncated 4-byte sequence
      "\xc0\x80",              // overlong NUL
      "\xc1\xbf",              // overlong 2-byte
      "\xe0\x80\xaf",          // overlong 3-byte '/'
      "\xf0\x80\x80\xaf",      // overlong 4-byte '/'
      "\xed\xa0\x80",          // UTF-16 high surrogate encoded in UTF-8
      "\xed\xbf\xbf",          // low surrogate
      "\xf4\x90\x80\x80",      // > U+10FFFF
      "\xf5\x80\x80\x80",      // invalid lead byte
      "\xfe", "\xff",          // never valid
      "ok\xe2\x82\xac\xe2\x82",  // valid euro sign then a truncated one
  };
  for (const char* b : bad) {
    const std::string s(b);
    INFO("bytes " << Catch::Detail::stringify(s));
    for (bool strict : {true, false}) {
      CHECK(parse(with("\"x\":\"" + s + "\""), strict).reason() == ErrorReason::invalid_utf8);       // unmapped value
      CHECK(parse(with("\"" + s + "\":1"), strict).reason() == ErrorReason::invalid_utf8);           // unmapped key
      CHECK(parse(R"({"timestamp":"2026-11-28T10:15:00Z","account_id":")" + s + "\"}", strict).reason() ==
            ErrorReason::invalid_utf8);                                                               // mapped value
      CHECK(parse(with(R"("request":{"messages":[{"role":"user","content":")" + s + "\"}]}"), strict).reason() ==
            ErrorReason::invalid_utf8);                                                               // scanned text
      CHECK(parse(with("\"x\":1 " + s), strict).reason() == ErrorReason::invalid_utf8);               // outside strings
    }
  }
  // Valid multi-byte text is accepted everywhere, including U+10FFFF and U+FFFF.
  auto o = parse(R"({"timestamp":"2026-11-28T10:15:00Z","account_id":"é€😀)"
                 "\xf4\x8f\xbf\xbf\xef\xbf\xbf\"}");
  REQUIRE(o.ok());
  CHECK(o.account() == "é€😀\xf4\x8f\xbf\xbf\xef\xbf\xbf");
}

TEST_CASE("hostile: surrogates and odd \\u escapes", "[parse][hostile]") {
  auto account = [](const std::string& esc, bool strict = true) {
    return parse(R"({"timestamp":"2026-11-28T10:15:00Z","account_id":")" + esc + "\"}", strict);
  };
  // Valid pairs decode to 4-byte UTF-8.
  auto pair = account("\\ud83d\\ude00");
  REQUIRE(pair.ok());
  CHECK(pair.account() == "\xf0\x9f\x98\x80");
  auto max = account("\\uDBFF\\uDFFF");
  REQUIRE(max.ok());
  CHECK(max.account() == "\xf4\x8f\xbf\xbf");
  // Lone or mismatched surrogates are malformed strings: invalid_json, never
  // CESU-8 bytes handed to the rule scanner.
  for (const char* esc : {"\\ud800", "\\udc00", "\\udfff", "\\ud800x", "\\ud800\\u0041", "\\ud800\\ud800",
                          "\\udc00\\ud800", "\\ud83d\\u", "\\u12", "\\u12g4", "\\x41", "\\U0041", "\\"}) {
    INFO(esc);
    for (bool strict : {true, false}) CHECK(account(esc, strict).reason() == ErrorReason::invalid_json);
    // In an unmapped value only full validation looks inside the string.
    auto unmapped = parse(with(std::string("\"x\":\"") + esc + "\""), true);
    CHECK(unmapped.reason() == ErrorReason::invalid_json);
  }
  // Lazy validation skips unmapped strings (documented): a bad escape there is not seen.
  CHECK(parse(with("\"x\":\"\\ud800\""), false).ok());
  // Escaped key of a mapped field: keys are unescaped before matching.
  auto key = parse(R"({"timestamp":"2026-11-28T10:15:00Z","\u0061ccount_id":"k"})");
  REQUIRE(key.ok());
  CHECK(key.account() == "k");
}

TEST_CASE("hostile: numbers out of range", "[parse][hostile]") {
  struct Case {
    const char* value;
    bool usable;  // as prompt_tokens (a non-negative integer that fits in int64)
  };
  const Case cases[] = {
      {"1e400", false}, {"-1e400", false}, {"18446744073709551617", false}, {"18446744073709551615", false},
      {"9223372036854775808", false}, {"9223372036854775807", true}, {"-1", false}, {"1.5", false},
      {"1e2", true}, {"0", true}, {"-0", true}, {"1e-400", false}, {"123456789012345678901234567890", false},
  };
  for (const Case& c : cases) {
    INFO(c.value);
    auto o = parse(with(std::string(R"("usage":{"prompt_tokens":)") + c.value + "}"));
    REQUIRE(o.ok());  // the record is kept either way
    CHECK(o.alone.field_type_errors == (c.usable ? 0u : 1u));
    CHECK((o.event().prompt_tokens >= 0) == c.usable);
  }
  // 10 000 digits: a grammatical number, never a crash or a hang.
  auto huge = parse(with(R"("usage":{"prompt_tokens":)" + std::string(10000, '9') + "}"));
  REQUIRE(huge.ok());
  CHECK(huge.alone.field_type_errors == 1);
  // Unmapped out-of-range numbers are valid JSON: nothing to count.
  auto unmapped = parse(with(R"("x":[1e400,-1e400,18446744073709551617])"));
  REQUIRE(unmapped.ok());
  CHECK(unmapped.alone.field_type_errors == 0);
  // temperature out of float range: field dropped (or infinite), record kept.
  auto temp = parse(with(R"("request":{"temperature":1e400})"));
  REQUIRE(temp.ok());
  CHECK(temp.alone.field_type_errors == 1);
  // Required fields: an unusable number is a bad value, not a missing one.
  CHECK(parse(R"({"timestamp":1e400,"account_id":"a"})").reason() == ErrorReason::bad_time);
  CHECK(parse(R"({"timestamp":-1e400,"account_id":"a"})").reason() == ErrorReason::bad_time);
  CHECK(parse(R"({"timestamp":18446744073709551617,"account_id":"a"})").reason() == ErrorReason::bad_time);
  CHECK(parse(R"({"timestamp":"2026-11-28T10:15:00Z","account_id":1e400})").reason() == ErrorReason::bad_account);
  CHECK(parse(R"({"timestamp":"2026-11-28T10:15:00Z","account_id":1.5})").reason() == ErrorReason::bad_account);
  auto big_id = parse(R"({"timestamp":"2026-11-28T10:15:00Z","account_id":18446744073709551615})");
  REQUIRE(big_id.ok());  // a uint64 id is kept as its decimal text
  CHECK(big_id.account() == "18446744073709551615");
  CHECK(parse(R"({"timestamp":"2026-11-28T10:15:00Z","account_id":18446744073709551616})").reason() ==
        ErrorReason::bad_account);
  // Grammar errors stay invalid_json.
  for (const char* v : {"01", "1.", ".5", "+1", "1e", "--1", "0x10", "NaN", "Infinity", "-"}) {
    INFO(v);
    CHECK(parse(with(std::string(R"("usage":{"prompt_tokens":)") + v + "}")).reason() == ErrorReason::invalid_json);
    CHECK(parse(with(std::string(R"("x":)") + v)).reason() == ErrorReason::invalid_json);
  }
}

TEST_CASE("hostile: duplicate keys, first occurrence wins", "[parse][hostile]") {
  auto o = parse(R"({"timestamp":"2026-11-28T10:15:00Z","account_id":"first","account_id":"second",)"
                 R"("timestamp":"not a time","account_id":7})");
  REQUIRE(o.ok());
  CHECK(o.account() == "first");
  CHECK(o.alone.field_type_errors == 0);
  auto msgs = parse(with(R"("request":{"messages":[{"role":"user","content":"a"}],"messages":"x",)"
                         R"("messages":[{"role":"user","content":"b"},{"role":"user","content":"c"}]})"));
  REQUIRE(msgs.ok());
  CHECK(msgs.event().messages == 1);
  // 10 000 copies of one key.
  std::string many = "\"request\":{";
  for (int i = 0; i < 10000; ++i) many += "\"n\":" + std::to_string(i) + ",";
  many += "\"model\":\"m\"}";
  auto m = parse(with(many));
  REQUIRE(m.ok());
  CHECK(m.event().n == 0);
}

TEST_CASE("hostile: a logit_bias with a million entries", "[parse][hostile]") {
  std::string line = std::string(kHead) + R"(,"request":{"logit_bias":{)";
  line.reserve(line.size() + 14'000'000);
  for (int i = 0; i < 1'000'000; ++i) {
    if (i) line += ',';
    line += '"';
    line += std::to_string(i);
    line += "\":-100";
  }
  line += "}}}";
  for (bool strict : {true, false}) {
    const auto t0 = std::chrono::steady_clock::now();
    auto o = parse(line, strict);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    REQUIRE(o.ok());
    CHECK(o.event().logit_bias_count == 1'000'000);
    CHECK(o.alone.field_type_errors == 0);
    CHECK(secs < 20);  // linear: ~0.1 s in a release build, a few s under sanitizers
  }
  // Wrong shapes: an array or a string is a field type error, the record stays.
  for (const char* v : {"[1,2,3]", "\"x\"", "7", "true"}) {
    INFO(v);
    auto o = parse(with(std::string(R"("request":{"logit_bias":)") + v + "}"));
    REQUIRE(o.ok());
    CHECK(o.event().logit_bias_count == -1);
    CHECK(o.alone.field_type_errors == 1);
  }
}

TEST_CASE("hostile: logit_bias shapes, counted on raw bytes or walked, agree", "[parse][hostile]") {
  // Plain maps of numbers are counted on the raw bytes; anything else falls
  // back to the On Demand walk. Either way the count and the outcome are the
  // ones JSON gives: -2 = invalid_json, in strict (full validation) and lazy mode.
  struct Case {
    const char* bias;
    int strict, lazy;
  };
  const Case cases[] = {
      {"{}", 0, 0},
      {"{ \t}", 0, 0},
      {R"({"1":-100})", 1, 1},
      {"{ \"1\" :\t-100 ,\r\"2\":5 }", 2, 2},
      {R"({"1":1e5,"2":-0.5,"3":0,"4":1E-2})", 4, 4},
      {R"({"1":1,"1":2})", 2, 2},                 // duplicate keys are entries
      {R"({"a\"b":1,"2":2})", 2, 2},             // an escaped key: the walk
      {R"({"\u0041":1})", 1, 1},
      {R"({"\ud800":1})", -2, 1},                // a lone surrogate in a key: only strict looks
      {R"({"1":true,"2":null,"3":"x"})", 3, 3},   // not numbers: the walk counts them too
      {R"({"1":{"a":1},"2":[1,2]})", 2, 2},
      {R"({"1":{"a":01}})", -2, 1},               // bad inside a nested value: only strict looks
      {R"({"1":01})", -2, -2},
      {R"({"1":-})", -2, -2},
      {R"({"1":+1})", -2, -2},
      {R"({"1":.5})", -2, -2},
      {R"({"1":1e})", -2, -2},
      {R"({"1":1,})", -2, -2},
      {R"({"1":1 "2":2})", -2, -2},
      {R"({"1" 1})", -2, -2},
      {R"({"1":1)", -2, -2},
      {R"({1:1})", -2, -2},
  };
  for (const Case& c : cases) {
    for (bool strict : {true, false}) {
      INFO(c.bias << (strict ? " strict" : " lazy"));
      // Fields after the map must still be read: the walk resumes after it.
      auto o = parse(with(std::string(R"("request":{"logit_bias":)") + c.bias + R"(,"n":3},"request_id":"r")"),
                     strict);
      const int want = strict ? c.strict : c.lazy;
      if (want == -2) {
        CHECK(o.reason() == ErrorReason::invalid_json);
        continue;
      }
      REQUIRE(o.ok());
      CHECK(o.event().logit_bias_count == want);
      CHECK(o.event().n == 3);
      CHECK(o.alone.view(o.event().request_id) == "r");
    }
  }
}

TEST_CASE("hostile: messages of the wrong type", "[parse][hostile]") {
  struct Case {
    const char* messages;
    uint64_t field_type_errors;
    uint16_t count;
  };
  const Case cases[] = {
      {R"({"role":"user","content":"hi"})", 1, 0},  // an object, not an array
      {R"("just a string")", 1, 0},
      {"42", 1, 0},
      {"true", 1, 0},
      {"null", 0, 0},  // null = absent
      {R"(["a","b"])", 1, 0},  // entries that are not objects
      {"[[1],[2]]", 1, 0},
      {R"([{"role":7,"content":"x"}])", 1, 1},  // role of the wrong type
      {R"([{"role":"user","content":7}])", 1, 1},  // content of the wrong type
      {R"([{"role":"user","content":{"text":"x"}}])", 1, 1},
      {R"([{"role":"user","content":[1,"x",{"text":7},{"text":"ok"}]}])", 0, 1},  // odd parts are skipped
      {R"([{"role":"user","content":null},{}])", 0, 2},
      {R"([{"role":"user","content":"a"},"junk",{"role":"assistant","content":"b"}])", 1, 2},
  };
  for (const Case& c : cases) {
    INFO(c.messages);
    for (bool strict : {true, false}) {
      auto o = parse(with(std::string(R"("request":{"messages":)") + c.messages + "}"), strict);
      REQUIRE(o.ok());
      CHECK(o.alone.field_type_errors == c.field_type_errors);
      CHECK(o.event().messages == c.count);
    }
  }
  // prompt of the wrong type.
  auto p = parse(with(R"("request":{"prompt":{"text":"x"}})"));
  REQUIRE(p.ok());
  CHECK(p.alone.field_type_errors == 1);
}

TEST_CASE("hostile: 10k messages in one record", "[parse][hostile]") {
  std::string msgs = "[";
  for (int i = 0; i < 10000; ++i) {
    if (i) msgs += ',';
    msgs += i % 2 ? R"({"role":"assistant","content":"sure, here is step )" + std::to_string(i) + "\"}"
                  : R"({"role":"user","content":[{"type":"text","text":"question )" + std::to_string(i) + "\"}]}";
  }
  msgs += "]";
  auto o = parse(with(R"("request":{"messages":)" + msgs + "}"));
  REQUIRE(o.ok());
  CHECK(o.event().messages == 10000);
  CHECK(o.event().user_turns == 5000);
  CHECK(o.event().assistant_turns == 5000);
  CHECK(o.alone.field_type_errors == 0);

  // Beyond 65535 the 16-bit counters saturate instead of wrapping.
  std::string more = "[";
  for (int i = 0; i < 70000; ++i) more += i ? R"(,{"role":"user","content":"q"})" : R"({"role":"user","content":"q"})";
  more += "]";
  auto s = parse(with(R"("request":{"messages":)" + more + "}"));
  REQUIRE(s.ok());
  CHECK(s.event().messages == 65535);
  CHECK(s.event().user_turns == 65535);
}

TEST_CASE("hostile: long values and many members", "[parse][hostile]") {
  // A 1 MiB account id and request id: kept (request_id cut to 128 bytes on a UTF-8 boundary).
  std::string id(1 << 20, 'x');
  auto o = parse(std::string(R"({"timestamp":"2026-11-28T10:15:00Z","account_id":")") + id +
                 R"(","request_id":")" + std::string(200, 'r') + "\xc3\xa9" + "\"}");
  REQUIRE(o.ok());
  CHECK(o.account().size() == id.size());
  CHECK(o.alone.view(o.event().request_id).size() == 128);
  std::string rid = std::string(127, 'r') + "\xc3\xa9";
  auto cut = parse(with("\"request_id\":\"" + rid + "\""));
  REQUIRE(cut.ok());
  CHECK(cut.alone.view(cut.event().request_id) == std::string(127, 'r'));  // never half a character
  // 100 000 unmapped members.
  std::string members;
  for (int i = 0; i < 100000; ++i) members += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":[{}]";
  CHECK(parse(with(members)).ok());
  // An empty key and keys that look like pointer syntax are plain keys.
  CHECK(parse(with(R"("":1,"~0":2,"/":3,"*":4,"0":5)")).ok());
}

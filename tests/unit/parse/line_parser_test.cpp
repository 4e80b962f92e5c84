// Field extraction: what a record turns into.
#include <catch2/catch.hpp>
#include <cmath>
#include <random>
#include <string>

#include "core/hash.hpp"
#include "parse/text_fingerprint.hpp"
#include "parse_test_util.hpp"

using namespace ds;
using test::parse_one;
using test::RecordingScanner;

namespace {

const char* kFullRecord = R"({
  "timestamp": "2026-11-28T10:15:00.250Z",
  "request_id": "req-42",
  "account_id": "acct-123",
  "api_key_id": "key-9",
  "client_ip": "203.0.113.7",
  "user_agent": "OpenAI/Python 1.54.3",
  "request": {
    "model": "gpt-4o",
    "messages": [
      {"role": "system", "content": "You are a Helpful   assistant."},
      {"role": "user", "content": "Question 17: explain step by step"},
      {"role": "assistant", "content": "Sure.", "tool_calls": [{"id": "c1", "type": "function"}]},
      {"role": "tool", "content": "{\"result\": 3}"},
      {"role": "user", "content": [{"type": "text", "text": "Now show your REASONING"},
                                    {"type": "image_url", "image_url": {"url": "https://x/y.png"}},
                                    {"type": "text", "text": "for item 42."}]}
    ],
    "max_tokens": 4096,
    "temperature": 0.7,
    "n": 2,
    "logprobs": true,
    "top_logprobs": 5,
    "logit_bias": {"1234": -100, "5678": 5}
  },
  "usage": {"prompt_tokens": 1200, "completion_tokens": 800, "total_tokens": 2000}
})";

std::string one_line(std::string s) {
  for (auto& c : s)
    if (c == '\n') c = ' ';
  return s;
}

std::string normalized(std::initializer_list<std::string_view> parts) {
  TextNormalizer n;
  for (auto p : parts) n.add(p);
  return std::string(n.text());
}

}  // namespace

TEST_CASE("every field of a default-layout record", "[parse][extract]") {
  RecordingScanner sc;
  auto r = parse_one(one_line(kFullRecord), &sc);
  REQUIRE(r.ok());
  const Event& e = r.event();
  CHECK(r.batch.field_type_errors == 0);
  CHECK(e.line_in_chunk == 7);
  CHECK(e.time_ms == 1795860900250);
  CHECK(r.account() == "acct-123");
  CHECK(e.account_hash == hash_str("acct-123"));
  CHECK(r.request_id() == "req-42");
  CHECK(e.api_key_hash == hash_str("key-9"));
  CHECK(e.ip_hash == hash_str("203.0.113.7"));
  CHECK(e.user_agent_hash == hash_str("OpenAI/Python 1.54.3"));
  CHECK(e.model_hash == hash_str("gpt-4o"));
  CHECK(e.prompt_tokens == 1200);
  CHECK(e.completion_tokens == 800);
  CHECK(e.max_tokens == 4096);
  CHECK(e.temperature == Approx(0.7f));
  CHECK(e.n == 2);
  CHECK(e.logprobs == 1);
  CHECK(e.top_logprobs == 5);
  CHECK(e.logit_bias_count == 2);

  CHECK(e.messages == 5);
  CHECK(e.system_turns == 1);
  CHECK(e.user_turns == 2);
  CHECK(e.assistant_turns == 1);
  CHECK(e.tool_turns == 2);  // the tool message + the assistant's tool_calls

  CHECK(sc.texts(TextField::system) == std::vector<std::string>{"You are a Helpful   assistant."});
  CHECK(sc.texts(TextField::user) == std::vector<std::string>{"Question 17: explain step by step",
                                                              "Now show your REASONING", "for item 42."});
  CHECK(sc.texts(TextField::assistant) == std::vector<std::string>{"Sure."});
  CHECK(sc.texts(TextField::tool) == std::vector<std::string>{"{\"result\": 3}"});
  CHECK(sc.texts(TextField::user_agent) == std::vector<std::string>{"OpenAI/Python 1.54.3"});
  CHECK(sc.texts(TextField::prompt).empty());
  CHECK(e.rule_hits.test(static_cast<size_t>(TextField::system)));
  CHECK(e.category_bits ==
        (field_bit(TextField::system) | field_bit(TextField::user) | field_bit(TextField::assistant) |
         field_bit(TextField::tool) | field_bit(TextField::user_agent)));

  size_t user = std::string("Question 17: explain step by step").size() + 23 + 12;
  CHECK(e.user_chars == user);
  CHECK(e.total_chars == user + 30 + 5 + 13);

  CHECK(e.system_hash == hash_str("you are a helpful assistant."));
  std::string last_user = normalized({"Now show your REASONING", "for item 42."});
  CHECK(last_user == "now show your reasoning for item 0.");
  CHECK(e.prompt_hash == hash_str(last_user));
  CHECK(e.prompt_near_hash == near_duplicate_key(last_user));
  CHECK(e.prompt_prefix_hash == hash_str(last_user));  // shorter than 128 bytes
  CHECK(e.prompt_suffix_hash == hash_str(last_user));
}

TEST_CASE("fields in any order, nested unmapped junk", "[parse][extract]") {
  auto r = parse_one(
      R"({"usage":{"completion_tokens":5,"junk":[{"a":[1,2,{"b":null}]},"x\n\u00e9"],"prompt_tokens":3},)"
      R"("request":{"extra":{"deep":[[[{}]]]},"n":1,"model":"m"},"account_id":"a","zzz":true,)"
      R"("timestamp":"2026-01-01T00:00:00Z"})");
  REQUIRE(r.ok());
  CHECK(r.event().prompt_tokens == 3);
  CHECK(r.event().completion_tokens == 5);
  CHECK(r.event().n == 1);
  CHECK(r.event().model_hash == hash_str("m"));
  CHECK(r.event().messages == 0);
  CHECK(r.event().prompt_hash == 0);
  CHECK(r.event().system_hash == 0);
  CHECK(r.event().request_id.length == 0);
  CHECK(r.event().api_key_hash == 0);
  CHECK(std::isnan(r.event().temperature));
  CHECK(r.event().logprobs == -1);
  CHECK(r.event().logit_bias_count == -1);
}

TEST_CASE("escaped keys match their unescaped pointer", "[parse][extract]") {
  auto r = parse_one(R"({"\u0074imestamp":"2026-01-01T00:00:00Z","account\u005fid":"a\"b"})");
  REQUIRE(r.ok());
  CHECK(r.account() == "a\"b");
}

TEST_CASE("duplicate keys: the first occurrence wins", "[parse][extract]") {
  auto r = parse_one(R"({"timestamp":"2026-01-01T00:00:00Z","account_id":"first","account_id":"second",)"
                     R"("request":{"model":"m1","messages":[{"role":"user","content":"a"}]},)"
                     R"("request":{"model":"m2","messages":[{"role":"user","content":"b"}]}})");
  REQUIRE(r.ok());
  CHECK(r.account() == "first");
  CHECK(r.event().model_hash == hash_str("m1"));
  CHECK(r.event().messages == 1);
  CHECK(r.event().prompt_hash == hash_str("a"));

  SECTION("also inside a message") {
    RecordingScanner sc;
    auto m = parse_one(R"({"timestamp":0,"account_id":"a","request":{"messages":[)"
                       R"({"role":"system","role":"user","content":"x","content":"y"}]}})",
                       &sc);
    REQUIRE(m.ok());
    CHECK(m.event().system_turns == 1);
    CHECK(sc.texts(TextField::system) == std::vector<std::string>{"x"});
  }
  SECTION("a duplicate with invalid content still fails validation") {
    auto bad = parse_one(R"({"timestamp":0,"account_id":"a","account_id":[1,]})");
    CHECK(bad.reason() == ErrorReason::invalid_json);
  }
}

TEST_CASE("integer account is stored as its decimal text", "[parse][extract]") {
  auto r = parse_one(R"({"timestamp":"2026-01-01T00:00:00Z","account_id":-12345})");
  REQUIRE(r.ok());
  CHECK(r.account() == "-12345");
  CHECK(r.event().account_hash == hash_str("-12345"));
  auto big = parse_one(R"({"timestamp":"2026-01-01T00:00:00Z","account_id":18446744073709551615})");
  REQUIRE(big.ok());
  CHECK(big.account() == "18446744073709551615");
}

TEST_CASE("message roles and content shapes", "[parse][extract]") {
  RecordingScanner sc;
  auto r = parse_one(
      R"({"timestamp":0,"account_id":"a","request":{"messages":[)"
      R"({"role":"developer","content":"dev rules"},)"
      R"({"content":"content before role","role":"system"},)"
      R"({"role":"function","content":"fn out"},)"
      R"({"role":"narrator","content":"odd role"},)"
      R"({"content":"no role"},)"
      R"({"role":"assistant","content":null,"tool_calls":[]},)"
      R"({"role":"assistant","content":null,"tool_calls":[{"id":"1"}]},)"
      R"({"role":"user","content":[{"type":"image_url","image_url":{"url":"u"}},{"type":"text","text":7},"bare"]},)"
      R"("not a message",)"
      R"({"role":"user","content":[]})"
      R"(]}})",
      &sc);
  REQUIRE(r.ok());
  const Event& e = r.event();
  CHECK(e.messages == 9);
  CHECK(e.system_turns == 2);
  CHECK(e.tool_turns == 2);  // function role + one assistant with tool_calls
  CHECK(e.assistant_turns == 2);
  CHECK(e.user_turns == 2);
  CHECK(sc.texts(TextField::system) == std::vector<std::string>{"dev rules", "content before role"});
  CHECK(sc.texts(TextField::tool) == std::vector<std::string>{"fn out"});
  CHECK(sc.texts(TextField::user) == std::vector<std::string>{"odd role", "no role"});
  CHECK(e.user_chars == 8 + 7);
  CHECK(e.system_hash == hash_str("dev rules content before role"));
  // The last user message has no text: the fingerprints are absent.
  CHECK(e.prompt_hash == 0);
  CHECK(r.batch.field_type_errors == 1);  // "not a message"
}

TEST_CASE("legacy prompt", "[parse][extract]") {
  RecordingScanner sc;
  auto r = parse_one(R"({"timestamp":0,"account_id":"a","request":{"prompt":"Translate 123 THINGS"}})", &sc);
  REQUIRE(r.ok());
  CHECK(sc.texts(TextField::prompt) == std::vector<std::string>{"Translate 123 THINGS"});
  CHECK(r.event().prompt_hash == hash_str("translate 0 things"));
  CHECK(r.event().user_chars == 20);
  CHECK(r.event().total_chars == 20);

  SECTION("a batch of prompts: every string is a prompt text, the last one is fingerprinted") {
    RecordingScanner sc2;
    auto b = parse_one(R"({"timestamp":0,"account_id":"a","request":{"prompt":["one","two",3]}})", &sc2);
    REQUIRE(b.ok());
    CHECK(sc2.texts(TextField::prompt) == std::vector<std::string>{"one", "two"});
    CHECK(b.event().prompt_hash == hash_str("two"));
    CHECK(b.batch.field_type_errors == 1);
  }
  SECTION("messages win over the prompt for the last user text") {
    auto m = parse_one(R"({"timestamp":0,"account_id":"a","request":{"prompt":"p",)"
                       R"("messages":[{"role":"user","content":"u"}]}})");
    REQUIRE(m.ok());
    CHECK(m.event().prompt_hash == hash_str("u"));
    CHECK(m.event().user_chars == 2);
  }
}

TEST_CASE("wrong types keep the record and count field_type_errors", "[parse][extract]") {
  auto r = parse_one(R"({"timestamp":0,"account_id":"a","api_key_id":{},"client_ip":5,"user_agent":[],)"
                     R"("request_id":7,"request":{"model":false,"temperature":"hot","max_tokens":1.5,"n":-1,)"
                     R"("logprobs":"yes","top_logprobs":1e400,"logit_bias":[1],"messages":"hi","prompt":{}},)"
                     R"("usage":{"prompt_tokens":"12","completion_tokens":null}})");
  REQUIRE(r.ok());
  const Event& e = r.event();
  CHECK(r.batch.field_type_errors == 14);
  CHECK(e.api_key_hash == 0);
  CHECK(e.ip_hash == 0);
  CHECK(e.user_agent_hash == 0);
  CHECK(e.request_id.length == 0);
  CHECK(e.model_hash == 0);
  CHECK(std::isnan(e.temperature));
  CHECK(e.max_tokens == -1);
  CHECK(e.n == -1);
  CHECK(e.logprobs == -1);
  CHECK(e.top_logprobs == -1);
  CHECK(e.logit_bias_count == -1);
  CHECK(e.messages == 0);
  CHECK(e.prompt_tokens == -1);
  CHECK(e.completion_tokens == -1);  // null = absent, not an error
}

TEST_CASE("numbers: integral floats, api_key as number, int32 bounds", "[parse][extract]") {
  auto r = parse_one(R"({"timestamp":0,"account_id":"a","api_key_id":123,)"
                     R"("request":{"max_tokens":1e3,"n":2147483648,"top_logprobs":2.0,"temperature":1},)"
                     R"("usage":{"prompt_tokens":9007199254740993}})");
  REQUIRE(r.ok());
  CHECK(r.event().api_key_hash == hash_str("123"));
  CHECK(r.event().max_tokens == 1000);
  CHECK(r.event().n == -1);  // does not fit int32
  CHECK(r.batch.field_type_errors == 1);
  CHECK(r.event().top_logprobs == 2);
  CHECK(r.event().temperature == 1.0f);
  CHECK(r.event().prompt_tokens == 9007199254740993);
}

TEST_CASE("logprobs: bool or legacy integer", "[parse][extract]") {
  auto get = [](const char* v) {
    auto r = parse_one(std::string(R"({"timestamp":0,"account_id":"a","request":{"logprobs":)") + v + "}}");
    REQUIRE(r.ok());
    return r.event().logprobs;
  };
  CHECK(get("true") == 1);
  CHECK(get("false") == 0);
  CHECK(get("5") == 1);
  CHECK(get("0") == 0);
  CHECK(get("null") == -1);
}

TEST_CASE("logit_bias counts keys without materialising them", "[parse][extract]") {
  auto r = parse_one(R"({"timestamp":0,"account_id":"a","request":{"logit_bias":{}}})");
  REQUIRE(r.ok());
  CHECK(r.event().logit_bias_count == 0);
  std::string many = R"({"timestamp":0,"account_id":"a","request":{"logit_bias":{)";
  for (int i = 0; i < 300; ++i) many += (i ? "," : "") + std::string("\"") + std::to_string(i) + "\":-100";
  many += "}}}";
  auto m = parse_one(many);
  REQUIRE(m.ok());
  CHECK(m.event().logit_bias_count == 300);
}

TEST_CASE("request_id is capped at 128 bytes on a UTF-8 boundary", "[parse][extract]") {
  std::string id(127, 'x');
  id += "\xC3\xA9";  // 2-byte sequence straddling the cap
  id += "tail";
  auto r = parse_one(R"({"timestamp":0,"account_id":"a","request_id":")" + id + "\"}");
  REQUIRE(r.ok());
  CHECK(r.request_id() == std::string(127, 'x'));
}

TEST_CASE("fingerprints of long texts", "[parse][extract]") {
  std::string text;
  for (int i = 0; i < 1000; ++i) text += "Word" + std::to_string(i) + (i % 7 ? " " : "\n\t ");
  std::string escaped;
  for (char c : text)
    escaped += c == '\n' ? std::string("\\n") : c == '\t' ? std::string("\\t") : std::string(1, c);
  auto r = parse_one(R"({"timestamp":0,"account_id":"a","request":{"messages":[{"role":"user","content":")" +
                     escaped + "\"}]}}");
  REQUIRE(r.ok());
  std::string norm = normalized({text});
  REQUIRE(norm.size() > 4096);
  CHECK(r.event().prompt_prefix_hash == hash_str(norm.substr(0, 128)));
  CHECK(r.event().prompt_suffix_hash == hash_str(norm.substr(norm.size() - 128)));
  CHECK(r.event().prompt_hash == hash_str(norm));
}

TEST_CASE("litellm preset", "[parse][extract]") {
  auto m = FieldMapping::preset("litellm");
  REQUIRE(m.ok());
  LineParser p(m.value(), {});
  RecordingScanner sc;
  auto r = test::parse_one(
      p,
      R"({"request_id":"chatcmpl-1","call_type":"acompletion","api_key":"88dc28d0f030c55ed4ab77ed8faf098196cb1c05df778539800c9f1243fe6b4b",)"
      R"("spend":0.0001,"total_tokens":30,"prompt_tokens":10,"completion_tokens":20,)"
      R"("startTime":"2024-06-01 12:00:00.123456","endTime":"2024-06-01T12:00:01Z","model":"gpt-3.5-turbo",)"
      R"("user":"u-1","metadata":{"user_agent":"litellm/1.0"},"cache_hit":"False",)"
      R"("messages":[{"role":"user","content":"hi"}],"requester_ip_address":"10.0.0.1",)"
      R"("proxy_server_request":{"max_tokens":10,"temperature":0.2,"n":1,"logprobs":false,"top_logprobs":null,"logit_bias":{"1":1}}})",
      &sc);
  REQUIRE(r.ok());
  const Event& e = r.event();
  CHECK(e.time_ms == 1717243200123);
  CHECK(r.account() == "u-1");
  CHECK(r.request_id() == "chatcmpl-1");
  CHECK(e.ip_hash == hash_str("10.0.0.1"));
  CHECK(e.user_agent_hash == hash_str("litellm/1.0"));
  CHECK(e.model_hash == hash_str("gpt-3.5-turbo"));
  CHECK(e.prompt_tokens == 10);
  CHECK(e.completion_tokens == 20);
  CHECK(e.max_tokens == 10);
  CHECK(e.temperature == Approx(0.2f));
  CHECK(e.n == 1);
  CHECK(e.logprobs == 0);
  CHECK(e.top_logprobs == -1);
  CHECK(e.logit_bias_count == 1);
  CHECK(e.user_turns == 1);
  CHECK(sc.texts(TextField::user) == std::vector<std::string>{"hi"});
}

TEST_CASE("wildcards and indexes", "[parse][extract]") {
  FieldMapping m = FieldMapping::defaults();
  REQUIRE(m.set("time", "/events/0/ts").ok());
  REQUIRE(m.set("account", "/events/*/who").ok());
  REQUIRE(m.set("model", "/events/*/model").ok());
  REQUIRE(m.set("prompt", "/events/*/prompts/*").ok());
  REQUIRE(m.set("messages", "/convs/*").ok());
  LineParser p(m, {});
  RecordingScanner sc;
  auto r = test::parse_one(
      p,
      R"({"events":[{"ts":"2026-01-01T00:00:00Z","prompts":["p1",["nested"],"p2"]},)"
      R"({"ts":"1999","who":"w1","model":7},{"who":"w2","model":"m2","prompts":["p3"]}],)"
      R"("convs":[[{"role":"user","content":"c1"}],[{"role":"user","content":"c2"},{"role":"assistant","content":"c3"}]]})",
      &sc);
  REQUIRE(r.ok());
  CHECK(r.event().time_ms == 1767225600000);
  CHECK(r.account() == "w1");                     // first usable value wins
  CHECK(r.event().model_hash == hash_str("m2"));  // 7 had the wrong type, "m2" is usable
  // An array met where a prompt is expected is a batch of prompts, here too.
  CHECK(sc.texts(TextField::prompt) == std::vector<std::string>{"p1", "nested", "p2", "p3"});
  CHECK(r.event().messages == 3);  // arrays concatenated
  CHECK(r.event().user_turns == 2);
  CHECK(r.event().prompt_hash == hash_str("c0"));  // "c2" normalised; messages beat prompts
  CHECK(r.batch.field_type_errors == 0);           // model and prompt ended up usable
}

TEST_CASE("two fields on one pointer", "[parse][extract]") {
  FieldMapping m = FieldMapping::defaults();
  REQUIRE(m.set("api_key", "/account_id").ok());
  LineParser p(m, {});
  auto r = test::parse_one(p, R"({"timestamp":0,"account_id":"a"})");
  REQUIRE(r.ok());
  CHECK(r.event().api_key_hash == hash_str("a"));
  CHECK(r.event().account_hash == hash_str("a"));
}

TEST_CASE("time as epoch numbers and strings", "[parse][extract]") {
  auto t = [](const char* v) {
    auto r = parse_one(std::string(R"({"account_id":"a","timestamp":)") + v + "}");
    REQUIRE(r.ok());
    return r.event().time_ms;
  };
  CHECK(t("1700000000") == 1700000000000);
  CHECK(t("1700000000.5") == 1700000000500);
  CHECK(t("1700000000123") == 1700000000123);
  CHECK(t("\"2023-11-14T22:13:20+01:00\"") == 1699996400000);
}

TEST_CASE("lazy validation extracts the same fields", "[parse][extract]") {
  RecordingScanner a, b;
  auto full = parse_one(one_line(kFullRecord), &a, ParseOptions{true});
  auto lazy = parse_one(one_line(kFullRecord), &b, ParseOptions{false});
  REQUIRE(full.ok());
  REQUIRE(lazy.ok());
  CHECK(a.calls == b.calls);
  CHECK(full.event().prompt_hash == lazy.event().prompt_hash);
  CHECK(full.event().logit_bias_count == lazy.event().logit_bias_count);
  // ... but only full validation looks inside unmapped values.
  const char* hidden = R"({"timestamp":0,"account_id":"a","response":{"x":[1,2,tru]}})";
  CHECK(parse_one(hidden, nullptr, ParseOptions{true}).reason() == ErrorReason::invalid_json);
  CHECK(parse_one(hidden, nullptr, ParseOptions{false}).ok());
}

TEST_CASE("escaped strings reach the scanner unescaped", "[parse][extract]") {
  RecordingScanner sc;
  auto r =
      parse_one(R"({"timestamp":"2026-01-01T00:00:00\u005a","account_id":"a\u0062c","request_id":"r\/1",)"
                R"("user_agent":"ua \"quoted\"","request":{"messages":[)"
                R"({"role":"us\u0065r","content":"line1\nline2 \u00e9 \ud83d\ude00 tab\t."},)"
                R"({"role":"user","content":[{"type":"text","te\u0078t":"part \\ one"}]}]}})",
                &sc);
  REQUIRE(r.ok());
  CHECK(r.event().time_ms == 1767225600000);
  CHECK(r.account() == "abc");
  CHECK(r.request_id() == "r/1");
  CHECK(r.event().user_agent_hash == hash_str("ua \"quoted\""));
  CHECK(sc.texts(TextField::user) ==
        std::vector<std::string>{"line1\nline2 \xC3\xA9 \xF0\x9F\x98\x80 tab\t.", "part \\ one"});
  CHECK(sc.texts(TextField::user_agent) == std::vector<std::string>{"ua \"quoted\""});
  CHECK(r.event().user_turns == 2);
  CHECK(r.event().prompt_hash == hash_str("part \\ one"));
}

TEST_CASE("ids survive the next line and the arena", "[parse][extract]") {
  // Views into the line or the parser's buffer are copied before the line ends.
  LineParser p(FieldMapping::defaults(), {});
  std::string data = R"({"timestamp":0,"account_id":"first\u0021","request_id":"id-1"})"
                     "\n"
                     R"({"timestamp":0,"account_id":"second","request_id":"id\u002d2"})"
                     "\n";
  std::string buf = test::padded(data);
  EventBatch b;
  p.parse_chunk(buf.data(), data.size(), nullptr, b);
  REQUIRE(b.events.size() == 2);
  CHECK(b.view(b.events[0].account) == "first!");
  CHECK(b.view(b.events[0].request_id) == "id-1");
  CHECK(b.view(b.events[1].account) == "second");
  CHECK(b.view(b.events[1].request_id) == "id-2");
}

// The system-prompt hash is cached per parser by a key over the raw texts:
// a parser that has seen other system prompts (same length, same first and
// last bytes, or the same bytes split into other parts) gives each line the
// hash a fresh parser gives it.
TEST_CASE("system prompt hash: the per-parser cache never changes a line's hash", "[parse][extract]") {
  const std::string pad(200, 'x');
  auto line = [](const std::string& system_json) {
    return R"({"timestamp":"2026-01-01T00:00:00Z","account_id":"a","request":{"messages":[)" + system_json +
           R"(,{"role":"user","content":"hi"}]}})";
  };
  const std::vector<std::string> lines = {
      line(R"({"role":"system","content":"Start )" + pad + R"( one end."})"),
      line(R"({"role":"system","content":"Start )" + pad + R"( two end."})"),  // same length, head, tail
      line(R"({"role":"system","content":"Start )" + pad + R"( one end."})"),  // a repeat: cached
      line(R"({"role":"system","content":[{"type":"text","text":"Start )" + pad +
           R"( one"},{"type":"text","text":" end."}]})"),  // parts: the same text, split elsewhere
      line(R"({"role":"system","content":[{"type":"text","text":"Start )" + pad +
           R"("},{"type":"text","text":"one end."}]})"),
      line(R"({"role":"system","content":"Start )" + pad + R"(one end."})"),  // the boundary mattered
      line(R"({"role":"system","content":"short"})"),                        // under the cache's minimum
      line(R"({"role":"system","content":"Start )" + pad + R"( one end."},{"role":"developer","content":"more"})"),
      line(R"({"role":"system","content":"Start )" + std::string(20000, 'y') + R"( one end."})"),  // head + tail
      line(R"({"role":"system","content":"Start )" + std::string(9000, 'y') + "z" + std::string(10999, 'y') +
           R"( one end."})"),  // differs in the middle, which is not hashed
      line(R"({"role":"system","content":"Start )" + std::string(70000, 'y') + R"( one end."})"),  // not cached
  };
  LineParser reused(FieldMapping::defaults(), ParseOptions{});
  std::vector<uint64_t> hashes;
  for (int round = 0; round < 2; ++round)
    for (const auto& l : lines) {
      auto fresh = parse_one(l);
      auto again = parse_one(reused, l);
      REQUIRE(fresh.ok());
      REQUIRE(again.ok());
      CHECK(again.event().system_hash == fresh.event().system_hash);
      if (round == 0) hashes.push_back(fresh.event().system_hash);
    }
  CHECK(hashes[0] != hashes[1]);
  CHECK(hashes[0] == hashes[2]);
  CHECK(hashes[3] == hashes[0]);  // "a" + " b" normalises like "a b"
  CHECK(hashes[4] == hashes[0]);  // parts are joined by whitespace
  CHECK(hashes[5] != hashes[0]);
  CHECK(hashes[6] == hash_str("short"));
  CHECK(hashes[7] != hashes[0]);
  CHECK(hashes[8] == hashes[9]);
  CHECK(hashes[8] != hashes[10]);
}

// A worker's rule scans wait until ~256 KiB of texts are parsed, then run back
// to back (line_parser_impl.hpp, flush_scans). Every event must still get the
// bits of exactly its own texts: not those of a rejected line before it
// (whose texts were read before the line failed), not those of a neighbour,
// and unescaped texts (copied, since simdjson's string buffer is reused by
// the next line) must arrive intact. The expected bits come from scanning the
// generated texts directly; the lines go in two parse_chunk calls into one batch.
TEST_CASE("parse_chunk: batched rule scans give every event its own texts' bits", "[parse][extract]") {
  struct HashingScanner : TextScanner {
    uint32_t mask = ~0u;
    size_t calls = 0;
    void scan(std::string_view text, TextField field, RuleBits& hits, uint32_t& categories) noexcept override {
      ++calls;
      hits.set(hash_str(text) % kMaxRules);
      hits.set(hash_str(text, 7) % kMaxRules);
      categories |= field_bit(field);
    }
    uint32_t fields() const noexcept override { return mask; }
  };
  std::mt19937 rng(42);
  auto word = [&] {
    std::string w;
    for (int i = 0, n = 2 + static_cast<int>(rng() % 8); i < n; ++i) w += static_cast<char>('a' + rng() % 26);
    return w;
  };
  struct Text {
    std::string json, plain;  // as written in the line, and unescaped
  };
  auto text = [&](size_t words) {
    Text t;
    for (size_t i = 0; i < words; ++i) {
      const std::string w = word();
      t.json += w;
      t.plain += w;
      switch (rng() % 8) {
        case 0: t.json += "\\n", t.plain += "\n"; break;             // an escape: unescaped into the string buffer
        case 1: t.json += "\\u00e9 ", t.plain += "\xC3\xA9 "; break;  // another escape
        default: t.json += ' ', t.plain += ' ';
      }
    }
    return t;
  };
  struct Line {
    std::string json;
    bool accepted;
    std::vector<std::pair<TextField, std::string>> texts;
  };
  std::vector<Line> lines;
  size_t text_bytes = 0;
  for (int i = 0; i < 1200; ++i) {
    const Text sys = text(1 + rng() % 6), user = text(1 + rng() % 300);
    const std::string ua = word(), reply = word();
    text_bytes += sys.plain.size() + user.plain.size();
    Line l;
    l.json = R"({"timestamp":)" + std::to_string(i) + R"(,"account_id":"a)" + std::to_string(i % 9) +
             R"(","user_agent":")" + ua + R"(","request":{"messages":[{"role":"system","content":")" + sys.json +
             R"("},{"role":"user","content":[{"type":"text","text":")" + user.json +
             R"("}]},{"role":"assistant","content":")" + reply + R"("}]}})";
    l.accepted = true;
    switch (rng() % 10) {
      case 0: l.json.pop_back(), l.accepted = false; break;  // malformed after its texts
      case 1: l.json.replace(l.json.find("account_id"), 10, "acct_xx"), l.accepted = false; break;  // no account
      default: break;
    }
    l.texts = {{TextField::user_agent, ua},
               {TextField::system, sys.plain},
               {TextField::user, user.plain},
               {TextField::assistant, reply}};
    lines.push_back(std::move(l));
  }
  REQUIRE(text_bytes > 4 * 256 * 1024);  // several batches within each of the two chunks

  for (uint32_t mask : {~0u, field_bit(TextField::user)}) {
    CAPTURE(mask);
    HashingScanner scanner, reference;
    scanner.mask = mask;
    std::vector<Event> want;
    for (const Line& l : lines) {
      if (!l.accepted) continue;
      Event e;
      for (const auto& [field, t] : l.texts)
        if (mask & field_bit(field)) reference.scan(t, field, e.rule_hits, e.category_bits);
      want.push_back(e);
    }
    LineParser p(FieldMapping::defaults(), {});
    EventBatch b;
    for (size_t half = 0; half < 2; ++half) {  // two calls, one batch: indexes continue
      std::string data;
      for (size_t i = half * lines.size() / 2; i < (half + 1) * lines.size() / 2; ++i) data += lines[i].json + "\n";
      std::string buf = test::padded(data);
      p.parse_chunk(buf.data(), data.size(), &scanner, b);
    }
    REQUIRE(b.events.size() == want.size());
    REQUIRE(want.size() > 900);
    REQUIRE(want.size() < lines.size());
    for (size_t i = 0; i < want.size(); ++i) {
      CAPTURE(i);
      CHECK(b.events[i].rule_hits == want[i].rule_hits);
      CHECK(b.events[i].category_bits == want[i].category_bits);
      CHECK(b.events[i].rule_hits.any());
    }
    // Each text of an accepted line scanned once; nothing else.
    CHECK(scanner.calls == reference.calls);
  }
}

// One line can carry thousands of texts (a completions prompt array): past
// kMaxLineScans they are scanned at once instead of queued, and the event
// still gets every text's bits.
TEST_CASE("parse_line: a line with more texts than the scan queue takes", "[parse][extract]") {
  struct CountingScanner : TextScanner {
    size_t calls = 0;
    std::vector<std::string> seen;
    void scan(std::string_view text, TextField field, RuleBits& hits, uint32_t& categories) noexcept override {
      ++calls;
      seen.emplace_back(text);
      hits.set(text.size() % kMaxRules);
      categories |= field_bit(field);
    }
  } sc;
  std::string line = R"({"timestamp":0,"account_id":"a","request":{"prompt":[)";
  RuleBits want;
  for (size_t i = 0; i < 5000; ++i) {
    const std::string t(1 + i % 200, static_cast<char>('a' + i % 26));
    line += (i ? ",\"" : "\"") + t + "\"";
    want.set(t.size() % kMaxRules);
  }
  line += "]}}";
  auto r = test::parse_one(line, &sc);
  REQUIRE(r.ok());
  CHECK(sc.calls == 5000);
  CHECK(r.event().rule_hits == want);
  CHECK(r.event().category_bits == field_bit(TextField::prompt));
}

// Property test: seeded random mutations of valid records. Whatever the bytes,
// the parser must not crash, must give exactly one outcome per line, and (with
// full validation) must agree with simdjson's DOM parser on what is valid JSON.
#define SIMDJSON_EXCEPTIONS 0  // match line_parser.cpp's view of simdjson
#include <simdjson.h>

#include <catch2/catch.hpp>
#include <random>
#include <string>
#include <vector>

#include "parse_test_util.hpp"

using namespace ds;

namespace {

const std::vector<std::string> kSeeds = {
    R"({"timestamp":"2026-11-28T10:15:00.250Z","request_id":"req-42","account_id":"acct-123","api_key_id":"key-9","client_ip":"203.0.113.7","user_agent":"OpenAI/Python 1.54.3","request":{"model":"gpt-4o","messages":[{"role":"system","content":"You are helpful."},{"role":"user","content":"Explain step by step \u00e9 \"q\""},{"role":"assistant","content":null,"tool_calls":[{"id":"c1","function":{"name":"f","arguments":"{}"}}]},{"role":"user","content":[{"type":"text","text":"more"},{"type":"image_url","image_url":{"url":"u"}}]}],"max_tokens":4096,"temperature":0.7,"n":2,"logprobs":true,"top_logprobs":5,"logit_bias":{"1":-100}},"response":{"choices":[{"message":{"content":"long answer 123"}}],"x":[1,2.5e3,-0,true,false,null]},"usage":{"prompt_tokens":12,"completion_tokens":34}})",
    R"({"timestamp":1700000000,"account_id":42,"request":{"prompt":["a","b"],"logprobs":3}})",
    R"({"account_id":"a","timestamp":"2026-01-01 00:00:00+01:00","request":{"messages":[]},"extra":{"deep":[[[[{"k":"v\\n\t"}]]]]}})",
    // An agent-style record: tool definitions and tool calls, many strings in arrays.
    R"({"timestamp":"2026-11-01T00:20:19.296Z","request_id":"req_D1","account_id":"acct-d8","client_ip":"211.12.95.14","user_agent":"CodePilot/1.11.0","request":{"model":"o3","messages":[{"role":"system","content":"You are CodePilot.\n<tool_calling>\n1. ALWAYS follow the schema.\n</tool_calling>"},{"role":"user","content":"Explain the \"auth\" middleware."},{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"read_file","arguments":"{\"path\":\"a.py\"}"}}]},{"role":"tool","tool_call_id":"call_1","content":"def f():\n    return 1\n"}],"max_tokens":8192,"stream":true,"tools":[{"type":"function","function":{"name":"read_file","description":"Reads a file.","parameters":{"type":"object","properties":{"path":{"type":"string"}},"required":["path"]}}},{"type":"function","function":{"name":"edit_file","parameters":{"type":"object","required":["path","explanation"]}}}]},"usage":{"prompt_tokens":2463,"completion_tokens":84,"prompt_tokens_details":{"cached_tokens":1216}},"status":200})",
};

const char kAlphabet[] = "{}[]\",:\\ \t\r\n0123456789-+.eEtruefalsnul/*\x01\x7f\xc3\xa9\xff\xed\xa0\x80 ";

std::string mutate(std::string s, std::mt19937_64& rng) {
  auto pick = [&](size_t n) { return n == 0 ? size_t{0} : static_cast<size_t>(rng() % n); };
  int edits = 1 + static_cast<int>(rng() % 4);
  for (int i = 0; i < edits; ++i) {
    switch (rng() % 8) {
      case 0:  // overwrite one byte
        if (!s.empty()) s[pick(s.size())] = kAlphabet[pick(sizeof(kAlphabet) - 1)];
        break;
      case 1:  // insert one byte
        s.insert(pick(s.size() + 1), 1, kAlphabet[pick(sizeof(kAlphabet) - 1)]);
        break;
      case 2: {  // delete a range
        size_t at = pick(s.size());
        s.erase(at, 1 + pick(8));
        break;
      }
      case 3: {  // duplicate a range
        size_t at = pick(s.size());
        size_t len = 1 + pick(40);
        s.insert(pick(s.size() + 1), s.substr(at, len));
        break;
      }
      case 4:  // truncate
        s.resize(pick(s.size() + 1));
        break;
      case 5:  // random byte anywhere
        s.insert(pick(s.size() + 1), 1, static_cast<char>(rng() & 0xff));
        break;
      case 7: {  // delete one structural character: the commonest real damage
        size_t at = pick(s.size());
        size_t found = s.find_first_of("{}[],:\"", at);
        if (found != std::string::npos) s.erase(found, 1);
        break;
      }
      case 6: {  // deep nesting somewhere
        size_t at = pick(s.size() + 1);
        size_t depth = 1 + pick(1500);
        s.insert(at, std::string(depth, rng() % 2 ? '[' : '{'));
        break;
      }
    }
  }
  return s;
}

// DOM rejects numbers beyond double range (NUMBER_ERROR); RFC 8259 allows
// them and so does the parser. Such lines (a 3+ digit exponent or a 20+ digit
// integer part) are left out of the comparison, explicitly.
bool may_hold_out_of_range_number(const std::string& s) {
  size_t run = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    run = (s[i] >= '0' && s[i] <= '9') ? run + 1 : 0;
    if (run >= 20) return true;
    if ((s[i] == 'e' || s[i] == 'E') && i + 1 < s.size()) {
      size_t j = i + 1;
      if (s[j] == '+' || s[j] == '-') ++j;
      size_t digits = 0;
      while (j < s.size() && s[j] >= '0' && s[j] <= '9') ++j, ++digits;
      if (digits >= 3) return true;
    }
  }
  return false;
}

bool is_malformed(ErrorReason r) {
  return r == ErrorReason::invalid_json || r == ErrorReason::invalid_utf8 || r == ErrorReason::too_deep ||
         r == ErrorReason::empty_line;
}

}  // namespace

TEST_CASE("random mutations: one outcome per line, no crash, DOM agrees", "[parse][property]") {
  std::mt19937_64 rng(0xD15711);
  LineParser full(FieldMapping::defaults(), ParseOptions{true});
  LineParser lazy(FieldMapping::defaults(), ParseOptions{false});
  simdjson::dom::parser dom;
  size_t compared_with_dom = 0;
  for (int iter = 0; iter < 60000; ++iter) {
    std::string line = mutate(kSeeds[static_cast<size_t>(iter) % kSeeds.size()], rng);
    INFO("iteration " << iter << " line: " << line);

    // As a chunk: mutations may have inserted newlines, so count lines.
    for (LineParser* p : {&full, &lazy}) {
      std::string buf = test::padded(line, static_cast<char>("}] \0x"[iter % 5]));
      EventBatch b;
      p->parse_chunk(buf.data(), line.size(), nullptr, b);
      REQUIRE(b.events.size() + b.errors.total() == b.lines);
      CHECK(b.bytes == line.size());
    }

    // As one line (newlines and all): exactly one outcome.
    std::string one = line;
    if (!one.empty() && one.back() == '\r') continue;  // the parser strips it; DOM would not
    test::RecordingScanner sc_full, sc_lazy;
    auto rf = test::parse_one(full, one, &sc_full);
    auto rl = test::parse_one(lazy, one, &sc_lazy);
    REQUIRE(rf.batch.events.size() + rf.batch.errors.total() == 1);
    REQUIRE(rl.batch.events.size() + rl.batch.errors.total() == 1);

    // Full validation accepts exactly what the DOM parser accepts.
    std::string padded = test::padded(one, '\0');
    std::string_view body(padded.data(), one.size());
    bool bom = body.substr(0, 3) == "\xEF\xBB\xBF";
    simdjson::dom::element el;
    auto err = dom.parse(padded.data() + (bom ? 3 : 0), one.size() - (bom ? 3 : 0), false).get(el);
    bool blank = one.find_first_not_of(" \t\r\n") == std::string::npos;
    bool out_of_range = err == simdjson::NUMBER_ERROR && may_hold_out_of_range_number(one);
    if (!blank && !out_of_range) {
      INFO("dom: " << simdjson::error_message(err) << "; ours: " << reason_name(rf.reason()));
      CHECK(is_malformed(rf.reason()) == (err != simdjson::SUCCESS));
      ++compared_with_dom;
    }

    // Whatever full validation accepts, lazy accepts with the same result.
    if (rf.ok()) {
      REQUIRE(rl.ok());
      CHECK(rl.event().time_ms == rf.event().time_ms);
      CHECK(rl.account() == rf.account());
      CHECK(rl.event().prompt_hash == rf.event().prompt_hash);
      CHECK(rl.event().messages == rf.event().messages);
      CHECK(sc_lazy.calls == sc_full.calls);
    }
  }
  CHECK(compared_with_dom > 50000);
}

// FieldMapping: names, presets, pointer syntax, and the trie built from it.
#include "parse/field_mapping.hpp"

#include <catch2/catch.hpp>

#include "parse/field_trie.hpp"
#include "parse_test_util.hpp"

using namespace ds;

namespace {
using Tokens = std::vector<std::string>;
}

TEST_CASE("field names round-trip", "[parse][mapping]") {
  for (size_t i = 0; i < kFieldCount; ++i) {
    auto f = static_cast<Field>(i);
    auto back = field_from_name(field_name(f));
    REQUIRE(back.has_value());
    CHECK(*back == f);
  }
  CHECK_FALSE(field_from_name("Time").has_value());
  CHECK_FALSE(field_from_name("").has_value());
}

TEST_CASE("default mapping", "[parse][mapping]") {
  auto m = FieldMapping::defaults();
  CHECK(m.pointer(Field::time) == "/timestamp");
  CHECK(m.pointer(Field::account) == "/account_id");
  CHECK(m.pointer(Field::api_key) == "/api_key_id");
  CHECK(m.pointer(Field::ip) == "/client_ip");
  CHECK(m.pointer(Field::user_agent) == "/user_agent");
  CHECK(m.pointer(Field::model) == "/request/model");
  CHECK(m.pointer(Field::messages) == "/request/messages");
  CHECK(m.pointer(Field::prompt) == "/request/prompt");
  CHECK(m.pointer(Field::prompt_tokens) == "/usage/prompt_tokens");
  CHECK(m.pointer(Field::completion_tokens) == "/usage/completion_tokens");
  CHECK(m.pointer(Field::max_tokens) == "/request/max_tokens");
  CHECK(m.pointer(Field::temperature) == "/request/temperature");
  CHECK(m.pointer(Field::n) == "/request/n");
  CHECK(m.pointer(Field::logprobs) == "/request/logprobs");
  CHECK(m.pointer(Field::top_logprobs) == "/request/top_logprobs");
  CHECK(m.pointer(Field::logit_bias) == "/request/logit_bias");
  CHECK(m.pointer(Field::request_id) == "/request_id");
  CHECK(m.tokens(Field::model) == Tokens{"request", "model"});
}

TEST_CASE("presets", "[parse][mapping]") {
  auto openai = FieldMapping::preset("openai");
  REQUIRE(openai.ok());
  CHECK(openai->pointer(Field::time) == "/timestamp");

  auto lite = FieldMapping::preset("litellm");
  REQUIRE(lite.ok());
  CHECK(lite->pointer(Field::time) == "/startTime");
  CHECK(lite->pointer(Field::account) == "/user");
  CHECK(lite->pointer(Field::api_key) == "/api_key");
  CHECK(lite->pointer(Field::ip) == "/requester_ip_address");
  CHECK(lite->pointer(Field::user_agent) == "/metadata/user_agent");
  CHECK(lite->pointer(Field::model) == "/model");
  CHECK(lite->pointer(Field::messages) == "/messages");
  CHECK(lite->pointer(Field::prompt).empty());
  CHECK(lite->tokens(Field::prompt).empty());
  CHECK(lite->pointer(Field::prompt_tokens) == "/prompt_tokens");
  CHECK(lite->pointer(Field::completion_tokens) == "/completion_tokens");
  CHECK(lite->pointer(Field::max_tokens) == "/proxy_server_request/max_tokens");
  CHECK(lite->pointer(Field::temperature) == "/proxy_server_request/temperature");
  CHECK(lite->pointer(Field::n) == "/proxy_server_request/n");
  CHECK(lite->pointer(Field::logprobs) == "/proxy_server_request/logprobs");
  CHECK(lite->pointer(Field::top_logprobs) == "/proxy_server_request/top_logprobs");
  CHECK(lite->pointer(Field::logit_bias) == "/proxy_server_request/logit_bias");
  CHECK(lite->pointer(Field::request_id) == "/request_id");

  auto bad = FieldMapping::preset("azure");
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.error().message, Catch::Contains("azure") && Catch::Contains("litellm"));
}

TEST_CASE("set and set_from_arg validate", "[parse][mapping]") {
  auto m = FieldMapping::defaults();
  SECTION("unknown field") {
    auto r = m.set("acount", "/x");
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Catch::Contains("acount") && Catch::Contains("account"));
  }
  SECTION("pointer must start with '/'") {
    auto r = m.set("account", "user");
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Catch::Contains("must start with '/'"));
  }
  SECTION("bad escapes") {
    for (const char* p : {"/a~", "/a~2", "/~x/b", "/a~~0"}) {
      INFO(p);
      auto r = m.set("account", p);
      REQUIRE_FALSE(r.ok());
      CHECK_THAT(r.error().message, Catch::Contains("'~'"));
    }
  }
  SECTION("required fields cannot be unmapped, optional ones can") {
    CHECK_FALSE(m.set("time", "").ok());
    CHECK_FALSE(m.set("account", "").ok());
    REQUIRE(m.set("prompt", "").ok());
    CHECK(m.tokens(Field::prompt).empty());
  }
  SECTION("~0 and ~1 unescape, and escape back") {
    REQUIRE(m.set("account", "/a~1b/c~0d/~01").ok());
    CHECK(m.tokens(Field::account) == Tokens{"a/b", "c~d", "~1"});
    CHECK(m.pointer(Field::account) == "/a~1b/c~0d/~01");
  }
  SECTION("empty tokens are keys too") {
    REQUIRE(m.set("account", "/").ok());
    CHECK(m.tokens(Field::account) == Tokens{""});
    REQUIRE(m.set("account", "/a//b").ok());
    CHECK(m.tokens(Field::account) == Tokens{"a", "", "b"});
  }
  SECTION("wildcard and numeric tokens are kept as written") {
    REQUIRE(m.set("prompt", "/choices/*/text").ok());
    CHECK(m.tokens(Field::prompt) == Tokens{"choices", "*", "text"});
    REQUIRE(m.set("model", "/items/0/model").ok());
    CHECK(m.tokens(Field::model) == Tokens{"items", "0", "model"});
  }
  SECTION("fields inside messages or logit_bias are refused") {
    auto r = m.set("prompt", "/request/messages/0/content");
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Catch::Contains("inside \"messages\""));
    CHECK_FALSE(m.set("n", "/request/logit_bias/50256").ok());
    CHECK_FALSE(m.set("messages", "/request").ok());   // would contain model, max_tokens, ...
    CHECK(m.set("prompt", "/request/messages").ok());  // the same value: decided by its type
  }
  SECTION("set_from_arg") {
    REQUIRE(m.set_from_arg("account=/user/id").ok());
    CHECK(m.pointer(Field::account) == "/user/id");
    REQUIRE(m.set_from_arg("ip=/a=b").ok());  // only the first '=' splits
    CHECK(m.tokens(Field::ip) == Tokens{"a=b"});
    auto no_eq = m.set_from_arg("account");
    REQUIRE_FALSE(no_eq.ok());
    CHECK_THAT(no_eq.error().message, Catch::Contains("NAME=POINTER"));
    auto bad = m.set_from_arg("bogus=/x");
    REQUIRE_FALSE(bad.ok());
    CHECK_THAT(bad.error().message, Catch::Contains("--field") && Catch::Contains("bogus"));
    REQUIRE(m.set_from_arg("prompt=").ok());
    CHECK(m.tokens(Field::prompt).empty());
  }
}

TEST_CASE("trie shares prefixes and merges '*' into indexes", "[parse][mapping]") {
  FieldMapping m = FieldMapping::defaults();
  FieldTrie trie(m);
  const auto& root = trie.root();
  unsigned edge = 0;
  int32_t req = trie.key_child(root, "request", edge);
  REQUIRE(req != FieldTrie::kNone);
  const auto& rn = trie.node(req);
  CHECK(rn.fields == 0);
  CHECK(rn.keys.size() ==
        9);  // model messages prompt max_tokens temperature n logprobs top_logprobs logit_bias
  int32_t model = trie.key_child(rn, "model", edge);
  REQUIRE(model != FieldTrie::kNone);
  CHECK(trie.node(model).fields == field_mask(Field::model));
  CHECK_FALSE(trie.node(model).has_children());
  CHECK(trie.key_child(root, "nope", edge) == FieldTrie::kNone);

  REQUIRE(m.set("time", "/e/0/t").ok());
  REQUIRE(m.set("account", "/e/*/a").ok());
  REQUIRE(m.set("model", "/e/*/t").ok());
  FieldTrie t2(m);
  int32_t e = t2.key_child(t2.root(), "e", edge);
  REQUIRE(e != FieldTrie::kNone);
  const auto& en = t2.node(e);
  REQUIRE(en.indexes.size() == 1);
  REQUIRE(en.star != FieldTrie::kNone);
  // Element 0 reaches time, account and model; element 1 only what '*' reaches.
  const auto& e0 = t2.node(t2.index_child(en, 0));
  const auto& e1 = t2.node(t2.index_child(en, 1));
  CHECK(e0.keys.size() == 2);
  CHECK(e1.keys.size() == 2);
  CHECK(t2.node(t2.key_child(e0, "t", edge)).fields == (field_mask(Field::time) | field_mask(Field::model)));
  CHECK(t2.node(t2.key_child(e1, "t", edge)).fields == field_mask(Field::model));
  // '*' and "0" are also literal object keys.
  CHECK(t2.key_child(en, "*", edge) != FieldTrie::kNone);
  CHECK(t2.key_child(en, "0", edge) != FieldTrie::kNone);
}

TEST_CASE("object keys named like pointer tokens", "[parse][mapping]") {
  FieldMapping m = FieldMapping::defaults();
  REQUIRE(m.set("account", "/a~1b/~0/0").ok());
  LineParser p(m, {});
  auto r = test::parse_one(p, R"({"timestamp":0,"a/b":{"~":{"0":"literal zero key"}}})");
  REQUIRE(r.ok());
  CHECK(r.account() == "literal zero key");
  auto arr = test::parse_one(p, R"({"timestamp":0,"a/b":{"~":["index zero","one"]}})");
  REQUIRE(arr.ok());
  CHECK(arr.account() == "index zero");
  auto none = test::parse_one(p, R"({"timestamp":0,"a/b":{"~":[]}})");
  CHECK(none.reason() == ErrorReason::missing_account);
}

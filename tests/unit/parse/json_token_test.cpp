// Raw-token helpers used to validate values in place.
#include "parse/json_token.hpp"

#include <catch2/catch.hpp>
#include <string>

#include "core/chunk.hpp"
#include "parse/field_trie.hpp"

using namespace ds;

TEST_CASE("valid_number follows RFC 8259", "[parse][token]") {
  for (const char* s : {"0", "-0", "1", "-1", "10", "123456789012345678901234567890", "0.5", "-0.0", "1e5",
                        "1E5", "1e+5", "1e-5", "1.5e300", "1e400", "0e0", "-12.34E-56"}) {
    INFO(s);
    CHECK(json_token::valid_number(s));
  }
  for (const char* s : {"",     "-",    "+1",    "01",  "-01",      "00",        "1.", ".5", "1e",  "1e+",
                        "1.e5", "0x10", "1_000", "NaN", "Infinity", "-Infinity", "1 ", "1,", "- 1", "١"}) {
    INFO(s);
    CHECK_FALSE(json_token::valid_number(s));
  }
  CHECK(json_token::trim_right("12 \t\r\n") == "12");
}

TEST_CASE("padded scans", "[parse][token]") {
  std::string buf = "abc\\def\"ghi";
  buf.append(kChunkPadding, '\0');
  CHECK(json_token::has_backslash_padded(buf.data(), 11));
  CHECK_FALSE(json_token::has_backslash_padded(buf.data(), 3));
  CHECK_FALSE(json_token::has_backslash_padded(buf.data() + 4, 7));
  CHECK(json_token::find_quote_or_backslash_padded(buf.data()) == 3);
  CHECK(json_token::find_quote_or_backslash_padded(buf.data() + 4) == 3);
  std::string longer(40, 'x');
  longer += '"';
  longer.append(kChunkPadding, '\0');
  CHECK(json_token::find_quote_or_backslash_padded(longer.data()) == 40);
  std::string bs(37, 'y');
  bs += '\\';
  bs.append(kChunkPadding, '\0');
  CHECK(json_token::has_backslash_padded(bs.data(), 38));
  CHECK_FALSE(json_token::has_backslash_padded(bs.data(), 37));
  CHECK(json_token::equals("role", "role"));
  CHECK_FALSE(json_token::equals("roles", "role"));
  CHECK_FALSE(json_token::equals("rol", "role"));
}

TEST_CASE("the padded key lookup agrees with the plain one", "[parse][token]") {
  FieldTrie trie(FieldMapping::defaults());
  unsigned e1 = 0, e2 = 0;
  int32_t request = trie.key_child(trie.root(), "request", e1);
  const auto& rn = trie.node(request);
  for (std::string key : {"model", "messages", "message", "messagez", "max_tokens", "temperature",
                          "top_logprobs", "top_logprobz", "", "n", "m", "logit_bias", "logit_bias_extra"}) {
    std::string buf = key;
    buf.append(kChunkPadding, '"');
    std::string_view k(buf.data(), key.size());
    INFO(key);
    CHECK(trie.key_child_padded(rn, k, e2) == trie.key_child(rn, k, e1));
  }
}

// Text normalisation and fingerprints.
#include "parse/text_fingerprint.hpp"

#include <algorithm>
#include <bit>
#include <catch2/catch.hpp>
#include <memory>
#include <random>
#include <set>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "core/hash.hpp"

using namespace ds;

namespace {
std::string norm(std::initializer_list<std::string_view> parts) {
  TextNormalizer n;
  for (auto p : parts) n.add(p);
  return std::string(n.text());
}
}  // namespace

TEST_CASE("normalisation", "[parse][fingerprint]") {
  CHECK(norm({""}) == "");
  CHECK(norm({"   \t\n "}) == "");
  CHECK(norm({"Hello World"}) == "hello world");
  CHECK(norm({"  Hello \t\r\n  World  "}) == "hello world");
  CHECK(norm({"Item 42, page 7 of 1000"}) == "item 0, page 0 of 0");
  CHECK(norm({"abc123def4.5"}) == "abc0def0.0");
  CHECK(norm({"\xC3\x89T\xC3\x89 CAF\xC3\x89"}) == "\xC3\x89t\xC3\x89 caf\xC3\x89");  // only ASCII is folded
  CHECK(norm({"a\fb\vc"}) == "a b c");
  CHECK(norm({"one", "two"}) == "one two");  // texts are joined by whitespace
  CHECK(norm({"one ", " two"}) == "one two");
  CHECK(norm({"", "x", ""}) == "x");
  CHECK(norm({"12", "34"}) == "0 0");

  TextNormalizer n;
  n.add("First");
  n.clear();
  n.add("Second");
  CHECK(n.text() == "second");
}

TEST_CASE("prompt fingerprints", "[parse][fingerprint]") {
  CHECK(fingerprint_normalized("").whole == 0);
  auto short_fp = fingerprint_normalized("short text");
  CHECK(short_fp.prefix == hash_str("short text"));
  CHECK(short_fp.suffix == hash_str("short text"));
  CHECK(short_fp.whole == hash_str("short text"));

  std::string longer(200, 'a');
  longer.replace(150, 1, " ");
  auto fp = fingerprint_normalized(longer);
  CHECK(fp.prefix == hash_str(longer.substr(0, 128)));
  CHECK(fp.suffix == hash_str(longer.substr(72)));
  CHECK(fp.whole == hash_str(longer));
}

// near_duplicate_key by its definition (text_fingerprint.hpp), byte by byte:
// the smallest shingle hash over the text's start and the word starts with
// an odd first byte within the first kShingleSpan bytes, re-mixed.
namespace {
uint64_t near_key_reference(std::string_view s) {
  if (s.empty()) return 0;
  const size_t n = std::min(s.size(), kShingleSpan);
  uint64_t lo = ~uint64_t{0};
  for (size_t j = 0; j < n; ++j) {
    if (j > 0 && !(s[j - 1] == ' ' && (static_cast<unsigned char>(s[j]) & 1u))) continue;
    unsigned char b[kShingleBytes] = {};
    std::memcpy(b, s.data() + j, std::min(kShingleBytes, n - j));
    uint64_t w0 = 0, w1 = 0;
    for (int k = 7; k >= 0; --k) w0 = w0 << 8 | b[k], w1 = w1 << 8 | b[8 + k];
    lo = std::min(lo, mix64(w0 ^ (w1 * 0x9E3779B97F4A7C15ull)));
  }
  const uint64_t key = mix64(lo + 0x2B992DDFA23249D6ull);
  return key != 0 ? key : 1;
}
}  // namespace

// fingerprint_normalized runs the four computations in one loop; it must give
// exactly what they give one by one, at every length around the 16-byte
// blocks, the 128-byte edges and the 2 KiB shingle span.
TEST_CASE("prompt fingerprints equal the separate hashes at every length", "[parse][fingerprint]") {
  std::mt19937_64 rng(11);
  std::string text;
  for (int k = 0; k < 3100; ++k) {
    const auto r = rng() % 9;
    text += r == 0 ? ' ' : static_cast<char>(r == 1 ? 0x80 + rng() % 128 : r == 2 ? 'A' + rng() % 26 : 'a' + rng() % 26);
  }
  for (size_t len = 0; len <= 3100; ++len) {
    for (size_t off : {size_t{0}, size_t{3}}) {  // unaligned starts too
      if (off + len > text.size()) continue;
      // An exact-size heap copy, so that ASan sees any read past the end.
      const std::unique_ptr<char[]> copy(new char[len == 0 ? 1 : len]);
      std::memcpy(copy.get(), text.data() + off, len);
      const std::string_view s(copy.get(), len);
      const PromptFingerprint fp = fingerprint_normalized(s);
      const size_t edge = std::min<size_t>(len, kPromptEdgeBytes);
      INFO("length " << len << ", offset " << off);
      REQUIRE(fp.whole == (len == 0 ? 0 : hash_str(s)));
      REQUIRE(fp.prefix == (len == 0 ? 0 : hash_str(s.substr(0, edge))));
      REQUIRE(fp.suffix == (len == 0 ? 0 : hash_str(s.substr(len - edge))));
      REQUIRE(fp.near == near_duplicate_key(s));
      REQUIRE(fp.near == near_key_reference(s));
    }
  }
}

TEST_CASE("near-duplicate key: one-permutation MinHash over word shingles", "[parse][fingerprint]") {
  CHECK(near_duplicate_key("") == 0);
  CHECK(fingerprint_normalized("").near == 0);
  CHECK(near_duplicate_key("x") != 0);
  CHECK(fingerprint_normalized("short text").near == near_duplicate_key("short text"));
  const std::string t = "explain step by step how the immune system fights a virus";
  CHECK(near_duplicate_key(t) == near_duplicate_key(t));
  // Shingles start at word starts only: the same words in another order
  // make other shingles, but a text is a set (a repeated sentence adds none).
  CHECK(near_duplicate_key(t + " " + t) == near_duplicate_key(t + " " + t + " " + t));

  // The MinHash property: over independent pairs, the share that get the
  // same key matches the mean Jaccard similarity of their shingle sets,
  // computed here the obvious way. Each pair is its own template (a random
  // frame of 40 words) filled in at both ends with different words; one
  // fixed frame would make every pair's outcome hinge on that frame's
  // smallest shingle.
  std::mt19937_64 rng(7);
  auto word = [&] {
    std::string w;
    for (int k = 0, len = 2 + static_cast<int>(rng() % 8); k < len; ++k) w += static_cast<char>('a' + rng() % 26);
    return w;
  };
  auto words = [&](int count) {
    std::string out;
    for (int k = 0; k < count; ++k) out += (k ? " " : "") + word();
    return out;
  };
  auto shingles = [](const std::string& text) {
    std::set<std::string> out;
    for (size_t p = 0; p < text.size() && p < kShingleSpan; ++p)
      if (p == 0 || (text[p - 1] == ' ' && (static_cast<unsigned char>(text[p]) & 1u))) {
        std::string sh = text.substr(p, kShingleBytes);
        if (p + sh.size() > kShingleSpan) sh.resize(kShingleSpan - p);
        sh.resize(kShingleBytes, '\0');
        out.insert(sh);
      }
    return out;
  };
  auto jaccard = [&](const std::string& a, const std::string& b) {
    auto sa = shingles(a), sb = shingles(b);
    size_t common = 0;
    for (const auto& x : sa) common += sb.count(x);
    return static_cast<double>(common) / static_cast<double>(sa.size() + sb.size() - common);
  };
  const int kPairs = 600;
  double templated_j = 0, unrelated_j = 0;
  int templated_same = 0, unrelated_same = 0;
  for (int i = 0; i < kPairs; ++i) {
    const std::string frame = words(40);
    const std::string a = words(2) + " " + frame + " " + words(2);
    const std::string b = words(2) + " " + frame + " " + words(2);
    templated_j += jaccard(a, b);
    templated_same += near_duplicate_key(a) == near_duplicate_key(b);
    const std::string c = words(44), d = words(44);
    unrelated_j += jaccard(c, d);
    unrelated_same += near_duplicate_key(c) == near_duplicate_key(d);
  }
  templated_j /= kPairs, unrelated_j /= kPairs;
  INFO("templated: mean Jaccard " << templated_j << ", same key " << templated_same << "/" << kPairs);
  CHECK(templated_j > 0.6);
  CHECK(std::abs(static_cast<double>(templated_same) / kPairs - templated_j) < 0.06);  // ~3.5 standard errors
  CHECK(unrelated_j < 0.01);
  CHECK(unrelated_same <= 2);

  // Only the first kShingleSpan bytes count.
  const std::string head = words(900).substr(0, kShingleSpan);
  CHECK(near_duplicate_key(head + " tail one") == near_duplicate_key(head + " another tail"));
}

namespace {

// The normalisation rule written the obvious way, to check the fast one against.
std::string reference_normalize(const std::vector<std::string>& parts) {
  std::string joined;
  for (const auto& p : parts) joined += p + " ";
  std::string out;
  bool space = false, digits = false;
  for (char ch : joined) {
    auto c = static_cast<unsigned char>(ch);
    bool is_space = c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
    bool is_digit = c >= '0' && c <= '9';
    if (is_space) {
      space = !out.empty();
      digits = false;
      continue;
    }
    if (space) out += ' ';
    space = false;
    if (is_digit) {
      if (!digits) out += '0';
      digits = true;
      continue;
    }
    digits = false;
    out += static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  }
  return out;
}

}  // namespace

TEST_CASE("normalisation: the fast path matches the reference on random text", "[parse][fingerprint]") {
  std::mt19937_64 rng(42);
  const std::string alphabet =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ     \t\n\r\f\v0123456789.,;\"\\\xc3\xa9\x80\xff";
  TextNormalizer n;
  for (int iter = 0; iter < 3000; ++iter) {
    std::vector<std::string> parts(1 + rng() % 3);
    for (auto& p : parts) {
      size_t len = rng() % 90;
      // Prose: long runs of plain words exercise the 16-byte path. Runs:
      // letters (both cases, and a two-byte UTF-8 one) between runs of
      // digits or whitespace, half of them single bytes and the rest up to
      // 40 long, which the 16-byte path takes whole, across its blocks too.
      const auto mode = rng() % 3;
      for (size_t i = 0; i < len; ++i) {
        if (mode == 0) {
          p += static_cast<char>(rng() % 6 == 0 ? ' ' : 'a' + rng() % 26);
        } else if (mode == 1) {
          p += alphabet[rng() % alphabet.size()];
        } else if (rng() % 4 == 0) {
          const std::string_view run_of = rng() % 2 ? "0123456789" : " \t\n\r\f\v ";
          for (auto k = rng() % 2 ? 1 : 1 + rng() % 40; k > 0; --k) p += run_of[rng() % run_of.size()];
        } else {
          const auto c = rng() % 8;
          p += c == 0 ? std::string("\xc3\x89") : std::string(1, static_cast<char>((c < 4 ? 'A' : 'a') + rng() % 26));
        }
      }
    }
    n.clear();
    for (const auto& p : parts) n.add(p);
    INFO("iteration " << iter);
    REQUIRE(std::string(n.text()) == reference_normalize(parts));
  }
}

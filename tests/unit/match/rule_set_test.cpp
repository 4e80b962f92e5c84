// RuleSet loading, diagnostics (exact FILE:LINE), compilation and scanning.
#include "match/rule_set.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "core/hash.hpp"

namespace fs = std::filesystem;
using namespace ds;

namespace {

// One valid rule; `extra` lines are appended inside the rule (indented 4).
std::string rule_yaml(const std::string& id, const std::string& pattern, const std::string& fields = "[user]",
                      const std::string& category = "cat", const std::string& extra = "") {
  return "  - id: " + id + "\n    description: test rule\n    category: " + category +
         "\n    fields: " + fields + "\n    patterns: ['" + pattern + "']\n" + extra;
}

std::vector<std::string> formatted(const std::vector<RuleDiagnostic>& diags) {
  std::vector<std::string> out;
  out.reserve(diags.size());
  for (const auto& d : diags) out.push_back(d.format());
  return out;
}

bool has_diag(const std::vector<RuleDiagnostic>& diags, const std::string& text) {
  const auto f = formatted(diags);
  return std::find(f.begin(), f.end(), text) != f.end();
}

std::string dump(const std::vector<RuleDiagnostic>& diags) {
  std::string s;
  for (const auto& f : formatted(diags)) s += f + "\n";
  return s;
}

std::shared_ptr<const RuleSet> load_ok(const std::string& yaml) {
  std::vector<RuleDiagnostic> diags;
  auto r = RuleSet::load_text(yaml, "t.yaml", &diags);
  INFO(dump(diags));
  REQUIRE(r.ok());
  REQUIRE(diags.empty());
  return r.value();
}

std::vector<RuleDiagnostic> load_fail(const std::string& yaml) {
  std::vector<RuleDiagnostic> diags;
  auto r = RuleSet::load_text(yaml, "t.yaml", &diags);
  REQUIRE_FALSE(r.ok());
  REQUIRE_FALSE(diags.empty());
  return diags;
}

// A scratch directory removed at scope exit.
struct TempDir {
  fs::path path;
  TempDir() {
    static std::atomic<int> counter{0};
    path = fs::temp_directory_path() /
           ("ds_match_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string write(const std::string& name, const std::string& text) const {
    const fs::path p = path / name;
    std::ofstream(p) << text;
    return p.string();
  }
};

struct ScanResult {
  RuleBits hits;
  uint32_t categories = 0;
};

ScanResult scan(RuleScanner& s, std::string_view text, TextField field) {
  ScanResult r;
  s.scan(text, field, r.hits, r.categories);
  return r;
}

}  // namespace

TEST_CASE("diagnostic format", "[match][diag]") {
  CHECK(RuleDiagnostic{"rules/x.yaml", 12, "boom"}.format() == "rules/x.yaml:12: boom");
  CHECK(RuleDiagnostic{"rules/", 0, "no such file or directory"}.format() ==
        "rules/: no such file or directory");
}

TEST_CASE("a valid rule loads with defaults", "[match]") {
  auto set = load_ok("rules:\n" + rule_yaml("r1", "hello\\s+world"));
  REQUIRE(set->rules().size() == 1);
  const Rule& r = set->rules()[0];
  CHECK(r.id == "r1");
  CHECK(r.file == "t.yaml");
  CHECK(r.line == 2);
  CHECK(r.weight == 1.0);
  CHECK(r.field_mask == field_bit(TextField::user));
  REQUIRE(r.patterns.size() == 1);
  CHECK(r.patterns[0].flags == (kCaseless | kUtf8));
  CHECK(r.patterns[0].line == 6);
  CHECK(set->categories() == std::vector<std::string>{"cat"});

  RuleScanner scanner(set);
  CHECK(scan(scanner, "say HELLO   World now", TextField::user).hits.test(0));
  CHECK_FALSE(scan(scanner, "hello there", TextField::user).hits.test(0));
}

TEST_CASE("YAML syntax error is located", "[match][diag]") {
  auto diags = load_fail("rules:\n  - id: a\n    description: [unclosed\n    category: c\n");
  INFO(dump(diags));
  REQUIRE(diags.size() == 1);
  CHECK(diags[0].file == "t.yaml");
  CHECK(diags[0].line == 4);
  CHECK(diags[0].format() == "t.yaml:4: YAML syntax error: end of sequence flow not found");
}

TEST_CASE("unknown and missing keys are errors", "[match][diag]") {
  const std::string yaml =
      "rules:\n"              // 1
      "  - id: a\n"           // 2
      "    description: d\n"  // 3
      "    category: c\n"     // 4
      "    fields: [user]\n"  // 5
      "    patern: ['x']\n";  // 6
  auto diags = load_fail(yaml);
  INFO(dump(diags));
  CHECK(has_diag(
      diags,
      "t.yaml:6: rule a: unknown key 'patern' (did you mean 'patterns'?); allowed keys: id, description, "
      "category, fields, flags, weight, patterns, examples"));
  CHECK(has_diag(diags, "t.yaml:2: rule a: missing required key 'patterns'"));
  CHECK(diags.size() == 2);
}

TEST_CASE("a group repeated too often is refused before Hyperscan compiles it", "[match][diag]") {
  auto rule = [](const std::string& pattern) {
    return "rules:\n"
           "  - id: a\n"
           "    description: d\n"
           "    category: c\n"
           "    fields: [user]\n"
           "    patterns:\n"
           "      - 'x'\n"                      // 7
           "      - '" + pattern + "'\n";        // 8
  };
  // The rules fuzzer's find (60 s to compile): 3 + 1000 x the group's 30 letters + 2.
  auto diags = load_fail(rule("as\\s+(impartial|fair|objective|unbiased){1000}ge"));
  INFO(dump(diags));
  REQUIRE(diags.size() == 1);
  CHECK_THAT(diags[0].format(), Catch::StartsWith("t.yaml:8: rule a: pattern too large once its bounded repeats "
                                                  "are unrolled (about 30005 positions, limit 1000)"));
  // Nested repeats multiply: 2 x 10 x 100 = 2,000.
  CHECK(load_fail(rule("((ab){10}){100}")).size() == 1);
  // Allowed: bounded repeats of one character or class (Hyperscan's repeat
  // engine), small group repeats, and braces that are no quantifier.
  for (const char* ok : {"a.{0,80}b", "\\w{5000}", "[a-z]{2,3000}", "(ab|cd){3,5}", "x{", "a{,5}", "\\{1000}",
                         "[{]1000}", "(impartial|fair|objective|unbiased){25}"}) {
    INFO(ok);
    CHECK(RuleSet::load_text(rule(ok), "t.yaml", nullptr).ok());
  }
}

TEST_CASE("every problem in a file is reported, sorted by line", "[match][diag]") {
  const std::string yaml =
      "rules:\n"                        // 1
      "  - id: a\n"                     // 2
      "    description: d\n"            // 3
      "    category: c\n"               // 4
      "    fields: [user, usr]\n"       // 5
      "    flags: [caseless, dotal]\n"  // 6
      "    weight: -1\n"                // 7
      "    patterns:\n"                 // 8
      "      - fine\n"                  // 9
      "      - '(a)\\1'\n"              // 10
      "      - ''\n"                    // 11
      "      - a: b\n"                  // 12
      "    examples:\n"                 // 13
      "      nomatch: [x]\n"            // 14
      "  - id: b\n"                     // 15
      "    description: d\n"            // 16
      "    description: e\n"            // 17
      "    category: Bad\n"             // 18
      "    fields: user\n"              // 19
      "    patterns: [x]\n"             // 20
      "  - just a string\n"             // 21
      "extra: 1\n";                     // 22
  auto diags = load_fail(yaml);
  // Long messages are split literals, not missing commas.
  // NOLINTBEGIN(bugprone-suspicious-missing-comma)
  const std::vector<std::string> expected = {
      "t.yaml:5: rule a: unknown field 'usr' (did you mean 'user'?); allowed: system, user, assistant, tool, "
      "any_message, prompt, user_agent",
      "t.yaml:6: rule a: unknown flag 'dotal' (did you mean 'dotall'?); allowed: caseless, dotall, "
      "multiline, utf8, ucp",
      "t.yaml:7: rule a: 'weight' must be a number > 0",
      "t.yaml:10: pattern rejected by Hyperscan: Back-references are unsupported.",
      "t.yaml:11: rule a: empty pattern",
      "t.yaml:12: rule a: pattern must be a string, found a mapping (quote it: an unquoted ': ' or '#' "
      "changes its "
      "meaning in YAML)",
      "t.yaml:14: rule a: unknown key 'nomatch' in 'examples' (did you mean 'no_match'?); allowed: match, "
      "no_match",
      "t.yaml:17: rule b: duplicate key 'description'",
      "t.yaml:18: rule b: 'category' may contain only a-z, 0-9 and '_'",
      "t.yaml:19: rule b: 'fields' must be a non-empty list, e.g. [user, system]; allowed: system, user, "
      "assistant, "
      "tool, any_message, prompt, user_agent",
      "t.yaml:21: each entry of 'rules' must be a mapping (id, description, ...), found a single value",
      "t.yaml:22: unknown top-level key 'extra'; a rule file holds only 'rules:'",
  };
  // NOLINTEND(bugprone-suspicious-missing-comma)
  CHECK(formatted(diags) == expected);
}

TEST_CASE("Hyperscan rejections name the exact pattern line", "[match][diag]") {
  const std::string yaml =
      "rules:\n"              // 1
      "  - id: a\n"           // 2
      "    description: d\n"  // 3
      "    category: c\n"     // 4
      "    fields: [user]\n"  // 5
      "    patterns:\n"       // 6
      "      - 'good one'\n"  // 7
      "      - '(a)\\1'\n"    // 8
      "      - '\\b(?=x)'\n"  // 9
      "      - 'a^b'\n"       // 10
      "      - 'x*'\n";       // 11
  auto diags = load_fail(yaml);
  // Long messages are split literals, not missing commas.
  // NOLINTBEGIN(bugprone-suspicious-missing-comma)
  const std::vector<std::string> expected = {
      "t.yaml:8: pattern rejected by Hyperscan: Back-references are unsupported.",
      "t.yaml:9: pattern rejected by Hyperscan: Zero-width assertions are not supported.",
      "t.yaml:10: pattern rejected by Hyperscan: Embedded start anchors not supported.",
      "t.yaml:11: pattern rejected by Hyperscan: Pattern matches empty buffer; use HS_FLAG_ALLOWEMPTY to "
      "enable "
      "support.",
  };
  // NOLINTEND(bugprone-suspicious-missing-comma)
  CHECK(formatted(diags) == expected);
}

TEST_CASE("wrong types are reported", "[match][diag]") {
  const std::string yaml =
      "rules:\n"               // 1
      "  - id: [a]\n"          // 2
      "    description: ''\n"  // 3
      "    category: c\n"      // 4
      "    fields: []\n"       // 5
      "    flags: caseless\n"  // 6
      "    weight: heavy\n"    // 7
      "    patterns: 'abc'\n"  // 8
      "    examples: [x]\n";   // 9
  auto diags = load_fail(yaml);
  // Long messages are split literals, not missing commas.
  // NOLINTBEGIN(bugprone-suspicious-missing-comma)
  const std::vector<std::string> expected = {
      "t.yaml:2: rule #1: 'id' must be a non-empty string, found a list",
      "t.yaml:3: rule #1: 'description' must be a non-empty string, found an empty string",
      "t.yaml:5: rule #1: 'fields' must be a non-empty list, e.g. [user, system]; allowed: system, user, "
      "assistant, tool, any_message, prompt, user_agent",
      "t.yaml:6: rule #1: 'flags' must be a list, e.g. [caseless, utf8]; allowed: caseless, dotall, "
      "multiline, utf8, ucp",
      "t.yaml:7: rule #1: 'weight' must be a number > 0",
      "t.yaml:8: rule #1: 'patterns' must be a non-empty list of Hyperscan expressions",
      "t.yaml:9: rule #1: 'examples' must be a mapping with 'match:' and/or 'no_match:' lists",
  };
  // NOLINTEND(bugprone-suspicious-missing-comma)
  CHECK(formatted(diags) == expected);
}

TEST_CASE("bad ids, ucp without utf8, empty and malformed files", "[match][diag]") {
  auto d1 = load_fail("rules:\n" + rule_yaml("Bad Id", "x"));
  CHECK(has_diag(d1, "t.yaml:2: rule Bad Id: 'id' may contain only a-z, 0-9, '_', '.' and '-'"));

  auto d2 = load_fail("rules:\n" + rule_yaml("a", "x", "[user]", "c", "    flags: [caseless, ucp]\n"));
  CHECK(formatted(d2) == std::vector<std::string>{"t.yaml:7: rule a: flag 'ucp' requires flag 'utf8'"});

  CHECK(formatted(load_fail("")) ==
        std::vector<std::string>{"t.yaml:1: empty rule file: expected a top-level 'rules:' list"});
  CHECK(
      formatted(load_fail("- a\n- b\n")) ==
      std::vector<std::string>{"t.yaml:1: expected a mapping with a 'rules:' list at the top, found a list"});
  CHECK(formatted(load_fail("rules:\n")) ==
        std::vector<std::string>{"t.yaml:1: 'rules' must be a list of rules, found nothing"});
}

TEST_CASE("duplicate ids across two files name both places", "[match][diag]") {
  TempDir dir;
  const std::string a = dir.write("a.yaml", "rules:\n" + rule_yaml("same", "x") + rule_yaml("only_a", "y"));
  const std::string b = dir.write("b.yml", "# second file\nrules:\n" + rule_yaml("same", "z"));
  dir.write("notes.txt", "not a rule file");
  dir.write(".hidden.yaml", "garbage: [");

  std::vector<RuleDiagnostic> diags;
  auto r = RuleSet::load({dir.path.string()}, &diags);
  REQUIRE_FALSE(r.ok());
  CHECK(formatted(diags) ==
        std::vector<std::string>{b + ":3: duplicate rule id 'same' (first defined at " + a + ":2)"});
  CHECK(r.error().message == diags[0].format());

  // The same files given one by one.
  diags.clear();
  auto r2 = RuleSet::load({a, b}, &diags);
  REQUIRE_FALSE(r2.ok());
  CHECK(formatted(diags) ==
        std::vector<std::string>{b + ":3: duplicate rule id 'same' (first defined at " + a + ":2)"});
}

TEST_CASE("directories load sorted, non-recursively", "[match]") {
  TempDir dir;
  dir.write("20_b.yaml", "rules:\n" + rule_yaml("zz_rule", "bbb", "[user]", "second"));
  dir.write("10_a.yml", "rules:\n" + rule_yaml("mm_rule", "aaa", "[user]", "first"));
  fs::create_directories(dir.path / "sub");
  std::ofstream(dir.path / "sub" / "x.yaml") << "not: [valid";

  std::vector<RuleDiagnostic> diags;
  auto r = RuleSet::load({dir.path.string()}, &diags);
  INFO(dump(diags));
  REQUIRE(r.ok());
  const auto& set = r.value();
  REQUIRE(set->rules().size() == 2);
  CHECK(set->rules()[0].id == "mm_rule");
  CHECK(set->rules()[0].file == (dir.path / "10_a.yml").string());
  CHECK(set->categories() == std::vector<std::string>{"first", "second"});
}

TEST_CASE("missing paths and empty directories are diagnostics", "[match][diag]") {
  TempDir dir;
  const std::string missing = (dir.path / "nope.yaml").string();
  fs::create_directories(dir.path / "empty");
  const std::string empty = (dir.path / "empty").string();
  std::vector<RuleDiagnostic> diags;
  auto r = RuleSet::load({missing, empty}, &diags);
  REQUIRE_FALSE(r.ok());
  CHECK(formatted(diags) == std::vector<std::string>{missing + ": no such file or directory",
                                                     empty + ": no rule files (*.yaml, *.yml) in directory"});
  // Without a diagnostics vector the Error message still carries everything.
  auto r2 = RuleSet::load({missing, empty}, nullptr);
  REQUIRE_FALSE(r2.ok());
  CHECK(r2.error().message ==
        missing + ": no such file or directory\n" + empty + ": no rule files (*.yaml, *.yml) in directory");
}

TEST_CASE("more than 256 rules is a diagnostic", "[match][diag]") {
  std::string yaml = "rules:\n";
  for (int i = 0; i < 257; ++i) yaml += rule_yaml("r" + std::to_string(1000 + i), "w" + std::to_string(i));
  auto diags = load_fail(yaml);
  // Each rule_yaml block is 5 lines; rule #257 starts at line 2 + 256 * 5.
  CHECK(formatted(diags) ==
        std::vector<std::string>{
            "t.yaml:1282: too many rules: 257 loaded, at most 256 are supported (this is rule #257)"});

  std::string ok = "rules:\n";
  for (int i = 0; i < 256; ++i)
    ok += rule_yaml("r" + std::to_string(1000 + i), "\\bw" + std::to_string(i) + "\\b");
  auto set = load_ok(ok);
  CHECK(set->rules().size() == 256);
  RuleScanner scanner(set);
  auto res = scan(scanner, "w255 w0", TextField::user);
  CHECK(res.hits.count() == 2);
  CHECK(res.hits.test(255));
  CHECK(res.hits.test(0));
}

TEST_CASE("more than 32 categories is a diagnostic", "[match][diag]") {
  std::string yaml = "rules:\n";
  for (int i = 0; i < 33; ++i) {
    yaml += rule_yaml("r" + std::to_string(10 + i), "w" + std::to_string(i), "[user]",
                      "c" + std::to_string(10 + i));
  }
  auto diags = load_fail(yaml);
  CHECK(formatted(diags) ==
        std::vector<std::string>{
            "t.yaml:162: too many categories: 'c42' would be category #33, at most 32 are supported"});
}

TEST_CASE("field masking", "[match]") {
  auto set = load_ok(
      "rules:\n" + rule_yaml("user_only", "secret") + rule_yaml("any_msg", "magic", "[any_message]") +
      rule_yaml("ua", "curl/\\d", "[user_agent]") + rule_yaml("sys_prompt", "omega", "[system, prompt]"));
  REQUIRE(set->rules().size() == 4);
  // Sorted by id: any_msg, sys_prompt, ua, user_only.
  CHECK(set->rules()[0].field_mask == kAnyMessageFields);
  CHECK(set->rules()[1].field_mask == (field_bit(TextField::system) | field_bit(TextField::prompt)));
  RuleScanner scanner(set);

  CHECK(scan(scanner, "a secret", TextField::user).hits.test(3));
  CHECK(scan(scanner, "a secret", TextField::system).hits.none());
  CHECK(scan(scanner, "a secret", TextField::prompt).hits.none());

  for (TextField f : {TextField::system, TextField::user, TextField::assistant, TextField::tool}) {
    CHECK(scan(scanner, "magic!", f).hits.test(0));
  }
  CHECK(scan(scanner, "magic!", TextField::prompt).hits.none());
  CHECK(scan(scanner, "magic!", TextField::user_agent).hits.none());

  CHECK(scan(scanner, "curl/8.1", TextField::user_agent).hits.test(2));
  CHECK(scan(scanner, "curl/8.1", TextField::user).hits.none());

  CHECK(scan(scanner, "OMEGA", TextField::prompt).hits.test(1));
  CHECK(scan(scanner, "OMEGA", TextField::system).hits.test(1));
  CHECK(scan(scanner, "OMEGA", TextField::tool).hits.none());

  // Hits accumulate across calls; scan never clears.
  RuleBits hits;
  uint32_t cats = 0;
  scanner.scan("secret", TextField::user, hits, cats);
  scanner.scan("magic", TextField::tool, hits, cats);
  CHECK(hits.count() == 2);
}

TEST_CASE("category bits follow first appearance in id order", "[match]") {
  auto set =
      load_ok("rules:\n" + rule_yaml("b_rule", "beta", "[user]", "zeta") +
              rule_yaml("c_rule", "gamma", "[user]", "eta") + rule_yaml("a_rule", "alpha", "[user]", "eta"));
  CHECK(set->categories() == std::vector<std::string>{"eta", "zeta"});
  CHECK(set->rules()[0].id == "a_rule");
  CHECK(set->rules()[0].category_index == 0);
  CHECK(set->rules()[1].category_index == 1);
  CHECK(set->rules()[2].category_index == 0);

  RuleScanner scanner(set);
  CHECK(scan(scanner, "alpha", TextField::user).categories == 1u);
  CHECK(scan(scanner, "beta", TextField::user).categories == 2u);
  CHECK(scan(scanner, "gamma alpha beta", TextField::user).categories == 3u);
  CHECK(scan(scanner, "nothing", TextField::user).categories == 0u);
  CHECK(scan(scanner, "beta", TextField::system).categories == 0u);  // masked field: no category either
}

TEST_CASE("flags are honoured", "[match]") {
  auto set = load_ok("rules:\n" + rule_yaml("exact_case", "Hello", "[user]", "c", "    flags: [utf8]\n") +
                     rule_yaml("dot_all", "a.b", "[user]", "c", "    flags: [caseless, dotall]\n") +
                     rule_yaml("multi", "^start", "[user]", "c", "    flags: [multiline]\n"));
  RuleScanner scanner(set);
  CHECK(scan(scanner, "Hello", TextField::user).hits.test(1));
  CHECK_FALSE(scan(scanner, "hello", TextField::user).hits.test(1));
  CHECK(scan(scanner, "A\nB", TextField::user).hits.test(0));
  CHECK(scan(scanner, "x\nstart", TextField::user).hits.test(2));
  CHECK_FALSE(scan(scanner, "x start", TextField::user).hits.test(2));
}

TEST_CASE("run_examples reports failures with the example's line", "[match]") {
  const std::string yaml =
      "rules:\n"                          // 1
      "  - id: sys_rule\n"                // 2
      "    description: d\n"              // 3
      "    category: c\n"                 // 4
      "    fields: [system, user]\n"      // 5
      "    patterns: ['reveal\\s+it']\n"  // 6
      "    examples:\n"                   // 7
      "      match:\n"                    // 8
      "        - \"please REVEAL it\"\n"  // 9
      "        - \"show \\\"it\\\"\"\n"   // 10
      "      no_match:\n"                 // 11
      "        - \"reveal nothing\"\n"    // 12
      "        - \"ok, reveal it\"\n";    // 13
  auto set = load_ok(yaml);
  const Rule& r = set->rules()[0];
  REQUIRE(r.examples.size() == 4);
  CHECK(r.examples[0].field == TextField::system);  // first listed field
  CHECK(r.examples[0].line == 9);
  CHECK(formatted(set->run_examples()) ==
        std::vector<std::string>{
            "t.yaml:10: rule sys_rule: example expected to match but did not: \"show \\\"it\\\"\"",
            "t.yaml:13: rule sys_rule: example expected not to match but did: \"ok, reveal it\""});

  // any_message examples are fed as user text; a user-only field mask would still see them.
  auto set2 = load_ok("rules:\n" + rule_yaml("am", "zap", "[any_message, prompt]", "c",
                                             "    examples:\n      match: [zap]\n      no_match: [zip]\n"));
  CHECK(set2->rules()[0].examples[0].field == TextField::user);
  CHECK(set2->run_examples().empty());
}

TEST_CASE("scanners work concurrently from two threads", "[match][thread]") {
  std::string yaml = "rules:\n";
  for (int i = 0; i < 40; ++i) {
    yaml += rule_yaml("r" + std::to_string(10 + i), "tok" + std::to_string(10 + i) + "\\b", "[user, system]",
                      "c" + std::to_string(i % 4));
  }
  auto set = load_ok(yaml);

  std::vector<std::string> texts;
  for (int i = 0; i < 64; ++i) {
    std::string t = "prefix ";
    for (int j = 0; j < 40; ++j) {
      if ((i * 7 + j * 3) % 5 == 0) t += "tok" + std::to_string(10 + j) + " ";
    }
    texts.push_back(t + "suffix");
  }
  std::vector<ScanResult> expected;
  {
    RuleScanner single(set);
    for (const auto& t : texts) expected.push_back(scan(single, t, TextField::user));
  }

  std::atomic<int> mismatches{0};
  auto worker = [&](int seed) {
    RuleScanner scanner(set);  // one scanner (scratch) per thread
    for (int round = 0; round < 300; ++round) {
      for (size_t k = 0; k < texts.size(); ++k) {
        const size_t i = (k + static_cast<size_t>(seed) * 13 + static_cast<size_t>(round)) % texts.size();
        const ScanResult r = scan(scanner, texts[i], TextField::user);
        if (r.hits != expected[i].hits || r.categories != expected[i].categories) ++mismatches;
      }
    }
  };
  std::thread t1(worker, 1);
  std::thread t2(worker, 2);
  t1.join();
  t2.join();
  CHECK(mismatches.load() == 0);
  CHECK(expected[0].hits.any());
}

TEST_CASE("scanner moves keep a working scratch", "[match]") {
  auto set = load_ok("rules:\n" + rule_yaml("r", "abc"));
  RuleScanner a(set);
  RuleScanner b(std::move(a));
  CHECK(scan(b, "xabcx", TextField::user).hits.test(0));
  RuleScanner c(set);
  c = std::move(b);
  CHECK(scan(c, "xabcx", TextField::user).hits.test(0));
  CHECK(&c.rules() == set.get());
}

TEST_CASE("digest is stable and tracks ids, patterns and flags", "[match]") {
  const std::string a = rule_yaml("one", "alpha\\d+");
  const std::string b = rule_yaml("two", "beta");
  const uint64_t d1 = load_ok("rules:\n" + a + b)->digest();
  const uint64_t d2 = load_ok("rules:\n" + a + b)->digest();
  CHECK(d1 == d2);
  CHECK(load_ok("rules:\n" + b + a)->digest() == d1);  // file order does not matter: sorted by id
  CHECK(d1 != 0);

  CHECK(load_ok("rules:\n" + rule_yaml("one", "alpha\\d*x") + b)->digest() != d1);  // pattern changed
  CHECK(load_ok("rules:\n" + a + rule_yaml("two", "beta", "[user]", "c", "    flags: [caseless]\n"))
            ->digest() != d1);                                                  // flags changed
  CHECK(load_ok("rules:\n" + a + rule_yaml("three", "beta"))->digest() != d1);  // id changed

  // Loading from disk gives the same digest as from text.
  TempDir dir;
  const std::string f = dir.write("x.yaml", "rules:\n" + a + b);
  auto r = RuleSet::load({f}, nullptr);
  REQUIRE(r.ok());
  CHECK(r.value()->digest() == d1);
}

TEST_CASE("empty rule set", "[match]") {
  auto set = load_ok("rules: []\n");
  CHECK(set->rules().empty());
  CHECK(set->categories().empty());
  CHECK(set->run_examples().empty());
  RuleScanner scanner(set);
  auto res = scan(scanner, "anything at all", TextField::user);
  CHECK(res.hits.none());
  CHECK(res.categories == 0u);

  auto none = RuleSet::load({}, nullptr);
  REQUIRE(none.ok());
  CHECK(none.value()->rules().empty());
  CHECK(none.value()->digest() == set->digest());
  RuleScanner s2(none.value());
  CHECK(scan(s2, "x", TextField::user).hits.none());

  RuleSet bare;
  CHECK(bare.digest() == set->digest());

  RuleScanner null_scanner(nullptr);
  CHECK(scan(null_scanner, "x", TextField::user).hits.none());
}

TEST_CASE("empty text and unused fields are no-ops", "[match]") {
  auto set = load_ok("rules:\n" + rule_yaml("r", "a"));
  RuleScanner scanner(set);
  RuleBits hits;
  uint32_t cats = 0;
  scanner.scan(std::string_view(), TextField::user, hits, cats);
  scanner.scan("", TextField::user, hits, cats);
  scanner.scan("a", TextField::tool, hits, cats);  // no rule looks at tool text
  CHECK(hits.none());
  CHECK(cats == 0u);
}

TEST_CASE("scan result cache: repeated long texts hit, and a hit gives exactly the scan's bits", "[match][cache]") {
  auto set = load_ok("rules:\n" + rule_yaml("r1", "hello\\s+world", "[system, user]", "a") +
                     rule_yaml("r2", "secret\\s+plan", "[user]", "b"));
  RuleScanner scanner(set);
  const std::string filler(RuleScanner::kCacheMinBytes, 'x');
  const std::string both = "hello world " + filler + " secret plan";
  const std::string one = "hello world " + filler + " secret clan";  // same length, differs inside
  REQUIRE(one.size() == both.size());

  ScanResult a = scan(scanner, both, TextField::user);
  CHECK(a.hits.test(0));
  CHECK(a.hits.test(1));
  CHECK(scanner.cache_stats().hits == 0);

  ScanResult b = scan(scanner, both, TextField::user);  // cached
  CHECK(scanner.cache_stats().hits == 1);
  CHECK(b.hits == a.hits);
  CHECK(b.categories == a.categories);

  ScanResult c = scan(scanner, one, TextField::user);  // same length and edges, other text: scanned
  CHECK(scanner.cache_stats().hits == 1);
  CHECK(c.hits.test(0));
  CHECK_FALSE(c.hits.test(1));

  // The same text as another field is another entry: r2 does not apply to system.
  ScanResult d = scan(scanner, both, TextField::system);
  CHECK(scanner.cache_stats().hits == 1);
  CHECK(d.hits.test(0));
  CHECK_FALSE(d.hits.test(1));

  // A hit ORs into what the event already has, like a scan does.
  ScanResult e;
  e.hits.set(7);
  scanner.scan(both, TextField::user, e.hits, e.categories);
  CHECK(scanner.cache_stats().hits == 2);
  CHECK(e.hits.test(7));
  CHECK(e.hits.test(0));
  CHECK(e.hits.test(1));

  // Texts under kCacheMinBytes are never cached; from kCacheMinBytes they are.
  const uint64_t lookups = scanner.cache_stats().lookups;
  const std::string below = "hello world" + std::string(RuleScanner::kCacheMinBytes - 1 - 11, 'x');
  REQUIRE(below.size() == RuleScanner::kCacheMinBytes - 1);
  scan(scanner, below, TextField::user);
  scan(scanner, below, TextField::user);
  CHECK(scanner.cache_stats().lookups == lookups);
  const std::string at = "hello world" + std::string(RuleScanner::kCacheMinBytes - 11, 'x');
  REQUIRE(at.size() == RuleScanner::kCacheMinBytes);
  const uint64_t hits = scanner.cache_stats().hits;
  CHECK(scan(scanner, at, TextField::user).hits.test(0));
  CHECK(scan(scanner, at, TextField::user).hits.test(0));
  CHECK(scanner.cache_stats().lookups == lookups + 2);
  CHECK(scanner.cache_stats().hits == hits + 1);
}

// The caches' key before session 15: four multiply-mix lanes over 32-byte
// blocks, then hash_bytes' word chain. Kept here to show that its
// collisions no longer fool the cache.
uint64_t lookup_key(std::string_view text, uint64_t seed) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  size_t n = text.size();
  uint64_t a = seed ^ 0x9E3779B97F4A7C15ull, b = seed + 0xC2B2AE3D27D4EB4Full, c = ~seed, d = n * 0xFF51AFD7ED558CCDull;
  auto lane = [](uint64_t h, uint64_t w) {
    h ^= w * 0x87C37B91114253D5ull;
    h = (h << 31) | (h >> 33);
    return h * 0x4CF5AD432745937Full;
  };
  for (; n >= 32; p += 32, n -= 32) {
    uint64_t w[4];
    std::memcpy(w, p, 32);
    a = lane(a, w[0]);
    b = lane(b, w[1]);
    c = lane(c, w[2]);
    d = lane(d, w[3]);
  }
  return hash_detail::chain_words(mix64(a) ^ mix64(b + 1) ^ mix64(c + 2) ^ mix64(d + 3), p, n);
}

// Two 96-byte texts with the same first and last 8 bytes and the same
// lookup_key for `seed`; the second holds "secret plan", the
// first does not. That fast hash has collisions that do not depend on the
// seed: its lanes XOR a word into the state and multiply by an odd
// constant, so a difference in the top bit passes a step unchanged and the
// next word can cancel it.
std::pair<std::string, std::string> lookup_key_colliding_pair(uint64_t seed) {
  std::string attack(32, 'x');
  attack += "secret plan";
  attack.resize(96, 'y');
  std::string benign = attack;
  const uint64_t k1 = 0x87C37B91114253D5ull;  // lookup_key's word multiplier
  uint64_t k1_inv = k1;
  for (int i = 0; i < 6; ++i) k1_inv *= 2 - k1 * k1_inv;  // inverse mod 2^64
  uint64_t w4 = 0, w8 = 0;
  std::memcpy(&w4, attack.data() + 32, 8);  // lane a's second and third words
  std::memcpy(&w8, attack.data() + 64, 8);
  w4 = ((w4 * k1) ^ (uint64_t{1} << 32)) * k1_inv;  // after the rotation: only the top bit differs
  w8 ^= uint64_t{1} << 63;                          // which this word cancels
  std::memcpy(benign.data() + 32, &w4, 8);
  std::memcpy(benign.data() + 64, &w8, 8);
  REQUIRE(benign != attack);
  REQUIRE(lookup_key(benign, seed) == lookup_key(attack, seed));  // else rebuild the pair for the new hash
  return {benign, attack};
}

// For the point r = 3: two 70-byte texts whose 7-byte chunks differ in
// chunks 4 and 5 by -1 and +3 (so 3 * (-1) + 3 = 0: equal hashes). The
// second holds "secret plan", the first "secret olan".
std::pair<std::string, std::string> keyed_colliding_pair_at_3() {
  std::string attack = "xxxxxxxxxxxxxxxxxxxxxxxxxxxx";  // chunks 0-3
  attack += "plan--a";                                  // chunk 4: starts with 'p'
  attack += "aaaaaaa";                                  // chunk 5
  attack.resize(70, 'z');
  attack.replace(21, 7, "secret ");                     // chunk 3 ends the word before
  std::string benign = attack;
  benign[28] = static_cast<char>(benign[28] - 1);  // chunk 4 - 1 ("olan")
  benign[35] = static_cast<char>(benign[35] + 3);  // chunk 5 + 3
  REQUIRE(attack.find("secret plan") != std::string::npos);
  REQUIRE(benign.find("secret plan") == std::string::npos);
  return {benign, attack};
}

namespace ds {
// Reaches into the scan cache: picks the hash point, plants entries.
struct RuleScannerTestAccess {
  static void set_point(RuleScanner& s, uint64_t r) { s.key_of_ = KeyedTextHash(r); }
  // Makes `text`'s entry for `from` sit in `to`'s slot, as if the two slots were one.
  static void collide_fields(RuleScanner& s, std::string_view text, TextField from, TextField to) {
    const uint64_t hash = s.key_of_(text);
    RuleScanner::CacheEntry e = s.cache_[RuleScanner::slot_of(RuleScanner::tagged(hash, from))];
    REQUIRE(e.len == text.size());
    REQUIRE(e.key == RuleScanner::tagged(hash, from));
    s.cache_[RuleScanner::slot_of(RuleScanner::tagged(hash, to))] = e;
  }
};
}  // namespace ds

TEST_CASE("keyed text hash: the 8-chunk loop equals serial Horner over 7-byte chunks mod 2^61-1", "[match][cache]") {
  const uint64_t p = KeyedTextHash::kPrime;
  __extension__ typedef unsigned __int128 u128;
  auto mulmod = [&](uint64_t a, uint64_t b) { return static_cast<uint64_t>(static_cast<u128>(a) * b % p); };
  auto reference = [&](std::string_view t, uint64_t r) {
    uint64_t h = t.size() % p;  // the length leads
    for (size_t i = 0; i < t.size(); i += 7) {
      uint64_t c = 0;
      for (size_t j = 0; j < 7 && i + j < t.size(); ++j) c |= uint64_t{static_cast<unsigned char>(t[i + j])} << (8 * j);
      h = (mulmod(h, r) + c) % p;
    }
    return h;
  };
  std::mt19937_64 rng(7);
  for (uint64_t r : {uint64_t{1}, uint64_t{3}, p - 1, uint64_t{0x123456789ABCDEF}, rng() % p}) {
    KeyedTextHash h(r);
    for (size_t len = 0; len < 300; ++len) {
      std::string t(len, '\0');
      for (auto& c : t) c = static_cast<char>(rng() % 2 ? 0xFF : rng());  // many 0xFF: folds carry
      INFO("r " << r << " len " << len);
      REQUIRE(h(t) == reference(t, r));
      REQUIRE(h(t) < p);
    }
  }
  // Random points differ between objects (a fixed one would be public).
  CHECK(KeyedTextHash()("the same text, hashed twice") != KeyedTextHash()("the same text, hashed twice"));
}

// A sender who has a benign text scanned first must not get its bits for a
// text built to collide with it. The old cache key (lookup_key) had such
// pairs for any seed; the keyed hash has them only for a known point.
TEST_CASE("scan result cache: a text built to collide with a cached one is still scanned", "[match][cache]") {
  // Without utf8: the crafted lookup_key pair is not valid UTF-8.
  auto set = load_ok("rules:\n" + rule_yaml("r1", "secret\\s+plan", "[user]", "a", "    flags: [caseless]\n"));
  SECTION("a pair colliding under lookup_key") {
    RuleScanner scanner(set);
    const auto [benign, attack] = lookup_key_colliding_pair(static_cast<uint64_t>(TextField::user));
    CHECK(scan(scanner, benign, TextField::user).hits.none());
    CHECK(scan(scanner, attack, TextField::user).hits.test(0));
    CHECK(scanner.cache_stats().hits == 0);
    CHECK(scan(scanner, attack, TextField::user).hits.test(0));  // now cached itself
    CHECK(scanner.cache_stats().hits == 1);
  }
  SECTION("a pair colliding under the keyed hash at a known point: only that point matters") {
    const auto [benign, attack] = keyed_colliding_pair_at_3();
    REQUIRE(KeyedTextHash(3)(benign) == KeyedTextHash(3)(attack));
    {  // the trust assumption, shown: with the point known, the cache is fooled
      RuleScanner known(set);
      RuleScannerTestAccess::set_point(known, 3);
      CHECK(scan(known, benign, TextField::user).hits.none());
      CHECK(scan(known, attack, TextField::user).hits.none());  // the benign text's bits
      CHECK(known.cache_stats().hits == 1);
    }
    RuleScanner scanner(set);  // a secret random point
    CHECK(scan(scanner, benign, TextField::user).hits.none());
    CHECK(scan(scanner, attack, TextField::user).hits.test(0));
    CHECK(scanner.cache_stats().hits == 0);
  }
}

// For the point r = 3: a text A ending in "plan" (length a multiple of 7)
// and A + 7 bytes with the same hash (the last chunk enters with
// coefficient 1, so it can be solved for; A's filler is varied until the
// solution fits in 7 bytes).
std::pair<std::string, std::string> keyed_colliding_lengths_at_3() {
  const KeyedTextHash h(3);
  for (int v = 0; v < 4096; ++v) {
    std::string a = "the secret plan " + std::to_string(v) + " ";
    a.resize((a.size() + 4 + 6) / 7 * 7 - 4, 'x');
    a += "plan";
    REQUIRE(a.size() % 7 == 0);
    const uint64_t base = h(a + std::string(7, '\0'));
    const uint64_t c = (h(a) + KeyedTextHash::kPrime - base) % KeyedTextHash::kPrime;
    if (c >> 56) continue;
    std::string b = a;
    for (int i = 0; i < 7; ++i) b.push_back(static_cast<char>((c >> (8 * i)) & 0xFF));
    REQUIRE(h(b) == h(a));
    return {a, b};
  }
  FAIL("no pair found");
  return {};
}

// The length is compared too: a hash collision between texts of different
// lengths (built here for a known point) is still a miss.
TEST_CASE("scan result cache: texts of different lengths with one hash are two entries", "[match][cache]") {
  auto set = load_ok("rules:\n" + rule_yaml("r1", "plan$", "[user]", "a"));
  const auto [a, b] = keyed_colliding_lengths_at_3();
  RuleScanner scanner(set);
  RuleScannerTestAccess::set_point(scanner, 3);
  CHECK(scan(scanner, b, TextField::user).hits.none());   // does not end in "plan"
  CHECK(scan(scanner, a, TextField::user).hits.test(0));  // same hash, other length: scanned
  CHECK(scanner.cache_stats().hits == 0);
}

// The same text in two fields, in one slot: the entry for one field must not
// answer the other (r2 reads user text only).
TEST_CASE("scan result cache: one text in two fields does not share their bits", "[match][cache]") {
  auto set = load_ok("rules:\n" + rule_yaml("r1", "hello\\s+world", "[system, user]", "a") +
                     rule_yaml("r2", "secret\\s+plan", "[user]", "b"));
  RuleScanner scanner(set);
  const std::string text = "hello world, here is the secret plan for today";
  ScanResult sys = scan(scanner, text, TextField::system);
  CHECK(sys.hits.test(0));
  CHECK_FALSE(sys.hits.test(1));
  RuleScannerTestAccess::collide_fields(scanner, text, TextField::system, TextField::user);
  ScanResult user = scan(scanner, text, TextField::user);
  CHECK(user.hits.test(0));
  CHECK(user.hits.test(1));
  CHECK(scanner.cache_stats().hits == 0);
}

TEST_CASE("scan result cache: texts longer than kCacheMaxBytes are never cached", "[match][cache]") {
  auto set = load_ok("rules:\n" + rule_yaml("r1", "secret\\s+plan", "[user]", "a"));
  RuleScanner scanner(set);
  const std::string at = std::string(RuleScanner::kCacheMaxBytes - 12, 'b') + " secret plan";
  REQUIRE(at.size() == RuleScanner::kCacheMaxBytes);
  CHECK(scan(scanner, at, TextField::user).hits.test(0));
  CHECK(scan(scanner, at, TextField::user).hits.test(0));
  CHECK(scanner.cache_stats().lookups == 2);
  CHECK(scanner.cache_stats().hits == 1);
  const std::string big = "b" + at;
  CHECK(scan(scanner, big, TextField::user).hits.test(0));
  CHECK(scan(scanner, big, TextField::user).hits.test(0));
  CHECK(scanner.cache_stats().lookups == 2);
}

TEST_CASE("scan result cache: short texts with the same length and edges differ by their middle", "[match][cache]") {
  // 24 bytes: only the hash's last step (up to 8 chunks at once) runs;
  // first and last 8 bytes are equal, so only the hash tells these apart.
  auto set = load_ok("rules:\n" + rule_yaml("r1", "secret\\s+plan", "[user]", "a"));
  RuleScanner scanner(set);
  const std::string a = "00000000secret plan 1234";
  const std::string b = "00000000secret clan 1234";
  REQUIRE(a.size() == 24);
  REQUIRE(b.size() == a.size());
  REQUIRE(a.substr(0, 8) == b.substr(0, 8));
  REQUIRE(a.substr(16) == b.substr(16));
  CHECK(scan(scanner, a, TextField::user).hits.test(0));
  CHECK_FALSE(scan(scanner, b, TextField::user).hits.test(0));
  CHECK(scan(scanner, a, TextField::user).hits.test(0));
  CHECK_FALSE(scan(scanner, b, TextField::user).hits.test(0));
  CHECK(scanner.cache_stats().lookups == 4);
}

// Parsed rule files are cached by their names and bytes (match/db_cache.hpp):
// a cached load gives exactly the rules of a fresh parse, an edited file is
// parsed again, and a damaged cache file is ignored.
TEST_CASE("parsed rules cache: same rules, edits re-parse, damage is ignored", "[match][cache]") {
  const fs::path dir = fs::temp_directory_path() / ("ds_rules_cache_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "cache");
  const std::string rules_path = (dir / "r.yaml").string();
  auto write = [&](const std::string& text) { std::ofstream(rules_path, std::ios::trunc) << text; };
  const std::string example = "    examples:\n      match: ['please think step by step']\n      no_match: ['hello']\n";
  write("rules:\n" + rule_yaml("r1", "step\\s+by\\s+step", "[user, system]", "cot", example) +
        rule_yaml("r2", "as\\s+jsonl", "[any_message]", "dataset", "    weight: 2.5\n"));
  ::setenv("DISTILLSCAN_CACHE_DIR", (dir / "cache").c_str(), 1);
  auto load = [&] {
    std::vector<RuleDiagnostic> diags;
    auto r = RuleSet::load({rules_path}, &diags);
    INFO(dump(diags));
    REQUIRE(r.ok());
    return r.value();
  };
  auto cached_files = [&] {
    size_t n = 0;
    for (const auto& e : fs::directory_iterator(dir / "cache")) n += e.path().extension() == ".rules";
    return n;
  };
  auto same = [](const RuleSet& a, const RuleSet& b) {
    REQUIRE(a.rules().size() == b.rules().size());
    CHECK(a.categories() == b.categories());
    CHECK(a.digest() == b.digest());
    for (size_t i = 0; i < a.rules().size(); ++i) {
      const Rule& x = a.rules()[i];
      const Rule& y = b.rules()[i];
      CHECK(x.id == y.id);
      CHECK(x.description == y.description);
      CHECK(x.category == y.category);
      CHECK(x.category_index == y.category_index);
      CHECK(x.field_mask == y.field_mask);
      CHECK(x.weight == y.weight);
      CHECK(x.file == y.file);
      CHECK(x.line == y.line);
      REQUIRE(x.patterns.size() == y.patterns.size());
      for (size_t p = 0; p < x.patterns.size(); ++p) {
        CHECK(x.patterns[p].expression == y.patterns[p].expression);
        CHECK(x.patterns[p].flags == y.patterns[p].flags);
        CHECK(x.patterns[p].line == y.patterns[p].line);
      }
      REQUIRE(x.examples.size() == y.examples.size());
      for (size_t e = 0; e < x.examples.size(); ++e) {
        CHECK(x.examples[e].text == y.examples[e].text);
        CHECK(x.examples[e].should_match == y.examples[e].should_match);
        CHECK(x.examples[e].field == y.examples[e].field);
        CHECK(x.examples[e].line == y.examples[e].line);
      }
    }
  };
  auto fresh = load();  // parsed, then stored
  REQUIRE(cached_files() == 1);
  auto cached = load();  // from the cache
  same(*fresh, *cached);
  CHECK(cached->run_examples().empty());
  CHECK(cached->rules()[1].weight == 2.5);

  // An edit (same length, other bytes) is a miss: the new text is parsed.
  write("rules:\n" + rule_yaml("r1", "step\\s+by\\s+step", "[user, system]", "cot", example) +
        rule_yaml("r3", "as\\s+jsonl", "[any_message]", "dataset", "    weight: 2.5\n"));
  auto edited = load();
  CHECK(edited->rules()[1].id == "r3");
  CHECK(cached_files() == 2);

  // A damaged cache file is not used: the rules are parsed again, correctly.
  for (const auto& e : fs::directory_iterator(dir / "cache")) {
    if (e.path().extension() != ".rules") continue;
    std::fstream f(e.path(), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-3, std::ios::end);
    f.put('\x7f');
  }
  auto again = load();
  same(*edited, *again);
  ::unsetenv("DISTILLSCAN_CACHE_DIR");
  fs::remove_all(dir);
}

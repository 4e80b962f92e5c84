// fuzz_line: log lines through the whole per-line path.
//   input bytes -> LineParser::parse_chunk (simdjson walk, field mapping, rule
//   scan with the bundled rules) -> AccountDetector::observe (state update).
// The input is one chunk as the framer would deliver it: usually one line,
// possibly several separated by '\n' (so parser state carried from one line
// to the next is exercised too), followed by exactly kChunkPadding zero bytes.
//
// Invariants checked (besides ASan/UBSan):
//  - lines == number of '\n'-separated lines; records + sum(errors) == lines;
//    bytes == input size;
//  - every event has a non-empty account with account_hash == hash_str(account),
//    time in [0, 1e13] ms, request_id <= 128 bytes, rule bits only for loaded
//    rules and category bits only for loaded categories;
//  - full_validation=false never rejects a line that full_validation=true
//    accepts, and both extract the same account, time and rule hits;
//  - the detector's account table never holds more than its cap;
//  - every alert serialises (alert_to_json) to one line of valid JSON whose
//    "account" round-trips to the account id byte for byte.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "core/hash.hpp"
#include "detect/account_detector.hpp"
#include "fuzz_common.hpp"
#include "match/rule_set.hpp"
#include "parse/line_parser.hpp"

#include <simdjson.h>

namespace {

using namespace ds;

struct Env {
  std::shared_ptr<const RuleSet> rules;
  std::unique_ptr<RuleScanner> scanner;
  DetectorConfig detector;
};

Env* make_env() {
  fuzz::disable_db_cache();
  auto* env = new Env;
  std::vector<RuleDiagnostic> diags;
  auto r = RuleSet::load({DS_RULES_DIR}, &diags);
  if (!r) {
    std::fprintf(stderr, "fuzz_line: cannot load bundled rules from %s:\n%s\n", DS_RULES_DIR,
                 r.error().message.c_str());
    std::abort();
  }
  env->rules = *r;
  env->scanner = std::make_unique<RuleScanner>(env->rules);
  // Small and eager, so eviction, windows and alerting all run on tiny inputs.
  env->detector.shards = 1;
  env->detector.max_accounts = 2;  // table cap = 2 / 1 + 1 = 3 accounts
  env->detector.min_requests = 1;
  env->detector.alert_score = 0;
  env->detector.suppress_seconds = 60;
  env->detector.account_idle_seconds = 3600;
  return env;
}

Env& env() {
  static Env* e = make_env();
  return *e;
}

uint64_t expected_lines(const uint8_t* data, size_t size) {
  uint64_t n = 0;
  for (size_t i = 0; i < size; ++i) n += data[i] == '\n';
  if (size > 0 && data[size - 1] != '\n') ++n;
  return n;
}

void check_batch(const EventBatch& b, const uint8_t* data, size_t size, const Env& e) {
  DS_FUZZ_CHECK(b.lines == expected_lines(data, size));
  DS_FUZZ_CHECK(b.events.size() + b.errors.total() == b.lines);
  DS_FUZZ_CHECK(b.bytes == size);
  DS_FUZZ_CHECK(b.errors.get(ErrorReason::line_too_long) == 0);  // only the framer skips long lines
  const size_t nrules = e.rules->rules().size();
  const size_t ncats = e.rules->categories().size();
  uint32_t prev_line = 0;
  for (size_t i = 0; i < b.events.size(); ++i) {
    const Event& ev = b.events[i];
    if (i > 0) DS_FUZZ_CHECK(ev.line_in_chunk > prev_line);
    prev_line = ev.line_in_chunk;
    DS_FUZZ_CHECK(ev.line_in_chunk < b.lines);
    DS_FUZZ_CHECK(static_cast<uint64_t>(ev.account.offset) + ev.account.length <= b.arena.size());
    DS_FUZZ_CHECK(static_cast<uint64_t>(ev.request_id.offset) + ev.request_id.length <= b.arena.size());
    const std::string_view account = b.view(ev.account);
    DS_FUZZ_CHECK(!account.empty());
    DS_FUZZ_CHECK(ev.account_hash != 0 && ev.account_hash == hash_str(account));
    DS_FUZZ_CHECK(ev.time_ms >= 0 && ev.time_ms <= 10'000'000'000'000);
    DS_FUZZ_CHECK(ev.request_id.length <= 128);
    for (size_t r = nrules; r < kMaxRules; ++r) DS_FUZZ_CHECK(!ev.rule_hits[r]);
    if (ncats < 32) DS_FUZZ_CHECK((ev.category_bits >> ncats) == 0);
    DS_FUZZ_CHECK((ev.category_bits == 0) == ev.rule_hits.none());
    DS_FUZZ_CHECK(ev.user_chars <= ev.total_chars);
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  env();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Env& e = env();
  const std::vector<char> buf = fuzz::padded_copy(data, size);

  // Fresh parsers per input, so every finding reproduces from its input alone
  // (several lines in one input still exercise state carried between lines).
  LineParser strict_parser(FieldMapping::defaults(), ParseOptions{true});
  LineParser lazy_parser(FieldMapping::defaults(), ParseOptions{false});
  EventBatch strict, lazy;
  strict_parser.parse_chunk(buf.data(), size, e.scanner.get(), strict);
  lazy_parser.parse_chunk(buf.data(), size, e.scanner.get(), lazy);
  static const bool verbose = std::getenv("DS_FUZZ_VERBOSE") != nullptr;
  if (verbose) {
    for (const EventBatch* b : {&strict, &lazy}) {
      std::fprintf(stderr, "%s: lines=%llu events=%zu", b == &strict ? "strict" : "lazy",
                   static_cast<unsigned long long>(b->lines), b->events.size());
      for (size_t i = 0; i < kErrorReasonCount; ++i)
        if (b->errors.n[i]) std::fprintf(stderr, " %s=%llu", std::string(reason_name(static_cast<ErrorReason>(i))).c_str(),
                                         static_cast<unsigned long long>(b->errors.n[i]));
      std::fprintf(stderr, "\n");
    }
  }
  check_batch(strict, data, size, e);
  check_batch(lazy, data, size, e);

  // Lazy validation accepts a superset of the lines strict validation accepts,
  // and extracts the same identity, time and rule hits from them.
  DS_FUZZ_CHECK(lazy.events.size() >= strict.events.size());
  size_t j = 0;
  for (const Event& s : strict.events) {
    while (j < lazy.events.size() && lazy.events[j].line_in_chunk < s.line_in_chunk) ++j;
    DS_FUZZ_CHECK(j < lazy.events.size() && lazy.events[j].line_in_chunk == s.line_in_chunk);
    const Event& l = lazy.events[j];
    DS_FUZZ_CHECK(strict.view(s.account) == lazy.view(l.account));
    DS_FUZZ_CHECK(s.time_ms == l.time_ms);
    DS_FUZZ_CHECK(s.rule_hits == l.rule_hits);
  }

  // State update: a fresh detector per input keeps runs reproducible.
  AccountDetector det(e.detector, e.rules->categories());
  std::vector<Alert> alerts;
  for (const Event& ev : strict.events) {
    det.observe(ev, strict, 0, alerts);
    DS_FUZZ_CHECK(det.table().size() <= e.detector.max_accounts / e.detector.shards + 1);
  }
  if (verbose) std::fprintf(stderr, "alerts=%zu\n", alerts.size());

  // Alerts need many requests of one account, which small inputs rarely
  // reach; so also build the alert each event would give, the way
  // AccountDetector::evaluate does (account id, request id through the
  // evidence sample), and check that it serialises to valid JSON as well.
  for (const Event& ev : strict.events) {
    AccountState st;
    st.add_sample(strict.view(ev.request_id));
    Alert a;
    a.account = std::string(strict.view(ev.account));
    a.time_ms = ev.time_ms;
    a.score = 0.5;
    a.reasons.push_back({"fuzz_rate", 0.5, 0.3});
    for (size_t i = 0; i < kSampleIds; ++i)
      if (st.sample_len[i]) a.sample_request_ids.emplace_back(st.sample_ids[i].data(), st.sample_len[i]);
    alerts.push_back(std::move(a));
  }

  static simdjson::dom::parser json;
  for (const Alert& a : alerts) {
    DS_FUZZ_CHECK(!a.account.empty());
    DS_FUZZ_CHECK(a.score >= 0 && a.score <= 1);
    const std::string line = alert_to_json(a);
    DS_FUZZ_CHECK(line.find('\n') == std::string::npos);
    simdjson::dom::element doc;
    DS_FUZZ_CHECK(json.parse(line).get(doc) == simdjson::SUCCESS);
    std::string_view account;
    DS_FUZZ_CHECK(doc["account"].get(account) == simdjson::SUCCESS);
    DS_FUZZ_CHECK(account == a.account);
    simdjson::dom::array samples;
    if (doc["evidence"]["sample_request_ids"].get(samples) == simdjson::SUCCESS) {
      size_t k = 0;
      for (auto id : samples) {
        std::string_view sv;
        DS_FUZZ_CHECK(id.get(sv) == simdjson::SUCCESS);
        DS_FUZZ_CHECK(k < a.sample_request_ids.size() && sv == a.sample_request_ids[k++]);
      }
    }
  }
  return 0;
}

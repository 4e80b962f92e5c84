#include "match/rule_set.hpp"

#include "match/db_cache.hpp"

#include <hs/hs.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <new>
#include <unordered_map>
#include <utility>

#include "core/hash.hpp"
#include "match/rule_loader.hpp"

namespace ds {

inline constexpr size_t kMaxCategories = 32;  // RuleScanner::scan's category bits are a uint32_t

std::string RuleDiagnostic::format() const {
  if (line <= 0) return file + ": " + message;
  return file + ":" + std::to_string(line) + ": " + message;
}

namespace {

hs_database_t* as_db(void* p) {
  return static_cast<hs_database_t*>(p);
}
hs_scratch_t* as_scratch(void* p) {
  return static_cast<hs_scratch_t*>(p);
}

unsigned to_hs_flags(unsigned flags) {
  unsigned hs = HS_FLAG_SINGLEMATCH;  // a rule hit is a bit: one report per pattern is enough
  if (flags & kCaseless) hs |= HS_FLAG_CASELESS;
  if (flags & kDotAll) hs |= HS_FLAG_DOTALL;
  if (flags & kMultiline) hs |= HS_FLAG_MULTILINE;
  if (flags & kUtf8) hs |= HS_FLAG_UTF8;
  if (flags & kUcp) hs |= HS_FLAG_UCP;
  return hs;
}

// RAII for the Hyperscan objects used during a build.
struct CompileErrorGuard {
  hs_compile_error_t* err = nullptr;
  ~CompileErrorGuard() {
    if (err != nullptr) hs_free_compile_error(err);
  }
};
struct DatabaseGuard {
  hs_database_t* db = nullptr;
  ~DatabaseGuard() {
    if (db != nullptr) hs_free_database(db);
  }
  hs_database_t* release() { return std::exchange(db, nullptr); }
};
struct ScratchGuard {
  hs_scratch_t* scratch = nullptr;
  ~ScratchGuard() {
    if (scratch != nullptr) hs_free_scratch(scratch);
  }
};

struct MatchContext {
  const uint32_t* pattern_rule;
  const Rule* rules;
  uint32_t field;
  RuleBits* hits;
  uint32_t* categories;
};

int on_match(unsigned int id, unsigned long long /*from*/, unsigned long long /*to*/, unsigned int /*flags*/,
             void* context) {
  auto* ctx = static_cast<MatchContext*>(context);
  const uint32_t r = ctx->pattern_rule[id];
  const Rule& rule = ctx->rules[r];
  if (rule.field_mask & ctx->field) {
    (*ctx->hits)[r] = true;  // unchecked: r < kMaxRules by construction
    *ctx->categories |= 1u << rule.category_index;
  }
  return 0;  // keep scanning: other rules may still match
}

std::string quote_example(std::string_view text) {
  constexpr size_t kMax = 120;
  std::string out = "\"";
  for (size_t i = 0; i < text.size() && i < kMax; ++i) {
    const char c = text[i];
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else {
      out += c;
    }
  }
  if (text.size() > kMax) out += "...";
  out += '"';
  return out;
}

}  // namespace

// Validates the parsed rules as a whole (ids, limits), orders them, compiles
// the database, and reports every problem it finds.
struct RuleSetBuilder {
  std::vector<Rule> rules;
  std::vector<RuleDiagnostic> diags;
  std::vector<std::string> files;  // load order, to sort diagnostics
  std::string origin;              // names the rule set in whole-set messages

  void check_duplicate_ids() {
    std::unordered_map<std::string, const Rule*> first;
    for (const Rule& r : rules) {
      if (r.id.empty()) continue;
      auto [it, inserted] = first.emplace(r.id, &r);
      if (!inserted) {
        const Rule& f = *it->second;
        diags.push_back({r.file, r.line,
                         "duplicate rule id '" + r.id + "' (first defined at " + f.file + ":" +
                             std::to_string(f.line) + ")"});
      }
    }
  }

  void check_rule_limit() {
    if (rules.size() <= kMaxRules) return;
    const Rule& over = rules[kMaxRules];  // the first rule past the limit, in load order
    diags.push_back({over.file, over.line,
                     "too many rules: " + std::to_string(rules.size()) + " loaded, at most " +
                         std::to_string(kMaxRules) + " are supported (this is rule #" +
                         std::to_string(kMaxRules + 1) + ")"});
  }

  // Categories are numbered in order of first appearance in the id-sorted list.
  void assign_categories(RuleSet& set) {
    bool reported = false;
    for (Rule& r : rules) {
      auto it = std::find(set.categories_.begin(), set.categories_.end(), r.category);
      if (it == set.categories_.end()) {
        if (set.categories_.size() == kMaxCategories && !reported) {
          reported = true;
          diags.push_back({r.file, r.line,
                           "too many categories: '" + r.category + "' would be category #" +
                               std::to_string(kMaxCategories + 1) + ", at most " +
                               std::to_string(kMaxCategories) + " are supported"});
        }
        set.categories_.push_back(r.category);
        it = set.categories_.end() - 1;
      }
      r.category_index = static_cast<uint32_t>(it - set.categories_.begin());
    }
  }

  // Like Hyperscan's hscheck: compile each pattern alone to name the bad one.
  // Returns how many patterns were rejected.
  size_t check_patterns_one_by_one() {
    size_t rejected = 0;
    for (const Rule& r : rules) {
      for (const RulePattern& p : r.patterns) {
        DatabaseGuard db;
        CompileErrorGuard err;
        if (hs_compile(p.expression.c_str(), to_hs_flags(p.flags), HS_MODE_BLOCK, nullptr, &db.db,
                       &err.err) != HS_SUCCESS) {
          ++rejected;
          diags.push_back({r.file, p.line,
                           std::string("pattern rejected by Hyperscan: ") +
                               (err.err != nullptr ? err.err->message : "unknown error")});
        }
      }
    }
    return rejected;
  }

  void compile(RuleSet& set) {
    std::vector<const char*> expressions;
    std::vector<unsigned> flags;
    std::vector<unsigned> ids;
    std::vector<const RulePattern*> where;
    for (size_t r = 0; r < rules.size(); ++r) {
      for (const RulePattern& p : rules[r].patterns) {
        ids.push_back(static_cast<unsigned>(expressions.size()));
        expressions.push_back(p.expression.c_str());
        flags.push_back(to_hs_flags(p.flags));
        set.pattern_rule_.push_back(static_cast<uint32_t>(r));
        where.push_back(&p);
      }
    }
    const uint64_t digest = digest_of(rules);
    if (hs_database_t* cached = match_detail::load_cached_db(digest)) {
      ScratchGuard proto;
      if (hs_alloc_scratch(cached, &proto.scratch) == HS_SUCCESS) {
        set.db_ = cached;
        set.proto_scratch_ = std::exchange(proto.scratch, nullptr);
        return;
      }
      hs_free_database(cached);  // unusable: compile afresh
    }
    DatabaseGuard db;
    CompileErrorGuard err;
    if (hs_compile_multi(expressions.data(), flags.data(), ids.data(),
                         static_cast<unsigned>(expressions.size()), HS_MODE_BLOCK, nullptr, &db.db,
                         &err.err) != HS_SUCCESS) {
      if (check_patterns_one_by_one() > 0) return;
      // Every pattern compiles alone, so the set as a whole is the problem (e.g. too large).
      const std::string msg = err.err != nullptr ? err.err->message : "unknown error";
      const int idx = err.err != nullptr ? err.err->expression : -1;
      if (idx >= 0 && static_cast<size_t>(idx) < where.size()) {
        const Rule& r = rules[set.pattern_rule_[idx]];
        diags.push_back({r.file, where[idx]->line,
                         "pattern rejected by Hyperscan when compiled together with the other " +
                             std::to_string(expressions.size() - 1) + " patterns: " + msg});
      } else {
        diags.push_back({origin, 0,
                         "Hyperscan could not compile the rule set (" + std::to_string(expressions.size()) +
                             " patterns in " + std::to_string(rules.size()) + " rules): " + msg +
                             "; try fewer or simpler patterns"});
      }
      return;
    }
    ScratchGuard proto;
    if (hs_alloc_scratch(db.db, &proto.scratch) != HS_SUCCESS) {
      diags.push_back({origin, 0, "cannot allocate Hyperscan scratch space for the rule set"});
      return;
    }
    match_detail::store_cached_db(digest, db.db);
    set.db_ = db.release();
    set.proto_scratch_ = std::exchange(proto.scratch, nullptr);
  }

  static uint64_t digest_of(const std::vector<Rule>& sorted) {
    uint64_t h = hash_str("distillscan.rules.v1");
    h = hash_combine(h, sorted.size());
    for (const Rule& r : sorted) {
      h = hash_combine(h, hash_str(r.id));
      h = hash_combine(h, r.patterns.size());
      for (const RulePattern& p : r.patterns) {
        h = hash_combine(h, hash_str(p.expression));
        h = hash_combine(h, p.flags);
      }
    }
    return h;
  }

  void sort_diagnostics() {
    auto rank = [&](const std::string& f) {
      auto it = std::find(files.begin(), files.end(), f);
      return static_cast<size_t>(it - files.begin());
    };
    std::stable_sort(diags.begin(), diags.end(), [&](const RuleDiagnostic& a, const RuleDiagnostic& b) {
      const size_t ra = rank(a.file);
      const size_t rb = rank(b.file);
      if (ra != rb) return ra < rb;
      return a.line < b.line;
    });
  }

  Result<std::shared_ptr<const RuleSet>> finish(std::vector<RuleDiagnostic>* out) {
    check_duplicate_ids();
    check_rule_limit();
    std::stable_sort(rules.begin(), rules.end(), [](const Rule& a, const Rule& b) { return a.id < b.id; });

    auto set = std::make_shared<RuleSet>();
    assign_categories(*set);
    if (!rules.empty()) {
      if (diags.empty()) {
        compile(*set);
      } else {
        check_patterns_one_by_one();  // the load fails anyway; report Hyperscan's view too
      }
    }

    if (!diags.empty()) {
      sort_diagnostics();
      std::string message;
      for (const RuleDiagnostic& d : diags) {
        if (!message.empty()) message += '\n';
        message += d.format();
      }
      if (out != nullptr) out->insert(out->end(), diags.begin(), diags.end());
      return make_error(std::move(message));
    }

    set->digest_ = digest_of(rules);
    for (const Rule& r : rules) set->field_union_ |= r.field_mask;
    set->rules_ = std::move(rules);
    return std::shared_ptr<const RuleSet>(std::move(set));
  }
};

Result<std::shared_ptr<const RuleSet>> RuleSet::load(const std::vector<std::string>& paths,
                                                     std::vector<RuleDiagnostic>* diagnostics) {
  RuleSetBuilder b;
  for (const std::string& p : paths) {
    if (!b.origin.empty()) b.origin += ", ";
    b.origin += p;
  }
  const auto sources = match_detail::read_rule_sources(paths, b.diags);
  // Parsing is cached by the files' names and bytes (db_cache.hpp).
  uint64_t key = hash_str("distillscan rules"), check = hash_str("distillscan rules", 0x51A7E5ull);
  for (const match_detail::RuleSource& src : sources) {
    b.files.push_back(src.file);
    key = hash_combine(hash_combine(key, hash_str(src.file)), hash_str(src.text));
    check = hash_combine(hash_combine(check, hash_str(src.file, 0x51A7E5ull)), hash_str(src.text, 0x51A7E5ull));
  }
  if (!b.diags.empty() || !match_detail::load_cached_rules(key, check, b.rules)) {
    for (const match_detail::RuleSource& src : sources) match_detail::parse_rule_file(src.text, src.file, b.rules, b.diags);
    if (b.diags.empty()) match_detail::store_cached_rules(key, check, b.rules);
  }
  return b.finish(diagnostics);
}

Result<std::shared_ptr<const RuleSet>> RuleSet::load_text(std::string_view yaml, std::string_view name,
                                                          std::vector<RuleDiagnostic>* diagnostics) {
  RuleSetBuilder b;
  b.origin = std::string(name);
  b.files.push_back(b.origin);
  match_detail::parse_rule_file(yaml, b.origin, b.rules, b.diags);
  return b.finish(diagnostics);
}

RuleSet::RuleSet() {
  digest_ = RuleSetBuilder::digest_of(rules_);
}

RuleSet::~RuleSet() {
  if (proto_scratch_ != nullptr) hs_free_scratch(as_scratch(proto_scratch_));
  if (db_ != nullptr) hs_free_database(as_db(db_));
}

void RuleSet::scan_with(void* scratch, std::string_view text, TextField field, RuleBits& hits,
                        uint32_t& categories) const noexcept {
  const uint32_t bit = field_bit(field);
  if (db_ == nullptr || scratch == nullptr || text.empty() || (field_union_ & bit) == 0) return;
  MatchContext ctx{pattern_rule_.data(), rules_.data(), bit, &hits, &categories};
  const size_t len = std::min<size_t>(text.size(), std::numeric_limits<unsigned int>::max());
  // Errors (only HS_SCRATCH_IN_USE on misuse) leave the bits as far as they got.
  hs_scan(as_db(db_), text.data(), static_cast<unsigned int>(len), 0, as_scratch(scratch), on_match, &ctx);
}

std::vector<RuleDiagnostic> RuleSet::run_examples() const {
  std::vector<RuleDiagnostic> failures;
  ScratchGuard scratch;
  if (proto_scratch_ != nullptr &&
      hs_clone_scratch(as_scratch(proto_scratch_), &scratch.scratch) != HS_SUCCESS) {
    throw std::bad_alloc();
  }
  for (size_t i = 0; i < rules_.size(); ++i) {
    const Rule& rule = rules_[i];
    for (const RuleExample& ex : rule.examples) {
      RuleBits hits;
      uint32_t categories = 0;
      scan_with(scratch.scratch, ex.text, ex.field, hits, categories);
      if (hits[i] == ex.should_match) continue;
      failures.push_back({rule.file, ex.line,
                          "rule " + rule.id + ": example expected " +
                              (ex.should_match ? "to match but did not: " : "not to match but did: ") +
                              quote_example(ex.text)});
    }
  }
  return failures;
}

RuleScanner::RuleScanner(std::shared_ptr<const RuleSet> rules) : rules_(std::move(rules)) {
  if (rules_ && rules_->proto_scratch_ != nullptr) {
    hs_scratch_t* s = nullptr;
    if (hs_clone_scratch(as_scratch(rules_->proto_scratch_), &s) != HS_SUCCESS) throw std::bad_alloc();
    scratch_ = s;
    cache_ = std::make_unique<CacheEntry[]>(kCacheEntries);
  }
}

RuleScanner::~RuleScanner() {
  if (scratch_ != nullptr) hs_free_scratch(as_scratch(scratch_));
}

RuleScanner::RuleScanner(RuleScanner&& other) noexcept
    : rules_(std::move(other.rules_)),
      scratch_(std::exchange(other.scratch_, nullptr)),
      cache_(std::move(other.cache_)),
      key_of_(other.key_of_),
      stats_(other.stats_) {}

RuleScanner& RuleScanner::operator=(RuleScanner&& other) noexcept {
  if (this != &other) {
    if (scratch_ != nullptr) hs_free_scratch(as_scratch(scratch_));
    rules_ = std::move(other.rules_);
    scratch_ = std::exchange(other.scratch_, nullptr);
    cache_ = std::move(other.cache_);
    key_of_ = other.key_of_;
    stats_ = other.stats_;
  }
  return *this;
}


uint32_t RuleScanner::fields() const noexcept {
  return rules_ && rules_->db_ != nullptr ? rules_->field_union_ : 0;
}

void RuleScanner::scan(std::string_view text, TextField field, RuleBits& hits,
                       uint32_t& categories) noexcept {
  if (!rules_) return;
  if (text.size() < kCacheMinBytes || text.size() > kCacheMaxBytes || !cache_ ||
      (rules_->field_union_ & field_bit(field)) == 0) {
    rules_->scan_with(scratch_, text, field, hits, categories);
    return;
  }
  const uint64_t key = tagged(key_of_(text), field);
  CacheEntry& e = cache_[slot_of(key)];
  ++stats_.lookups;
  if (e.key == key && e.len == text.size()) {
    ++stats_.hits;
    stats_.bytes_skipped += text.size();
    hits |= e.hits;
    categories |= e.categories;
    return;
  }
  e.key = key;
  e.len = static_cast<uint32_t>(text.size());
  e.hits.reset();
  e.categories = 0;
  rules_->scan_with(scratch_, text, field, e.hits, e.categories);
  hits |= e.hits;
  categories |= e.categories;
}

}  // namespace ds

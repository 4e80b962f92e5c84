// RuleSet: the extraction-pattern rules, compiled once into one Hyperscan
// database; immutable and shared by all workers (shared_ptr<const RuleSet>).
// RuleScanner: one per worker thread, owns its Hyperscan scratch.
// Hyperscan headers stay inside rule_set.cpp; yaml-cpp inside rule_loader.cpp.
// Texts given to scan() must be valid UTF-8 (rules compile with HS_FLAG_UTF8
// by default; Hyperscan's results on invalid UTF-8 are undefined).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/event.hpp"
#include "core/keyed_hash.hpp"
#include "core/result.hpp"
#include "core/text_scanner.hpp"

namespace ds {

struct RulePattern {
  std::string expression;  // Hyperscan syntax
  unsigned flags = 0;      // distillscan flag bits, see PatternFlag
  int line = 0;            // 1-based line in the rule file
};

enum PatternFlag : unsigned {
  kCaseless = 1u << 0,  // default on
  kDotAll = 1u << 1,
  kMultiline = 1u << 2,
  kUtf8 = 1u << 3,  // default on
  kUcp = 1u << 4,
};

struct RuleExample {
  std::string text;
  bool should_match = true;
  TextField field = TextField::user;  // which text the example is fed as
  int line = 0;
};

struct Rule {
  std::string id;
  std::string description;
  std::string category;
  uint32_t category_index = 0;  // index into RuleSet::categories()
  uint32_t field_mask = 0;      // bits of TextField (field_bit)
  double weight = 1.0;
  std::vector<RulePattern> patterns;
  std::vector<RuleExample> examples;
  std::string file;  // where it was defined
  int line = 0;
};

// A problem found while loading/compiling, located for the user.
struct RuleDiagnostic {
  std::string file;
  int line = 0;  // 1-based; 0 = the whole file / path
  std::string message;
  std::string format() const;  // "FILE:LINE: message" ("FILE: message" when line is 0)
};

class RuleSet;

class RuleScanner final : public TextScanner {
 public:
  // Clones the set's prototype scratch (throws std::bad_alloc if Hyperscan
  // cannot). Use one scanner per thread; a null or empty set scans nothing.
  explicit RuleScanner(std::shared_ptr<const RuleSet> rules);
  ~RuleScanner() override;
  RuleScanner(const RuleScanner&) = delete;
  RuleScanner& operator=(const RuleScanner&) = delete;
  RuleScanner(RuleScanner&&) noexcept;
  RuleScanner& operator=(RuleScanner&&) noexcept;
  // Scans `text` as field `field`; sets rule bits (and category bits) for
  // rules whose field_mask includes `field`. Never throws, never allocates.
  void scan(std::string_view text, TextField field, RuleBits& hits, uint32_t& categories) noexcept override;
  uint32_t fields() const noexcept override;
  const RuleSet& rules() const { return *rules_; }

  // Result cache for repeated texts (a shared system prompt, the earlier turns
  // a chat client re-sends with every request): a fixed, direct-mapped table
  // allocated once, keyed by field, length and a 61-bit hash of the text. A
  // hit returns the bits the scan gave that text before, so results are
  // identical to scanning (and independent of which worker saw the text
  // first). The hash is KeyedTextHash (core/keyed_hash.hpp) at a secret
  // random point per scanner: a sender must not be able to borrow a benign
  // text's bits, and two different texts collide with probability at most
  // (length / 7) / (2^61 - 2) per lookup whatever they are (fast hashes with
  // public keys have collisions that can be built offline). Only texts
  // under kCacheMinBytes (the threshold is low because a Hyperscan call
  // costs ~1,000 cycles even on 30 bytes, and a short system prompt whose
  // literals the pack's engines must confirm can cost 13,000, measured per
  // call on the 1 GB bench corpus, against ~50 for the key) and over
  // kCacheMaxBytes (which bounds that probability by 2^-44) bypass the cache.
  static constexpr size_t kCacheEntries = 4096;
  static constexpr size_t kCacheMinBytes = 16;
  static constexpr size_t kCacheMaxBytes = size_t{512} << 10;
  struct CacheStats {
    uint64_t lookups = 0;
    uint64_t hits = 0;
    uint64_t bytes_skipped = 0;  // text bytes not scanned thanks to a hit
  };
  const CacheStats& cache_stats() const { return stats_; }

 private:
  struct CacheEntry {
    uint64_t key = 0;  // tagged(): the text's hash and its field
    RuleBits hits;
    uint32_t len = 0;  // 0 = empty (cached texts have at least kCacheMinBytes)
    uint32_t categories = 0;
  };
  static_assert(sizeof(CacheEntry) == 48 && kCacheMaxBytes <= UINT32_MAX);
  // The hash (< 2^61) with the field in the top 3 bits: one text in two
  // fields is two entries, compared as one word.
  static uint64_t tagged(uint64_t hash, TextField field) noexcept {
    static_assert(static_cast<unsigned>(TextField::kCount) <= 8);
    return hash | (static_cast<uint64_t>(field) << 61);
  }
  static size_t slot_of(uint64_t tagged_key) noexcept { return (tagged_key * 0x9E3779B97F4A7C15ull) >> 52; }
  static_assert(kCacheEntries == size_t{1} << 12);
  friend struct RuleScannerTestAccess;  // tests plant colliding entries and pick the point
  std::shared_ptr<const RuleSet> rules_;
  void* scratch_ = nullptr;  // hs_scratch_t*
  std::unique_ptr<CacheEntry[]> cache_;
  KeyedTextHash key_of_;
  CacheStats stats_;
};

class RuleSet {
 public:
  // Loads every *.yaml / *.yml file under each path (file or directory, sorted
  // by name), validates, and compiles. On failure returns every diagnostic found
  // (appended to *diagnostics when given; also joined, one per line, in the
  // Error message). No paths = an empty rule set.
  static Result<std::shared_ptr<const RuleSet>> load(const std::vector<std::string>& paths,
                                                     std::vector<RuleDiagnostic>* diagnostics);
  // Same from in-memory YAML text (tests); `name` stands in for the file name.
  static Result<std::shared_ptr<const RuleSet>> load_text(std::string_view yaml, std::string_view name,
                                                          std::vector<RuleDiagnostic>* diagnostics);
  ~RuleSet();
  RuleSet(const RuleSet&) = delete;
  RuleSet& operator=(const RuleSet&) = delete;

  const std::vector<Rule>& rules() const { return rules_; }
  const std::vector<std::string>& categories() const { return categories_; }
  // Stable digest of the sorted rules (ids, patterns, flags): names a compiled-db cache entry.
  uint64_t digest() const { return digest_; }

  // Runs every rule's embedded examples, each fed as the rule's first listed
  // field (any_message = user). Returns the failures (empty = all pass), e.g.
  // "rules/x.yaml:40: rule ID: example expected to match but did not: \"...\"".
  std::vector<RuleDiagnostic> run_examples() const;

  RuleSet();  // use load()

 private:
  friend class RuleScanner;
  friend struct RuleSetBuilder;
  // The scan shared by RuleScanner and run_examples; `scratch` is a clone owned by the caller.
  void scan_with(void* scratch, std::string_view text, TextField field, RuleBits& hits,
                 uint32_t& categories) const noexcept;
  std::vector<Rule> rules_;
  std::vector<std::string> categories_;
  std::vector<uint32_t> pattern_rule_;  // hyperscan id -> rule index
  void* db_ = nullptr;                  // hs_database_t*
  void* proto_scratch_ = nullptr;       // hs_scratch_t* to clone from
  uint64_t digest_ = 0;
  uint32_t field_union_ = 0;  // OR of every rule's field_mask: other fields skip the scan
};

}  // namespace ds

// LineParser::Impl: the per-worker state and the record walk behind
// LineParser, shared by line_parser.cpp (lines, the generic walk, validation)
// and field_extract.cpp (what mapped values become). Private to parse/, and
// the only header that includes simdjson.
#pragma once
#define SIMDJSON_EXCEPTIONS 0  // error codes only; nothing here may throw
#include <simdjson.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include "core/chunk.hpp"
#include "core/event.hpp"
#include "core/keyed_hash.hpp"
#include "parse/field_trie.hpp"
#include "parse/json_token.hpp"
#include "parse/line_parser.hpp"
#include "parse/text_fingerprint.hpp"

namespace ds {

static_assert(kChunkPadding >= simdjson::SIMDJSON_PADDING, "chunks must carry simdjson's padding");

namespace od = simdjson::ondemand;

// Returns the error code of `expr` from the enclosing function if it failed.
#define DS_TRY(expr)                                          \
  do {                                                        \
    simdjson::error_code ds_try_err_ = (expr);                \
    if (ds_try_err_ != simdjson::SUCCESS) return ds_try_err_; \
  } while (0)

namespace parse_impl {

using simdjson::error_code;
using simdjson::SUCCESS;

inline constexpr uint32_t kMaxDepth = 1024;  // nesting levels, root container = 1
inline constexpr size_t kMinParserCapacity = size_t{64} * 1024;
inline constexpr size_t kMaxRequestIdBytes = 128;

inline constexpr uint32_t kRequiredMask = field_mask(Field::time) | field_mask(Field::account);
// Fields that take every value found; all others keep the first usable one.
inline constexpr uint32_t kAllValuesMask = field_mask(Field::messages) | field_mask(Field::prompt);
inline constexpr uint32_t kStringFields = field_mask(Field::time) | field_mask(Field::account) |
                                          field_mask(Field::api_key) | field_mask(Field::ip) |
                                          field_mask(Field::user_agent) | field_mask(Field::model) |
                                          field_mask(Field::prompt) | field_mask(Field::request_id);

enum class Role : uint8_t { other, system, user, assistant, tool };

// A member's key. Keys without escapes (nearly all) are used in place; the
// others are unescaped into the parser's string buffer. Stage 1 has already
// checked UTF-8 and control characters, so an unescaped key is valid as is.
inline error_code key_of(od::field& f, std::string_view& key) {
  const char* const k = f.key().raw();                         // just after the opening quote
  size_t end = json_token::find_quote_or_backslash_padded(k);  // the key is closed: stage 1 checked
  if (k[end] == '"') {
    key = std::string_view(k, end);
    return SUCCESS;
  }
  return f.unescaped_key().get(key);
}

// Moves past a string value without unescaping it. A string must never be
// left for simdjson's skip: skipping a string followed by ':' takes it for a
// key (simdjson issue 1742) and would accept ["a":1] or {"k":"v":2}.
inline error_code consume_string(od::value& v) {
  od::raw_json_string raw;
  return v.get_raw_json_string().get(raw);
}

// A string value's text: a view into the line when it has no escapes, else
// unescaped into the parser's string buffer. Either way valid until the line
// is done. Consumes the value.
inline error_code string_of(od::value& v, std::string_view& out) {
  std::string_view tok = v.raw_json_token();  // from the opening quote to the next structural
  if (!json_token::has_backslash_padded(tok.data(), tok.size())) {
    tok = json_token::trim_right(tok);
    if (tok.size() < 2 || tok.back() != '"') return simdjson::STRING_ERROR;
    out = tok.substr(1, tok.size() - 2);
    return consume_string(v);
  }
  return v.get_string().get(out);
}

}  // namespace parse_impl

struct LineParser::Impl {
  Impl(const FieldMapping& mapping, ParseOptions o) : trie(mapping), opt(o) {}

  // line_parser.cpp --------------------------------------------------------
  void parse_line(std::string_view line, uint32_t line_in_chunk, TextScanner* scanner,
                  EventBatch& out) noexcept;

  // Per-line state -----------------------------------------------------------
  void reset_line(TextScanner* s) {
    scanner = s;
    // Drop what was queued since the last commit: a rejected line's texts.
    pending_scans.resize(committed_scans);
    scan_arena.resize(committed_arena);
    ev = Event{};
    found = 0;
    bad = 0;
    malformed_texts = false;
    time_ms = 0;
    account = {};
    request_id = {};
    have_user_message = false;
    have_prompt = false;
    last_prompt = {};
    system_parts.clear();
    last_user_parts.clear();
  }

  // Rule scans wait until the lines of about kScanBatchBytes of text are
  // parsed (flush_scans), then run back to back. Interleaved with the walk
  // of every line they ran slower: scanning a text a second time right after
  // the first took 21 % less, most likely because the first call had to
  // fetch Hyperscan's tables back into the cache. Texts in the line stay
  // valid until parse_chunk (or the public parse_line) returns, and both
  // flush before returning; unescaped texts live in simdjson's string
  // buffer, which the next line reuses, so they are copied. A line with more
  // than kMaxLineScans texts scans the rest at once (the queue stays small).
  static constexpr size_t kScanBatchBytes = 256 * 1024;
  static constexpr size_t kMaxLineScans = 4096;
  void scan(std::string_view text, TextField f) {
    if ((scan_fields & field_bit(f)) == 0 || text.empty()) return;
    if (pending_scans.size() - committed_scans >= kMaxLineScans) {
      scanner->scan(text, f, ev.rule_hits, ev.category_bits);
      return;
    }
    PendingScan p{text.data(), 0, text.size(), 0, f};
    const std::less<const char*> before;
    if (before(text.data(), line_begin) || !before(text.data(), line_end)) {
      p.data = nullptr;
      p.arena_offset = scan_arena.size();
      scan_arena.insert(scan_arena.end(), text.begin(), text.end());
    }
    pending_scans.push_back(p);
  }
  // Hands the line's texts to the event about to be appended to `out`.
  void commit_scans(const EventBatch& out) {
    for (size_t i = committed_scans; i < pending_scans.size(); ++i) {
      pending_scans[i].event = static_cast<uint32_t>(out.events.size());
      pending_bytes += pending_scans[i].size;
    }
    committed_scans = pending_scans.size();
    committed_arena = scan_arena.size();
  }
  // Scans every committed text into its event. Called after each batch, at
  // the end of parse_chunk and of parse_line: nothing waits past them.
  void flush_scans(EventBatch& out) noexcept {
    for (size_t i = 0; i < committed_scans; ++i) {
      const PendingScan& p = pending_scans[i];
      Event& e = out.events[p.event];
      const char* data = p.data != nullptr ? p.data : scan_arena.data() + p.arena_offset;
      scanner->scan(std::string_view(data, p.size), p.field, e.rule_hits, e.category_bits);
    }
    pending_scans.clear();
    scan_arena.clear();
    committed_scans = committed_arena = pending_bytes = 0;
  }
  void mark_bad(uint32_t mask) { bad |= mask; }

  // The generic walk (line_parser.cpp) --------------------------------------
  simdjson::error_code walk_object(od::object obj, const FieldTrie::Node& n, uint32_t depth);
  simdjson::error_code walk_array(od::array arr, const FieldTrie::Node& n, uint32_t depth);
  simdjson::error_code visit(od::value& v, int32_t node, uint32_t depth);
  simdjson::error_code validate(od::value& v, uint32_t depth);
  simdjson::error_code validate_typed(od::value& v, od::json_type t, uint32_t depth);
  // An unmapped value: fully validated with full_validation. Without it only
  // its token's grammar is checked where that is cheap (numbers, true, false,
  // null; a string is stepped over, its escapes unchecked), and an unmapped
  // object or array is left to simdjson's skip: unchecked, no recursion.
  simdjson::error_code skip_or_validate(od::value& v, uint32_t depth) {
    od::json_type t;
    DS_TRY(v.type().get(t));
    return skip_or_validate_typed(v, t, depth);
  }
  simdjson::error_code skip_or_validate_typed(od::value& v, od::json_type t, uint32_t depth) {
    if (opt.full_validation) return validate_typed(v, t, depth);
    switch (t) {
      case od::json_type::object:
      case od::json_type::array:
        return simdjson::SUCCESS;
      case od::json_type::string:
        return parse_impl::consume_string(v);
      default:
        return validate_typed(v, t, depth);
    }
  }
  simdjson::error_code validate_root(od::document& doc, od::json_type t, std::string_view line);

  // field_extract.cpp ---------------------------------------------------------
  // Field extraction at a node where pointers end. Sets `consumed` when the
  // value has been fully handled (else the caller descends / validates).
  simdjson::error_code extract(od::value& v, od::json_type t, uint32_t want, uint32_t depth, bool& consumed);
  simdjson::error_code extract_string(od::value& v, uint32_t want);
  simdjson::error_code extract_number(od::value& v, uint32_t want);
  simdjson::error_code extract_bool(std::string_view tok, uint32_t want);
  simdjson::error_code count_logit_bias(od::value& v, uint32_t depth);
  simdjson::error_code walk_prompt_array(od::value& v, uint32_t depth);
  simdjson::error_code walk_messages(od::value& v, uint32_t depth);
  simdjson::error_code walk_message(od::object obj, uint32_t depth);
  simdjson::error_code read_content(od::value& v, uint32_t depth);

  void add_prompt(std::string_view text);
  void finish_message(parse_impl::Role role, bool has_tool_calls);
  void finish_event(uint32_t line_in_chunk, EventBatch& out);

  // State -------------------------------------------------------------------
  FieldTrie trie;
  ParseOptions opt;
  od::parser parser;
  size_t capacity = 0;

  TextScanner* scanner = nullptr;
  uint32_t scan_fields = 0;  // scanner->fields(), read once per parse_chunk / parse_line call
  struct PendingScan {
    const char* data;  // in the chunk, or null: in scan_arena at arena_offset
    size_t arena_offset;
    size_t size;
    uint32_t event;  // index in out.events
    TextField field;
  };
  std::vector<PendingScan> pending_scans;
  std::vector<char> scan_arena;
  size_t committed_scans = 0, committed_arena = 0, pending_bytes = 0;
  // The line being parsed: its end bounds raw number scans; texts outside it
  // were unescaped into simdjson's string buffer.
  const char* line_begin = nullptr;
  const char* line_end = nullptr;
  Event ev;
  uint32_t found = 0;  // fields with a usable value
  uint32_t bad = 0;    // fields seen with an unusable value
  bool malformed_texts = false;
  int64_t time_ms = 0;
  std::string_view account;
  char account_digits[24] = {};
  std::string_view request_id;
  bool have_user_message = false;
  bool have_prompt = false;
  std::string_view last_prompt;
  std::vector<std::string_view> system_parts;     // every system text, in order
  std::vector<std::string_view> last_user_parts;  // texts of the last user message
  std::vector<std::string_view> cur_parts;        // texts of the message being read
  TextNormalizer norm;

  // The system prompt repeats across requests (an account's template, a
  // product's agents): its hash is looked up by a key over the raw texts
  // before they are normalised and hashed again. Direct-mapped, fixed size,
  // allocated once; the key (KeyedTextHash of each part, at a secret point:
  // no sender can build a prompt that takes another's fingerprint) plus the
  // length and first and last bytes must all agree.
  struct SystemHashSlot {
    uint64_t key = 0;  // 0: empty
    uint64_t len = 0;
    uint64_t head = 0;
    uint64_t tail = 0;
    uint64_t hash = 0;
  };
  static constexpr size_t kSystemCacheSlots = 256;
  static constexpr size_t kSystemCacheMinBytes = 64;  // shorter: computed directly
  // Longer: computed directly too. Only its first and last 8 KiB are
  // normalised, while the key reads all of it: for a long prompt seen once
  // the key would cost more than it saves.
  static constexpr size_t kSystemCacheMaxBytes = 64 * 1024;
  std::unique_ptr<SystemHashSlot[]> system_cache = std::make_unique<SystemHashSlot[]>(kSystemCacheSlots);
  KeyedTextHash system_key_of;
  uint64_t system_hash_of_parts();
};

}  // namespace ds

// What mapped values become: scalar fields, logit_bias, prompts, messages,
// and the fingerprints of the finished Event. See line_parser.cpp for the
// walk that calls into here and the outcome rules.
#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include "core/hash.hpp"
#include "parse/line_parser_impl.hpp"

namespace ds {

using namespace parse_impl;

namespace {

Role role_from(std::string_view r) {
  if (json_token::equals(r, "user")) return Role::user;
  if (json_token::equals(r, "assistant")) return Role::assistant;
  if (json_token::equals(r, "system") || json_token::equals(r, "developer")) return Role::system;
  if (json_token::equals(r, "tool") || json_token::equals(r, "function")) return Role::tool;
  return Role::other;
}

template <class T>
void add_sat(T& dst, uint64_t v) {
  constexpr uint64_t kMax = std::numeric_limits<T>::max();
  uint64_t s = static_cast<uint64_t>(dst) + v;
  dst = static_cast<T>(s > kMax ? kMax : s);
}

// True if the digits before the exponent of a number token are all zero.
bool zero_mantissa(std::string_view tok) {
  for (char c : tok) {
    if (c == 'e' || c == 'E') break;
    if (c >= '1' && c <= '9') return false;
  }
  return true;
}

// Integral value of a JSON number; floats with an integral value count, but
// not one that only looks integral after underflowing to zero (1e-400).
bool as_integer(const od::number& num, std::string_view tok, int64_t& out) {
  if (num.is_int64()) {
    out = num.get_int64();
    return true;
  }
  if (num.is_uint64()) return false;  // > INT64_MAX
  double d = num.get_double();
  if (!std::isfinite(d) || d != std::floor(d) || std::fabs(d) >= 9.2e18) return false;
  if (d == 0 && !zero_mantissa(tok)) return false;
  out = static_cast<int64_t>(d);
  return true;
}

// Cuts s to at most n bytes without splitting a UTF-8 sequence.
std::string_view utf8_prefix(std::string_view s, size_t n) {
  if (s.size() <= n) return s;
  size_t cut = n;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return s.substr(0, cut);
}

}  // namespace

// ---------------------------------------------------------------------------
// Scalars

error_code LineParser::Impl::extract(od::value& v, od::json_type t, uint32_t want, uint32_t depth,
                                     bool& consumed) {
  consumed = true;
  switch (t) {
    case od::json_type::string:
      return extract_string(v, want);
    case od::json_type::number:
      return extract_number(v, want);
    case od::json_type::boolean: {
      std::string_view tok = json_token::trim_right(v.raw_json_token());
      if (tok != "true" && tok != "false") return simdjson::T_ATOM_ERROR;
      return extract_bool(tok, want);
    }
    case od::json_type::null:
      // Absent for every field.
      return json_token::trim_right(v.raw_json_token()) == "null" ? SUCCESS : simdjson::N_ATOM_ERROR;
    case od::json_type::object:
      if (want & field_mask(Field::logit_bias)) {
        mark_bad(want & ~field_mask(Field::logit_bias));
        return count_logit_bias(v, depth);
      }
      mark_bad(want);
      consumed = false;
      return SUCCESS;
    case od::json_type::array:
      if (want & field_mask(Field::messages)) {
        mark_bad(want & ~field_mask(Field::messages));
        return walk_messages(v, depth);
      }
      if (want & field_mask(Field::prompt)) {
        mark_bad(want & ~field_mask(Field::prompt));
        return walk_prompt_array(v, depth);
      }
      mark_bad(want);
      consumed = false;
      return SUCCESS;
  }
  return simdjson::TAPE_ERROR;
}

error_code LineParser::Impl::extract_string(od::value& v, uint32_t want) {
  mark_bad(want & ~kStringFields);
  want &= kStringFields;
  if (want == 0) return skip_or_validate_typed(v, od::json_type::string, 0);
  std::string_view s;
  DS_TRY(string_of(v, s));
  if (want & field_mask(Field::time)) {
    if (parse_rfc3339_ms(s, time_ms)) {
      found |= field_mask(Field::time);
    } else {
      mark_bad(field_mask(Field::time));
    }
  }
  if (want & field_mask(Field::account)) {
    if (!s.empty()) {
      account = s;
      found |= field_mask(Field::account);
    } else {
      mark_bad(field_mask(Field::account));
    }
  }
  if (want & field_mask(Field::api_key)) {
    ev.api_key_hash = hash_str(s);
    found |= field_mask(Field::api_key);
  }
  if (want & field_mask(Field::ip)) {
    ev.ip_hash = hash_str(s);
    found |= field_mask(Field::ip);
  }
  if (want & field_mask(Field::user_agent)) {
    ev.user_agent_hash = hash_str(s);
    found |= field_mask(Field::user_agent);
    scan(s, TextField::user_agent);
  }
  if (want & field_mask(Field::model)) {
    ev.model_hash = hash_str(s);
    found |= field_mask(Field::model);
  }
  if (want & field_mask(Field::request_id)) {
    request_id = utf8_prefix(s, kMaxRequestIdBytes);
    found |= field_mask(Field::request_id);
  }
  if (want & field_mask(Field::prompt)) add_prompt(s);
  return SUCCESS;
}

error_code LineParser::Impl::extract_number(od::value& v, uint32_t want) {
  std::string_view tok = json_token::trim_right(v.raw_json_token());
  if (!json_token::valid_number(tok)) return simdjson::NUMBER_ERROR;
  constexpr uint32_t kNumberFields = field_mask(Field::time) | field_mask(Field::account) |
                                     field_mask(Field::api_key) | field_mask(Field::prompt_tokens) |
                                     field_mask(Field::completion_tokens) | field_mask(Field::max_tokens) |
                                     field_mask(Field::temperature) | field_mask(Field::n) |
                                     field_mask(Field::logprobs) | field_mask(Field::top_logprobs);
  mark_bad(want & ~kNumberFields);
  want &= kNumberFields;
  if (want == 0) return SUCCESS;
  if (want & field_mask(Field::api_key)) {  // an id: hash its text, like a string id
    ev.api_key_hash = hash_str(tok);
    found |= field_mask(Field::api_key);
    want &= ~field_mask(Field::api_key);
    if (want == 0) return SUCCESS;
  }
  od::number num;
  if (v.get_number().get(num) != SUCCESS) {  // grammatical but out of range (e.g. 1e400)
    mark_bad(want);
    return SUCCESS;
  }
  int64_t i = 0;
  bool integral = as_integer(num, tok, i);
  auto set_count = [&](Field f, auto& dst) {
    if (!(want & field_mask(f))) return;
    using T = std::remove_reference_t<decltype(dst)>;
    if (integral && i >= 0 &&
        static_cast<uint64_t>(i) <= static_cast<uint64_t>(std::numeric_limits<T>::max())) {
      dst = static_cast<T>(i);
      found |= field_mask(f);
    } else {
      mark_bad(field_mask(f));
    }
  };
  set_count(Field::prompt_tokens, ev.prompt_tokens);
  set_count(Field::completion_tokens, ev.completion_tokens);
  set_count(Field::max_tokens, ev.max_tokens);
  set_count(Field::n, ev.n);
  set_count(Field::top_logprobs, ev.top_logprobs);
  if (want & field_mask(Field::temperature)) {
    double t = num.as_double();
    if (std::fabs(t) <= static_cast<double>(std::numeric_limits<float>::max())) {
      ev.temperature = static_cast<float>(t);
      found |= field_mask(Field::temperature);
    } else {
      mark_bad(field_mask(Field::temperature));
    }
  }
  if (want & field_mask(Field::logprobs)) {  // legacy completions: an integer count
    if (integral) {
      ev.logprobs = i > 0 ? 1 : 0;
      found |= field_mask(Field::logprobs);
    } else {
      mark_bad(field_mask(Field::logprobs));
    }
  }
  if (want & field_mask(Field::time)) {
    if (epoch_to_ms(num.as_double(), time_ms)) {
      found |= field_mask(Field::time);
    } else {
      mark_bad(field_mask(Field::time));
    }
  }
  if (want & field_mask(Field::account)) {
    if (num.is_int64()) {  // stored as its decimal text; floats are not ids
      auto r = std::to_chars(account_digits, account_digits + sizeof(account_digits), num.get_int64());
      account = std::string_view(account_digits, static_cast<size_t>(r.ptr - account_digits));
      found |= field_mask(Field::account);
    } else if (num.is_uint64()) {
      auto r = std::to_chars(account_digits, account_digits + sizeof(account_digits), num.get_uint64());
      account = std::string_view(account_digits, static_cast<size_t>(r.ptr - account_digits));
      found |= field_mask(Field::account);
    } else {
      mark_bad(field_mask(Field::account));
    }
  }
  return SUCCESS;
}

error_code LineParser::Impl::extract_bool(std::string_view tok, uint32_t want) {
  if (want & field_mask(Field::logprobs)) {
    ev.logprobs = tok == "true" ? 1 : 0;
    found |= field_mask(Field::logprobs);
  }
  mark_bad(want & ~field_mask(Field::logprobs));
  return SUCCESS;
}

namespace {

bool is_number_byte(char c) {
  return json_token::is_digit(c) || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
}

// Counts the entries of an object whose keys are plain strings (no escapes)
// and whose values are numbers -- logit_bias as clients send it -- checking
// the grammar on the raw bytes [p, end). Walking such a map with On Demand
// cost ~175 instructions per entry (callgrind), 12% of a worker on the bench
// corpus; this costs ~45, plus On Demand's skip of the unconsumed object.
// Returns false on anything else; the caller then walks the object as
// before, so counts and errors never depend on this shortcut. Stage 1 has
// checked UTF-8 and unescaped control characters already.
bool count_plain_number_object(const char* p, const char* end, uint64_t& count) {
  auto skip_ws = [&] {
    while (p < end && json_token::is_ws(*p)) ++p;
  };
  if (p >= end || *p != '{') return false;
  ++p;
  skip_ws();
  count = 0;
  if (p < end && *p == '}') return true;
  for (;;) {
    if (p >= end || *p != '"') return false;
    ++p;
    p += json_token::find_quote_or_backslash_padded(p);  // stage 1 saw every string closed in the line
    if (p >= end || *p != '"') return false;  // an escape (or no end): the slow path checks it
    ++p;
    if (p < end && *p != ':') skip_ws();
    if (p >= end || *p != ':') return false;
    ++p;
    if (p < end && json_token::is_ws(*p)) skip_ws();
    // Integers the quick way (-?(0|[1-9][0-9]*)); anything else by the grammar check.
    const char* num = p;
    if (p < end && *p == '-') ++p;
    if (p < end && *p == '0') {
      ++p;
    } else if (p < end && *p >= '1' && *p <= '9') {
      while (p < end && json_token::is_digit(*p)) ++p;
    } else {
      return false;
    }
    if (p < end && (*p == '.' || *p == 'e' || *p == 'E')) {
      while (p < end && is_number_byte(*p)) ++p;
      if (!json_token::valid_number(std::string_view(num, static_cast<size_t>(p - num)))) return false;
    }
    ++count;
    if (p < end && json_token::is_ws(*p)) skip_ws();
    if (p >= end) return false;
    if (*p == ',') {
      ++p;
      if (p < end && json_token::is_ws(*p)) skip_ws();
      continue;
    }
    return *p == '}';  // else a byte no number may be followed by (e.g. "01", "1-")
  }
}

}  // namespace

error_code LineParser::Impl::count_logit_bias(od::value& v, uint32_t depth) {
  if (depth + 1 > kMaxDepth) return simdjson::DEPTH_ERROR;
  uint64_t fast = 0;
  if (count_plain_number_object(v.raw_json_token().data(), line_end, fast)) {
    // Valid as checked; On Demand skips the unconsumed object when the walk moves on.
    if (!(found & field_mask(Field::logit_bias))) {
      ev.logit_bias_count = fast > static_cast<uint64_t>(INT32_MAX) ? INT32_MAX : static_cast<int32_t>(fast);
      found |= field_mask(Field::logit_bias);
    }
    return SUCCESS;
  }
  od::object o;
  DS_TRY(v.get_object().get(o));
  uint64_t count = 0;
  for (auto member : o) {
    DS_TRY(member.error());
    od::field& f = member.value_unsafe();  // in place: copying it out stalls on store forwarding
    if (opt.full_validation) {             // the key is only counted; check it like any other
      std::string_view key;
      DS_TRY(key_of(f, key));
    }
    DS_TRY(skip_or_validate(f.value(), depth + 1));
    ++count;
  }
  if (!(found & field_mask(Field::logit_bias))) {
    ev.logit_bias_count = count > static_cast<uint64_t>(INT32_MAX) ? INT32_MAX : static_cast<int32_t>(count);
    found |= field_mask(Field::logit_bias);
  }
  return SUCCESS;
}

void LineParser::Impl::add_prompt(std::string_view text) {
  scan(text, TextField::prompt);
  add_sat(ev.user_chars, text.size());
  add_sat(ev.total_chars, text.size());
  last_prompt = text;
  have_prompt = true;
  found |= field_mask(Field::prompt);
}

// Legacy completions accept a batch of prompts: each string is a prompt text.
error_code LineParser::Impl::walk_prompt_array(od::value& v, uint32_t depth) {
  if (depth + 1 > kMaxDepth) return simdjson::DEPTH_ERROR;
  od::array a;
  DS_TRY(v.get_array().get(a));
  for (auto element : a) {
    DS_TRY(element.error());
    od::value& e = element.value_unsafe();
    od::json_type t;
    DS_TRY(e.type().get(t));
    if (t == od::json_type::string) {
      std::string_view s;
      DS_TRY(string_of(e, s));
      add_prompt(s);
    } else {
      malformed_texts = true;
      DS_TRY(skip_or_validate_typed(e, t, depth + 1));
    }
  }
  return SUCCESS;
}

// ---------------------------------------------------------------------------
// Messages

error_code LineParser::Impl::walk_messages(od::value& v, uint32_t depth) {
  if (depth + 1 > kMaxDepth) return simdjson::DEPTH_ERROR;
  od::array a;
  DS_TRY(v.get_array().get(a));
  found |= field_mask(Field::messages);
  for (auto element : a) {
    DS_TRY(element.error());
    od::value& e = element.value_unsafe();
    od::json_type t;
    DS_TRY(e.type().get(t));
    if (t != od::json_type::object) {
      malformed_texts = true;
      DS_TRY(skip_or_validate_typed(e, t, depth + 1));
      continue;
    }
    if (depth + 2 > kMaxDepth) return simdjson::DEPTH_ERROR;
    od::object o;
    DS_TRY(e.get_object().get(o));
    DS_TRY(walk_message(o, depth + 2));
  }
  return SUCCESS;
}

// `depth`: nesting level of the message object itself.
error_code LineParser::Impl::walk_message(od::object obj, uint32_t depth) {
  enum : uint32_t { kRole = 1, kContent = 2, kToolCalls = 4 };
  uint32_t seen = 0;
  Role role = Role::other;
  bool has_tool_calls = false;
  cur_parts.clear();
  for (auto member : obj) {
    DS_TRY(member.error());
    od::field& f = member.value_unsafe();  // in place: copying it out stalls on store forwarding
    std::string_view key;
    DS_TRY(key_of(f, key));
    od::value& v = f.value();
    if (json_token::equals(key, "role") && !(seen & kRole)) {
      seen |= kRole;
      od::json_type t;
      DS_TRY(v.type().get(t));
      if (t == od::json_type::string) {
        std::string_view r;
        DS_TRY(string_of(v, r));
        role = role_from(r);
      } else {
        if (t != od::json_type::null) malformed_texts = true;
        DS_TRY(skip_or_validate_typed(v, t, depth));
      }
    } else if (json_token::equals(key, "content") && !(seen & kContent)) {
      seen |= kContent;
      DS_TRY(read_content(v, depth));
    } else if (json_token::equals(key, "tool_calls") && !(seen & kToolCalls)) {
      seen |= kToolCalls;
      od::json_type t;
      DS_TRY(v.type().get(t));
      if (t == od::json_type::array) {
        if (depth + 1 > kMaxDepth) return simdjson::DEPTH_ERROR;
        od::array calls;
        DS_TRY(v.get_array().get(calls));
        for (auto element : calls) {
          DS_TRY(element.error());
          od::value& c = element.value_unsafe();
          has_tool_calls = true;
          DS_TRY(skip_or_validate(c, depth + 1));
        }
      } else {
        if (t != od::json_type::null) malformed_texts = true;
        DS_TRY(skip_or_validate_typed(v, t, depth));
      }
    } else {
      DS_TRY(skip_or_validate(v, depth));
    }
  }
  finish_message(role, has_tool_calls);
  return SUCCESS;
}

// content: a string, null, or an array of parts; parts with a string `text` are text.
error_code LineParser::Impl::read_content(od::value& v, uint32_t depth) {
  od::json_type t;
  DS_TRY(v.type().get(t));
  if (t == od::json_type::string) {
    std::string_view s;
    DS_TRY(string_of(v, s));
    cur_parts.push_back(s);
    return SUCCESS;
  }
  if (t != od::json_type::array) {
    if (t != od::json_type::null) malformed_texts = true;
    return skip_or_validate_typed(v, t, depth);
  }
  if (depth + 1 > kMaxDepth) return simdjson::DEPTH_ERROR;
  od::array parts;
  DS_TRY(v.get_array().get(parts));
  for (auto element : parts) {
    DS_TRY(element.error());
    od::value& p = element.value_unsafe();
    od::json_type pt;
    DS_TRY(p.type().get(pt));
    if (pt != od::json_type::object) {
      DS_TRY(skip_or_validate_typed(p, pt, depth + 1));
      continue;
    }
    if (depth + 2 > kMaxDepth) return simdjson::DEPTH_ERROR;
    od::object part;
    DS_TRY(p.get_object().get(part));
    bool text_seen = false;
    for (auto member : part) {
      DS_TRY(member.error());
      od::field& f = member.value_unsafe();
      std::string_view key;
      DS_TRY(key_of(f, key));
      od::value& pv = f.value();
      if (json_token::equals(key, "text") && !text_seen) {
        text_seen = true;
        od::json_type tt;
        DS_TRY(pv.type().get(tt));
        if (tt == od::json_type::string) {
          std::string_view s;
          DS_TRY(string_of(pv, s));
          cur_parts.push_back(s);
          continue;
        }
        DS_TRY(skip_or_validate_typed(pv, tt, depth + 2));
        continue;
      }
      DS_TRY(skip_or_validate(pv, depth + 2));
    }
  }
  return SUCCESS;
}

void LineParser::Impl::finish_message(Role role, bool has_tool_calls) {
  add_sat(ev.messages, 1);
  TextField field = TextField::user;
  switch (role) {
    case Role::system:
      add_sat(ev.system_turns, 1);
      field = TextField::system;
      break;
    case Role::user:
      add_sat(ev.user_turns, 1);
      break;
    case Role::assistant:
      add_sat(ev.assistant_turns, 1);
      field = TextField::assistant;
      if (has_tool_calls) add_sat(ev.tool_turns, 1);
      break;
    case Role::tool:
      add_sat(ev.tool_turns, 1);
      field = TextField::tool;
      break;
    case Role::other:  // scanned and counted as user-side text, but not a user turn
      break;
  }
  for (std::string_view s : cur_parts) {
    scan(s, field);
    add_sat(ev.total_chars, s.size());
    if (field == TextField::user) add_sat(ev.user_chars, s.size());
    if (field == TextField::system) system_parts.push_back(s);
  }
  if (role == Role::user) {
    last_user_parts.swap(cur_parts);
    have_user_message = true;
  }
}

// ---------------------------------------------------------------------------
// The finished event

namespace {

// Fingerprints look at the head and tail of a text, not all of it: a user
// turn can carry hundreds of KiB of retrieved documents or tool output, and
// normalising all of it cost more than parsing the line. Texts up to
// 2 x kFingerprintEdgeBytes are normalised whole; longer ones as head + tail,
// with the raw length mixed into the whole-text hash.
constexpr size_t kFingerprintEdgeBytes = 8192;

// Normalises the concatenation of `parts` (head and tail only when long).
// Returns the raw byte total.
size_t normalize_edges(TextNormalizer& norm, const std::string_view* parts, size_t n) {
  size_t total = 0;
  for (size_t i = 0; i < n; ++i) total += parts[i].size();
  norm.clear();
  if (total <= 2 * kFingerprintEdgeBytes) {
    for (size_t i = 0; i < n; ++i) norm.add(parts[i]);
    return total;
  }
  size_t head = kFingerprintEdgeBytes;
  for (size_t i = 0; i < n && head > 0; ++i) {
    std::string_view p = parts[i].substr(0, head);
    norm.add(p);
    head -= p.size();
  }
  norm.add(" ~ ");  // marks the elision; normalises to a fixed separator
  size_t skip = total - kFingerprintEdgeBytes;  // raw bytes before the tail
  for (size_t i = 0; i < n; ++i) {
    std::string_view p = parts[i];
    if (skip >= p.size()) {
      skip -= p.size();
      continue;
    }
    norm.add(p.substr(skip));
    skip = 0;
  }
  return total;
}

}  // namespace

uint64_t LineParser::Impl::system_hash_of_parts() {
  const size_t n = system_parts.size();
  size_t total = 0;
  for (size_t i = 0; i < n; ++i) total += system_parts[i].size();
  SystemHashSlot* slot = nullptr;
  uint64_t key = 0, head = 0, tail = 0;
  if (total >= kSystemCacheMinBytes && total <= kSystemCacheMaxBytes) {
    for (size_t i = 0; i < n; ++i)  // part boundaries count: they normalise to a space
      key = hash_combine(key + i, system_key_of(system_parts[i]));
    const std::string_view first = system_parts.front(), last = system_parts.back();
    std::memcpy(&head, first.data(), std::min<size_t>(8, first.size()));
    std::memcpy(&tail, last.data() + last.size() - std::min<size_t>(8, last.size()), std::min<size_t>(8, last.size()));
    slot = &system_cache[key % kSystemCacheSlots];
    if (slot->key == key && slot->len == total && slot->head == head && slot->tail == tail) return slot->hash;
  }
  const size_t raw = normalize_edges(norm, system_parts.data(), n);
  uint64_t h = norm.text().empty() ? 0 : hash_str(norm.text());
  if (h != 0 && raw > 2 * kFingerprintEdgeBytes) h = hash_combine(h, raw);
  if (slot != nullptr) *slot = SystemHashSlot{key, total, head, tail, h};
  return h;
}

void LineParser::Impl::finish_event(uint32_t line_in_chunk, EventBatch& out) {
  ev.line_in_chunk = line_in_chunk;
  ev.time_ms = time_ms;

  ev.system_hash = system_parts.empty() ? 0 : system_hash_of_parts();

  size_t raw = 0;
  if (have_user_message) {
    raw = normalize_edges(norm, last_user_parts.data(), last_user_parts.size());
  } else if (have_prompt) {
    raw = normalize_edges(norm, &last_prompt, 1);
  } else {
    norm.clear();
  }
  PromptFingerprint fp = fingerprint_normalized(norm.text());
  ev.prompt_prefix_hash = fp.prefix;
  ev.prompt_suffix_hash = fp.suffix;
  ev.prompt_hash = raw > 2 * kFingerprintEdgeBytes ? hash_combine(fp.whole, raw) : fp.whole;
  ev.prompt_near_hash = fp.near;

  ev.account_hash = hash_str(account);
  ev.account = out.store(account);
  if (found & field_mask(Field::request_id)) ev.request_id = out.store(request_id);

  out.field_type_errors += static_cast<uint64_t>(std::popcount(bad & ~found & ~kRequiredMask));
  if (malformed_texts) ++out.field_type_errors;
  commit_scans(out);
  out.events.push_back(ev);
}

}  // namespace ds

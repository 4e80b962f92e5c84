// LineParser: one JSON line -> one Event or one ErrorReason.
//
// The walk: simdjson On Demand iterates the record once in document order.
// At each object the FieldTrie says which members lead to mapped fields; those
// are descended into, everything else is validated in place (full_validation)
// or skipped. Scalars are validated on their raw token where that is enough
// (numbers, atoms, strings without escapes), so unmapped values are never
// converted or copied. Extracted strings are views into the line (no escapes)
// or into the parser's string buffer, valid until the line is done. What
// mapped values become lives in field_extract.cpp.
//
// Outcome rules (documented for the README):
//  - a trailing "\r" and a leading UTF-8 byte-order mark are ignored;
//  - empty_line (only whitespace / "\r"), then invalid_utf8, too_deep,
//    invalid_json (any syntax error, also inside unmapped values when
//    full_validation is on; trailing content), not_an_object;
//  - then `time` is checked before `account`: missing_time / bad_time, then
//    missing_account / bad_account. null counts as absent.
//  - a value of the wrong type for an optional field leaves the field absent
//    and counts one EventBatch::field_type_errors per field and line; one
//    more per line if some entries of messages (or of a prompt batch) were
//    malformed (not an object / not a string, a role or content of the wrong type).
//  - duplicate keys: the first occurrence wins; later ones are treated as
//    unmapped. With `*`, scalar fields take the first usable value; prompt and
//    messages take every value found.
//  - full_validation off: an unmapped object or array is skipped unchecked
//    (no depth limit applies to it either: skipping does not recurse); an
//    unmapped scalar only gets its cheap token check (number grammar,
//    true/false/null; a string's escapes are not checked). Mapped values are
//    checked the same way in both modes.
//  - strings are always consumed by the walk, never left to simdjson's skip,
//    which would take a string followed by ':' for a key (issue 1742).
//
// simdjson notes: compiled without exceptions (error codes only). Stage 1 is
// runtime-dispatched (AVX2 etc.); the On Demand walk uses the compile-time
// kernel. The parser's own depth checks exist only in development builds, so
// the walk bounds recursion itself (kMaxDepth).
#include "parse/line_parser.hpp"

#include <algorithm>
#include <cstring>
#include <limits>

#include "parse/line_parser_impl.hpp"

namespace ds {

using namespace parse_impl;

namespace {

ErrorReason reason_for(error_code e) {
  switch (e) {
    case simdjson::UTF8_ERROR:
      return ErrorReason::invalid_utf8;
    case simdjson::DEPTH_ERROR:
      return ErrorReason::too_deep;
    case simdjson::CAPACITY:
    case simdjson::MEMALLOC:
      return ErrorReason::line_too_long;
    default:
      return ErrorReason::invalid_json;
  }
}

}  // namespace

// ---------------------------------------------------------------------------
// Generic walk

error_code LineParser::Impl::walk_object(od::object obj, const FieldTrie::Node& n, uint32_t depth) {
  uint32_t matched = 0;  // key edges already taken in this object (duplicate keys: first wins)
  for (auto member : obj) {
    DS_TRY(member.error());
    od::field& f = member.value_unsafe();  // in place: copying it out stalls on store forwarding
    std::string_view key;
    DS_TRY(key_of(f, key));
    unsigned edge = 0;
    int32_t child = trie.key_child_padded(n, key, edge);
    if (child != FieldTrie::kNone && (matched & (1u << edge)) == 0) {
      matched |= 1u << edge;
      DS_TRY(visit(f.value(), child, depth));
    } else {
      DS_TRY(skip_or_validate(f.value(), depth));
    }
  }
  return SUCCESS;
}

error_code LineParser::Impl::walk_array(od::array arr, const FieldTrie::Node& n, uint32_t depth) {
  uint32_t index = 0;
  for (auto element : arr) {
    DS_TRY(element.error());
    od::value& v = element.value_unsafe();
    int32_t child = trie.index_child(n, index);
    if (index != std::numeric_limits<uint32_t>::max()) ++index;
    if (child != FieldTrie::kNone) {
      DS_TRY(visit(v, child, depth));
    } else {
      DS_TRY(skip_or_validate(v, depth));
    }
  }
  return SUCCESS;
}

// `depth` counts the containers around v.
error_code LineParser::Impl::visit(od::value& v, int32_t node, uint32_t depth) {
  const FieldTrie::Node& n = trie.node(node);
  od::json_type t;
  DS_TRY(v.type().get(t));
  uint32_t want = n.fields & ~(found & ~kAllValuesMask);
  if (want != 0) {
    bool consumed = false;
    DS_TRY(extract(v, t, want, depth, consumed));
    if (consumed) return SUCCESS;
  }
  if (t == od::json_type::object && !n.keys.empty()) {
    if (depth + 1 > kMaxDepth) return simdjson::DEPTH_ERROR;
    od::object o;
    DS_TRY(v.get_object().get(o));
    return walk_object(o, n, depth + 1);
  }
  if (t == od::json_type::array && (!n.indexes.empty() || n.star != FieldTrie::kNone)) {
    if (depth + 1 > kMaxDepth) return simdjson::DEPTH_ERROR;
    od::array a;
    DS_TRY(v.get_array().get(a));
    return walk_array(a, n, depth + 1);
  }
  return skip_or_validate_typed(v, t, depth);
}

error_code LineParser::Impl::validate(od::value& v, uint32_t depth) {
  od::json_type t;
  DS_TRY(v.type().get(t));
  return validate_typed(v, t, depth);
}

error_code LineParser::Impl::validate_typed(od::value& v, od::json_type t, uint32_t depth) {
  switch (t) {
    case od::json_type::object: {
      if (depth + 1 > kMaxDepth) return simdjson::DEPTH_ERROR;
      od::object o;
      DS_TRY(v.get_object().get(o));
      for (auto member : o) {
        DS_TRY(member.error());
        od::field& f = member.value_unsafe();
        std::string_view key;
        DS_TRY(key_of(f, key));
        DS_TRY(validate(f.value(), depth + 1));
      }
      return SUCCESS;
    }
    case od::json_type::array: {
      if (depth + 1 > kMaxDepth) return simdjson::DEPTH_ERROR;
      od::array a;
      DS_TRY(v.get_array().get(a));
      for (auto element : a) {
        DS_TRY(element.error());
        od::value& e = element.value_unsafe();
        DS_TRY(validate(e, depth + 1));
      }
      return SUCCESS;
    }
    case od::json_type::string: {
      // Stage 1 has checked UTF-8 and control characters; only escapes remain.
      std::string_view tok = v.raw_json_token();
      if (!json_token::has_backslash_padded(tok.data(), tok.size())) return consume_string(v);
      std::string_view s;
      return v.get_string().get(s);
    }
    case od::json_type::number:
      return json_token::valid_number(json_token::trim_right(v.raw_json_token())) ? SUCCESS
                                                                                  : simdjson::NUMBER_ERROR;
    case od::json_type::boolean: {
      std::string_view tok = json_token::trim_right(v.raw_json_token());
      return tok == "true" || tok == "false" ? SUCCESS : simdjson::T_ATOM_ERROR;
    }
    case od::json_type::null:
      return json_token::trim_right(v.raw_json_token()) == "null" ? SUCCESS : simdjson::N_ATOM_ERROR;
  }
  return simdjson::TAPE_ERROR;
}

// A top-level value that is not an object: validate it fully so that `[1,]`
// is invalid_json and `[1]` is not_an_object.
error_code LineParser::Impl::validate_root(od::document& doc, od::json_type t, std::string_view line) {
  if (t == od::json_type::array) {
    od::array a;
    DS_TRY(doc.get_array().get(a));
    for (auto element : a) {
      DS_TRY(element.error());
      od::value& e = element.value_unsafe();
      DS_TRY(validate(e, 1));
    }
    auto loc = doc.current_location();
    return loc.error() == simdjson::OUT_OF_BOUNDS ? SUCCESS : simdjson::TRAILING_CONTENT;
  }
  std::string_view raw;
  DS_TRY(doc.raw_json_token().get(raw));
  if (raw.data() + raw.size() != line.data() + line.size()) return simdjson::TRAILING_CONTENT;
  std::string_view tok = json_token::trim_right(raw);
  switch (t) {
    case od::json_type::string: {
      if (std::memchr(tok.data(), '\\', tok.size()) == nullptr) return SUCCESS;
      std::string_view s;
      return doc.get_string().get(s);
    }
    case od::json_type::number:
      return json_token::valid_number(tok) ? SUCCESS : simdjson::NUMBER_ERROR;
    case od::json_type::boolean:
      return tok == "true" || tok == "false" ? SUCCESS : simdjson::T_ATOM_ERROR;
    case od::json_type::null:
      return tok == "null" ? SUCCESS : simdjson::N_ATOM_ERROR;
    default:
      return simdjson::TAPE_ERROR;
  }
}

// ---------------------------------------------------------------------------
// Lines

void LineParser::Impl::parse_line(std::string_view line, uint32_t line_in_chunk, TextScanner* s,
                                  EventBatch& out) noexcept {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.size() >= 3 && std::memcmp(line.data(), "\xEF\xBB\xBF", 3) == 0)
    line.remove_prefix(3);  // UTF-8 BOM
  size_t first = 0;
  while (first < line.size() && json_token::is_ws(line[first])) ++first;
  if (first == line.size()) {
    out.errors.add(ErrorReason::empty_line);
    return;
  }

  if (line.size() > capacity) {
    size_t want = std::max({line.size(), capacity * 2, kMinParserCapacity});
    // simdjson's depth counter equals our nesting level; its development
    // checks (debug builds) want it strictly below max_depth.
    if (parser.allocate(want, kMaxDepth + 1) != SUCCESS) {
      capacity = 0;
      out.errors.add(ErrorReason::line_too_long);
      return;
    }
    capacity = want;
  }

  reset_line(s);
  line_begin = line.data();
  line_end = line.data() + line.size();
  od::document doc;
  error_code err = parser.iterate(line.data(), line.size(), line.size() + kChunkPadding).get(doc);
  od::json_type t = od::json_type::null;
  if (err == SUCCESS) err = doc.type().get(t);
  if (err == SUCCESS && t != od::json_type::object) {
    err = validate_root(doc, t, line);
    out.errors.add(err == SUCCESS ? ErrorReason::not_an_object : reason_for(err));
    return;
  }
  if (err == SUCCESS) {
    od::object root;
    err = doc.get_object().get(root);
    if (err == SUCCESS) err = walk_object(root, trie.root(), 1);
    if (err == SUCCESS && doc.current_location().error() != simdjson::OUT_OF_BOUNDS)
      err = simdjson::TRAILING_CONTENT;
  }
  if (err != SUCCESS) {
    out.errors.add(reason_for(err));
    return;
  }

  if (!(found & field_mask(Field::time))) {
    out.errors.add((bad & field_mask(Field::time)) ? ErrorReason::bad_time : ErrorReason::missing_time);
    return;
  }
  if (!(found & field_mask(Field::account))) {
    out.errors.add((bad & field_mask(Field::account)) ? ErrorReason::bad_account
                                                      : ErrorReason::missing_account);
    return;
  }
  finish_event(line_in_chunk, out);
}

// ---------------------------------------------------------------------------

LineParser::LineParser(const FieldMapping& mapping, ParseOptions opt)
    : impl_(std::make_unique<Impl>(mapping, opt)) {}

LineParser::~LineParser() = default;

void LineParser::parse_line(std::string_view line, uint32_t line_in_chunk, TextScanner* scanner,
                            EventBatch& out) noexcept {
  impl_->scan_fields = scanner != nullptr ? scanner->fields() : 0;
  impl_->parse_line(line, line_in_chunk, scanner, out);
  impl_->flush_scans(out);
}

void LineParser::parse_chunk(const char* data, size_t size, TextScanner* scanner, EventBatch& out) noexcept {
  impl_->scan_fields = scanner != nullptr ? scanner->fields() : 0;
  const char* p = data;
  const char* end = data + size;
  uint32_t index = 0;
  while (p < end) {
    const auto* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
    const char* line_end = nl != nullptr ? nl : end;
    impl_->parse_line(std::string_view(p, static_cast<size_t>(line_end - p)), index++, scanner, out);
    if (impl_->pending_bytes >= Impl::kScanBatchBytes) impl_->flush_scans(out);
    ++out.lines;
    p = nl != nullptr ? nl + 1 : end;
  }
  impl_->flush_scans(out);
  out.bytes += size;
}

}  // namespace ds

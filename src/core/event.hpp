// Event: the compact value that crosses from the parse stage to the detector.
// One per accepted log line. Fixed size; variable-length ids live in the
// owning EventBatch's arena, so filling a batch allocates nothing once its
// buffers have grown to their working size.
#pragma once
#include <bitset>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/parse_error.hpp"

namespace ds {

inline constexpr size_t kMaxRules = 256;
using RuleBits = std::bitset<kMaxRules>;

// Which text of a record a rule may look at.
enum class TextField : uint8_t { system, user, assistant, tool, prompt, user_agent, kCount };
inline constexpr uint32_t field_bit(TextField f) { return 1u << static_cast<unsigned>(f); }
inline constexpr uint32_t kAnyMessageFields = field_bit(TextField::system) | field_bit(TextField::user) |
                                              field_bit(TextField::assistant) | field_bit(TextField::tool);

struct TextRef {
  uint32_t offset = 0;
  uint32_t length = 0;
};

struct Event {
  // Position: chunk sequence lives on the batch; index of the line within its chunk.
  uint32_t line_in_chunk = 0;
  int64_t time_ms = 0;  // event time, Unix epoch milliseconds (UTC)

  uint64_t account_hash = 0;  // hash_str(account); never 0
  TextRef account;            // into EventBatch::arena
  TextRef request_id;         // empty when absent

  // Hashed identities; 0 = absent.
  uint64_t api_key_hash = 0;
  uint64_t ip_hash = 0;
  uint64_t user_agent_hash = 0;
  uint64_t model_hash = 0;

  // Text fingerprints; 0 = absent.
  uint64_t system_hash = 0;         // normalised text of all system messages
  uint64_t prompt_prefix_hash = 0;  // normalised first 128 bytes of the last user text / prompt
  uint64_t prompt_suffix_hash = 0;  // normalised last 128 bytes of the last user text / prompt
  uint64_t prompt_hash = 0;         // normalised full last user text / prompt
  uint64_t prompt_near_hash = 0;    // MinHash key of the same text: near-duplicates share it (parse/text_fingerprint.hpp)

  // Numbers; -1 / NaN = absent.
  int64_t prompt_tokens = -1;
  int64_t completion_tokens = -1;
  int64_t max_tokens = -1;
  float temperature = std::nanf("");
  int32_t n = -1;
  int32_t top_logprobs = -1;
  int32_t logit_bias_count = -1;  // number of entries in the logit_bias map
  int8_t logprobs = -1;           // -1 absent, 0 false, 1 true (or integer > 0 on legacy API)

  // Conversation shape.
  uint16_t messages = 0;
  uint16_t system_turns = 0;
  uint16_t user_turns = 0;
  uint16_t assistant_turns = 0;
  uint16_t tool_turns = 0;
  uint32_t user_chars = 0;    // bytes of user-side text (user messages + prompt)
  uint32_t total_chars = 0;   // bytes of all message text + prompt

  // Rule matches.
  uint32_t category_bits = 0;  // bit i = a rule of category i matched
  RuleBits rule_hits;
};

// The output of one worker for one chunk: events plus everything that did
// not become an event, so nothing is lost silently.
struct EventBatch {
  uint64_t seq = 0;           // chunk sequence number (global order)
  uint32_t source_index = 0;  // which input
  uint64_t source_offset = 0; // byte offset of the chunk in its (decompressed) input
  uint64_t bytes = 0;         // input bytes covered, newlines included
  uint64_t lines = 0;         // lines covered (events + errors)
  uint64_t field_type_errors = 0;  // optional fields of the wrong type (record kept, field ignored)
  ErrorCounts errors;
  std::vector<Event> events;
  std::string arena;

  TextRef store(std::string_view s) {
    TextRef r{static_cast<uint32_t>(arena.size()), static_cast<uint32_t>(s.size())};
    arena.append(s);
    return r;
  }
  std::string_view view(TextRef r) const { return std::string_view(arena).substr(r.offset, r.length); }

  void reset() {
    seq = 0;
    source_index = 0;
    source_offset = 0;
    bytes = 0;
    lines = 0;
    field_type_errors = 0;
    errors.clear();
    events.clear();
    arena.clear();
  }
};

}  // namespace ds

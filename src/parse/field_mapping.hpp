// FieldMapping: logical field -> JSON Pointer (RFC 6901) with `*` = every
// array element. Validated at start-up; the parser compiles it into a trie
// so one pass over a record extracts every mapped field.
#pragma once
#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace ds {

enum class Field : uint8_t {
  time, account, api_key, ip, user_agent, model, messages, prompt, prompt_tokens,
  completion_tokens, max_tokens, temperature, n, logprobs, top_logprobs, logit_bias,
  request_id, kCount
};
inline constexpr size_t kFieldCount = static_cast<size_t>(Field::kCount);

std::string_view field_name(Field f);
std::optional<Field> field_from_name(std::string_view name);

class FieldMapping {
 public:
  // The documented default: an OpenAI-style gateway log (see README).
  static FieldMapping defaults();
  // A preset by name ("openai" = defaults, "litellm" = LiteLLM spend logs).
  static Result<FieldMapping> preset(std::string_view name);

  // Sets one field's pointer; "" unmaps an optional field. Validates the
  // pointer syntax (leading '/', ~0 ~1 escapes) and the field name.
  Result<void> set(std::string_view field, std::string_view pointer);
  // "NAME=POINTER" as given to --field.
  Result<void> set_from_arg(std::string_view arg);

  // Parsed pointer tokens (unescaped); empty vector = unmapped.
  const std::vector<std::string>& tokens(Field f) const { return tokens_[static_cast<size_t>(f)]; }
  std::string pointer(Field f) const;  // back to RFC 6901 text

 private:
  std::array<std::vector<std::string>, kFieldCount> tokens_{};
};

}  // namespace ds

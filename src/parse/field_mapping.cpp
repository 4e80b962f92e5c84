// FieldMapping: names, presets and RFC 6901 pointer validation.
//
// Default mapping ("openai"): an OpenAI-style gateway log, one request per line:
//   time              /timestamp
//   account           /account_id
//   api_key           /api_key_id
//   ip                /client_ip
//   user_agent        /user_agent
//   model             /request/model
//   messages          /request/messages
//   prompt            /request/prompt
//   prompt_tokens     /usage/prompt_tokens
//   completion_tokens /usage/completion_tokens
//   max_tokens        /request/max_tokens
//   temperature       /request/temperature
//   n                 /request/n
//   logprobs          /request/logprobs
//   top_logprobs      /request/top_logprobs
//   logit_bias        /request/logit_bias
//   request_id        /request_id
//
// Preset "litellm": LiteLLM_SpendLogs rows exported as JSON:
//   time=/startTime account=/user api_key=/api_key ip=/requester_ip_address
//   user_agent=/metadata/user_agent model=/model messages=/messages prompt=(unmapped)
//   prompt_tokens=/prompt_tokens completion_tokens=/completion_tokens
//   max_tokens, temperature, n, logprobs, top_logprobs, logit_bias=/proxy_server_request/<same name>
//   request_id=/request_id
#include "parse/field_mapping.hpp"

#include <string>

namespace ds {

namespace {

constexpr std::array<std::string_view, kFieldCount> kFieldNames = {
    "time",         "account",       "api_key",           "ip",         "user_agent",  "model", "messages",
    "prompt",       "prompt_tokens", "completion_tokens", "max_tokens", "temperature", "n",     "logprobs",
    "top_logprobs", "logit_bias",    "request_id"};

std::string known_fields() {
  std::string s;
  for (auto n : kFieldNames) {
    if (!s.empty()) s += ", ";
    s += n;
  }
  return s;
}

bool is_required(Field f) {
  return f == Field::time || f == Field::account;
}

// Fields whose value is a container the parser walks itself; no other field
// may point inside them (the single pass cannot hand one value to two walkers).
bool is_container_field(Field f) {
  return f == Field::messages || f == Field::logit_bias;
}

// Two tokens can address the same step of a record: equal, or '*' against an
// array index or another '*'.
bool is_array_index_token(const std::string& t) {
  if (t.empty() || t.size() > 9) return false;
  if (t.size() > 1 && t[0] == '0') return false;
  for (char c : t)
    if (c < '0' || c > '9') return false;
  return true;
}
bool tokens_may_meet(const std::string& a, const std::string& b) {
  if (a == b) return true;
  if (a == "*") return is_array_index_token(b);
  if (b == "*") return is_array_index_token(a);
  return false;
}
// True if `outer` addresses a value that contains (or is) a value `inner` addresses.
bool may_contain(const std::vector<std::string>& outer, const std::vector<std::string>& inner) {
  if (outer.empty() || inner.empty() || outer.size() >= inner.size()) return false;
  for (size_t i = 0; i < outer.size(); ++i)
    if (!tokens_may_meet(outer[i], inner[i])) return false;
  return true;
}

// Parses an RFC 6901 pointer ("/a/b~1c") into unescaped tokens.
Result<std::vector<std::string>> parse_pointer(std::string_view ptr) {
  if (ptr.empty() || ptr[0] != '/')
    return make_error("JSON pointer \"" + std::string(ptr) + "\" must start with '/' (RFC 6901)");
  std::vector<std::string> tokens;
  std::string cur;
  for (size_t i = 1; i <= ptr.size(); ++i) {
    if (i == ptr.size() || ptr[i] == '/') {
      tokens.push_back(std::move(cur));
      cur.clear();
      continue;
    }
    char c = ptr[i];
    if (c == '~') {
      char next = i + 1 < ptr.size() ? ptr[i + 1] : '\0';
      if (next == '0') {
        cur += '~';
      } else if (next == '1') {
        cur += '/';
      } else {
        return make_error("JSON pointer \"" + std::string(ptr) + "\": '~' at offset " + std::to_string(i) +
                          " must be followed by 0 or 1 (~0 = '~', ~1 = '/')");
      }
      ++i;
      continue;
    }
    cur += c;
  }
  return tokens;
}

}  // namespace

std::string_view field_name(Field f) {
  auto i = static_cast<size_t>(f);
  return i < kFieldCount ? kFieldNames[i] : std::string_view("unknown");
}

std::optional<Field> field_from_name(std::string_view name) {
  for (size_t i = 0; i < kFieldCount; ++i)
    if (kFieldNames[i] == name) return static_cast<Field>(i);
  return std::nullopt;
}

FieldMapping FieldMapping::defaults() {
  FieldMapping m;
  auto set = [&m](Field f, std::vector<std::string> t) { m.tokens_[static_cast<size_t>(f)] = std::move(t); };
  set(Field::time, {"timestamp"});
  set(Field::account, {"account_id"});
  set(Field::api_key, {"api_key_id"});
  set(Field::ip, {"client_ip"});
  set(Field::user_agent, {"user_agent"});
  set(Field::model, {"request", "model"});
  set(Field::messages, {"request", "messages"});
  set(Field::prompt, {"request", "prompt"});
  set(Field::prompt_tokens, {"usage", "prompt_tokens"});
  set(Field::completion_tokens, {"usage", "completion_tokens"});
  set(Field::max_tokens, {"request", "max_tokens"});
  set(Field::temperature, {"request", "temperature"});
  set(Field::n, {"request", "n"});
  set(Field::logprobs, {"request", "logprobs"});
  set(Field::top_logprobs, {"request", "top_logprobs"});
  set(Field::logit_bias, {"request", "logit_bias"});
  set(Field::request_id, {"request_id"});
  return m;
}

Result<FieldMapping> FieldMapping::preset(std::string_view name) {
  if (name == "openai" || name == "default") return defaults();
  if (name == "litellm") {
    FieldMapping m;
    auto set = [&m](Field f, std::vector<std::string> t) {
      m.tokens_[static_cast<size_t>(f)] = std::move(t);
    };
    set(Field::time, {"startTime"});
    set(Field::account, {"user"});
    set(Field::api_key, {"api_key"});
    set(Field::ip, {"requester_ip_address"});
    set(Field::user_agent, {"metadata", "user_agent"});
    set(Field::model, {"model"});
    set(Field::messages, {"messages"});
    set(Field::prompt_tokens, {"prompt_tokens"});
    set(Field::completion_tokens, {"completion_tokens"});
    set(Field::max_tokens, {"proxy_server_request", "max_tokens"});
    set(Field::temperature, {"proxy_server_request", "temperature"});
    set(Field::n, {"proxy_server_request", "n"});
    set(Field::logprobs, {"proxy_server_request", "logprobs"});
    set(Field::top_logprobs, {"proxy_server_request", "top_logprobs"});
    set(Field::logit_bias, {"proxy_server_request", "logit_bias"});
    set(Field::request_id, {"request_id"});
    return m;
  }
  return make_error("unknown field-mapping preset \"" + std::string(name) + "\" (known: openai, litellm)");
}

Result<void> FieldMapping::set(std::string_view field, std::string_view pointer) {
  auto f = field_from_name(field);
  if (!f) return make_error("unknown field \"" + std::string(field) + "\" (known: " + known_fields() + ")");
  if (pointer.empty()) {
    if (is_required(*f))
      return make_error("field \"" + std::string(field) + "\" is required and cannot be unmapped");
    tokens_[static_cast<size_t>(*f)].clear();
    return {};
  }
  auto parsed = parse_pointer(pointer);
  if (!parsed) return make_error("field \"" + std::string(field) + "\": " + parsed.error().message);
  // Refuse pointers inside a container field (messages, logit_bias): the
  // parser hands such a value to one walker only.
  for (size_t i = 0; i < kFieldCount; ++i) {
    auto other = static_cast<Field>(i);
    if (other == *f || tokens_[i].empty()) continue;
    bool inside_other = is_container_field(other) && may_contain(tokens_[i], *parsed);
    bool other_inside = is_container_field(*f) && may_contain(*parsed, tokens_[i]);
    if (inside_other || other_inside) {
      Field outer = inside_other ? other : *f;
      Field inner = inside_other ? *f : other;
      FieldMapping probe = *this;
      probe.tokens_[static_cast<size_t>(*f)] = *parsed;
      return make_error("field \"" + std::string(field_name(inner)) + "\" (" + probe.pointer(inner) +
                        ") points inside \"" + std::string(field_name(outer)) + "\" (" +
                        probe.pointer(outer) + "); fields inside messages or logit_bias are not supported");
    }
  }
  tokens_[static_cast<size_t>(*f)] = std::move(parsed.value());
  return {};
}

Result<void> FieldMapping::set_from_arg(std::string_view arg) {
  auto eq = arg.find('=');
  if (eq == std::string_view::npos)
    return make_error("--field \"" + std::string(arg) + "\": expected NAME=POINTER, e.g. account=/user/id");
  auto r = set(arg.substr(0, eq), arg.substr(eq + 1));
  if (!r) return make_error("--field \"" + std::string(arg) + "\": " + r.error().message);
  return {};
}

std::string FieldMapping::pointer(Field f) const {
  std::string out;
  for (const auto& t : tokens(f)) {
    out += '/';
    for (char c : t) {
      if (c == '~') {
        out += "~0";
      } else if (c == '/') {
        out += "~1";
      } else {
        out += c;
      }
    }
  }
  return out;
}

}  // namespace ds

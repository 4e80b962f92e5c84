// Account and Request: the layout-independent description of one logged API
// call. Population actors fill a Request; a layout writer (openai / litellm)
// turns it into one JSON line. Everything a writer needs that is random is
// drawn before the writer runs, so both layouts describe the same events.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "json_text.hpp"

namespace gen {

struct Account {
  std::string id;                       // account_id / LiteLLM "user"
  std::string_view label;               // "attacker" | "benign"
  std::string_view style;               // population name (labels CSV)
  std::string group;                    // cluster / product / NAT group, "" if none
  std::vector<std::string> keys;        // api_key_id values
  std::vector<std::string> key_hashes;  // LiteLLM hashed keys, parallel to keys
  std::string org;                      // noise: org id
  std::string team;                     // LiteLLM team_id
  // Filled while generating:
  uint64_t requests = 0;
  int64_t first_ms = -1;
  int64_t last_ms = -1;
};

// Rendered JSON for one chat message plus its approximate token count.
struct RenderedMessage {
  std::string json;  // {"role":"…","content":…}
  uint32_t tokens = 0;
};

struct Request {
  int64_t t_ms = 0;  // event time (ms since epoch)
  Account* account = nullptr;
  uint32_t key = 0;  // index into account->keys
  std::string_view ip, user_agent, model;
  bool legacy = false;     // /v1/completions with "prompt"
  bool embedding = false;  // /v1/embeddings with "input" (in `prompt`)
  std::string messages;    // chat: rendered JSON array "[…]"
  std::string prompt;      // legacy: rendered JSON string (quoted)
  // Parameters; negative = absent.
  int max_tokens = -1;
  int temperature_c = -1;  // hundredths
  int top_p_c = -1;
  int n = -1;
  int logprobs = -1;  // chat: 0/1 boolean; legacy: integer
  int top_logprobs = -1;
  int seed = -1;
  int stream = -1;
  std::string logit_bias;  // rendered JSON object, "" if absent
  std::string_view tools;  // rendered JSON array, "" if absent
  std::string_view extra;  // extra request fields: ',"k":v…' fragment
  std::string_view reasoning_effort;
  // Outcome.
  int prompt_tokens = 0;
  int completion_tokens = 0;
  std::string response_text;  // short head of the completion (LiteLLM response)
  // Envelope (drawn by the corpus, identical in every layout).
  std::string request_id;
  int64_t logged_ms = 0;  // timestamp as logged (t_ms, or a little earlier: jitter)
  int status = 200;
  int latency_ms = 0;
  bool response_meta = false;
  uint64_t envelope_bits = 0;  // spare randomness for layout noise

  void reset() {
    account = nullptr;
    key = 0;
    ip = user_agent = model = {};
    legacy = false;
    embedding = false;
    messages.clear();
    prompt.clear();
    max_tokens = temperature_c = top_p_c = n = logprobs = top_logprobs = seed = stream = -1;
    logit_bias.clear();
    tools = extra = reasoning_effort = {};
    prompt_tokens = completion_tokens = 0;
    response_text.clear();
    request_id.clear();
    status = 200;
    latency_ms = 0;
    response_meta = false;
    envelope_bits = 0;
  }
};

// Builds a messages array from pieces; keeps the token estimate.
class MessagesBuilder {
 public:
  explicit MessagesBuilder(Request& req) : req_(req) {
    req_.messages.clear();
    req_.messages.push_back('[');
  }
  void add(const RenderedMessage& m) {
    if (count_++) req_.messages += ',';
    req_.messages += m.json;
    req_.prompt_tokens += static_cast<int>(m.tokens) + 4;
  }
  void finish() { req_.messages += ']'; }

 private:
  Request& req_;
  int count_ = 0;
};

// Rendering options that stay fixed per client (its SDK / logging stack).
struct ContentStyle {
  EscapeStyle escape = EscapeStyle::Utf8;
  bool parts = false;  // content as [{"type":"text","text":…}]
};

inline RenderedMessage render_message(std::string_view role, std::string_view text, const ContentStyle& cs) {
  RenderedMessage m;
  m.json.reserve(text.size() + 48);
  m.json += "{\"role\":\"";
  m.json += role;
  m.json += "\",\"content\":";
  if (cs.parts && role == "user") {
    m.json += "[{\"type\":\"text\",\"text\":";
    append_json_string(m.json, text, cs.escape);
    m.json += "}]";
  } else {
    append_json_string(m.json, text, cs.escape);
  }
  m.json += '}';
  m.tokens = approx_tokens(text);
  return m;
}

}  // namespace gen

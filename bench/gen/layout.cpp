#include "layout.hpp"

namespace gen {

namespace {

void key(std::string& out, std::string_view k) {
  out += ",\"";
  out += k;
  out += "\":";
}

void str_field(std::string& out, std::string_view k, std::string_view v) {
  key(out, k);
  append_json_string(out, v);
}

// Request parameters shared by both layouts (inside an object, after at
// least one field).
void params(const Request& r, std::string& out) {
  if (r.max_tokens >= 0) {
    key(out, "max_tokens");
    append_int(out, r.max_tokens);
  }
  if (r.temperature_c >= 0) {
    key(out, "temperature");
    append_fixed(out, r.temperature_c, 2);
  }
  if (r.top_p_c >= 0) {
    key(out, "top_p");
    append_fixed(out, r.top_p_c, 2);
  }
  if (r.n >= 0) {
    key(out, "n");
    append_int(out, r.n);
  }
  if (r.logprobs >= 0) {
    key(out, "logprobs");
    if (r.legacy)
      append_int(out, r.logprobs);
    else
      out += r.logprobs ? "true" : "false";
  }
  if (r.top_logprobs >= 0) {
    key(out, "top_logprobs");
    append_int(out, r.top_logprobs);
  }
  if (!r.logit_bias.empty()) {
    key(out, "logit_bias");
    out += r.logit_bias;
  }
  if (r.seed >= 0) {
    key(out, "seed");
    append_int(out, r.seed);
  }
  if (r.stream >= 0) {
    key(out, "stream");
    out += r.stream ? "true" : "false";
  }
  if (!r.reasoning_effort.empty()) str_field(out, "reasoning_effort", r.reasoning_effort);
  if (!r.tools.empty()) {
    key(out, "tools");
    out += r.tools;
  }
  out += r.extra;
}

void id_chars(std::string& out, uint64_t bits, int n) {
  static constexpr char kAlnum[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  for (int i = 0; i < n; ++i) {
    out += kAlnum[bits % 62];
    bits = bits / 62 + (bits << 7) + 0x9E3779B97F4A7C15ull * static_cast<uint64_t>(i + 1);
  }
}

constexpr std::string_view kRegions[] = {"us-east-1",      "us-west-2",      "eu-west-1", "eu-central-1",
                                         "ap-southeast-1", "ap-northeast-1", "us-east-1", "us-east-1"};

}  // namespace

void write_openai(const Request& r, std::string& out) {
  const uint64_t bits = r.envelope_bits;
  out += "{\"timestamp\":\"";
  append_rfc3339(out, r.logged_ms, 3, "Z");
  out += '"';
  str_field(out, "request_id", r.request_id);
  str_field(out, "account_id", r.account->id);
  str_field(out, "api_key_id", r.account->keys[r.key]);
  if (bits & 1) str_field(out, "org_id", r.account->org);
  str_field(out, "client_ip", r.ip);
  str_field(out, "user_agent", r.user_agent);
  str_field(out, "endpoint",
            r.embedding ? "/v1/embeddings" : (r.legacy ? "/v1/completions" : "/v1/chat/completions"));
  if (bits & 2) str_field(out, "method", "POST");
  out += ",\"request\":{\"model\":";
  append_json_string(out, r.model);
  if (r.embedding) {
    out += ",\"input\":";
    out += r.prompt;
  } else if (r.legacy) {
    out += ",\"prompt\":";
    out += r.prompt;
  } else {
    out += ",\"messages\":";
    out += r.messages;
  }
  params(r, out);
  out += '}';
  if (r.status == 200) {
    out += ",\"usage\":{\"prompt_tokens\":";
    append_int(out, r.prompt_tokens);
    out += ",\"completion_tokens\":";
    append_int(out, r.completion_tokens);
    out += ",\"total_tokens\":";
    append_int(out, r.prompt_tokens + r.completion_tokens);
    if ((bits >> 2) & 1) {
      out += ",\"prompt_tokens_details\":{\"cached_tokens\":";
      append_int(out, (r.prompt_tokens / 128) * 64);
      out += '}';
    }
    out += '}';
  } else {
    out += ",\"error\":{\"type\":";
    append_json_string(out, r.status == 429 ? "rate_limit_exceeded"
                                            : (r.status == 400 ? "invalid_request_error" : "server_error"));
    out += ",\"message\":";
    append_json_string(
        out, r.status == 429 ? "Rate limit reached for requests" : "The request could not be processed");
    out += '}';
  }
  out += ",\"status\":";
  append_int(out, r.status);
  out += ",\"latency_ms\":";
  append_int(out, r.latency_ms);
  if (r.response_meta && r.status == 200 && !r.embedding) {
    out += ",\"response\":{\"id\":\"chatcmpl-";
    id_chars(out, bits * 31 + 7, 29);
    out += "\",\"object\":";
    out += r.legacy ? "\"text_completion\"" : "\"chat.completion\"";
    out += ",\"created\":";
    append_int(out, (r.t_ms + r.latency_ms) / 1000);
    out += ",\"system_fingerprint\":\"fp_";
    id_chars(out, bits >> 5, 10);
    out += "\",\"finish_reason\":";
    out += r.max_tokens > 0 && r.completion_tokens >= r.max_tokens ? "\"length\"" : "\"stop\"";
    out += '}';
  }
  // Unmapped noise a real gateway adds.
  key(out, "region");
  append_json_string(out, kRegions[(bits >> 8) & 7]);
  if ((bits >> 11) & 1) {
    out += ",\"gateway\":{\"node\":\"gw-";
    append_int(out, static_cast<int64_t>((bits >> 12) & 15));
    out += "\",\"version\":\"2.14.";
    append_int(out, static_cast<int64_t>((bits >> 16) & 3));
    out += "\"}";
  }
  if ((bits >> 18) & 1) out += ",\"cache_hit\":false";
  out += "}\n";
}

void write_litellm(const Request& r, std::string& out) {
  const uint64_t bits = r.envelope_bits;
  const int total = r.status == 200 ? r.prompt_tokens + r.completion_tokens : 0;
  out += "{\"request_id\":";
  append_json_string(out, r.request_id);
  str_field(out, "call_type", r.embedding ? "aembedding" : (r.legacy ? "atext_completion" : "acompletion"));
  str_field(out, "api_key", r.account->key_hashes[r.key]);
  key(out, "spend");
  // Price: 2.5 USD / M input, 10 USD / M output (an approximation), in 1e-9 USD.
  append_fixed(
      out, r.status == 200 ? int64_t(r.prompt_tokens) * 2500 + int64_t(r.completion_tokens) * 10000 : 0, 9);
  key(out, "total_tokens");
  append_int(out, total);
  key(out, "prompt_tokens");
  append_int(out, r.status == 200 ? r.prompt_tokens : 0);
  key(out, "completion_tokens");
  append_int(out, r.status == 200 ? r.completion_tokens : 0);
  out += ",\"startTime\":\"";
  append_rfc3339(out, r.logged_ms, 6, "+00:00");
  out += "\",\"endTime\":\"";
  append_rfc3339(out, r.logged_ms + r.latency_ms, 6, "+00:00");
  out += '"';
  str_field(out, "model", r.model);
  str_field(out, "model_group", r.model);
  str_field(out, "api_base", "https://api.openai.com/v1");
  str_field(out, "user", r.account->id);
  str_field(out, "end_user", "");
  str_field(out, "team_id", r.account->team);
  out += ",\"metadata\":{\"user_api_key\":";
  append_json_string(out, r.account->key_hashes[r.key]);
  out += ",\"user_api_key_alias\":null,\"user_api_key_team_id\":";
  append_json_string(out, r.account->team);
  out += ",\"user_api_key_user_id\":";
  append_json_string(out, r.account->id);
  out += ",\"user_agent\":";
  append_json_string(out, r.user_agent);
  out += ",\"status\":";
  out += r.status == 200 ? "\"success\"" : "\"failure\"";
  if ((bits >> 3) & 1) out += ",\"litellm_version\":\"1.52.16\"";
  out += '}';
  str_field(out, "cache_hit", "False");
  str_field(out, "cache_key", "Cache OFF");
  out += ",\"request_tags\":[]";
  str_field(out, "requester_ip_address", r.ip);
  out += ",\"messages\":";
  if (r.embedding) {
    out += "[]";
  } else if (r.legacy) {
    out += "[{\"role\":\"user\",\"content\":";
    out += r.prompt;
    out += "}]";
  } else {
    out += r.messages;
  }
  out += ",\"response\":";
  if (r.status == 200 && r.embedding) {
    out += "{\"object\":\"list\",\"model\":";
    append_json_string(out, r.model);
    out += '}';
  } else if (r.status == 200) {
    out += "{\"id\":\"chatcmpl-";
    id_chars(out, bits * 31 + 7, 29);
    out += "\",\"object\":\"chat.completion\",\"created\":";
    append_int(out, (r.t_ms + r.latency_ms) / 1000);
    out += ",\"model\":";
    append_json_string(out, r.model);
    out +=
        ",\"choices\":[{\"index\":0,\"finish_reason\":\"stop\",\"message\":{\"role\":\"assistant\","
        "\"content\":";
    append_json_string(out, r.response_text);
    out += "}}],\"usage\":{\"prompt_tokens\":";
    append_int(out, r.prompt_tokens);
    out += ",\"completion_tokens\":";
    append_int(out, r.completion_tokens);
    out += ",\"total_tokens\":";
    append_int(out, total);
    out += "}}";
  } else {
    out += "{}";
  }
  out += ",\"proxy_server_request\":{\"model\":";
  append_json_string(out, r.model);
  if (r.embedding) {
    out += ",\"input\":";
    out += r.prompt;
  }
  params(r, out);
  out += "}}\n";
}

}  // namespace gen

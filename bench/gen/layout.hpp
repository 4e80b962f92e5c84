// Layout writers: render one Request as one JSON line.
//   openai  - an OpenAI-style gateway log (distillscan's default mapping)
//   litellm - a LiteLLM_SpendLogs row
#pragma once
#include <string>

#include "request.hpp"

namespace gen {

enum class Layout { OpenAI, LiteLLM };

// Appends one line (with '\n') to out.
void write_openai(const Request& req, std::string& out);
void write_litellm(const Request& req, std::string& out);

inline void write_line(Layout layout, const Request& req, std::string& out) {
  if (layout == Layout::OpenAI)
    write_openai(req, out);
  else
    write_litellm(req, out);
}

}  // namespace gen

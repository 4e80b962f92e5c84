// A minimal HTTP/1.1 POST client (Boost.Beast) for alert delivery. Plain
// http:// only (no TLS): put a local relay or a sidecar in front of a TLS
// receiver. Every request has an overall deadline, so a hung receiver can
// never stall the delivery thread for longer than `timeout`.
#pragma once
#include <chrono>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace ds {

struct HttpUrl {
  std::string host;    // "127.0.0.1", "am.example" or "::1" (no brackets)
  std::string port;    // "80" when absent
  std::string target;  // "/api/v2/alerts"; "/" when absent
  std::string host_header;  // Host: value as given ("127.0.0.1:9093")
  std::string text;         // the URL as given
};

// http://HOST[:PORT][/PATH]; HOST may be [IPv6]. Anything else is an error.
Result<HttpUrl> parse_http_url(std::string_view url);

struct HttpResult {
  int status = 0;       // HTTP status; 0 = no response (see error)
  std::string error;    // transport error ("connect: Connection refused"); empty when a response came
  std::string body;     // response body (truncated to a few KiB)
  bool success() const { return status >= 200 && status < 300; }
  // 4xx other than 408/429: the receiver rejects this payload; retrying cannot help.
  bool permanent_failure() const { return status >= 400 && status < 500 && status != 408 && status != 429; }
};

HttpResult http_post(const HttpUrl& url, std::string_view content_type, const std::string& body,
                     std::chrono::milliseconds timeout);

}  // namespace ds

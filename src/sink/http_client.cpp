#include "sink/http_client.hpp"

// GCC 12 reports false -Wmaybe-uninitialized inside Boost.Beast's parser and
// std::function when inlining under sanitizers; they are not ours to fix.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "distillscan/version.hpp"

namespace ds {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

Result<HttpUrl> parse_http_url(std::string_view url) {
  HttpUrl u;
  u.text = std::string(url);
  constexpr std::string_view kScheme = "http://";
  if (url.substr(0, kScheme.size()) != kScheme) {
    if (url.substr(0, 8) == "https://")
      return make_error("'" + u.text + "': https is not supported; use http:// (e.g. through a local TLS proxy)");
    return make_error("'" + u.text + "': not an http:// URL");
  }
  std::string_view rest = url.substr(kScheme.size());
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  u.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (authority.empty()) return make_error("'" + u.text + "': no host");
  if (authority.find('@') != std::string_view::npos) return make_error("'" + u.text + "': credentials in URLs are not supported");
  u.host_header = std::string(authority);
  std::string_view port;
  if (authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return make_error("'" + u.text + "': unterminated [IPv6] host");
    u.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return make_error("'" + u.text + "': junk after [IPv6] host");
      port = after.substr(1);
    }
  } else {
    size_t colon = authority.rfind(':');
    u.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (u.host.empty()) return make_error("'" + u.text + "': no host");
  if (port.empty()) {
    u.port = "80";
  } else {
    for (char c : port)
      if (c < '0' || c > '9') return make_error("'" + u.text + "': bad port");
    if (port.size() > 5 || std::stoul(std::string(port)) > 65535 || std::stoul(std::string(port)) == 0)
      return make_error("'" + u.text + "': bad port");
    u.port = std::string(port);
  }
  return u;
}

namespace {

// One request on its own io_context: resolve -> connect -> write -> read,
// all under one deadline (beast::tcp_stream's timer), plus a hard stop on
// the io_context for the resolver.
struct Exchange {
  net::io_context ioc;
  tcp::resolver resolver{ioc};
  beast::tcp_stream stream{ioc};
  http::request<http::string_body> req;
  http::response_parser<http::string_body> parser;
  beast::flat_buffer buf;
  HttpResult result;
  bool finished = false;

  void fail(const char* stage, const beast::error_code& ec) {
    result.error = std::string(stage) + ": " + (ec == beast::error::timeout ? std::string("timed out") : ec.message());
    finished = true;
  }

  void start(const HttpUrl& u) {
    resolver.async_resolve(u.host, u.port, [this](beast::error_code ec, tcp::resolver::results_type eps) {
      if (ec) return fail("resolve", ec);
      stream.async_connect(eps, [this](beast::error_code ec2, const tcp::endpoint&) {
        if (ec2) return fail("connect", ec2);
        http::async_write(stream, req, [this](beast::error_code ec3, size_t) {
          if (ec3) return fail("send", ec3);
          http::async_read(stream, buf, parser, [this](beast::error_code ec4, size_t) {
            if (ec4) return fail("receive", ec4);
            auto& res = parser.get();
            result.status = static_cast<int>(res.result_int());
            result.body = res.body().substr(0, 4096);
            finished = true;
            beast::error_code ignored;
            stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
          });
        });
      });
    });
  }
};

}  // namespace

HttpResult http_post(const HttpUrl& url, std::string_view content_type, const std::string& body,
                     std::chrono::milliseconds timeout) {
  Exchange x;
  x.req = http::request<http::string_body>(http::verb::post, url.target, 11);
  x.req.set(http::field::host, url.host_header);
  x.req.set(http::field::user_agent, std::string("distillscan/") + kVersion);
  x.req.set(http::field::content_type, std::string(content_type));
  x.req.keep_alive(false);
  x.req.body() = body;
  x.req.prepare_payload();
  x.parser.body_limit(1 << 20);
  x.stream.expires_after(timeout);
  x.start(url);
  x.ioc.run_for(timeout + std::chrono::milliseconds(250));
  if (!x.finished) {
    // The resolver ignores the stream's deadline: cancel whatever is left.
    x.resolver.cancel();
    beast::error_code ignored;
    x.stream.socket().close(ignored);
    x.ioc.restart();
    x.ioc.run();
    x.result = HttpResult{};
    x.result.error = "timed out";
  }
  return x.result;
}

}  // namespace ds

// A tiny HTTP/1.1 server on 127.0.0.1 for the delivery tests (Boost.Asio +
// Beast, one thread, one request per connection). Records every request
// body; answers with a configurable status. Destroy it to make the receiver
// "down" (connection refused); create another on the same port to bring it
// back.
#pragma once
// GCC 12 reports false -Wmaybe-uninitialized inside Boost.Beast's parser and
// std::function when inlining under sanitizers; they are not ours to fix.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace ds::test {

class TestHttpServer {
 public:
  struct Request {
    std::string target;
    std::string content_type;
    std::string body;
  };

  explicit TestHttpServer(unsigned short port = 0) : acceptor_(ioc_) {
    using boost::asio::ip::tcp;
    tcp::endpoint ep(boost::asio::ip::make_address("127.0.0.1"), port);
    acceptor_.open(ep.protocol());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    acceptor_.bind(ep);
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    accept();
    thread_ = std::thread([this] { ioc_.run(); });
  }

  ~TestHttpServer() {
    boost::asio::post(ioc_, [this] {
      boost::system::error_code ec;
      acceptor_.close(ec);
    });
    ioc_.stop();
    thread_.join();
  }

  unsigned short port() const { return port_; }
  std::string url(const std::string& path = "") const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
  void set_status(int s) { status_ = s; }
  void set_delay(std::chrono::milliseconds d) { delay_ms_ = static_cast<int>(d.count()); }

  std::vector<Request> requests() const {
    std::lock_guard lk(mu_);
    return requests_;
  }
  size_t count() const {
    std::lock_guard lk(mu_);
    return requests_.size();
  }
  // Waits until pred(requests) holds or the timeout passes.
  bool wait_for(const std::function<bool(const std::vector<Request>&)>& pred,
                std::chrono::milliseconds timeout = std::chrono::milliseconds(10000)) const {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (pred(requests())) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return pred(requests());
  }

 private:
  void accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, boost::asio::ip::tcp::socket sock) {
      if (ec) return;
      serve(std::move(sock));
      if (acceptor_.is_open()) accept();
    });
  }

  void serve(boost::asio::ip::tcp::socket sock) {
    namespace http = boost::beast::http;
    boost::beast::flat_buffer buf;
    http::request<http::string_body> req;
    boost::system::error_code ec;
    http::read(sock, buf, req, ec);
    if (ec) return;
    int status = status_.load();
    if (status >= 200 && status < 300) {
      std::lock_guard lk(mu_);
      requests_.push_back({std::string(req.target()), std::string(req[http::field::content_type]), req.body()});
    }
    if (delay_ms_ > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms_.load()));
    http::response<http::string_body> res{static_cast<http::status>(status), 11};
    res.set(http::field::content_type, "text/plain");
    res.body() = status >= 200 && status < 300 ? "" : "test server says no\n";
    res.keep_alive(false);
    res.prepare_payload();
    http::write(sock, res, ec);
    sock.shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
  }

  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::thread thread_;
  unsigned short port_ = 0;
  std::atomic<int> status_{200};
  std::atomic<int> delay_ms_{0};
  mutable std::mutex mu_;
  std::vector<Request> requests_;
};

// Number of occurrences of `needle` in `hay`.
inline size_t count_of(const std::string& hay, const std::string& needle) {
  size_t n = 0;
  for (size_t p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + needle.size())) ++n;
  return n;
}

}  // namespace ds::test

#include "ingest/tcp_source.hpp"

#include <algorithm>
#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

namespace ds {

namespace asio = boost::asio;
using asio::ip::tcp;

struct TcpSource::Impl : std::enable_shared_from_this<TcpSource::Impl> {
  struct Conn {
    uint64_t id = 0;
    tcp::socket sock;
    asio::steady_timer idle;
    std::array<char, 64 * 1024> rbuf{};
    std::string partial;  // incomplete last line (<= max_line_bytes)
    bool skipping = false;
    bool closed = false;
    explicit Conn(asio::io_context& io) : sock(io), idle(io) {}
  };

  TcpOptions opt;
  asio::io_context io;
  tcp::acceptor acceptor{io};
  asio::steady_timer drain_timer{io};
  std::unordered_map<uint64_t, std::shared_ptr<Conn>> conns;  // io thread only
  uint64_t next_id = 0;
  bool shutting_down = false;  // io thread only
  std::thread thread;

  // Shared with the reader thread.
  mutable std::mutex mu;
  std::condition_variable cv;
  std::string ready;                          // complete lines
  uint64_t pend_long = 0, pend_long_bytes = 0;  // skipped long lines not yet reported
  std::vector<std::shared_ptr<Conn>> paused;  // waiting for next() to take the buffer
  bool finished = false;                      // shutdown complete: no more bytes will come
  TcpCounters ctr;
  uint16_t bound_port = 0;
  std::string bound_addr;

  size_t cap() const { return opt.buffer_bytes ? opt.buffer_bytes : opt.chunk_bytes; }

  void accept() {
    acceptor.async_accept([this](const boost::system::error_code& ec, tcp::socket s) {
      if (ec) {
        if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
        accept();
        return;
      }
      {
        std::lock_guard lk(mu);
        if (ctr.open >= opt.max_connections) {
          ++ctr.rejected;
          boost::system::error_code ig;
          s.close(ig);
          accept();
          return;
        }
        ++ctr.accepted;
        ++ctr.open;
      }
      add_conn(std::move(s));
      accept();
    });
  }

  void add_conn(tcp::socket s) {
    auto c = std::make_shared<Conn>(io);
    c->sock = std::move(s);
    c->id = next_id++;
    c->partial.reserve(4096);
    conns.emplace(c->id, c);
    arm_idle(c);
    read(c);
  }

  void arm_idle(const std::shared_ptr<Conn>& c) {
    c->idle.expires_after(opt.idle_timeout);
    c->idle.async_wait([this, c](const boost::system::error_code& ec) {
      if (ec || c->closed) return;
      {
        std::lock_guard lk(mu);
        ++ctr.idle_closed;
      }
      boost::system::error_code ig;
      c->sock.close(ig);  // the pending read completes with an error: close()
    });
  }

  void read(const std::shared_ptr<Conn>& c) {
    c->sock.async_read_some(asio::buffer(c->rbuf), [this, c](const boost::system::error_code& ec, size_t n) {
      if (n > 0) on_data(c, n);
      if (ec) {
        close(c);
        return;
      }
      if (c->closed) return;
      arm_idle(c);
      bool pause = false;
      {
        std::lock_guard lk(mu);
        if (ready.size() >= cap()) {
          pause = true;
          ++ctr.read_pauses;
          paused.push_back(c);
        }
      }
      if (pause) {
        c->idle.cancel();  // we are the slow side, not the client
        cv.notify_all();
        return;
      }
      read(c);
    });
  }

  // Complete lines of rbuf[0, n) go to `ready`, the rest to c->partial.
  void on_data(const std::shared_ptr<Conn>& c, size_t n) {
    const char* b = c->rbuf.data();
    std::lock_guard lk(mu);
    ctr.bytes += n;
    size_t i = 0;
    size_t run = 0;  // start of a run of whole lines to copy at once
    auto flush_run = [&](size_t end) {
      if (end > run) ready.append(b + run, end - run);
    };
    while (i < n) {
      const char* nl = static_cast<const char*>(std::memchr(b + i, '\n', n - i));
      if (!nl) {
        flush_run(i);
        const size_t rest = n - i;
        if (c->skipping) {
          pend_long_bytes += rest;
        } else if (c->partial.size() + rest > opt.max_line_bytes) {
          c->skipping = true;
          pend_long_bytes += c->partial.size() + rest;
          c->partial.clear();
        } else {
          c->partial.append(b + i, rest);
        }
        run = n;
        break;
      }
      const size_t len = static_cast<size_t>(nl - (b + i)) + 1;
      if (c->skipping || !c->partial.empty() || len - 1 > opt.max_line_bytes) {
        flush_run(i);
        if (c->skipping || c->partial.size() + len - 1 > opt.max_line_bytes) {
          ++pend_long;
          ++ctr.long_lines;
          pend_long_bytes += c->partial.size() + len;
          c->skipping = false;
        } else {
          ready.append(c->partial);
          ready.append(b + i, len);
        }
        c->partial.clear();
        run = i + len;
      }
      i += len;
    }
    if (run < n) flush_run(n);
  }

  void close(const std::shared_ptr<Conn>& c) {
    if (c->closed) return;
    c->closed = true;
    c->idle.cancel();
    boost::system::error_code ig;
    c->sock.close(ig);
    {
      std::lock_guard lk(mu);
      if (c->skipping) {
        ++pend_long;
        ++ctr.long_lines;
      } else if (!c->partial.empty()) {  // the peer's final line without '\n' is still a line
        ready.append(c->partial);
        ready.push_back('\n');
      }
      c->partial.clear();
      --ctr.open;
    }
    conns.erase(c->id);
    maybe_finish();
    cv.notify_all();
  }

  void maybe_finish() {
    if (!shutting_down || !conns.empty()) return;
    std::lock_guard lk(mu);
    finished = true;
    cv.notify_all();
  }

  void begin_shutdown() {
    if (shutting_down) return;
    shutting_down = true;
    boost::system::error_code ig;
    // Connections the kernel completed but we did not accept yet hold data
    // their senders consider sent: take them in before closing the acceptor.
    acceptor.non_blocking(true, ig);
    for (;;) {
      boost::system::error_code ec;
      tcp::socket s(io);
      acceptor.accept(s, ec);
      if (ec) break;
      {
        std::lock_guard lk(mu);
        if (ctr.open >= opt.max_connections) {
          ++ctr.rejected;
          s.close(ig);
          continue;
        }
        ++ctr.accepted;
        ++ctr.open;
      }
      add_conn(std::move(s));
    }
    acceptor.close(ig);
    drain_timer.expires_after(opt.drain_timeout);
    drain_timer.async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;
      std::vector<std::shared_ptr<Conn>> all;
      for (auto& [id, c] : conns) all.push_back(c);
      {
        std::lock_guard lk(mu);
        ctr.drain_closed += all.size();
      }
      for (auto& c : all) close(c);
    });
    maybe_finish();
  }
};

TcpSource::TcpSource(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

TcpSource::~TcpSource() {
  if (!impl_) return;
  impl_->io.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

Result<std::unique_ptr<TcpSource>> TcpSource::create(TcpOptions opt) {
  auto impl = std::make_unique<Impl>();
  impl->opt = std::move(opt);
  std::string host = "127.0.0.1", port = impl->opt.listen;
  if (auto colon = impl->opt.listen.rfind(':'); colon != std::string::npos) {
    host = impl->opt.listen.substr(0, colon);
    port = impl->opt.listen.substr(colon + 1);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  }
  if (host.empty()) host = "127.0.0.1";
  char* end = nullptr;
  unsigned long pn = std::strtoul(port.c_str(), &end, 10);
  if (port.empty() || !end || *end || pn > 65535)
    return make_error("--tcp '" + impl->opt.listen + "': expected HOST:PORT (PORT 0-65535)");
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  if (ec) return make_error("--tcp '" + impl->opt.listen + "': '" + host + "' is not an IP address");
  tcp::endpoint ep(addr, static_cast<uint16_t>(pn));
  impl->acceptor.open(ep.protocol(), ec);
  if (!ec) impl->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(ep, ec);
  if (!ec) impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return make_error("--tcp " + impl->opt.listen + ": cannot listen: " + ec.message());
  impl->bound_port = impl->acceptor.local_endpoint().port();
  impl->bound_addr = (addr.is_v6() ? "[" + host + "]" : host) + ":" + std::to_string(impl->bound_port);
  impl->ready.reserve(impl->cap() + 64 * 1024);
  impl->accept();
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] {
    auto guard = asio::make_work_guard(raw->io);
    raw->io.run();
  });
  return std::unique_ptr<TcpSource>(new TcpSource(std::move(impl)));
}

uint16_t TcpSource::port() const { return impl_->bound_port; }
std::string TcpSource::address() const { return impl_->bound_addr; }

Produce TcpSource::next(Chunk& out) {
  Impl& m = *impl_;
  out.buf.resize(0);
  out.source_index = 0;
  out.source_offset = 0;
  out.skipped_long_lines = 0;
  out.skipped_bytes = 0;
  out.last_of_source = false;
  std::vector<std::shared_ptr<Impl::Conn>> resume;
  {
    std::unique_lock lk(m.mu);
    m.cv.wait_for(lk, m.opt.idle_return, [&] { return !m.ready.empty() || m.pend_long > 0 || m.finished; });
    if (m.ready.empty() && m.pend_long == 0) return m.finished ? Produce::end : Produce::idle;
    if (out.buf.capacity() < m.ready.size()) out.buf.reserve(std::max(m.ready.size(), m.cap() + 64 * 1024));
    std::memcpy(out.buf.data(), m.ready.data(), m.ready.size());
    out.buf.resize(m.ready.size());
    m.ready.clear();
    out.skipped_long_lines = m.pend_long;
    out.skipped_bytes = m.pend_long_bytes;
    m.pend_long = 0;
    m.pend_long_bytes = 0;
    resume.swap(m.paused);
  }
  out.buf.pad();
  if (!resume.empty())
    asio::post(m.io, [&m, resume = std::move(resume)] {
      for (const auto& c : resume) {
        if (c->closed) continue;
        m.arm_idle(c);
        m.read(c);
      }
    });
  return Produce::chunk;
}

void TcpSource::shutdown() {
  asio::post(impl_->io, [m = impl_.get()] { m->begin_shutdown(); });
}

TcpCounters TcpSource::counters() const {
  std::lock_guard lk(impl_->mu);
  return impl_->ctr;
}

}  // namespace ds

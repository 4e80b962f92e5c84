// TcpSource: a TCP JSON-lines listener (Boost.Asio) as a ChunkProducer, for
// gateways that push their request logs.
//
// - Each connection is a stream of lines; complete lines of all connections
//   are collected (whole lines only, never interleaved mid-line) into a shared
//   buffer that next() hands to the pipeline as one chunk. A connection's
//   partial last line waits for its '\n'; when the peer closes, it is a final
//   line (as at the end of a file).
// - Limits: max_line_bytes per line (longer lines are skipped whole and
//   counted as line_too_long, never buffered past the limit), max_connections
//   (further connections are accepted and closed at once, counted), and an
//   idle timeout (no bytes for that long: closed, counted).
// - Backpressure, never loss: when the shared buffer holds buffer_bytes, a
//   connection that delivers more stops being read until next() has taken the
//   buffer, so the kernel's socket buffers fill and the senders block. The
//   pipeline's reader only calls next() when its ring has a free slot.
// - shutdown(): stop accepting; connections may finish for drain_timeout
//   (then they are closed); next() returns Produce::end once every byte
//   received has been handed over.
#pragma once
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "core/result.hpp"
#include "source/chunk_producer.hpp"

namespace ds {

struct TcpOptions {
  std::string listen = "127.0.0.1:9750";  // HOST:PORT (PORT alone = 127.0.0.1:PORT; port 0 = any free port)
  size_t chunk_bytes = 4u << 20;         // shared buffer target (backpressure threshold unless buffer_bytes)
  size_t buffer_bytes = 0;               // 0 = chunk_bytes
  size_t max_line_bytes = 8u << 20;
  uint32_t max_connections = 256;
  std::chrono::milliseconds idle_timeout{std::chrono::minutes(5)};
  std::chrono::milliseconds drain_timeout{std::chrono::seconds(5)};
  std::chrono::milliseconds idle_return{100};  // next() returns idle after this long without data
};

struct TcpCounters {
  uint64_t accepted = 0;
  uint64_t rejected = 0;      // beyond max_connections
  uint64_t open = 0;
  uint64_t idle_closed = 0;
  uint64_t drain_closed = 0;  // still open when the drain timeout ran out at shutdown
  uint64_t bytes = 0;         // received
  uint64_t read_pauses = 0;   // a connection stopped being read (buffer full: backpressure)
  uint64_t long_lines = 0;
};

class TcpSource final : public ChunkProducer {
 public:
  // Binds and listens (errors name the address); serves on its own thread.
  static Result<std::unique_ptr<TcpSource>> create(TcpOptions opt);
  ~TcpSource() override;
  TcpSource(const TcpSource&) = delete;
  TcpSource& operator=(const TcpSource&) = delete;

  uint16_t port() const;            // the bound port
  std::string address() const;      // HOST:PORT bound
  Produce next(Chunk& out) override;
  void shutdown();                  // any thread
  TcpCounters counters() const;     // any thread

 private:
  struct Impl;
  explicit TcpSource(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ds

// Unit tests for src/ingest: the partition start planner, the replay ledger
// and sink filter, and the TCP listener over loopback sockets.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <string>
#include <thread>
#include <vector>

#include "ingest/cluster_exchange.hpp"
#include "ingest/kafka_source.hpp"
#include "ingest/replay_gate.hpp"
#include "ingest/tcp_source.hpp"

using namespace ds;

TEST_CASE("plan: fresh group, no state: start at the beginning, no replay", "[ingest]") {
  auto p = plan_partition_start(-1, -1, 0, 100, 0);
  CHECK(p.start == 0);
  CHECK(p.replay_end == -1);
}

TEST_CASE("plan: committed offset, no local state: rebuild the window before it", "[ingest]") {
  auto p = plan_partition_start(-1, 60, 0, 100, 20);
  CHECK(p.start == 20);
  CHECK(p.replay_end == 60);
  // Nothing within the rebuild span before the commit: just resume.
  auto q = plan_partition_start(-1, 60, 0, 100, 80);
  CHECK(q.start == 60);
  CHECK(q.replay_end == -1);
  // Timestamps unknown (-1 = none in span): resume at the commit.
  auto r = plan_partition_start(-1, 60, 0, 100, -1);
  CHECK(r.start == 60);
  CHECK(r.replay_end == -1);
}

TEST_CASE("plan: our state covers the commit: continue at our position", "[ingest]") {
  auto p = plan_partition_start(75, 60, 0, 100, 0);
  CHECK(p.start == 75);
  CHECK(p.replay_end == -1);
  auto q = plan_partition_start(60, 60, 0, 100, 0);
  CHECK(q.start == 60);
  CHECK(q.replay_end == -1);
}

TEST_CASE("plan: our state is behind the commit: replay only the gap", "[ingest]") {
  auto p = plan_partition_start(30, 60, 0, 100, 10);
  CHECK(p.start == 30);  // records < 30 are already in our state: never counted twice
  CHECK(p.replay_end == 60);
  auto q = plan_partition_start(30, 60, 0, 100, 45);
  CHECK(q.start == 45);
  CHECK(q.replay_end == 60);
}

TEST_CASE("plan: retention deleted the start", "[ingest]") {
  auto p = plan_partition_start(-1, 60, 50, 100, 0);
  CHECK(p.start == 50);
  CHECK(p.replay_end == 60);
  auto q = plan_partition_start(-1, 10, 50, 100, 0);  // commit older than retention
  CHECK(q.start == 50);
  CHECK(q.replay_end == -1);
}

TEST_CASE("broker list validation", "[ingest]") {
  CHECK(valid_broker_list("127.0.0.1:9092"));
  CHECK(valid_broker_list("a:1,b:2"));
  CHECK_FALSE(valid_broker_list(""));
  CHECK_FALSE(valid_broker_list("host"));
  CHECK_FALSE(valid_broker_list("host:"));
  CHECK_FALSE(valid_broker_list("a:1,"));
  CHECK_FALSE(valid_broker_list("a:x"));
}

TEST_CASE("replay ledger: ranges, in-order queries, forgetting", "[ingest]") {
  ReplayLedger l;
  l.mark(2);
  l.mark(3);
  l.mark(7);
  CHECK(l.ranges() == 2);
  CHECK_FALSE(l.replayed(0));
  CHECK_FALSE(l.replayed(1));
  CHECK(l.replayed(2));
  CHECK(l.replayed(3));
  CHECK_FALSE(l.replayed(4));
  CHECK(l.replayed(7));
  CHECK_FALSE(l.replayed(8));
  CHECK(l.ranges() == 0);
  l.mark(10);
  l.collected_before(11);
  CHECK(l.ranges() == 0);
}

TEST_CASE("handover ledger: lost accounts are released only once the chunks before the boundary are collected",
          "[ingest]") {
  HandoverLedger l;
  std::vector<uint64_t> out;
  CHECK_FALSE(l.take(100, out));
  l.lost(5, {11, 12});
  l.lost(9, {13});
  l.lost(9, {});  // nothing lost: no entry
  CHECK_FALSE(l.take(4, out));  // chunk 4 (maybe holding the lost partition's records) not collected yet
  CHECK(out.empty());
  CHECK(l.take(5, out));
  CHECK(out == std::vector<uint64_t>{11, 12});
  CHECK_FALSE(l.take(8, out));
  CHECK(l.take(20, out));
  CHECK(out == std::vector<uint64_t>{11, 12, 13});
  CHECK_FALSE(l.take(30, out));
}

TEST_CASE("replay ledger is bounded", "[ingest]") {
  ReplayLedger l(4);
  for (uint64_t s = 0; s < 20; s += 2) l.mark(s);
  CHECK(l.ranges() == 4);
  CHECK(l.overflow() == 6);
}

TEST_CASE("replay filter sink drops exactly the alerts of replayed chunks", "[ingest]") {
  MemoryAlertSink mem;
  ReplayLedger l;
  ReplayFilterSink f(mem, l);
  l.mark(1);
  Alert a;
  a.id = "x";
  for (uint64_t s : {0, 1, 1, 2}) {
    a.seq = s;
    f.write(a);
  }
  CHECK(mem.lines.size() == 2);
  CHECK(f.suppressed() == 2);
}

namespace {

int connect_to(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool send_all(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

// Counts lines of every chunk until the source ends.
struct Drain {
  uint64_t lines = 0, long_lines = 0, chunks = 0, torn = 0;
  std::string all;
  void run(TcpSource& src, bool keep) {
    Chunk c;
    for (;;) {
      Produce r = src.next(c);
      if (r == Produce::end) return;
      if (r == Produce::idle) continue;
      ++chunks;
      long_lines += c.skipped_long_lines;
      for (size_t i = 0; i < c.buf.size(); ++i) lines += c.buf.data()[i] == '\n';
      if (c.buf.size() && c.buf.data()[c.buf.size() - 1] != '\n') ++torn;  // whole lines only
      if (keep) all.append(c.buf.data(), c.buf.size());
    }
  }
};

}  // namespace

TEST_CASE("tcp: concurrent clients, whole lines, final line without newline, backpressure", "[ingest]") {
  TcpOptions o;
  o.listen = "127.0.0.1:0";
  o.chunk_bytes = 4096;
  o.buffer_bytes = 1024;  // tiny: forces read pauses
  o.max_line_bytes = 512;
  auto s = TcpSource::create(o);
  REQUIRE(s);
  TcpSource& src = **s;
  REQUIRE(src.port() != 0);
  constexpr int kClients = 4, kLines = 2000;
  std::vector<std::thread> clients;
  std::atomic<int> client_failures{0};
  for (int c = 0; c < kClients; ++c)
    clients.emplace_back([&, c] {
      int fd = connect_to(src.port());
      if (fd < 0) {
        ++client_failures;
        return;
      }
      std::string buf;
      for (int i = 0; i < kLines; ++i) buf += "{\"c\":" + std::to_string(c) + ",\"i\":" + std::to_string(i) + "}\n";
      buf += std::string(600, 'x') + "\n";  // too long: skipped whole
      buf += "{\"last\":" + std::to_string(c) + "}";  // final line without newline
      if (!send_all(fd, buf)) ++client_failures;
      ::close(fd);
    });
  Drain d;
  std::thread consumer([&] { d.run(src, true); });
  for (auto& t : clients) t.join();
  src.shutdown();
  consumer.join();
  CHECK(client_failures == 0);
  CHECK(d.torn == 0);
  CHECK(d.lines == static_cast<uint64_t>(kClients) * (kLines + 1));
  CHECK(d.long_lines == kClients);
  auto ctr = src.counters();
  CHECK(ctr.accepted == kClients);
  CHECK(ctr.open == 0);
  CHECK(ctr.read_pauses > 0);
  // Lines are never interleaved mid-line: every line is one of ours.
  size_t start = 0;
  uint64_t good = 0;
  while (start < d.all.size()) {
    size_t nl = d.all.find('\n', start);
    std::string line = d.all.substr(start, nl - start);
    if (line.rfind("{\"c\":", 0) == 0 || line.rfind("{\"last\":", 0) == 0) ++good;
    start = nl + 1;
  }
  CHECK(good == d.lines);
}

TEST_CASE("tcp: connections beyond the limit are closed, a bad address is an error", "[ingest]") {
  TcpOptions o;
  o.listen = "127.0.0.1:0";
  o.max_connections = 1;
  auto s = TcpSource::create(o);
  REQUIRE(s);
  int a = connect_to((*s)->port());
  REQUIRE(a >= 0);
  REQUIRE(send_all(a, "{\"a\":1}\n"));
  Chunk c;
  while ((*s)->next(c) != Produce::chunk) {
  }
  int b = connect_to((*s)->port());
  REQUIRE(b >= 0);
  char ch;
  CHECK(::recv(b, &ch, 1, 0) == 0);  // closed by the server
  ::close(b);
  ::close(a);
  CHECK((*s)->counters().rejected == 1);
  TcpOptions bad;
  bad.listen = "nonsense:99999";
  CHECK_FALSE(TcpSource::create(bad));
}

TEST_CASE("fingerprint records round-trip, a foreign config or a torn message is refused", "[ingest]") {
  EventBatch b;
  Event ev;
  ev.time_ms = 1764000000123;
  ev.account_hash = 42;
  ev.account = b.store("acct-1");
  ev.request_id = b.store("req-9");
  ev.system_hash = 1;
  ev.prompt_suffix_hash = 2;
  ev.user_agent_hash = 3;
  ev.ip_hash = 4;
  ev.category_bits = 5;
  ev.completion_tokens = 1234;
  ev.n = 2;
  ev.tool_turns = 1;
  std::string msg;
  encode_fingerprint_header(77, 2, msg);
  encode_fingerprint_record(ev, b, msg);
  ev.account_hash = 43;
  encode_fingerprint_record(ev, b, msg);
  EventBatch out;
  REQUIRE(decode_fingerprint_message(msg, 77, out));
  REQUIRE(out.events.size() == 2);
  const Event& d = out.events[0];
  CHECK(d.time_ms == 1764000000123);
  CHECK(d.account_hash == 42);
  CHECK(out.view(d.account) == "acct-1");
  CHECK(out.view(d.request_id) == "req-9");
  CHECK(d.system_hash == 1);
  CHECK(d.prompt_suffix_hash == 2);
  CHECK(d.user_agent_hash == 3);
  CHECK(d.ip_hash == 4);
  CHECK(d.category_bits == 5);
  CHECK(d.completion_tokens == 1234);
  CHECK(d.n == 2);
  CHECK(d.tool_turns == 1);
  CHECK(out.events[1].account_hash == 43);
  CHECK_FALSE(decode_fingerprint_message(msg, 78, out));  // other detector config / rule categories
  CHECK_FALSE(decode_fingerprint_message(std::string_view(msg).substr(0, msg.size() - 3), 77, out));
  CHECK_FALSE(decode_fingerprint_message(msg + "x", 77, out));
  CHECK_FALSE(decode_fingerprint_message("", 77, out));
  // Message kinds: fingerprints (0) and written alert ids (1) share the topic.
  CHECK(exchange_message_kind(msg, 77) == 0);
  CHECK(exchange_message_kind(msg, 78) == -1);
  CHECK(exchange_message_kind("", 77) == -1);
  std::string ids;
  encode_fingerprint_header(77, 1, ids, 1);
  ids.append(8, '\x01');
  CHECK(exchange_message_kind(ids, 77) == 1);
  CHECK_FALSE(decode_fingerprint_message(ids, 77, out));  // ids are never read as fingerprints
  std::string other;
  encode_fingerprint_header(77, 0, other, 2);
  CHECK(exchange_message_kind(other, 77) == -1);  // a kind this version does not know
}

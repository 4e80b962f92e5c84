// `distillscan listen --tcp HOST:PORT`: gateways push JSON lines over TCP
// (src/ingest/tcp_source.hpp). Same live pipeline and checkpoints as `tail`
// (detector state and cumulative statistics; a push stream has no positions
// to resume). SIGTERM: stop accepting, let connections finish (up to
// --drain-timeout), process everything received, checkpoint, exit 0.
#include <cstdio>
#include <fstream>

#include "app/consume_command.hpp"
#include "app/live_runner.hpp"
#include "core/json_write.hpp"
#include "ingest/tcp_source.hpp"

namespace ds {
namespace {

class TcpLive final : public LiveSource {
 public:
  explicit TcpLive(std::unique_ptr<TcpSource> s) : src_(std::move(s)) {}
  ChunkProducer& producer() override { return *src_; }
  Result<void> restore(const std::vector<FilePosition>& files) override {
    if (!files.empty()) return make_error("the checkpoint belongs to another input ('" + files[0].path + "')");
    return {};
  }
  std::vector<FilePosition> checkpoint() override { return {}; }
  void after_checkpoint(bool) override {}
  void probe(TailStatus& t) override {
    auto c = src_->counters();
    t.tcp = true;
    t.tcp_connections_open = c.open;
    t.tcp_connections_accepted = c.accepted;
    t.tcp_connections_rejected = c.rejected;
    t.tcp_read_pauses = c.read_pauses;
  }
  void stop(ScanPipeline&) override { src_->shutdown(); }  // the pipeline ends when every received byte is in
  std::string stats_json() override {
    auto c = src_->counters();
    std::string o = "\"listen\":";
    json_escape_append(o, src_->address());
    o += ",\"connections_accepted\":" + std::to_string(c.accepted);
    o += ",\"connections_rejected\":" + std::to_string(c.rejected);
    o += ",\"connections_open\":" + std::to_string(c.open);
    o += ",\"idle_closed\":" + std::to_string(c.idle_closed);
    o += ",\"drain_closed\":" + std::to_string(c.drain_closed);
    o += ",\"bytes_received\":" + std::to_string(c.bytes);
    o += ",\"read_pauses\":" + std::to_string(c.read_pauses);
    o += ",\"long_lines\":" + std::to_string(c.long_lines);
    return o;
  }

 private:
  std::unique_ptr<TcpSource> src_;
};

}  // namespace

int run_listen(const ListenArgs& args) {
  TcpOptions to;
  to.listen = args.tcp;
  if (args.max_connections < 1) {
    std::fprintf(stderr, "distillscan: --max-connections must be at least 1\n");
    return 2;
  }
  to.max_connections = static_cast<uint32_t>(args.max_connections);
  auto idle = parse_duration_seconds(args.idle_timeout);
  auto drain = parse_duration_seconds(args.drain_timeout);
  if (!idle || *idle < 1 || !drain || *drain < 0) {
    std::fprintf(stderr, "distillscan: --idle-timeout / --drain-timeout: expected durations like 5m, 5s\n");
    return 2;
  }
  to.idle_timeout = std::chrono::seconds(*idle);
  to.drain_timeout = std::chrono::seconds(*drain);
  uint64_t max_line = 0, buffer = 0;
  if (!args.max_line.empty()) {
    auto v = parse_size_bytes(args.max_line);
    if (!v || *v < 16) {
      std::fprintf(stderr, "distillscan: --max-line '%s': expected a size like 1MiB\n", args.max_line.c_str());
      return 2;
    }
    max_line = *v;
  }
  if (!args.buffer.empty()) {
    auto v = parse_size_bytes(args.buffer);
    if (!v || *v < 1) {
      std::fprintf(stderr, "distillscan: --buffer '%s': expected a size like 4MiB\n", args.buffer.c_str());
      return 2;
    }
    buffer = *v;
  }
  LiveMode mode;
  mode.default_metrics_listen = "127.0.0.1:9742";
  mode.make_source = [to, max_line, buffer, pf = args.port_file](const Config& cfg, const std::vector<std::string>&) mutable
      -> Result<std::unique_ptr<LiveSource>> {
    to.chunk_bytes = cfg.framer.chunk_bytes;
    to.max_line_bytes = max_line ? max_line : cfg.framer.max_line_bytes;
    to.buffer_bytes = buffer;
    auto src = TcpSource::create(to);
    if (!src) return src.error();
    std::fprintf(stderr, "distillscan: listening for JSON lines on tcp %s\n", (*src)->address().c_str());
    if (!pf.empty()) {
      std::ofstream f(pf + ".tmp");
      f << (*src)->address() << '\n';
      f.close();
      if (!f || std::rename((pf + ".tmp").c_str(), pf.c_str()) != 0)
        return make_error("--port-file " + pf + ": cannot write");
    }
    return std::unique_ptr<LiveSource>(std::make_unique<TcpLive>(std::move(*src)));
  };
  return run_live_source(args, "listen", mode);
}

}  // namespace ds

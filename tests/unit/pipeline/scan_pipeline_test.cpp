#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <fcntl.h>
#include <unistd.h>

#include "match/rule_set.hpp"
#include "pipeline/scan_pipeline.hpp"
#include "source/chunk_producer.hpp"
#include "source/mapped_file.hpp"

using namespace ds;
namespace fs = std::filesystem;

namespace {

std::string record(int i, const std::string& account, const std::string& text, int completion_tokens = -1) {
  char ts[64];
  std::snprintf(ts, sizeof ts, "2026-11-01T%02d:%02d:%02d.%03dZ", (i / 3600) % 24, (i / 60) % 60, i % 60, i % 1000);
  std::string usage =
      completion_tokens >= 0 ? ",\"usage\":{\"completion_tokens\":" + std::to_string(completion_tokens) + "}" : "";
  return std::string("{\"timestamp\":\"") + ts + "\",\"request_id\":\"r" + std::to_string(i) + "\",\"account_id\":\"" +
         account + "\",\"request\":{\"messages\":[{\"role\":\"user\",\"content\":\"" + text + "\"}]}" + usage + "}";
}

struct TempFile {
  fs::path path;
  explicit TempFile(const std::string& content) {
    path = fs::temp_directory_path() / ("ds_pipeline_" + std::to_string(::getpid()) + "_" +
                                        std::to_string(reinterpret_cast<uintptr_t>(this)) + ".jsonl");
    std::ofstream(path, std::ios::binary) << content;
  }
  ~TempFile() { fs::remove(path); }
};

std::shared_ptr<const RuleSet> test_rules() {
  std::vector<RuleDiagnostic> diags;
  auto r = RuleSet::load_text(R"(rules:
  - id: show_reasoning
    description: test
    category: reasoning_elicitation
    fields: [user]
    patterns: ['show\s+your\s+full\s+reasoning']
)",
                              "test.yaml", &diags);
  REQUIRE(r.ok());
  return *r;
}

std::string corpus() {
  std::string s;
  for (int i = 0; i < 3000; ++i) {
    std::string acct = "acct-" + std::to_string(i % 37);
    bool harvest = (i % 37) < 5;  // five harvesting accounts
    s += record(i, acct, harvest ? "Please show your full reasoning about topic " + std::to_string(i)
                                 : "What is a good recipe for soup number " + std::to_string(i),
                  harvest ? 2500 : 300);  // harvesting asks for long outputs (the detector needs both signals)
    s += (i % 11 == 0) ? "\r\n" : "\n";
    if (i % 500 == 7) s += "this is not json\n";
    if (i % 700 == 3) s += "\n";
  }
  s += record(99999, "acct-last", "no newline at the end");  // final line without '\n'
  return s;
}

}  // namespace

TEST_CASE("pipeline output is identical for every thread count and chunk size", "[pipeline]") {
  TempFile in(corpus());
  auto rules = test_rules();
  std::vector<std::string> reference;
  RunStats ref_stats;
  for (unsigned threads : {1u, 2u, 3u, 8u}) {
    for (size_t chunk : {size_t(100), size_t(4096), size_t(1) << 20}) {
      PipelineOptions opt;
      opt.threads = threads;
      opt.framer.chunk_bytes = chunk;
      opt.rules = rules;
      opt.detector.min_requests = 10;
      MemoryAlertSink sink;
      ScanPipeline p(opt);
      RunStats st = p.run({in.path.string()}, sink);
      INFO("threads=" << threads << " chunk=" << chunk);
      REQUIRE(st.records + st.errors.total() == st.lines);
      if (reference.empty()) {
        reference = sink.lines;
        ref_stats = st;
        REQUIRE(sink.lines.size() >= 5);
      } else {
        REQUIRE(sink.lines == reference);
        REQUIRE(st.lines == ref_stats.lines);
        REQUIRE(st.records == ref_stats.records);
        REQUIRE(st.bytes == ref_stats.bytes);
        REQUIRE(st.errors.n == ref_stats.errors.n);
        REQUIRE(st.rule_matches == ref_stats.rule_matches);
      }
    }
  }
  // 3000 records + the final one; 6 non-JSON lines; 5 empty lines.
  REQUIRE(ref_stats.records == 3001);
  REQUIRE(ref_stats.errors.get(ErrorReason::invalid_json) == 6);
  REQUIRE(ref_stats.errors.get(ErrorReason::empty_line) == 5);
  REQUIRE(ref_stats.lines == 3001 + 6 + 5);
  uint64_t harvesting = 0;
  for (int i = 0; i < 3000; ++i) harvesting += (i % 37) < 5;
  REQUIRE(ref_stats.rule_matches.at(0) == harvesting);
}

TEST_CASE("every pipeline stage's CPU time is measured, within the run's wall time", "[pipeline]") {
  TempFile in(corpus());
  PipelineOptions opt;
  opt.threads = 2;
  opt.framer.chunk_bytes = 4096;
  opt.rules = test_rules();
  MemoryAlertSink sink;
  ScanPipeline p(opt);
  RunStats st = p.run({in.path.string()}, sink);
  REQUIRE(st.records == 3001);
  // Every stage ran (a thread that did anything used some CPU), and no
  // thread can use more CPU than the run's wall time.
  CHECK(st.cpu.reader > 0);
  CHECK(st.cpu.workers > 0);
  CHECK(st.cpu.shards > 0);
  CHECK(st.cpu.collector > 0);
  const double slack = 0.01;  // clock granularity
  CHECK(st.cpu.reader <= st.seconds + slack);
  CHECK(st.cpu.workers <= 2 * st.seconds + slack);
  CHECK(st.cpu.shards <= st.seconds + slack);
  CHECK(st.cpu.collector <= st.seconds + slack);
}

TEST_CASE("pipeline reports unreadable inputs and still processes the others", "[pipeline]") {
  TempFile in(record(1, "a", "hello") + "\n");
  PipelineOptions opt;
  MemoryAlertSink sink;
  ScanPipeline p(opt);
  RunStats st = p.run({"/nonexistent/file.jsonl", in.path.string()}, sink);
  REQUIRE(st.input_errors.size() == 1);
  REQUIRE(st.input_errors[0].find("/nonexistent/file.jsonl") != std::string::npos);
  REQUIRE(st.records == 1);
}

namespace {
// Hands a mapped file over as one view chunk, then truncates the file, as if
// it were truncated after the reader had passed its end but before a worker
// parsed the chunk: the worker reads NULs (the SIGBUS guard) and only the
// pipeline can tell.
class TruncatedAfterReadProducer final : public ChunkProducer {
 public:
  explicit TruncatedAfterReadProducer(const fs::path& p) : path_(p) {}
  ~TruncatedAfterReadProducer() override {
    if (fd_ >= 0) ::close(fd_);
  }
  Produce next(Chunk& out) override {
    if (done_) return Produce::end;
    done_ = true;
    fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    REQUIRE(fd_ >= 0);
    std::string err;
    auto map = MappedFile::map(fd_, fs::file_size(path_), err, path_.string());
    REQUIRE(map);
    map->populate(0, map->size());
    out.view = map->data();
    out.view_size = map->size();
    out.mapping = map;
    out.last_of_source = true;
    REQUIRE(::truncate(path_.c_str(), 0) == 0);
    return Produce::chunk;
  }

 private:
  fs::path path_;
  int fd_ = -1;
  bool done_ = false;
};
}  // namespace

TEST_CASE("a mapped file truncated after the reader passed it is reported once", "[pipeline][mmap]") {
  std::string text;
  for (int i = 0; i < 200; ++i) text += record(i, "a", "hello " + std::to_string(i)) + "\n";
  TempFile in(text);
  PipelineOptions opt;
  MemoryAlertSink sink;
  ScanPipeline p(opt);
  TruncatedAfterReadProducer prod(in.path);
  RunStats st = p.run(prod, sink);
  REQUIRE(st.input_errors.size() == 1);
  CHECK(st.input_errors[0].find(in.path.string()) != std::string::npos);
  CHECK(st.input_errors[0].find("shrank") != std::string::npos);
  CHECK(st.records == 0);  // NULs, never the lost lines
  CHECK(st.lines == st.records + st.errors.total());
}

TEST_CASE("over-long lines are counted, skipped whole, and neighbours survive", "[pipeline]") {
  std::string big = record(2, "a", std::string(5000, 'x'));
  TempFile in(record(1, "a", "one") + "\n" + big + "\n" + record(3, "a", "three") + "\n");
  PipelineOptions opt;
  opt.framer.max_line_bytes = 1000;
  opt.framer.chunk_bytes = 256;
  MemoryAlertSink sink;
  ScanPipeline p(opt);
  RunStats st = p.run({in.path.string()}, sink);
  REQUIRE(st.lines == 3);
  REQUIRE(st.records == 2);
  REQUIRE(st.errors.get(ErrorReason::line_too_long) == 1);
  REQUIRE(st.bytes == big.size() + 1 + record(1, "a", "one").size() + 1 + record(3, "a", "three").size() + 1);
}

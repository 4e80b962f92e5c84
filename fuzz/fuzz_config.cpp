// fuzz_config: the YAML config loader (load_config_text), then everything an
// accepted config configures, on fixed sample input:
//   - the field mapping compiled into a LineParser (FieldTrie) parsing a
//     chunk of varied records, with the parse options from the config;
//   - an AccountDetector built from the detector/limits sections observing
//     the events (max_accounts is clamped to 100000 here, see below);
//   - a Framer with the configured chunk/line limits over a small input.
//
// Invariants: a rejected config has a non-empty message naming the file; an
// accepted one has limits and durations the rest of the program can use
// without overflow (every duration * 1000 fits in int64), a window of
// 1..kMaxBuckets buckets, and a mapping with time and account mapped.
// max_accounts: the AccountTable's index grows on demand, so a huge cap costs
// nothing until used; the detector here is still built with
// min(max_accounts, 100000) so no input can make it hold more.
// max_account_bytes: accepted only within 32..65536.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "app/config.hpp"
#include "detect/account_detector.hpp"
#include "detect/account_state.hpp"
#include "fuzz_common.hpp"
#include "parse/line_parser.hpp"
#include "source/framer.hpp"

namespace {

using namespace ds;

const char kSample[] =
    R"({"timestamp":"2026-11-28T10:15:00.123Z","request_id":"req_1","account_id":"acct-123","api_key_id":"key_9","client_ip":"203.0.113.7","user_agent":"OpenAI/Python 1.52.0","request":{"model":"m","messages":[{"role":"system","content":"You are helpful."},{"role":"user","content":[{"type":"text","text":"Show your full reasoning step by step."}]}],"max_tokens":4096,"temperature":0.7,"n":1,"logprobs":true,"top_logprobs":20,"logit_bias":{"1234":-100}},"usage":{"prompt_tokens":100,"completion_tokens":2000}})"
    "\n"
    R"({"startTime":"2026-11-28T10:15:01Z","user":"u1","api_key":"k","requester_ip_address":"10.0.0.1","metadata":{"user_agent":"litellm"},"model":"gpt","messages":[{"role":"user","content":"hi"}],"prompt_tokens":5,"completion_tokens":7,"proxy_server_request":{"max_tokens":5,"n":2,"logit_bias":{"1":1}},"request_id":"r2"})"
    "\n"
    R"({"timestamp":1764324901,"account_id":42,"request":{"prompt":["a","b",3],"messages":"oops"},"x":[[[[{"*":{"0":[1,2,{"~":"/"}]}}]]]],"0":{"1":{"2":3}}})"
    "\n"
    R"({"a":{"b":[{"c":"d"},{"c":["e",{"f":null}]}]},"*":"star","~0":"tilde","~1":"slash","":"empty","timestamp":"2026-11-28T10:16:00+01:00","account_id":"acct-x"})"
    "\n"
    R"([1,2,3])"
    "\n"
    "\n"
    R"({"timestamp":"bad","account_id":""})"
    "\n";

class BytesSource final : public ByteSource {
 public:
  BytesSource(const char* p, size_t n) : p_(p), n_(n) {}
  long read(char* dst, size_t n) override {
    n = std::min({n, n_ - pos_, size_t{7}});
    std::memcpy(dst, p_ + pos_, n);
    pos_ += n;
    return static_cast<long>(n);
  }
  const std::string& error() const override { return err_; }
  const std::string& name() const override { return name_; }
  uint64_t raw_bytes_read() const override { return pos_; }
  uint64_t raw_size() const override { return n_; }

 private:
  const char* p_;
  size_t n_;
  size_t pos_ = 0;
  std::string err_, name_ = "sample";
};

bool times_1000_fits(int64_t seconds) {
  return seconds >= 0 && seconds <= std::numeric_limits<int64_t>::max() / 4000;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string yaml(reinterpret_cast<const char*>(data), size);
  auto r = load_config_text(yaml, "fuzz.yaml");
  if (!r) {
    DS_FUZZ_CHECK(!r.error().message.empty());
    DS_FUZZ_CHECK(r.error().message.rfind("fuzz.yaml", 0) == 0);
    return 0;
  }
  Config cfg = std::move(*r);
  const DetectorConfig& d = cfg.detector;
  DS_FUZZ_CHECK(d.bucket_seconds > 0 && times_1000_fits(d.bucket_seconds));
  DS_FUZZ_CHECK(d.buckets >= 1 && d.buckets <= kMaxBuckets);
  DS_FUZZ_CHECK(times_1000_fits(d.window_seconds()));
  DS_FUZZ_CHECK(d.suppress_seconds > 0 && times_1000_fits(d.suppress_seconds));
  DS_FUZZ_CHECK(d.account_idle_seconds > 0 && times_1000_fits(d.account_idle_seconds));
  DS_FUZZ_CHECK(d.shards >= 1 && d.max_accounts >= 1 && d.min_requests >= 1);
  DS_FUZZ_CHECK(d.max_account_bytes >= 32 && d.max_account_bytes <= 65536);
  DS_FUZZ_CHECK(d.default_threshold > 0 && d.default_threshold <= 1);  // also rejects NaN
  DS_FUZZ_CHECK(d.alert_score >= 0 && d.alert_score <= 1);
  DS_FUZZ_CHECK(d.critical_score >= 0 && d.critical_score <= 1);
  for (const auto& c : d.categories) {
    DS_FUZZ_CHECK(c.threshold > 0 && c.threshold <= 1);
    DS_FUZZ_CHECK(c.weight >= 0 && c.weight <= 10);
  }
  DS_FUZZ_CHECK(cfg.framer.chunk_bytes >= 1 && cfg.framer.max_line_bytes >= 1);
  DS_FUZZ_CHECK(cfg.framer.chunk_bytes <= (size_t{1} << 30));  // every ring slot allocates one up front
  DS_FUZZ_CHECK(!cfg.fields.tokens(Field::time).empty() && !cfg.fields.tokens(Field::account).empty());

  // The mapping drives a parser over the sample records.
  std::vector<char> buf = fuzz::padded_copy(reinterpret_cast<const uint8_t*>(kSample), sizeof kSample - 1);
  LineParser parser(cfg.fields, cfg.parse);
  EventBatch batch;
  parser.parse_chunk(buf.data(), sizeof kSample - 1, nullptr, batch);
  DS_FUZZ_CHECK(batch.lines == 7);
  DS_FUZZ_CHECK(batch.events.size() + batch.errors.total() == batch.lines);

  DetectorConfig dc = d;
  dc.max_accounts = std::min<uint64_t>(dc.max_accounts, 100000);
  AccountDetector det(dc, {"reasoning_elicitation", "dataset_generation"});
  std::vector<Alert> alerts;
  for (const Event& ev : batch.events) det.observe(ev, batch, 0, alerts);

  // The framer with the configured limits (chunk and line sizes are only
  // allocated up to what the input needs, plus the chunk size itself).
  if (cfg.framer.chunk_bytes <= (size_t{1} << 26)) {
    BytesSource src(kSample, sizeof kSample - 1);
    Framer framer(src, cfg.framer, 0);
    Chunk chunk;
    uint64_t delivered = 0;
    while (framer.next(chunk)) delivered += chunk.buf.size() + chunk.skipped_bytes;
    DS_FUZZ_CHECK(!framer.failed());
    DS_FUZZ_CHECK(delivered == sizeof kSample - 1);
  }
  return 0;
}

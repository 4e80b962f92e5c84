// Programmatic benign traffic that looks automated: batch customers
// (templated document jobs 24/7), RAG pipelines (one system prompt, long
// retrieved context) and evaluation harnesses (bursts over a fixed question
// set, "think step by step" / \boxed{}).
#include <algorithm>

#include "pop_common.hpp"

namespace gen {

namespace {

// ------------------------------------------------------------- batch ----
enum class BatchTask { Summarize, Classify, Translate, Extract };

class BatchActor final : public Actor {
 public:
  BatchActor(Identity id, double per_day, std::vector<BatchTask> tasks, std::string system, Rng rng,
             int64_t from, int64_t to, std::string_view model)
      : id_(std::move(id)), tasks_(std::move(tasks)), rng_(rng), model_(model) {
    arrivals_ = Arrivals(per_day, Curves::flat(), 0, from, to, rng_, 0.25);
    if (!system.empty()) system_ = render_message("system", system, id_.content);
    next_ms_ = arrivals_.next(from, rng_);
    // Constrained classification: a fixed bias towards the label tokens.
    if (rng_.chance(0.5)) {
      bias_.clear();
      bias_.push_back('{');
      const int labels = static_cast<int>(rng_.range(2, 4));
      for (int i = 0; i < labels; ++i) {
        if (i) bias_ += ',';
        bias_ += '"';
        append_int(bias_, rng_.range(300, 90000));
        bias_ += "\":100";
      }
      bias_ += '}';
    }
  }

  void emit(Request& req) override {
    const Grammar& g = Grammar::get();
    id_.stamp(req, rng_);
    req.model = model_;
    const BatchTask task = tasks_[rng_.below(tasks_.size())];
    std::string text;
    switch (task) {
      case BatchTask::Summarize:
        g.expand("batch_summarize", rng_, text);
        break;
      case BatchTask::Classify:
        g.expand("batch_classify", rng_, text);
        break;
      case BatchTask::Translate:
        g.expand("batch_translate", rng_, text);
        break;
      case BatchTask::Extract:
        g.expand("batch_extract", rng_, text);
        break;
    }
    MessagesBuilder mb(req);
    if (!system_.json.empty()) mb.add(system_);
    mb.add(render_message("user", text, id_.content));
    mb.finish();
    req.temperature_c = 0;
    switch (task) {
      case BatchTask::Summarize:
        req.max_tokens = 300;
        req.completion_tokens = completion_tokens(rng_, 90, 0.4, 20, 300);
        break;
      case BatchTask::Classify:
        req.max_tokens = bias_.empty() ? 5 : 1;
        req.completion_tokens = bias_.empty() ? static_cast<int>(rng_.range(1, 3)) : 1;
        if (!bias_.empty()) {
          req.logit_bias = bias_;
          req.logprobs = 1;
          req.top_logprobs = 2;
        }
        break;
      case BatchTask::Translate:
        req.max_tokens = 2048;
        req.completion_tokens = std::max(10, static_cast<int>(req.prompt_tokens * rng_.uniform(0.9, 1.3)));
        break;
      case BatchTask::Extract:
        req.max_tokens = 256;
        req.extra = ",\"response_format\":{\"type\":\"json_object\"}";
        req.completion_tokens = completion_tokens(rng_, 60, 0.4, 15, 256);
        break;
    }
    response_head(rng_, req.response_text, 0);
    next_ms_ = arrivals_.next(next_ms_, rng_);
  }

 private:
  Identity id_;
  std::vector<BatchTask> tasks_;
  Rng rng_;
  std::string_view model_;
  Arrivals arrivals_;
  RenderedMessage system_;
  std::string bias_;
};

// --------------------------------------------------------------- RAG ----
class RagActor final : public Actor {
 public:
  RagActor(Identity id, double per_day, Rng rng, int64_t from, int64_t to, int tz)
      : id_(std::move(id)), rng_(rng) {
    const Grammar& g = Grammar::get();
    arrivals_ = Arrivals(per_day, Curves::customer(), tz, from, to, rng_, 0.1);
    system_ = render_message("system", g.make("rag_sys", rng_), id_.content);
    // The knowledge base: retrieved passages are drawn from a fixed set.
    const int docs = static_cast<int>(rng_.range(80, 200));
    for (int i = 0; i < docs; ++i) {
      std::string d = "[doc-";
      append_int(d, i + 1);
      d += "] ";
      g.expand("kb_title", rng_, d);
      d += " (updated 2026-";
      append_int(d, rng_.range(10, 12));
      d += ")\n";
      const size_t target = static_cast<size_t>(rng_.lognormal_int(1100, 0.5, 300, 6000));
      while (d.size() < target) {
        paragraph(rng_, d);
        d += "\n\n";
      }
      kb_.push_back(std::move(d));
    }
    model_ = rng_.chance(0.5) ? "gpt-4.1-mini" : "gpt-4o-mini";
    next_ms_ = arrivals_.next(from, rng_);
  }

  void emit(Request& req) override {
    const Grammar& g = Grammar::get();
    id_.stamp(req, rng_);
    if (!embedded_) {
      // Retrieval first: the question is embedded, then answered.
      question_.clear();
      g.expand("rag_question", rng_, question_);
      req.embedding = true;
      req.model = "text-embedding-3-small";
      append_json_string(req.prompt, question_, id_.content.escape);
      req.prompt_tokens = static_cast<int>(approx_tokens(question_));
      embedded_ = true;
      next_ms_ += rng_.range(150, 900);
      return;
    }
    embedded_ = false;
    req.model = model_;
    std::string user = "Context:\n\n";
    const int k = static_cast<int>(rng_.range(2, 4));
    for (int i = 0; i < k; ++i) {
      user += kb_[rng_.below(kb_.size())];
      user += "\n---\n";
    }
    user += "\nQuestion: ";
    user += question_;
    MessagesBuilder mb(req);
    mb.add(system_);
    if (rng_.chance(0.2)) {  // a follow-up: previous question and answer included
      std::string q, a;
      g.expand("rag_question", rng_, q);
      assistant_reply(rng_, a, static_cast<size_t>(rng_.range(200, 900)));
      mb.add(render_message("user", q, id_.content));
      mb.add(render_message("assistant", a, id_.content));
    }
    mb.add(render_message("user", user, id_.content));
    mb.finish();
    req.temperature_c = static_cast<int>(rng_.range(0, 3)) * 10;
    req.max_tokens = 800;
    req.stream = 1;
    req.completion_tokens = completion_tokens(rng_, 160, 0.5, 20, 800);
    response_head(rng_, req.response_text, 0);
    next_ms_ = arrivals_.next(next_ms_, rng_);
  }

 private:
  Identity id_;
  Rng rng_;
  Arrivals arrivals_;
  RenderedMessage system_;
  std::vector<std::string> kb_;
  std::string_view model_;
  std::string question_;
  bool embedded_ = false;
};

// ------------------------------------------------------------- evals ----
// Benchmarks are fixed question sets: question i of benchmark b is the same
// text in every corpus and for every account (seeded by b and i only).
struct Benchmark {
  std::string_view name;
  std::string_view symbol;  // grammar symbol for one question
  std::string_view suffix;  // grammar symbol for the instruction
  int size;
};
constexpr Benchmark kBenchmarks[] = {
    {"gsm-like", "bench_gsm", "eval_suffix_math", 1319},
    {"math-like", "q_math", "eval_suffix_math", 500},
    {"mmlu-like", "bench_mc", "eval_suffix_mc", 1200},
    {"phys-like", "q_physics", "eval_suffix_math", 400},
};

class EvalActor final : public Actor {
 public:
  EvalActor(Identity id, std::vector<int> benches, std::vector<int64_t> runs, double per_sec, int n, Rng rng,
            int64_t to, std::string_view model, std::string_view new_model_from_run)
      : id_(std::move(id)),
        benches_(std::move(benches)),
        runs_(std::move(runs)),
        per_sec_(per_sec),
        n_(n),
        rng_(rng),
        to_(to),
        model_(model),
        second_model_(new_model_from_run) {
    // Each run keeps the same instruction wording and system prompt.
    suffix_alt_ = rng_.below(3);
    system_ = rng_.chance(0.4) ? render_message("system", "You are a helpful assistant.", id_.content)
                               : RenderedMessage{};
    next_ms_ = runs_.empty() ? kNever : runs_[0];
  }

  void emit(Request& req) override {
    const Grammar& g = Grammar::get();
    const Benchmark& b = kBenchmarks[benches_[bench_]];
    id_.stamp(req, rng_);
    req.model = (run_ > 0 && !second_model_.empty()) ? second_model_ : model_;
    // The question text depends only on (benchmark, index): fixed set.
    Rng qrng =
        Rng::derive(0xBE7C4 + static_cast<uint64_t>(benches_[bench_]) * 7919, static_cast<uint64_t>(q_));
    std::string text;
    std::string topic;
    g.expand(b.symbol, qrng, text);
    if (text.find("$T") != std::string::npos) {
      const std::string sub = b.symbol == "q_math" ? "sub_math" : "sub_physics";
      g.expand(sub, qrng, topic);
      substitute_topic(text, topic);
    }
    text += "\n";
    g.expand_alt(g.id(b.suffix), suffix_alt_, qrng, text);
    MessagesBuilder mb(req);
    if (!system_.json.empty()) mb.add(system_);
    mb.add(render_message("user", text, id_.content));
    mb.finish();
    req.temperature_c = n_ > 1 ? 70 : 0;
    if (n_ > 1) req.n = n_;
    req.max_tokens = 2048;
    req.seed = 1234;
    req.completion_tokens = completion_tokens(rng_, 420, 0.5, 40, 2048) * (n_ > 1 ? n_ : 1);
    response_head(rng_, req.response_text, 1);
    // Advance through the question set; then the next benchmark; then the next run.
    const int64_t t = next_ms_;
    if (++q_ >= b.size) {
      q_ = 0;
      if (++bench_ >= benches_.size()) {
        bench_ = 0;
        ++run_;
      }
    }
    if (run_ >= runs_.size()) {
      next_ms_ = kNever;
      return;
    }
    int64_t nt = t + 1 + static_cast<int64_t>(rng_.exponential(1000.0 / per_sec_));
    if (q_ == 0 && bench_ == 0) nt = std::max(nt, runs_[run_]);
    next_ms_ = nt < to_ ? nt : kNever;
  }

 private:
  Identity id_;
  std::vector<int> benches_;
  std::vector<int64_t> runs_;
  double per_sec_;
  int n_;
  Rng rng_;
  int64_t to_;
  std::string_view model_, second_model_;
  size_t suffix_alt_ = 0;
  RenderedMessage system_;
  size_t bench_ = 0, run_ = 0;
  int q_ = 0;
};

}  // namespace

void build_batch_customer(World& w, int n, const BuildOptions& opt, ActorList& out) {
  Rng& rng = w.rng();
  for (int i = 0; i < n; ++i) {
    Identity id;
    id.account = &w.new_account("benign", "batch_customer", {}, rng.chance(0.5) ? 2 : 1);
    const int ips = static_cast<int>(rng.range(1, 3));
    for (int k = 0; k < ips; ++k) id.ips.push_back(w.datacenter_ip(rng));
    id.user_agent = std::string(w.sdk_user_agent(rng));
    id.content = random_content_style(rng);
    id.content.parts = false;
    std::vector<BatchTask> tasks;
    const BatchTask all[] = {BatchTask::Summarize, BatchTask::Classify, BatchTask::Translate,
                             BatchTask::Extract};
    tasks.push_back(rng.pick(all));
    if (rng.chance(0.4)) tasks.push_back(rng.pick(all));
    std::string system = rng.chance(0.5)
                             ? "You are a data processing assistant. Follow the instructions exactly "
                               "and output only what is asked."
                             : "";
    out.push_back(std::make_unique<BatchActor>(std::move(id), opt.volume * rng.uniform(10000, 20000),
                                               std::move(tasks), std::move(system), w.actor_rng(), w.start(),
                                               w.end(), rng.chance(0.7) ? "gpt-4o-mini" : "gpt-4.1-mini"));
  }
}

void build_rag_pipeline(World& w, int n, const BuildOptions& opt, ActorList& out) {
  Rng& rng = w.rng();
  for (int i = 0; i < n; ++i) {
    Identity id;
    id.account = &w.new_account("benign", "rag_pipeline", {}, 1);
    id.ips.push_back(w.datacenter_ip(rng));
    if (rng.chance(0.5)) id.ips.push_back(w.datacenter_ip(rng));
    static constexpr std::string_view kUA[] = {
        "langchain-openai/0.2.9 OpenAI/Python 1.54.3", "llama-index/0.11.23 OpenAI/Python 1.52.0",
        "OpenAI/NodeJS 4.71.1", "haystack-ai/2.7.0 OpenAI/Python 1.54.3"};
    id.user_agent = std::string(rng.pick(kUA));
    id.content = random_content_style(rng);
    out.push_back(std::make_unique<RagActor>(std::move(id), opt.volume * rng.uniform(400, 2000),
                                             w.actor_rng(), w.start(), w.end(), random_tz(rng)));
  }
}

void build_eval_harness(World& w, int n, const BuildOptions& opt, ActorList& out) {
  (void)opt;  // an eval's size is its question set, not a rate
  Rng& rng = w.rng();
  for (int i = 0; i < n; ++i) {
    Identity id;
    id.account = &w.new_account("benign", "eval_harness", {}, 1);
    id.ips.push_back(w.datacenter_ip(rng));
    static constexpr std::string_view kUA[] = {"python-httpx/0.27.2", "OpenAI/Python 1.54.3",
                                               "lighteval/0.6.2", "AsyncOpenAI/Python 1.52.0",
                                               "aiohttp/3.10.10"};
    id.user_agent = std::string(rng.pick(kUA));
    id.content = random_content_style(rng);
    std::vector<int> benches{static_cast<int>(rng.below(std::size(kBenchmarks)))};
    if (rng.chance(0.4)) {
      const int b2 = static_cast<int>(rng.below(std::size(kBenchmarks)));
      if (b2 != benches[0]) benches.push_back(b2);
    }
    // One or two runs over the same questions; a second run often targets the new model.
    const double span_h = w.hours();
    std::vector<int64_t> runs{w.start() +
                              static_cast<int64_t>(rng.uniform(0.0, std::max(0.0, span_h - 3)) * kHourMs)};
    std::string_view second;
    if (rng.chance(0.6)) {
      runs.push_back(runs[0] + rng.range(1, 8) * kHourMs);
      if (runs[1] >= w.release_ms() && rng.chance(0.6)) second = World::kNewModel;
    }
    const int nn = rng.chance(0.3) ? static_cast<int>(rng.range(4, 8)) : 1;
    static constexpr std::string_view kModels[] = {"o3", "gpt-4.1", "o4-mini", "gpt-4.1-mini"};
    out.push_back(std::make_unique<EvalActor>(std::move(id), std::move(benches), std::move(runs),
                                              rng.uniform(0.5, 3.0), nn, w.actor_rng(), w.end(),
                                              rng.pick(kModels), second));
  }
}

}  // namespace gen

// Output harvesters: reasoning-trace harvesting at volume (`cot_harvester`),
// templated harvesting kept under rate thresholds (`low_and_slow`), one
// long brief between varied slots (`skeleton_sweep`), synthetic
// dataset generation (`dataset_gen`) and reseller accounts that mix
// harvesting into ordinary chat (`mixed_proxy`).
#include <algorithm>

#include "pop_common.hpp"

namespace gen {

namespace {

ModelChoice harvester_models(World& w, Rng& rng) {
  ModelChoice m;
  m.primary = rng.chance(0.7) ? "o3" : "gpt-4.1";
  m.secondary = "o4-mini";
  m.secondary_share = rng.uniform(0.0, 0.2);
  if (rng.chance(0.7)) {  // moves to the newest model within hours of release
    m.pivot_ms = w.release_ms() + rng.range(kHourMs / 2, 8 * kHourMs);
    m.pivot_share = rng.uniform(0.5, 0.9);
  }
  return m;
}

std::vector<std::string> server_ips(World& w, Rng& rng, int lo, int hi) {
  std::vector<std::string> ips;
  const int n = static_cast<int>(rng.range(lo, hi));
  for (int i = 0; i < n; ++i) ips.push_back(w.datacenter_ip(rng));
  return ips;
}

// Writes a harvesting prompt: question plus a demand for the full reasoning.
void cot_prompt(Rng& rng, TopicSweep& sweep, bool foreign, bool demand_needed, std::string& out) {
  const Grammar& g = Grammar::get();
  std::string q;
  sweep.next_question(rng, q);
  if (!demand_needed && rng.chance(0.5)) {
    out += q;
    return;
  }
  std::string d;
  g.expand(foreign ? "cot_demand_foreign" : "cot_demand", rng, d);
  if (rng.chance(0.5)) {
    out += d;
    out += "\n\n";
    out += q;
  } else {
    out += q;
    out += "\n\n";
    out += d;
  }
}

// A harvester running flat around the clock over a topic sweep: what every
// such actor below holds and does at the start and end of each request.
// Draws from rng in a fixed order (sweep domains, models, arrivals); the
// subclass draws its own settings, then calls start().
class FlatHarvester : public Actor {
 protected:
  struct Sweep {
    int domains_lo, domains_hi, per_subtopic_lo, per_subtopic_hi;
  };
  FlatHarvester(Identity id, double per_day, Rng rng, World& w, int64_t from, Sweep sw, double jitter)
      : id_(std::move(id)),
        rng_(rng),
        sweep_(rng_, static_cast<int>(rng_.range(sw.domains_lo, sw.domains_hi)), sw.per_subtopic_lo,
               sw.per_subtopic_hi),
        models_(harvester_models(w, rng_)) {
    arrivals_ = Arrivals(per_day, Curves::flat(), 0, from, w.end(), rng_, jitter);
  }
  void start(int64_t from) { next_ms_ = arrivals_.next(from, rng_); }
  void begin(Request& req) {  // client identity and model of this request
    id_.stamp(req, rng_);
    req.model = models_.pick(rng_, next_ms_);
  }
  void advance() { next_ms_ = arrivals_.next(next_ms_, rng_); }

  Identity id_;
  Rng rng_;
  TopicSweep sweep_;
  ModelChoice models_;
  Arrivals arrivals_;
};

// --------------------------------------------------------- cot harvester --
class CotHarvester final : public FlatHarvester {
 public:
  CotHarvester(Identity id, double per_day, Rng rng, World& w, int64_t from)
      : FlatHarvester(std::move(id), per_day, rng, w, from, {2, 5, 20, 200}, 0.1) {
    if (rng_.chance(0.6))
      system_ = render_message("system", Grammar::get().make("cot_sys", rng_), id_.content);
    foreign_ = rng_.chance(0.2);
    n_rate_ = rng_.chance(0.5) ? rng_.uniform(0.1, 0.5) : 0.0;
    sweep_temps_ = rng_.chance(0.6);
    start(from);
  }

  void emit(Request& req) override {
    static constexpr int kTemps[] = {0, 30, 60, 80, 100, 120};
    begin(req);
    if (repeats_left_ == 0) {
      user_.clear();
      cot_prompt(rng_, sweep_, foreign_, system_.json.empty(), user_);
      user_msg_ = render_message("user", user_, id_.content);
      repeats_left_ = sweep_temps_ && rng_.chance(0.5) ? static_cast<int>(rng_.range(2, 4)) : 1;
      temp_ = 0;
    }
    MessagesBuilder mb(req);
    if (!system_.json.empty()) mb.add(system_);
    mb.add(user_msg_);
    mb.finish();
    req.temperature_c = sweep_temps_ ? kTemps[temp_++ % 6] : 70;
    if (n_rate_ > 0 && rng_.chance(n_rate_)) req.n = static_cast<int>(rng_.pick<int>({2, 4, 8}));
    req.max_tokens = rng_.chance(0.5) ? 32768 : 16384;
    if (req.model[0] == 'o' && rng_.chance(0.7)) req.reasoning_effort = "high";
    req.completion_tokens = completion_tokens(rng_, 2600, 0.5, 600, 16000) * std::max(1, req.n);
    response_head(rng_, req.response_text, 1);
    --repeats_left_;
    advance();
  }

 private:
  RenderedMessage system_, user_msg_;
  std::string user_;
  bool foreign_ = false, sweep_temps_ = false;
  double n_rate_ = 0;
  int repeats_left_ = 0, temp_ = 0;
};

// ---------------------------------------------------------- low and slow --
class LowAndSlow final : public FlatHarvester {
 public:
  LowAndSlow(Identity id, double per_day, Rng rng, World& w, int64_t from)
      : FlatHarvester(std::move(id), per_day, rng, w, from, {1, 3, 30, 120}, 0.05) {
    const Grammar& g = Grammar::get();
    static constexpr std::string_view kPrefix[] = {"Task:", "### Problem", "Question:", "[INPUT]", "Solve:"};
    prefix_ = rng_.pick(kPrefix);
    g.expand("cot_demand", rng_, demand_);
    templated_ = rng_.uniform(0.92, 0.98);
    start(from);
  }

  void emit(Request& req) override {
    const Grammar& g = Grammar::get();
    begin(req);
    std::string text;
    const bool harvest = rng_.chance(templated_);
    if (harvest) {
      text = prefix_;
      text += '\n';
      sweep_.next_question(rng_, text);
      text += "\n\n";
      text += demand_;
    } else {
      g.expand("chat_req", rng_, text);
    }
    MessagesBuilder mb(req);
    mb.add(render_message("user", text, id_.content));
    mb.finish();
    req.temperature_c = 70;
    req.max_tokens = 8192;
    req.completion_tokens =
        harvest ? completion_tokens(rng_, 1600, 0.5, 400, 8000) : completion_tokens(rng_, 300, 0.7, 20, 2000);
    response_head(rng_, req.response_text, harvest ? 1 : 0);
    advance();
  }

 private:
  std::string prefix_, demand_;
  double templated_ = 0.95;
};

// -------------------------------------------------------- skeleton sweep --
// One long brief (fixed per account) between two slots that change on every
// request: the topic in front, the question after it. No rule phrase and no
// dominant suffix; inputs are long enough that the output/input ratio stays
// ordinary. What gives it away is that nearly every prompt is a near-duplicate
// of the others, sent round the clock with long outputs.
class SkeletonSweep final : public FlatHarvester {
 public:
  SkeletonSweep(Identity id, double per_day, Rng rng, World& w, int64_t from)
      : FlatHarvester(std::move(id), per_day, rng, w, from, {2, 5, 10, 60}, 0.05) {
    Grammar::get().expand("skel_brief", rng_, brief_);
    static constexpr std::string_view kHead[] = {"Topic: ", "Subject: ", "Chapter topic: ", "## "};
    head_ = rng_.pick(kHead);
    start(from);
  }

  void emit(Request& req) override {
    begin(req);
    std::string text = head_;
    sweep_.next_topic(rng_, text);
    text += "\n\n";
    text += brief_;
    text += "\n\nQuestion: ";
    sweep_.next_question(rng_, text);
    MessagesBuilder mb(req);
    mb.add(render_message("user", text, id_.content));
    mb.finish();
    req.temperature_c = 70;
    req.max_tokens = 8192;
    req.completion_tokens = completion_tokens(rng_, 2000, 0.4, 900, 8000);
    response_head(rng_, req.response_text, 0);
    advance();
  }

 private:
  std::string brief_, head_;
};

// ----------------------------------------------------------- dataset gen --
class DatasetGen final : public FlatHarvester {
 public:
  DatasetGen(Identity id, double per_day, Rng rng, World& w, int64_t from)
      : FlatHarvester(std::move(id), per_day, rng, w, from, {2, 6, 3, 15}, 0.1) {
    if (rng_.chance(0.5))
      system_ = render_message(
          "system",
          "You are a synthetic data generator. Output only valid JSON lines, no prose, no markdown.",
          id_.content);
    json_mode_ = rng_.chance(0.4);
    start(from);
  }

  void emit(Request& req) override {
    const Grammar& g = Grammar::get();
    begin(req);
    std::string topic, text;
    sweep_.next_topic(rng_, topic);
    g.expand("dsgen_req", rng_, text);
    substitute_topic(text, topic);
    MessagesBuilder mb(req);
    if (!system_.json.empty()) mb.add(system_);
    mb.add(render_message("user", text, id_.content));
    mb.finish();
    req.temperature_c = static_cast<int>(rng_.range(8, 11)) * 10;
    req.max_tokens = 16384;
    if (json_mode_) req.extra = ",\"response_format\":{\"type\":\"json_object\"}";
    req.completion_tokens = completion_tokens(rng_, 5000, 0.5, 1500, 16000);
    response_head(rng_, req.response_text, 2);
    advance();
  }

 private:
  RenderedMessage system_;
  bool json_mode_ = false;
};

// ----------------------------------------------------------- mixed proxy --
class MixedProxy final : public Actor {
 public:
  MixedProxy(Identity id, double per_day, double harvest_share, Rng rng, World& w, int64_t from)
      : id_(std::move(id)),
        rng_(rng),
        sweep_(rng_, static_cast<int>(rng_.range(3, 6)), 20, 100),
        harvest_share_(harvest_share) {
    arrivals_ = Arrivals(per_day, Curves::customer(), static_cast<int>(rng_.pick<int>({8, 8, 3, -5})), from,
                         w.end(), rng_, 0.1);
    models_ = harvester_models(w, rng_);
    next_ms_ = arrivals_.next(from, rng_);
  }

  void emit(Request& req) override {
    const Grammar& g = Grammar::get();
    id_.stamp(req, rng_);
    MessagesBuilder mb(req);
    if (rng_.chance(harvest_share_)) {
      req.model = models_.pick(rng_, next_ms_);
      std::string text;
      if (rng_.chance(0.25)) {
        std::string topic;
        sweep_.next_topic(rng_, topic);
        g.expand("dsgen_req", rng_, text);
        substitute_topic(text, topic);
      } else {
        cot_prompt(rng_, sweep_, rng_.chance(0.2), true, text);
      }
      mb.add(render_message("user", text, id_.content));
      req.max_tokens = 16384;
      req.temperature_c = 70;
      req.completion_tokens = completion_tokens(rng_, 2400, 0.5, 500, 16000);
      response_head(rng_, req.response_text, 1);
    } else {
      // An end user of the reseller: ordinary chat, often mid-conversation.
      static constexpr std::string_view kModels[] = {"gpt-4.1-mini", "gpt-4o-mini", "gpt-4.1", "o4-mini"};
      req.model = rng_.pick(kModels);
      if (rng_.chance(0.6)) mb.add(render_message("system", g.make("reseller_sys", rng_), id_.content));
      const int prior = rng_.chance(0.5) ? static_cast<int>(rng_.range(1, 4)) : 0;
      for (int i = 0; i < prior; ++i) {
        mb.add(render_message("user", g.make(i ? "chat_followup" : "chat_req", rng_), id_.content));
        std::string reply;
        assistant_reply(rng_, reply, static_cast<size_t>(rng_.range(200, 1500)));
        mb.add(render_message("assistant", reply, id_.content));
      }
      std::string text;
      g.expand(rng_.chance(0.3) ? "chat_req_foreign" : (prior ? "chat_followup" : "chat_req"), rng_, text);
      mb.add(render_message("user", text, id_.content));
      req.stream = 1;
      req.completion_tokens = completion_tokens(rng_, 280, 0.8, 5, 3000);
      response_head(rng_, req.response_text, 0);
    }
    mb.finish();
    next_ms_ = arrivals_.next(next_ms_, rng_);
  }

 private:
  Identity id_;
  Rng rng_;
  TopicSweep sweep_;
  double harvest_share_;
  ModelChoice models_;
  Arrivals arrivals_;
};

Identity harvester_identity(World& w, std::string_view style, int keys, int ips_lo, int ips_hi) {
  Rng& rng = w.rng();
  Identity id;
  id.account = &w.new_account("attacker", style, {}, keys);
  id.ips = server_ips(w, rng, ips_lo, ips_hi);
  id.user_agent = std::string(w.sdk_user_agent(rng));
  id.content = random_content_style(rng);
  return id;
}

}  // namespace

void build_cot_harvester(World& w, int n, const BuildOptions& opt, ActorList& out) {
  for (int i = 0; i < n; ++i) {
    Rng& rng = w.rng();
    const int keys = static_cast<int>(rng.range(1, 4));
    Identity id = harvester_identity(w, "cot_harvester", keys, 2, 6);
    const double per_day = opt.volume * rng.uniform(4000, 12000);
    const int64_t from = start_within(w, 0.25);
    out.push_back(std::make_unique<CotHarvester>(std::move(id), per_day, w.actor_rng(), w, from));
  }
}

void build_low_and_slow(World& w, int n, const BuildOptions& opt, ActorList& out) {
  for (int i = 0; i < n; ++i) {
    Rng& rng = w.rng();
    Identity id = harvester_identity(w, "low_and_slow", static_cast<int>(rng.range(1, 3)), 1, 2);
    const double per_day = opt.volume * rng.uniform(1500, 4000);
    const int64_t from = start_within(w, 0.25);
    out.push_back(std::make_unique<LowAndSlow>(std::move(id), per_day, w.actor_rng(), w, from));
  }
}

void build_skeleton_sweep(World& w, int n, const BuildOptions& opt, ActorList& out) {
  for (int i = 0; i < n; ++i) {
    Rng& rng = w.rng();
    Identity id = harvester_identity(w, "skeleton_sweep", static_cast<int>(rng.range(1, 3)), 1, 3);
    const double per_day = opt.volume * rng.uniform(1500, 5000);
    const int64_t from = start_within(w, 0.2);
    out.push_back(std::make_unique<SkeletonSweep>(std::move(id), per_day, w.actor_rng(), w, from));
  }
}

void build_dataset_gen(World& w, int n, const BuildOptions& opt, ActorList& out) {
  for (int i = 0; i < n; ++i) {
    Rng& rng = w.rng();
    Identity id = harvester_identity(w, "dataset_gen", static_cast<int>(rng.range(1, 3)), 1, 3);
    const double per_day = opt.volume * rng.uniform(1000, 4000);
    const int64_t from = start_within(w, 0.25);
    out.push_back(std::make_unique<DatasetGen>(std::move(id), per_day, w.actor_rng(), w, from));
  }
}

void build_mixed_proxy(World& w, int n, const BuildOptions& opt, ActorList& out) {
  for (int i = 0; i < n; ++i) {
    Rng& rng = w.rng();
    Identity id = harvester_identity(w, "mixed_proxy", static_cast<int>(rng.range(3, 5)), 2, 4);
    static constexpr std::string_view kUA[] = {"new-api/v0.6.10", "one-api/v0.6.7", "Go-http-client/2.0",
                                               "axios/1.7.7", "OpenAI/NodeJS 4.71.1"};
    id.user_agent = std::string(rng.pick(kUA));
    const double per_day = opt.volume * rng.uniform(1500, 5000);
    const double share = rng.uniform(0.15, 0.30);
    const int64_t from = start_within(w, 0.2);
    out.push_back(std::make_unique<MixedProxy>(std::move(id), per_day, share, w.actor_rng(), w, from));
  }
}

}  // namespace gen

// Probing the model rather than harvesting answers: logit/logprob probing
// in the style of Carlini et al. 2024 (`logit_probe`) and system-prompt /
// configuration extraction (`sysprompt_extraction`).
#include <algorithm>

#include "pop_common.hpp"

namespace gen {

namespace {

class LogitProbe final : public Actor {
 public:
  LogitProbe(Identity id, double per_day, Rng rng, int64_t from, int64_t to) : id_(std::move(id)), rng_(rng) {
    arrivals_ = Arrivals(per_day, Curves::flat(), 0, from, to, rng_, 0.05);
    const Grammar& g = Grammar::get();
    const int prompts = static_cast<int>(rng_.range(2, 8));
    for (int i = 0; i < prompts; ++i) {
      std::string p;
      g.expand("probe_prompt", rng_, p);
      prompts_.push_back(render_message("user", p, id_.content));
      legacy_prompts_.emplace_back();
      append_json_string(legacy_prompts_.back(), p, id_.content.escape);
    }
    bias_lo_ = static_cast<int>(rng_.range(50, 150));
    bias_hi_ = static_cast<int>(rng_.range(bias_lo_, 300));
    legacy_share_ = rng_.chance(0.3) ? rng_.uniform(0.2, 0.6) : 0.0;
    model_ = rng_.chance(0.5) ? "gpt-4.1-mini" : "gpt-4o-mini";
    cursor_ = static_cast<int64_t>(rng_.below(100000));
    next_ms_ = arrivals_.next(from, rng_);
  }

  void emit(Request& req) override {
    id_.stamp(req, rng_);
    const size_t p = rng_.below(prompts_.size());
    if (rng_.chance(legacy_share_)) {
      req.legacy = true;
      req.model = "gpt-3.5-turbo-instruct";
      req.prompt = legacy_prompts_[p];
      req.prompt_tokens = static_cast<int>(prompts_[p].tokens);
      req.logprobs = 5;
    } else {
      req.model = model_;
      MessagesBuilder mb(req);
      mb.add(prompts_[p]);
      mb.finish();
      req.logprobs = 1;
      req.top_logprobs = 20;
    }
    // Bias a block of token ids walked systematically through the vocabulary.
    const int entries = static_cast<int>(rng_.range(bias_lo_, bias_hi_));
    req.logit_bias.clear();
    req.logit_bias.push_back('{');
    for (int i = 0; i < entries; ++i) {
      cursor_ = (cursor_ + 1 + static_cast<int64_t>(rng_.below(4))) % 100256;
      if (i) req.logit_bias += ',';
      req.logit_bias += '"';
      append_int(req.logit_bias, cursor_);
      req.logit_bias += "\":";
      append_int(req.logit_bias, rng_.chance(0.85) ? 100 : -100);
    }
    req.logit_bias += '}';
    req.max_tokens = static_cast<int>(rng_.range(1, 2));
    req.temperature_c = 0;
    req.completion_tokens = req.max_tokens;
    response_head(rng_, req.response_text, 3);
    next_ms_ = arrivals_.next(next_ms_, rng_);
  }

 private:
  Identity id_;
  Rng rng_;
  Arrivals arrivals_;
  std::vector<RenderedMessage> prompts_;
  std::vector<std::string> legacy_prompts_;
  int bias_lo_ = 50, bias_hi_ = 300;
  double legacy_share_ = 0;
  std::string_view model_;
  int64_t cursor_ = 0;
};

class SyspromptExtraction final : public Actor {
 public:
  SyspromptExtraction(Identity id, double per_day, Rng rng, int64_t from, int64_t to)
      : id_(std::move(id)), rng_(rng), to_(to) {
    // Bursts of attempts (a person or a script iterating variants).
    bursts_ = Arrivals(per_day / 15.0, Curves::flat(), 0, from, to, rng_, 0.3);
    share_ = rng_.uniform(0.7, 0.95);
    next_ms_ = bursts_.next(from, rng_);
  }

  void emit(Request& req) override {
    const Grammar& g = Grammar::get();
    const int64_t t = next_ms_;
    id_.stamp(req, rng_);
    req.model = rng_.chance(0.5) ? "gpt-4.1" : "gpt-4o-mini";
    if (left_ == 0) left_ = static_cast<int>(rng_.range(5, 25));
    MessagesBuilder mb(req);
    if (rng_.chance(0.5)) mb.add(render_message("system", g.make("chat_sys", rng_), id_.content));
    if (rng_.chance(share_)) {
      const std::string first = g.make("extract_req", rng_);
      mb.add(render_message("user", first, id_.content));
      if (rng_.chance(0.3)) {  // a follow-up after a partial leak
        std::string partial = "You are ";
        sentence(rng_, partial);
        mb.add(render_message("assistant", partial, id_.content));
        mb.add(render_message("user", g.make("extract_followup", rng_), id_.content));
      }
      req.completion_tokens = completion_tokens(rng_, 180, 0.8, 5, 2000);
    } else {
      mb.add(render_message("user", g.make("chat_req", rng_), id_.content));
      req.completion_tokens = completion_tokens(rng_, 250, 0.8, 5, 2000);
    }
    mb.finish();
    response_head(rng_, req.response_text, 0);
    if (--left_ > 0) {
      next_ms_ = t + rng_.range(2000, 60000);
      if (next_ms_ >= to_) next_ms_ = kNever;
    } else {
      next_ms_ = bursts_.next(t, rng_);
    }
  }

 private:
  Identity id_;
  Rng rng_;
  int64_t to_;
  Arrivals bursts_;
  double share_ = 0.8;
  int left_ = 0;
};

}  // namespace

void build_logit_probe(World& w, int n, const BuildOptions& opt, ActorList& out) {
  for (int i = 0; i < n; ++i) {
    Rng& rng = w.rng();
    Identity id;
    id.account = &w.new_account("attacker", "logit_probe", {}, static_cast<int>(rng.range(1, 2)));
    id.ips.push_back(w.datacenter_ip(rng));
    id.user_agent = std::string(w.sdk_user_agent(rng));
    id.content = random_content_style(rng);
    id.content.parts = false;
    out.push_back(std::make_unique<LogitProbe>(std::move(id), opt.volume * rng.uniform(3000, 12000),
                                               w.actor_rng(), start_within(w, 0.25), w.end()));
  }
}

void build_sysprompt_extraction(World& w, int n, const BuildOptions& opt, ActorList& out) {
  for (int i = 0; i < n; ++i) {
    Rng& rng = w.rng();
    Identity id;
    id.account = &w.new_account("attacker", "sysprompt_extraction", {}, 1);
    const int ips = static_cast<int>(rng.range(3, 10));  // VPN exits
    for (int k = 0; k < ips; ++k)
      id.ips.push_back(rng.chance(0.5) ? w.datacenter_ip(rng) : w.residential_ip(rng));
    id.user_agent = std::string(rng.chance(0.5) ? w.personal_user_agent(rng) : w.sdk_user_agent(rng));
    id.content = random_content_style(rng);
    out.push_back(std::make_unique<SyspromptExtraction>(std::move(id), opt.volume * rng.uniform(150, 800),
                                                        w.actor_rng(), start_within(w, 0.25), w.end()));
  }
}

}  // namespace gen

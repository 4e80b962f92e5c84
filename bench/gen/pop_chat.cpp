// Ordinary chat users (`benign`) and heavy individual users (`heavy_user`):
// diurnal sessions of multi-turn chats whose context grows turn by turn.
#include <algorithm>

#include "pop_common.hpp"

namespace gen {

namespace {

struct ChatHabits {
  double per_day = 20;
  const HourCurve* curve = &Curves::consumer();
  int tz = 0;
  double mean_turns = 2.5;
  double reply_median = 250;  // completion tokens
  int foreign = -1;           // preferred non-English language, -1 none
  double explain_rate = 0.02;
  double legacy_share = 0.0;
  double sys_prob = 0.2;
  int max_tokens = -1;
  int temperature_c = -1;
  int stream = -1;
  double n2_rate = 0.0;
  bool calibration_logprobs = false;  // asks for a few logprobs (benign calibration use)
  size_t history_cap = 40000;
};

class ChatActor final : public Actor {
 public:
  ChatActor(Identity id, ChatHabits h, ModelChoice m, Rng rng, int64_t from, int64_t to)
      : id_(std::move(id)), h_(h), models_(m), rng_(rng) {
    sessions_ = Arrivals(h_.per_day / h_.mean_turns, *h_.curve, h_.tz, from, to, rng_);
    to_ = to;
    next_ms_ = sessions_.next(from, rng_);
    const Grammar& g = Grammar::get();
    sym_req_ = g.id("chat_req");
    sym_foreign_ = g.id("chat_req_foreign");
    sym_follow_ = g.id("chat_followup");
    sym_explain_ = g.id("explain_light");
    sym_sys_ = g.id("chat_sys");
  }

  void emit(Request& req) override {
    const int64_t t = next_ms_;
    const Grammar& g = Grammar::get();
    id_.stamp(req, rng_);
    std::string text;
    if (turns_left_ == 0) {
      history_.clear();
      history_bytes_ = 0;
      legacy_ = rng_.chance(h_.legacy_share);
      model_ = legacy_ ? std::string_view("gpt-3.5-turbo-instruct") : models_.pick(rng_, t);
      turns_left_ = legacy_ ? 1 : 1 + static_cast<int>(rng_.exponential(h_.mean_turns - 1.0));
      if (!legacy_ && rng_.chance(h_.sys_prob)) push("system", g.make("chat_sys", rng_));
      if (h_.foreign >= 0 && rng_.chance(0.8))
        g.expand(sym_foreign_, rng_, text);
      else
        g.expand(sym_req_, rng_, text);
    } else {
      std::string reply;
      assistant_reply(rng_, reply, std::min<size_t>(static_cast<size_t>(prev_ct_) * 4, 6000));
      push("assistant", reply);
      if (rng_.chance(h_.explain_rate))
        g.expand(sym_explain_, rng_, text);
      else if (rng_.chance(0.25))
        g.expand(sym_req_, rng_, text);
      else
        g.expand(sym_follow_, rng_, text);
    }
    req.model = model_;
    if (legacy_) {
      req.legacy = true;
      append_json_string(req.prompt, text, id_.content.escape);
      req.prompt_tokens = static_cast<int>(approx_tokens(text));
      req.max_tokens = h_.max_tokens > 0 ? h_.max_tokens : 256;
    } else {
      push("user", text);
      MessagesBuilder mb(req);
      for (const auto& m : history_) mb.add(m);
      mb.finish();
      req.max_tokens = h_.max_tokens;
    }
    req.temperature_c = h_.temperature_c;
    req.stream = h_.stream;
    if (h_.n2_rate > 0 && rng_.chance(h_.n2_rate)) req.n = 2;
    if (h_.calibration_logprobs && rng_.chance(0.5)) {
      req.logprobs = 1;
      req.top_logprobs = 5;
    }
    prev_ct_ = completion_tokens(rng_, h_.reply_median, 0.8, 5, 4000);
    req.completion_tokens = prev_ct_;
    response_head(rng_, req.response_text, 0);
    --turns_left_;
    if (history_bytes_ > h_.history_cap) turns_left_ = 0;
    if (turns_left_ > 0) {
      next_ms_ = t + rng_.range(15000, 240000);
      if (next_ms_ >= to_) next_ms_ = kNever;
    } else {
      next_ms_ = sessions_.next(t, rng_);
    }
  }

 private:
  void push(std::string_view role, const std::string& text) {
    history_.push_back(render_message(role, text, id_.content));
    history_bytes_ += history_.back().json.size();
  }

  Identity id_;
  ChatHabits h_;
  ModelChoice models_;
  Rng rng_;
  Arrivals sessions_;
  int64_t to_ = 0;
  std::vector<RenderedMessage> history_;
  size_t history_bytes_ = 0;
  int turns_left_ = 0;
  int prev_ct_ = 100;
  bool legacy_ = false;
  std::string_view model_;
  int sym_req_, sym_foreign_, sym_follow_, sym_explain_, sym_sys_;
};

ModelChoice consumer_models(Rng& rng, World& w) {
  static constexpr std::string_view kModels[] = {"gpt-4.1", "gpt-4.1-mini", "gpt-4o-mini", "o4-mini", "o3"};
  ModelChoice m;
  m.primary = rng.pick(kModels);
  m.secondary = rng.pick(kModels);
  m.secondary_share = rng.uniform(0.0, 0.4);
  if (rng.chance(0.15)) {  // early adopters try the new model
    m.pivot_ms = w.release_ms() + rng.range(0, 12 * kHourMs);
    m.pivot_share = rng.uniform(0.1, 0.6);
  }
  return m;
}

}  // namespace

void build_benign(World& w, int n, const BuildOptions& opt, ActorList& out) {
  Rng& rng = w.rng();
  std::vector<std::string> nat_ips;
  std::string nat_group;
  int nat_left = 0;
  for (int i = 0; i < n; ++i) {
    // About 10% of ordinary users sit behind a shared NAT (campus, office).
    std::string group;
    Identity id;
    if (nat_left == 0 && rng.chance(0.02) && n - i >= 5) {
      nat_left = static_cast<int>(rng.range(5, 15));
      nat_group = w.random_id(rng, "nat-", 6, false);
      nat_ips = {w.datacenter_ip(rng)};
      if (rng.chance(0.5)) nat_ips.push_back(w.datacenter_ip(rng));
    }
    if (nat_left > 0) {
      --nat_left;
      group = nat_group;
      id.ips = nat_ips;
    } else {
      id.ips.push_back(rng.chance(0.08) ? w.ipv6(rng) : w.residential_ip(rng));
      if (rng.chance(0.3)) id.ips.push_back(w.residential_ip(rng));  // phone
    }
    id.account = &w.new_account("benign", "benign", group, 1);
    id.user_agent = std::string(w.personal_user_agent(rng));
    id.content = random_content_style(rng);
    ChatHabits h;
    h.per_day = opt.volume * static_cast<double>(rng.lognormal_int(18, 0.9, 2, 150));
    h.tz = random_tz(rng);
    h.curve = rng.chance(0.6) ? &Curves::consumer() : &Curves::office();
    h.mean_turns = rng.uniform(1.5, 4.0);
    h.reply_median = rng.uniform(150, 450);
    if (rng.chance(0.15)) h.foreign = static_cast<int>(rng.below(7));
    h.explain_rate = rng.chance(0.3) ? rng.uniform(0.01, 0.06) : 0.0;
    h.legacy_share = rng.chance(0.05) ? rng.uniform(0.2, 1.0) : 0.0;
    h.sys_prob = rng.uniform(0.0, 0.5);
    if (rng.chance(0.3)) h.max_tokens = static_cast<int>(rng.pick<int>({256, 512, 1024, 2048, 4096}));
    if (rng.chance(0.4)) h.temperature_c = static_cast<int>(rng.pick<int>({0, 20, 50, 70, 100}));
    if (rng.chance(0.5)) h.stream = rng.chance(0.8) ? 1 : 0;
    h.calibration_logprobs = rng.chance(0.03);
    const int64_t from = w.start();
    out.push_back(
        std::make_unique<ChatActor>(std::move(id), h, consumer_models(rng, w), w.actor_rng(), from, w.end()));
  }
}

void build_heavy_user(World& w, int n, const BuildOptions& opt, ActorList& out) {
  Rng& rng = w.rng();
  for (int i = 0; i < n; ++i) {
    Identity id;
    id.account = &w.new_account("benign", "heavy_user", {}, rng.chance(0.3) ? 2 : 1);
    id.ips.push_back(w.residential_ip(rng));
    if (rng.chance(0.5)) id.ips.push_back(w.residential_ip(rng));
    id.user_agent = std::string(w.personal_user_agent(rng));
    id.content = random_content_style(rng);
    ChatHabits h;
    h.per_day = opt.volume * rng.uniform(120, 500);
    h.tz = random_tz(rng);
    h.curve = &Curves::workday();
    h.mean_turns = rng.uniform(4, 9);
    h.reply_median = rng.uniform(350, 800);
    if (rng.chance(0.1)) h.foreign = static_cast<int>(rng.below(7));
    h.explain_rate = rng.uniform(0.05, 0.15);
    h.sys_prob = rng.uniform(0.2, 0.8);
    if (rng.chance(0.5)) h.max_tokens = 4096;
    if (rng.chance(0.5)) h.temperature_c = static_cast<int>(rng.range(0, 10)) * 10;
    h.stream = 1;
    h.n2_rate = rng.chance(0.2) ? 0.05 : 0.0;
    h.history_cap = static_cast<size_t>(rng.range(15000, 70000));
    out.push_back(std::make_unique<ChatActor>(std::move(id), h, consumer_models(rng, w), w.actor_rng(),
                                              w.start(), w.end()));
  }
}

}  // namespace gen

// Hydra clusters (`hydra`): a dispatcher spreads one harvesting job over
// 20-60 accounts, each below per-account thresholds. Members share a system
// prompt or prompt skeleton, one user agent and a pool of proxy IPs, join in
// a sign-up burst and run around the clock, load-balanced in rotation.
#include <algorithm>

#include "pop_common.hpp"

namespace gen {

namespace {

enum class HydraKind { CotSystem, Skeleton, Agentic, Rubric };

class HydraCluster final : public Actor {
 public:
  HydraCluster(std::vector<Account*> members, std::vector<int64_t> joins, std::vector<std::string> pool,
               std::string ua, HydraKind kind, double per_day, Rng rng, World& w, int64_t from)
      : members_(std::move(members)),
        joins_(std::move(joins)),
        pool_(std::move(pool)),
        ua_(std::move(ua)),
        kind_(kind),
        rng_(rng),
        sweep_(rng_, static_cast<int>(rng_.range(2, 4)), 30, 150) {
    const Grammar& g = Grammar::get();
    content_ = random_content_style(rng_);
    arrivals_ = Arrivals(per_day, Curves::flat(), 0, from, w.end(), rng_, 0.08);
    foreign_ = rng_.chance(0.3);
    // Models: the cluster moves as one when a new model appears.
    models_.primary = rng_.chance(0.6) ? "o3" : "gpt-4.1";
    if (rng_.chance(0.7)) {
      models_.pivot_ms = w.release_ms() + rng_.range(kHourMs, 12 * kHourMs);
      models_.pivot_share = rng_.uniform(0.4, 0.9);
    }
    switch (kind_) {
      case HydraKind::CotSystem:
        system_ = render_message("system", g.make("cot_sys", rng_), content_);
        break;
      case HydraKind::Skeleton: {
        static constexpr std::string_view kHead[] = {
            "You are an expert problem solver. Solve the problem below.\n\nProblem:\n",
            "### Instruction\nAnswer the following question as a domain expert.\n\n### Question\n",
            "[TASK]\nRead the problem carefully.\n\n", "Q:\n"};
        head_ = rng_.pick(kHead);
        g.expand(foreign_ ? "cot_demand_foreign" : "cot_demand", rng_, demand_);
        static constexpr std::string_view kTail[] = {
            "\n\nFormat:\nReasoning: <all steps>\nFinal answer: <answer>", "\n\n### Response\n", "",
            "\n\nA:"};
        tail_ = rng_.pick(kTail);
        break;
      }
      case HydraKind::Agentic: {
        system_ = render_message(
            "system",
            "You are an autonomous software agent with access to tools (bash, read_file, write_file, "
            "browser). "
            "Before EVERY tool call, write out your complete reasoning: what you know, what you are unsure "
            "about, "
            "which alternatives you considered and why you chose this action. Never skip the reasoning.",
            content_);
        tools_ =
            "[{\"type\":\"function\",\"function\":{\"name\":\"bash\",\"parameters\":{\"type\":\"object\","
            "\"properties\":{\"cmd\":{\"type\":\"string\"}}}}},{\"type\":\"function\",\"function\":{\"name\":"
            "\"read_file\",\"parameters\":{\"type\":\"object\",\"properties\":{\"path\":{\"type\":\"string\"}"
            "}}}}]";
        break;
      }
      case HydraKind::Rubric:
        head_ = rng_.chance(0.5) ? "rubric_req" : "safe_rw_req";
        break;
    }
    next_ms_ = arrivals_.next(from, rng_);
  }

  void emit(Request& req) override {
    const Grammar& g = Grammar::get();
    const int64_t t = next_ms_;
    // Load balancing: next joined member in rotation.
    for (size_t tries = 0; tries < members_.size(); ++tries) {
      rr_ = (rr_ + 1) % members_.size();
      if (joins_[rr_] <= t) break;
    }
    req.account = members_[rr_];
    req.key = 0;
    req.ip = pool_[rng_.below(pool_.size())];
    req.user_agent = ua_;
    req.model = models_.pick(rng_, t);
    MessagesBuilder mb(req);
    std::string text;
    switch (kind_) {
      case HydraKind::CotSystem:
        mb.add(system_);
        sweep_.next_question(rng_, text);
        break;
      case HydraKind::Skeleton:
        text = head_;
        sweep_.next_question(rng_, text);
        text += "\n\n";
        text += demand_;
        text += tail_;
        break;
      case HydraKind::Agentic: {
        mb.add(system_);
        g.expand("agent_task", rng_, text);
        mb.add(render_message("user", text, content_));
        // A replayed, synthetic transcript: one scripted tool step.
        std::string note;
        g.expand("cot_demand", rng_, note);
        mb.add(render_message("assistant", "Reasoning: " + note + " I will inspect the repository first.",
                              content_));
        std::string listing;
        dir_listing(rng_, listing);
        mb.add(render_message("user", "Tool result (bash: ls -R):\n" + listing, content_));
        text = "Continue. Remember: full reasoning before every action.";
        req.tools = tools_;
        break;
      }
      case HydraKind::Rubric:
        g.expand(head_, rng_, text);
        break;
    }
    mb.add(render_message("user", text, content_));
    mb.finish();
    req.temperature_c = 60;
    req.max_tokens = 16384;
    req.completion_tokens = completion_tokens(rng_, 2000, 0.6, 500, 12000);
    response_head(rng_, req.response_text, 1);
    next_ms_ = arrivals_.next(t, rng_);
  }

 private:
  std::vector<Account*> members_;
  std::vector<int64_t> joins_;
  std::vector<std::string> pool_;
  std::string ua_;
  HydraKind kind_;
  Rng rng_;
  TopicSweep sweep_;
  ContentStyle content_;
  Arrivals arrivals_;
  ModelChoice models_;
  RenderedMessage system_;
  std::string head_, demand_, tail_, tools_;
  bool foreign_ = false;
  size_t rr_ = 0;
};

}  // namespace

void build_hydra(World& w, int n, const BuildOptions& opt, ActorList& out) {
  Rng& rng = w.rng();
  // Split n accounts into k clusters of hydra_min..hydra_max members (one
  // smaller cluster if n is below the minimum), sizes varying around n/k.
  const int lo_size = opt.hydra_min, hi_size = opt.hydra_max;
  const int mean = (lo_size + hi_size) / 2;
  int k = std::max(1, (n + mean / 2) / mean);
  k = std::max(k, (n + hi_size - 1) / hi_size);
  if (n >= lo_size) k = std::min(k, n / lo_size);
  k = std::max(k, 1);
  std::vector<int> sizes;
  int left = n;
  for (int i = 0; i < k; ++i) {
    const int r = k - i;
    int s = left / r;
    if (r > 1) {
      const int lo = std::max(lo_size, left - (r - 1) * hi_size);
      const int hi = std::min(hi_size, left - (r - 1) * lo_size);
      const int jitter = std::max(1, s / 4);
      s += static_cast<int>(rng.range(-jitter, jitter));
      if (lo <= hi) s = std::clamp(s, lo, hi);
    } else {
      s = left;
    }
    sizes.push_back(s);
    left -= s;
  }
  static constexpr std::string_view kUA[] = {
      "python-requests/2.31.0",
      "OpenAI/Python 1.30.1",
      "Go-http-client/1.1",
      "okhttp/4.9.3",
      "python-httpx/0.25.1",
      "node-fetch/1.0",
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, "
      "like Gecko) Chrome/118.0.0.0 Safari/537.36"};
  for (size_t c = 0; c < sizes.size(); ++c) {
    const std::string group = w.random_id(rng, "hydra-", 6, false);
    const int64_t from = start_within(w, 0.2);
    std::vector<Account*> members;
    std::vector<int64_t> joins;
    double per_day = 0;
    for (int i = 0; i < sizes[c]; ++i) {
      members.push_back(&w.new_account("attacker", "hydra", group, 1));
      joins.push_back(from + static_cast<int64_t>(rng.uniform() * 3.0 * kHourMs));  // sign-up burst
      per_day += opt.volume * rng.uniform(80, 300);
    }
    joins[0] = from;
    const auto kind = static_cast<HydraKind>(rng.below(4));
    std::vector<std::string> pool = w.proxy_pool(rng, static_cast<int>(rng.range(8, 40)));
    out.push_back(std::make_unique<HydraCluster>(std::move(members), std::move(joins), std::move(pool),
                                                 std::string(rng.pick(kUA)), kind, per_day, w.actor_rng(), w,
                                                 from));
  }
}

}  // namespace gen

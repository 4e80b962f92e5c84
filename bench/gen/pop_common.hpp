// Shared pieces for population builders: client identity, model choice,
// topic sweeps, and small helpers that fill common Request fields.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "actor.hpp"
#include "grammar.hpp"
#include "population.hpp"
#include "textgen.hpp"

namespace gen {

// What an account looks like on the wire: keys, IPs, client software.
struct Identity {
  Account* account = nullptr;
  std::vector<std::string> ips;
  std::string user_agent;
  ContentStyle content;

  void stamp(Request& req, Rng& rng) const {
    req.account = account;
    req.key = account->keys.size() > 1 ? static_cast<uint32_t>(rng.below(account->keys.size())) : 0;
    req.ip = ips.size() > 1 ? std::string_view(ips[rng.below(ips.size())]) : std::string_view(ips[0]);
    req.user_agent = user_agent;
  }
};

// A random SDK-ish content style (escaping and message content shape).
ContentStyle random_content_style(Rng& rng);

// Model choice: a primary model, optionally moving a share of traffic to the
// newly released model some time after its release.
struct ModelChoice {
  std::string_view primary = "gpt-4.1";
  std::string_view secondary = "gpt-4.1-mini";
  double secondary_share = 0.0;
  int64_t pivot_ms = kNever;  // from this time, pivot_share of traffic goes to World::kNewModel
  double pivot_share = 0.0;
  std::string_view pick(Rng& rng, int64_t t) const {
    if (t >= pivot_ms && rng.chance(pivot_share)) return World::kNewModel;
    return rng.chance(secondary_share) ? secondary : primary;
  }
};

// Systematic sweep over (domain, subtopic, item): how harvesters cover a
// capability. Domains are the question symbols q_<d> / subtopics sub_<d>.
class TopicSweep {
 public:
  TopicSweep() = default;
  // `domains` chosen from the known list; `per_subtopic` items each.
  TopicSweep(Rng& rng, int n_domains, int per_subtopic_lo, int per_subtopic_hi);
  // Writes the next question (topic substituted) and advances.
  void next_question(Rng& rng, std::string& out);
  // The current subtopic text (for dataset-generation prompts).
  void next_topic(Rng& rng, std::string& out);

 private:
  void advance(Rng& rng);
  std::vector<int> domains_;  // indices into the domain table
  size_t d_ = 0, sub_ = 0;
  int item_ = 0, per_sub_ = 1, lo_ = 1, hi_ = 1;
};

// Distinct response openings for the LiteLLM "response" field.
void response_head(Rng& rng, std::string& out, int kind);  // 0 plain, 1 CoT, 2 JSONL, 3 tool call

// Completion-length helper with a floor and ceiling.
inline int completion_tokens(Rng& rng, double median, double sigma, int lo, int hi) {
  return static_cast<int>(rng.lognormal_int(median, sigma, lo, hi));
}

// A uniformly random time at which an attacker starts, inside the first
// `frac` of the span.
inline int64_t start_within(World& w, double frac) {
  return w.start() +
         static_cast<int64_t>(w.rng().uniform() * frac * static_cast<double>(w.end() - w.start()));
}

int random_tz(Rng& rng);  // UTC offset in hours, weighted by where users are

}  // namespace gen

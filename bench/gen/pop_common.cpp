#include "pop_common.hpp"

#include <array>

namespace gen {

namespace {
constexpr std::string_view kDomains[] = {"math", "physics", "chem", "bio", "cs",    "code",
                                         "econ", "history", "law",  "med", "logic", "philo"};
constexpr size_t kNumDomains = std::size(kDomains);

struct DomainIds {
  std::array<int, kNumDomains> q{}, sub{};
  DomainIds() {
    const Grammar& g = Grammar::get();
    for (size_t i = 0; i < kNumDomains; ++i) {
      q[i] = g.id(std::string("q_") + std::string(kDomains[i]));
      sub[i] = g.id(std::string("sub_") + std::string(kDomains[i]));
    }
  }
};
const DomainIds& domain_ids() {
  static const DomainIds ids;
  return ids;
}
}  // namespace

ContentStyle random_content_style(Rng& rng) {
  ContentStyle cs;
  const double r = rng.uniform();
  cs.escape = r < 0.55 ? EscapeStyle::Utf8 : (r < 0.95 ? EscapeStyle::Ascii : EscapeStyle::AsciiSlash);
  cs.parts = rng.chance(0.2);
  return cs;
}

int random_tz(Rng& rng) {
  // Americas, Europe/Africa, Asia/Pacific.
  static constexpr int kTz[] = {-8, -7, -6, -5, -5, -5, -4, -3, 0, 1, 1, 1, 2, 2, 3, 4, 5, 8, 8, 8, 9, 10};
  return rng.pick(kTz);
}

TopicSweep::TopicSweep(Rng& rng, int n_domains, int per_subtopic_lo, int per_subtopic_hi)
    : lo_(per_subtopic_lo), hi_(per_subtopic_hi) {
  // Narrow capability focus: a handful of domains, in a random order.
  std::array<int, kNumDomains> all{};
  for (size_t i = 0; i < kNumDomains; ++i) all[i] = static_cast<int>(i);
  for (size_t i = kNumDomains - 1; i > 0; --i) std::swap(all[i], all[rng.below(i + 1)]);
  for (int i = 0; i < n_domains && i < static_cast<int>(kNumDomains); ++i)
    domains_.push_back(all[static_cast<size_t>(i)]);
  per_sub_ = static_cast<int>(rng.range(lo_, hi_));
  sub_ = rng.below(8);
}

void TopicSweep::advance(Rng& rng) {
  if (++item_ < per_sub_) return;
  item_ = 0;
  per_sub_ = static_cast<int>(rng.range(lo_, hi_));
  const Grammar& g = Grammar::get();
  const int sub_sym = domain_ids().sub[static_cast<size_t>(domains_[d_])];
  if (++sub_ >= g.alternatives(sub_sym)) {
    sub_ = 0;
    d_ = (d_ + 1) % domains_.size();
  }
}

void TopicSweep::next_topic(Rng& rng, std::string& out) {
  const Grammar& g = Grammar::get();
  g.expand_alt(domain_ids().sub[static_cast<size_t>(domains_[d_])], sub_, rng, out);
  advance(rng);
}

void TopicSweep::next_question(Rng& rng, std::string& out) {
  const Grammar& g = Grammar::get();
  const auto& ids = domain_ids();
  const size_t dom = static_cast<size_t>(domains_[d_]);
  std::string topic;
  g.expand_alt(ids.sub[dom], sub_, rng, topic);
  const size_t at = out.size();
  g.expand(ids.q[dom], rng, out);
  std::string tail = out.substr(at);
  substitute_topic(tail, topic);
  out.resize(at);
  out += tail;
  advance(rng);
}

void response_head(Rng& rng, std::string& out, int kind) {
  switch (kind) {
    case 1: {
      static constexpr std::string_view kHeads[] = {
          "<|begin_of_thought|>\n\nOkay, so I need to figure out ", "Let me think step by step. First, ",
          "<think>\nAlright, let's carefully work through this. ", "Step 1: Understand the problem. ",
          "## Reasoning\n\n1. We start by noting that "};
      out += rng.pick(kHeads);
      sentence(rng, out);
      break;
    }
    case 2:
      out += "{\"instruction\": \"";
      sentence(rng, out);
      out += "\", \"output\": \"";
      sentence(rng, out);
      out += "\"}\n{\"instruction\": \"";
      sentence(rng, out);
      out += "\", ";
      break;
    case 3:  // a tool call or a 1-2 token probe: no text to show
      break;
    default:
      sentence(rng, out);
      out += ' ';
      sentence(rng, out);
  }
}

}  // namespace gen

// Actor: one source of traffic in the simulated gateway. Usually one account
// (a chat user, a harvester); sometimes several (a hydra cluster's dispatcher
// spreads one job over its member accounts). The corpus pulls events from all
// actors in event-time order through a heap keyed by next_ms().
#pragma once
#include <array>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "request.hpp"
#include "rng.hpp"

namespace gen {

inline constexpr int64_t kNever = std::numeric_limits<int64_t>::max();
inline constexpr int64_t kHourMs = 3600000;
inline constexpr int64_t kDayMs = 24 * kHourMs;

// Relative request intensity per local hour of day (need not be normalised).
using HourCurve = std::array<double, 24>;

struct Curves {
  static const HourCurve& flat();
  static const HourCurve& consumer();  // evening-heavy personal use
  static const HourCurve& office();    // 9-18 with a lunch dip
  static const HourCurve& workday();   // long days of a heavy user
  static const HourCurve& customer();  // customer-facing product, soft diurnal
};

// Inhomogeneous Poisson arrivals by thinning: `per_day` requests on an
// average day shaped by `curve` in the actor's local time (tz offset hours),
// restricted to [from, to).
class Arrivals {
 public:
  Arrivals() = default;
  Arrivals(double per_day, const HourCurve& curve, int tz_hours, int64_t from, int64_t to, Rng& rng,
           double hourly_noise = 0.0);
  // Next arrival strictly after t, or kNever.
  int64_t next(int64_t t, Rng& rng) const;
  int64_t from() const { return from_; }
  int64_t to() const { return to_; }

 private:
  std::array<double, 24> rate_{};  // events per ms for each UTC hour-of-day
  double max_rate_ = 0;
  int64_t from_ = 0, to_ = 0;
};

class Actor {
 public:
  virtual ~Actor() = default;
  int64_t next_ms() const { return next_ms_; }
  // Fill `req` for the event at next_ms() (req has been reset; the corpus
  // fills the envelope afterwards), then move next_ms() on (kNever = done).
  virtual void emit(Request& req) = 0;

 protected:
  int64_t next_ms_ = kNever;
};

// Context shared by population builders: the simulated time span, master
// seed, and deterministic generators for ids, IPs and client identities.
class World {
 public:
  World(uint64_t seed, int64_t start_ms, int64_t end_ms);
  int64_t start() const { return start_; }
  int64_t end() const { return end_; }
  double hours() const { return static_cast<double>(end_ - start_) / kHourMs; }
  double days() const { return static_cast<double>(end_ - start_) / kDayMs; }
  uint64_t seed() const { return seed_; }
  // Builder-level randomness (account ids, pools, volumes).
  Rng& rng() { return rng_; }
  // A fresh independent stream for one actor.
  Rng actor_rng() { return Rng::derive(seed_, ++actor_counter_); }

  Account& new_account(std::string_view label, std::string_view style, std::string group = {},
                       int n_keys = 1);
  void add_key(Account& a);
  std::vector<std::unique_ptr<Account>>& accounts() { return accounts_; }

  // IPs as strings; "residential" spans many ranges, "datacenter" picks
  // within hosting ranges; a /24 pool for proxies.
  std::string residential_ip(Rng& rng);
  std::string datacenter_ip(Rng& rng);
  std::string ipv6(Rng& rng);
  std::vector<std::string> proxy_pool(Rng& rng, int n);
  // A realistic client User-Agent for a personal / programmatic client.
  std::string_view personal_user_agent(Rng& rng);
  std::string_view sdk_user_agent(Rng& rng);
  std::string random_id(Rng& rng, std::string_view prefix, int len, bool base62 = true);

  // Model catalogue. A newer model is released at release_ms().
  int64_t release_ms() const { return release_ms_; }
  static constexpr std::string_view kNewModel = "o5-preview";

 private:
  uint64_t seed_;
  int64_t start_, end_, release_ms_;
  Rng rng_;
  uint64_t actor_counter_ = 0;
  std::vector<std::unique_ptr<Account>> accounts_;
};

}  // namespace gen

#include "actor.hpp"

#include "core/hash.hpp"

namespace gen {

const HourCurve& Curves::flat() {
  static const HourCurve c = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
  return c;
}
const HourCurve& Curves::consumer() {
  static const HourCurve c = {0.35, 0.2,  0.1,  0.06, 0.05, 0.06, 0.15, 0.35, 0.6, 0.75, 0.85, 0.9,
                              0.9,  0.85, 0.85, 0.85, 0.85, 0.9,  0.95, 1.0,  1.0, 0.95, 0.8,  0.55};
  return c;
}
const HourCurve& Curves::office() {
  static const HourCurve c = {0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.03, 0.15, 0.6,  1.0,  1.0,  0.95,
                              0.5,  0.85, 1.0,  1.0,  0.9,  0.6,  0.25, 0.12, 0.08, 0.06, 0.04, 0.02};
  return c;
}
const HourCurve& Curves::workday() {
  static const HourCurve c = {0.1,  0.05, 0.02, 0.01, 0.01, 0.02, 0.1, 0.4, 0.8, 1.0,  1.0,  1.0,
                              0.75, 0.95, 1.0,  1.0,  0.95, 0.8,  0.6, 0.5, 0.5, 0.45, 0.35, 0.2};
  return c;
}
const HourCurve& Curves::customer() {
  static const HourCurve c = {0.45, 0.38, 0.33, 0.3,  0.3,  0.33, 0.42, 0.58, 0.75, 0.88, 0.95, 1.0,
                              1.0,  1.0,  0.98, 0.97, 0.95, 0.92, 0.88, 0.82, 0.75, 0.67, 0.58, 0.5};
  return c;
}

Arrivals::Arrivals(double per_day, const HourCurve& curve, int tz_hours, int64_t from, int64_t to, Rng& rng,
                   double hourly_noise)
    : from_(from), to_(to) {
  double sum = 0;
  for (double w : curve) sum += w;
  for (int h = 0; h < 24; ++h) {
    const int local = ((h + tz_hours) % 24 + 24) % 24;
    double w = curve[static_cast<size_t>(local)] / sum;
    if (hourly_noise > 0) w *= 1.0 + hourly_noise * (2.0 * rng.uniform() - 1.0);
    rate_[static_cast<size_t>(h)] = per_day * w / static_cast<double>(kHourMs);
    if (rate_[static_cast<size_t>(h)] > max_rate_) max_rate_ = rate_[static_cast<size_t>(h)];
  }
}

int64_t Arrivals::next(int64_t t, Rng& rng) const {
  if (max_rate_ <= 0) return kNever;
  if (t < from_) t = from_;
  for (;;) {
    const double gap = rng.exponential(1.0 / max_rate_);
    t += gap < 1.0 ? 1 : static_cast<int64_t>(gap);
    if (t >= to_) return kNever;
    const int64_t hour = (t / kHourMs) % 24;
    if (rng.uniform() * max_rate_ < rate_[static_cast<size_t>(hour)]) return t;
  }
}

World::World(uint64_t seed, int64_t start_ms, int64_t end_ms)
    : seed_(seed), start_(start_ms), end_(end_ms), rng_(Rng::derive(seed, 0xC0FFEE)) {
  release_ms_ = start_ms + (end_ms - start_ms) * 2 / 5;
}

std::string World::random_id(Rng& rng, std::string_view prefix, int len, bool base62) {
  static constexpr char kAlnum[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  std::string s(prefix);
  for (int i = 0; i < len; ++i) s += kAlnum[rng.below(base62 ? 62 : 36)];
  return s;
}

Account& World::new_account(std::string_view label, std::string_view style, std::string group, int n_keys) {
  auto a = std::make_unique<Account>();
  a->id = random_id(rng_, "acct-", 10, false);
  a->label = label;
  a->style = style;
  a->group = std::move(group);
  a->org = random_id(rng_, "org-", 24);
  a->team = random_id(rng_, "team-", 8, false);
  for (int i = 0; i < n_keys; ++i) add_key(*a);
  accounts_.push_back(std::move(a));
  return *accounts_.back();
}

void World::add_key(Account& a) {
  a.keys.push_back(random_id(rng_, "key_", 20));
  static constexpr char kHex[] = "0123456789abcdef";
  std::string h;
  uint64_t x = ds::hash_str(a.keys.back());
  for (int i = 0; i < 4; ++i) {
    x = ds::mix64(x + 0x9E3779B97F4A7C15ull);
    for (int k = 0; k < 16; ++k) h += kHex[(x >> (4 * k)) & 15];
  }
  a.key_hashes.push_back(std::move(h));
}

namespace {
constexpr int kResidentialA[] = {2,   5,   24,  31,  36,  37,  39,  46,  49,  50,  58,  59,  60,  61,  67,
                                 68,  69,  70,  71,  73,  75,  76,  77,  78,  79,  80,  81,  82,  83,  84,
                                 85,  86,  87,  88,  89,  90,  91,  92,  93,  94,  95,  96,  97,  98,  99,
                                 101, 106, 108, 110, 111, 112, 113, 114, 115, 116, 117, 118, 119, 120, 121,
                                 122, 123, 124, 125, 171, 174, 175, 177, 179, 180, 181, 182, 183, 186, 187,
                                 189, 190, 191, 200, 201, 211, 218, 219, 220, 221, 222, 223};
constexpr int kHostingA[] = {5,   23,  34,  35,  37,  45,  46,  51,  52,  54,  64,  65,  66,  91,  95,  103,
                             104, 107, 138, 139, 141, 142, 143, 144, 146, 147, 149, 151, 152, 154, 155, 157,
                             158, 159, 161, 162, 163, 164, 165, 167, 168, 170, 172, 173, 176, 178, 185, 188,
                             192, 193, 194, 195, 198, 199, 204, 206, 207, 208, 209, 212, 213, 216, 217};

void append_octet(std::string& s, int v) {
  s += std::to_string(v);
}
}  // namespace

std::string World::residential_ip(Rng& rng) {
  std::string s;
  append_octet(s, rng.pick(kResidentialA));
  for (int i = 0; i < 3; ++i) {
    s += '.';
    append_octet(s, static_cast<int>(rng.range(i == 2 ? 1 : 0, 254)));
  }
  return s;
}

std::string World::datacenter_ip(Rng& rng) {
  std::string s;
  append_octet(s, rng.pick(kHostingA));
  for (int i = 0; i < 3; ++i) {
    s += '.';
    append_octet(s, static_cast<int>(rng.range(i == 2 ? 2 : 0, 250)));
  }
  return s;
}

std::string World::ipv6(Rng& rng) {
  static constexpr std::string_view kPrefixes[] = {
      "2a02:", "2a01:4f8:", "2600:1700:", "2601:",     "2a00:23c6:",
      "240e:", "2409:8a",   "2804:14c:",  "2a0d:5600:"};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s(rng.pick(kPrefixes));
  const bool mid = s.back() != ':';
  if (mid) {
    s += kHex[rng.below(16)];
    s += kHex[rng.below(16)];
    s += ':';
  }
  int groups = 0;
  for (char c : s) groups += c == ':';
  for (int g = groups; g < 8; ++g) {
    const int digits = static_cast<int>(rng.range(1, 4));
    s += kHex[rng.range(1, 15)];
    for (int k = 1; k < digits; ++k) s += kHex[rng.below(16)];
    if (g < 7) s += ':';
  }
  return s;
}

std::vector<std::string> World::proxy_pool(Rng& rng, int n) {
  // Proxy pools come in a few subnets (a rented block) plus stray exits.
  std::vector<std::string> pool;
  const int subnets = static_cast<int>(rng.range(2, 5));
  std::vector<std::string> bases;
  for (int i = 0; i < subnets; ++i) {
    std::string ip = datacenter_ip(rng);
    bases.push_back(ip.substr(0, ip.rfind('.') + 1));
  }
  for (int i = 0; i < n; ++i) {
    if (rng.chance(0.15)) {
      pool.push_back(residential_ip(rng));
    } else {
      pool.push_back(bases[rng.below(bases.size())] + std::to_string(rng.range(2, 250)));
    }
  }
  return pool;
}

std::string_view World::personal_user_agent(Rng& rng) {
  static constexpr std::string_view kUA[] = {
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
      "Safari/537.36",
      "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 "
      "Safari/605.1.15",
      "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
      "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
      "Mobile/15E148",
      "OpenAI/Python 1.54.3",
      "OpenAI/Python 1.52.0",
      "OpenAI/Python 1.40.6",
      "OpenAI/NodeJS 4.71.1",
      "OpenAI/NodeJS 4.67.3",
      "python-requests/2.32.3",
      "python-httpx/0.27.2",
      "curl/8.5.0",
      "langchain-openai/0.2.9 OpenAI/Python 1.54.3",
      "llama-index/0.11.23 OpenAI/Python 1.52.0",
      "ChatBox/1.6.2 (Windows)",
      "LibreChat/0.7.5",
      "Raycast/1.86.1 (macOS 15.1)",
      "okhttp/4.12.0",
      "Dart/3.5 (dart:io)",
      "OpenAI/Go 0.1.0-alpha.38",
  };
  return rng.pick(kUA);
}

std::string_view World::sdk_user_agent(Rng& rng) {
  static constexpr std::string_view kUA[] = {
      "OpenAI/Python 1.54.3", "OpenAI/Python 1.52.0",
      "OpenAI/Python 1.35.7", "OpenAI/NodeJS 4.71.1",
      "python-httpx/0.27.2",  "python-requests/2.32.3",
      "aiohttp/3.10.10",      "Go-http-client/2.0",
      "OpenAI/Java 0.8.1",    "Apache-HttpClient/5.3.1 (Java/21.0.4)",
  };
  return rng.pick(kUA);
}

}  // namespace gen

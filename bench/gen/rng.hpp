// Deterministic randomness for the corpus generator.
// Everything here is bit-exact across compilers, libstdc++ and libm versions:
// xoshiro256** seeded by splitmix64, and our own log/exp built only from
// + - * / and sqrt (all IEEE correctly rounded). Never use <random>
// distributions or std::log/std::exp here: their output may change between
// library versions, and the corpus must be byte-identical for a given seed.
#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace gen {

inline uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Natural log for x > 0, accurate to ~1e-15 relative; deterministic.
inline double det_log(double x) {
  if (!(x > 0)) return -745.0;
  int e = 0;
  double m = std::frexp(x, &e);  // exact: x = m * 2^e, m in [0.5, 1)
  if (m < 0.70710678118654752) {
    m *= 2.0;
    e -= 1;
  }
  const double s = (m - 1.0) / (m + 1.0);  // |s| <= 0.1716
  const double s2 = s * s;
  double term = s, sum = 0.0;
  for (int k = 1; k <= 27; k += 2) {
    sum += term / k;
    term *= s2;
  }
  return 2.0 * sum + e * 0.69314718055994530942;
}

// e^x, deterministic; |x| < ~700.
inline double det_exp(double x) {
  if (x > 700) x = 700;
  if (x < -700) return 0.0;
  const double ln2 = 0.69314718055994530942;
  const double kf = x / ln2;
  const int k = static_cast<int>(kf < 0 ? kf - 0.5 : kf + 0.5);
  const double r = x - k * ln2;  // |r| <= ~0.35
  double term = 1.0, sum = 1.0;
  for (int i = 1; i <= 18; ++i) {
    term *= r / i;
    sum += term;
  }
  return std::ldexp(sum, k);  // exact scaling
}

class Rng {
 public:
  explicit Rng(uint64_t seed = 1) { reseed(seed); }
  void reseed(uint64_t seed) {
    uint64_t x = seed;
    for (auto& w : s_) w = splitmix64(x);
  }
  // A new independent stream derived from this one's seed material and a tag.
  static Rng derive(uint64_t seed, uint64_t tag) {
    uint64_t x = seed ^ (tag * 0xD1B54A32D192ED03ull);
    splitmix64(x);
    return Rng(splitmix64(x) ^ tag);
  }

  uint64_t next() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  // Uniform in [0, n); n > 0. Lemire's multiply-shift (bias < 2^-40 for our n).
  uint64_t below(uint64_t n) {
    __extension__ typedef unsigned __int128 u128;
    return static_cast<uint64_t>((static_cast<u128>(next()) * n) >> 64);
  }
  // Uniform integer in [lo, hi] inclusive.
  int64_t range(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(below(static_cast<uint64_t>(hi - lo + 1)));
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  bool chance(double p) { return uniform() < p; }
  double exponential(double mean) { return -mean * det_log(1.0 - uniform()); }
  // Standard normal (Marsaglia polar method; deterministic).
  double normal() {
    for (;;) {
      const double u = 2.0 * uniform() - 1.0, v = 2.0 * uniform() - 1.0;
      const double s = u * u + v * v;
      if (s > 0 && s < 1) return u * std::sqrt(-2.0 * det_log(s) / s);
    }
  }
  // Log-normal with the given median and sigma of the underlying normal.
  double lognormal(double median, double sigma) { return median * det_exp(sigma * normal()); }
  // Log-normal clamped to [lo, hi], rounded to an integer.
  int64_t lognormal_int(double median, double sigma, int64_t lo, int64_t hi) {
    double v = lognormal(median, sigma);
    if (v < static_cast<double>(lo)) return lo;
    if (v > static_cast<double>(hi)) return hi;
    return static_cast<int64_t>(v + 0.5);
  }
  template <class T>
  const T& pick(std::span<const T> items) {
    return items[below(items.size())];
  }
  template <class T, size_t N>
  const T& pick(const T (&items)[N]) {
    return items[below(N)];
  }
  // Index drawn with the given non-negative weights.
  size_t weighted(std::span<const double> w) {
    double total = 0;
    for (double x : w) total += x;
    double r = uniform() * total;
    for (size_t i = 0; i < w.size(); ++i) {
      if (r < w[i]) return i;
      r -= w[i];
    }
    return w.size() - 1;
  }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

}  // namespace gen

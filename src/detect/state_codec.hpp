// StateWriter / StateReader: the explicit little-endian encoding of detector
// checkpoints (detect/state_io.cpp). Every field is written on its own with a
// fixed width -- never a memcpy of a struct (padding, pointers, endianness).
// The reader never reads past its input, never allocates more than a count
// validated against both a limit and the bytes actually left, and fails
// sticky with the first error message.
#pragma once
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "core/hash.hpp"
#include "detect/sketch.hpp"

namespace ds {

// Checksum of a state blob (all bytes before the trailing 8-byte checksum).
inline uint64_t detector_state_checksum(std::string_view payload) {
  return hash_bytes(payload.data(), payload.size(), 0x5354415445763031ull /* "STATEv01" */);
}

class StateWriter {
 public:
  explicit StateWriter(std::string& out) : out_(out) {}

  void operator()(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void operator()(bool v) { (*this)(static_cast<uint8_t>(v ? 1 : 0)); }
  void operator()(char v) { (*this)(static_cast<uint8_t>(v)); }
  void operator()(uint16_t v) { put(v, 2); }
  void operator()(uint32_t v) { put(v, 4); }
  void operator()(int32_t v) { put(static_cast<uint32_t>(v), 4); }
  void operator()(uint64_t v) { put(v, 8); }
  void operator()(int64_t v) { put(static_cast<uint64_t>(v), 8); }
  void operator()(double v) { put(std::bit_cast<uint64_t>(v), 8); }
  template <class T, size_t N>
  void operator()(const std::array<T, N>& a) {
    for (const auto& x : a) (*this)(x);
  }
  template <unsigned P>
  void operator()(const Hll<P>& h) {
    (*this)(h.reg);
  }
  void str(std::string_view s) {
    (*this)(static_cast<uint32_t>(s.size()));
    out_.append(s.data(), s.size());
  }
  // Length-prefixed section: u32 tag, u64 length, body.
  size_t begin_section(uint32_t tag) {
    (*this)(tag);
    const size_t at = out_.size();
    (*this)(uint64_t{0});
    return at;
  }
  void end_section(size_t at) {
    const uint64_t len = out_.size() - at - 8;
    for (int i = 0; i < 8; ++i) out_[at + static_cast<size_t>(i)] = static_cast<char>((len >> (8 * i)) & 0xFF);
  }
  size_t size() const { return out_.size(); }

 private:
  void put(uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  }
  std::string& out_;
};

class StateReader {
 public:
  explicit StateReader(std::string_view in) : in_(in) {}

  bool ok() const { return err_.empty(); }
  const std::string& error() const { return err_; }
  size_t remaining() const { return in_.size() - pos_; }
  size_t pos() const { return pos_; }
  bool fail(std::string msg) {
    if (err_.empty()) err_ = std::move(msg);
    pos_ = in_.size();
    return false;
  }

  void operator()(uint8_t& v) { v = static_cast<uint8_t>(get(1)); }
  void operator()(bool& v) {
    uint8_t b = 0;
    (*this)(b);
    if (b > 1) fail("bad boolean");
    v = b != 0;
  }
  void operator()(char& v) { v = static_cast<char>(get(1)); }
  void operator()(uint16_t& v) { v = static_cast<uint16_t>(get(2)); }
  void operator()(uint32_t& v) { v = static_cast<uint32_t>(get(4)); }
  void operator()(int32_t& v) { v = static_cast<int32_t>(static_cast<uint32_t>(get(4))); }
  void operator()(uint64_t& v) { v = get(8); }
  void operator()(int64_t& v) { v = static_cast<int64_t>(get(8)); }
  void operator()(double& v) {
    v = std::bit_cast<double>(get(8));
    if (!std::isfinite(v)) {
      v = 0;
      fail("non-finite number");
    }
  }
  template <class T, size_t N>
  void operator()(std::array<T, N>& a) {
    for (auto& x : a) (*this)(x);
  }
  template <unsigned P>
  void operator()(Hll<P>& h) {
    (*this)(h.reg);
    for (uint8_t r : h.reg)
      if (r > 65 - P) fail("bad HyperLogLog register");
  }
  // A string of at most max_len bytes (checked before allocating).
  void str(std::string& s, size_t max_len, const char* what) {
    uint32_t n = 0;
    (*this)(n);
    if (!ok()) return;
    if (n > max_len || n > remaining()) {
      fail(std::string(what) + " too long (" + std::to_string(n) + " bytes)");
      return;
    }
    s.assign(in_.data() + pos_, n);
    pos_ += n;
  }
  // A count of items, each at least min_bytes long in the input: checked
  // against `max` and the bytes left before anything is allocated.
  bool count(uint64_t& n, uint64_t max, size_t min_bytes, const char* what) {
    (*this)(n);
    if (!ok()) return false;
    if (n > max) return fail(std::string(what) + ": " + std::to_string(n) + " exceeds the limit " + std::to_string(max));
    if (min_bytes && n > remaining() / min_bytes) return fail(std::string(what) + ": count larger than the data");
    return true;
  }
  // Section header: expects `tag`; returns a reader over its body and skips it here.
  bool section(uint32_t tag, StateReader& body, const char* what) {
    uint32_t t = 0;
    uint64_t len = 0;
    (*this)(t);
    (*this)(len);
    if (!ok()) return fail(std::string("truncated before section ") + what);
    if (t != tag) return fail(std::string("expected section ") + what);
    if (len > remaining()) return fail(std::string("section ") + what + " is truncated");
    body = StateReader(in_.substr(pos_, static_cast<size_t>(len)));
    pos_ += static_cast<size_t>(len);
    return true;
  }

 private:
  uint64_t get(int bytes) {
    if (remaining() < static_cast<size_t>(bytes)) {
      fail("truncated");
      return 0;
    }
    uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v |= uint64_t(static_cast<uint8_t>(in_[pos_ + static_cast<size_t>(i)])) << (8 * i);
    pos_ += static_cast<size_t>(bytes);
    return v;
  }
  std::string_view in_;
  size_t pos_ = 0;
  std::string err_;
};

// Event times in a state are either INT64_MIN ("none") or within this range
// (parsed times are 0..1e13 ms; buckets and epochs are smaller still), so
// arithmetic on restored times cannot overflow.
inline constexpr int64_t kStateTimeLimit = int64_t(1) << 53;
inline bool state_time_ok(int64_t t, bool allow_none = true) {
  return (allow_none && t == INT64_MIN) || (t >= -kStateTimeLimit && t <= kStateTimeLimit);
}

// Valid UTF-8 (ids and samples in a state come from parsed JSON strings).
inline bool state_utf8_ok(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<uint8_t>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k)
      if ((static_cast<uint8_t>(s[i + k]) & 0xC0) != 0x80) return false;
    i += n;
  }
  return true;
}

}  // namespace ds

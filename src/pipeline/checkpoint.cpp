#include "pipeline/checkpoint.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/fs_sync.hpp"
#include "core/hash.hpp"

namespace ds {
namespace {

constexpr char kMagic[8] = {'D', 'S', 'T', 'A', 'I', 'L', 'C', 'K'};

void put_u64(std::string& o, uint64_t v) {
  for (int i = 0; i < 8; ++i) o.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
void put_u32(std::string& o, uint32_t v) {
  for (int i = 0; i < 4; ++i) o.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
void put_str(std::string& o, std::string_view s) {
  put_u64(o, s.size());
  o.append(s);
}

struct Reader {
  std::string_view d;
  size_t p = 0;
  bool ok = true;
  uint64_t u(int n) {
    if (!ok || d.size() - p < static_cast<size_t>(n)) {
      ok = false;
      return 0;
    }
    uint64_t v = 0;
    for (int i = 0; i < n; ++i) v |= uint64_t(static_cast<unsigned char>(d[p + static_cast<size_t>(i)])) << (8 * i);
    p += static_cast<size_t>(n);
    return v;
  }
  uint64_t u64() { return u(8); }
  uint32_t u32() { return static_cast<uint32_t>(u(4)); }
  std::string_view str() {
    uint64_t n = u64();
    if (!ok || n > d.size() - p) {
      ok = false;
      return {};
    }
    auto s = d.substr(p, n);
    p += n;
    return s;
  }
};

}  // namespace

std::string encode_checkpoint(const Checkpoint& c) {
  std::string pl;
  put_u32(pl, static_cast<uint32_t>(c.files.size()));
  for (const auto& f : c.files) {
    put_str(pl, f.path);
    put_u64(pl, f.id.dev);
    put_u64(pl, f.id.ino);
    put_u32(pl, f.id.fp_len);
    put_u64(pl, f.id.fp_hash);
    put_u64(pl, f.offset);
    pl.push_back(static_cast<char>(f.rotated));
    pl.push_back(static_cast<char>(f.done));
    pl.push_back(static_cast<char>(f.copy));  // version 2
  }
  const RunStats& s = c.stats;
  put_u64(pl, s.lines);
  put_u64(pl, s.records);
  put_u64(pl, s.bytes);
  put_u64(pl, s.field_type_errors);
  put_u64(pl, s.alerts);
  put_u32(pl, static_cast<uint32_t>(kErrorReasonCount));
  for (size_t i = 0; i < kErrorReasonCount; ++i) put_u64(pl, s.errors.n[i]);
  put_u32(pl, static_cast<uint32_t>(s.rule_matches.size()));
  for (uint64_t v : s.rule_matches) put_u64(pl, v);
  uint64_t secs;
  std::memcpy(&secs, &s.seconds, 8);
  put_u64(pl, secs);
  put_str(pl, c.detector_state);

  std::string o(kMagic, sizeof kMagic);
  put_u32(o, kCheckpointVersion);
  put_u32(o, 0);
  put_u64(o, pl.size());
  o += pl;
  put_u64(o, hash_bytes(o.data(), o.size()));
  return o;
}

Result<Checkpoint> decode_checkpoint(std::string_view d, const std::string& name) {
  auto fail = [&](const std::string& why) {
    return make_error(name + ": " + why +
                      "; refusing to resume from it (move it away, or pass --reset-state to start fresh)");
  };
  if (d.size() < 8 + 4 + 4 + 8 + 8 || std::memcmp(d.data(), kMagic, 8) != 0)
    return fail("not a distillscan tail checkpoint (bad magic)");
  Reader h{d, 8};
  uint32_t version = h.u32();
  h.u32();
  uint64_t len = h.u64();
  if (version != kCheckpointVersion && version != 1)  // 1: no per-file `copy` byte
    return fail("checkpoint version " + std::to_string(version) + " is not supported (this build reads versions 1 to " +
                std::to_string(kCheckpointVersion) + ")");
  if (len != d.size() - 32) return fail("truncated or trailing bytes (corrupt checkpoint)");
  Reader cs{d, d.size() - 8};
  if (cs.u64() != hash_bytes(d.data(), d.size() - 8)) return fail("checksum mismatch (corrupt checkpoint)");

  Reader r{d.substr(0, d.size() - 8), 24};
  Checkpoint c;
  uint32_t nfiles = r.u32();
  if (nfiles > 1000000) return fail("implausible file count");
  for (uint32_t i = 0; i < nfiles && r.ok; ++i) {
    FilePosition f;
    f.path = std::string(r.str());
    f.id.dev = r.u64();
    f.id.ino = r.u64();
    f.id.fp_len = r.u32();
    f.id.fp_hash = r.u64();
    f.offset = r.u64();
    f.rotated = r.u(1) != 0;
    f.done = r.u(1) != 0;
    if (version >= 2) f.copy = r.u(1) != 0;
    if (f.id.fp_len > kFingerprintBytes) return fail("bad fingerprint length");
    c.files.push_back(std::move(f));
  }
  RunStats& s = c.stats;
  s.lines = r.u64();
  s.records = r.u64();
  s.bytes = r.u64();
  s.field_type_errors = r.u64();
  s.alerts = r.u64();
  uint32_t nerr = r.u32();
  if (nerr != kErrorReasonCount) return fail("error reasons differ from this build's");
  for (size_t i = 0; i < kErrorReasonCount; ++i) s.errors.n[i] = r.u64();
  uint32_t nrules = r.u32();
  if (nrules > 1000000) return fail("implausible rule count");
  for (uint32_t i = 0; i < nrules && r.ok; ++i) s.rule_matches.push_back(r.u64());
  uint64_t secs = r.u64();
  std::memcpy(&s.seconds, &secs, 8);
  c.detector_state = std::string(r.str());
  if (!r.ok || r.p != r.d.size()) return fail("malformed payload (corrupt checkpoint)");
  return c;
}

Result<void> write_file_atomic(const std::string& path, std::string_view data) {
  const std::string tmp = path + ".tmp";
  auto err = [&](const char* what) { return make_error(tmp + ": " + what + ": " + std::strerror(errno)); };
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return err("cannot create");
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      auto e = err("write");
      ::close(fd);
      return e;
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    auto e = err("fsync");
    ::close(fd);
    return e;
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return err("rename");
  fsync_parent_dir(path);
  return {};
}

Result<std::optional<Checkpoint>> load_checkpoint_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::optional<Checkpoint>{};
    return make_error(path + ": cannot open: " + std::strerror(errno));
  }
  std::string data;
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      return make_error(path + ": read error: " + std::strerror(errno));
    }
    if (n == 0) break;
    data.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  auto c = decode_checkpoint(data, path);
  if (!c) return c.error();
  return std::optional<Checkpoint>(std::move(*c));
}

}  // namespace ds

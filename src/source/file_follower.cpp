// FileFollower: see file_follower.hpp for the behaviour. Implementation notes:
// - Reads with pread() from the handed-over offset; a partial last line is
//   simply read again next time (no carry buffer), so the position a
//   checkpoint stores is always the end of a complete line.
// - After every read the fingerprint is verified, so a copytruncate whose
//   file has regrown past our offset is still noticed before garbage is
//   handed over.
#include "source/file_follower.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <glob.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <list>

#include "core/hash.hpp"

namespace ds {
namespace {

using Clock = std::chrono::steady_clock;

bool has_glob_chars(const std::string& s) { return s.find_first_of("*?[") != std::string::npos; }

std::string dir_of(const std::string& p) {
  auto pos = p.rfind('/');
  if (pos == std::string::npos) return ".";
  if (pos == 0) return "/";
  return p.substr(0, pos);
}

uint64_t hash_prefix(int fd, uint32_t len, bool& ok) {
  char buf[kFingerprintBytes];
  ok = false;
  if (len == 0) {
    ok = true;
    return 0;
  }
  ssize_t n = ::pread(fd, buf, len, 0);
  if (n != static_cast<ssize_t>(len)) return 0;
  ok = true;
  return hash_bytes(buf, len);
}

}  // namespace

bool file_identity(int fd, FileIdentity& out, uint32_t max_fp) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return false;
  out.dev = static_cast<uint64_t>(st.st_dev);
  out.ino = static_cast<uint64_t>(st.st_ino);
  max_fp = std::min(max_fp, kFingerprintBytes);
  uint32_t len = static_cast<uint32_t>(std::min<uint64_t>(static_cast<uint64_t>(st.st_size), max_fp));
  bool ok = false;
  uint64_t h = hash_prefix(fd, len, ok);
  if (!ok) return false;
  out.fp_len = len;
  out.fp_hash = h;
  return true;
}

bool fingerprint_matches(int fd, const FileIdentity& id) {
  bool ok = false;
  uint64_t h = hash_prefix(fd, id.fp_len, ok);
  return ok && h == id.fp_hash;
}

struct FileFollower::Impl {
  struct Entry {
    std::string path;  // followed path
    FileIdentity id;
    int fd = -1;
    uint64_t offset = 0;     // end of the last line handed over
    uint64_t last_size = 0;  // size at the last fstat
    bool rotated = false;
    bool done = false;
    bool copy = false;            // a copytruncate copy: leave at EOF
    bool successor_seen = false;  // a new file at `path` had data
    Clock::time_point last_growth{};
    Clock::time_point last_active{};
    uint64_t order = 0;
    // An over-long line being skipped: [offset, skip_pos) is discarded.
    bool skipping = false;
    uint64_t skip_pos = 0;
  };

  FollowerOptions opt;
  std::list<Entry> entries;  // stable addresses: entries are added while others are referenced
  uint64_t next_order = 0;
  size_t rr = 0;  // round-robin start among active files
  int ifd = -1;
  std::vector<std::string> watched_dirs;
  std::vector<int> watch_ids;
  bool force_refresh = true;
  Clock::time_point last_refresh{};
  Clock::time_point last_lag{};
  std::vector<FilePosition> pending_restore;
  bool restore_pending = false;
  FollowerCounters ctr;

  mutable std::mutex snap_mu;  // guards the snapshots below
  std::vector<FileLag> lag_snapshot;
  FollowerCounters ctr_snapshot;
  size_t tracked_snapshot = 0;

  explicit Impl(FollowerOptions o) : opt(std::move(o)) {
    opt.chunk_bytes = std::max<size_t>(opt.chunk_bytes, 1);
    opt.max_line_bytes = std::max<size_t>(std::min<size_t>(opt.max_line_bytes, SIZE_MAX / 4), 1);
    opt.max_files = std::max<size_t>(opt.max_files, 1);
    if (opt.use_inotify) ifd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    add_watches();
  }
  ~Impl() {
    for (auto& e : entries)
      if (e.fd >= 0) ::close(e.fd);
    if (ifd >= 0) ::close(ifd);
  }

  void add_watches() {
    if (ifd < 0) return;
    for (const auto& p : opt.patterns) {
      std::string d = dir_of(p);
      if (has_glob_chars(d)) continue;  // polled
      if (std::find(watched_dirs.begin(), watched_dirs.end(), d) != watched_dirs.end()) continue;
      int w = ::inotify_add_watch(ifd, d.c_str(),
                                  IN_MODIFY | IN_CREATE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE | IN_ATTRIB |
                                      IN_CLOSE_WRITE | IN_DELETE_SELF | IN_MOVE_SELF);
      if (w >= 0) {
        watched_dirs.push_back(d);
        watch_ids.push_back(w);
      }
    }
  }

  Entry* find_inode(uint64_t dev, uint64_t ino) {
    for (auto& e : entries)
      if (e.id.dev == dev && e.id.ino == ino) return &e;
    return nullptr;
  }

  bool blocked(const Entry& e) const {
    if (e.rotated) return false;
    for (const auto& o : entries)
      if (&o != &e && o.rotated && !o.done && o.fd >= 0 && o.path == e.path) return true;
    return false;
  }

  // Room for one more entry: forget the least recently active finished one.
  bool make_room() {
    if (entries.size() < opt.max_files) return true;
    auto victim = entries.end();
    for (auto it = entries.begin(); it != entries.end(); ++it)
      if (it->done && (victim == entries.end() || it->last_active < victim->last_active)) victim = it;
    if (victim == entries.end()) return false;
    entries.erase(victim);
    ++ctr.files_forgotten;
    return true;
  }

  Entry* add_entry(Entry e) {
    if (!make_room()) {
      if (e.fd >= 0) ::close(e.fd);
      if (ctr.files_refused++ == 0)
        std::fprintf(stderr, "distillscan: tail: more than %zu files to follow; %s not followed\n", opt.max_files,
                     e.path.c_str());
      return nullptr;
    }
    e.order = next_order++;
    e.last_active = e.last_growth = Clock::now();
    entries.push_back(std::move(e));
    return &entries.back();
  }

  static int open_ro(const std::string& p) { return ::open(p.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW); }

  // Is the file behind `fd` (of `size` bytes) a copy of a tracked file (same
  // first bytes, other inode)? Then it must not be read from its start.
  const Entry* copy_of(int fd, uint64_t size, uint64_t ino) {
    for (const auto& e : entries) {
      if (e.id.ino == ino || e.id.fp_len < 64 || e.id.fp_len > size) continue;
      if (fingerprint_matches(fd, e.id)) return &e;
    }
    return nullptr;
  }

  void discover(const std::string& path, Clock::time_point now) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return;
    Entry* e = find_inode(static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino));
    if (e) {
      // Known. A finished file that grew again is read on from where it was left.
      if (e->done && static_cast<uint64_t>(st.st_size) > e->offset) {
        int fd = open_ro(path);
        if (fd < 0) return;
        if (!fingerprint_matches(fd, e->id)) {  // inode reused by other content: a new file
          ::close(fd);
          e->done = true;
          e->id.ino = 0;  // forget it; found again as new below on the next refresh
          return;
        }
        e->fd = fd;
        e->done = false;
        e->rotated = path != e->path;
        e->copy = false;
        e->successor_seen = false;
        e->last_growth = e->last_active = now;
      }
      return;
    }
    int fd = open_ro(path);
    if (fd < 0) {
      ++ctr.open_errors;
      return;
    }
    Entry n;
    n.path = path;
    n.fd = fd;
    if (!file_identity(fd, n.id)) {
      ::close(fd);
      ++ctr.open_errors;
      return;
    }
    n.last_size = static_cast<uint64_t>(st.st_size);
    // Resume from a checkpoint?
    for (auto it = pending_restore.begin(); it != pending_restore.end(); ++it) {
      if (it->id.dev != n.id.dev || it->id.ino != n.id.ino) continue;
      if (fingerprint_matches(fd, it->id) && n.last_size >= it->offset) {
        n.offset = it->offset;
        n.path = it->path;
        n.rotated = it->path != path;
        n.done = it->done && n.last_size == it->offset;
        if (n.done) {
          ::close(n.fd);
          n.fd = -1;
        }
      }
      pending_restore.erase(it);
      break;
    }
    if (n.offset == 0 && !n.done) {
      if (const Entry* orig = copy_of(fd, n.last_size, n.id.ino)) {
        // A copy of a file we follow (copytruncate with a glob that matches
        // the copy): its lines come from the original. Remember it as read.
        (void)orig;
        ::close(n.fd);
        n.fd = -1;
        n.done = true;
        n.offset = n.last_size;
      }
    }
    if (add_entry(std::move(n)) && entries.back().fd >= 0) ++ctr.files_opened;
  }

  // Checkpointed files not found under the patterns: rotated while we were
  // down. Look for the same inode (and first bytes) in the same directory.
  void restore_rotated() {
    for (const auto& r : pending_restore) {
      if (r.done) {  // remember finished files so a wide glob does not read them again
        Entry n;
        n.path = r.path;
        n.id = r.id;
        n.offset = r.offset;
        n.done = true;
        n.rotated = true;
        add_entry(std::move(n));
        continue;
      }
      bool found = false;
      std::error_code ec;
      for (const auto& de : std::filesystem::directory_iterator(dir_of(r.path), ec)) {
        struct stat st {};
        std::string p = de.path().string();
        if (::stat(p.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
        if (static_cast<uint64_t>(st.st_ino) != r.id.ino || static_cast<uint64_t>(st.st_dev) != r.id.dev) continue;
        if (find_inode(r.id.dev, r.id.ino)) break;
        int fd = open_ro(p);
        if (fd < 0) break;
        if (!fingerprint_matches(fd, r.id) || static_cast<uint64_t>(st.st_size) < r.offset) {
          ::close(fd);
          break;
        }
        Entry n;
        n.path = r.path;
        n.id = r.id;
        n.fd = fd;
        n.offset = r.offset;
        n.last_size = static_cast<uint64_t>(st.st_size);
        n.rotated = true;
        if (add_entry(std::move(n))) ++ctr.files_opened;
        found = true;
        break;
      }
      if (!found) {
        ++ctr.restore_missing;
        std::fprintf(stderr, "distillscan: tail: checkpointed file %s (inode %llu) is gone; %s\n", r.path.c_str(),
                     static_cast<unsigned long long>(r.id.ino),
                     r.done ? "it had been read to its end" : "its unread tail cannot be recovered");
      }
    }
    pending_restore.clear();
  }

  // Truncated (copytruncate) or replaced: recover the unread tail from a
  // copy in the same directory, then read the file again from its start.
  void on_truncated(Entry& e) {
    ++ctr.truncations;
    const FileIdentity old = e.id;
    const uint64_t off = e.offset;
    if (old.fp_len > 0) {
      std::error_code ec;
      for (const auto& de : std::filesystem::directory_iterator(dir_of(e.path), ec)) {
        struct stat st {};
        std::string p = de.path().string();
        if (::stat(p.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
        if (static_cast<uint64_t>(st.st_ino) == old.ino && static_cast<uint64_t>(st.st_dev) == old.dev) continue;
        if (static_cast<uint64_t>(st.st_size) <= off) continue;
        Entry* known = find_inode(static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino));
        if (known && !known->done) continue;
        int fd = open_ro(p);
        if (fd < 0) continue;
        if (!fingerprint_matches(fd, old)) {
          ::close(fd);
          continue;
        }
        ++ctr.recovered_copies;
        if (known) {
          known->fd = fd;
          known->done = false;
          known->offset = off;
          known->rotated = known->copy = true;
          known->path = e.path;
        } else {
          Entry c;
          c.path = e.path;
          c.fd = fd;
          c.offset = off;
          c.rotated = c.copy = true;
          c.last_size = static_cast<uint64_t>(st.st_size);
          if (!file_identity(fd, c.id)) {
            ::close(fd);
            continue;
          }
          add_entry(std::move(c));  // std::list: `e` stays valid
          reset_after_truncate(e);
          return;
        }
        break;
      }
    }
    reset_after_truncate(e);
  }

  void reset_after_truncate(Entry& e) {
    e.offset = 0;
    e.skipping = false;
    file_identity(e.fd, e.id);
    e.last_growth = Clock::now();
  }

  void refresh(Clock::time_point now) {
    last_refresh = now;
    force_refresh = false;
    if (ifd >= 0 && watched_dirs.size() < opt.patterns.size()) add_watches();
    for (const auto& pat : opt.patterns) {
      if (!has_glob_chars(pat)) {
        discover(pat, now);
        continue;
      }
      glob_t g{};
      if (::glob(pat.c_str(), GLOB_NOSORT, nullptr, &g) == 0) {
        // Oldest first, so files that exist at start-up are read in age order.
        std::vector<std::pair<int64_t, std::string>> found;
        for (size_t i = 0; i < g.gl_pathc; ++i) {
          struct stat st {};
          if (::stat(g.gl_pathv[i], &st) == 0)
            found.emplace_back(static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec,
                               g.gl_pathv[i]);
        }
        std::sort(found.begin(), found.end());
        for (const auto& f : found) discover(f.second, now);
      }
      ::globfree(&g);
    }
    if (restore_pending) {
      restore_pending = false;
      restore_rotated();
    }
    // Rotation: the followed path no longer names the open file.
    for (auto& e : entries) {
      if (e.done || e.rotated || e.fd < 0) continue;
      struct stat st {};
      if (::stat(e.path.c_str(), &st) != 0 || static_cast<uint64_t>(st.st_ino) != e.id.ino ||
          static_cast<uint64_t>(st.st_dev) != e.id.dev) {
        e.rotated = true;
        e.last_growth = now;
        ++ctr.rotations;
      }
    }
    // Rotated files learn whether their successor has data.
    for (auto& e : entries) {
      if (!e.rotated || e.done || e.fd < 0) continue;
      for (const auto& o : entries)
        if (&o != &e && !o.rotated && !o.done && o.fd >= 0 && o.path == e.path) {
          struct stat st {};
          if (::fstat(o.fd, &st) == 0 && st.st_size > 0) e.successor_seen = true;
        }
    }
    // Fingerprints: content replaced in place (truncated and regrown past
    // our offset) is a truncation; a small file's fingerprint grows.
    for (auto& e : entries) {
      if (e.done || e.fd < 0) continue;
      if (!fingerprint_matches(e.fd, e.id)) {
        on_truncated(e);  // may append to `entries` (a list: iteration stays valid)
        continue;
      }
      if (e.id.fp_len < kFingerprintBytes) {
        FileIdentity id;
        if (file_identity(e.fd, id) && id.fp_len > e.id.fp_len) e.id = id;
      }
    }
    update_snapshots(now);
  }

  void update_snapshots(Clock::time_point now) {
    last_lag = now;
    std::vector<FileLag> lag;
    for (const auto& e : entries) {
      if (e.done || e.fd < 0) continue;
      struct stat st {};
      uint64_t size = ::fstat(e.fd, &st) == 0 ? static_cast<uint64_t>(st.st_size) : e.last_size;
      lag.push_back({e.path + (e.rotated ? " (rotated)" : ""), size > e.offset ? size - e.offset : 0});
    }
    std::lock_guard lk(snap_mu);
    lag_snapshot = std::move(lag);
    ctr_snapshot = ctr;
    tracked_snapshot = entries.size();
  }

  bool fill_chunk(Chunk& out, const Entry& e, uint64_t from, size_t n, uint64_t skipped_lines,
                  uint64_t skipped_bytes, bool last) {
    out.buf.resize(0);
    out.buf.reserve(std::max<size_t>(n, 1));
    size_t got = 0;
    while (got < n) {
      ssize_t r = ::pread(e.fd, out.buf.data() + got, n - got, static_cast<off_t>(from + got));
      if (r <= 0) break;
      got += static_cast<size_t>(r);
    }
    out.buf.resize(got);
    out.buf.pad();
    out.seq = 0;
    out.source_index = static_cast<uint32_t>(e.order);
    out.source_offset = from;
    out.skipped_long_lines = skipped_lines;
    out.skipped_bytes = skipped_bytes;
    out.last_of_source = last;
    return got == n;
  }

  static size_t content_len(const char* p, size_t n) { return n > 0 && p[n - 1] == '\r' ? n - 1 : n; }

  // Hands over complete lines of `e` (or finishes it). Returns true with a chunk in `out`.
  bool read_entry(Entry& e, Chunk& out, Clock::time_point now) {
    struct stat st {};
    if (::fstat(e.fd, &st) != 0) return false;
    const uint64_t size = static_cast<uint64_t>(st.st_size);
    if (size != e.last_size) {
      e.last_growth = now;
      e.last_size = size;
    }
    if (size < e.offset) {
      on_truncated(e);
      return false;  // the caller loops; the recovered copy (if any) comes first
    }
    if (e.skipping) {  // discard the over-long line up to its '\n'
      char buf[65536];
      while (e.skip_pos < size) {
        size_t want = static_cast<size_t>(std::min<uint64_t>(sizeof buf, size - e.skip_pos));
        ssize_t r = ::pread(e.fd, buf, want, static_cast<off_t>(e.skip_pos));
        if (r <= 0) return false;
        const void* nl = std::memchr(buf, '\n', static_cast<size_t>(r));
        if (nl) {
          uint64_t end = e.skip_pos + static_cast<uint64_t>(static_cast<const char*>(nl) - buf) + 1;
          fill_chunk(out, e, end, 0, 1, end - e.offset, false);
          e.offset = end;
          e.skipping = false;
          e.last_active = now;
          return true;
        }
        e.skip_pos += static_cast<uint64_t>(r);
      }
      return finish_if_rotated(e, out, size, now, /*skipping=*/true);
    }
    if (size > e.offset) {
      const uint64_t avail = size - e.offset;
      size_t n = static_cast<size_t>(std::min<uint64_t>(avail, opt.chunk_bytes));
      fill_chunk(out, e, e.offset, n, 0, 0, false);
      n = out.buf.size();
      const char* p = out.buf.data();
      const void* nl = n ? memrchr(p, '\n', n) : nullptr;
      if (!nl && avail > n && n < opt.max_line_bytes + 2) {
        // One line longer than a chunk: read on, up to the limit.
        n = static_cast<size_t>(std::min<uint64_t>(avail, opt.max_line_bytes + 2));
        fill_chunk(out, e, e.offset, n, 0, 0, false);
        n = out.buf.size();
        p = out.buf.data();
        nl = n ? std::memchr(p, '\n', n) : nullptr;
      }
      if (!fingerprint_matches(e.fd, e.id)) {  // replaced while we read: do not hand garbage over
        on_truncated(e);
        return false;
      }
      if (nl) {
        size_t cut = static_cast<size_t>(static_cast<const char*>(nl) - p) + 1;
        // Over-long lines inside the chunk (only when chunk_bytes > max_line_bytes).
        if (cut > opt.max_line_bytes + 1) {
          size_t ls = 0;
          for (;;) {
            const void* q = std::memchr(p + ls, '\n', cut - ls);
            size_t le = static_cast<size_t>(static_cast<const char*>(q) - p);
            if (content_len(p + ls, le - ls) > opt.max_line_bytes) {
              if (ls > 0) {
                cut = ls;
              } else {  // the first line is over-long: skip it alone
                fill_chunk(out, e, e.offset + le + 1, 0, 1, le + 1, false);
                e.offset += le + 1;
                e.last_active = now;
                return true;
              }
              break;
            }
            ls = le + 1;
            if (ls >= cut) break;
          }
        }
        out.buf.resize(cut);
        out.buf.pad();
        e.offset += cut;
        e.last_active = now;
        return true;
      }
      if (n >= opt.max_line_bytes + 2 ||
          (n > 0 && content_len(p, n) > opt.max_line_bytes && n == avail && e.rotated)) {
        // A partial line already beyond the limit: skip it whole.
        e.skipping = true;
        e.skip_pos = e.offset + n;
        return read_entry(e, out, now);
      }
    }
    return finish_if_rotated(e, out, size, now, false);
  }

  // A rotated file with no complete line left: leave it when it is done.
  bool finish_if_rotated(Entry& e, Chunk& out, uint64_t size, Clock::time_point now, bool skipping) {
    if (!e.rotated) return false;
    if (!(e.copy || e.successor_seen || now - e.last_growth >= opt.rotate_wait)) return false;
    bool delivered = false;
    if (skipping) {  // ended inside an over-long line: it is a line, skipped
      fill_chunk(out, e, size, 0, 1, size - e.offset, true);
      delivered = true;
    } else if (size > e.offset) {  // the final line without '\n'
      fill_chunk(out, e, e.offset, static_cast<size_t>(size - e.offset), 0, 0, true);
      delivered = true;
    }
    e.offset = size;
    e.skipping = false;
    ::close(e.fd);
    e.fd = -1;
    e.done = true;
    e.last_active = now;
    return delivered;
  }

  bool read_some(Chunk& out, Clock::time_point now) {
    // Rotated files first (oldest first), then the live ones round-robin.
    std::vector<Entry*> rot, live;
    for (auto& e : entries) {
      if (e.done || e.fd < 0) continue;
      (e.rotated ? rot : live).push_back(&e);
    }
    std::sort(rot.begin(), rot.end(), [](const Entry* a, const Entry* b) { return a->order < b->order; });
    for (Entry* e : rot)
      if (read_entry(*e, out, now)) return true;
    const size_t n = live.size();
    for (size_t k = 0; k < n; ++k) {
      size_t i = (rr + k) % n;
      Entry& e = *live[i];
      if (e.done || e.fd < 0 || e.rotated || blocked(e)) continue;
      if (read_entry(e, out, now)) {
        rr = i + 1;
        return true;
      }
    }
    return false;
  }

  void wait(std::chrono::milliseconds ms) {
    if (ms.count() <= 0) return;
    if (ifd < 0) {
      ::poll(nullptr, 0, static_cast<int>(ms.count()));
      return;
    }
    struct pollfd pfd {ifd, POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(ms.count())) > 0) drain_events();
  }

  void drain_events() {
    alignas(struct inotify_event) char buf[8192];
    for (;;) {
      ssize_t n = ::read(ifd, buf, sizeof buf);
      if (n <= 0) return;
      for (char* p = buf; p < buf + n;) {
        auto* ev = reinterpret_cast<struct inotify_event*>(p);
        if (ev->mask & (IN_CREATE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE | IN_ATTRIB | IN_DELETE_SELF |
                        IN_MOVE_SELF | IN_IGNORED | IN_Q_OVERFLOW))
          force_refresh = true;
        if (ev->mask & IN_IGNORED) {  // the directory went away: watch again when it returns
          for (size_t i = 0; i < watch_ids.size(); ++i)
            if (watch_ids[i] == ev->wd) {
              watch_ids.erase(watch_ids.begin() + static_cast<std::ptrdiff_t>(i));
              watched_dirs.erase(watched_dirs.begin() + static_cast<std::ptrdiff_t>(i));
              break;
            }
        }
        p += sizeof(struct inotify_event) + ev->len;
      }
    }
  }

  Produce next(Chunk& out) {
    const auto deadline = Clock::now() + opt.idle_return;
    for (;;) {
      auto now = Clock::now();
      if (force_refresh || now - last_refresh >= opt.poll_interval) refresh(now);
      if (read_some(out, now)) {
        if (now - last_lag >= std::chrono::milliseconds(100)) update_snapshots(now);
        return Produce::chunk;
      }
      now = Clock::now();
      if (now >= deadline) {
        update_snapshots(now);
        return Produce::idle;
      }
      auto until_refresh = last_refresh + opt.poll_interval - now;
      auto left = std::min<Clock::duration>(deadline - now, until_refresh);
      wait(std::max<std::chrono::milliseconds>(std::chrono::duration_cast<std::chrono::milliseconds>(left),
                                               std::chrono::milliseconds(1)));
    }
  }
};

FileFollower::FileFollower(FollowerOptions opt) : impl_(std::make_unique<Impl>(std::move(opt))) {}
FileFollower::~FileFollower() = default;

void FileFollower::restore(const std::vector<FilePosition>& positions) {
  impl_->pending_restore = positions;
  impl_->restore_pending = true;
  impl_->force_refresh = true;
}

Produce FileFollower::next(Chunk& out) { return impl_->next(out); }

std::vector<FilePosition> FileFollower::checkpoint() const {
  std::vector<FilePosition> v;
  for (const auto& e : impl_->entries) {
    if (e.id.ino == 0 && e.done) continue;
    v.push_back({e.path, e.id, e.offset, e.rotated, e.done});
  }
  // Positions restored but not yet matched (the first refresh has not run): keep them.
  for (const auto& r : impl_->pending_restore) v.push_back(r);
  return v;
}

std::vector<FileLag> FileFollower::lag() const {
  std::lock_guard lk(impl_->snap_mu);
  return impl_->lag_snapshot;
}

FollowerCounters FileFollower::counters() const {
  std::lock_guard lk(impl_->snap_mu);
  return impl_->ctr_snapshot;
}

size_t FileFollower::tracked() const {
  std::lock_guard lk(impl_->snap_mu);
  return impl_->tracked_snapshot;
}

bool FileFollower::inotify_active() const { return impl_->ifd >= 0; }

}  // namespace ds

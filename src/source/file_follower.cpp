// FileFollower: see file_follower.hpp for the behaviour. Implementation notes:
// - Reads with pread() from the handed-over offset; a partial last line is
//   simply read again next time (no carry buffer), so the position a
//   checkpoint stores is always the end of a complete line.
// - After every read the fingerprint is verified, so a copytruncate whose
//   file has regrown past our offset is still noticed before garbage is
//   handed over.
// - Each entry keeps its first bytes (`head`, up to 256): copies are told by
//   comparing first bytes, also while a copy is still shorter than 256 bytes
//   (a proper prefix of a followed file is not read until it tells).
// - A new file (glob match) is `unconfirmed` until its first read, where it
//   is classified: a copy of a truncated file ("awaiting copy": finished
//   from the old offset), a copy of a followed or finished file (remembered
//   as read, never resumed), maybe a copy still being written (waits, at
//   most rotate_wait), or a new file.
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
#include <deque>
#include <list>
#include <unordered_map>
#include <unordered_set>

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
    std::string path;  // followed path (for a copy: its own path)
    FileIdentity id;
    std::string head;  // the first id.fp_len bytes, when known (not for restored finished files)
    int fd = -1;
    uint64_t offset = 0;     // end of the last line handed over
    uint64_t last_size = 0;  // size at the last fstat
    bool rotated = false;
    // Taken over from a checkpoint (or a copy found for one): when it was
    // renamed away or copied is unknown, so only its modification time can
    // place it among the other files with unread lines (read_some).
    bool restored = false;
    bool done = false;
    // A copytruncate copy. Open: being finished from the original's offset
    // (left at EOF). Done: its lines came from the original (never resumed).
    bool copy = false;
    bool confirmed = true;      // false: new, nothing handed over, not yet checked for being a copy
    bool force_finish = false;  // too many rotated files draining: leave at EOF
    int64_t seen_ctime = 0;     // finished files: stat at the last check (0 = unknown)
    uint64_t seen_size = 0;
    Clock::time_point last_growth{};
    Clock::time_point last_active{};
    uint64_t order = 0;
    int64_t mtime_ns = 0;  // at the last fstat: which pending file to read first
    // An over-long line being skipped: [offset, skip_pos) is discarded.
    bool skipping = false;
    uint64_t skip_pos = 0;
  };
  // A truncated file whose copy was not found (yet): a copy appearing later
  // is finished from `offset`.
  struct Awaiting {
    std::string dir;
    FileIdentity id;
    std::string head;
    uint64_t offset = 0;
  };
  static constexpr size_t kMaxAwaiting = 16;
  // A finished file dropped beyond max_files: not read again unless it grows.
  struct Forgotten {
    FileIdentity id;
    uint64_t offset = 0;
    bool copy = false;
    int64_t ctime = 0;
    uint64_t size = 0;
  };
  struct InodeHash {
    size_t operator()(const std::pair<uint64_t, uint64_t>& k) const noexcept {
      return std::hash<uint64_t>()(k.first * 0x9E3779B97F4A7C15ull ^ k.second);
    }
  };
  using InodeKey = std::pair<uint64_t, uint64_t>;

  FollowerOptions opt;
  std::list<Entry> entries;  // stable addresses: entries are added while others are referenced
  uint64_t next_order = 0;
  std::vector<Entry*> order_buf;  // read_some's scratch
  int ifd = -1;
  std::vector<std::string> watched_dirs;
  std::vector<int> watch_ids;
  bool force_refresh = true;
  Clock::time_point last_refresh{};
  Clock::time_point last_lag{};
  std::vector<FilePosition> pending_restore;
  bool restore_pending = false;
  std::deque<Awaiting> awaiting;
  std::unordered_map<InodeKey, Forgotten, InodeHash> forgotten;
  std::deque<InodeKey> forgotten_order;
  size_t forgotten_cap = 0;
  std::unordered_set<InodeKey, InodeHash> refused;
  // A followed path (not a glob) renamed by a watched directory's
  // IN_MOVED_FROM, waiting for its IN_MOVED_TO (same cookie); and the new
  // names of such renames, looked at by the next refresh. A file that lived
  // at the path only between two refreshes (a writer recreated the path
  // after a rotation, then logrotate's `create` moved it aside to
  // `<name>-<date>.backup`) is found under its new name and read.
  struct MovedFrom {
    uint32_t cookie = 0;
    std::string followed;
  };
  struct RenamedAway {
    std::string now_at;
    std::string followed;
  };
  static constexpr size_t kMaxMoves = 64;
  std::deque<MovedFrom> moved_from;
  std::deque<RenamedAway> renamed_away;
  FollowerCounters ctr;

  mutable std::mutex snap_mu;  // guards the snapshots below
  std::vector<FileLag> lag_snapshot;
  FollowerCounters ctr_snapshot;
  size_t tracked_snapshot = 0;

  explicit Impl(FollowerOptions o) : opt(std::move(o)) {
    opt.chunk_bytes = std::max<size_t>(opt.chunk_bytes, 1);
    opt.max_line_bytes = std::max<size_t>(std::min<size_t>(opt.max_line_bytes, SIZE_MAX / 4), 1);
    opt.max_files = std::max<size_t>(opt.max_files, 1);
    forgotten_cap = std::max<size_t>(256, 4 * opt.max_files);
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

  // Room for one more entry: forget the least recently active finished one
  // (its identity and final offset are remembered in `forgotten`).
  bool make_room() {
    if (entries.size() < opt.max_files) return true;
    auto victim = entries.end();
    for (auto it = entries.begin(); it != entries.end(); ++it)
      if (it->done && (victim == entries.end() || it->last_active < victim->last_active)) victim = it;
    if (victim == entries.end()) return false;
    if (victim->id.ino != 0) remember_forgotten(*victim);
    entries.erase(victim);
    ++ctr.files_forgotten;
    return true;
  }

  void remember_forgotten(const Entry& e) {
    InodeKey k{e.id.dev, e.id.ino};
    if (forgotten.find(k) == forgotten.end()) {
      forgotten_order.push_back(k);
      while (forgotten_order.size() > forgotten_cap) {
        forgotten.erase(forgotten_order.front());
        forgotten_order.pop_front();
      }
    }
    forgotten[k] = Forgotten{e.id, e.offset, e.copy, e.seen_ctime, e.seen_size};
  }

  void drop_forgotten(const InodeKey& k) {
    if (forgotten.erase(k) == 0) return;
    auto it = std::find(forgotten_order.begin(), forgotten_order.end(), k);
    if (it != forgotten_order.end()) forgotten_order.erase(it);
  }

  Entry* add_entry(Entry e) {
    if (!make_room()) {
      if (e.fd >= 0) ::close(e.fd);
      InodeKey k{e.id.dev, e.id.ino};
      if (refused.size() >= 65536) refused.clear();  // bounded (a file may then be counted again)
      if (refused.insert(k).second && ctr.files_refused++ == 0)
        std::fprintf(stderr, "distillscan: tail: more than %zu files to follow; %s not followed\n", opt.max_files,
                     e.path.c_str());
      return nullptr;
    }
    refused.erase({e.id.dev, e.id.ino});
    e.order = next_order++;
    e.last_active = e.last_growth = Clock::now();
    entries.push_back(std::move(e));
    return &entries.back();
  }

  static int open_ro(const std::string& p) { return ::open(p.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW); }

  static int64_t mtime_of(const struct stat& st) {
    return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  }
  static int64_t ctime_of(const struct stat& st) {
    return static_cast<int64_t>(st.st_ctim.tv_sec) * 1000000000 + st.st_ctim.tv_nsec;
  }

  // Reads the first min(size, kFingerprintBytes) bytes of `fd` into `head`.
  static bool read_head(int fd, std::string& head) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) return false;
    size_t n = static_cast<size_t>(std::min<uint64_t>(static_cast<uint64_t>(st.st_size), kFingerprintBytes));
    head.resize(n);
    size_t got = 0;
    while (got < n) {
      ssize_t r = ::pread(fd, head.data() + got, n - got, static_cast<off_t>(got));
      if (r <= 0) break;
      got += static_cast<size_t>(r);
    }
    head.resize(got);
    return true;
  }

  // Identity (dev, inode, fingerprint) and first bytes of an entry's open file.
  static bool load_head(Entry& e) {
    struct stat st {};
    if (::fstat(e.fd, &st) != 0 || !read_head(e.fd, e.head)) return false;
    e.id.dev = static_cast<uint64_t>(st.st_dev);
    e.id.ino = static_cast<uint64_t>(st.st_ino);
    set_fingerprint(e);
    e.mtime_ns = mtime_of(st);
    return true;
  }

  // The fingerprint of the first bytes now in e.head.
  static void set_fingerprint(Entry& e) {
    e.id.fp_len = static_cast<uint32_t>(e.head.size());
    e.id.fp_hash = e.head.empty() ? 0 : hash_bytes(e.head.data(), e.head.size());
  }

  // Does a file starting with `h` (its first min(size, 256) bytes) start
  // with the bytes identified by (`id`, `ohead`)? 2: yes; 1: `h` is shorter
  // and a prefix of them (a copy being written?); 0: no.
  static int prefix_match(const std::string& h, const FileIdentity& id, const std::string& ohead) {
    if (id.fp_len == 0 || h.empty()) return 0;
    if (!ohead.empty()) {
      if (h.size() >= ohead.size()) return std::memcmp(h.data(), ohead.data(), ohead.size()) == 0 ? 2 : 0;
      return std::memcmp(h.data(), ohead.data(), h.size()) == 0 ? 1 : 0;
    }
    if (h.size() < id.fp_len) return 0;  // only the hash is known: cannot tell yet
    return hash_bytes(h.data(), id.fp_len) == id.fp_hash ? 2 : 0;
  }

  static std::string base_of(const std::string& p) {
    auto pos = p.rfind('/');
    return pos == std::string::npos ? p : p.substr(pos + 1);
  }

  // A short fingerprint (a file under 64 bytes) identifies a copy only when
  // the name says so too (app.jsonl -> app.jsonl.1, app.jsonl-20261128).
  static bool plausible_copy(const Entry& orig, const std::string& copy_path) {
    if (orig.id.fp_len >= 64) return true;
    if (dir_of(orig.path) != dir_of(copy_path)) return false;
    std::string a = base_of(orig.path), b = base_of(copy_path);
    return b.size() > a.size() && b.compare(0, a.size(), a) == 0;
  }

  // A new file's first read: is it a copy of a followed (or truncated) file?
  // Returns false when it must not be read (yet).
  bool classify(Entry& n, Clock::time_point now) {
    if (!load_head(n)) return false;
    if (n.head.empty()) return false;  // empty: nothing to tell, nothing to read
    const std::string dir = dir_of(n.path);
    // A file shorter than the known first bytes of another and a prefix of
    // them is a copy still being written -- or, once it has not grown for
    // rotate_wait, a whole copy of that file when it was shorter (a file
    // under kFingerprintBytes copied, then written to and read before its
    // truncation). Either way its lines came from the other file.
    const bool settled = now - n.last_growth >= opt.rotate_wait;
    bool maybe = false;
    for (auto it = awaiting.begin(); it != awaiting.end(); ++it) {
      if (it->dir != dir || it->id.ino == n.id.ino) continue;
      int m = prefix_match(n.head, it->id, it->head);
      if (m == 1 && settled) m = 2;
      if (m == 1) maybe = true;
      if (m != 2) continue;
      // The copy of a file truncated earlier: finish it from the old offset.
      ++ctr.recovered_copies;
      const uint64_t off = it->offset;
      awaiting.erase(it);
      n.copy = n.rotated = true;
      n.confirmed = true;
      if (n.last_size <= off) {
        n.offset = n.last_size;
        close_done(n, now);
        return false;
      }
      n.offset = off;
      return true;
    }
    for (const auto& e : entries) {
      if (&e == &n || (e.id.dev == n.id.dev && e.id.ino == n.id.ino) || !e.confirmed || e.id.fp_len == 0) continue;
      if (!plausible_copy(e, n.path)) continue;
      int m = prefix_match(n.head, e.id, e.head);
      if (m == 1 && settled) m = 2;
      if (m == 1 && !e.done) maybe = true;
      if (m != 2) continue;
      // A copy of a followed file (its original not yet seen truncated) or of a
      // finished one: its lines come from the original. Remember it as such.
      n.copy = true;
      n.offset = 0;
      close_done(n, now);
      return false;
    }
    if (maybe) return false;  // a copy still being written?
    n.confirmed = true;
    return true;
  }

  void close_done(Entry& e, Clock::time_point now) {
    struct stat st {};
    if (e.fd >= 0 && ::fstat(e.fd, &st) == 0) {
      e.seen_ctime = ctime_of(st);
      e.seen_size = static_cast<uint64_t>(st.st_size);
    }
    if (e.fd >= 0) ::close(e.fd);
    e.fd = -1;
    e.done = true;
    e.skipping = false;
    e.force_finish = false;
    e.last_active = now;
  }

  // Inode `key` shows up at `path` while we remember it as finished: the same
  // file (read on if it grew) or a reused inode (a new file)? Returns true
  // when it is handled; false when it is a new file.
  bool recheck_finished(Entry& e, const std::string& path, const struct stat& st, Clock::time_point now) {
    if (e.seen_ctime == ctime_of(st) && e.seen_size == static_cast<uint64_t>(st.st_size)) return true;
    int fd = open_ro(path);
    if (fd < 0) return true;
    if (!fingerprint_matches(fd, e.id)) {  // inode reused by other content: forget the old file
      ::close(fd);
      return false;
    }
    e.seen_ctime = ctime_of(st);
    e.seen_size = static_cast<uint64_t>(st.st_size);
    if (e.copy || static_cast<uint64_t>(st.st_size) <= e.offset) {
      ::close(fd);
      return true;
    }
    // A finished file that grew again is read on from where it was left.
    e.fd = fd;
    e.done = false;
    e.rotated = path != e.path;
    e.confirmed = true;
    e.last_growth = e.last_active = now;
    if (e.head.empty() || e.head.size() < e.id.fp_len) load_head(e);
    return true;
  }

  // Opens `path` (stat'ed as `st`) into `n`: descriptor, identity, first
  // bytes, size. A failure is counted and leaves `n` without a descriptor.
  bool open_into(Entry& n, const std::string& path, const struct stat& st) {
    const int fd = open_ro(path);
    if (fd < 0) {
      ++ctr.open_errors;
      return false;
    }
    n.fd = fd;
    if (!load_head(n)) {
      ::close(fd);
      n.fd = -1;
      ++ctr.open_errors;
      return false;
    }
    n.last_size = static_cast<uint64_t>(st.st_size);
    return true;
  }

  void erase_entry(const Entry* e) {
    for (auto it = entries.begin(); it != entries.end(); ++it)
      if (&*it == e) {
        entries.erase(it);
        return;
      }
  }

  void discover(const std::string& path, Clock::time_point now) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return;
    const InodeKey key{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino)};
    if (Entry* e = find_inode(key.first, key.second)) {
      if (!e->done) return;
      if (recheck_finished(*e, path, st, now)) return;
      erase_entry(e);
    }
    Entry n;
    n.path = path;
    if (auto f = forgotten.find(key); f != forgotten.end()) {
      Forgotten& g = f->second;
      if (g.ctime == ctime_of(st) && g.size == static_cast<uint64_t>(st.st_size)) return;  // unchanged
      int fd = open_ro(path);
      if (fd < 0) return;
      if (fingerprint_matches(fd, g.id)) {
        g.ctime = ctime_of(st);
        g.size = static_cast<uint64_t>(st.st_size);
        if (g.copy || g.size <= g.offset) {
          ::close(fd);
          return;
        }
        // It grew: follow it again from where it was left.
        n.id = g.id;
        n.offset = g.offset;
        n.rotated = true;
        n.fd = fd;
        load_head(n);
        n.last_size = g.size;
        drop_forgotten(key);
        if (add_entry(std::move(n))) ++ctr.files_opened;
        return;
      }
      ::close(fd);
      drop_forgotten(key);  // inode reused: a new file
    }
    if (!open_into(n, path, st)) return;
    const int fd = n.fd;
    n.confirmed = false;
    // Resume from a checkpoint?
    for (auto it = pending_restore.begin(); it != pending_restore.end(); ++it) {
      if (it->id.dev != n.id.dev || it->id.ino != n.id.ino) continue;
      const FilePosition r = *it;
      pending_restore.erase(it);
      n.restored = true;
      const bool same = fingerprint_matches(fd, r.id);
      if (same && (r.done || n.last_size >= r.offset)) {
        n.offset = r.offset;
        n.path = r.path;
        n.rotated = r.rotated || r.path != path;
        n.copy = r.copy;
        n.confirmed = r.offset > 0 || r.done || r.copy;
        if (r.done && (r.copy || n.last_size <= r.offset)) {
          close_done(n, now);
        } else if (r.done) {
          n.done = false;  // grew after it was finished: read on
        }
      } else if (!r.done && r.id.fp_len > 0) {
        // Truncated (copytruncate) while we were down: finish the copy from the
        // checkpointed offset, then read this file from its start.
        // Followed under its checkpointed path, like a resumed file: renamed
        // away since, it is a rotated file (read_some: before that path's new
        // file when their modification times are equal).
        n.path = r.path;
        n.rotated = r.path != path;
        recover_restored_truncation(r, path, n.id, now);
        n.confirmed = true;
      }
      // else: inode reused by another file since it was finished: a new file.
      break;
    }
    if (add_entry(std::move(n)) && entries.back().fd >= 0) ++ctr.files_opened;
  }

  // A checkpointed file found truncated (copytruncate) while we were down,
  // now at `path` with identity `self`: its unread tail is finished from the
  // copy at the checkpointed offset; the caller reads the file from 0.
  void recover_restored_truncation(const FilePosition& r, const std::string& path, const FileIdentity& self,
                                   Clock::time_point now) {
    ++ctr.truncations;
    bool found = recover_copy(dir_of(path), r.id, std::string(), r.offset, self, now, /*restoring=*/true);
    std::fprintf(stderr, "distillscan: tail: %s was truncated while distillscan was stopped; %s\n", path.c_str(),
                 found ? "its unread tail is read from the copy"
                       : "looking for its copy (its unread tail is lost if none appears)");
  }

  // Checkpointed files not found under the patterns: rotated while we were
  // down. Look for the same inode (and first bytes) in the same directory.
  void restore_rotated(Clock::time_point now) {
    std::vector<FilePosition> todo;
    todo.swap(pending_restore);
    for (const auto& r : todo) {
      if (find_inode(r.id.dev, r.id.ino)) continue;
      if (r.done) {  // remember finished files so a wide glob does not read them again
        Entry n;
        n.path = r.path;
        n.id = r.id;
        n.offset = r.offset;
        n.done = true;
        n.rotated = true;
        n.copy = r.copy;
        add_entry(std::move(n));
        continue;
      }
      bool found = false;
      std::error_code ec;
      std::filesystem::directory_iterator it(dir_of(r.path), ec), end;
      for (; !ec && it != end; it.increment(ec)) {
        struct stat st {};
        std::string p = it->path().string();
        if (::stat(p.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
        if (static_cast<uint64_t>(st.st_ino) != r.id.ino || static_cast<uint64_t>(st.st_dev) != r.id.dev) continue;
        int fd = open_ro(p);
        if (fd < 0) break;
        Entry n;
        n.path = r.path;
        n.fd = fd;
        load_head(n);
        n.last_size = static_cast<uint64_t>(st.st_size);
        n.rotated = true;
        n.restored = true;
        n.copy = r.copy;
        if (fingerprint_matches(fd, r.id) && n.last_size >= r.offset) {
          n.offset = r.offset;
        } else {
          // Truncated (copytruncate) and renamed away while we were down, to a
          // name the patterns do not match: as in discover().
          recover_restored_truncation(r, p, n.id, now);
          n.offset = 0;
        }
        if (add_entry(std::move(n))) ++ctr.files_opened;
        found = true;
        break;
      }
      if (!found) {
        ++ctr.restore_missing;
        std::fprintf(stderr, "distillscan: tail: checkpointed file %s (inode %llu) is gone; %s\n", r.path.c_str(),
                     static_cast<unsigned long long>(r.id.ino), "its unread tail cannot be recovered");
      }
    }
  }

  // A file renamed away from a followed path that we never opened (it was
  // there only between two refreshes): everything in it was written to the
  // followed path, so it is read from 0 as a rotated file. An open file's
  // inode is the ordinary rotation (the refresh notices it); a finished or
  // forgotten file is not read again (a finished one that grew is read on).
  void discover_renamed(const RenamedAway& r, Clock::time_point now) {
    struct stat st {};
    if (::stat(r.now_at.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return;  // gone again: nothing to read
    const InodeKey key{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino)};
    // A known inode is the ordinary rotation (open) or a finished file --
    // unless the inode was freed and reused (ext4 hands a freed inode out
    // again at once: logrotate deletes the oldest rotated file, the writer
    // recreates the path): other first bytes mean a new file, as in discover().
    if (Entry* e = find_inode(key.first, key.second)) {
      if (!e->done || recheck_finished(*e, r.now_at, st, now)) return;
      erase_entry(e);
    }
    if (auto f = forgotten.find(key); f != forgotten.end()) {
      const int fd = open_ro(r.now_at);
      const bool same = fd >= 0 && fingerprint_matches(fd, f->second.id);
      if (fd >= 0) ::close(fd);
      if (same) return;  // the forgotten file itself: not read again
      drop_forgotten(key);
    }
    Entry n;
    n.path = r.followed;
    if (!open_into(n, r.now_at, st)) return;
    n.rotated = true;
    n.confirmed = true;  // renamed from the followed path: never a copytruncate copy
    if (Entry* e = add_entry(std::move(n))) {
      e->last_growth = now;
      ++ctr.files_opened;
      ++ctr.rotations;
    }
  }

  // The copy of a truncated file (identified by `old`/`old_head`, read up to
  // `off`) in `dir`: finish it from `off`. Not found: remember the identity,
  // so a copy appearing later is recognised. `self` is the truncated file.
  bool recover_copy(const std::string& dir, const FileIdentity& old, const std::string& old_head, uint64_t off,
                    const FileIdentity& self, Clock::time_point now, bool restoring = false) {
    if (old.fp_len == 0) return false;
    // 1. A copy already known (seen before the truncation was noticed).
    for (auto& c : entries) {
      if (!c.copy || !c.done || c.fd >= 0 || (c.id.dev == self.dev && c.id.ino == self.ino)) continue;
      if (dir_of(c.path) != dir || prefix_match(c.head, old, old_head) != 2) continue;
      struct stat st {};
      if (::stat(c.path.c_str(), &st) != 0 || static_cast<uint64_t>(st.st_ino) != c.id.ino) continue;
      ++ctr.recovered_copies;
      if (static_cast<uint64_t>(st.st_size) <= off) return true;  // everything in it was read already
      int fd = open_ro(c.path);
      if (fd < 0) return false;
      c.fd = fd;
      c.mtime_ns = mtime_of(st);
      c.done = false;
      c.offset = off;
      c.rotated = c.confirmed = true;
      c.restored = restoring;
      c.last_size = static_cast<uint64_t>(st.st_size);
      c.last_growth = c.last_active = now;
      return true;
    }
    // 2. A file in the directory starting with the same bytes.
    std::error_code ec;
    std::filesystem::directory_iterator it(dir, ec), end;
    std::string h;
    for (; !ec && it != end; it.increment(ec)) {
      struct stat st {};
      std::string p = it->path().string();
      if (::stat(p.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
      const uint64_t dev = static_cast<uint64_t>(st.st_dev), ino = static_cast<uint64_t>(st.st_ino);
      if ((ino == old.ino && dev == old.dev) || (ino == self.ino && dev == self.dev)) continue;
      Entry* known = find_inode(dev, ino);
      if (known && known->confirmed) continue;  // followed already (or finished)
      int fd = open_ro(p);
      if (fd < 0) continue;
      if (!read_head(fd, h) || prefix_match(h, old, old_head) != 2) {
        ::close(fd);
        continue;
      }
      ++ctr.recovered_copies;
      const uint64_t size = static_cast<uint64_t>(st.st_size);
      Entry* c = known;
      if (c) {  // found by a glob, not yet read
        if (c->fd >= 0) ::close(c->fd);
        c->fd = fd;
      } else {
        Entry n;
        n.path = p;
        n.fd = fd;
        load_head(n);
        c = add_entry(std::move(n));  // std::list: references to other entries stay valid
        if (!c) return true;
      }
      c->copy = c->rotated = c->confirmed = true;
      c->restored = restoring;
      c->mtime_ns = mtime_of(st);
      c->last_size = size;
      c->offset = std::min(off, size);
      c->last_growth = c->last_active = now;
      if (size <= off) close_done(*c, now);
      return true;
    }
    awaiting.push_back({dir, old, old_head, off});
    while (awaiting.size() > kMaxAwaiting) awaiting.pop_front();
    return false;
  }

  // Truncated (copytruncate) or replaced: recover the unread tail from a
  // copy in the same directory, then read the file again from its start.
  void on_truncated(Entry& e, Clock::time_point now) {
    ++ctr.truncations;
    const FileIdentity old = e.id;
    const std::string old_head = e.head;
    const uint64_t off = e.offset;
    reset_after_truncate(e);
    recover_copy(dir_of(e.path), old, old_head, off, e.id, now);
  }

  // A file's known first bytes (its fingerprint) grow with it up to
  // kFingerprintBytes, before any line beyond them is handed over: when a
  // truncation is noticed, the copy is looked for by the bytes that were
  // read. (A truncation noticed while the file was empty leaves an empty
  // fingerprint; lines read after it and copied by the next copytruncate
  // would otherwise not be tied to that copy, which was then read again.)
  // Returns false when the file no longer starts with the known bytes.
  // `size` below the offset is a truncation the caller sees: the bytes are
  // left as they were, for finding its copy.
  bool grow_head(Entry& e, uint64_t size) {
    const bool short_head = e.id.fp_len < kFingerprintBytes || e.head.size() != e.id.fp_len;
    if (!short_head || size < e.offset || (size <= e.id.fp_len && e.head.size() == e.id.fp_len)) return true;
    // One read, checked against the known bytes (a check, then a second read,
    // would leave a window for a truncate and refill in between).
    std::string h;
    if (!read_head(e.fd, h)) return true;  // cannot read it now: unchanged
    if (h.size() < e.id.fp_len || (e.id.fp_len > 0 && hash_bytes(h.data(), e.id.fp_len) != e.id.fp_hash))
      return false;
    e.head = std::move(h);
    set_fingerprint(e);
    return true;
  }

  void reset_after_truncate(Entry& e) {
    e.offset = 0;
    e.skipping = false;
    if (!load_head(e)) {  // cannot read it now: an empty identity, refreshed when it can be read
      e.head.clear();
      e.id.fp_len = 0;
      e.id.fp_hash = 0;
    }
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
      restore_rotated(now);
    }
    while (!renamed_away.empty()) {
      discover_renamed(renamed_away.front(), now);
      renamed_away.pop_front();
    }
    // Rotation: the followed path no longer names the open file.
    for (auto& e : entries) {
      if (e.done || e.rotated || e.fd < 0) continue;
      struct stat st {};
      if (::stat(e.path.c_str(), &st) != 0 || static_cast<uint64_t>(st.st_ino) != e.id.ino ||
          static_cast<uint64_t>(st.st_dev) != e.id.dev) {
        e.rotated = true;
        e.restored = false;  // rotated now, while we watch
        e.last_growth = now;
        ++ctr.rotations;
      }
    }
    // Bounded draining: beyond kMaxDraining rotated files, the ones idle
    // longest are left as soon as they are at EOF.
    {
      std::vector<Entry*> draining;
      for (auto& e : entries)
        if (e.rotated && !e.done && e.fd >= 0 && !e.copy) draining.push_back(&e);
      if (draining.size() > kMaxDraining) {
        std::sort(draining.begin(), draining.end(),
                  [](const Entry* a, const Entry* b) { return a->last_growth < b->last_growth; });
        for (size_t i = 0; i + kMaxDraining < draining.size(); ++i) draining[i]->force_finish = true;
      }
    }
    // Fingerprints: content replaced in place (truncated and regrown past
    // our offset) is a truncation; a small file's fingerprint grows.
    for (auto& e : entries) {
      if (e.done || e.fd < 0 || !e.confirmed) continue;
      if (!fingerprint_matches(e.fd, e.id)) {
        on_truncated(e, now);  // may append to `entries` (a list: iteration stays valid)
        continue;
      }
      if (e.id.fp_len < kFingerprintBytes || e.head.size() != e.id.fp_len) {
        struct stat st {};
        if (::fstat(e.fd, &st) == 0) grow_head(e, static_cast<uint64_t>(st.st_size));
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
    e.mtime_ns = mtime_of(st);
    if (size != e.last_size) {
      e.last_growth = now;
      e.last_size = size;
    }
    if (!e.confirmed && !classify(e, now)) return false;  // a copy, or maybe one: not read
    if (size < e.offset || !grow_head(e, size)) {
      on_truncated(e, now);
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
        on_truncated(e, now);
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
    // Left at EOF: a copy at once; a renamed/deleted file once it has not grown
    // for rotate_wait (another writer may still have it open).
    if (!(e.copy || e.force_finish || now - e.last_growth >= opt.rotate_wait)) return false;
    bool delivered = false;
    if (skipping) {  // ended inside an over-long line: it is a line, skipped
      fill_chunk(out, e, size, 0, 1, size - e.offset, true);
      delivered = true;
    } else if (size > e.offset) {  // the final line without '\n'
      fill_chunk(out, e, e.offset, static_cast<size_t>(size - e.offset), 0, 0, true);
      delivered = true;
    }
    e.offset = size;
    close_done(e, now);
    return delivered;
  }

  bool read_some(Chunk& out, Clock::time_point now) {
    // Files seen rotated (renamed away, or a copy of a file seen truncated)
    // during this run come first: their unread lines predate whatever now
    // sits at their path. Then the least recently modified first (mtime as of
    // each file's last read or discovery); on equal
    // (coarse) mtimes a rotated file first, then discovery order. Lines of a
    // rotation family are then read in the order they were written even when
    // several files have unread data at once (a restart after rotations, a
    // glob matching the rotated names): each file's last write precedes its
    // successor's first, and a copytruncate copy is older than what was
    // written after the truncation. Files rotated while we were down (taken
    // from a checkpoint) are placed by mtime only: a file checkpointed while
    // empty may have been filled, copytruncated (its first lines now in a
    // copy the fingerprint cannot tie to it), refilled and renamed, or
    // copytruncated twice; mtime orders those, "rotated first" would not.
    // Files written concurrently alternate: the one just read has the newest
    // mtime. A rotated file at EOF does not hold its successor back
    // (rotate_wait); one with a partial line is skipped. A truncation found
    // on the way may open a copy: choose again.
  again:
    order_buf.clear();
    for (auto& e : entries)
      if (!e.done && e.fd >= 0) order_buf.push_back(&e);
    std::sort(order_buf.begin(), order_buf.end(), [](const Entry* a, const Entry* b) {
      const bool a_first = a->rotated && !a->restored, b_first = b->rotated && !b->restored;
      if (a_first != b_first) return a_first;
      if (a->mtime_ns != b->mtime_ns) return a->mtime_ns < b->mtime_ns;
      if (a->rotated != b->rotated) return a->rotated;  // equal (coarse) mtimes: the renamed-away one
      return a->order < b->order;
    });
    const uint64_t truncations = ctr.truncations;
    for (Entry* e : order_buf) {
      if (e->done || e->fd < 0) continue;
      if (read_entry(*e, out, now)) return true;
      if (ctr.truncations != truncations) goto again;
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
        if ((ev->mask & (IN_MOVED_FROM | IN_MOVED_TO)) && ev->len > 0) note_move(*ev);
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

  // Pairs a watched directory's IN_MOVED_FROM of a followed path with its
  // IN_MOVED_TO (same cookie): the file's new name, for discover_renamed.
  // A rename to an unwatched directory has no IN_MOVED_TO: not found.
  void note_move(const struct inotify_event& ev) {
    // Several spellings of one directory (`logs`, `./logs`) share a watch
    // descriptor: every one of them is checked.
    const std::string name(ev.name);  // NUL-padded to ev.len
    const std::string* dir = nullptr;
    for (size_t i = 0; i < watch_ids.size(); ++i) {
      if (watch_ids[i] != ev.wd) continue;
      dir = &watched_dirs[i];
      if (!(ev.mask & IN_MOVED_FROM)) break;
      for (const auto& p : opt.patterns)
        if (!has_glob_chars(p) && dir_of(p) == *dir && base_of(p) == name) {
          moved_from.push_back({ev.cookie, p});
          if (moved_from.size() > kMaxMoves) moved_from.pop_front();
          return;
        }
    }
    if (!dir || !(ev.mask & IN_MOVED_TO)) return;
    for (auto it = moved_from.begin(); it != moved_from.end(); ++it)
      if (it->cookie == ev.cookie) {
        renamed_away.push_back({(*dir == "/" ? std::string() : *dir) + "/" + name, it->followed});
        if (renamed_away.size() > kMaxMoves) renamed_away.pop_front();
        moved_from.erase(it);
        return;
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
    v.push_back({e.path, e.id, e.offset, e.rotated, e.done, e.copy});
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

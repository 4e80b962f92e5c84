// FileFollower: `tail -F` for several paths and globs, as a ChunkProducer.
//
// - Follows files as they grow; hands over whatever complete lines it has
//   (up to chunk_bytes), so a live pipeline never waits for a full chunk.
//   A partial last line waits for its '\n' -- except in a file that was
//   rotated away (renamed or deleted) and has been read to its end: there
//   the tail is a final line, as at the end of a scanned file.
// - File identity: device + inode + a hash of the first bytes (up to 256;
//   grows with a small file). Inode reuse and content replacement are told
//   apart from growth by the fingerprint.
// - Rotation by rename (+create) or delete (+recreate): the old file stays
//   open and is drained while the new file at the same path is read too
//   (several writers reopen at their own pace, so the old file may still
//   grow). It is left once it is at EOF and has not grown for rotate_wait
//   (and at most kMaxDraining such files are kept open). None is lost.
//   A file renamed away from a followed path before we ever opened it (it
//   was there only between two refreshes) is found under its new name
//   through the directory's inotify rename events and read from 0.
// - Order: when several files have unread lines (a restart after rotations,
//   a glob that matches the rotated names), files seen rotated during this
//   run are read first, then the least recently modified first (equal
//   mtimes: a rotated file first), so a rotation family's lines come in the
//   order they were written; event-time state depends on it. Files rotated
//   while stopped are placed by mtime. Files written concurrently alternate
//   (the one just read is the newest).
// - Rotation by copytruncate: a size below the read position, or a changed
//   fingerprint, means the file was truncated. The lines between the read
//   position and the truncation are recovered from the copy (a file in the
//   same directory starting with the same first bytes); then the file is
//   read again from 0. A copy that shows up only later (a glob matching the
//   copies) is recognised by the truncated file's remembered first bytes and
//   offset ("awaiting copy"), and a copy seen before the truncation is
//   remembered as a copy, never read from its start. (Lines written between
//   logrotate's copy and its truncate are in neither file: the inherent race
//   of copytruncate.) The same applies on restore: a checkpointed file found
//   truncated is finished from its copy at the checkpointed offset.
// - A finished file whose inode shows up again is checked by fingerprint:
//   other content means inode reuse (a new file, read from 0).
// - New files matching a glob are noticed (inotify on the directories,
//   polling every poll_interval as a fallback and a safety net).
// - Bounded: at most max_files tracked files (open or remembered); beyond
//   that the least recently active finished one is forgotten (counted) but
//   its identity and final offset stay in a bounded "forgotten" set, so it
//   is not read again while it still matches the glob; if none is finished
//   a new file is not followed (counted once per file, logged).
// Not thread-safe: the pipeline's reader thread calls next(); checkpoint()
// and restore() are called while the reader is paused (or before it runs);
// lag()/counters() snapshots are safe from any thread.
#pragma once
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "source/chunk_producer.hpp"

namespace ds {

struct FileIdentity {
  uint64_t dev = 0;
  uint64_t ino = 0;
  uint32_t fp_len = 0;   // bytes the fingerprint covers (0 = empty file)
  uint64_t fp_hash = 0;  // hash of the first fp_len bytes
  bool operator==(const FileIdentity&) const = default;
};

inline constexpr uint32_t kFingerprintBytes = 256;
inline constexpr size_t kMaxDraining = 16;  // rotated-away files kept open for late writes

// Identity of an open file descriptor (fingerprint of up to `max_fp` first bytes).
bool file_identity(int fd, FileIdentity& out, uint32_t max_fp = kFingerprintBytes);
// Does the file behind `fd` start with the bytes fingerprinted in `id`?
bool fingerprint_matches(int fd, const FileIdentity& id);

// Per file: the position after the last line handed over (what a checkpoint stores).
struct FilePosition {
  std::string path;      // the path it was followed under (the glob match)
  FileIdentity id;
  uint64_t offset = 0;   // end of the last complete line handed over
  bool rotated = false;  // no longer at `path` (renamed away / deleted)
  bool done = false;     // read to its end and left
  bool copy = false;     // a copytruncate copy of a followed file (its lines came from the original)
};

struct FollowerOptions {
  std::vector<std::string> patterns;  // paths or globs (glob(7) in the file name part)
  size_t chunk_bytes = 4u << 20;
  size_t max_line_bytes = 8u << 20;
  std::chrono::milliseconds poll_interval{250};
  std::chrono::milliseconds idle_return{100};  // next() returns Produce::idle after this long without data
  std::chrono::milliseconds rotate_wait{2000};
  size_t max_files = 1024;
  bool use_inotify = true;
};

struct FollowerCounters {
  uint64_t files_opened = 0;
  uint64_t rotations = 0;          // renamed away or deleted
  uint64_t truncations = 0;        // copytruncate / content replaced
  uint64_t recovered_copies = 0;   // truncated tails read from a copy
  uint64_t files_forgotten = 0;    // finished files dropped beyond max_files (evictions)
  uint64_t files_refused = 0;      // distinct new files not followed (max_files open)
  uint64_t restore_missing = 0;    // checkpointed files found nowhere
  uint64_t open_errors = 0;
};

struct FileLag {
  std::string path;
  uint64_t lag_bytes = 0;  // file size minus the position handed over
};

class FileFollower final : public ChunkProducer {
 public:
  explicit FileFollower(FollowerOptions opt);
  ~FileFollower() override;
  FileFollower(const FileFollower&) = delete;
  FileFollower& operator=(const FileFollower&) = delete;

  // Before the first next(): positions from a checkpoint. A file is resumed
  // at its offset when its identity matches (at its path, or -- for one that
  // was rotated meanwhile -- under another name in the same directory).
  void restore(const std::vector<FilePosition>& positions);

  Produce next(Chunk& out) override;
  // Reader paused (or not running): every tracked file and its position.
  std::vector<FilePosition> checkpoint() const;

  // Snapshots, safe from any thread (updated by the reader every cycle).
  std::vector<FileLag> lag() const;
  FollowerCounters counters() const;
  size_t tracked() const;
  bool inotify_active() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ds

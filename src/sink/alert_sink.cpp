#include "sink/alert_sink.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fs_sync.hpp"

namespace ds {

namespace {

// A kill -9 can leave the alerts file ending in part of a line: a batch's
// alerts may take several write(2) calls. Appending after it would glue the
// next alert onto the fragment and spoil both lines for every JSON-lines
// reader. So the fragment is moved to PATH.partial (appended there, with a
// newline) and cut off. In `tail` and `consume` it was written after the last
// checkpoint (a checkpoint is taken only once the alerts before it are
// flushed and synced), so the restarted run writes that alert again from the
// replayed input; `listen` cannot replay. Only a fragment that looks like the
// start of an alert line ('{', at most kMaxFragment bytes), or NUL bytes (a
// file system after a power loss), is cut; anything else means the file is
// not an alerts file, and it is left alone with an error.
constexpr std::size_t kMaxFragment = std::size_t{1} << 20;

Result<void> read_exactly(int fd, char* out, std::size_t n, off_t at, const std::string& path) {
  for (std::size_t got = 0; got < n;) {
    const ssize_t r = ::pread(fd, out + got, n - got, at + static_cast<off_t>(got));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return make_error(path + ": cannot read alerts file: " + (r < 0 ? std::strerror(errno) : "short read"));
    got += static_cast<std::size_t>(r);
  }
  return {};
}

// `fd`: the file opened for appending (a regular file).
Result<void> cut_partial_last_line(int fd, const struct stat& st, const std::string& path) {
  if (st.st_size == 0) return {};
  // A descriptor of its own for reading: the writer's needs no read access.
  const int rfd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (rfd < 0) return make_error(path + ": cannot read alerts file to check its last line: " + std::strerror(errno));
  struct stat rst {};
  const auto size = static_cast<std::size_t>(st.st_size);
  const std::size_t tail = std::min(size, kMaxFragment + 1);
  std::string buf(tail, '\0');
  Result<void> r = ::fstat(rfd, &rst) != 0 || rst.st_ino != st.st_ino || rst.st_dev != st.st_dev
                       ? make_error(path + ": replaced while being opened")
                       : read_exactly(rfd, buf.data(), tail, static_cast<off_t>(size - tail), path);
  ::close(rfd);
  if (!r) return r;
  if (buf.back() == '\n') return {};
  const std::size_t nl = buf.rfind('\n');
  const std::size_t keep = nl == std::string::npos ? size - tail : size - tail + nl + 1;
  const std::string_view fragment = std::string_view(buf).substr(buf.size() - (size - keep));
  const bool nuls = fragment.find_first_not_of('\0') == std::string_view::npos;
  if (size - keep > kMaxFragment || (fragment.front() != '{' && !nuls))
    return make_error(path + ": ends in " + std::to_string(size - keep) +
                      " bytes that are not part of an alert line; refusing to append alerts to it");
  std::string saved = "; nothing to keep";
  if (!nuls) {
    const std::string side = path + ".partial";
    const int sfd = ::open(side.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    std::string line(fragment);
    line += '\n';
    const bool ok = sfd >= 0 && ::write(sfd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) &&
                    ::fsync(sfd) == 0;
    saved = ok ? "; moved to " + side : "; could not be saved to " + side + ": " + std::strerror(errno);
    if (sfd >= 0) ::close(sfd);
  }
  if (::ftruncate(fd, static_cast<off_t>(keep)) != 0)
    return make_error(path + ": cannot cut a partial last line: " + std::strerror(errno));
  std::fprintf(stderr,
               "distillscan: %s ended in a partial alert line (%zu bytes, left by an unclean stop or a stop while "
               "alerts could not be written); cut%s. "
               "tail and consume write the alert again from the input replayed since the last checkpoint\n",
               path.c_str(), size - keep, saved.c_str());
  return {};
}

}  // namespace

Result<std::unique_ptr<JsonlAlertSink>> JsonlAlertSink::open(const std::string& path, bool append) {
  if (path == "-") return std::unique_ptr<JsonlAlertSink>(new JsonlAlertSink(STDOUT_FILENO, false, path));
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0644);
  if (fd < 0) return make_error(path + ": cannot open alerts file: " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int e = errno;
    ::close(fd);
    return make_error(path + ": cannot stat alerts file: " + std::strerror(e));
  }
  if (append && S_ISREG(st.st_mode)) {
    // One writer per alerts file: a second one could cut the first one's
    // batch in the middle, and their lines could interleave.
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int e = errno;
      ::close(fd);
      return make_error(path + ": " +
                        (e == EWOULDBLOCK ? std::string("another process appends alerts to this file")
                                          : std::string("cannot lock alerts file: ") + std::strerror(e)));
    }
    if (auto cut = cut_partial_last_line(fd, st, path); !cut) {
      ::close(fd);
      return cut.error();
    }
    fsync_parent_dir(path);  // a file just created: its name must survive a crash as its synced alerts do
  }
  return std::unique_ptr<JsonlAlertSink>(new JsonlAlertSink(fd, true, path));
}

JsonlAlertSink::~JsonlAlertSink() {
  drain();  // a line still cut short here is cut off at the next start (append mode)
  if (owned_) ::close(fd_);
}

void JsonlAlertSink::write(const Alert& alert) {
  line_.clear();  // keeps its capacity: no allocation per alert once warm
  alert_to_json_append(line_, alert);
  line_.push_back('\n');
  if (pending_bytes() + line_.size() > kMaxPending) {
    drain();  // a batch this large is written in parts
    if (pending_bytes() + line_.size() > kMaxPending) {
      dropped_ = true;
      if (lost_.empty())
        keep_loss("alerts dropped: more than " + std::to_string(kMaxPending >> 20) +
                  " MiB were waiting to be written (" + std::strerror(error_ != 0 ? error_ : EIO) + ")");
      return;
    }
  }
  pending_ += line_;
  // Alerts are rare next to lines: writing each one (or each batch's, see
  // begin_batch) costs little and lets a reader of a pipe or a tailed file
  // see it at once.
  if (!in_batch_) drain();
}

void JsonlAlertSink::end_batch() {
  in_batch_ = false;
  drain();
}

void JsonlAlertSink::drain() {
  if (done_ == pending_.size()) return;
  if (!owned_) std::fflush(stdout);  // whatever else went to stdout through stdio comes first
  while (done_ < pending_.size()) {
    const ssize_t w = ::write(fd_, pending_.data() + done_, pending_.size() - done_);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      error_ = w < 0 ? errno : EIO;
      if (done_ > pending_.size() / 2) {  // what is written is out for good: keep the buffer from growing
        pending_.erase(0, done_);
        done_ = 0;
      }
      return;  // the rest goes on the next call
    }
    done_ += static_cast<size_t>(w);
    unsynced_ = true;
  }
  if (pending_.capacity() > (size_t{1} << 20)) {
    std::string().swap(pending_);  // give back what a long failure made it hold
  } else {
    pending_.clear();
  }
  done_ = 0;
  error_ = 0;
}

Result<void> JsonlAlertSink::flush() {
  drain();
  if (error_ != 0)
    return make_error(path_ + ": writing alerts failed: " + std::strerror(error_) + " (" +
                      std::to_string(pending_bytes()) + " bytes of alerts not written yet)");
  if (!lost_.empty()) return make_error(path_ + ": " + lost_);
  return {};
}

AlertsOut JsonlAlertSink::flush_state() {
  drain();
  // After a kept loss nothing is synced again before a restart: what is
  // written from then on may still vanish in a crash, so it counts as lost.
  if (std::exchange(dropped_, false) || !lost_.empty()) return AlertsOut::lost;
  return error_ != 0 ? AlertsOut::held : AlertsOut::written;
}

void JsonlAlertSink::keep_loss(std::string why) {
  lost_ = std::move(why);
  std::fprintf(stderr, "distillscan: %s: %s; no checkpoint is taken until a restart (which replays from the last one)\n",
               path_.c_str(), lost_.c_str());
}

Result<void> JsonlAlertSink::sync() {
  if (auto f = flush(); !f) return f;
  // EINVAL/EROFS: a pipe, a terminal or a file system without sync.
  // A failed fdatasync is kept: Linux reports a writeback error once, and
  // the next call would pass over lost data.
  int r;
  do {
    r = ::fdatasync(fd_);  // stdout too: redirected to a file, it is synced like one
  } while (r != 0 && errno == EINTR);
  if (r != 0 && errno != EINVAL && errno != EROFS) {
    keep_loss(std::string("fdatasync: ") + std::strerror(errno));
    return make_error(path_ + ": " + lost_);
  }
  unsynced_ = false;
  return {};
}

AlertsOut JsonlAlertSink::durable_state() {
  const AlertsOut s = flush_state();
  if (s != AlertsOut::written || !unsynced_) return s;
  return sync() ? AlertsOut::written : AlertsOut::lost;  // held is ruled out: flush_state() just wrote all
}

bool JsonlAlertSink::sync_for_checkpoint() {
  auto r = sync();
  if (r) {
    if (sync_failures_ != 0) {
      std::fprintf(stderr, "distillscan: %s: the held alerts are written; checkpoints resume\n", path_.c_str());
      sync_failures_ = 0;
    }
    return true;
  }
  if (sync_failures_++ % 100 == 0)
    std::fprintf(stderr, "distillscan: %s; %s\n", r.error().message.c_str(),
                 lost() ? "no checkpoint is taken until a restart (which replays from the last one)"
                        : "no checkpoint is taken until then");
  return false;
}

}  // namespace ds

#include "sink/alert_sink.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <sys/stat.h>
#include <unistd.h>

namespace ds {

namespace {

// An unclean stop (kill -9, power loss) can leave the alerts file ending in
// part of a line: a batch's alerts may take several write(2) calls. Appending
// after it would glue the next alert onto the fragment and spoil both lines
// for every JSON-lines reader. The fragment was written after the last
// checkpoint (a checkpoint is taken only once the alerts before it are
// flushed and synced), so the restarted run re-emits that alert from the
// replayed input: cut the fragment. Only a fragment that looks like the start
// of an alert line ('{', at most kMaxFragment bytes) is cut; anything else
// means the file is not an alerts file, and it is left alone with an error.
constexpr std::size_t kMaxFragment = std::size_t{1} << 20;

Result<void> cut_partial_last_line(std::FILE* f, const std::string& path) {
  const int fd = ::fileno(f);
  struct stat st {};
  if (::fstat(fd, &st) != 0) return make_error(path + ": cannot stat alerts file: " + std::strerror(errno));
  if (!S_ISREG(st.st_mode) || st.st_size == 0) return {};
  const auto size = static_cast<std::size_t>(st.st_size);
  const std::size_t tail = std::min(size, kMaxFragment + 1);
  std::string buf(tail, '\0');
  std::size_t got = 0;
  while (got < tail) {
    const ssize_t n = ::pread(fd, buf.data() + got, tail - got, static_cast<off_t>(size - tail + got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return make_error(path + ": cannot read alerts file: " + (n < 0 ? std::strerror(errno) : "short read"));
    got += static_cast<std::size_t>(n);
  }
  if (buf.back() == '\n') return {};
  const std::size_t nl = buf.rfind('\n');
  const std::size_t keep = nl == std::string::npos ? size - tail : size - tail + nl + 1;
  const std::size_t fragment = size - keep;
  if (fragment > kMaxFragment || buf[buf.size() - fragment] != '{')
    return make_error(path + ": ends in " + std::to_string(fragment) +
                      " bytes that are not part of an alert line; refusing to append alerts to it");
  if (::ftruncate(fd, static_cast<off_t>(keep)) != 0)
    return make_error(path + ": cannot cut a partial last line: " + std::strerror(errno));
  std::fprintf(stderr,
               "distillscan: %s ended in a partial alert line (%zu bytes, left by an unclean stop); cut it: "
               "the alert is written again from the input replayed since the last checkpoint\n",
               path.c_str(), fragment);
  return {};
}

}  // namespace

Result<std::unique_ptr<JsonlAlertSink>> JsonlAlertSink::open(const std::string& path, bool append) {
  if (path == "-") return std::unique_ptr<JsonlAlertSink>(new JsonlAlertSink(stdout, false, path));
  // Append mode reads too: cut_partial_last_line looks at the file's end.
  std::FILE* f = std::fopen(path.c_str(), append ? "a+b" : "wb");
  if (!f) return make_error(path + ": cannot open alerts file: " + std::strerror(errno));
  if (append) {
    if (auto cut = cut_partial_last_line(f, path); !cut) {
      std::fclose(f);
      return cut.error();
    }
  }
  // Room for a batch's alert lines, written by one write(2) at end_batch().
  std::setvbuf(f, nullptr, _IOFBF, 1 << 16);
  return std::unique_ptr<JsonlAlertSink>(new JsonlAlertSink(f, true, path));
}

JsonlAlertSink::~JsonlAlertSink() {
  if (owned_ && f_) std::fclose(f_);
}

void JsonlAlertSink::write(const Alert& alert) {
  line_.clear();  // keeps its capacity: no allocation per alert once warm
  alert_to_json_append(line_, alert);
  line_.push_back('\n');
  // Alerts are rare next to lines: flushing each one (or each batch's, see
  // begin_batch) costs little and lets a reader of a pipe or a tailed file
  // see it at once.
  if (std::fwrite(line_.data(), 1, line_.size(), f_) != line_.size()) fail();
  if (!in_batch_ && std::fflush(f_) != 0) fail();
}

void JsonlAlertSink::end_batch() {
  in_batch_ = false;
  if (std::fflush(f_) != 0) fail();
}

Result<void> JsonlAlertSink::flush() {
  if (std::fflush(f_) != 0) fail();
  if (error_ != 0) return make_error(path_ + ": writing alerts failed: " + std::strerror(error_));
  return {};
}

Result<void> JsonlAlertSink::sync() {
  if (auto f = flush(); !f) return f;
  // EINVAL/EROFS: a pipe, a terminal or a file system without sync.
  if (owned_ && ::fdatasync(::fileno(f_)) != 0 && errno != EINVAL && errno != EROFS)
    return make_error(path_ + ": fdatasync: " + std::strerror(errno));
  return {};
}

}  // namespace ds

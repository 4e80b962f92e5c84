#include "sink/alert_sink.hpp"

#include <cerrno>
#include <cstring>

namespace ds {

Result<std::unique_ptr<JsonlAlertSink>> JsonlAlertSink::open(const std::string& path, bool append) {
  if (path == "-") return std::unique_ptr<JsonlAlertSink>(new JsonlAlertSink(stdout, false, path));
  std::FILE* f = std::fopen(path.c_str(), append ? "ab" : "wb");
  if (!f) return make_error(path + ": cannot open alerts file: " + std::strerror(errno));
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
  if (std::fwrite(line_.data(), 1, line_.size(), f_) != line_.size()) failed_ = true;
  if (!in_batch_ && std::fflush(f_) != 0) failed_ = true;
}

void JsonlAlertSink::end_batch() {
  in_batch_ = false;
  if (std::fflush(f_) != 0) failed_ = true;
}

Result<void> JsonlAlertSink::flush() {
  if (std::fflush(f_) != 0 || failed_ || std::ferror(f_))
    return make_error(path_ + ": writing alerts failed: " + std::strerror(errno));
  return {};
}

}  // namespace ds

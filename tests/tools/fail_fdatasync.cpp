// Preloaded (LD_PRELOAD) into distillscan by tests/e2e/kafka_alerts_durable.sh:
// fdatasync(2) fails with EIO on a non-empty file whose path ends in
// $DS_FAIL_FDATASYNC (a writeback error: the data written may never reach the
// disk, as in a host crash). Other calls go to the kernel unchanged.
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

extern "C" int fdatasync(int fd) {
  const char* suffix = std::getenv("DS_FAIL_FDATASYNC");
  if (suffix != nullptr && *suffix != '\0') {
    char link[64], target[4096];
    std::snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    const ssize_t n = ::readlink(link, target, sizeof target);
    const size_t len = std::strlen(suffix);
    struct stat st {};
    if (n > 0 && static_cast<size_t>(n) >= len && std::memcmp(target + n - len, suffix, len) == 0 &&
        ::fstat(fd, &st) == 0 && st.st_size > 0) {
      errno = EIO;
      return -1;
    }
  }
  return static_cast<int>(::syscall(SYS_fdatasync, fd));
}

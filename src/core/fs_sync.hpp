// fsync of the directory holding `path`, so that a file created (or renamed)
// there survives a host crash under its name, not only its data. Best effort:
// a directory that cannot be opened or synced is left as it is.
#pragma once
#include <fcntl.h>
#include <unistd.h>

#include <string>

namespace ds {

inline void fsync_parent_dir(const std::string& path) {
  const auto slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return;
  ::fsync(dfd);
  ::close(dfd);
}

}  // namespace ds

#include "source/mapped_file.hpp"

#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <system_error>

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22  // Linux 5.14; older kernels answer EINVAL (ignored)
#endif

namespace ds {
namespace {

// The SIGBUS guard: the address ranges of the live mappings. Written by
// map()/~MappedFile(), read by the signal handler (lock-free: atomics only).
constexpr int kSlots = 64;
struct GuardSlot {
  std::atomic<bool> used{false};
  std::atomic<uintptr_t> begin{0};  // 0: not armed
  std::atomic<uintptr_t> end{0};
  std::atomic<bool> faulted{false};
};
GuardSlot g_slots[kSlots];
struct sigaction g_previous;
uintptr_t g_page = 4096;
std::once_flag g_install_once;
bool g_installed = false;

void on_sigbus(int sig, siginfo_t* info, void* ctx) {
  const uintptr_t addr = reinterpret_cast<uintptr_t>(info->si_addr);
  for (auto& s : g_slots) {
    const uintptr_t b = s.begin.load(std::memory_order_acquire);
    const uintptr_t e = s.end.load(std::memory_order_acquire);
    if (b == 0 || addr < b || addr >= e) continue;
    // Past the file's new end: zero pages from here to the end of the
    // mapping, so this and every later access reads NULs instead of faulting.
    const uintptr_t page = addr & ~(g_page - 1);
    void* r = ::mmap(reinterpret_cast<void*>(page), e - page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (r != MAP_FAILED) {
      s.faulted.store(true, std::memory_order_release);
      return;  // the faulting access is retried and now succeeds
    }
    break;
  }
  // Not ours (or the zero pages could not be mapped): what would have happened without us.
  if (g_previous.sa_flags & SA_SIGINFO) {
    if (g_previous.sa_sigaction) return g_previous.sa_sigaction(sig, info, ctx);
  } else if (g_previous.sa_handler != SIG_DFL && g_previous.sa_handler != SIG_IGN) {
    return g_previous.sa_handler(sig);
  }
  ::signal(SIGBUS, SIG_DFL);  // the access faults again, with the default action
}

void install_guard() {
  g_page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  struct sigaction sa {};
  sa.sa_sigaction = on_sigbus;
  sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  g_installed = ::sigaction(SIGBUS, &sa, &g_previous) == 0;
}

}  // namespace

bool mmap_disabled() {
  const char* v = std::getenv("DISTILLSCAN_NO_MMAP");
  return v && *v && std::strcmp(v, "0") != 0;
}

std::shared_ptr<MappedFile> MappedFile::map(int fd, uint64_t size, std::string& err, std::string name) {
  std::call_once(g_install_once, install_guard);
  if (!g_installed) {
    err = "cannot install the SIGBUS handler";
    return nullptr;
  }
  if (size == 0) {
    err = "empty file";
    return nullptr;
  }
  int slot = -1;
  for (int i = 0; i < kSlots && slot < 0; ++i) {
    bool expected = false;
    if (g_slots[i].used.compare_exchange_strong(expected, true)) slot = i;
  }
  if (slot < 0) {
    err = "too many files mapped at once";
    return nullptr;
  }
  void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (p == MAP_FAILED) {
    err = std::generic_category().message(errno);
    g_slots[slot].used.store(false);
    return nullptr;
  }
  const uint64_t span = (size + g_page - 1) & ~static_cast<uint64_t>(g_page - 1);
  GuardSlot& s = g_slots[slot];
  s.faulted.store(false);
  s.end.store(reinterpret_cast<uintptr_t>(p) + span, std::memory_order_release);
  s.begin.store(reinterpret_cast<uintptr_t>(p), std::memory_order_release);
  return std::shared_ptr<MappedFile>(new MappedFile(static_cast<const char*>(p), size, span, slot, std::move(name)));
}

MappedFile::~MappedFile() {
  GuardSlot& s = g_slots[slot_];
  s.begin.store(0, std::memory_order_release);
  s.end.store(0, std::memory_order_release);
  ::munmap(const_cast<char*>(base_), span_);
  s.used.store(false, std::memory_order_release);
}

bool MappedFile::faulted() const { return g_slots[slot_].faulted.load(std::memory_order_acquire); }

std::string MappedFile::fault_message() const {
  std::string now = "?";
  struct stat st {};
  if (!name_.empty() && ::stat(name_.c_str(), &st) == 0) now = std::to_string(st.st_size);
  return name_ + ": the file shrank while it was read (from " + std::to_string(size_) + " to " + now +
         " bytes: truncated or rotated?); its bytes past the new end were read as NUL bytes";
}

void MappedFile::populate(uint64_t off, uint64_t n) const {
  if (off >= span_) return;
  n = std::min(n, span_ - off);
  const uint64_t first = off & ~static_cast<uint64_t>(g_page - 1);
  ::madvise(const_cast<char*>(base_) + first, n + (off - first), MADV_POPULATE_READ);
}

}  // namespace ds

namespace ds {

void MappedFile::release(uint64_t upto) const {
  upto = std::min(upto, span_) & ~static_cast<uint64_t>(g_page - 1);
  if (upto <= released_) return;
  ::madvise(const_cast<char*>(base_) + released_, upto - released_, MADV_DONTNEED);
  released_ = upto;
}

}  // namespace ds

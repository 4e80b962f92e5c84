// MappedFile: a regular file mapped read-only, so `scan` frames chunks as
// views into the page cache instead of copying every byte through read(2).
// The reader thread then only looks for line ends; the pages are faulted in by
// the workers that parse them, in parallel.
//
// A mapped file that shrinks while mapped (truncated, copytruncate'd) would
// kill the process with SIGBUS on the first access past its new end. A
// process-wide SIGBUS handler turns that into data: it maps zero pages over
// the rest of the mapping, marks it `faulted()`, and the access resumes
// (the lines there read as NUL bytes, i.e. malformed lines, and the producer
// reports the file as changed while read). Faults outside our mappings go to
// the previous handler (or the default action).
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

namespace ds {

class MappedFile {
 public:
  // Maps [0, size) of fd (which stays owned by the caller). Returns null and
  // sets `err` when the file cannot be mapped (the caller falls back to
  // read(2)): size 0, mmap failure, or too many files mapped at once.
  // `name` names the file in fault_message().
  static std::shared_ptr<MappedFile> map(int fd, uint64_t size, std::string& err, std::string name = {});
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const char* data() const { return base_; }
  uint64_t size() const { return size_; }
  // Bytes that may be read from data(): size() rounded up to the page size
  // (the kernel zero-fills the tail of the last page). A chunk ending within
  // kChunkPadding of this must be copied to get its padding.
  uint64_t readable() const { return span_; }
  // An access hit a page past the file's end (it shrank while mapped).
  bool faulted() const;
  // The shrink is reported once, by whoever notices it first (the source at
  // its end, or the pipeline when the chunks read as NULs come back):
  // true for the first caller only.
  bool claim_fault_report() const { return !fault_reported_.exchange(true); }
  // "<name>: the file shrank while it was read ...".
  std::string fault_message() const;
  const std::string& name() const { return name_; }
  // Asks the kernel to map [off, off + n) now (one call instead of a page
  // fault per 64 KiB); a hint, failures ignored.
  void populate(uint64_t off, uint64_t n) const;
  // Everything before `upto` has been used: unmap its pages from this
  // process (they stay in the page cache; a later access maps them again),
  // so RSS is bounded by the chunks in flight, not by the file size.
  // Reader thread only.
  void release(uint64_t upto) const;

 private:
  MappedFile(const char* base, uint64_t size, uint64_t span, int slot, std::string name)
      : base_(base), size_(size), span_(span), slot_(slot), name_(std::move(name)) {}
  const char* base_;
  uint64_t size_;
  uint64_t span_;
  int slot_;  // in the SIGBUS guard's table
  std::string name_;
  mutable uint64_t released_ = 0;
  mutable std::atomic<bool> fault_reported_{false};
};

// DISTILLSCAN_NO_MMAP=1 (or any non-empty value but "0"): read every input
// with read(2) (tests compare both paths).
bool mmap_disabled();

}  // namespace ds

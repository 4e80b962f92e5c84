// Tail checkpoints: per-file positions, cumulative run statistics and the
// detector state (detect/state_io.hpp), in one file written atomically.
//
// File format (version 2; version 1 -- without the `copy` byte -- is still read), integers little-endian, fixed width:
//   magic "DSTAILCK" | u32 version | u32 reserved | u64 payload length
//   | payload | u64 checksum (hash_bytes of every byte before it)
// payload: u32 files, per file { str path, u64 dev, u64 ino, u32 fp_len,
//   u64 fp_hash, u64 offset, u8 rotated, u8 done, u8 copy }
//   | stats { u64 lines, records, bytes, field_type_errors, alerts,
//             u32 n + n x u64 errors (by ErrorReason), u32 m + m x u64 rule_matches,
//             f64 seconds }
//   | str detector_state
// (str = u64 length + bytes). A file with another magic, another version, a
// wrong length or checksum is refused with a message naming the file.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "pipeline/scan_pipeline.hpp"
#include "source/file_follower.hpp"

namespace ds {

inline constexpr uint32_t kCheckpointVersion = 2;

struct Checkpoint {
  std::vector<FilePosition> files;
  RunStats stats;  // cumulative counters (lines, records, bytes, errors, alerts, ...)
  std::string detector_state;
};

std::string encode_checkpoint(const Checkpoint& c);
// `name` (the file) prefixes error messages.
Result<Checkpoint> decode_checkpoint(std::string_view data, const std::string& name);

// temp file + fsync + rename + fsync of the directory.
Result<void> write_file_atomic(const std::string& path, std::string_view data);
// nullopt when the file does not exist; an error when it cannot be read or decoded.
Result<std::optional<Checkpoint>> load_checkpoint_file(const std::string& path);

}  // namespace ds

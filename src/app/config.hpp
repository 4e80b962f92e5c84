// Config: the YAML file (-c) and command-line overrides, validated into the
// options the pipeline takes. Every value has a default; errors name the
// file, line and problem (exit status 2).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "detect/detector_config.hpp"
#include "parse/field_mapping.hpp"
#include "parse/line_parser.hpp"
#include "source/framer.hpp"

namespace ds {

// `tail` (long-running mode) settings.
struct TailConfig {
  int64_t checkpoint_interval_seconds = 10;  // --checkpoint-interval overrides
  uint32_t poll_interval_ms = 250;           // polling fallback / safety net next to inotify
  int64_t rotate_wait_seconds = 2;           // a rotated-away file at EOF is kept this long for late writes
  uint32_t max_files = 1024;                 // files followed or remembered (LRU of finished ones beyond)
};

struct Config {
  FieldMapping fields = FieldMapping::defaults();
  ParseOptions parse;
  FramerOptions framer;
  DetectorConfig detector;
  uint32_t report_top = 10;
  TailConfig tail;
};

// Loads and validates a YAML config file over the defaults.
Result<Config> load_config_file(const std::string& path);
Result<Config> load_config_text(const std::string& yaml, const std::string& name);

// "90", "90s", "5m", "1h", "2d" -> seconds.
Result<int64_t> parse_duration_seconds(const std::string& text);
// "4096", "64KiB", "4MiB", "1GiB" -> bytes.
Result<uint64_t> parse_size_bytes(const std::string& text);

}  // namespace ds

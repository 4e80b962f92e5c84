// On Demand line walker for distillscan-bare-parse: iterate one line and
// touch every value (keys and strings unescaped, numbers parsed).
// Note (simdjson 3.0.1 as packaged by Debian): stage 1 and string parsing
// run in the shared library and are dispatched at run time (haswell/icelake
// on this machine); only the inlined navigation code depends on the flags
// this file is compiled with. Measured: building it with -mavx2 changed the
// throughput by under 2% on the bench corpus, so it is built for the
// baseline ISA.
#pragma once
#include <cstddef>
#include <cstdint>

struct OdKernel {
  const char* name;  // simdjson builtin (compile-time) implementation
  void* (*create)();
  void (*destroy)(void*);
  // Parses one line and touches every value; false if invalid.
  bool (*parse)(void* parser, const char* p, size_t len, size_t capacity, uint64_t* values);
};

const OdKernel* bare_parse_od();

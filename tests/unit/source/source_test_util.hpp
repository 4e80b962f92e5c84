// Helpers shared by the source-stage tests.
#pragma once
#include <string>

namespace ds::test {

// JSON lines {"line":i,"pad":"xxxxxxxxxxxxxxxx"} (~38 bytes each) for i in [from, to).
inline std::string numbered(int from, int to) {
  std::string s;
  for (int i = from; i < to; ++i) s += "{\"line\":" + std::to_string(i) + ",\"pad\":\"xxxxxxxxxxxxxxxx\"}\n";
  return s;
}

}  // namespace ds::test

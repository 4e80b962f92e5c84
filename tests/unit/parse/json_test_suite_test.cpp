// Every file of JSONTestSuite (nst/JSONTestSuite, test_parsing/) fed as one
// line: y_ files are valid JSON and must never be reported as malformed;
// n_ files are invalid and must be; i_ files must simply not crash.
#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>

#include "parse_test_util.hpp"

namespace fs = std::filesystem;
using namespace ds;

namespace {

bool is_malformed(ErrorReason r) {
  return r == ErrorReason::invalid_json || r == ErrorReason::invalid_utf8 || r == ErrorReason::too_deep ||
         r == ErrorReason::empty_line;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void run_suite(ParseOptions opt, char pad) {
  fs::path dir = fs::path(DS_TEST_DATA_DIR) / "JSONTestSuite" / "test_parsing";
  REQUIRE(fs::is_directory(dir));
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".json") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  REQUIRE(files.size() > 300);

  LineParser parser(FieldMapping::defaults(), opt);
  size_t y = 0, n = 0, i = 0;
  for (const auto& path : files) {
    std::string name = path.filename().string();
    std::string data = read_file(path);
    std::string buf = test::padded(data, pad);
    EventBatch batch;
    parser.parse_line(std::string_view(buf.data(), data.size()), 0, nullptr, batch);
    INFO(name << " padded with '" << (pad ? pad : '0') << "'");
    REQUIRE(batch.events.size() + batch.errors.total() == 1);
    ErrorReason r = ErrorReason::kCount;
    for (size_t k = 0; k < kErrorReasonCount; ++k)
      if (batch.errors.n[k]) r = static_cast<ErrorReason>(k);
    INFO("reason: " << (r == ErrorReason::kCount ? "event" : reason_name(r)));
    if (name[0] == 'y') {
      ++y;
      CHECK_FALSE(is_malformed(r));
    } else if (name[0] == 'n') {
      ++n;
      CHECK(is_malformed(r));
    } else {
      ++i;
    }
  }
  CHECK(y == 95);
  CHECK(n == 188);
}

}  // namespace

TEST_CASE("JSONTestSuite: y_ accepted, n_ rejected (full validation)", "[parse][jsontestsuite]") {
  // Padding bytes are arbitrary in a chunk (the next line); '}' and ']' are
  // the ones simdjson treats specially.
  for (char pad : {'\0', '}', ']', ' ', '"', '1'}) run_suite(ParseOptions{true}, pad);
}

TEST_CASE("JSONTestSuite: no crash with lazy validation", "[parse][jsontestsuite]") {
  // Lazy mode skips unmapped values unchecked, so only the top-level and
  // mapped values are validated; every file must still give one outcome.
  fs::path dir = fs::path(DS_TEST_DATA_DIR) / "JSONTestSuite" / "test_parsing";
  LineParser parser(FieldMapping::defaults(), ParseOptions{false});
  for (const auto& e : fs::directory_iterator(dir)) {
    std::string data = read_file(e.path());
    std::string buf = test::padded(data, '\0');
    EventBatch batch;
    parser.parse_line(std::string_view(buf.data(), data.size()), 0, nullptr, batch);
    INFO(e.path().filename().string());
    REQUIRE(batch.events.size() + batch.errors.total() == 1);
  }
}

#include <cstdio>
#include <fstream>

#include "engine/check.h"
#include "engine/io/atomic_file.h"
#include "tests/helpers.h"

using namespace sn;

TEST_CASE("atomic file: write replaces, read returns the bytes, errors name the path", "[io]") {
  const std::string path = std::string(SN_BINARY_DIR) + "/atomic_test.txt";
  io::write_file_atomic(path, std::string("first"));
  io::write_file_atomic(path, std::string("second"));
  auto bytes = io::read_file(path);
  CHECK(std::string(bytes.begin(), bytes.end()) == "second");
  std::remove(path.c_str());
  REQUIRE_THROWS_WITH(io::read_file(path), Catch::Contains(path));
  REQUIRE_THROWS_WITH(io::write_file_atomic("/nonexistent-dir/x.bin", std::string("x")),
                      Catch::Contains("/nonexistent-dir/x.bin"));
}

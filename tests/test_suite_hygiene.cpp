// The test suite itself: every TEST_CASE must really run under CTest.
//
// catch_discover_tests (CMakeLists.txt) turns each TEST_CASE name into a CTest
// test, and CMake splits lists at ';': a name with a ';' became two CTest tests
// whose filters matched no test case, and both "passed" without running
// anything (five test cases were silently skipped in CI this way).
#include <dirent.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "tests/helpers.h"

TEST_CASE("test suite: no TEST_CASE name contains a semicolon (CTest would run nothing for it)", "[suite]") {
  const std::string dir = std::string(SN_SOURCE_DIR) + "/tests";
  DIR* d = ::opendir(dir.c_str());
  REQUIRE(d);
  int files = 0, cases = 0;
  while (dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name.size() < 5 || name.substr(name.size() - 4) != ".cpp") continue;
    ++files;
    std::ifstream in(dir + "/" + name);
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string text = ss.str();
    const std::string marker = std::string("TEST_CASE") + "(\"";  // split so this line is not a match
    for (size_t at = text.find(marker); at != std::string::npos; at = text.find(marker, at + 1)) {
      const size_t begin = at + marker.size(), end = text.find('"', begin);
      REQUIRE(end != std::string::npos);
      const std::string title = text.substr(begin, end - begin);
      ++cases;
      INFO(name << ": " << title);
      CHECK(title.find(';') == std::string::npos);
    }
  }
  ::closedir(d);
  CHECK(files > 10);
  CHECK(cases > 50);
}

// The emulator build (SCRATCHNET_CUDASIM, tools/cudasim/check.sh) compiles only tests/test_cuda_*.cpp,
// so a [cuda] test anywhere else would never run there.
TEST_CASE("test suite: every [cuda] test lives in tests/test_cuda_*.cpp (the emulator build compiles only those)",
          "[suite]") {
  int cuda_tests = 0;
  for (const Catch::TestCase& tc : Catch::getRegistryHub().getTestCaseRegistry().getAllTests()) {
    if (std::find(tc.lcaseTags.begin(), tc.lcaseTags.end(), "cuda") == tc.lcaseTags.end()) continue;
    ++cuda_tests;
    const std::string file = tc.lineInfo.file;
    INFO(tc.name << " in " << file);
    CHECK(file.find("test_cuda_") != std::string::npos);
  }
  CHECK(cuda_tests > 10);
}

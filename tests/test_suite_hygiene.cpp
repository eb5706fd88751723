// The test suite itself: every TEST_CASE must really run under CTest.
//
// catch_discover_tests (CMakeLists.txt) turns each TEST_CASE name into a CTest
// test, and CMake splits lists at ';': a name with a ';' became two CTest tests
// whose filters matched no test case, and both "passed" without running
// anything (five test cases were silently skipped in CI this way).
#include <dirent.h>

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

// The test suite itself: every TEST_CASE must really run under CTest; and the
// source tree's one size rule: no source file over 500 lines (CONTRIBUTING.md,
// "Short files with one job").
//
// catch_discover_tests (CMakeLists.txt) turns each TEST_CASE name into a CTest
// test, and CMake splits lists at ';': a name with a ';' became two CTest tests
// whose filters matched no test case, and both "passed" without running
// anything (five test cases were silently skipped in CI this way).
#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

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

namespace {

namespace fs = std::filesystem;

constexpr int kMaxSourceLines = 500;

// "path: N lines" for every hand-written source file (C++, CUDA, Python, shell) under the
// layer folders of `root` that is longer than kMaxSourceLines. Counts the source files seen.
std::vector<std::string> long_source_files(const fs::path& root, int& seen) {
  static const std::vector<std::string> kDirs{"engine", "kernels", "models", "tools", "tests"};
  static const std::vector<std::string> kExts{".h", ".hpp", ".cpp", ".cc", ".cu", ".cuh", ".py", ".sh"};
  std::vector<std::string> out;
  seen = 0;
  for (const auto& dir : kDirs) {
    if (!fs::is_directory(root / dir)) continue;
    for (const auto& entry : fs::recursive_directory_iterator(root / dir)) {
      const std::string ext = entry.path().extension().string();
      if (!entry.is_regular_file() || std::find(kExts.begin(), kExts.end(), ext) == kExts.end()) continue;
      ++seen;
      std::ifstream in(entry.path());
      int lines = 0;
      for (std::string line; std::getline(in, line);) ++lines;
      if (lines > kMaxSourceLines)
        out.push_back(fs::relative(entry.path(), root).string() + ": " + std::to_string(lines) + " lines");
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("source tree: no source file under engine/ kernels/ models/ tools/ tests/ is over 500 lines", "[suite]") {
  int seen = 0;
  const auto long_files = long_source_files(SN_SOURCE_DIR, seen);
  for (const auto& f : long_files) UNSCOPED_INFO(f << " (split it by concept)");
  CHECK(long_files.empty());
  CHECK(seen > 300);  // the walk really found the tree
}

TEST_CASE("source tree: the size check finds a file over 500 lines", "[suite]") {
  const fs::path root = fs::temp_directory_path() / ("sn_long_files_" + std::to_string(::getpid()));
  fs::remove_all(root);
  fs::create_directories(root / "engine" / "cpu");
  fs::create_directories(root / "tests");
  std::ofstream(root / "engine/cpu/long.cpp") << std::string(kMaxSourceLines + 1, '\n');
  std::ofstream(root / "engine/cpu/fine.h") << std::string(kMaxSourceLines, '\n');
  std::ofstream(root / "tests/data.bin") << std::string(2 * kMaxSourceLines, '\n');  // not a source file
  int seen = 0;
  const auto long_files = long_source_files(root, seen);
  fs::remove_all(root);
  CHECK(seen == 2);
  REQUIRE(long_files.size() == 1);
  CHECK(long_files[0] == "engine/cpu/long.cpp: 501 lines");
}

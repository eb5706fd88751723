// The layering rule, checked on every #include line of the source tree:
//
//   tools (CLI, experiment) -> models -> engine -> backends (engine/cpu/, kernels/)
//
// Layers point only down: engine/ includes nothing from models/ or tools/,
// models/ nothing from tools/, and the CUDA kernels (kernels/) never the
// autograd API (engine/ops.h, autograd.h, tensor.h) nor the CPU backend
// (engine/cpu/): the shapes both backends take are in engine/kernel_shapes.h.
// The CMake libraries follow the same chain (CMakeLists.txt).
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include "tests/helpers.h"

namespace fs = std::filesystem;

namespace {

struct Rule {
  std::string from;       // a directory, relative to the root, with a trailing '/'
  std::string forbidden;  // an include path prefix ("models/") or a whole header ("engine/ops.h")
};

const std::vector<Rule> kRules{
    {"engine/", "models/"},
    {"engine/", "tools/"},
    {"models/", "tools/"},
    {"kernels/", "engine/ops.h"},
    {"kernels/", "engine/autograd.h"},
    {"kernels/", "engine/tensor.h"},
    {"kernels/", "engine/cpu/"},
};

bool is_source(const fs::path& p) {
  const std::string e = p.extension().string();
  return e == ".h" || e == ".hpp" || e == ".cpp" || e == ".cc" || e == ".cu" || e == ".cuh";
}

// "file:line: #include ..." for every include under `root` that breaks a rule.
std::vector<std::string> layering_violations(const fs::path& root) {
  static const std::regex include_line(R"(^\s*#\s*include\s*[<"]([^>"]+)[>"])");
  std::vector<std::string> out;
  for (const auto& rule : kRules) {
    const fs::path dir = root / rule.from;
    if (!fs::is_directory(dir)) continue;
    for (const auto& entry : fs::recursive_directory_iterator(dir)) {
      if (!entry.is_regular_file() || !is_source(entry.path())) continue;
      std::ifstream in(entry.path());
      std::string line;
      for (int n = 1; std::getline(in, line); ++n) {
        std::smatch m;
        if (!std::regex_search(line, m, include_line)) continue;
        const std::string target = m[1];
        if (target.rfind(rule.forbidden, 0) == 0)
          out.push_back(fs::relative(entry.path(), root).string() + ":" + std::to_string(n) + ": " + line + "  (" +
                        rule.from + " may not include " + rule.forbidden + ")");
      }
    }
  }
  return out;
}

}  // namespace

TEST_CASE(
    "layering: engine/ includes nothing from models/ or tools/, models/ nothing from tools/, kernels/ no autograd API",
    "[suite][layering]") {
  const fs::path root = SN_SOURCE_DIR;
  REQUIRE(fs::is_directory(root / "engine"));
  REQUIRE(fs::is_directory(root / "kernels"));
  const auto bad = layering_violations(root);
  for (const auto& b : bad) UNSCOPED_INFO(b);
  CHECK(bad.empty());
}

TEST_CASE("layering: the check finds an include that points up", "[suite][layering]") {
  const fs::path root = fs::temp_directory_path() / ("sn_layering_" + std::to_string(::getpid()));
  fs::remove_all(root);
  fs::create_directories(root / "engine" / "ops");
  fs::create_directories(root / "models");
  fs::create_directories(root / "kernels");
  std::ofstream(root / "engine/ops/ok.cpp") << "#include \"engine/ops.h\"\n#include <vector>\n";
  std::ofstream(root / "engine/ops/up.cpp") << "// fine\n#include \"models/resnet.h\"\n";
  std::ofstream(root / "models/up.h") << "#  include \"tools/experiment/config.h\"\n";
  std::ofstream(root / "kernels/k.cuh") << "#include \"engine/kernel_shapes.h\"\n#include \"engine/ops.h\"\n";
  const auto bad = layering_violations(root);
  fs::remove_all(root);
  for (const auto& b : bad) UNSCOPED_INFO(b);
  REQUIRE(bad.size() == 3);
  CHECK(bad[0].rfind("engine/ops/up.cpp:2:", 0) == 0);
  CHECK(bad[1].rfind("models/up.h:1:", 0) == 0);
  CHECK(bad[2].rfind("kernels/k.cuh:2:", 0) == 0);
}

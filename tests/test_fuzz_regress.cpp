// Inputs that once crashed a fuzz target (tools/fuzz/), replayed through the
// same harness (tools/fuzz/harness.h) and so through the normal readers. Each
// must now end in a clean result or an sn::Error naming the file it read;
// under the asan preset the sanitizers also watch every byte touched.
// A new finding: copy build/fuzz/crashes/TARGET/crash-* to tests/fixtures/regress/TARGET/NAME.
#include <dirent.h>

#include <algorithm>
#include <functional>

#include "engine/check.h"
#include "engine/io/atomic_file.h"
#include "tests/helpers.h"
#include "tools/fuzz/harness.h"
#if SCRATCHNET_ONNX
#include "tools/fuzz/harness_onnx.h"
#endif

using namespace sn;

namespace {

std::vector<std::string> regress_inputs(const std::string& target) {
  const std::string dir = std::string(SN_SOURCE_DIR) + "/tests/fixtures/regress/" + target;
  std::vector<std::string> files;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d))
      if (e->d_name[0] != '.') files.push_back(dir + "/" + e->d_name);
    ::closedir(d);
  }
  std::sort(files.begin(), files.end());
  return files;
}

// Replays every saved input of `target`; returns how many ended in an sn::Error.
size_t replay(const std::string& target, const std::function<void(const uint8_t*, size_t)>& run,
              bool must_have_inputs = true) {
  const auto files = regress_inputs(target);
  if (must_have_inputs) REQUIRE(!files.empty());  // the inputs are part of the suite: none means a broken checkout
  size_t errors = 0;
  for (const auto& f : files) {
    INFO(f);
    const std::vector<uint8_t> bytes = io::read_file(f);
    try {
      run(bytes.data(), bytes.size());
    } catch (const Error& e) {
      ++errors;
      // Every error names the file it was reading (all of them live in the scratch directory).
      CHECK_THAT(e.what(), Catch::Contains(fuzz::scratch_dir()));
    }
  }
  return errors;
}

}  // namespace

TEST_CASE("fuzz regressions: weight-file reader", "[io][fuzz]") {
  // empty_tensor_memcpy_null: a (0, 4) tensor made WeightFile::tensor memcpy from a null pointer (UBSan).
  replay("weight_file", fuzz::run_weight_file);
}

TEST_CASE("fuzz regressions: .pth reader", "[io][pth][fuzz]") { replay("pth", fuzz::run_pth); }

TEST_CASE("fuzz regressions: TF.js reader", "[io][tfjs][fuzz]") {
  // weight_without_name: a manifest entry without "name" escaped as nlohmann::json::out_of_range.
  CHECK(replay("tfjs", fuzz::run_tfjs) == regress_inputs("tfjs").size());
}

TEST_CASE("fuzz regressions: checkpoint reader", "[train][fuzz]") {
  // tensor_without_offset: a tensor entry without "offset" escaped as nlohmann::json::out_of_range.
  CHECK(replay("checkpoint", fuzz::run_checkpoint) == regress_inputs("checkpoint").size());
}

#ifdef SN_FUZZ_HAVE_IMAGE
TEST_CASE("fuzz regressions: image decoding and transforms", "[data][fuzz]") {
  replay("image", fuzz::run_image, false);
}
#endif

#if SCRATCHNET_ONNX
TEST_CASE("fuzz seeds and regressions: ONNX reader", "[onnx][fuzz]") {
  // The seeds (tools/fuzz/corpus/onnx: small ResNets exported by torch and by scratchnet) convert cleanly.
  const std::string seeds = std::string(SN_SOURCE_DIR) + "/tools/fuzz/corpus/onnx";
  size_t n = 0;
  if (DIR* d = ::opendir(seeds.c_str())) {
    while (dirent* e = ::readdir(d)) {
      if (e->d_name[0] == '.') continue;
      INFO(e->d_name);
      const std::vector<uint8_t> bytes = io::read_file(seeds + "/" + e->d_name);
      CHECK_NOTHROW(fuzz::run_onnx(bytes.data(), bytes.size()));
      ++n;
    }
    ::closedir(d);
  }
  CHECK(n >= 3);
  replay("onnx", fuzz::run_onnx, false);
}
#endif

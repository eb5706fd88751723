// Errors for people (engine/check.h): a user's mistake is one plain line,
// "scratchnet: error: <what is wrong and what to do>", with no source path;
// an internal invariant failure keeps the file and line of the check and says
// it is a bug. Checked on the macros, on the kind surviving a worker thread,
// and on the CLI for a bad option, a missing folder, a bad image, a bad weight
// file, a directory that already holds a run, and an internal failure.
#include <fstream>

#include "engine/check.h"
#include "engine/data/folder.h"
#include "engine/data/loader.h"
#include "engine/data/transforms.h"
#include "tests/cli_helpers.h"
#include "tests/helpers.h"
#include "tests/train_fixture.h"
#include "tools/experiment/run_dir.h"
#include "tools/experiment/trainer.h"

using namespace sn;

namespace {

// Exactly one line, "scratchnet: error: ...", no source location.
void check_user_error_line(const std::pair<int, std::string>& result, const std::string& must_contain) {
  const auto& [rc, out] = result;
  INFO(out);
  CHECK(rc != 0);  // 1, or CLI11's own code for a bad option
  CHECK(out.rfind("scratchnet: error: ", 0) == 0);
  CHECK(std::count(out.begin(), out.end(), '\n') == 1);
  CHECK(out.find(".cpp") == std::string::npos);
  CHECK(out.find("check failed") == std::string::npos);
  CHECK(out.find(must_contain) != std::string::npos);
}

// A copy of the tiny data set (links to the photos) with one more file.
std::string data_with_extra_file(const std::string& name, const std::string& extra, const std::string& bytes) {
  const std::string dir = test::fresh_run_dir(name);
  const std::string tiny = test::tiny_data();
  REQUIRE(test::run_shell("cp -a '" + tiny + "' '" + dir + "'").first == 0);
  std::ofstream(dir + "/" + extra) << bytes;
  return dir;
}

}  // namespace

TEST_CASE("errors: SN_USER_CHECK is a UserError with the message alone, SN_CHECK keeps file and line", "[errors]") {
  try {
    SN_USER_CHECK(1 + 1 == 3, "data folder ", "x", " does not exist");
    FAIL("no throw");
  } catch (const UserError& e) {
    CHECK(std::string(e.what()) == "data folder x does not exist");
  }
  try {
    SN_CHECK(1 + 1 == 3, "an invariant");
    FAIL("no throw");
  } catch (const UserError&) {
    FAIL("an internal check threw a UserError");
  } catch (const Error& e) {
    const std::string msg = e.what();
    CHECK(msg.rfind("an invariant [", 0) == 0);
    CHECK(msg.find("test_user_errors.cpp:") != std::string::npos);
    CHECK(msg.find("check failed: 1 + 1 == 3") != std::string::npos);
  }
  // Code that adds context keeps the kind.
  CHECK_THROWS_AS(std::rethrow_exception(same_kind(UserError("a"), "b: a")), UserError);
  try {
    std::rethrow_exception(same_kind(Error("a"), "b: a"));
  } catch (const UserError&) {
    FAIL("an internal error became a user's");
  } catch (const Error& e) {
    CHECK(std::string(e.what()) == "b: a");
  }
}

TEST_CASE("errors: a bad image found by a loader worker thread reaches the caller as a UserError naming it",
          "[errors][data]") {
  const std::string dir = data_with_extra_file("errors_bad_image_loader", "train/Cat/zz-bad.jpg", "not a JPEG");
  const auto folder = data::ImageFolder::scan(dir + "/train");
  data::LoaderOptions lo;
  lo.batch_size = 4;
  lo.num_workers = 2;
  lo.quiet = true;
  data::DataLoader loader(
      folder, data::Compose({std::make_shared<data::Resize>(8, 8), std::make_shared<data::ToTensor>()}), lo);
  loader.start_epoch(0);
  data::Batch b;
  try {
    while (loader.next(b)) {
    }
    FAIL("the bad image went unnoticed");
  } catch (const UserError& e) {
    CHECK_THAT(e.what(), Catch::Contains("zz-bad.jpg") && Catch::Contains("not an image"));
  }
}

TEST_CASE("scratchnet: a user's mistake is one plain line, an internal failure keeps file and line", "[errors][cli]") {
  const std::string run = test::fresh_run_dir("errors_cli");
  const std::string tiny = test::tiny_train_args(run) + " --quiet";
  // The tiny run's options but the data folder and the weights, which the cases replace.
  const auto c = test::tiny_config(run);
  auto tiny_with = [&](const std::string& data, const std::string& weights) {
    return "train --data '" + data + "' --out '" + run + "' --model resnet18 --weights '" + weights +
           "' --batch-size 4 --resize 40 --crop 32 --device cpu --workers 0 --quiet";
  };
  // A bad option (CLI11's message, in the same form).
  check_user_error_line(test::run_scratchnet("train --data x --out y --no-such-option"), "--no-such-option");
  // A missing folder: the message says which layout is expected.
  check_user_error_line(test::run_scratchnet("train --data /nonexistent-data --out '" + run + "'"),
                        "/nonexistent-data/train/<class>/");
  // A bad weight file.
  const std::string bad_weights = test::fresh_run_dir("errors_bad.snw");
  std::ofstream(bad_weights) << "this is not a weight file, but it is long enough to have a header of 64 bytes";
  check_user_error_line(test::run_scratchnet(tiny_with(c.data, bad_weights)), "not a scratchnet weight file");
  CHECK_FALSE(train::path_exists(run));
  // A bad image (stderr only: the training-grid warning goes to stdout).
  const std::string data = data_with_extra_file("errors_bad_image_cli", "train/Dog/zz-bad.jpg", "not a JPEG");
  check_user_error_line(test::run_scratchnet(tiny_with(data, c.weights), true), "zz-bad.jpg: not an image");
  CHECK_FALSE(train::path_exists(run));  // nothing left behind
  // A directory that already holds a run (the example of issue 15).
  REQUIRE(test::run_scratchnet(tiny + " --epochs 1").first == 0);
  check_user_error_line(test::run_scratchnet(tiny + " --epochs 1"), "already holds a run (1 checkpoints)");
  // An internal invariant failure (a test hook fails one on purpose).
  const auto [rc, out] = test::run_scratchnet("version --test-internal-error", true);
  INFO(out);
  CHECK(rc == 1);
  CHECK(out.rfind("scratchnet: internal error (a bug in scratchnet): internal check failed on purpose", 0) == 0);
  CHECK(out.find("cmd_version.cpp:") != std::string::npos);
  CHECK(out.find("check failed: !*fail_check") != std::string::npos);
}

TEST_CASE("tools/run-experiment.sh --data: a missing folder is explained (layout, where the photos come from)",
          "[errors][cli]") {
  // Fails on the data check, before it installs or builds anything.
  const std::string script = std::string(SN_SOURCE_DIR) + "/tools/run-experiment.sh";
  for (const std::string& dir : {std::string("/nonexistent-data"), test::tiny_data() + "/train"}) {
    const auto [rc, out] = test::run_shell("bash '" + script + "' --data '" + dir + "'");
    INFO(out);
    CHECK(rc == 1);
    CHECK(out.find("expected: " + dir + "/train/<class>/ and " + dir + "/test/<class>/") != std::string::npos);
    CHECK(out.find("385 training and 98 test") != std::string::npos);
    CHECK(out.find("public repository (chapter 5)") != std::string::npos);
    CHECK(out.find("install") == std::string::npos);  // nothing else ran
  }
}

// report.html rendered by a real browser (Debian's chromium, headless): the
// page must not be blank and must show its charts and grids. The run
// directory is synthetic (13 epochs of made-up metrics, predictions on real
// test photos) so that this test needs no training.
#include <cstdio>
#include <fstream>
#include <memory>

#include "engine/io/atomic_file.h"
#include "tests/helpers.h"
#include "tools/experiment/report.h"
#include "tools/experiment/run_dir.h"

using namespace sn;
using namespace sn::train;
using nlohmann::json;

namespace {

std::string run_command(const std::string& cmd) {
  std::string out;
  std::unique_ptr<FILE, int (*)(FILE*)> p(popen(cmd.c_str(), "r"), pclose);
  REQUIRE(p);
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p.get())) > 0) out.append(buf, n);
  return out;
}

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t pos = s.find(what); pos != std::string::npos; pos = s.find(what, pos + 1)) ++n;
  return n;
}

// A run directory with 13 epochs of metrics, an eval.json over real test photos.
RunPaths synthetic_run(const std::string& name) {
  const RunPaths run(std::string(SN_BINARY_DIR) + "/test_runs/" + name);
  std::system(("rm -rf '" + run.root + "'").c_str());
  make_dirs(run.root);
  write_json(run.config(), {{"model", "resnet50"}, {"data", "catanddog"}, {"epochs", 13}, {"lr", 1e-3}});
  {
    MetricsWriter m(run.metrics(), false);
    m.write({{"type", "start"},
             {"classes", {"Cat", "Dog"}},
             {"train_images", 385},
             {"test_images", 98},
             {"machine", {{"cpu", "test cpu"}, {"cores", 2}}}});
    for (int e = 1; e <= 13; ++e)
      m.write({{"type", "epoch"},
               {"epoch", e},
               {"train_loss", 0.6 / e},
               {"train_acc", 0.8 + 0.01 * e},
               {"time_s", 30.0},
               {"images_per_s", 12.8}});
  }
  json eval = {{"classes", {"Cat", "Dog"}}, {"time_s", 40.0}};
  for (int e = 1; e <= 13; ++e)
    eval["checkpoints"].push_back({{"epoch", e}, {"acc", 0.85 + 0.008 * e}, {"loss", 0.5 / e}});
  eval["best"] = {{"epoch", 13}, {"acc", 0.954}};
  eval["per_class"] = {{{"class", "Cat"}, {"correct", 45}, {"total", 48}, {"acc", 45.0 / 48}},
                       {{"class", "Dog"}, {"correct", 48}, {"total", 50}, {"acc", 0.96}}};
  eval["confusion"] = {{45, 3}, {2, 48}};
  for (int i = 0; i < 20; ++i) {
    const bool dog = i >= 10;
    const std::string path = test::data_path(std::string("catanddog/test/") + (dog ? "Dog/" : "Cat/") +
                                             std::to_string((dog ? 8100 : 8100) + i % 10) + ".jpg");
    const bool correct = i % 7 != 3;
    eval["predictions"].push_back({{"path", path},
                                   {"label", dog ? "Dog" : "Cat"},
                                   {"pred", correct == dog ? "Dog" : "Cat"},
                                   {"correct", correct}});
  }
  // Misclassified: 5 photos, with the probability of the (wrong) predicted class.
  for (int i = 0; i < 5; ++i) {
    const bool dog = i % 2;
    eval["misclassified"].push_back({{"path", test::data_path(std::string("catanddog/test/") + (dog ? "Dog/" : "Cat/") +
                                                              std::to_string(8110 + i) + ".jpg")},
                                     {"label", dog ? "Dog" : "Cat"},
                                     {"pred", dog ? "Cat" : "Dog"},
                                     {"prob", 0.5 + 0.1 * i},
                                     {"correct", false}});
  }
  write_json(run.eval(), eval);
  return run;
}

const char* kChromium = "chromium --headless --disable-gpu --no-sandbox --hide-scrollbars";

}  // namespace

TEST_CASE("report.html in headless chromium: not blank, charts and grids present", "[experiment][report][browser]") {
  INFO("needs Debian's chromium (tools/install-deps.sh installs it)");
  REQUIRE(run_command("command -v chromium") != "");
  const RunPaths run = synthetic_run("browser");
  const std::string report = write_report(run);

  // 1. The DOM as the browser parsed it: the SVG charts with their curves, the
  //    20-image prediction grid with green and red titles, the tables.
  const std::string dom = run_command(std::string(kChromium) + " --dump-dom 'file://" + report + "' 2>/dev/null");
  INFO("dumped DOM has " << dom.size() << " bytes");
  REQUIRE(dom.size() > 10000);
  CHECK(count(dom, "<svg") == 2);
  CHECK(count(dom, "<polyline") == 4);  // train and test, accuracy and loss
  CHECK(count(dom, "<circle") == 4 * 13);
  CHECK(count(dom, "class=\"cell ok\"") + count(dom, "class=\"cell bad\"") == 20 + 5);
  CHECK(count(dom, "class=\"cell bad\"") == 3 + 5);  // i % 7 == 3: i = 3, 10, 17; and the 5 misclassified
  CHECK(count(dom, "src=\"data:image/") >= 25);
  // The misclassified photos in their own grid, before the 20, each with the probability.
  const size_t miss = dom.find("id=\"misclassified\""), grid = dom.find("id=\"predictions\"");
  REQUIRE(miss != std::string::npos);
  REQUIRE(grid != std::string::npos);
  CHECK(miss < grid);
  const std::string miss_grid = dom.substr(miss, grid - miss);
  CHECK(count(miss_grid, "class=\"cell bad\"") == 5);
  CHECK(count(miss_grid, "class=\"cell ok\"") == 0);
  CHECK(miss_grid.find("Dog(Cat)<br>p = 0.500") != std::string::npos);
  CHECK(miss_grid.find("Cat(Dog)<br>p = 0.900") == std::string::npos);  // i = 4 is a cat
  CHECK(miss_grid.find("Dog(Cat)<br>p = 0.900") != std::string::npos);
  CHECK(dom.find("Misclassified: 5 of 98 test images") != std::string::npos);
  CHECK(dom.find("Cat(Cat)") != std::string::npos);
  CHECK(dom.find("Best test accuracy") != std::string::npos);
  CHECK(dom.find("id=\"confusion\"") != std::string::npos);

  // 2. A screenshot: the rendered page carries far more ink than a blank page
  //    of the same size (PNG size grows with the picture's content: a blank
  //    1200x2400 page compresses to a few kilobytes, charts and 20 photos to
  //    hundreds).
  const std::string shot = run.root + "/report.png", blank_html = run.root + "/blank.html",
                    blank_shot = run.root + "/blank.png";
  std::ofstream(blank_html) << "<!DOCTYPE html><html><body></body></html>";
  for (auto [page, png] : {std::pair{report, shot}, std::pair{blank_html, blank_shot}}) {
    std::remove(png.c_str());
    run_command(std::string(kChromium) + " --window-size=1200,2400 --screenshot='" + png + "' 'file://" + page +
                "' 2>/dev/null");
  }
  const size_t page_bytes = io::read_file(shot).size(), blank_bytes = io::read_file(blank_shot).size();
  INFO("screenshot " << page_bytes << " bytes, blank page " << blank_bytes << " bytes");
  CHECK(page_bytes > 20 * blank_bytes);
  CHECK(page_bytes > 200000);
}

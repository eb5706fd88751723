#include "tests/train_fixture.h"

#include <dirent.h>
#include <unistd.h>
#include <algorithm>
#include <vector>

#include "engine/io/weight_file.h"
#include "models/resnet.h"
#include "tests/helpers.h"
#include "tools/experiment/run_dir.h"

namespace sn::test {

static std::string runs_root() { return std::string(SN_BINARY_DIR) + "/test_runs"; }

static std::vector<std::string> sorted_files(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  REQUIRE(d);
  while (dirent* e = ::readdir(d))
    if (e->d_name[0] != '.') out.push_back(e->d_name);
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

std::string tiny_data(int per_class) {
  const std::string root = runs_root() + "/tinydata" + std::to_string(per_class);
  if (train::is_directory(root + "/test/Dog")) return root;  // made by an earlier test
  const std::string tmp = root + ".tmp" + std::to_string(::getpid());
  for (const char* split : {"train", "test"})
    for (const char* cls : {"Cat", "Dog"}) {
      const std::string src = data_path(std::string("catanddog/") + split + "/" + cls);
      const std::string dst = tmp + "/" + split + "/" + cls;
      train::make_dirs(dst);
      const auto files = sorted_files(src);
      const size_t n = std::string(split) == "train" ? per_class : per_class / 2;
      for (size_t i = 0; i < n && i < files.size(); ++i)
        REQUIRE(::symlink((src + "/" + files[i]).c_str(), (dst + "/" + files[i]).c_str()) == 0);
    }
  // Atomic publication: tests running in parallel (ctest -j) never see a half-made folder.
  if (::rename(tmp.c_str(), root.c_str()) != 0) std::system(("rm -rf '" + tmp + "'").c_str());
  return root;
}

std::string tiny_weights(const std::string& arch, int width) {
  const std::string path = runs_root() + "/tiny-" + arch + "-w" + std::to_string(width) + ".snw";
  if (train::path_exists(path)) return path;
  train::make_dirs(runs_root());
  models::ResNetConfig cfg;
  cfg.arch = arch;
  cfg.width = width;
  cfg.num_classes = 10;
  Rng rng(1234);
  models::ResNet net(cfg, rng);
  io::WeightMeta meta;
  meta.architecture = arch;
  meta.model = cfg.to_json();
  meta.metadata = {{"source", "random weights for scratchnet's tests"}};
  io::write_weight_file(path, meta, net.state_dict());  // atomic: parallel tests see all or nothing
  return path;
}

std::string fresh_run_dir(const std::string& name) {
  const std::string dir = runs_root() + "/" + name;
  std::system(("rm -rf '" + dir + "'").c_str());
  return dir;
}

train::TrainConfig tiny_config(const std::string& out) {
  train::TrainConfig c;
  c.data = tiny_data();
  c.out = out;
  c.model = "resnet18";
  c.weights = tiny_weights();
  c.epochs = 3;
  c.batch_size = 4;
  c.resize = 40;
  c.crop = 32;
  c.workers = 0;
  c.device = "cpu";
  c.quiet = true;
  return c;
}

}  // namespace sn::test

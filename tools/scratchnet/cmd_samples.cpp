// `scratchnet samples`: the data pictures of the textbook chapter.
//   train_samples.png  24 training images (12 per class, folder order) with their labels
//   train_batch.png    the first 24 samples of epoch 1 exactly as `scratchnet train --seed S`
//                      draws them (Resize(256, 256), RandomResizedCrop(224), flip; without
//                      normalization): the same picture as a run's RUN_DIR/train_samples.png
//                      (tools/experiment/samples_grid.h)
//   cat_crops.png      8 RandomResizedCrop(200, scale (0.1, 1), ratio (0.5, 2)) of cat.jpg
#include <cstdio>
#include <filesystem>

#include "engine/check.h"
#include "engine/data/decode.h"
#include "engine/data/draw.h"
#include "engine/data/folder.h"
#include "engine/data/transforms.h"
#include "tools/experiment/config.h"
#include "tools/experiment/experiment_data.h"
#include "tools/experiment/samples_grid.h"
#include "tools/scratchnet/commands.h"

using namespace sn::data;

namespace {

struct Options {
  std::string data = "../shared/datasets/catanddog/train";
  std::string cat = "../shared/datasets/cat.jpg";
  std::string out = "samples";
  uint64_t seed = 0;
  int resize = sn::train::TrainConfig().resize;
  int crop = sn::train::TrainConfig().crop;
};

int run_samples(const Options& o) {
  std::filesystem::create_directories(o.out);
  const ImageFolder train = ImageFolder::scan(o.data);
  std::printf("%s\n", train.summary().c_str());

  // (a) 12 images of each class, as they are on disk, scaled to fit 160x160.
  std::vector<GridTile> tiles;
  for (size_t label = 0; label < train.classes.size(); ++label) {
    int taken = 0;
    for (size_t i = 0; i < train.size() && taken < 12; ++i) {
      if (train.labels[i] != static_cast<int64_t>(label)) continue;
      tiles.push_back({fit_within(load_image(train.paths[i]), 160, 160), train.classes[label], kBlack});
      ++taken;
    }
  }
  GridStyle style;
  style.columns = 8;
  style.title = "24 training images with their labels";
  const std::string raw_path = o.out + "/train_samples.png";
  write_png(raw_path, make_grid(tiles, style));
  std::printf("wrote %s\n", raw_path.c_str());

  // (b) The first samples of epoch 1, drawn as the trainer draws them (its transform, seed and epoch).
  sn::train::TrainConfig display;
  display.seed = o.seed;
  display.resize = o.resize;
  display.crop = o.crop;
  display.normalize = false;  // the pictures as they are, in [0, 1]
  const std::string batch_path = o.out + "/train_batch.png";
  sn::train::write_training_grid(batch_path, train, sn::train::train_transform(display, sn::io::Preprocessing{}),
                                 o.seed, 24);
  std::printf("wrote %s\n", batch_path.c_str());

  // (c) RandomResizedCrop(200, scale=(0.1, 1), ratio=(0.5, 2)) of the cat, 8 times.
  const Image cat = load_image(o.cat);
  const RandomResizedCropParams p{{0.1, 1.0}, {0.5, 2.0}};
  sn::Rng rng(o.seed);
  tiles.clear();
  for (int i = 0; i < 8; ++i) {
    const CropBox b = random_resized_crop_box(cat.width, cat.height, p, rng);
    const std::string caption = std::to_string(b.width) + "x" + std::to_string(b.height) + " at (" +
                                std::to_string(b.left) + ", " + std::to_string(b.top) + ")";
    tiles.push_back({resized_crop(cat, b, 200, 200), caption, kGray});
  }
  style.columns = 4;
  style.caption_px = 14.f;
  style.title = "RandomResizedCrop(200, scale=(0.1, 1), ratio=(0.5, 2)) of cat.jpg";
  const std::string crop_path = o.out + "/cat_crops.png";
  write_png(crop_path, make_grid(tiles, style));
  std::printf("wrote %s\n", crop_path.c_str());
  return 0;
}

}  // namespace

static sn::cli::Register reg([](CLI::App& app) {
  auto opts = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("samples", "Write picture grids of training samples and RandomResizedCrop results");
  cmd->add_option("--data", opts->data, "training ImageFolder (one sub-folder per class)")->capture_default_str();
  cmd->add_option("--cat", opts->cat, "image for the RandomResizedCrop grid")->capture_default_str();
  cmd->add_option("--out", opts->out, "output folder for the PNG files")->capture_default_str();
  cmd->add_option("--seed", opts->seed, "random seed (shuffle and crops), as `scratchnet train --seed`")
      ->capture_default_str();
  cmd->add_option("--resize", opts->resize, "the training Resize, as `scratchnet train --resize` (test use)")
      ->group("");
  cmd->add_option("--crop", opts->crop, "the training crop size, as `scratchnet train --crop` (test use)")->group("");
  cmd->callback([opts] { sn::cli::run([opts] { return run_samples(*opts); }); });
});

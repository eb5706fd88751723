#include "tools/experiment/samples_grid.h"

#include "engine/data/draw.h"
#include "engine/data/loader.h"

namespace sn::train {

void write_training_grid(const std::string& png_path, const data::ImageFolder& train,
                         const data::Compose& display_transform, uint64_t seed, int count) {
  data::LoaderOptions lo;
  lo.batch_size = count;
  lo.shuffle = true;
  lo.seed = seed;
  lo.cache_bytes = 0;
  lo.quiet = true;
  data::DataLoader loader(train, display_transform, lo);
  loader.start_epoch(1);  // the trainer's first epoch
  data::Batch b;
  if (!loader.next(b)) return;
  std::vector<data::GridTile> tiles;
  for (int64_t i = 0; i < b.size(); ++i)
    // At most 160 pixels a side: the grid is embedded in report.html, keep it light.
    tiles.push_back(
        {data::fit_within(data::tensor_to_image(b.images.slice(i, i + 1).view({3, b.images.size(2), b.images.size(3)})),
                          160, 160),
         train.classes[b.labels[i]], data::kBlack});
  data::GridStyle style;
  style.columns = 6;
  style.title = "Training samples (epoch 1, as the model sees them)";
  data::write_png(png_path, data::make_grid(tiles, style));
}

}  // namespace sn::train

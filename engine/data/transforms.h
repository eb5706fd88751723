// transforms.h — torchvision's image transforms, same parameters, same pixels.
//
// A pipeline is a Compose of steps applied to a Sample: an 8-bit RGB Image
// until ToTensor, then a float (3, H, W) tensor. As in torchvision:
//
//   Compose train({std::make_shared<Resize>(256, 256),
//                  std::make_shared<RandomResizedCrop>(224),
//                  std::make_shared<RandomHorizontalFlip>(),
//                  std::make_shared<ToTensor>(),
//                  std::make_shared<Normalize>(mean, std)});
//   Tensor x = train(image, rng);   // (3, 224, 224)
//
// Every random step draws from the Rng passed in, nothing else, so a sample's
// augmentation is fixed by the seed of that Rng (the DataLoader derives one
// per sample and epoch). The leading steps that draw nothing (e.g. a Resize)
// are "deterministic": the DataLoader caches their result.
//
// Geometry follows torchvision 0.14 on PIL images exactly: Resize with
// Pillow's antialiased bilinear filter (resample.h), CenterCrop's rounding
// and zero padding, RandomResizedCrop's 10-attempt box sampling with its
// center-crop fallback. Only the random numbers differ (scratchnet's Rng is
// not torch's generator): the box distributions are the same
// (tests/test_data_transforms.cpp compares them with torchvision's).
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/data/image.h"
#include "engine/random.h"
#include "engine/tensor.h"

namespace sn::data {

// ---- geometry helpers (each a torchvision.transforms.functional counterpart) ----

// A crop rectangle, torchvision's (top, left, height, width) = (i, j, h, w).
struct CropBox {
  int top = 0, left = 0, height = 0, width = 0;
};
inline bool operator==(const CropBox& a, const CropBox& b) {
  return a.top == b.top && a.left == b.left && a.height == b.height && a.width == b.width;
}

// PIL's Image.crop: the part outside the image is filled with zeros (black).
Image crop(const Image& img, const CropBox& box);
Image hflip(const Image& img);
// Image.resize((width, height), BILINEAR): the antialiased bilinear filter of PIL.
Image resize(const Image& img, int width, int height);
// F.resized_crop: crop, then resize the crop to (width, height) (no copy is made of the crop).
Image resized_crop(const Image& img, const CropBox& box, int width, int height);

// Python's round(): halves go to the even neighbour (round(16.5) == 16, round(17.5) == 18).
int round_half_even(double x);

// Resize(size) with one int: the shorter side becomes `size`, the longer
// int(size * long / short) (truncated, as torchvision computes it).
std::array<int, 2> shorter_side_size(int width, int height, int size);  // -> {width, height}

// F.center_crop's box; negative offsets mean zero padding (crop larger than the image).
CropBox center_crop_box(int img_w, int img_h, int crop_w, int crop_h);

struct RandomResizedCropParams {
  std::array<double, 2> scale{0.08, 1.0};             // area of the box / area of the image
  std::array<double, 2> ratio{3.0 / 4.0, 4.0 / 3.0};  // width / height of the box
};
// RandomResizedCrop.get_params: up to 10 tries of (area, log-uniform aspect),
// then a centered crop with the aspect ratio clamped into `ratio`.
CropBox random_resized_crop_box(int img_w, int img_h, const RandomResizedCropParams& p, Rng& rng);

// ---- the pipeline -------------------------------------------------------------

struct Sample {
  Image image;    // until ToTensor
  Tensor tensor;  // (3, H, W) float, after ToTensor
  // Optional: where ToTensor should write, if the shape matches (the
  // DataLoader passes the sample's row of the batch, saving a copy).
  Tensor destination;
  bool is_tensor() const { return tensor.defined(); }
};

class Transform {
 public:
  virtual ~Transform() = default;
  virtual void apply(Sample& s, Rng& rng) const = 0;
  // True when apply() draws random numbers; the DataLoader caches the result
  // of the leading non-random steps.
  virtual bool is_random() const { return false; }
  virtual std::string name() const = 0;  // e.g. "Resize(256, 256)"
};
using TransformPtr = std::shared_ptr<const Transform>;

class Compose {
 public:
  Compose() = default;
  Compose(std::vector<TransformPtr> steps) : steps_(std::move(steps)) {}
  const std::vector<TransformPtr>& steps() const { return steps_; }
  // Runs steps [begin, end) on s.
  void apply(Sample& s, Rng& rng, size_t begin = 0, size_t end = SIZE_MAX) const;
  // Runs every step and returns the tensor (the last step must be ToTensor or come after it).
  Tensor operator()(Image img, Rng& rng) const;
  // Number of leading steps that are not random and keep an Image (cacheable).
  size_t deterministic_prefix() const;
  std::string describe() const;  // "Compose(Resize(256, 256), ToTensor())"

 private:
  std::vector<TransformPtr> steps_;
};

// Resize((height, width)) or Resize(size): the shorter side to `size`.
class Resize : public Transform {
 public:
  Resize(int height, int width);
  explicit Resize(int shorter_side);
  void apply(Sample& s, Rng& rng) const override;
  std::string name() const override;
  // The output (width, height) for an input of that size.
  std::array<int, 2> output_size(int width, int height) const;

 private:
  int height_ = 0, width_ = 0, shorter_ = 0;
};

class CenterCrop : public Transform {
 public:
  CenterCrop(int height, int width);
  explicit CenterCrop(int size) : CenterCrop(size, size) {}
  void apply(Sample& s, Rng& rng) const override;
  std::string name() const override;

 private:
  int height_, width_;
};

class RandomResizedCrop : public Transform {
 public:
  explicit RandomResizedCrop(int size, RandomResizedCropParams p = {}) : RandomResizedCrop(size, size, p) {}
  RandomResizedCrop(int height, int width, RandomResizedCropParams p = {});
  void apply(Sample& s, Rng& rng) const override;
  bool is_random() const override { return true; }
  std::string name() const override;

 private:
  int height_, width_;
  RandomResizedCropParams params_;
};

// Flips left-right with probability p (one uniform draw per sample, flipped if < p).
class RandomHorizontalFlip : public Transform {
 public:
  explicit RandomHorizontalFlip(double p = 0.5);
  void apply(Sample& s, Rng& rng) const override;
  bool is_random() const override { return true; }
  std::string name() const override;

 private:
  double p_;
};

// uint8 HWC -> float (3, H, W) in [0, 1]: value / 255 (a float division, as torch's div(255)).
class ToTensor : public Transform {
 public:
  void apply(Sample& s, Rng& rng) const override;
  std::string name() const override { return "ToTensor()"; }
};

// (x - mean[c]) / std[c] per channel, in float, as torchvision's Normalize.
class Normalize : public Transform {
 public:
  Normalize(std::array<float, 3> mean, std::array<float, 3> std);
  void apply(Sample& s, Rng& rng) const override;
  std::string name() const override;

 private:
  std::array<float, 3> mean_, std_;
};

// Reverses the channel order, RGB -> BGR (for models trained on BGR input, e.g. Caffe's).
class SwapRB : public Transform {
 public:
  void apply(Sample& s, Rng& rng) const override;
  std::string name() const override { return "SwapRB()"; }
};

// ImageNet statistics used by torchvision's pretrained models.
constexpr std::array<float, 3> kImageNetMean{0.485f, 0.456f, 0.406f};
constexpr std::array<float, 3> kImageNetStd{0.229f, 0.224f, 0.225f};

}  // namespace sn::data

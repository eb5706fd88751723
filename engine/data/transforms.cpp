#include "engine/data/transforms.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <sstream>

#include "engine/check.h"
#include "engine/data/resample.h"

namespace sn::data {

// ---- geometry -------------------------------------------------------------------

Image crop(const Image& img, const CropBox& b) {
  SN_CHECK(b.width > 0 && b.height > 0, "crop: empty box ", b.width, "x", b.height);
  Image out(b.width, b.height, 0);
  // Copy the part of the box that overlaps the image; the rest stays black.
  const int x0 = std::max(0, b.left), x1 = std::min(img.width, b.left + b.width);
  const int y0 = std::max(0, b.top), y1 = std::min(img.height, b.top + b.height);
  for (int y = y0; y < y1 && x0 < x1; ++y)
    std::memcpy(out.row(y - b.top) + (x0 - b.left) * 3, img.row(y) + x0 * 3, static_cast<size_t>(x1 - x0) * 3);
  return out;
}

Image hflip(const Image& img) {
  Image out(img.width, img.height);
  for (int y = 0; y < img.height; ++y) {
    const uint8_t* src = img.row(y);
    uint8_t* dst = out.row(y);
    for (int x = 0; x < img.width; ++x) std::memcpy(dst + 3 * x, src + 3 * (img.width - 1 - x), 3);
  }
  return out;
}

Image resize(const Image& img, int width, int height) {
  const ImageView v(img);
  return cpu::resize_bilinear(v, width, height, full_box(v));
}

Image resized_crop(const Image& img, const CropBox& b, int width, int height) {
  SN_CHECK(b.width > 0 && b.height > 0, "resized_crop: empty box ", b.width, "x", b.height);
  const bool inside = b.left >= 0 && b.top >= 0 && b.left + b.width <= img.width && b.top + b.height <= img.height;
  if (!inside) return resize(crop(img, b), width, height);  // padded crop: materialize it
  // A view of the box: resizing it equals PIL's crop() then resize(), without the copy.
  ImageView v(img);
  v.data = img.row(b.top) + static_cast<size_t>(b.left) * 3;
  v.width = b.width;
  v.height = b.height;
  return cpu::resize_bilinear(v, width, height, full_box(v));
}

int round_half_even(double x) {
  // std::nearbyint rounds in the current rounding mode, by default to nearest
  // with ties to even: exactly Python 3's round().
  return static_cast<int>(std::nearbyint(x));
}

std::array<int, 2> shorter_side_size(int width, int height, int size) {
  SN_CHECK(width > 0 && height > 0 && size > 0, "Resize(", size, ") of a ", width, "x", height, " image");
  const int64_t shorter = std::min(width, height), longer = std::max(width, height);
  // torchvision: int(size * long / short), a float division truncated.
  const double new_long_d = static_cast<double>(size * longer) / static_cast<double>(shorter);
  // An extreme aspect ratio (a 1 x 100000 image) would make the output huge (256 x 25600000):
  // refused above PIL's pixel limit, before the int conversion could overflow. Found by tools/fuzz.
  constexpr double kMaxPixels = 89478485;  // PIL's Image.MAX_IMAGE_PIXELS, as DecodeOptions::max_pixels
  SN_USER_CHECK(new_long_d * size <= kMaxPixels, "Resize(", size, ") of a ", width, "x", height, " image would make ",
                static_cast<int64_t>(new_long_d), " x ", size, " pixels, above the limit of ",
                static_cast<int64_t>(kMaxPixels), " (aspect ratio too extreme)");
  const int new_long = static_cast<int>(new_long_d);
  return width <= height ? std::array<int, 2>{size, new_long} : std::array<int, 2>{new_long, size};
}

CropBox center_crop_box(int img_w, int img_h, int crop_w, int crop_h) {
  SN_CHECK(crop_w > 0 && crop_h > 0, "CenterCrop: size must be positive, got ", crop_w, "x", crop_h);
  // torchvision pads a too-small side with (crop - size) // 2 zeros on the
  // left/top (the rest on the right/bottom), then crops at offset 0 of it.
  auto offset = [](int size, int crop) {
    if (crop > size) return -((crop - size) / 2);
    const int d = size - crop;  // int(round(d / 2.0)): halves to even
    return round_half_even(d / 2.0);
  };
  return {offset(img_h, crop_h), offset(img_w, crop_w), crop_h, crop_w};
}

CropBox random_resized_crop_box(int img_w, int img_h, const RandomResizedCropParams& p, Rng& rng) {
  SN_CHECK(img_w > 0 && img_h > 0, "RandomResizedCrop: empty image ", img_w, "x", img_h);
  SN_CHECK(p.scale[0] > 0 && p.scale[0] <= p.scale[1],
           "RandomResizedCrop: scale must be (min, max) with 0 < min <= max, got (", p.scale[0], ", ", p.scale[1], ")");
  SN_CHECK(p.ratio[0] > 0 && p.ratio[0] <= p.ratio[1],
           "RandomResizedCrop: ratio must be (min, max) with 0 < min <= max, got (", p.ratio[0], ", ", p.ratio[1], ")");
  const double area = static_cast<double>(img_h) * img_w;
  // torchvision draws these from float32 tensors; the float casts mirror that rounding.
  const float log_r0 = std::log(static_cast<float>(p.ratio[0])), log_r1 = std::log(static_cast<float>(p.ratio[1]));
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double target_area = area * static_cast<float>(rng.uniform(p.scale[0], p.scale[1]));
    const double aspect = std::exp(static_cast<float>(rng.uniform(log_r0, log_r1)));  // log-uniform aspect
    const int w = round_half_even(std::sqrt(target_area * aspect));
    const int h = round_half_even(std::sqrt(target_area / aspect));
    if (0 < w && w <= img_w && 0 < h && h <= img_h) {
      const int top = static_cast<int>(rng.randint(0, img_h - h));
      const int left = static_cast<int>(rng.randint(0, img_w - w));
      return {top, left, h, w};
    }
  }
  // Fallback: the whole image, narrowed to the nearest allowed aspect ratio, centered.
  const double in_ratio = static_cast<double>(img_w) / img_h;
  int w = img_w, h = img_h;
  if (in_ratio < p.ratio[0]) {
    h = round_half_even(w / p.ratio[0]);
  } else if (in_ratio > p.ratio[1]) {
    w = round_half_even(h * p.ratio[1]);
  }
  return {(img_h - h) / 2, (img_w - w) / 2, h, w};
}

// ---- the pipeline -------------------------------------------------------------------

static void need_image(const Sample& s, const char* who) {
  SN_CHECK(!s.is_tensor(), who, " works on images: put it before ToTensor() in the Compose");
}
static void need_tensor(const Sample& s, const char* who) {
  SN_CHECK(s.is_tensor(), who, " works on tensors: put ToTensor() before it in the Compose");
}

void Compose::apply(Sample& s, Rng& rng, size_t begin, size_t end) const {
  end = std::min(end, steps_.size());
  for (size_t i = begin; i < end; ++i) steps_[i]->apply(s, rng);
}

Tensor Compose::operator()(Image img, Rng& rng) const {
  Sample s;
  s.image = std::move(img);
  apply(s, rng);
  SN_CHECK(s.is_tensor(), "the transform pipeline ", describe(), " ends with an image: add ToTensor()");
  return s.tensor;
}

size_t Compose::deterministic_prefix() const {
  size_t n = 0;
  while (n < steps_.size() && !steps_[n]->is_random() && !dynamic_cast<const ToTensor*>(steps_[n].get())) ++n;
  return n;
}

std::string Compose::describe() const {
  std::string s = "Compose(";
  for (size_t i = 0; i < steps_.size(); ++i) s += (i ? ", " : "") + steps_[i]->name();
  return s + ")";
}

Resize::Resize(int height, int width) : height_(height), width_(width) {
  SN_CHECK(height > 0 && width > 0, "Resize: size must be positive, got ", height, "x", width);
}
Resize::Resize(int shorter_side) : shorter_(shorter_side) {
  SN_CHECK(shorter_side > 0, "Resize: size must be positive, got ", shorter_side);
}
std::array<int, 2> Resize::output_size(int width, int height) const {
  return shorter_ ? shorter_side_size(width, height, shorter_) : std::array<int, 2>{width_, height_};
}
void Resize::apply(Sample& s, Rng&) const {
  need_image(s, "Resize");
  const auto [w, h] = output_size(s.image.width, s.image.height);
  s.image = resize(s.image, w, h);
}
std::string Resize::name() const {
  std::ostringstream os;
  if (shorter_)
    os << "Resize(" << shorter_ << ")";
  else
    os << "Resize(" << height_ << ", " << width_ << ")";
  return os.str();
}

CenterCrop::CenterCrop(int height, int width) : height_(height), width_(width) {
  SN_CHECK(height > 0 && width > 0, "CenterCrop: size must be positive, got ", height, "x", width);
}
void CenterCrop::apply(Sample& s, Rng&) const {
  need_image(s, "CenterCrop");
  const CropBox b = center_crop_box(s.image.width, s.image.height, width_, height_);
  if (b.top == 0 && b.left == 0 && b.width == s.image.width && b.height == s.image.height) return;
  s.image = crop(s.image, b);
}
std::string CenterCrop::name() const {
  return "CenterCrop(" + std::to_string(height_) + ", " + std::to_string(width_) + ")";
}

RandomResizedCrop::RandomResizedCrop(int height, int width, RandomResizedCropParams p)
    : height_(height), width_(width), params_(p) {
  SN_CHECK(height > 0 && width > 0, "RandomResizedCrop: size must be positive, got ", height, "x", width);
}
void RandomResizedCrop::apply(Sample& s, Rng& rng) const {
  need_image(s, "RandomResizedCrop");
  const CropBox b = random_resized_crop_box(s.image.width, s.image.height, params_, rng);
  s.image = resized_crop(s.image, b, width_, height_);
}
std::string RandomResizedCrop::name() const {
  std::ostringstream os;
  os << "RandomResizedCrop(" << height_ << ", " << width_ << ", scale=(" << params_.scale[0] << ", " << params_.scale[1]
     << "), ratio=(" << params_.ratio[0] << ", " << params_.ratio[1] << "))";
  return os.str();
}

RandomHorizontalFlip::RandomHorizontalFlip(double p) : p_(p) {
  SN_CHECK(p >= 0 && p <= 1, "RandomHorizontalFlip: p must be in [0, 1], got ", p);
}
void RandomHorizontalFlip::apply(Sample& s, Rng& rng) const {
  if (!(rng.uniform() < p_)) return;  // one draw per sample, like torch.rand(1) < p
  if (!s.is_tensor()) {
    s.image = hflip(s.image);
    return;
  }
  // (C, H, W): reverse every row.
  const int64_t w = s.tensor.size(2), rows = s.tensor.size(0) * s.tensor.size(1);
  float* p = s.tensor.data();
  for (int64_t r = 0; r < rows; ++r) std::reverse(p + r * w, p + (r + 1) * w);
}
std::string RandomHorizontalFlip::name() const {
  std::ostringstream os;
  os << "RandomHorizontalFlip(p=" << p_ << ")";
  return os.str();
}

void ToTensor::apply(Sample& s, Rng&) const {
  need_image(s, "ToTensor");
  const int h = s.image.height, w = s.image.width;
  const bool fits = s.destination.defined() && s.destination.shape() == Shape{3, h, w};
  s.tensor = fits ? s.destination : Tensor::empty({3, h, w});
  float* out = s.tensor.data();
  const uint8_t* in = s.image.pixels.data();
  const size_t plane = static_cast<size_t>(h) * w;
  // HWC bytes -> CHW floats; x / 255.f is torch's div(255) bit for bit (not x * (1 / 255.f)).
  for (size_t i = 0; i < plane; ++i) {
    out[i] = in[3 * i + 0] / 255.f;
    out[plane + i] = in[3 * i + 1] / 255.f;
    out[2 * plane + i] = in[3 * i + 2] / 255.f;
  }
  s.image = Image();
}

Normalize::Normalize(std::array<float, 3> mean, std::array<float, 3> std) : mean_(mean), std_(std) {
  for (float v : std) SN_CHECK(v != 0.f, "Normalize: std must not be zero");
}
void Normalize::apply(Sample& s, Rng&) const {
  need_tensor(s, "Normalize");
  SN_CHECK(s.tensor.size(0) == 3, "Normalize: expected 3 channels, got shape ", to_string(s.tensor.shape()));
  const int64_t plane = s.tensor.size(1) * s.tensor.size(2);
  float* p = s.tensor.data();
  for (int c = 0; c < 3; ++c)
    for (int64_t i = 0; i < plane; ++i) p[c * plane + i] = (p[c * plane + i] - mean_[c]) / std_[c];
}
std::string Normalize::name() const {
  std::ostringstream os;
  os << "Normalize(mean=(" << mean_[0] << ", " << mean_[1] << ", " << mean_[2] << "), std=(" << std_[0] << ", "
     << std_[1] << ", " << std_[2] << "))";
  return os.str();
}

void SwapRB::apply(Sample& s, Rng&) const {
  if (!s.is_tensor()) {
    for (size_t i = 0; i < s.image.pixels.size(); i += 3) std::swap(s.image.pixels[i], s.image.pixels[i + 2]);
    return;
  }
  SN_CHECK(s.tensor.size(0) == 3, "SwapRB: expected 3 channels, got shape ", to_string(s.tensor.shape()));
  const int64_t plane = s.tensor.size(1) * s.tensor.size(2);
  float* p = s.tensor.data();
  std::swap_ranges(p, p + plane, p + 2 * plane);
}

}  // namespace sn::data

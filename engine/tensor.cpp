#include "engine/tensor.h"

#include <algorithm>
#include <cstring>

#include "engine/autograd.h"
#include "engine/check.h"
#include "engine/ops.h"
#include "engine/random.h"

namespace sn {

static std::shared_ptr<TensorImpl> make_impl(const Shape& shape, Device device) {
  for (int64_t d : shape) SN_CHECK(d >= 0, "negative dimension in shape ", to_string(shape));
  auto impl = std::make_shared<TensorImpl>();
  impl->shape = shape;
  impl->storage = std::make_shared<Storage>(static_cast<size_t>(sn::numel(shape)) * sizeof(float), device);
  return impl;
}

Tensor Tensor::empty(const Shape& shape, Device device) { return Tensor(make_impl(shape, device)); }

Tensor Tensor::zeros(const Shape& shape, Device device) {
  Tensor t = empty(shape, device);
  t.zero_();
  return t;
}

Tensor Tensor::full(const Shape& shape, float value, Device device) {
  Tensor t = empty(shape, device);
  t.fill_(value);
  return t;
}

Tensor Tensor::from_vector(const std::vector<float>& values, const Shape& shape, Device device) {
  SN_CHECK(static_cast<int64_t>(values.size()) == sn::numel(shape), "from_vector: ", values.size(),
           " values do not fill shape ", to_string(shape));
  Tensor t = empty(shape, device);
  copy_bytes(t.data(), device, values.data(), Device::CPU, values.size() * sizeof(float));
  return t;
}

Tensor Tensor::randn(const Shape& shape, Rng& rng, float stddev) {
  Tensor t = empty(shape);
  float* p = t.data();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = static_cast<float>(rng.normal()) * stddev;
  return t;
}

Tensor Tensor::uniform(const Shape& shape, Rng& rng, float lo, float hi) {
  Tensor t = empty(shape);
  float* p = t.data();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = static_cast<float>(rng.uniform(lo, hi));
  return t;
}

const Shape& Tensor::shape() const {
  SN_CHECK(impl_, "use of an undefined tensor");
  return impl_->shape;
}

int64_t Tensor::size(int64_t dim) const {
  const int64_t n = ndim();
  if (dim < 0) dim += n;
  SN_CHECK(dim >= 0 && dim < n, "dimension ", dim, " out of range for shape ", to_string(shape()));
  return shape()[dim];
}

Device Tensor::device() const {
  SN_CHECK(impl_, "use of an undefined tensor");
  return impl_->storage->device();
}

float* Tensor::data() const {
  SN_CHECK(impl_, "use of an undefined tensor");
  return static_cast<float*>(impl_->storage->data()) + impl_->offset;
}

std::vector<float> Tensor::to_vector() const {
  std::vector<float> v(static_cast<size_t>(numel()));
  copy_bytes(v.data(), Device::CPU, data(), device(), nbytes());
  return v;
}

float Tensor::item() const {
  SN_CHECK(numel() == 1, "item() needs a single-element tensor, got shape ", to_string(shape()));
  return to_vector()[0];
}

float Tensor::at(std::initializer_list<int64_t> index) const {
  SN_CHECK(device() == Device::CPU, "at() reads CPU tensors only");
  SN_CHECK(static_cast<int64_t>(index.size()) == ndim(), "at(): ", index.size(), " indices for shape ",
           to_string(shape()));
  int64_t flat = 0, d = 0;
  for (int64_t i : index) {
    SN_CHECK(i >= 0 && i < shape()[d], "at(): index ", i, " out of range in dim ", d, " of ", to_string(shape()));
    flat = flat * shape()[d++] + i;
  }
  return data()[flat];
}

Tensor Tensor::clone() const {
  Tensor t = empty(shape(), device());
  copy_bytes(t.data(), device(), data(), device(), nbytes());
  return t;
}

Tensor Tensor::to(Device target) const {
  if (device() == target) return *this;
  Tensor t = empty(shape(), target);
  copy_bytes(t.data(), target, data(), device(), nbytes());
  return t;
}

Tensor Tensor::view(const Shape& new_shape) const {
  Shape s = new_shape;
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == -1) {
      SN_CHECK(infer < 0, "view: more than one -1 in ", to_string(new_shape));
      infer = static_cast<int64_t>(i);
    } else {
      known *= s[i];
    }
  }
  if (infer >= 0) {
    SN_CHECK(known > 0 && numel() % known == 0, "view: cannot infer ", to_string(new_shape), " from ",
             to_string(shape()));
    s[infer] = numel() / known;
  }
  SN_CHECK(sn::numel(s) == numel(), "view: shape ", to_string(new_shape), " does not match ", to_string(shape()));
  auto impl = std::make_shared<TensorImpl>(*impl_);
  impl->shape = s;
  impl->requires_grad = false;
  impl->grad.reset();
  impl->grad_fn.reset();
  return Tensor(impl);
}

Tensor Tensor::slice(int64_t begin, int64_t end) const {
  SN_CHECK(ndim() >= 1, "slice of a 0-d tensor");
  const int64_t n = shape()[0];
  SN_CHECK(0 <= begin && begin <= end && end <= n, "slice [", begin, ", ", end, ") out of range for ",
           to_string(shape()));
  auto impl = std::make_shared<TensorImpl>(*impl_);
  impl->shape[0] = end - begin;
  impl->offset += begin * (n ? numel() / n : 0);
  impl->requires_grad = false;
  impl->grad.reset();
  impl->grad_fn.reset();
  return Tensor(impl);
}

void Tensor::copy_(const Tensor& src) {
  SN_CHECK(src.numel() == numel(), "copy_: source ", to_string(src.shape()), " does not match ", to_string(shape()));
  copy_bytes(data(), device(), src.data(), src.device(), nbytes());
}

void Tensor::fill_(float value) {
  if (device() == Device::CPU) {
    std::fill_n(data(), numel(), value);
  } else if (value == 0.f) {
    cuda::fill_zero(data(), nbytes());
  } else {
    copy_(Tensor::full(shape(), value, Device::CPU));
  }
}

void Tensor::zero_() { fill_(0.f); }

Tensor& Tensor::set_requires_grad(bool on) {
  SN_CHECK(is_leaf(), "requires_grad can only be changed on leaf tensors");
  impl_->requires_grad = on;
  if (!on) impl_->grad.reset();
  return *this;
}

Tensor Tensor::grad() const { return Tensor(impl_->grad); }

void Tensor::zero_grad() const { impl_->grad.reset(); }

void Tensor::accumulate_grad(const Tensor& g) const {
  check_same_shape(*this, g, "gradient accumulation");
  if (!impl_->grad) {
    // The first gradient becomes grad itself when nobody else can see it (a
    // backward's fresh result: its only handle is the caller's, which is then
    // dropped), as PyTorch's AccumulateGrad does: no copy of every weight and
    // input gradient. Anything shared (the user's seed, a view, a gradient
    // also passed to another input) is copied, so that adding into grad in
    // place later never changes a tensor someone else holds.
    const auto& gi = g.impl_;
    const bool unshared = gi.use_count() == 1 && gi->storage.use_count() == 1 && gi->offset == 0 &&
                          !gi->requires_grad && !gi->grad_fn && !gi->grad;
    impl_->grad = unshared ? gi : g.clone().impl_ptr();
  } else {
    Tensor acc(impl_->grad);
    add_(acc, g);
  }
}

Tensor Tensor::detach() const {
  auto impl = std::make_shared<TensorImpl>(*impl_);
  impl->requires_grad = false;
  impl->grad.reset();
  impl->grad_fn.reset();
  return Tensor(impl);
}

void check_same_shape(const Tensor& a, const Tensor& b, const char* what) {
  SN_CHECK(a.shape() == b.shape(), "shape mismatch in ", what, ": ", to_string(a.shape()), " vs ",
           to_string(b.shape()));
}

void check_same_device(const Tensor& a, const Tensor& b, const char* what) {
  SN_CHECK(a.device() == b.device(), "device mismatch in ", what, ": ", to_string(a.device()), " vs ",
           to_string(b.device()));
}

}  // namespace sn

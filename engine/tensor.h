// tensor.h — the n-dimensional array of scratchnet, with reverse-mode autograd.
//
// A Tensor is a cheap handle (a shared_ptr) to a TensorImpl: a shape, an
// element offset into a shared Storage, a device and a dtype, plus the autograd
// fields (requires_grad, the accumulated grad, and grad_fn: the Node that made
// it). Tensors are always contiguous, row-major: views (view(), slice()) only
// reshape or cut along dim 0, which keeps contiguity, so every kernel can take
// a plain pointer.
//
// Copying a Tensor copies the handle, not the data (as in PyTorch); use clone().
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "engine/device.h"
#include "engine/shape.h"
#include "engine/storage.h"

namespace sn {

struct Node;
class Rng;

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  int64_t offset = 0;  // in elements
  Shape shape;
  DType dtype = DType::F32;
  bool requires_grad = false;
  std::shared_ptr<TensorImpl> grad;  // accumulated dL/dthis, same shape
  std::shared_ptr<Node> grad_fn;     // null for leaves and for tensors made without grad
};

class Tensor {
 public:
  Tensor() = default;  // undefined tensor: defined() is false
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // ---- factories -----------------------------------------------------------
  static Tensor empty(const Shape& shape, Device device = Device::CPU);  // uninitialised
  static Tensor zeros(const Shape& shape, Device device = Device::CPU);
  static Tensor full(const Shape& shape, float value, Device device = Device::CPU);
  static Tensor ones(const Shape& shape, Device device = Device::CPU) { return full(shape, 1.f, device); }
  static Tensor from_vector(const std::vector<float>& values, const Shape& shape, Device device = Device::CPU);
  static Tensor randn(const Shape& shape, Rng& rng, float stddev = 1.f);                // N(0, stddev^2), CPU
  static Tensor uniform(const Shape& shape, Rng& rng, float lo = 0.f, float hi = 1.f);  // U[lo, hi), CPU

  // ---- metadata -------------------------------------------------------------
  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const;
  int64_t ndim() const { return static_cast<int64_t>(shape().size()); }
  int64_t size(int64_t dim) const;  // negative dims count from the end
  int64_t numel() const { return sn::numel(shape()); }
  Device device() const;
  bool is_cuda() const { return device() == Device::CUDA; }
  DType dtype() const { return impl_->dtype; }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype()); }

  // ---- data access ----------------------------------------------------------
  // Raw pointer to the first element on the tensor's device.
  float* data() const;
  // CPU only: the values as a vector, and a scalar's value. Copies from a GPU if needed.
  std::vector<float> to_vector() const;
  float item() const;
  // Element access on CPU tensors, for tests and small tools (slow: bounds checked).
  float at(std::initializer_list<int64_t> index) const;

  // ---- copies and views (no autograd: see ops.h for differentiable reshape) --
  Tensor clone() const;                            // deep copy, same device, no grad history
  Tensor to(Device device) const;                  // copy to a device (returns *this if already there)
  Tensor view(const Shape& shape) const;           // same storage, new shape (numel must match); -1 infers one dim
  Tensor slice(int64_t begin, int64_t end) const;  // rows [begin, end) of dim 0, same storage
  void copy_(const Tensor& src);                   // copy values from src (same numel), any devices
  void fill_(float value);
  void zero_();

  // ---- autograd -------------------------------------------------------------
  bool requires_grad() const { return impl_->requires_grad; }
  Tensor& set_requires_grad(bool on);           // only on leaves
  Tensor grad() const;                          // undefined until a backward pass reached it
  void zero_grad() const;                       // drops the accumulated gradient
  void accumulate_grad(const Tensor& g) const;  // grad += g (first call: g itself if unshared, else a copy)
  const std::shared_ptr<Node>& grad_fn() const { return impl_->grad_fn; }
  bool is_leaf() const { return impl_->grad_fn == nullptr; }
  Tensor detach() const;  // shares data, no history, requires_grad false
  // Reverse-mode pass from this tensor. Without an argument it must be a scalar
  // (seed 1). Frees the graph behind it as it goes, as PyTorch does.
  void backward(const Tensor& grad_output = Tensor()) const;

  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  bool same(const Tensor& o) const { return impl_ == o.impl_; }

 private:
  std::shared_ptr<TensorImpl> impl_;
};

// "shape mismatch in <what>: (2, 3) vs (3, 2)" unless equal.
void check_same_shape(const Tensor& a, const Tensor& b, const char* what);
void check_same_device(const Tensor& a, const Tensor& b, const char* what);

}  // namespace sn

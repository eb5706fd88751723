#include "engine/io/pth_reader.h"

#include <cstring>
#include <map>
#include <memory>
#include <set>

#include "engine/check.h"
#include "engine/io/pickle.h"
#include "engine/io/zip_reader.h"

namespace sn::io {

namespace {

using pickle::Value;
using pickle::ValuePtr;

// The torch storage classes a state_dict may name, with their element types.
struct StorageType {
  const char* dtype;
  size_t elem_size;
  bool floating;
};
const std::map<std::string, StorageType>& storage_types() {
  static const std::map<std::string, StorageType> t = {
      {"torch.FloatStorage", {"float32", 4, true}}, {"torch.DoubleStorage", {"float64", 8, true}},
      {"torch.HalfStorage", {"float16", 2, true}},  {"torch.BFloat16Storage", {"bfloat16", 2, true}},
      {"torch.LongStorage", {"int64", 8, false}},   {"torch.IntStorage", {"int32", 4, false}},
      {"torch.ShortStorage", {"int16", 2, false}},  {"torch.CharStorage", {"int8", 1, false}},
      {"torch.ByteStorage", {"uint8", 1, false}},   {"torch.BoolStorage", {"bool", 1, false}},
  };
  return t;
}

// One data/<key> entry of the archive, as the persistent id describes it.
struct StorageRef {
  std::string key;
  StorageType type;
  const uint8_t* data;  // inside the zip mapping
  int64_t numel;
};

// A tensor as the pickle describes it; values are read once the name is known.
struct TensorRef {
  std::shared_ptr<StorageRef> storage;
  int64_t offset;
  Shape shape, stride;
};

float half_to_float(uint16_t h) {
  const uint32_t sign = uint32_t(h >> 15) << 31;
  int exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ff, bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (mant << 13);  // inf / nan
  } else if (exp == 0) {
    if (mant == 0) {
      bits = sign;  // +-0
    } else {        // subnormal: normalize
      exp = 1;
      while (!(mant & 0x400)) {
        mant <<= 1;
        --exp;
      }
      bits = sign | uint32_t(exp - 15 + 127) << 23 | (mant & 0x3ff) << 13;
    }
  } else {
    bits = sign | uint32_t(exp - 15 + 127) << 23 | mant << 13;
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

// Element i of a floating storage as float32.
float load_float(const StorageRef& s, int64_t i) {
  const uint8_t* p = s.data + i * static_cast<int64_t>(s.type.elem_size);
  if (s.type.elem_size == 4) {
    float f;
    std::memcpy(&f, p, 4);
    return f;
  }
  if (s.type.elem_size == 8) {
    double d;
    std::memcpy(&d, p, 8);
    return static_cast<float>(d);
  }
  uint16_t h;
  std::memcpy(&h, p, 2);
  if (std::strcmp(s.type.dtype, "bfloat16") == 0) {
    const uint32_t bits = uint32_t(h) << 16;
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
  }
  return half_to_float(h);
}

std::vector<int64_t> int_tuple(const ValuePtr& v, const char* what) {
  SN_USER_CHECK(v->kind == Value::Kind::Tuple, what, " must be a tuple of ints, got ", v->describe());
  std::vector<int64_t> out;
  for (const auto& x : v->items) {
    SN_USER_CHECK(x->kind == Value::Kind::Int, what, " must be a tuple of ints, got a ", x->describe());
    out.push_back(x->i);
  }
  return out;
}

// torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
// and the older _rebuild_tensor(storage, storage_offset, size, stride): check that
// every element the tensor can address lies inside its storage.
ValuePtr rebuild_tensor(const std::vector<ValuePtr>& a, size_t min_args, size_t max_args) {
  SN_USER_CHECK(a.size() >= min_args && a.size() <= max_args, "expected ", min_args, " to ", max_args,
                " arguments, got ", a.size());
  SN_USER_CHECK(a[0]->kind == Value::Kind::Object && a[0]->str == "storage", "argument 1 must be a storage, got ",
                a[0]->describe());
  SN_USER_CHECK(a[1]->kind == Value::Kind::Int, "storage offset must be an int");
  TensorRef t{std::any_cast<std::shared_ptr<StorageRef>>(a[0]->object), a[1]->i, int_tuple(a[2], "size"),
              int_tuple(a[3], "stride")};
  SN_USER_CHECK(t.shape.size() == t.stride.size() && t.shape.size() <= 16, "size ", to_string(t.shape), " and stride ",
                to_string(t.stride), " do not match");
  const int64_t n = t.storage->numel;
  SN_USER_CHECK(t.offset >= 0 && t.offset <= n, "storage offset ", t.offset, " outside storage '", t.storage->key,
                "' of ", n, " elements");
  int64_t last = t.offset;  // the largest element index the tensor reaches
  bool empty = false;
  for (size_t d = 0; d < t.shape.size(); ++d) {
    SN_USER_CHECK(t.shape[d] >= 0 && t.stride[d] >= 0, "negative size or stride in ", to_string(t.shape), " / ",
                  to_string(t.stride));
    empty |= t.shape[d] == 0;
  }
  for (size_t d = 0; d < t.shape.size() && !empty; ++d) {
    if (t.shape[d] > 1) {
      // (size-1)*stride <= n - last, written so that it cannot overflow.
      SN_USER_CHECK(t.stride[d] <= (n - last) / (t.shape[d] - 1), "tensor of size ", to_string(t.shape), " stride ",
                    to_string(t.stride), " at offset ", t.offset, " reaches past storage '", t.storage->key, "' of ", n,
                    " elements");
      last += (t.shape[d] - 1) * t.stride[d];
    }
  }
  SN_USER_CHECK(empty || last < n, "tensor of size ", to_string(t.shape), " at offset ", t.offset,
                " reaches past storage '", t.storage->key, "' of ", n, " elements");
  // Stride 0 lets a size grow without reaching further: a state_dict tensor
  // never holds more elements than its storage, so anything larger is refused
  // before it is allocated.
  const int64_t count = checked_numel(t.shape);
  SN_USER_CHECK(count >= 0 && count <= n, "tensor of size ", to_string(t.shape), " stride ", to_string(t.stride),
                " has more elements than storage '", t.storage->key, "' (", n, ")");
  return pickle::make_object("tensor", t);
}

pickle::Environment torch_environment(const ZipReader& zip, const std::string& prefix,
                                      std::map<std::string, std::shared_ptr<StorageRef>>& storages) {
  pickle::Environment env;
  for (const auto& [name, type] : storage_types()) env.names.insert(name);
  env.functions["collections.OrderedDict"] = [](const std::vector<ValuePtr>& a) {
    SN_USER_CHECK(a.empty(), "OrderedDict() with arguments is not supported");
    auto v = std::make_shared<Value>();
    v->kind = Value::Kind::Dict;
    return v;
  };
  env.functions["torch._utils._rebuild_tensor_v2"] = [](const std::vector<ValuePtr>& a) {
    return rebuild_tensor(a, 6, 7);
  };
  env.functions["torch._utils._rebuild_tensor"] = [](const std::vector<ValuePtr>& a) {
    return rebuild_tensor(a, 4, 4);
  };
  // nn.Parameter(data, requires_grad, backward_hooks): for us, just the data.
  env.functions["torch._utils._rebuild_parameter"] = [](const std::vector<ValuePtr>& a) {
    SN_USER_CHECK(a.size() == 3 && a[0]->kind == Value::Kind::Object && a[0]->str == "tensor",
                  "_rebuild_parameter expects (tensor, requires_grad, hooks)");
    return a[0];
  };
  // The persistent id ('storage', torch.FloatStorage, key, location, numel) names data/<key>.
  env.persistent_load = [&zip, prefix, &storages](const ValuePtr& pid) {
    SN_USER_CHECK(pid->kind == Value::Kind::Tuple && pid->items.size() == 5 &&
                      pid->items[0]->kind == Value::Kind::String && pid->items[0]->str == "storage" &&
                      pid->items[1]->kind == Value::Kind::Global && pid->items[2]->kind == Value::Kind::String &&
                      pid->items[4]->kind == Value::Kind::Int,
                  "persistent id is not ('storage', type, key, location, numel): ", pid->describe());
    const std::string& key = pid->items[2]->str;
    auto type_it = storage_types().find(pid->items[1]->str);
    SN_USER_CHECK(type_it != storage_types().end(), "storage '", key, "' has type ", pid->items[1]->str,
                  ", not a torch storage class");
    const StorageType& type = type_it->second;
    auto& s = storages[key];
    if (!s) {
      const ZipEntry* e = zip.find(prefix + "data/" + key);
      SN_USER_CHECK(e, "storage '", key, "' has no entry ", prefix, "data/", key, " in the archive");
      const ByteSpan bytes = zip.read(*e);
      SN_USER_CHECK(bytes.size % type.elem_size == 0, "storage '", key, "' has ", bytes.size,
                    " bytes, not a multiple of its ", type.elem_size, "-byte ", type.dtype, " elements");
      s = std::make_shared<StorageRef>(
          StorageRef{key, type, bytes.data, static_cast<int64_t>(bytes.size / type.elem_size)});
    }
    SN_USER_CHECK(std::strcmp(s->type.dtype, type.dtype) == 0, "storage '", key, "' is used as both ", s->type.dtype,
                  " and ", type.dtype);
    SN_USER_CHECK(pid->items[4]->i == s->numel, "storage '", key, "' should hold ", pid->items[4]->i,
                  " elements but its entry has ", s->numel);
    return pickle::make_object("storage", s);
  };
  return env;
}

// Materialize a tensor as float32, following its strides.
Tensor read_values(const TensorRef& t) {
  Tensor out = Tensor::empty(t.shape);
  float* dst = out.data();
  const int64_t n = out.numel();
  if (n == 0) return out;
  const StorageRef& s = *t.storage;
  // Contiguous float32: one memcpy, bit for bit.
  bool contiguous = true;
  int64_t expect = 1;
  for (int64_t d = static_cast<int64_t>(t.shape.size()) - 1; d >= 0; --d) {
    if (t.shape[d] != 1 && t.stride[d] != expect) contiguous = false;
    expect *= t.shape[d];
  }
  if (contiguous && s.type.elem_size == 4) {
    std::memcpy(dst, s.data + t.offset * 4, static_cast<size_t>(n) * 4);
    return out;
  }
  // General case: walk the index like an odometer.
  const size_t nd = t.shape.size();
  std::vector<int64_t> idx(nd, 0);
  int64_t src = t.offset;
  for (int64_t i = 0; i < n; ++i) {
    dst[i] = load_float(s, src);
    for (int64_t d = static_cast<int64_t>(nd) - 1; d >= 0; --d) {
      if (++idx[d] < t.shape[d]) {
        src += t.stride[d];
        break;
      }
      src -= (t.shape[d] - 1) * t.stride[d];
      idx[d] = 0;
    }
  }
  return out;
}

bool is_tensor(const ValuePtr& v) { return v->kind == Value::Kind::Object && v->str == "tensor"; }

}  // namespace

PthStateDict read_pth(const std::string& path) {
  // A pre-1.6 torch.save file starts with a pickle, not with a zip header.
  {
    std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
    SN_USER_CHECK(f, "cannot open ", path, ": ", std::strerror(errno));
    unsigned char head[2] = {0, 0};
    const size_t got = std::fread(head, 1, 2, f.get());
    SN_USER_CHECK(!(got == 2 && head[0] == 0x80), path,
                  ": legacy (pre-1.6) torch.save format is not supported; re-save it with a recent PyTorch");
  }
  ZipReader zip(path);
  // Entries are "<archive>/data.pkl", "<archive>/data/0", ...; <archive> varies.
  std::string prefix;
  const ZipEntry* pkl = nullptr;
  for (const auto& e : zip.entries()) {
    const std::string suffix = "data.pkl";
    if (e.name.size() >= suffix.size() && e.name.compare(e.name.size() - suffix.size(), suffix.size(), suffix) == 0 &&
        e.name.find('/') == e.name.size() - suffix.size() - 1) {
      pkl = &e;
      prefix = e.name.substr(0, e.name.size() - suffix.size());
      break;
    }
  }
  SN_USER_CHECK(pkl, path, ": a zip archive but not a PyTorch file (no <archive>/data.pkl entry)");
  if (const ZipEntry* bo = zip.find(prefix + "byteorder")) {
    const ByteSpan b = zip.read(*bo);
    const std::string order(reinterpret_cast<const char*>(b.data), b.size);
    SN_USER_CHECK(order == "little", path, ": byteorder is '", order, "'; only little-endian files are supported");
  }

  std::map<std::string, std::shared_ptr<StorageRef>> storages;
  const pickle::Environment env = torch_environment(zip, prefix, storages);
  const ByteSpan bytes = zip.read(*pkl);
  const ValuePtr root = pickle::unpickle(bytes.data, bytes.size, env, path + ": " + pkl->name);

  // The state_dict itself, or a checkpoint dict that holds it.
  SN_USER_CHECK(root->kind == Value::Kind::Dict, path, ": the pickled object is a ", root->describe(),
                ", not a state_dict");
  ValuePtr sd = root;
  bool all_tensors = true;
  for (const auto& [k, v] : root->dict) all_tensors &= is_tensor(v);
  if (!all_tensors)
    for (const auto& [k, v] : root->dict)
      if (k->kind == Value::Kind::String && (k->str == "state_dict" || k->str == "model") &&
          v->kind == Value::Kind::Dict)
        sd = v;

  PthStateDict out;
  std::set<std::string> seen;
  for (const auto& [k, v] : sd->dict) {
    SN_USER_CHECK(k->kind == Value::Kind::String, path, ": a state_dict key is a ", k->describe(), ", not a string");
    SN_USER_CHECK(is_tensor(v), path, ": state_dict entry '", k->str, "' is a ", v->describe(), ", not a tensor");
    SN_USER_CHECK(seen.insert(k->str).second, path, ": state_dict key '", k->str, "' appears twice");
    const auto& t = std::any_cast<const TensorRef&>(v->object);
    PthTensor pt{k->str, t.storage->type.dtype, t.shape, Tensor()};
    if (t.storage->type.floating) pt.value = read_values(t);
    out.tensors.push_back(std::move(pt));
  }
  return out;
}

std::vector<std::string> PthStateDict::skipped() const {
  std::vector<std::string> out;
  for (const auto& t : tensors)
    if (!t.value.defined()) out.push_back(t.name);
  return out;
}

}  // namespace sn::io

// device.h — where a tensor's memory lives, and what the build can do.
#pragma once
#include <cstddef>
#include <string>

namespace sn {

enum class Device { CPU, CUDA };

// Element types. Only F32 exists today; the tag is carried everywhere so that
// a second dtype (F16, BF16, F64) can be added without changing signatures.
enum class DType { F32 };

inline size_t dtype_size(DType) { return 4; }
std::string to_string(Device d);
Device parse_device(const std::string& s);  // "cpu" | "cuda" ("auto" is resolved by callers)

// True when this binary was built with CUDA *and* a usable GPU and driver are
// present. Without a GPU the CUDA runtime reports "driver version is
// insufficient" or "no CUDA-capable device": that is "no GPU", not an error.
bool cuda_available();
// Why CUDA is unavailable ("built without CUDA", "no CUDA device: ..."), or "" if it is.
std::string cuda_unavailable_reason();

}  // namespace sn

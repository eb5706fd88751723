// shape.h — tensor shapes, e.g. (N,C,H,W) = {32,3,224,224}.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace sn {

using Shape = std::vector<int64_t>;

int64_t numel(const Shape& s);
std::string to_string(const Shape& s);  // "(32, 3, 224, 224)"

}  // namespace sn

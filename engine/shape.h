// shape.h — tensor shapes, e.g. (N,C,H,W) = {32,3,224,224}.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace sn {

using Shape = std::vector<int64_t>;

int64_t numel(const Shape& s);
// numel of a shape read from a file: -1 if a dimension is negative or the
// product does not fit in int64, so a hostile header cannot wrap a size around.
int64_t checked_numel(const Shape& s);
std::string to_string(const Shape& s);  // "(32, 3, 224, 224)"

}  // namespace sn

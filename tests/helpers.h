// helpers.h — shared test utilities: tolerances, random data, finite
// differences, golden fixtures, and the [cuda] skip.
#pragma once
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/device.h"
#include "engine/random.h"
#include "engine/tensor.h"

namespace sn::test {

// Largest |a-b| / max(|b|, floor) over all elements: the relative error with
// a floor, so elements near zero are judged by absolute error instead.
template <typename A, typename B>
double max_rel_error(const A& a, const B& b, double floor = 1e-3) {
  REQUIRE(a.size() == b.size());
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double d = std::abs(double(a[i]) - double(b[i])) / std::max(std::abs(double(b[i])), floor);
    if (std::isnan(d)) return INFINITY;
    worst = std::max(worst, d);
  }
  return worst;
}
// ||a-b|| / ||b||: the error of a whole tensor, robust to a few tiny elements.
template <typename A, typename B>
double rel_l2_error(const A& a, const B& b) {
  REQUIRE(a.size() == b.size());
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    num += (double(a[i]) - double(b[i])) * (double(a[i]) - double(b[i]));
    den += double(b[i]) * double(b[i]);
  }
  return std::sqrt(num / std::max(den, 1e-300));
}

inline std::vector<double> random_doubles(size_t n, Rng& rng, double lo = -1, double hi = 1) {
  std::vector<double> v(n);
  for (auto& x : v) x = rng.uniform(lo, hi);
  return v;
}
inline std::vector<float> to_float(const std::vector<double>& v) { return {v.begin(), v.end()}; }
inline std::vector<double> to_double(const std::vector<float>& v) { return {v.begin(), v.end()}; }

// Central finite differences of a scalar function f at x, in double:
// error O(h^2) from truncation plus O(eps/h) from rounding; h = 1e-6 keeps
// both near 1e-10 for the O(1) values used in tests.
inline std::vector<double> numeric_gradient(const std::function<double(const std::vector<double>&)>& f,
                                            std::vector<double> x, double h = 1e-6) {
  std::vector<double> g(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const double saved = x[i];
    x[i] = saved + h;
    const double fp = f(x);
    x[i] = saved - h;
    const double fm = f(x);
    x[i] = saved;
    g[i] = (fp - fm) / (2 * h);
  }
  return g;
}

// Reads tests/fixtures/<name>.json, written by tools/fixtures/make_fixtures.py:
// { "tensor name": {"shape": [..], "data": [..]}, ... , "meta": {...} }
struct Fixture {
  std::string path;
  std::vector<float> data(const std::string& key) const;
  Shape shape(const std::string& key) const;
  Tensor tensor(const std::string& key) const;
  double number(const std::string& key) const;  // a plain number entry
  std::vector<int64_t> ints(const std::string& key) const;
};
Fixture load_fixture(const std::string& name);

// The same file read whole, once per process: entries that are not tensors too (parameter
// counts, print(model), state_dict orders). Missing file or key: the test fails, naming it.
const nlohmann::json& fixture_json(const std::string& name);
// Entry `key` ({"shape", "data"}) of tests/fixtures/<name>.json as a tensor.
Tensor fixture_tensor(const std::string& name, const std::string& key);
// tests/fixtures/<file> (a .pth, an .onnx, ...).
std::string fixture_file(const std::string& file);

// Path of a data set under ../shared/datasets (the tests never copy it).
std::string data_path(const std::string& rel);

}  // namespace sn::test

// Skips a [cuda] test where no GPU can run it. Under CTest the process exits
// with 77, which CTest reports as "Skipped"; run directly, the test warns and
// returns, so the rest of the suite still runs. Either way it never passes silently.
#define SN_REQUIRE_CUDA()                                       \
  do {                                                          \
    if (!::sn::cuda_available()) {                              \
      const std::string why_ = ::sn::cuda_unavailable_reason(); \
      if (std::getenv("SCRATCHNET_UNDER_CTEST")) {              \
        std::cout << "SKIPPED: " << why_ << std::endl;          \
        std::exit(77);                                          \
      }                                                         \
      WARN("SKIPPED: " << why_);                                \
      return;                                                   \
    }                                                           \
  } while (0)

// Skips the current test for a stated reason (e.g. optional downloaded weights
// are absent), the same way SN_REQUIRE_CUDA does: exit 77 ("Skipped") under
// CTest, a warning when run directly.
#define SN_SKIP(reason)                              \
  do {                                               \
    const std::string why_ = (reason);               \
    if (std::getenv("SCRATCHNET_UNDER_CTEST")) {     \
      std::cout << "SKIPPED: " << why_ << std::endl; \
      std::exit(77);                                 \
    }                                                \
    WARN("SKIPPED: " << why_);                       \
    return;                                          \
  } while (0)

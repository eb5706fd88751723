// bench_conv_cpu — the fast CPU conv2d (engine/cpu/conv2d.h, cpu::) against the
// reference loops (ref::), on every distinct convolution shape of ResNet-18 and
// ResNet-50 at 224x224. A micro-benchmark, not a test.
//
//   bench_conv_cpu [--batch N] [--reps R] [--ref-reps-gflop G] [--threads T] [--only NAME] [--json FILE]
//
// For each shape: the fast result is first checked against the reference
// (relative L2 error < 1e-5, else the shape is reported FAIL and not timed);
// then, after one warm-up call, fast and reference calls are interleaved and
// the median of each is reported, with their ratio and GFLOP/s (2*N*K*P*Q*C*R*S
// per call). The reference is slow (one multiply-add at a time): it runs R
// times only on shapes of at most G GFLOP (default 0.1), otherwise once (the
// table's "ref reps" column says which). With --batch N > 1 the reference runs
// on the first image only (check and timing) and its time is multiplied by N:
// images are independent, so that is what the loops would take, and the
// column says "x1 img".
//
// The machine is shared: medians, interleaving and the load average printed at
// the start are what make numbers from different runs comparable. When other
// processes hold the cores, a 2-thread run can be far slower than a 1-thread
// run (OpenMP threads spin at each barrier while a sibling is descheduled);
// compare with --threads 1 and OMP_WAIT_POLICY=passive before drawing conclusions.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <Eigen/Core>
#include <nlohmann/json.hpp>

#include "engine/cpu/conv2d.h"
#include "engine/parallel.h"
#include "engine/random.h"

namespace {

using namespace sn;
using Clock = std::chrono::steady_clock;

struct ConvCase {
  const char* name;
  int C, H, K, R, stride, pad;
  int uses_r18, uses_r50;  // how many times the shape occurs in each network
};

// Distinct conv shapes of torchvision's ResNet-18 and ResNet-50 (v1.5: the
// stride sits on the 3x3) at 224x224, with their number of occurrences.
const ConvCase kCases[] = {
    {"conv1 7x7 s2", 3, 224, 64, 7, 2, 3, 1, 1},
    {"l1 3x3 64", 64, 56, 64, 3, 1, 1, 4, 3},
    {"l2 3x3 s2 64>128", 64, 56, 128, 3, 2, 1, 1, 0},
    {"l2 3x3 128", 128, 28, 128, 3, 1, 1, 3, 3},
    {"l2 ds 1x1 s2 64>128", 64, 56, 128, 1, 2, 0, 1, 0},
    {"l3 3x3 s2 128>256", 128, 28, 256, 3, 2, 1, 1, 0},
    {"l3 3x3 256", 256, 14, 256, 3, 1, 1, 3, 5},
    {"l3 ds 1x1 s2 128>256", 128, 28, 256, 1, 2, 0, 1, 0},
    {"l4 3x3 s2 256>512", 256, 14, 512, 3, 2, 1, 1, 0},
    {"l4 3x3 512", 512, 7, 512, 3, 1, 1, 3, 2},
    {"l4 ds 1x1 s2 256>512", 256, 14, 512, 1, 2, 0, 1, 0},
    {"l1 1x1 64>64", 64, 56, 64, 1, 1, 0, 0, 1},
    {"l1 1x1 64>256 (+ds)", 64, 56, 256, 1, 1, 0, 0, 4},
    {"l1 1x1 256>64", 256, 56, 64, 1, 1, 0, 0, 2},
    {"l2 1x1 256>128", 256, 56, 128, 1, 1, 0, 0, 1},
    {"l2 3x3 s2 128", 128, 56, 128, 3, 2, 1, 0, 1},
    {"l2 1x1 128>512", 128, 28, 512, 1, 1, 0, 0, 4},
    {"l2 ds 1x1 s2 256>512", 256, 56, 512, 1, 2, 0, 0, 1},
    {"l2 1x1 512>128", 512, 28, 128, 1, 1, 0, 0, 3},
    {"l3 1x1 512>256", 512, 28, 256, 1, 1, 0, 0, 1},
    {"l3 3x3 s2 256", 256, 28, 256, 3, 2, 1, 0, 1},
    {"l3 1x1 256>1024", 256, 14, 1024, 1, 1, 0, 0, 6},
    {"l3 ds 1x1 s2 512>1024", 512, 28, 1024, 1, 2, 0, 0, 1},
    {"l3 1x1 1024>256", 1024, 14, 256, 1, 1, 0, 0, 5},
    {"l4 1x1 1024>512", 1024, 14, 512, 1, 1, 0, 0, 1},
    {"l4 3x3 s2 512", 512, 14, 512, 3, 2, 1, 0, 1},
    {"l4 1x1 512>2048", 512, 7, 2048, 1, 1, 0, 0, 3},
    {"l4 ds 1x1 s2 1024>2048", 1024, 14, 2048, 1, 2, 0, 0, 1},
    {"l4 1x1 2048>512", 2048, 7, 512, 1, 1, 0, 0, 2},
};

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown";
}
std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}
double rel_l2(const std::vector<float>& a, const std::vector<float>& b) {
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    num += (double(a[i]) - double(b[i])) * (double(a[i]) - double(b[i]));
    den += double(b[i]) * double(b[i]);
  }
  const double r = std::sqrt(num / std::max(den, 1e-300));
  return std::isnan(r) ? INFINITY : r;
}
template <typename F>
double seconds(F&& f) {
  const auto t0 = Clock::now();
  f();
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"fast CPU conv2d vs the reference loops on the ResNet-18/50 conv shapes"};
  int batch = 1, reps = 7, threads = 0;
  double ref_reps_gflop = 0.1;
  std::string json_path, only;
  app.add_option("--batch", batch, "images per call (default 1)")->check(CLI::PositiveNumber);
  app.add_option("--reps", reps, "timed repetitions per side (median reported; default 7)")->check(CLI::PositiveNumber);
  app.add_option("--ref-reps-gflop", ref_reps_gflop,
                 "repeat the reference only on shapes of at most this many GFLOP per call (else once; default 0.1)");
  app.add_option("--threads", threads, "threads (default: all cores)");
  app.add_option("--only", only, "run only the shapes whose name contains this text");
  app.add_option("--json", json_path, "also write the results to this JSON file");
  CLI11_PARSE(app, argc, argv);

  set_num_threads(threads);
  const char* wait_policy = std::getenv("OMP_WAIT_POLICY");
  std::printf("cpu: %s | threads %d (OMP_WAIT_POLICY %s) | Eigen %d.%d.%d | batch %d | reps %d | load average %s\n",
              cpu_model().c_str(), num_threads(), wait_policy ? wait_policy : "unset", EIGEN_WORLD_VERSION,
              EIGEN_MAJOR_VERSION, EIGEN_MINOR_VERSION, batch, reps, load_average().c_str());
  std::printf("\n%-24s %-22s %9s %9s %10s %8s %8s %10s %9s\n", "shape", "x (C,H,W) -> K RxR s", "fast ms", "ref ms",
              "ref reps", "ratio", "fast GF/s", "ref GF/s", "rel_l2");

  nlohmann::json out;
  out["cpu"] = cpu_model();
  out["threads"] = num_threads();
  out["batch"] = batch;
  out["reps"] = reps;
  out["load_average_start"] = load_average();
  Rng rng(7);
  double log_ratio_sum = 0, r18_fast = 0, r50_fast = 0, r18_ref = 0, r50_ref = 0;
  int timed = 0, failed = 0;
  for (const ConvCase& c : kCases) {
    if (!only.empty() && std::string(c.name).find(only) == std::string::npos) continue;
    Conv2dShape s{batch, c.C, c.H, c.H, c.K, c.R, c.R, c.stride, c.pad, 0, 0};
    s.P = s.Q = (c.H + 2 * c.pad - c.R) / c.stride + 1;
    Conv2dShape one = s;  // the reference runs on the first image only
    one.N = 1;
    const double flops = 2.0 * s.N * s.K * s.P * s.Q * s.C * s.R * s.S;
    const double ref_flops = flops / batch;
    std::vector<float> x(static_cast<size_t>(s.N * s.C * s.H * s.W)), w(static_cast<size_t>(s.K * s.C * s.R * s.S));
    std::vector<float> b(static_cast<size_t>(s.K));
    for (auto& v : x) v = static_cast<float>(rng.uniform(-1, 1));
    for (auto& v : w) v = static_cast<float>(rng.uniform(-1, 1));
    for (auto& v : b) v = static_cast<float>(rng.uniform(-1, 1));
    std::vector<float> y(static_cast<size_t>(s.N * s.K * s.P * s.Q)), y_ref(static_cast<size_t>(s.K * s.P * s.Q));

    // Check first (this is also the warm-up of both sides and the first reference timing).
    cpu::conv2d_forward(s, x.data(), w.data(), b.data(), y.data());
    std::vector<double> t_fast, t_ref;
    t_ref.push_back(seconds([&] { ref::conv2d_forward(one, x.data(), w.data(), b.data(), y_ref.data()); }));
    const double err = rel_l2(std::vector<float>(y.begin(), y.begin() + static_cast<long>(y_ref.size())), y_ref);
    char shape_txt[64];
    std::snprintf(shape_txt, sizeof shape_txt, "(%d,%d,%d) -> %d %dx%d s%d", c.C, c.H, c.H, c.K, c.R, c.R, c.stride);
    nlohmann::json row = {{"name", c.name},
                          {"C", c.C},
                          {"H", c.H},
                          {"K", c.K},
                          {"R", c.R},
                          {"stride", c.stride},
                          {"pad", c.pad},
                          {"gflop", flops * 1e-9},
                          {"rel_l2", err},
                          {"uses_resnet18", c.uses_r18},
                          {"uses_resnet50", c.uses_r50}};
    if (!(err < 1e-5)) {
      std::printf("%-24s %-22s FAIL: fast and reference disagree, rel_l2 %.3g\n", c.name, shape_txt, err);
      row["status"] = "FAIL";
      out["shapes"].push_back(row);
      ++failed;
      continue;
    }
    const int ref_reps = ref_flops <= ref_reps_gflop * 1e9 ? reps : 1;
    for (int r = 0; r < reps; ++r) {  // interleaved: fast, ref, fast, ref, ...
      t_fast.push_back(seconds([&] { cpu::conv2d_forward(s, x.data(), w.data(), b.data(), y.data()); }));
      if (r + 1 < ref_reps)
        t_ref.push_back(seconds([&] { ref::conv2d_forward(one, x.data(), w.data(), b.data(), y_ref.data()); }));
    }
    const double fast = median(t_fast), ref = median(t_ref) * batch;
    const double ratio = ref / fast;
    char reps_txt[32];
    std::snprintf(reps_txt, sizeof reps_txt, "%d%s", static_cast<int>(t_ref.size()), batch > 1 ? " x1 img" : "");
    std::printf("%-24s %-22s %9.3f %9.1f %10s %7.1fx %8.1f %10.2f %9.1e\n", c.name, shape_txt, fast * 1e3, ref * 1e3,
                reps_txt, ratio, flops / fast * 1e-9, flops / ref * 1e-9, err);
    std::fflush(stdout);
    row.update({{"status", "ok"},
                {"fast_ms", fast * 1e3},
                {"ref_ms", ref * 1e3},
                {"ref_reps", t_ref.size()},
                {"ref_extrapolated_from_one_image", batch > 1},
                {"ratio_ref_over_fast", ratio},
                {"fast_gflops", flops / fast * 1e-9},
                {"ref_gflops", flops / ref * 1e-9}});
    out["shapes"].push_back(row);
    log_ratio_sum += std::log(ratio);
    ++timed;
    r18_fast += c.uses_r18 * fast, r50_fast += c.uses_r50 * fast;
    r18_ref += c.uses_r18 * ref, r50_ref += c.uses_r50 * ref;
  }
  const double geo = timed ? std::exp(log_ratio_sum / timed) : 0;
  std::printf("\n%d shapes timed, %d failed. Geometric mean speed-up fast/ref: %.1fx\n", timed, failed, geo);
  if (only.empty())
    std::printf(
        "All convolutions of one forward pass (shape time x occurrences), batch %d:\n"
        "  ResNet-18: fast %.1f ms, ref %.0f ms (%.1fx)\n  ResNet-50: fast %.1f ms, ref %.0f ms (%.1fx)\n",
        batch, r18_fast * 1e3, r18_ref * 1e3, r18_ref / r18_fast, r50_fast * 1e3, r50_ref * 1e3, r50_ref / r50_fast);
  std::printf("load average at the end: %s\n", load_average().c_str());
  out["geomean_ratio"] = geo;
  out["resnet18_conv_ms"] = {{"fast", r18_fast * 1e3}, {"ref", r18_ref * 1e3}};
  out["resnet50_conv_ms"] = {{"fast", r50_fast * 1e3}, {"ref", r50_ref * 1e3}};
  out["load_average_end"] = load_average();
  if (!json_path.empty()) {
    std::ofstream f(json_path);
    f << out.dump(2) << "\n";
    std::printf("wrote %s\n", json_path.c_str());
  }
  return failed ? 1 : 0;
}

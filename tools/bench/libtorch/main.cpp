// bench_libtorch — scratchnet's CPU kernels and models against LibTorch.
//
//   bench_libtorch [--quick] [--filter conv] [--threads 2] [--json out.json] [--svg out.svg]
//
// For every case: allocate identical inputs on both sides, run each side once
// (warm-up, JIT, caches), compare the answers (a wrong answer is reported and
// never timed), then time the sides in interleaved rounds and print medians,
// their ratio (scratchnet / LibTorch: lower is better), GFLOP/s and the fraction
// of the machine's peak measured by an FMA loop. Both sides use the same
// number of threads (at::set_num_threads and sn::set_num_threads).
#include <ATen/Config.h>
#include <torch/torch.h>
#include <torch/version.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <regex>
#include <thread>

#include "engine/autograd.h"
#include "engine/check.h"
#include "engine/parallel.h"
#include "tools/bench/common/machine.h"
#include "tools/bench/libtorch/cases.h"

using namespace sn::bench;

static void write_file(const std::string& path, const std::string& text) {
  if (path.empty()) return;
  std::ofstream f(path);
  SN_CHECK(f.good(), "cannot write ", path);
  f << text;
}

int main(int argc, char** argv) {
  CLI::App app{"scratchnet vs LibTorch on the CPU: op and model benchmarks"};
  Options o;
  std::string filter, json_path = "bench-cpu.json", svg_path = "bench-cpu.svg", md_path;
  std::vector<std::string> groups = {"gemm", "op", "conv", "model"};
  double budget = 0;
  app.add_flag("--quick", o.quick, "Fewer shapes and rounds: a smoke run");
  bool no_ref = false, no_backward = false;
  app.add_flag("--no-ref", no_ref, "Do not time the reference implementations");
  app.add_flag("--no-backward", no_backward, "Skip the conv forward+backward cases");
  app.add_option("--threads", o.threads, "Threads for both sides (default: all logical CPUs)");
  app.add_option("--filter", filter, "Only cases whose name matches this regular expression");
  app.add_option("--groups", groups, "Case groups to run: gemm op conv model")->delimiter(',');
  app.add_option("--budget", budget, "Seconds per case, all sides together (default 1.5, quick 0.4)");
  app.add_option("--json", json_path, "Write the results as JSON here ('' to skip)");
  app.add_option("--svg", svg_path, "Write a chart of the per-case ratios here ('' to skip)");
  app.add_option("--markdown", md_path, "Write the tables as Markdown here (for docs/PERFORMANCE.md)");
  CLI11_PARSE(app, argc, argv);
  o.with_ref = !no_ref;
  o.backward = !no_backward;

  try {
    if (o.threads <= 0) o.threads = int(std::max(1u, std::thread::hardware_concurrency()));
    // Same thread count on both sides, stated explicitly: Debian's torch would
    // otherwise pick its own default.
    sn::set_num_threads(o.threads);
    at::set_num_threads(o.threads);
    at::set_num_interop_threads(1);

    Report report;
    MachineInfo mi = collect_machine_info(o.threads);
    mi.other_versions = std::string("LibTorch ") + TORCH_VERSION + (AT_MKLDNN_ENABLED() ? ", oneDNN (mkldnn) on" : "");
    report.machine = to_json(mi);
    report.machine["libtorch_threads"] = at::get_num_threads();
    report.machine["libtorch_config"] = at::show_config();
    std::printf("scratchnet vs LibTorch, CPU\nmachine: %s, %d logical CPUs, %d threads on both sides (LibTorch: %d)\n",
                mi.cpu_model.c_str(), mi.logical_cpus, o.threads, at::get_num_threads());
    std::printf("build:   %s, %s, %s\ndate:    %s\n", mi.simd.c_str(), mi.compiler.c_str(), mi.other_versions.c_str(),
                mi.date_utc.c_str());
    const Peak peak = measure_peak(o.threads);
    report.peak_gflops = peak.all_threads_gflops;
    report.peak_gflops_per_thread = peak.per_thread_gflops;
    std::printf("peak:    %.1f GFLOP/s one thread, %.1f GFLOP/s %d threads (fp32 FMA loop)\n", peak.per_thread_gflops,
                peak.all_threads_gflops, o.threads);

    TimingPlan plan;
    plan.budget_s = budget > 0 ? budget : (o.quick ? 0.4 : 1.5);
    if (o.quick) plan.min_rounds = 3;

    std::vector<Case> cases;
    for (const auto& g : groups) {
      std::vector<Case> more;
      if (g == "gemm")
        more = gemm_cases(o);
      else if (g == "op")
        more = op_cases(o);
      else if (g == "conv")
        more = conv_cases(o);
      else if (g == "model")
        more = model_cases(o);
      else
        SN_FAIL("unknown case group '", g, "' (expected gemm, op, conv or model)");
      cases.insert(cases.end(), more.begin(), more.end());
    }
    const std::regex re(filter.empty() ? ".*" : filter);

    int wrong = 0;
    std::string group;
    for (const Case& c : cases) {
      if (!std::regex_search(c.name, re)) continue;
      if (c.group != group) report.print_table_header(group = c.group);
      Row row;
      row.group = c.group;
      row.name = c.name;
      row.flops = c.flops;
      try {
        Instance inst = c.make();
        std::vector<double> warmup_s;
        for (const Side& s : inst.sides) {  // warm-up, and the outputs the check compares
          const double t0 = now_seconds();
          s.run();
          warmup_s.push_back(now_seconds() - t0);
        }
        row.check = inst.check();
        if (row.check.ok) {
          TimingPlan p = plan;
          p.budget_s *= c.cost;
          if (c.min_rounds > 0) p.min_rounds = std::min(p.min_rounds, c.min_rounds);
          const auto stats = time_interleaved(inst.sides, p, warmup_s);
          for (size_t i = 0; i < inst.sides.size(); ++i) row.sides.push_back({inst.sides[i].name, stats[i], true});
        }
      } catch (const std::exception& e) {
        row.error = e.what();
      }
      if (!row.check.ok || !row.error.empty()) ++wrong;
      report.print_row(row);
      report.rows.push_back(row);
    }
    // The peak is measured again at the end and the better of the two kept:
    // other processes on a shared machine can only make a measurement lower.
    const Peak peak2 = measure_peak(o.threads);
    if (peak2.all_threads_gflops > report.peak_gflops) {
      report.peak_gflops = peak2.all_threads_gflops;
      std::printf("\npeak re-measured at the end: %.1f GFLOP/s %d threads (used in the summary and files)\n",
                  report.peak_gflops, o.threads);
    }
    report.peak_gflops_per_thread = std::max(report.peak_gflops_per_thread, peak2.per_thread_gflops);
    report.print_summary();
    write_file(json_path, report.to_json().dump(1) + "\n");
    write_file(svg_path, report.to_svg());
    write_file(md_path, report.to_markdown());
    if (!json_path.empty()) std::printf("wrote %s\n", json_path.c_str());
    if (!svg_path.empty()) std::printf("wrote %s\n", svg_path.c_str());
    return wrong ? 1 : 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_libtorch: %s\n", e.what());
    return 2;
  }
}

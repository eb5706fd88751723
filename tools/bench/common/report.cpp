#include "tools/bench/common/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace sn::bench {

// ---- checks -------------------------------------------------------------------
Check compare(const float* a, const float* b, size_t n, double tol) {
  Check c;
  double num = 0, den = 0, worst = 0, scale = 0;
  bool finite = true;
  for (size_t i = 0; i < n; ++i) {
    const double d = double(a[i]) - double(b[i]);
    if (!std::isfinite(a[i]) || !std::isfinite(b[i])) finite = false;
    num += d * d;
    den += double(b[i]) * double(b[i]);
    worst = std::max(worst, std::abs(d));
    scale = std::max(scale, std::abs(double(b[i])));
  }
  c.rel_l2 = std::sqrt(num / std::max(den, 1e-300));
  c.max_abs = worst / std::max(scale, 1e-30);
  c.ok = finite && c.rel_l2 <= tol && c.max_abs <= 10 * tol;
  if (!finite) {
    c.message = "non-finite values";
  } else if (!c.ok) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "results differ: rel L2 %.2e, max |diff|/max|ref| %.2e (tolerance %.0e)", c.rel_l2,
                  c.max_abs, tol);
    c.message = buf;
  }
  return c;
}

Check merge(const Check& a, const Check& b) {
  Check c;
  c.ok = a.ok && b.ok;
  c.rel_l2 = std::max(a.rel_l2, b.rel_l2);
  c.max_abs = std::max(a.max_abs, b.max_abs);
  c.message = !a.ok ? a.message : b.message;
  return c;
}

// ---- rows -----------------------------------------------------------------------
const SideResult* Row::side(const std::string& n) const {
  for (const auto& s : sides)
    if (s.name == n && s.timed) return &s;
  return nullptr;
}

double Row::ratio(const std::string& n) const {
  const SideResult* a = side(n);
  const SideResult* b = side(baseline);
  if (!a || !b || b->stats.median <= 0) return 0;
  return a->stats.median / b->stats.median;
}

double geomean(const std::vector<double>& v) {
  if (v.empty()) return 0;
  double s = 0;
  for (double x : v) s += std::log(x);
  return std::exp(s / double(v.size()));
}

static std::string fmt_time(double s) {
  char buf[32];
  if (s <= 0) return "-";
  if (s >= 1)
    std::snprintf(buf, sizeof buf, "%.3f s", s);
  else if (s >= 1e-3)
    std::snprintf(buf, sizeof buf, "%.3f ms", s * 1e3);
  else
    std::snprintf(buf, sizeof buf, "%.1f us", s * 1e6);
  return buf;
}

void Report::print_table_header(const std::string& group) const {
  std::printf("\n== %s ==  (ratio = scratchnet time / LibTorch time, lower is better; +-: IQR/median)\n",
              group.c_str());
  std::printf("%-46s %14s %5s %14s %5s %6s %8s %5s %8s %7s %s\n", "case", "LibTorch", "+-", "scratchnet", "+-", "ratio",
              "GFLOP/s", "%peak", "LT GF/s", "ref/LT", "check");
}

void Report::print_row(const Row& r) const {
  const SideResult* lt = r.side(r.baseline);
  const SideResult* fast = r.side("fast");
  std::printf("%-46s ", r.name.c_str());
  if (!r.error.empty()) {
    std::printf("ERROR: %s\n", r.error.c_str());
    std::fflush(stdout);
    return;
  }
  if (!r.check.ok) {
    std::printf("WRONG RESULT, not timed: %s\n", r.check.message.c_str());
    std::fflush(stdout);
    return;
  }
  auto spread = [](const SideResult* s) { return s ? s->stats.iqr_rel() * 100 : 0.0; };
  const double gf = (fast && r.flops > 0) ? r.flops / fast->stats.median * 1e-9 : 0;
  const double ltgf = (lt && r.flops > 0) ? r.flops / lt->stats.median * 1e-9 : 0;
  const double ref_ratio = r.ratio("ref");
  std::printf("%14s %4.0f%% %14s %4.0f%% %6.2f ", fmt_time(lt ? lt->stats.median : 0).c_str(), spread(lt),
              fmt_time(fast ? fast->stats.median : 0).c_str(), spread(fast), r.ratio("fast"));
  if (gf > 0)
    std::printf("%8.1f %4.0f%% %8.1f ", gf, 100 * gf / std::max(peak_gflops, 1e-9), ltgf);
  else
    std::printf("%8s %5s %8s ", "", "", "");
  if (ref_ratio > 0)
    std::printf("%7.1f ", ref_ratio);
  else
    std::printf("%7s ", "");
  std::printf("ok (%.0e)\n", r.check.rel_l2);
  std::fflush(stdout);
}

void Report::print_summary() const {
  std::map<std::string, std::vector<double>> by_group;
  std::map<std::string, double> worst;
  std::map<std::string, std::string> worst_name;
  int wrong = 0;
  for (const auto& r : rows) {
    if (!r.check.ok || !r.error.empty()) {
      ++wrong;
      continue;
    }
    const double q = r.ratio("fast");
    if (q <= 0) continue;
    by_group[r.group].push_back(q);
    if (q > worst[r.group]) {
      worst[r.group] = q;
      worst_name[r.group] = r.name;
    }
  }
  std::printf("\n== summary (fast/LibTorch time ratio; < 1 means scratchnet is faster) ==\n");
  for (const auto& [g, v] : by_group)
    std::printf("%-8s %3zu cases  geomean %.2f  worst %.2f (%s)\n", g.c_str(), v.size(), geomean(v), worst[g],
                worst_name[g].c_str());
  std::printf("measured peak: %.1f GFLOP/s one thread, %.1f GFLOP/s all threads\n", peak_gflops_per_thread,
              peak_gflops);
  if (wrong) std::printf("%d case(s) failed their result check or errored: no speed reported for them\n", wrong);
}

nlohmann::json Report::to_json() const {
  nlohmann::json j;
  j["machine"] = machine;
  j["peak_gflops"] = {{"per_thread", peak_gflops_per_thread}, {"all_threads", peak_gflops}};
  j["rows"] = nlohmann::json::array();
  for (const auto& r : rows) {
    nlohmann::json jr = {
        {"group", r.group},
        {"name", r.name},
        {"flops", r.flops},
        {"baseline", r.baseline},
        {"check",
         {{"ok", r.check.ok}, {"rel_l2", r.check.rel_l2}, {"max_abs", r.check.max_abs}, {"message", r.check.message}}}};
    if (!r.error.empty()) jr["error"] = r.error;
    for (const auto& s : r.sides) {
      if (!s.timed) continue;
      jr["sides"][s.name] = {{"median_s", s.stats.median},
                             {"q1_s", s.stats.q1},
                             {"q3_s", s.stats.q3},
                             {"min_s", s.stats.min},
                             {"max_s", s.stats.max},
                             {"samples", s.stats.samples},
                             {"calls_per_sample", s.stats.calls_per_sample}};
      if (r.flops > 0) jr["sides"][s.name]["gflops"] = r.flops / s.stats.median * 1e-9;
      if (s.name != r.baseline) jr["ratio"][s.name] = r.ratio(s.name);
    }
    j["rows"].push_back(jr);
  }
  return j;
}

// Horizontal bars on a log2 axis from 1/8 to 8: left of the 1.0 line
// scratchnet is faster. Green <= 1, orange <= 1.25, red above.
std::string Report::to_svg() const {
  std::vector<const Row*> shown;
  for (const auto& r : rows)
    if (r.check.ok && r.error.empty() && r.ratio("fast") > 0) shown.push_back(&r);
  const int row_h = 14, top = 40, label_w = 330, plot_w = 420, right = 60;
  const int h = top + row_h * int(shown.size()) + 30, w = label_w + plot_w + right;
  const double lo = std::log2(1.0 / 8), hi = std::log2(8.0);
  auto x_of = [&](double ratio) {
    const double l = std::clamp(std::log2(ratio), lo, hi);
    return label_w + (l - lo) / (hi - lo) * plot_w;
  };
  std::ostringstream s;
  s << "<svg xmlns='http://www.w3.org/2000/svg' width='" << w << "' height='" << h
    << "' font-family='monospace' font-size='10'>\n<rect width='100%' height='100%' fill='white'/>\n";
  s << "<text x='4' y='14' font-size='12'>scratchnet fast CPU / LibTorch time (log scale, lower is better) - "
    << machine.value("cpu_model", "") << ", " << machine.value("threads", 0) << " threads, "
    << machine.value("date_utc", "") << "</text>\n";
  for (double t : {0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0}) {
    const double x = x_of(t);
    s << "<line x1='" << x << "' y1='" << top - 8 << "' x2='" << x << "' y2='" << h - 24 << "' stroke='"
      << (t == 1.0 ? "black" : "#ddd") << "'/>\n<text x='" << x - 8 << "' y='" << top - 12 << "'>" << t << "</text>\n";
  }
  for (size_t i = 0; i < shown.size(); ++i) {
    const Row& r = *shown[i];
    const double q = r.ratio("fast"), y = top + row_h * double(i);
    const double x0 = x_of(1.0), x1 = x_of(q);
    const char* color = q <= 1.0 ? "#2a9d3a" : (q <= 1.25 ? "#e69f00" : "#d62728");
    s << "<text x='4' y='" << y + 10 << "'>" << r.name << "</text>\n";
    s << "<rect x='" << std::min(x0, x1) << "' y='" << y + 2 << "' width='" << std::max(std::abs(x1 - x0), 1.0)
      << "' height='" << row_h - 4 << "' fill='" << color << "'/>\n";
    char buf[16];
    std::snprintf(buf, sizeof buf, "%.2f", q);
    s << "<text x='" << label_w + plot_w + 4 << "' y='" << y + 10 << "'>" << buf << "</text>\n";
  }
  s << "</svg>\n";
  return s.str();
}

std::string Report::to_markdown() const {
  std::ostringstream s;
  std::string group;
  char buf[256];
  for (const auto& r : rows) {
    if (r.group != group) {
      group = r.group;
      s << "\n| " << group << " | LibTorch | scratchnet | ratio | GFLOP/s | % peak |\n|---|---:|---:|---:|---:|---:|\n";
    }
    if (!r.error.empty() || !r.check.ok) {
      s << "| " << r.name << " | | | " << (r.error.empty() ? "wrong result" : "error") << " | | |\n";
      continue;
    }
    const SideResult* lt = r.side(r.baseline);
    const SideResult* fast = r.side("fast");
    if (!lt || !fast) continue;
    const double gf = r.flops > 0 ? r.flops / fast->stats.median * 1e-9 : 0;
    if (gf > 0)
      std::snprintf(buf, sizeof buf, "| %s | %s | %s | %.2f | %.0f | %.0f%% |\n", r.name.c_str(),
                    fmt_time(lt->stats.median).c_str(), fmt_time(fast->stats.median).c_str(), r.ratio("fast"), gf,
                    100 * gf / std::max(peak_gflops, 1e-9));
    else
      std::snprintf(buf, sizeof buf, "| %s | %s | %s | %.2f | | |\n", r.name.c_str(),
                    fmt_time(lt->stats.median).c_str(), fmt_time(fast->stats.median).c_str(), r.ratio("fast"));
    s << buf;
  }
  return s.str();
}

}  // namespace sn::bench

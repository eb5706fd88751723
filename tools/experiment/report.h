// experiment/report.h — RUN_DIR/report.html: one self-contained page a person can
// open offline (no scripts, no network): accuracy and loss curves per epoch as
// inline SVG, every misclassified test image with the predicted class and
// its probability, the grid of 20 test predictions titled "pred(label)" in
// green or red, the 24-sample training grid, per-class accuracy and the confusion
// matrix, the configuration, timings and the machine. Pictures are embedded as
// base64 data URIs.
//
// Inputs, all from the run directory (run_dir.h): config.json, metrics.jsonl
// (records of "type" "start" and "epoch"), eval.json (optional: without it
// the page shows the training curves only and says how to get the rest), and
// train_samples.png (optional).
#pragma once
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "tools/experiment/run_dir.h"

namespace sn::train {

struct ReportInput {
  std::string title;                    // e.g. the run directory's name
  nlohmann::json config;                // config.json
  std::vector<nlohmann::json> metrics;  // metrics.jsonl
  nlohmann::json eval;                  // eval.json or null
  std::string train_grid_png;           // PNG bytes or empty
};

std::string render_report(const ReportInput& in);

// Reads the run directory, writes RUN_DIR/report.html atomically, returns its path.
std::string write_report(const RunPaths& run);

// ---- building blocks (exposed for tests) -----------------------------------------
struct Series {
  std::string name, color;
  std::vector<std::pair<double, double>> points;  // (epoch, value)
};
// A line chart with axes, ticks, a legend and a dot per point (hover shows the value).
std::string svg_line_chart(const std::string& title, const std::string& y_label, const std::vector<Series>& series,
                           bool percent);
std::string base64(const void* data, size_t size);
std::string html_escape(const std::string& s);
// "data:image/jpeg;base64,..." with the type detected from the bytes, not the name.
std::string data_uri(const std::vector<uint8_t>& bytes);

}  // namespace sn::train

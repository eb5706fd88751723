#include "tools/experiment/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

#include "engine/check.h"
#include "engine/io/atomic_file.h"

namespace sn::train {

using nlohmann::json;

std::string html_escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string base64(const void* data, size_t size) {
  static const char* abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const auto* p = static_cast<const uint8_t*>(data);
  std::string out;
  out.reserve((size + 2) / 3 * 4);
  for (size_t i = 0; i < size; i += 3) {
    const uint32_t n =
        (uint32_t(p[i]) << 16) | (i + 1 < size ? uint32_t(p[i + 1]) << 8 : 0) | (i + 2 < size ? uint32_t(p[i + 2]) : 0);
    out += abc[(n >> 18) & 63];
    out += abc[(n >> 12) & 63];
    out += i + 1 < size ? abc[(n >> 6) & 63] : '=';
    out += i + 2 < size ? abc[n & 63] : '=';
  }
  return out;
}

std::string data_uri(const std::vector<uint8_t>& b) {
  auto starts = [&](std::initializer_list<uint8_t> sig) {
    return b.size() >= sig.size() && std::equal(sig.begin(), sig.end(), b.begin());
  };
  const char* type = "application/octet-stream";
  if (starts({0xFF, 0xD8, 0xFF}))
    type = "image/jpeg";
  else if (starts({0x89, 'P', 'N', 'G'}))
    type = "image/png";
  else if (starts({'B', 'M'}))
    type = "image/bmp";
  else if (starts({'G', 'I', 'F', '8'}))
    type = "image/gif";
  return std::string("data:") + type + ";base64," + base64(b.data(), b.size());
}

static std::string num(double v, int digits = 4) {
  if (!std::isfinite(v)) return "n/a";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", digits, v);
  return buf;
}
static std::string fixed(double v, int decimals) {
  if (!std::isfinite(v)) return "n/a";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}
static std::string pct(double v) {
  if (!std::isfinite(v)) return "n/a";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", 100 * v);
  return buf;
}

// Tick spacing of 1, 2 or 5 times a power of ten giving about `n` ticks.
static double nice_step(double range, int n) {
  const double raw = range / n;
  const double p = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * p >= raw) return m * p;
  return 10 * p;
}

std::string svg_line_chart(const std::string& title, const std::string& y_label, const std::vector<Series>& series,
                           bool percent) {
  const double W = 520, H = 310, left = 60, right = 16, top = 46, bottom = 44;
  double x0 = 1, x1 = 1, y0 = INFINITY, y1 = -INFINITY;
  for (const auto& s : series)
    for (auto [x, y] : s.points) {
      x1 = std::max(x1, x);
      if (std::isfinite(y)) y0 = std::min(y0, y), y1 = std::max(y1, y);
    }
  if (!std::isfinite(y0)) y0 = 0, y1 = 1;
  // Accuracy: zoom on the data but never past [0, 1]; loss: from 0.
  if (percent) {
    y0 = std::max(0.0, std::floor((y0 - 0.02) * 10) / 10);
    y1 = std::min(1.0, std::ceil((y1 + 0.005) * 20) / 20);
  } else {
    y0 = 0;
    y1 = y1 > 0 ? y1 * 1.08 : 1;
  }
  if (y1 <= y0) y1 = y0 + 1;
  if (x1 <= x0) x1 = x0 + 1;
  const double pw = W - left - right, ph = H - top - bottom;
  auto sx = [&](double x) { return left + (x - x0) / (x1 - x0) * pw; };
  auto sy = [&](double y) { return top + (1 - (y - y0) / (y1 - y0)) * ph; };

  std::ostringstream o;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" width=\"" << W << "\" height=\"" << H
    << "\" viewBox=\"0 0 " << W << " " << H << "\" role=\"img\" aria-label=\"" << html_escape(title) << "\">\n";
  o << "<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n";
  o << "<text x=\"" << W / 2 << "\" y=\"18\" text-anchor=\"middle\" font-weight=\"bold\">" << html_escape(title)
    << "</text>\n";
  // Grid and y ticks.
  const double ys = nice_step(y1 - y0, 5);
  for (double y = std::ceil(y0 / ys) * ys; y <= y1 + 1e-9; y += ys) {
    o << "<line x1=\"" << left << "\" x2=\"" << W - right << "\" y1=\"" << sy(y) << "\" y2=\"" << sy(y)
      << "\" stroke=\"#ddd\"/>";
    o << "<text x=\"" << left - 6 << "\" y=\"" << sy(y) + 4 << "\" text-anchor=\"end\" font-size=\"11\">"
      << (percent ? pct(y) : num(y, 3)) << "</text>\n";
  }
  // x ticks: epochs.
  const double xs = std::max(1.0, nice_step(x1 - x0, 8));
  for (double x = x0; x <= x1 + 1e-9; x += xs)
    o << "<text x=\"" << sx(x) << "\" y=\"" << H - bottom + 16 << "\" text-anchor=\"middle\" font-size=\"11\">"
      << num(x) << "</text>";
  o << "\n<line x1=\"" << left << "\" x2=\"" << left << "\" y1=\"" << top << "\" y2=\"" << H - bottom
    << "\" stroke=\"#333\"/><line x1=\"" << left << "\" x2=\"" << W - right << "\" y1=\"" << H - bottom << "\" y2=\""
    << H - bottom << "\" stroke=\"#333\"/>\n";
  o << "<text x=\"" << left + pw / 2 << "\" y=\"" << H - 6 << "\" text-anchor=\"middle\" font-size=\"12\">epoch</text>";
  o << "<text transform=\"translate(14," << top + ph / 2 << ") rotate(-90)\" text-anchor=\"middle\" font-size=\"12\">"
    << html_escape(y_label) << "</text>\n";
  // Series: a polyline and a dot per point with a tooltip.
  for (size_t k = 0; k < series.size(); ++k) {
    const auto& s = series[k];
    std::string pts;
    for (auto [x, y] : s.points)
      if (std::isfinite(y)) pts += num(sx(x), 6) + "," + num(sy(y), 6) + " ";
    o << "<polyline class=\"series\" fill=\"none\" stroke=\"" << s.color << "\" stroke-width=\"2\" points=\"" << pts
      << "\"/>\n";
    for (auto [x, y] : s.points)
      if (std::isfinite(y))
        o << "<circle cx=\"" << num(sx(x), 6) << "\" cy=\"" << num(sy(y), 6) << "\" r=\"3\" fill=\"" << s.color
          << "\"><title>" << html_escape(s.name) << ", epoch " << num(x) << ": " << (percent ? pct(y) : num(y))
          << "</title></circle>";
    // The legend sits between the title and the plot, never over a curve.
    const double lx = left + 12 + 130 * static_cast<double>(k), ly = 28;
    o << "\n<rect x=\"" << lx << "\" y=\"" << ly << "\" width=\"14\" height=\"4\" fill=\"" << s.color
      << "\"/><text x=\"" << lx + 18 << "\" y=\"" << ly + 6 << "\" font-size=\"12\">" << html_escape(s.name)
      << "</text>\n";
  }
  o << "</svg>\n";
  return o.str();
}

// ---- sections ------------------------------------------------------------------------

static const char* kStyle = R"(
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:1120px;color:#222;padding:0 16px}
h1{font-size:1.6em;margin-bottom:4px} h2{border-bottom:1px solid #ccc;padding-bottom:4px;margin-top:32px}
.sub{color:#666;margin-top:0}.charts{display:flex;flex-wrap:wrap;gap:16px}.chart{border:1px solid #ddd}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:3px 10px;text-align:right}
th{background:#f3f3f3}td.k{text-align:left;font-family:monospace}
.grid{display:grid;grid-template-columns:repeat(5,150px);gap:10px}
.cell{text-align:center;font-family:monospace;font-size:14px}
.cell img{width:150px;height:150px;object-fit:cover;display:block;border:3px solid #ccc}
.ok{color:#1a7f37;font-weight:bold}.ok img{border-color:#1a7f37}.bad{color:#cf222e;font-weight:bold}.bad img{border-color:#cf222e}
.summary{font-size:1.15em;background:#f6f8fa;padding:10px 14px;border-radius:6px}
img.pic{max-width:100%;border:1px solid #ddd}
)";

static std::string table_of(const json& obj) {
  std::ostringstream o;
  o << "<table>";
  for (auto it = obj.begin(); it != obj.end(); ++it)
    o << "<tr><td class=\"k\">" << html_escape(it.key()) << "</td><td class=\"k\">"
      << html_escape(it->is_string() ? it->get<std::string>() : it->dump()) << "</td></tr>";
  o << "</table>\n";
  return o.str();
}

// with_prob: the title also gives the predicted class's probability.
static std::string predictions_grid(const json& preds, const std::string& id = "predictions", bool with_prob = false) {
  std::ostringstream o;
  o << "<div class=\"grid\" id=\"" << id << "\">\n";
  for (const auto& p : preds) {
    const bool ok = p.value("correct", false);
    std::string src;
    try {
      src = data_uri(io::read_file(p.at("path").get<std::string>()));
    } catch (const std::exception&) {
      src = "";  // the test image moved: keep the title, show an empty frame
    }
    o << "<div class=\"cell " << (ok ? "ok" : "bad") << "\"><img alt=\"" << html_escape(p.value("path", ""))
      << "\" src=\"" << src << "\"><span>" << html_escape(p.value("pred", "?")) << "("
      << html_escape(p.value("label", "?")) << ")"
      << (with_prob && p.contains("prob") ? "<br>p = " + fixed(p.value("prob", NAN), 3) : std::string())
      << "</span></div>\n";
  }
  o << "</div>\n";
  return o.str();
}

std::string render_report(const ReportInput& in) {
  // Per-epoch rows: training from metrics.jsonl, test from eval.json.
  std::vector<json> train_rows;
  json start;
  for (const auto& r : in.metrics) {
    if (r.value("type", "") == "epoch") train_rows.push_back(r);
    if (r.value("type", "") == "start") start = r;
  }
  std::map<int, json> test_rows;
  if (in.eval.is_object() && in.eval.contains("checkpoints"))
    for (const auto& c : in.eval["checkpoints"]) test_rows[c.value("epoch", 0)] = c;

  Series train_acc{"train accuracy", "#1f77b4", {}}, test_acc{"test accuracy", "#d62728", {}};
  Series train_loss{"train loss", "#1f77b4", {}}, test_loss{"test loss", "#d62728", {}};
  double train_time = 0, feature_time = 0;
  for (const auto& r : in.metrics)
    if (r.value("type", "") == "features") feature_time += r.value("time_s", 0.0);
  for (const auto& r : train_rows) {
    const double e = r.value("epoch", 0);
    train_acc.points.emplace_back(e, r.value("train_acc", NAN));
    train_loss.points.emplace_back(e, r.value("train_loss", NAN));
    train_time += r.value("time_s", 0.0);
  }
  for (const auto& [e, c] : test_rows) {
    test_acc.points.emplace_back(e, c.value("acc", NAN));
    test_loss.points.emplace_back(e, c.value("loss", NAN));
  }

  std::ostringstream o;
  o << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>scratchnet: " << html_escape(in.title)
    << "</title>\n<style>" << kStyle << "</style></head><body>\n";
  o << "<h1>Transfer learning: " << html_escape(in.config.value("model", "resnet")) << " on "
    << html_escape(in.config.value("data", "")) << "</h1>\n";
  o << "<p class=\"sub\">run <code>" << html_escape(in.title) << "</code>, written by scratchnet</p>\n";

  o << "<p class=\"summary\" id=\"summary\">";
  if (in.eval.is_object() && in.eval.contains("best")) {
    const auto& b = in.eval["best"];
    o << "Best test accuracy <b>" << pct(b.value("acc", NAN)) << "</b> at epoch <b>" << b.value("epoch", 0)
      << "</b> of " << train_rows.size() << ".";
  } else {
    o << "Not evaluated yet: run <code>scratchnet eval --run RUN_DIR --data DIR</code> for the test curves and "
         "the prediction grid.";
  }
  o << " Training took " << fixed(train_time + feature_time, 1) << " s";
  if (feature_time > 0)
    o << " (" << fixed(feature_time, 1) << " s computing the backbone features once, " << fixed(train_time, 1)
      << " s for the epochs)";
  o << ".</p>\n";

  o << "<h2>Curves</h2>\n<div class=\"charts\">\n";
  std::vector<Series> acc{train_acc}, loss{train_loss};
  if (!test_acc.points.empty()) acc.push_back(test_acc), loss.push_back(test_loss);
  o << svg_line_chart("Accuracy per epoch", "accuracy", acc, true);
  o << svg_line_chart("Loss per epoch (cross-entropy)", "loss", loss, false);
  o << "</div>\n";

  o << "<h2>Per epoch</h2>\n<table id=\"epochs\"><tr><th>epoch</th><th>train loss</th><th>train acc</th>"
       "<th>test loss</th><th>test acc</th><th>time (s)</th><th>images/s</th><th>peak RSS (MiB)</th></tr>\n";
  for (const auto& r : train_rows) {
    const int e = r.value("epoch", 0);
    auto t = test_rows.find(e);
    const bool best = in.eval.is_object() && in.eval.contains("best") && in.eval["best"].value("epoch", -1) == e;
    o << "<tr" << (best ? " style=\"background:#e6ffec\"" : "") << "><td>" << e << "</td><td>"
      << num(r.value("train_loss", NAN)) << "</td><td>" << pct(r.value("train_acc", NAN)) << "</td><td>"
      << (t != test_rows.end() ? num(t->second.value("loss", NAN)) : "") << "</td><td>"
      << (t != test_rows.end() ? pct(t->second.value("acc", NAN)) : "") << "</td><td>"
      << fixed(r.value("time_s", NAN), 2) << "</td><td>" << fixed(r.value("images_per_s", NAN), 1) << "</td><td>"
      << (r.contains("peak_rss_mib") ? fixed(r.value("peak_rss_mib", NAN), 0) : "") << "</td></tr>\n";
  }
  o << "</table>\n";

  if (in.eval.is_object() && in.eval.contains("predictions")) {
    o << "<h2>Predictions on the test set</h2>\n<p>Checkpoint of epoch " << in.eval["best"].value("epoch", 0)
      << " (the best). Each image is titled <code>pred(label)</code>: green when right, red when wrong.</p>\n";
    if (in.eval.contains("misclassified")) {  // eval.json files from before it existed have none
      const auto& miss = in.eval["misclassified"];
      int64_t total = 0;
      for (const auto& c : in.eval.value("per_class", json::array())) total += c.value("total", int64_t(0));
      o << "<h3>Misclassified: " << miss.size() << (total ? " of " + std::to_string(total) : std::string())
        << " test images</h3>\n";
      if (miss.empty())
        o << "<p id=\"misclassified\">None: every test image is classified correctly.</p>\n";
      else
        o << "<p>Each with the predicted class, its label in parentheses, and the probability the model gave the "
             "predicted class.</p>\n"
          << predictions_grid(miss, "misclassified", true);
      o << "<h3>" << in.eval["predictions"].size() << " test images spread over the classes</h3>\n";
    }
    o << predictions_grid(in.eval["predictions"]);
    if (in.eval.contains("per_class") && in.eval.contains("classes")) {
      const auto& classes = in.eval["classes"];
      o << "<h3>Per-class accuracy</h3>\n<table id=\"per-class\"><tr><th>class</th><th>correct</th><th>images</th>"
           "<th>accuracy</th></tr>";
      for (const auto& c : in.eval["per_class"])
        o << "<tr><td class=\"k\">" << html_escape(c.value("class", "")) << "</td><td>" << c.value("correct", 0)
          << "</td><td>" << c.value("total", 0) << "</td><td>" << pct(c.value("acc", NAN)) << "</td></tr>";
      o << "</table>\n<h3>Confusion matrix</h3>\n<table id=\"confusion\"><tr><th>label \\ predicted</th>";
      for (const auto& c : classes) o << "<th>" << html_escape(c.get<std::string>()) << "</th>";
      o << "</tr>";
      const auto& cm = in.eval["confusion"];
      for (size_t i = 0; i < cm.size(); ++i) {
        o << "<tr><th>" << html_escape(classes[i].get<std::string>()) << "</th>";
        for (size_t j = 0; j < cm[i].size(); ++j)
          o << "<td" << (i == j ? " style=\"background:#e6ffec\"" : "") << ">" << cm[i][j].get<int64_t>() << "</td>";
        o << "</tr>";
      }
      o << "</table>\n";
    }
  }

  if (!in.train_grid_png.empty()) {
    o << "<h2>Training samples</h2>\n<p>24 training images as the model sees them (after the training "
         "transform), with their labels.</p>\n<img class=\"pic\" id=\"train-grid\" alt=\"24 training samples\" src=\""
      << data_uri(std::vector<uint8_t>(in.train_grid_png.begin(), in.train_grid_png.end())) << "\">\n";
  }

  o << "<h2>Configuration</h2>\n" << table_of(in.config);
  if (start.contains("classes")) {
    o << "<p>Classes: ";
    const auto& cls = start["classes"];
    for (size_t i = 0; i < cls.size(); ++i)
      o << (i ? ", " : "") << i << " = " << html_escape(cls[i].get<std::string>());
    o << "; training images " << start.value("train_images", 0) << ", test images " << start.value("test_images", 0)
      << ".</p>\n";
  }

  o << "<h2>Timings</h2>\n<table id=\"timings\">";
  o << "<tr><td class=\"k\">training, all epochs</td><td>" << fixed(train_time, 2) << " s</td></tr>";
  if (!train_rows.empty())
    o << "<tr><td class=\"k\">training, mean per epoch</td><td>" << fixed(train_time / train_rows.size(), 2)
      << " s</td></tr>";
  for (const auto& r : in.metrics)
    if (r.value("type", "") == "features")
      o << "<tr><td class=\"k\">feature extraction (" << html_escape(r.value("split", "")) << ", once)</td><td>"
        << fixed(r.value("time_s", NAN), 2) << " s</td></tr>";
  if (in.eval.is_object() && in.eval.contains("time_s"))
    o << "<tr><td class=\"k\">evaluation of " << in.eval["checkpoints"].size() << " checkpoints</td><td>"
      << fixed(in.eval.value("time_s", NAN), 2) << " s</td></tr>";
  o << "</table>\n";
  if (start.contains("machine")) o << "<h2>Machine</h2>\n" << table_of(start["machine"]);
  o << "</body></html>\n";
  return o.str();
}

std::string write_report(const RunPaths& run) {
  ReportInput in;
  in.title = run.root;
  SN_USER_CHECK(path_exists(run.config()), run.root, " is not a training run: ", run.config(), " is missing");
  in.config = read_json(run.config());
  if (path_exists(run.metrics())) in.metrics = read_jsonl(run.metrics());
  if (path_exists(run.eval())) in.eval = read_json(run.eval());
  if (path_exists(run.train_grid())) {
    auto bytes = io::read_file(run.train_grid());
    in.train_grid_png.assign(bytes.begin(), bytes.end());
  }
  io::write_file_atomic(run.report(), render_report(in));
  return run.report();
}

}  // namespace sn::train

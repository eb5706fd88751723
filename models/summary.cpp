#include "models/summary.h"

#include <algorithm>
#include <array>
#include <cstdio>

#include "engine/check.h"

namespace sn::models {

namespace {

using Children = std::vector<std::pair<std::string, nn::Module*>>;

// The direct children of the module called `prefix`, in registration order.
Children children_of(const Children& all, const std::string& prefix) {
  Children out;
  for (const auto& [name, m] : all) {
    if (name == prefix) continue;
    const std::string rest =
        prefix.empty() ? name : (name.rfind(prefix + ".", 0) == 0 ? name.substr(prefix.size() + 1) : "");
    if (!rest.empty() && rest.find('.') == std::string::npos) out.emplace_back(name, m);
  }
  return out;
}

std::string last_part(const std::string& name) {
  const size_t dot = name.rfind('.');
  return dot == std::string::npos ? name : name.substr(dot + 1);
}

int64_t pooled(int64_t size, int kernel, int stride, int padding) { return (size + 2 * padding - kernel) / stride + 1; }

struct Tracer {
  ModelSummary& s;
  Children all;

  Shape visit(const std::string& name, nn::Module* m, const Shape& in, int depth) {
    const size_t row = s.rows.size();
    s.rows.push_back({});
    Shape out;
    const Children kids = children_of(all, name);
    if (auto* c = dynamic_cast<nn::Conv2d*>(m)) {
      SN_CHECK(in.size() == 4 && in[1] == c->in_channels, "summary: ", name, " (", c->extra_repr(), ") receives ",
               to_string(in));
      out = {in[0], c->out_channels, pooled(in[2], c->kernel_size, c->params.stride, c->params.padding),
             pooled(in[3], c->kernel_size, c->params.stride, c->params.padding)};
      // Each output channel sees in_channels / groups inputs.
      s.mult_adds += int64_t(c->out_channels) * (c->in_channels / c->params.groups) * c->kernel_size * c->kernel_size *
                     out[2] * out[3];
    } else if (dynamic_cast<nn::BatchNorm2d*>(m) || dynamic_cast<nn::ReLU*>(m) || dynamic_cast<nn::ReLU6*>(m) ||
               dynamic_cast<nn::Dropout*>(m)) {
      out = in;
    } else if (auto* a = dynamic_cast<nn::AdaptiveAvgPool2d*>(m)) {
      out = {in[0], in[1], a->out_h, a->out_w};
    } else if (auto* p = dynamic_cast<nn::MaxPool2d*>(m)) {
      out = {in[0], in[1], pooled(in[2], p->kernel_size, p->stride, p->padding),
             pooled(in[3], p->kernel_size, p->stride, p->padding)};
    } else if (auto* l = dynamic_cast<nn::Linear*>(m)) {
      SN_CHECK(in.size() == 2 && in[1] == l->in_features, "summary: ", name, " (", l->extra_repr(), ") receives ",
               to_string(in));
      out = {in[0], l->out_features};
      s.mult_adds += int64_t(l->in_features) * l->out_features;
    } else if (auto* ir = dynamic_cast<InvertedResidual*>(m)) {
      out = in;  // the residual adds the input: same shape
      for (const auto& [n, k] : kids) out = visit(n, k, out, depth + 1);
      SN_CHECK(!ir->use_res_connect || out == in, "summary: ", name, " adds ", to_string(in), " to ", to_string(out));
    } else if (dynamic_cast<BasicBlock*>(m) || dynamic_cast<Bottleneck*>(m)) {
      out = in;  // the main path; the shortcut starts from the block's input
      for (const auto& [n, k] : kids) {
        if (last_part(n) == "downsample")
          visit(n, k, in, depth + 1);
        else
          out = visit(n, k, out, depth + 1);
      }
    } else if (dynamic_cast<nn::Sequential*>(m) || dynamic_cast<Classifier*>(m)) {
      out = in;
      for (const auto& [n, k] : kids) {
        // The classifier's forward steps between modules: MobileNetV2 pools to
        // 1x1 functionally, every network flattens before its classifier.
        if ((last_part(n) == "fc" || last_part(n) == "classifier") && out.size() == 4) {
          if (dynamic_cast<MobileNetV2*>(m)) out = {out[0], out[1], 1, 1};
          out = {out[0], out[1] * out[2] * out[3]};
        }
        out = visit(n, k, out, depth + 1);
      }
    } else {
      SN_FAIL("summary: ", name, " is a ", m->type_name(), ", a layer the summary does not know");
    }
    SummaryRow& r = s.rows[row];
    r.depth = depth;
    r.name = name;
    r.type = m->type_name();
    r.output = out;
    r.leaf = kids.empty();
    for (const auto& [n, t] : m->named_parameters()) {
      r.params += t.numel();
      if (t.requires_grad()) r.trainable += t.numel();
    }
    return out;
  }
};

// Display width of UTF-8 text (the tree's box-drawing characters are one column each).
size_t columns(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

std::string pad(const std::string& s, size_t width) {
  return s + std::string(width > columns(s) ? width - columns(s) : 0, ' ');
}

std::string shape_list(const Shape& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

}  // namespace

std::string with_commas(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

ModelSummary summarize(const nn::Module& net, int size) {
  ModelSummary s;
  s.input = {1, 3, size, size};
  Tracer t{s, net.named_modules()};
  t.visit("", const_cast<nn::Module*>(&net), s.input, 0);
  for (const auto& [n, p] : net.named_parameters()) {
    s.total += p.numel();
    if (p.requires_grad()) s.trainable += p.numel();
  }
  return s;
}

std::string ModelSummary::text(int max_depth) const {
  std::vector<std::array<std::string, 4>> cells;
  for (const auto& r : rows) {
    if (max_depth >= 0 && r.depth > max_depth) continue;
    std::string tree;
    for (int d = 1; d < r.depth; ++d) tree += "│    ";
    if (r.depth > 0) tree += "├─";
    const std::string label = r.depth == 0 ? r.type : tree + last_part(r.name) + " (" + r.type + ")";
    const std::string trains = r.params == 0             ? ""
                               : r.trainable == r.params ? "yes"
                               : r.trainable == 0        ? "no"
                                                         : "partly";
    cells.push_back({label, shape_list(r.output), r.params ? with_commas(r.params) : "--", trains});
  }
  std::array<std::string, 4> head{"Layer (name: type)", "Output shape", "Param #", "Trains"};
  std::array<size_t, 4> w{};
  for (size_t c = 0; c < 4; ++c) {
    w[c] = columns(head[c]);
    for (const auto& row : cells) w[c] = std::max(w[c], columns(row[c]));
  }
  const size_t total_width = w[0] + w[1] + w[2] + w[3] + 6;
  const std::string rule(total_width, '='), thin(total_width, '-');
  auto line = [&](const std::array<std::string, 4>& c) {
    // Parameter counts right-aligned, as numbers are.
    const std::string count = std::string(w[2] - columns(c[2]), ' ') + c[2];
    std::string l = pad(c[0], w[0]) + "  " + pad(c[1], w[1]) + "  " + count + "  " + c[3];
    while (!l.empty() && l.back() == ' ') l.pop_back();
    return l + "\n";
  };
  std::string o = rule + "\n" + line(head) + rule + "\n";
  for (const auto& row : cells) o += line(row);
  char madds[64];
  std::snprintf(madds, sizeof madds, "%.2f G", double(mult_adds) / 1e9);
  o += rule + "\n";
  o += "Total params: " + with_commas(total) + "\n";
  o += "Trainable params: " + with_commas(trainable) + "\n";
  o += "Non-trainable params: " + with_commas(total - trainable) + "\n";
  o += thin + "\n";
  o += "Input size: " + shape_list(input) + "\n";
  o += "Multiply-adds (convolutions and linear layers): " + std::string(madds) + "\n";
  char mib[64];
  std::snprintf(mib, sizeof mib, "%.1f MiB", double(total) * 4 / (1024 * 1024));
  o += "Parameters as float32: " + std::string(mib) + "\n";
  o += rule + "\n";
  return o;
}

nlohmann::json ModelSummary::json() const {
  nlohmann::json layers = nlohmann::json::array();
  for (const auto& r : rows)
    layers.push_back({{"depth", r.depth},
                      {"name", r.name},
                      {"type", r.type},
                      {"output_shape", r.output},
                      {"params", r.params},
                      {"trainable_params", r.trainable}});
  return {{"input_shape", input},
          {"layers", layers},
          {"total_params", total},
          {"trainable_params", trainable},
          {"non_trainable_params", total - trainable},
          {"mult_adds", mult_adds}};
}

}  // namespace sn::models

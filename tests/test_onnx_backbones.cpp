// `scratchnet convert --from onnx` and ONNX export of VGG-16 and MobileNetV2
// (models/onnx/onnx_import_backbones.cpp, onnx_export_backbones.cpp): the reduced-width
// networks of tests/fixtures/vgg16_w2.pth and mobilenet_v2_w10.pth as Debian's torch 1.13
// exports them (tools/fixtures/make_onnx_fixtures.py) import to the .pth's tensors and
// logits; scratchnet's own export comes back bit for bit; a file that does not fit is
// refused, the file and the node named.
#if SCRATCHNET_ONNX  // the whole file: built only with libonnx-dev
#include <onnx/onnx_pb.h>

#include <cmath>
#include <cstdlib>
#include <map>

#include "engine/autograd.h"
#include "engine/check.h"
#include "engine/io/atomic_file.h"
#include "engine/io/weight_file.h"
#include "models/convert.h"
#include "models/onnx/onnx_export.h"
#include "models/onnx/onnx_import.h"
#include "models/zoo.h"
#include "tests/helpers.h"

using namespace sn;

namespace {

std::shared_ptr<models::Classifier> build(const models::Converted& c) {
  Rng rng(0);
  auto net = models::make_classifier(c.meta.architecture, c.meta.model, rng);
  net->load_state_dict(std::map<std::string, Tensor>(c.tensors.begin(), c.tensors.end()));
  net->eval();
  return net;
}

Tensor logits(const models::Converted& c, const Tensor& x) {
  NoGradGuard no_grad;
  return build(c)->forward(x);
}

// (2,3,S,S): a pattern of both signs and no symmetry, at any size.
Tensor input(int64_t size) {
  std::vector<float> v(static_cast<size_t>(2 * 3 * size * size));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(std::sin(0.75 * double(i) + 0.1));
  return Tensor::from_vector(v, {2, 3, size, size});
}

void check_same_tensors(const models::Converted& got, const models::Converted& want) {
  REQUIRE(got.tensors.size() == want.tensors.size());
  for (size_t i = 0; i < got.tensors.size(); ++i) {
    INFO(want.tensors[i].first);
    CHECK(got.tensors[i].first == want.tensors[i].first);  // state_dict order
    CHECK(got.tensors[i].second.to_vector() == want.tensors[i].second.to_vector());
  }
}

std::string expect_error(const std::string& bytes, const std::string& source = "model.onnx") {
  try {
    models::convert_onnx_bytes(bytes.data(), bytes.size(), source);
  } catch (const sn::Error& e) {
    return e.what();
  }
  FAIL("no error");
  return "";
}

onnx::ModelProto parse(const std::string& path) {
  const auto bytes = io::read_file(path);
  onnx::ModelProto m;
  REQUIRE(m.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())));
  return m;
}

io::WeightMeta meta_for(const models::Classifier& net, int crop) {
  io::WeightMeta m;
  m.architecture = net.architecture();
  m.model = net.options();
  m.preprocessing.resize = crop + crop / 7;
  m.preprocessing.crop = crop;
  for (int i = 0; i < net.num_classes(); ++i) m.labels.push_back("class " + std::to_string(i));
  m.metadata = {{"source", "test"}};
  return m;
}

}  // namespace

TEST_CASE("convert --from onnx: torch's exports of VGG-16 and MobileNetV2 give the .pth's logits",
          "[use][onnx][convert][vgg][mobilenet]") {
  SECTION("vgg16 (no batch norm): the .pth's tensors under their names, the same logits bit for bit") {
    const auto c = models::convert_onnx(test::fixture_file("onnx_vgg16_w2.onnx"));
    const auto pth = models::convert_pth(test::fixture_file("vgg16_w2.pth"));
    CHECK(c.meta.architecture == "vgg16");
    CHECK(c.meta.model == pth.meta.model);
    check_same_tensors(c, pth);
    // Exported at 224 x 224 (7 x 7 before the pooling: an AveragePool of kernel 1); the same
    // tensors in the same network give the same floats.
    const Tensor x = input(224);
    CHECK(logits(c, x).to_vector() == logits(pth, x).to_vector());
  }
  SECTION("mobilenet_v2, batch norm folded by torch into the convs (renamed onnx::Conv_N)") {
    const auto c = models::convert_onnx(test::fixture_file("onnx_mobilenet_v2_w10.onnx"));
    const auto pth = models::convert_pth(test::fixture_file("mobilenet_v2_w10.pth"));
    CHECK(c.meta.architecture == "mobilenet_v2");
    CHECK(c.meta.model == pth.meta.model);  // width 0.1, round_nearest 4, last conv 32 wide, from the channels
    REQUIRE(!c.notes.empty());
    CHECK(c.notes[0].find("52 convs had their batch norm folded in") != std::string::npos);
    // Folding rounds each weight w * gamma / sqrt(var + eps) and bias once in float32 (2^-24
    // relative): through 52 convs the logits move ~1e-6 relative, while a wrong name, stride,
    // group or residual gives errors of order 1. The .pth's logits are PyTorch's within 1e-4
    // (test_backbones.cpp); folded, PyTorch's ONNX graph itself differs from them as much.
    const Tensor x = input(96);
    const double err = test::rel_l2_error(logits(c, x).to_vector(), logits(pth, x).to_vector());
    INFO("relative error " << err);
    CHECK(err < 1e-4);
  }
  SECTION("mobilenet_v2 with its BatchNormalization nodes: the .pth's tensors, the same logits") {
    const auto c = models::convert_onnx(test::fixture_file("onnx_mobilenet_v2_w10_bn.onnx"));
    const auto pth = models::convert_pth(test::fixture_file("mobilenet_v2_w10.pth"));
    CHECK(c.meta.model == pth.meta.model);
    check_same_tensors(c, pth);
    const Tensor x = input(64);
    CHECK(logits(c, x).to_vector() == logits(pth, x).to_vector());
  }
}

TEST_CASE("ONNX export of VGG-16 and MobileNetV2: checked by ONNX, read back bit for bit",
          "[use][onnx][convert][export][vgg][mobilenet]") {
  const std::string dir = std::string(SN_BINARY_DIR) + "/onnx_roundtrip";
  std::system(("mkdir -p '" + dir + "'").c_str());
  Rng rng(7);
  std::vector<std::pair<std::shared_ptr<models::Classifier>, int>> nets{
      {models::make_classifier("vgg16", {{"width", 2}, {"hidden", 8}, {"num_classes", 3}}, rng), 224},
      {models::make_classifier(
           "mobilenet_v2", {{"width_mult", 0.25}, {"round_nearest", 4}, {"last_channel", 16}, {"num_classes", 3}}, rng),
       64}};
  for (auto& [net, crop] : nets) {
    for (auto& [name, t] : net->named_buffers())  // batch-norm statistics that are not 0 and 1
      t.copy_(name.find("mean") != std::string::npos ? Tensor::uniform(t.shape(), rng, -0.2f, 0.2f)
                                                     : Tensor::uniform(t.shape(), rng, 0.5f, 1.5f));
    net->eval();
    const auto meta = meta_for(*net, crop);
    const std::string path = dir + "/" + net->architecture() + ".onnx";
    models::write_onnx(path, *net, meta);  // the ONNX checker and shape inference accept it, or it throws
    const auto c = models::convert_onnx(path);
    INFO(path);
    CHECK(c.meta.architecture == net->architecture());
    CHECK(c.meta.model == net->options());
    CHECK(c.meta.labels == meta.labels);
    CHECK(c.meta.preprocessing.crop == crop);
    CHECK(c.notes.empty());
    const auto sd = net->state_dict();
    REQUIRE(c.tensors.size() == sd.size());
    for (size_t i = 0; i < sd.size(); ++i) {
      INFO(sd[i].first);
      CHECK(c.tensors[i].first == sd[i].first);
      CHECK(c.tensors[i].second.to_vector() == sd[i].second.to_vector());
    }
    // The graph holds what the network computes: its depthwise convs grouped, ReLU6 as Clip(0, 6).
    const auto m = parse(path);
    std::map<std::string, int> ops;
    for (const auto& n : m.graph().node()) ++ops[n.op_type()];
    if (net->architecture() == "vgg16") {
      CHECK(ops["Conv"] == 13);
      CHECK(ops["Gemm"] == 3);
      CHECK(ops["AveragePool"] == 1);
    } else {
      CHECK(ops["Conv"] == 52);
      CHECK(ops["Clip"] == 35);
      CHECK(ops["Add"] == 10);
      int depthwise = 0;
      for (const auto& n : m.graph().node())
        for (const auto& a : n.attribute())
          if (a.name() == "group" && a.i() > 1) ++depthwise;
      CHECK(depthwise == 17);
    }
  }
  SECTION("VGG-16 at a crop whose map is no multiple of 7: a user error naming the crop") {
    const auto& vgg = *nets[0].first;
    try {
      models::write_onnx(dir + "/vgg_96.onnx", vgg, meta_for(vgg, 96));
      FAIL("no error");
    } catch (const sn::Error& e) {
      CHECK_THAT(e.what(), Catch::Contains("crop 96"));
      CHECK_THAT(e.what(), Catch::Contains("e.g. 224"));
    }
  }
  SECTION("the command line: the exported .onnx converts to a .snw that loads") {
    const std::string exe = std::string(SN_BINARY_DIR) + "/scratchnet";
    const std::string out = dir + "/mobilenet_v2.snw";
    const std::string cmd = exe + " convert --from onnx '" + dir + "/mobilenet_v2.onnx' --out '" + out + "' 2>&1";
    FILE* p = popen(cmd.c_str(), "r");
    REQUIRE(p);
    char buf[4096];
    std::string text;
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) text.append(buf, n);
    INFO(text);
    REQUIRE(pclose(p) == 0);
    CHECK(text.find("wrote " + out + ": mobilenet_v2") != std::string::npos);
    CHECK(models::load_classifier(io::WeightFile(out))->architecture() == "mobilenet_v2");
  }
}

TEST_CASE("convert --from onnx: a VGG-16 or MobileNetV2 graph that does not fit is refused, file and node named",
          "[use][onnx][convert][bad-input][vgg][mobilenet]") {
  std::string bytes;
  auto mob = parse(test::fixture_file("onnx_mobilenet_v2_w10.onnx"));
  auto& g = *mob.mutable_graph();
  auto node_of = [&](const std::string& op, int nth) {
    for (int i = 0; i < g.node_size(); ++i)
      if (g.node(i).op_type() == op && nth-- == 0) return i;
    FAIL("no " << op);
    return -1;
  };
  auto set_int = [&](int node, const std::string& attr, int64_t v) {
    for (auto& a : *g.mutable_node(node)->mutable_attribute())
      if (a.name() == attr) {
        if (a.type() == onnx::AttributeProto::INTS)
          for (int i = 0; i < a.ints_size(); ++i) a.set_ints(i, v);
        else
          a.set_i(v);
        return;
      }
    FAIL("no attribute " << attr);
  };
  SECTION("a ReLU6 clipping at 5") {
    const int clip = node_of("Clip", 3);
    const std::string max = g.node(clip).input(2);
    for (auto& n : *g.mutable_node())
      if (n.op_type() == "Constant" && n.output(0) == max) {
        auto* t = n.mutable_attribute(0)->mutable_t();
        const float five = 5.f;
        if (t->has_raw_data())
          t->set_raw_data(std::string(reinterpret_cast<const char*>(&five), sizeof five));
        else
          t->set_float_data(0, five);
      }
    REQUIRE(mob.SerializeToString(&bytes));
    const std::string msg = expect_error(bytes);
    CHECK_THAT(msg, Catch::StartsWith("model.onnx: node '" + g.node(clip).name() + "' (Clip)"));
    CHECK_THAT(msg, Catch::Contains("other bounds than ReLU6's"));
  }
  SECTION("a depthwise conv with the wrong stride") {
    const int dw = node_of("Conv", 1);  // features.1's depthwise conv
    REQUIRE(g.node(dw).name().find("features.1/") != std::string::npos);
    set_int(dw, "strides", 2);
    REQUIRE(mob.SerializeToString(&bytes));
    const std::string msg = expect_error(bytes, "bad.onnx");
    CHECK_THAT(msg, Catch::Contains("bad.onnx: node '" + g.node(dw).name() + "' (Conv)"));
    CHECK_THAT(msg, Catch::Contains("the depthwise conv of MobileNetV2's features.1 (3x3, stride 1"));
  }
  SECTION("a depthwise conv that is not grouped (its weight then has the wrong shape)") {
    const int dw = node_of("Conv", 1);
    set_int(dw, "group", 1);
    REQUIRE(mob.SerializeToString(&bytes));
    CHECK_THAT(expect_error(bytes), Catch::Contains("is not the depthwise conv of MobileNetV2's features.1"));
  }
  SECTION("a block without its residual Add") {
    const int add = node_of("Add", 0);
    const std::string add_out = g.node(add).output(0), project = g.node(add).input(1);
    for (auto& n : *g.mutable_node())
      for (auto& in : *n.mutable_input())
        if (in == add_out) in = project;
    g.mutable_node()->DeleteSubrange(add, 1);
    REQUIRE(mob.SerializeToString(&bytes));
    CHECK_THAT(expect_error(bytes), Catch::Contains("starts features.1, which adds its input"));
  }
  SECTION("VGG-16 whose classifier does not take its 7x7 map (another network's head)") {
    auto vgg = parse(test::fixture_file("onnx_vgg16_w2.onnx"));
    for (auto& t : *vgg.mutable_graph()->mutable_initializer())
      if (t.name() == "classifier.0.weight") {
        t.set_dims(1, t.dims(1) / 49);  // 16 features: a head after global pooling
        t.set_raw_data(t.raw_data().substr(0, t.raw_data().size() / 49));
      }
    REQUIRE(vgg.SerializeToString(&bytes));
    const std::string msg = expect_error(bytes, "vgg.onnx");
    CHECK_THAT(msg, Catch::StartsWith("vgg.onnx: node '/classifier/classifier.0/Gemm' (Gemm)"));
    CHECK_THAT(msg, Catch::Contains("takes 16 features, VGG-16's classifier.0 takes 784"));
  }
  SECTION("VGG-16 with a conv of the wrong width") {
    auto vgg = parse(test::fixture_file("onnx_vgg16_w2.onnx"));
    for (auto& t : *vgg.mutable_graph()->mutable_initializer()) {  // features.2: 1 output channel, not 2
      if (t.name() == "features.2.weight") t.set_dims(0, 1), t.set_raw_data(t.raw_data().substr(0, 2 * 9 * 4));
      if (t.name() == "features.2.bias") t.set_dims(0, 1), t.set_raw_data(t.raw_data().substr(0, 4));
    }
    REQUIRE(vgg.SerializeToString(&bytes));
    CHECK_THAT(expect_error(bytes),
               Catch::Contains("(1, 2, 3, 3), features.2 of a VGG-16 of width 2 has (2, 2, 3, 3)"));
  }
}
#endif  // SCRATCHNET_ONNX

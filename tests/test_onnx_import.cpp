// `scratchnet convert --from onnx` (models/onnx/onnx_import.h): ONNX files
// exported by Debian's torch 1.13 from torchvision-structured ResNets
// (tools/fixtures/make_onnx_fixtures.py: batch norm folded by the exporter, or
// kept; v1.5 and the Keras v1 layout) give PyTorch's logits; our own export
// comes back bit for bit; anything that is not a ResNet is refused with the
// node named.
#if SCRATCHNET_ONNX  // the whole file: built only with libonnx-dev
#include <onnx/onnx_pb.h>

#include <sys/wait.h>
#include <map>

#include "engine/autograd.h"
#include "engine/check.h"
#include "engine/io/atomic_file.h"
#include "engine/io/weight_file.h"
#include "models/onnx/onnx_export.h"
#include "models/onnx/onnx_import.h"
#include "models/resnet.h"
#include "tests/helpers.h"

using namespace sn;

namespace {

std::shared_ptr<models::ResNet> build(const models::Converted& c) {
  const auto cfg = models::ResNetConfig::from_json(c.meta.architecture, c.meta.model);
  Rng rng(0);
  auto net = std::make_shared<models::ResNet>(cfg, rng);
  net->load_state_dict(std::map<std::string, Tensor>(c.tensors.begin(), c.tensors.end()));
  net->eval();
  return net;
}

// The converted model's logits on the fixture input against PyTorch's (tests/fixtures/resnet.json).
void check_against_torch(const models::Converted& c, const std::string& key) {
  const auto fx = test::load_fixture("resnet");
  NoGradGuard no_grad;
  const auto got = build(c)->forward(fx.tensor("input")).to_vector();
  const auto want = fx.data(key);
  const double err = test::rel_l2_error(got, want);
  double worst = 0, scale = 0;
  for (float w : want) scale = std::max(scale, std::abs(double(w)));
  for (size_t i = 0; i < got.size(); ++i) worst = std::max(worst, std::abs(double(got[i]) - want[i]) / scale);
  INFO(key << ": relative error " << err << ", max |error| / max |logit| " << worst);
  CHECK(err < 1e-4);
  CHECK(worst < 1e-4);
}

std::shared_ptr<models::ResNet> random_resnet(const std::string& arch, models::BlockStride stride, double eps,
                                              int classes) {
  models::ResNetConfig cfg;
  cfg.arch = arch;
  cfg.width = 4;
  cfg.num_classes = classes;
  cfg.block_stride = stride;
  cfg.bn_eps = eps;
  Rng rng(11);
  auto net = std::make_shared<models::ResNet>(cfg, rng);
  for (auto& [name, t] : net->named_buffers()) {  // statistics that are not 0 and 1
    const auto r = Tensor::uniform(t.shape(), rng, 0.5f, 1.5f);
    t.copy_(name.find("mean") != std::string::npos ? Tensor::uniform(t.shape(), rng, -0.2f, 0.2f) : r);
  }
  net->eval();
  return net;
}

io::WeightMeta meta_for(const models::ResNet& net) {
  io::WeightMeta m;
  m.architecture = net.config().arch;
  m.model = net.config().to_json();
  m.preprocessing.channel_order = "BGR";
  m.preprocessing.scale = 1;
  m.preprocessing.mean = {103.939, 116.779, 123.68};
  m.preprocessing.std = {1, 1, 1};
  m.preprocessing.resize = 40;
  m.preprocessing.crop = 32;
  for (int i = 0; i < net.config().num_classes; ++i) m.labels.push_back("class " + std::to_string(i));
  m.metadata = {{"source", "test"}};
  return m;
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

}  // namespace

TEST_CASE("convert --from onnx: torch's exports of ResNet-18/50 give PyTorch's logits", "[use][onnx][convert]") {
  SECTION("resnet18, batch norm folded into the convs by torch") {
    const auto c = models::convert_onnx(test::fixture_file("onnx_resnet18_w4.onnx"));
    CHECK(c.meta.architecture == "resnet18");
    CHECK(c.meta.model["width"] == 4);
    CHECK(c.meta.model["num_classes"] == 10);
    REQUIRE(!c.notes.empty());
    CHECK(c.notes[0].find("folded in by the exporter") != std::string::npos);
    check_against_torch(c, "resnet18_w4/logits_eval");
  }
  SECTION("resnet50 with its BatchNormalization nodes") {
    const auto c = models::convert_onnx(test::fixture_file("onnx_resnet50_w2.onnx"));
    CHECK(c.meta.architecture == "resnet50");
    CHECK(c.meta.model["block_stride"] == "v1.5");
    CHECK(c.meta.model["bn_eps"] == 1e-5);
    // The batch-norm tensors are torch's own (the .pth beside it), under torchvision's names.
    const auto pth = models::convert_pth(test::fixture_file("resnet50_w2.pth"));
    std::map<std::string, Tensor> want(pth.tensors.begin(), pth.tensors.end());
    REQUIRE(c.tensors.size() == pth.tensors.size());
    for (const auto& [name, t] : c.tensors) {
      INFO(name);
      CHECK(t.to_vector() == want.at(name).to_vector());
    }
    check_against_torch(c, "resnet50_w2/logits_eval");
  }
  SECTION("resnet50, Keras layout (stride on the first 1x1 conv), folded and with eps 1e-3 batch norm") {
    const auto folded = models::convert_onnx(test::fixture_file("onnx_resnet50_w2_v1.onnx"));
    CHECK(folded.meta.model["block_stride"] == "v1");
    check_against_torch(folded, "resnet50_w2/logits_eval_v1_eps1e-3");
    const auto bn = models::convert_onnx(test::fixture_file("onnx_resnet50_w2_bn.onnx"));
    CHECK(bn.meta.model["block_stride"] == "v1");
    CHECK(bn.meta.model["bn_eps"] == 1e-3);
    check_against_torch(bn, "resnet50_w2/logits_eval_v1_eps1e-3");
  }
  SECTION("no preprocessing in the file: torchvision's, and a note says so") {
    const auto c = models::convert_onnx(test::fixture_file("onnx_resnet18_w4.onnx"));
    CHECK(c.meta.preprocessing.channel_order == "RGB");
    CHECK(c.meta.preprocessing.mean[0] == 0.485);
    CHECK(c.notes.back().find("assuming torchvision's") != std::string::npos);
  }
}

TEST_CASE("convert --from onnx: scratchnet's own export comes back bit for bit", "[use][onnx][convert][export]") {
  const std::string dir = std::string(SN_BINARY_DIR) + "/onnx_roundtrip";
  std::system(("mkdir -p '" + dir + "'").c_str());
  for (const auto& [arch, stride, eps] :
       {std::tuple{"resnet18", models::BlockStride::V1_5, 1e-5}, std::tuple{"resnet50", models::BlockStride::V1, 1e-3},
        std::tuple{"resnet50", models::BlockStride::V1_5, 1e-5}}) {
    const auto net_ptr = random_resnet(arch, stride, eps, 3);
    const models::ResNet& net = *net_ptr;
    const auto meta = meta_for(net);
    const std::string path = dir + "/" + arch + (stride == models::BlockStride::V1 ? "_v1" : "") + ".onnx";
    models::write_onnx(path, net, meta);
    const auto c = models::convert_onnx(path);
    INFO(path);
    CHECK(c.meta.architecture == arch);
    CHECK(c.meta.model == net.config().to_json());  // including the epsilon, exactly
    CHECK(c.meta.labels == meta.labels);
    CHECK(c.meta.preprocessing.channel_order == "BGR");
    CHECK(c.meta.preprocessing.mean == meta.preprocessing.mean);
    CHECK(c.meta.preprocessing.resize == 40);
    CHECK(c.meta.preprocessing.crop == 32);
    CHECK(c.notes.empty());
    const auto sd = net.state_dict();
    REQUIRE(c.tensors.size() == sd.size());
    for (size_t i = 0; i < sd.size(); ++i) {
      INFO(sd[i].first);
      CHECK(c.tensors[i].first == sd[i].first);
      CHECK(c.tensors[i].second.to_vector() == sd[i].second.to_vector());
    }
  }
  // The command line: export's .onnx in, a .snw out that loads.
  const std::string exe = std::string(SN_BINARY_DIR) + "/scratchnet";
  const std::string out = dir + "/resnet18.snw";
  const std::string cmd = exe + " convert --from onnx '" + dir + "/resnet18.onnx' --out '" + out + "' 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p);
  char buf[4096];
  std::string text;
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) text.append(buf, n);
  INFO(text);
  REQUIRE(pclose(p) == 0);
  CHECK(text.find("wrote " + out + ": resnet18") != std::string::npos);
  const io::WeightFile f(out);
  CHECK(f.meta().labels.size() == 3);
  CHECK(f.meta().metadata.at("converter") == "scratchnet convert --from onnx");
}

TEST_CASE("convert --from onnx: what is not a ResNet is refused, the node named", "[use][onnx][convert][bad-input]") {
  SECTION("an operator a ResNet does not have") {
    const auto file = io::read_file(test::fixture_file("onnx_bad_sigmoid.onnx"));
    const std::string msg = expect_error(std::string(file.begin(), file.end()));
    CHECK_THAT(msg, Catch::Contains("(Sigmoid) is not supported"));
    CHECK_THAT(msg, Catch::Contains("node '"));
  }
  SECTION("not ONNX at all, and an empty file") {
    CHECK_THAT(expect_error("this is not protobuf \x01\x02\x03"), Catch::Contains("model.onnx is not an ONNX model"));
    CHECK_THAT(expect_error(""), Catch::Contains("model.onnx is an ONNX file without a graph"));
  }
  auto m = parse(test::fixture_file("onnx_resnet18_w4.onnx"));
  std::string bytes;
  SECTION("a conv padded unlike a ResNet's") {
    const std::string name = m.graph().node(5).name();  // a block's conv
    REQUIRE(m.graph().node(5).op_type() == "Conv");
    for (auto& a : *m.mutable_graph()->mutable_node(5)->mutable_attribute())
      if (a.name() == "pads")
        for (int i = 0; i < a.ints_size(); ++i) a.set_ints(i, 0);
    REQUIRE(m.SerializeToString(&bytes));
    const std::string msg = expect_error(bytes);
    CHECK_THAT(msg, Catch::Contains("'" + name + "' (Conv)"));
    CHECK_THAT(msg, Catch::Contains("has stride 1 and pad 0, a resnet18 has stride 1 and pad 1"));
  }
  SECTION("a grouped conv") {
    REQUIRE(m.graph().node(0).op_type() == "Conv");
    bool set = false;
    for (auto& a : *m.mutable_graph()->mutable_node(0)->mutable_attribute())
      if (a.name() == "group") a.set_i(3), set = true;
    REQUIRE(set);
    REQUIRE(m.SerializeToString(&bytes));
    CHECK_THAT(expect_error(bytes), Catch::Contains("is a grouped convolution"));
  }
  SECTION("weights stored outside the file") {
    m.mutable_graph()->mutable_initializer(0)->set_data_location(onnx::TensorProto::EXTERNAL);
    REQUIRE(m.SerializeToString(&bytes));
    CHECK_THAT(expect_error(bytes), Catch::Contains("external data"));
  }
  SECTION("a weight whose data is shorter than its shape") {
    auto* t = m.mutable_graph()->mutable_initializer(0);
    t->set_raw_data(t->raw_data().substr(0, 8));
    REQUIRE(m.SerializeToString(&bytes));
    CHECK_THAT(expect_error(bytes), Catch::Contains("bytes of data"));
  }
  SECTION("a float64 weight") {
    m.mutable_graph()->mutable_initializer(0)->set_data_type(onnx::TensorProto::DOUBLE);
    REQUIRE(m.SerializeToString(&bytes));
    CHECK_THAT(expect_error(bytes), Catch::Contains("only float32"));
  }
  SECTION("a block without its last Relu (the Add goes straight on)") {
    // Rewire: whatever read the first block's final Relu now reads the Add.
    auto& g = *m.mutable_graph();
    int add = -1;
    for (int i = 0; i < g.node_size(); ++i)
      if (g.node(i).op_type() == "Add") {
        add = i;
        break;
      }
    REQUIRE(add >= 0);
    const std::string relu_out = g.node(add + 1).output(0), add_out = g.node(add).output(0);
    REQUIRE(g.node(add + 1).op_type() == "Relu");
    for (auto& n : *g.mutable_node())
      for (auto& in : *n.mutable_input())
        if (in == relu_out) in = add_out;
    g.mutable_node()->DeleteSubrange(add + 1, 1);
    REQUIRE(m.SerializeToString(&bytes));
    const std::string msg = expect_error(bytes);
    CHECK_THAT(msg, Catch::Contains("(Add) feeds 2 nodes where a ResNet has exactly one (a Relu)"));
  }
  SECTION("two outputs") {
    *m.mutable_graph()->add_output() = m.graph().output(0);
    REQUIRE(m.SerializeToString(&bytes));
    CHECK_THAT(expect_error(bytes), Catch::Contains("2 outputs"));
  }
}
#endif  // SCRATCHNET_ONNX

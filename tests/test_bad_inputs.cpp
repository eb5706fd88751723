// The bad-input corpus: every damaged or hostile file scratchnet may be handed
// gets its own clear error naming the file and the problem, never a crash.
// Images: tests/fixtures/bad/ (tools/fixtures/make_bad_inputs.py). Weight files
// and .pth archives are built here, from a good file, one defect at a time.
#include <nlohmann/json.hpp>

#include "engine/check.h"
#include "engine/io/atomic_file.h"
#include "engine/io/pth_reader.h"
#include "engine/io/weight_file.h"
#include "tests/helpers.h"
#include "tools/fuzz/harness.h"

using namespace sn;
using namespace std::string_literals;
using Catch::Contains;

namespace {

std::string tmp_path(const std::string& name) { return std::string(SN_BINARY_DIR) + "/bad_" + name; }
std::string write_tmp(const std::string& name, const std::string& bytes) {
  const std::string p = tmp_path(name);
  io::write_file_atomic(p, bytes);
  return p;
}
std::string read_all(const std::string& path) {
  const auto b = io::read_file(path);
  return std::string(b.begin(), b.end());
}

// A model with "w" (2, 3) and "b" (3), and a good weight file for it.
struct Model : nn::Module {
  Model(Shape w_shape = {2, 3}) : w(Tensor::zeros(w_shape)) {
    register_parameter("w", &w);
    register_parameter("b", &b);
  }
  Tensor forward(const Tensor& x) override { return x; }
  std::string type_name() const override { return "Model"; }
  Tensor w, b = Tensor::zeros({3});
};
std::string good_weights() {
  const std::string p = tmp_path("good.snw");
  io::WeightMeta meta;
  meta.architecture = "test";
  io::write_weight_file(
      p, meta, {{"w", Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3})}, {"b", Tensor::from_vector({7, 8, 9}, {3})}});
  return read_all(p);
}

// ---- pickles, written by hand (protocol 2) ---------------------------------------------
std::string str(const std::string& s) {
  std::string o = "X";
  fuzz::append32(o, uint32_t(s.size()));
  return o + s;
}
// OrderedDict{"w": tensor(storage 0 of 16 float32, offset 0, size, stride)}; size and stride
// are pickled tuples such as "K\x02\x85" = (2,).
std::string tensor_pickle(const std::string& size, const std::string& stride) {
  return "\x80\x02"s + "ccollections\nOrderedDict\n)R(" + str("w") + "ctorch._utils\n_rebuild_tensor_v2\n((" +
         str("storage") + "ctorch\nFloatStorage\n" + str("0") + str("cpu") + "K\x10tQK\x00"s + size + stride + "\x89" +
         "ccollections\nOrderedDict\n)RtRu.";
}
std::string pth(const std::string& name, const std::string& pickle) {
  return write_tmp(name, fuzz::pth_archive(pickle));
}

}  // namespace

TEST_CASE("bad input: weight files with wrong magic, version, shape, truncation, checksum", "[io][bad]") {
  const std::string good = good_weights();
  {
    std::string f = good;
    f[0] = 'X';
    const std::string p = write_tmp("magic.snw", f);
    REQUIRE_THROWS_WITH(io::WeightFile(p), Contains(p) && Contains("not a scratchnet weight file (bad magic"));
  }
  {
    std::string f = good;
    fuzz::put_u32(f, 8, 2);
    const std::string p = write_tmp("version.snw", f);
    REQUIRE_THROWS_WITH(io::WeightFile(p), Contains(p) && Contains("unsupported format version 2"));
  }
  {
    const std::string p = write_tmp("shape.snw", good);
    Model m({3, 2});
    REQUIRE_THROWS_WITH(io::WeightFile(p).load_into(m),
                        Contains(p) && Contains("tensor 'w' has shape (2, 3) but the model expects (3, 2)"));
  }
  for (size_t keep : {size_t(0), size_t(40), good.size() - 1}) {
    INFO("truncated to " << keep);
    const std::string p = write_tmp("truncated.snw", good.substr(0, keep));
    REQUIRE_THROWS_WITH(io::WeightFile(p), Contains(p) && (Contains("truncated") || Contains("bad magic")));
  }
  {
    std::string f = good;
    f[f.size() - 64 + 2] ^= 0x10;  // a byte inside the last tensor "b" (the payload's last 64-byte slot)
    const std::string p = write_tmp("checksum.snw", f);
    REQUIRE_THROWS_WITH(io::WeightFile(p), Contains(p) && Contains("checksum mismatch in tensor 'b'"));
  }
  {
    // A table entry whose shape overflows int64 when multiplied out (2^62 * 8 wraps to 0).
    const uint64_t header_size = fuzz::get_u64(good, 16), payload_offset = fuzz::get_u64(good, 24);
    nlohmann::json j = nlohmann::json::parse(good.substr(64, header_size));
    j["tensors"][1]["shape"] = {int64_t(1) << 62, 8};
    const std::string text = j.dump();
    REQUIRE(64 + text.size() <= payload_offset);
    // Header size and checksum recomputed, so that the table check itself is reached.
    std::string f =
        good.substr(0, 64) + text + std::string(payload_offset - 64 - text.size(), '\0') + good.substr(payload_offset);
    for (int i = 0; i < 8; ++i) f[16 + i] = char(uint64_t(text.size()) >> (8 * i));
    fuzz::put_u32(f, 12, io::crc32(text.data(), text.size()));
    const std::string p = write_tmp("overflow.snw", f);
    REQUIRE_THROWS_WITH(io::WeightFile(p),
                        Contains(p) && Contains("tensor 'b' has shape") && Contains("too large for any file"));
  }
}

TEST_CASE("bad input: .pth with a forbidden global or opcode is refused before anything runs", "[io][pth][bad]") {
  const std::string p =
      pth("global.pth", std::string("\x80\x02") + "cos\nsystem\n" + str("touch /tmp/pwned") + "\x85R.");
  REQUIRE_THROWS_WITH(io::read_pth(p), Contains(p) && Contains("forbidden global 'os.system'"));
  const std::string q =
      pth("stack_global.pth", std::string("\x80\x04") + "\x8c\x08" + "builtins" + "\x8c\x04" + "exec" + "\x93.");
  REQUIRE_THROWS_WITH(io::read_pth(q), Contains(q) && Contains("forbidden global 'builtins.exec'"));
  // INST ('i') and OBJ ('o') build arbitrary objects: not in a state_dict, refused as opcodes.
  const std::string r = pth("inst.pth", std::string("\x80\x02(ios\nsystem\n."));
  REQUIRE_THROWS_WITH(io::read_pth(r), Contains(r) && Contains("unsupported pickle opcode 0x69 ('i')"));
}

TEST_CASE("bad input: .pth storage past the end of the archive or of its entry", "[io][pth][bad]") {
  // The central directory says archive/data/0 holds 1 MB: more than the whole file.
  std::string zip = fuzz::pth_archive(tensor_pickle("K\x02\x85"s, "K\x01\x85"s));
  const std::string name = "archive/data/0";
  size_t cd = zip.rfind("PK\x01\x02");
  while (zip.compare(cd + 46, name.size(), name) != 0) cd = zip.rfind("PK\x01\x02", cd - 1);
  fuzz::put_u32(zip, cd + 20, 1 << 20);
  fuzz::put_u32(zip, cd + 24, 1 << 20);
  const std::string p = write_tmp("storage_past_end.pth", zip);
  REQUIRE_THROWS_WITH(io::read_pth(p),
                      Contains(p) && Contains("data of entry 'archive/data/0'") && Contains("runs past the end"));
  // A tensor of 100 elements in a 16-element storage.
  const std::string q = pth("tensor_past_storage.pth", tensor_pickle("Kd\x85"s, "K\x01\x85"s));
  REQUIRE_THROWS_WITH(io::read_pth(q), Contains(q) && Contains("reaches past storage '0' of 16 elements"));
  // Stride 0 lets a size of 2^40 reach nowhere; it would still allocate 4 TB: refused first.
  const std::string r = pth("stride0.pth", tensor_pickle("\x8a\x06\0\0\0\0\0\x01\x85"s, "K\x00\x85"s));
  REQUIRE_THROWS_WITH(io::read_pth(r), Contains(r) && Contains("more elements than storage '0'"));
}

TEST_CASE("bad input: .pth with a recursive structure through the memo", "[io][pth][bad]") {
  // l = []; l.append(l): EMPTY_LIST BINPUT 0 BINGET 0 APPEND
  const std::string p = pth("recursive_list.pth",
                            "\x80\x02]q\x00h\x00"
                            "a."s);
  REQUIRE_THROWS_WITH(io::read_pth(p), Contains(p) && Contains("would contain itself"));
  // d = {}; d["k"] = d
  const std::string q = pth("recursive_dict.pth", "\x80\x02}q\x00"s + str("k") + "h\x00s."s);
  REQUIRE_THROWS_WITH(io::read_pth(q), Contains(q) && Contains("would contain itself"));
  // a = []; b = [a]; a.append(b): a cycle through two lists
  const std::string r = pth("recursive_pair.pth",
                            "\x80\x02]q\x00](h\x00"
                            "eq\x01h\x00h\x01"
                            "a."s);
  REQUIRE_THROWS_WITH(io::read_pth(r), Contains(r) && Contains("modified after being placed in another value"));
}

// ---- images: tests/fixtures/bad/ ---------------------------------------------------------
#include "engine/data/decode.h"
#include "engine/data/transforms.h"

namespace {
std::string bad_image(const std::string& name) { return std::string(SN_SOURCE_DIR) + "/tests/fixtures/bad/" + name; }
nlohmann::json bad_expected() { return nlohmann::json::parse(read_all(bad_image("expected.json"))); }
// Largest per-byte difference between a decoded image and PIL's RGB bytes.
int max_diff(const data::Image& img, const std::vector<int>& pil) {
  REQUIRE(img.pixels.size() == pil.size());
  int worst = 0;
  for (size_t i = 0; i < pil.size(); ++i) worst = std::max(worst, std::abs(int(img.pixels[i]) - pil[i]));
  return worst;
}
}  // namespace

TEST_CASE("bad input: damaged images and non-images each give their own error naming the file", "[data][bad]") {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"empty.jpg", "empty file (0 bytes), not an image"},
      {"text.jpg", "not an image: the content is not JPEG, PNG"},
      {"truncated.jpg", "cannot decode JPEG: corrupt or truncated data"},
      {"truncated.png", "corrupt or truncated PNG: chunk 'IDAT'"},
      {"huge_header.png", "PNG header claims 100000x100000 = 10000000000 pixels, above the limit"},
      {"huge_header.bmp", "BMP header claims 100000x100000 = 10000000000 pixels, above the limit"},
      // 1x1 header, 16 MB of inflated data: stb would grow its buffer to 16 MB and keep the first 2 bytes.
      {"inflate_bomb.png", "PNG data expands beyond the 1048594 bytes its 1x1 header allows"},
  };
  for (const auto& [file, reason] : cases) {
    const std::string p = bad_image(file);
    INFO(file);
    REQUIRE_THROWS_WITH(data::load_image(p), Contains(p) && Contains(reason));
  }
  // A 1 x 100000000 strip resized to a shorter side of 256 would be 25.6 G pixels (and overflow an int):
  // refused by the size computation (the DataLoader puts the file name in front).
  REQUIRE_THROWS_WITH(data::shorter_side_size(1, 100000000, 256), Contains("aspect ratio too extreme"));
  CHECK(data::shorter_side_size(500, 375, 256) == std::array<int, 2>{341, 256});
}

TEST_CASE("bad input: 16-bit, grayscale, RGBA, 1x1 and CMYK images decode as PIL's convert(\"RGB\")", "[data][bad]") {
  const auto expected = bad_expected();
  // Lossless files must match PIL exactly; the JPEGs within 2 levels: PIL (libjpeg)
  // and stb_image use different IDCT and color-conversion roundings.
  for (const auto& [file, tol] : std::vector<std::pair<std::string, int>>{{"rgb16.png", 0},
                                                                          {"gray.png", 0},
                                                                          {"rgba.png", 0},
                                                                          {"one_pixel.png", 0},
                                                                          {"gray.jpg", 2},
                                                                          {"cmyk.jpg", 2}}) {
    INFO(file);
    const auto& e = expected.at(file);
    const data::Image img = data::load_image(bad_image(file));
    CHECK(img.width == e.at("width").get<int>());
    CHECK(img.height == e.at("height").get<int>());
    CHECK(max_diff(img, e.at("rgb").get<std::vector<int>>()) <= tol);
  }
  // A 1x1 image goes through the whole evaluation pipeline (upscaled, then cropped).
  for (const std::string file : {"one_pixel.png", "one_pixel.jpg"}) {
    INFO(file);
    const data::Image img = data::load_image(bad_image(file));
    REQUIRE(img.width == 1);
    REQUIRE(img.height == 1);
    Rng rng(1);
    data::Compose eval({std::make_shared<data::Resize>(256), std::make_shared<data::CenterCrop>(224),
                        std::make_shared<data::ToTensor>()});
    const Tensor x = eval(img, rng);
    CHECK(x.shape() == Shape{3, 224, 224});
    // Every output pixel is the single input pixel.
    CHECK(x.at({0, 111, 111}) == Approx(img.pixels[0] / 255.f).margin(1e-6));
  }
}

// ImageFolder: torchvision's class numbering, file order, extension filter
// and the errors for folders without classes or class folders without images.
#include <filesystem>

#include "engine/data/folder.h"
#include "tests/data_helpers.h"
#include "tests/helpers.h"

using namespace sn;
using namespace sn::data;
using namespace sn::test;
namespace fs = std::filesystem;

TEST_CASE("folder: the cat/dog training set as torchvision sees it", "[data][folder]") {
  const ImageFolder f = ImageFolder::scan(data_path("catanddog/train"));
  REQUIRE(f.classes == std::vector<std::string>{"Cat", "Dog"});
  CHECK(f.class_counts == std::vector<int64_t>{182, 203});
  CHECK(f.size() == 385);
  CHECK(f.labels.front() == 0);
  CHECK(f.labels.back() == 1);
  // Sorted as strings, like Python's sorted(): "10.jpg" comes before "2.jpg".
  CHECK(std::is_sorted(f.paths.begin(), f.paths.begin() + 182));
  CHECK(f.paths[0].substr(f.paths[0].size() - 9) == "Cat/0.jpg");
  CHECK(f.summary().find("385 images in 2 classes: Cat 182, Dog 203") == 0);
  const ImageFolder t = ImageFolder::scan(data_path("catanddog/test"));
  CHECK(t.class_counts == std::vector<int64_t>{49, 49});
}

TEST_CASE("folder: extension filter, sub-folders, sorting", "[data][folder]") {
  const std::string root = scratch_dir("folder_layout");
  for (const char* p : {"b/x.JPG", "b/a.png", "b/notes.txt", "b/deeper/z.jpeg", "b/deep/y.webp", "a/1.Bmp", "a/10.ppm",
                        "a/2.tif", "a/README"}) {
    fs::create_directories(fs::path(root + "/" + p).parent_path());
    write_bytes(root + "/" + p, {1});
  }
  const ImageFolder f = ImageFolder::scan(root);
  CHECK(f.classes == std::vector<std::string>{"a", "b"});
  CHECK(f.class_counts == std::vector<int64_t>{3, 4});
  std::vector<std::string> rel;
  for (const auto& p : f.paths) rel.push_back(p.substr(root.size() + 1));
  // os.walk order: the class folder's own files first, then sub-folders in sorted order.
  CHECK(rel == std::vector<std::string>{"a/1.Bmp", "a/10.ppm", "a/2.tif", "b/a.png", "b/x.JPG", "b/deep/y.webp",
                                        "b/deeper/z.jpeg"});
  CHECK(f.labels == std::vector<int64_t>{0, 0, 0, 1, 1, 1, 1});
  CHECK(has_image_extension("photo.JPEG"));
  CHECK_FALSE(has_image_extension("photo.gif"));  // not in torchvision's IMG_EXTENSIONS
}

TEST_CASE("folder: no class folders, an empty class, a missing root are errors naming the folder",
          "[data][folder][bad]") {
  const std::string flat = scratch_dir("folder_flat");
  write_bytes(flat + "/cat.jpg", {1});  // images directly in root: no class folders
  CHECK_THROWS_WITH(ImageFolder::scan(flat), Catch::Contains(flat) && Catch::Contains("has no class folders"));
  const std::string empty_class = scratch_dir("folder_empty_class");
  fs::create_directories(empty_class + "/Cat");
  fs::create_directories(empty_class + "/Dog");
  write_bytes(empty_class + "/Cat/1.jpg", {1});
  write_bytes(empty_class + "/Dog/readme.txt", {1});
  CHECK_THROWS_WITH(ImageFolder::scan(empty_class),
                    Catch::Contains(empty_class + "/Dog") && Catch::Contains("has no image files"));
  CHECK_THROWS_WITH(ImageFolder::scan(flat + "/nope"),
                    Catch::Contains(flat + "/nope") && Catch::Contains("does not exist"));
  CHECK_THROWS_WITH(ImageFolder::scan(flat + "/cat.jpg"), Catch::Contains("is not a directory"));
}

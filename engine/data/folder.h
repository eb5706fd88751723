// folder.h — torchvision's ImageFolder: one class per sub-folder.
//
//   root/Cat/0.jpg, root/Cat/1.jpg, ..., root/Dog/0.jpg, ...
//
// Classes are the sub-folder names sorted (byte order, as Python sorts str),
// numbered from 0: Cat = 0, Dog = 1. Each class folder is walked recursively
// (like os.walk, symlinks followed), directories and files in sorted order,
// keeping files whose name ends, case-insensitively, in one of torchvision's
// IMG_EXTENSIONS. Nothing is decoded here: the extension only selects
// candidates, the decoder finds the real format from the content.
//
// Errors (sn::Error naming the folder): root missing or not a folder, no
// class folder in root, a class folder without any image file.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace sn::data {

// torchvision.datasets.folder.IMG_EXTENSIONS
extern const std::vector<std::string> kImageExtensions;
bool has_image_extension(const std::string& filename);  // case-insensitive

struct ImageFolder {
  std::string root;
  std::vector<std::string> classes;   // sorted sub-folder names; label = index
  std::vector<std::string> paths;     // every sample, class by class, sorted
  std::vector<int64_t> labels;        // paths.size() labels
  std::vector<int64_t> class_counts;  // images per class

  static ImageFolder scan(const std::string& root);
  size_t size() const { return paths.size(); }
  // "385 images in 2 classes: Cat 182, Dog 203 (root)"
  std::string summary() const;
};

}  // namespace sn::data

#include "engine/data/folder.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <sstream>

#include "engine/check.h"

namespace fs = std::filesystem;

namespace sn::data {

const std::vector<std::string> kImageExtensions = {".jpg", ".jpeg", ".png",  ".ppm", ".bmp",
                                                   ".pgm", ".tif",  ".tiff", ".webp"};

bool has_image_extension(const std::string& filename) {
  std::string lower = filename;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const auto& ext : kImageExtensions)
    if (lower.size() >= ext.size() && lower.compare(lower.size() - ext.size(), ext.size(), ext) == 0) return true;
  return false;
}

// All files under dir, recursively, following symlinks. Like torchvision's
// sorted(os.walk(dir)): directories in sorted path order, files sorted within each.
static std::vector<std::string> walk_sorted(const fs::path& dir) {
  std::vector<fs::path> dirs{dir};
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, fs::directory_options::follow_directory_symlink, ec), end;
       !ec && it != end; it.increment(ec))
    if (it->is_directory(ec)) dirs.push_back(it->path());
  SN_USER_CHECK(!ec, "cannot list ", dir.string(), ": ", ec.message());
  std::sort(dirs.begin(), dirs.end(), [](const fs::path& a, const fs::path& b) { return a.string() < b.string(); });
  std::vector<std::string> files;
  for (const auto& d : dirs) {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(d, ec))
      if (!e.is_directory(ec)) names.push_back(e.path().filename().string());
    SN_USER_CHECK(!ec, "cannot list ", d.string(), ": ", ec.message());
    std::sort(names.begin(), names.end());
    for (const auto& n : names) files.push_back((d / n).string());
  }
  return files;
}

ImageFolder ImageFolder::scan(const std::string& root) {
  std::error_code ec;
  SN_USER_CHECK(fs::exists(root, ec), "image folder ", root, " does not exist");
  SN_USER_CHECK(fs::is_directory(root, ec), "image folder ", root, " is not a directory");
  ImageFolder f;
  f.root = root;
  for (const auto& e : fs::directory_iterator(root, ec))
    if (e.is_directory(ec)) f.classes.push_back(e.path().filename().string());
  SN_USER_CHECK(!ec, "cannot list ", root, ": ", ec.message());
  SN_USER_CHECK(!f.classes.empty(), "image folder ", root,
                " has no class folders: expected one sub-folder per class, e.g. ", root, "/cat/*.jpg");
  std::sort(f.classes.begin(), f.classes.end());
  for (size_t label = 0; label < f.classes.size(); ++label) {
    const fs::path class_dir = fs::path(root) / f.classes[label];
    int64_t count = 0;
    for (const auto& p : walk_sorted(class_dir)) {
      if (!has_image_extension(p)) continue;
      f.paths.push_back(p);
      f.labels.push_back(static_cast<int64_t>(label));
      ++count;
    }
    SN_USER_CHECK(count > 0, "class folder ", class_dir.string(),
                  " has no image files (looked for .jpg .jpeg .png .ppm .bmp .pgm .tif .tiff .webp, any case)");
    f.class_counts.push_back(count);
  }
  return f;
}

std::string ImageFolder::summary() const {
  std::ostringstream os;
  os << paths.size() << " images in " << classes.size() << " classes:";
  for (size_t i = 0; i < classes.size(); ++i) os << (i ? ", " : " ") << classes[i] << " " << class_counts[i];
  os << " (" << root << ")";
  return os.str();
}

}  // namespace sn::data

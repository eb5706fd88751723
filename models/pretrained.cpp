#include "models/pretrained.h"

#include <sys/stat.h>
#include <unistd.h>
#include <cstdio>
#include <cstdlib>

#include "engine/check.h"

#ifndef SCRATCHNET_SOURCE_DIR
#define SCRATCHNET_SOURCE_DIR "."
#endif

namespace sn::models {

static bool exists(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0;
}

std::string weights_dir() {
  const char* env = std::getenv("SCRATCHNET_WEIGHTS_DIR");
  return env && *env ? env : std::string(SCRATCHNET_SOURCE_DIR) + "/weights";
}

// Single-quote a string for the shell.
static std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string pretrained_weights(const std::string& model) {
  const std::string path = weights_dir() + "/" + model + "-imagenet.snw";
  if (exists(path)) return path;
  SN_USER_CHECK(model == "resnet50", "no weights for ", model, " at ", path,
                ": torchvision's ImageNet weights cannot be downloaded here; convert the .pth file you have (e.g. ",
                model == "vgg16"          ? "vgg16-397923af.pth"
                : model == "mobilenet_v2" ? "mobilenet_v2-b0353104.pth"
                                          : "resnet18-f37072fd.pth",
                ") with `scratchnet convert --from pth FILE.pth --out ", path,
                "` (see docs/WEIGHTS.md), or pass --weights");
  const std::string script = std::string(SCRATCHNET_SOURCE_DIR) + "/tools/fetch-weights.sh";
  SN_USER_CHECK(exists(script), "cannot fetch ", path, ": ", script, " not found");
  // The script converts with this very executable.
  char exe[4096];
  const ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  std::string cmd = "bash " + quote(script) + " --out " + quote(path);
  if (n > 0) cmd += " --scratchnet " + quote(std::string(exe, static_cast<size_t>(n)));
  cmd += " 1>&2";  // progress goes to stderr: stdout may be a JSON document (predict --json)
  std::fprintf(stderr, "scratchnet: %s is missing; fetching and converting it (once)\n", path.c_str());
  const int rc = std::system(cmd.c_str());
  SN_USER_CHECK(rc == 0 && exists(path), "fetching the ResNet-50 weights failed (", cmd, " exited with ", rc, ")");
  return path;
}

}  // namespace sn::models

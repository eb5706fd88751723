#include "engine/backend_config.h"

#include "engine/check.h"

namespace sn {

BackendConfig& backend_config() {
  static BackendConfig config;
  return config;
}

ConvBackend parse_conv_backend(const std::string& s) {
  if (s == "native") return ConvBackend::Native;
  if (s == "cudnn") return ConvBackend::Cudnn;
  SN_FAIL("unknown convolution backend '", s, "' (expected native or cudnn)");
}

std::string to_string(ConvBackend b) { return b == ConvBackend::Native ? "native" : "cudnn"; }

}  // namespace sn

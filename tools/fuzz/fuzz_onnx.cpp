// libFuzzer entry point for run_onnx (harness_onnx.h says what an input is).
#include "engine/check.h"
#include "tools/fuzz/harness_onnx.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    sn::fuzz::run_onnx(data, size);
  } catch (const sn::Error&) {
    // A clear error is the expected answer to a bad file; anything else is a finding.
  }
  return 0;
}

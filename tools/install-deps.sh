#!/usr/bin/env bash
# Installs what scratchnet needs to build and test, from Debian packages only.
#   tools/install-deps.sh            build + test dependencies
#   tools/install-deps.sh --reference  also PyTorch/torchvision/LibTorch, OpenBLAS, ONNX (fixtures, parity, benchmarks)
#   tools/install-deps.sh --fuzz       also clang + libFuzzer + libomp (tools/fuzz/run-fuzz.sh only)
# Runs apt-get only for packages that are missing, so re-running is fast.
set -euo pipefail

packages=(build-essential cmake ninja-build ccache pkg-config
          libeigen3-dev libstb-dev catch2 libcli11-dev nlohmann-json3-dev zlib1g-dev
          fonts-dejavu-core
          libonnx-dev libprotobuf-dev
          npm chromium python3)
if [[ "${1:-}" == "--reference" ]]; then
  packages+=(python3-torch python3-torchvision python3-pil python3-numpy libtorch-dev
             libopenblas0-pthread python3-onnx)  # the peer benchmark: OpenBLAS for PyTorch, ONNX export
fi
if [[ "${1:-}" == "--fuzz" ]]; then
  packages+=(clang libclang-rt-dev libomp-dev)
fi

missing=()
for p in "${packages[@]}"; do
  # npm also comes with NodeSource's nodejs package, which conflicts with Debian's npm.
  [[ "$p" == npm ]] && command -v npm >/dev/null && continue
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "install-deps: all ${#packages[@]} packages present"
fi

#!/usr/bin/env bash
# Packs the header-only build dependencies (and zlib's header + library) into
# .gpudeps.tar.gz, for the GPU machine: it has nvcc, CMake, ninja, g++ and
# PyTorch, but not Debian's -dev packages, and cannot download anything.
# Run here (where tools/install-deps.sh installed them), then carry
# .gpudeps.tar.gz with the device call; tools/gpu-check.sh unpacks it.
# The layout mirrors /usr, so the packages' CMake config files (which locate
# themselves relative to their own path) work from any prefix.
set -euo pipefail
cd "$(dirname "$0")/.."
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
u="$stage/usr"
mkdir -p "$u/include" "$u/lib/cmake" "$u/share/cmake" "$u/share/eigen3"
cp -r /usr/include/eigen3 /usr/include/catch2 /usr/include/CLI /usr/include/nlohmann /usr/include/stb "$u/include/"
cp /usr/include/zlib.h /usr/include/zconf.h "$u/include/"
cp -r /usr/share/eigen3/cmake "$u/share/eigen3/"
cp -r /usr/lib/cmake/Catch2 "$u/lib/cmake/"
cp /usr/lib/libCatch2WithMain.a "$u/lib/"  # only named by the config file; we link our own main
cp -r /usr/share/cmake/CLI11 /usr/share/cmake/nlohmann_json "$u/share/cmake/"
# zlib: the shared library under its link name; at run time the machine's own
# libz.so.1 (every Linux has one) is used.
cp -L /usr/lib/x86_64-linux-gnu/libz.so "$u/lib/libz.so"
tar -C "$stage" -czf .gpudeps.tar.gz usr
grep -qxF '/.gpudeps.tar.gz' .git/info/exclude 2>/dev/null || echo '/.gpudeps.tar.gz' >> "$(git rev-parse --git-common-dir)/info/exclude"
echo "gpu-deps: wrote .gpudeps.tar.gz ($(du -h .gpudeps.tar.gz | cut -f1)); carry it: run(carry=[\".gpudeps.tar.gz\"], ...)"

#!/usr/bin/env bash
# tools/format.sh — the C++ and CUDA sources in the project's style (.clang-format).
#   tools/format.sh            reformat every tracked source in place
#   tools/format.sh --check    change nothing; list the files that differ and fail (CI)
# clang-format 14 (Debian 12's `clang-format`); other versions may format a few lines otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null || { echo "format: clang-format is missing (apt-get install clang-format)" >&2; exit 1; }
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files '*.cpp' '*.h' '*.cu' '*.cuh')
else  # a source tree without .git (an unpacked archive): the same folders
  mapfile -t files < <(find engine kernels models tools tests examples -type f \( -name '*.cpp' -o -name '*.h' -o -name '*.cu' -o -name '*.cuh' \) | sort)
fi
if [[ ${1:-} == --check ]]; then
  bad=()
  for f in "${files[@]}"; do
    clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || bad+=("$f")
  done
  if ((${#bad[@]})); then
    printf 'format: %s differs from .clang-format\n' "${bad[@]}" >&2
    echo "format: ${#bad[@]} file(s) not formatted; run tools/format.sh" >&2
    exit 1
  fi
  echo "format: ${#files[@]} files formatted as .clang-format says"
else
  clang-format -i "${files[@]}"
fi

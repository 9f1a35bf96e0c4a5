#!/usr/bin/env bash
# Configures and builds Vigil into build/ (or $VIGIL_BUILD_DIR): every target (the binaries and
# the tests), or only the targets named, e.g. `build.sh vigil vigil-control vigilctl` (the demo:
# a new user does not wait for the test suite to compile).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${VIGIL_BUILD_DIR:-build}
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=${CMAKE_BUILD_TYPE:-RelWithDebInfo} >/dev/null
if [ $# -gt 0 ]; then
  cmake --build "$build_dir" -j"$(nproc)" --target "$@"
else
  cmake --build "$build_dir" -j"$(nproc)"
fi

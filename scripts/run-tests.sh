#!/usr/bin/env bash
# The README's test command: installs what is needed, builds, and runs the whole test suite
# (unit tests and integration tests, all registered with CTest). Run as root: the integration
# tests start Vigil as PID 1 in new PID namespaces.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
build_dir=${VIGIL_BUILD_DIR:-build}
ctest --test-dir "$build_dir" --output-on-failure --timeout 600

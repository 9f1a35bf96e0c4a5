#!/usr/bin/env bash
# The README's demo command: installs what is needed, builds, and runs Vigil as PID 1 of a new
# PID namespace on a demo workload, then stops it as `docker stop` would.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
exec bash examples/single/demo.sh "${VIGIL_BUILD_DIR:-build}/agent/vigil"

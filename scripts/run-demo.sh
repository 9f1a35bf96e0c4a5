#!/usr/bin/env bash
# The README's demo command: installs what is needed, builds, and runs Vigil as PID 1 of a new
# PID namespace on two demo workloads: a pool of Python workers (sd_notify readiness, graceful
# stop), then a single command (the tini drop-in), each stopped as `docker stop` would.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
# Only what the demo runs: the three programs (the test suite is run-tests.sh's to build).
bash scripts/build.sh vigil vigil-control vigilctl
vigil="${VIGIL_BUILD_DIR:-build}/agent/vigil"
bash examples/pools/demo.sh "$vigil"
echo
bash examples/single/demo.sh "$vigil"

#!/usr/bin/env bash
# Installs everything Vigil needs to build, test and demo, from Debian 12 packages only.
# Safe to run again. Must run as root (CI and the README's commands do).
set -euo pipefail

packages=(
  # Toolchain.
  cmake g++ make pkg-config clang-format
  # Sanitizer builds and fuzzers (scripts/run-sanitizers.sh, run-fuzzers.sh): clang, its
  # sanitizer runtimes and libFuzzer, and llvm-symbolizer for readable reports.
  clang libclang-rt-14-dev llvm-14
  # Libraries (the PID-1 core uses spdlog/fmt header-only; the control plane uses the rest).
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  prometheus-cpp-dev libspdlog-dev libfmt-dev libyaml-cpp-dev
  # promtool (package prometheus) checks every /metrics scrape in the tests.
  prometheus
  libgtest-dev libgmock-dev
  # Running and testing: unshare (util-linux), ps (procps), pytest.
  util-linux procps python3 python3-pytest
  # Example and test workers: sd_notify from Python, a real gunicorn.
  python3-sdnotify python3-gunicorn
  # The kubelet simulation's raw gRPC calls (tests/e2e/grpc_raw.py).
  python3-grpcio
)

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: run as root (apt-get install)" >&2
  exit 1
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages already installed"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${packages[@]}"

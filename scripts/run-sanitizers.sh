#!/usr/bin/env bash
# The sanitizer suites (docs/reliability.md, "Sanitizers and fuzzers"), each in its own build
# directory, built with clang from Debian 12:
#   asan  build-asan: ASan + UBSan (and libFuzzer coverage, so scripts/run-fuzzers.sh reuses the
#         build): the unit, control and integration suites, and the fuzz corpora replayed.
#   tsan  build-tsan: TSan: vigil-control's tests (tests/control) and the e2e suite, which runs
#         the real vigil-control under load from vigilctl and raw gRPC clients.
# Usage: scripts/run-sanitizers.sh [asan] [tsan]      (default: both)
# Every sanitizer report fails the stage, including reports of processes whose exit status no
# test looks at (a vigil-control restarted by the core, a helper): each runtime writes its
# reports to files (log_path), and the stage fails when any file is there, printing them.
# Each stage (build and tests) is bounded in time: VIGIL_SANITIZER_TIMEOUT seconds (default
# 1800).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
stages=("$@")
[ ${#stages[@]} -gt 0 ] || stages=(asan tsan)
limit=${VIGIL_SANITIZER_TIMEOUT:-1800}
export CC=clang CXX=clang++
symbolizer=/usr/lib/llvm-14/bin/llvm-symbolizer

# configure DIR SANITIZERS [cmake args...]
configure() {
  local dir=$1 sanitize=$2
  shift 2
  # -O1 with line tables only, as the sanitizers' authors advise: reports keep file:line, and
  # the build takes a good part less time than -O2 -g (CI builds it from scratch every run).
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only -DNDEBUG" \
    -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only -DNDEBUG" \
    -DVIGIL_SANITIZE="$sanitize" "$@" ${VIGIL_CMAKE_ARGS:-} >/dev/null
}

# sanitize_env STAGE DIR: the runtimes' options for a stage's tests. Reports go to files named by
# pid in DIR/sanitizer-reports; the first report stops the process (UBSan: also built with
# -fno-sanitize-recover), except TSan's (below). Leaks are checked at every process's exit.
sanitize_env() {
  local reports="$root/$2/sanitizer-reports"
  export ASAN_OPTIONS="log_path=$reports/asan:abort_on_error=1:halt_on_error=1:detect_leaks=1:strict_string_checks=1:check_initialization_order=1:detect_stack_use_after_return=1"
  export UBSAN_OPTIONS="log_path=$reports/ubsan:print_stacktrace=1:halt_on_error=1:abort_on_error=1"
  # TSan reports every race (a vigil-control that stopped at the first one would be restarted by
  # the core and hide the next), unsymbolized (symbolize=0: online symbolization starts an
  # llvm-symbolizer child inside the pod under test, which the e2e tests count as a stray
  # process); tests/sanitizers/triage_tsan.py symbolizes them afterwards and fails the stage on
  # any race between two accesses made by Vigil's code. Suppressions name third-party code only.
  # exitcode=0: a process with reports still exits with its own status (TSan's default, 66,
  # would fail the control tests for the third-party reports a real gRPC server in them brings);
  # the triage of the report files is the verdict.
  export TSAN_OPTIONS="log_path=$reports/tsan:halt_on_error=0:exitcode=0:second_deadlock_stack=1:symbolize=0:suppressions=$root/tests/sanitizers/tsan.supp"
  export ASAN_SYMBOLIZER_PATH=$symbolizer TSAN_SYMBOLIZER_PATH=$symbolizer
}

# check_reports STAGE DIR: fails, printing them, when the stage's processes wrote any report
# (TSan's: any that triage_tsan.py attributes to Vigil's code on both sides).
check_reports() {
  local reports="$root/$2/sanitizer-reports"
  compgen -G "$reports/*" >/dev/null || return 0
  if [ "$1" = tsan ]; then
    /usr/bin/python3 "$root/tests/sanitizers/triage_tsan.py" "$reports" "$root" "$root/$2"
    return
  fi
  echo "sanitizers: $1: sanitizer reports:" >&2
  for f in "$reports"/*; do
    echo "==== $f" >&2
    head -c 20000 "$f" >&2
  done
  return 1
}

# bounded COMMAND...: runs it within what is left of the stage's time bound, and of the whole
# run's (VIGIL_DEADLINE, seconds since the epoch: scripts/run-tests.sh keeps CI within its
# budget that way).
bounded() {
  local left=$((deadline - SECONDS))
  if [ -n "${VIGIL_DEADLINE:-}" ]; then
    local overall=$((VIGIL_DEADLINE - $(date +%s)))
    [ "$overall" -gt 0 ] || { echo "sanitizers: over the test run's time budget" >&2; return 124; }
    [ "$overall" -lt "$left" ] && left=$overall
  fi
  [ "$left" -gt 0 ] || { echo "sanitizers: over the ${limit} s bound" >&2; return 124; }
  timeout --signal=TERM --kill-after=60 "$left" "$@"
}

# The e2e tests run as load in the TSan stage.
tsan_load="test_kubelet_streams|test_adversarial_grpc|test_kubelet_concurrent_drain"
tsan_load+="|test_kubelet_control_restart|test_kubelet_api|test_kubelet_liveness"

failed=0
for stage in "${stages[@]}"; do
  start=$SECONDS
  deadline=$((SECONDS + limit))
  status=0
  case $stage in
    asan)
      configure build-asan address,undefined -DVIGIL_FUZZ=ON
      cmake --build build-asan -j"$(nproc)"
      echo "sanitizers: asan build took $((SECONDS - start)) s"
      rm -rf build-asan/sanitizer-reports && mkdir -p build-asan/sanitizer-reports
      sanitize_env asan build-asan
      # The GoogleTest binaries run whole (one process each: under ASan a process per test, as
      # CTest runs them, costs minutes). Left out: the stack-depth test of a million immediate
      # restarts (15 s in the release build, over 2 minutes under ASan; it tests recursion, not
      # memory).
      (cd build-asan/tests/unit &&
        bounded ./vigil_unit_tests --gtest_brief=1 \
          --gtest_filter=-PoolTest.PersistentSpawnFailuresWithZeroBackoffDoNotExhaustTheStack) ||
        status=1
      (cd build-asan/tests/control && bounded ./vigil_control_tests --gtest_brief=1) || status=1
      # The integration tests send fault signals (SEGV, BUS, FPE) to vigil from outside, which
      # PID 1 must ignore and a subreaper die of: ASan's handlers would take each for a crash of
      # its own. A real fault still kills the process, and fails its test, without the report.
      ASAN_OPTIONS="$ASAN_OPTIONS:handle_segv=0:handle_sigbus=0:handle_sigfpe=0" \
        bounded ctest --test-dir build-asan -R '^(integration|fuzz)\.' --output-on-failure \
        --timeout 900 || status=1
      check_reports asan build-asan || status=1
      ;;
    tsan)
      configure build-tsan thread
      # Only what the control plane's tests run: the core, vigil-control, vigilctl and its tests.
      cmake --build build-tsan -j"$(nproc)" --target vigil vigil-control vigilctl \
        vigil_control_tests
      echo "sanitizers: tsan build took $((SECONDS - start)) s"
      rm -rf build-tsan/sanitizer-reports && mkdir -p build-tsan/sanitizer-reports
      sanitize_env tsan build-tsan
      (cd build-tsan/tests/control && bounded ./vigil_control_tests --gtest_brief=1) || status=1
      # The e2e tests that load the control plane from many threads at once (streams, concurrent
      # drains, restarts of vigil-control, adversarial gRPC and HTTP clients), as load: under TSan
      # vigil-control runs 5-15 times slower, so their timing assertions do not hold, and their
      # outcomes (checked by the normal suite) are shown, not judged. TSan's reports are the
      # verdict (check_reports below).
      bounded ctest --test-dir build-tsan --timeout 300 -R "^e2e\.($tsan_load)\$" ||
        echo "sanitizers: tsan: (e2e outcomes under TSan are informational; see above)"
      check_reports tsan build-tsan || status=1
      ;;
    *)
      echo "run-sanitizers: unknown stage '$stage' (asan, tsan)" >&2
      exit 2
      ;;
  esac
  unset ASAN_OPTIONS UBSAN_OPTIONS TSAN_OPTIONS
  [ "$status" -eq 0 ] || failed=1
  echo "sanitizers: $stage stage took $((SECONDS - start)) s ($([ "$status" -eq 0 ] && echo passed || echo FAILED))"
done
exit "$failed"

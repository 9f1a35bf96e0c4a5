#!/usr/bin/env bash
# Runs every libFuzzer target (tests/fuzz, docs/reliability.md "Sanitizers and fuzzers") for a
# bounded time, from its committed corpus and with its dictionary, with ASan and UBSan. Uses
# build-asan (built by scripts/run-sanitizers.sh asan, or here if missing).
# Usage: scripts/run-fuzzers.sh [TARGET...]       (default: all)
#   VIGIL_FUZZ_SECONDS  time per target (default 20: CI's share; longer runs by hand); targets
#                       run $(nproc) at a time
# The committed corpus is only read: new inputs go to build-asan/fuzz/<target>/corpus. A crash
# (a broken invariant, a sanitizer report, a leak, a timeout or running out of memory) fails
# the run; its input is copied to tests/fuzz/corpus/<target>/ as crash-<sha1>, so that once the
# bug is fixed it stays a regression input replayed by the normal suite (CTest fuzz.<target>):
# commit it with the fix.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
seconds=${VIGIL_FUZZ_SECONDS:-20}
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(notify_message duration signals cli config_yaml ipc_frame ipc_core ipc_control inet_diag)
fi
if [ ! -x build-asan/tests/fuzz/fuzz_ipc_control ]; then
  CC=clang CXX=clang++ cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only -DNDEBUG" \
    -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only -DNDEBUG" \
    -DVIGIL_SANITIZE=address,undefined -DVIGIL_FUZZ=ON ${VIGIL_CMAKE_ARGS:-} >/dev/null
fi
cmake --build build-asan -j"$(nproc)" --target "${targets[@]/#/fuzz_}"

# The largest input tried, per target: past each parser's own limit, so the limit is tested.
max_len() {
  case $1 in
    notify_message) echo 4200 ;;  # kMaxNotifyDatagram is 4096
    ipc_core) echo 8192 ;;
    ipc_control) echo 16384 ;;
    *) echo 4096 ;;
  esac
}

export ASAN_OPTIONS="abort_on_error=1:detect_leaks=1:strict_string_checks=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export ASAN_SYMBOLIZER_PATH=/usr/lib/llvm-14/bin/llvm-symbolizer

# fuzz TARGET: runs it, keeps its log and any crash; status 0 when nothing was found.
fuzz() {
  local t=$1
  local work="$root/build-asan/fuzz/$t"
  rm -rf "$work/artifacts"
  mkdir -p "$work/corpus" "$work/artifacts"
  local dict=()
  [ -f "tests/fuzz/dict/$t.dict" ] && dict=("-dict=tests/fuzz/dict/$t.dict")
  local status=0
  # -timeout: one input taking this long is a hang (generous: CI's machine may be loaded);
  # -rss_limit_mb: a leak or a blow-up. The outer timeout is a backstop in case the fuzzer
  # itself wedges.
  timeout --kill-after=30 $((seconds + 120)) \
    "build-asan/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=25 -report_slow_units=1000 -rss_limit_mb=2048 \
    -max_len="$(max_len "$t")" -use_value_profile=1 -print_final_stats=1 "${dict[@]}" \
    -artifact_prefix="$work/artifacts/" "$work/corpus" "tests/fuzz/corpus/$t" \
    >"$work/log" 2>&1 || status=$?
  local found=0
  for crash in "$work"/artifacts/{crash,leak,timeout,oom}-*; do
    [ -e "$crash" ] || continue
    found=1
    local name known=""
    for seed in "tests/fuzz/corpus/$t"/*; do
      if cmp -s "$crash" "$seed"; then known=$seed; fi
    done
    if [ -n "$known" ]; then
      echo "fuzz: $t: FAILED on $known (a committed regression input)"
      continue
    fi
    name="crash-$(sha1sum "$crash" | cut -c1-16)"
    cp "$crash" "tests/fuzz/corpus/$t/$name"
    echo "fuzz: $t: FOUND $(basename "$crash"), saved as tests/fuzz/corpus/$t/$name"
  done
  local runs
  runs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$work/log" | grep -o '[0-9]*$' || true)
  if [ "$status" -ne 0 ] || [ "$found" -ne 0 ]; then
    echo "fuzz: $t: FAILED (exit $status); the end of its log:"
    tail -n 60 "$work/log"
    return 1
  fi
  echo "fuzz: $t: ok, ${runs:-?} inputs in ${seconds} s"
}

# $(nproc) targets at a time, each one process; each target's summary is printed as it ends.
failed=0
running=0
start=$SECONDS
finish_one() {
  wait -n || failed=1
  running=$((running - 1))
}
for t in "${targets[@]}"; do
  [ "$running" -lt "$(nproc)" ] || finish_one
  mkdir -p "build-asan/fuzz/$t"
  (status=0
   fuzz "$t" >"build-asan/fuzz/$t/summary" 2>&1 || status=$?
   cat "build-asan/fuzz/$t/summary"
   exit "$status") &
  running=$((running + 1))
done
while [ "$running" -gt 0 ]; do finish_one; done
echo "fuzz: ${#targets[@]} targets, ${seconds} s each, took $((SECONDS - start)) s"
exit "$failed"

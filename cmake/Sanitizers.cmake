# Sanitizer and fuzzer builds (docs/reliability.md, "Sanitizers and fuzzers"). Each is its own
# build directory (scripts/run-sanitizers.sh, scripts/run-fuzzers.sh); the normal build uses
# neither.
#   -DVIGIL_SANITIZE=address,undefined   ASan + UBSan: every finding stops the process
#   -DVIGIL_SANITIZE=thread              TSan
#   -DVIGIL_FUZZ=ON                      the libFuzzer targets of tests/fuzz (clang only), and
#                                        coverage instrumentation for all the code they reach
# The flags are set for every target defined after this file is included (all of them), so the
# libraries the tests and fuzzers link are instrumented as well as the binaries.
set(VIGIL_SANITIZE "" CACHE STRING "Sanitizers to build with: address,undefined or thread")
option(VIGIL_FUZZ "Build the libFuzzer targets of tests/fuzz (needs clang)" OFF)

if(VIGIL_SANITIZE)
  # -fno-sanitize-recover: UBSan aborts at its first report instead of printing and going on,
  # so a finding fails the test that triggered it.
  add_compile_options(-fsanitize=${VIGIL_SANITIZE} -fno-sanitize-recover=all
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=${VIGIL_SANITIZE})
endif()

if(VIGIL_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "VIGIL_FUZZ needs clang (libFuzzer): CC=clang CXX=clang++ cmake ...")
  endif()
  # Coverage feedback for libFuzzer from every library, not only the fuzz targets; the
  # sanitizers' runtime supplies no-op hooks to the binaries that are not fuzzers.
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()

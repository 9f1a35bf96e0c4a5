# Every dependency comes from a Debian 12 package (see scripts/install-deps.sh).
# Debian's gRPC ships pkg-config files, so gRPC and protobuf are found through pkg-config;
# the others ship CMake config files.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)

# Logging, used by the PID-1 core. The core compiles spdlog and fmt header-only so that the
# `vigil` binary links no shared C++ library but libstdc++ (itself linked statically): fewer
# relocations at exec, which is most of an init's start-up time.
find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)
add_library(vigil_spdlog_header_only INTERFACE)
target_compile_definitions(vigil_spdlog_header_only INTERFACE SPDLOG_HEADER_ONLY FMT_HEADER_ONLY
                                                              SPDLOG_FMT_EXTERNAL)

# Configuration files (pools, drain, control, metrics). The core links the static archive, for
# the same reason as above.
find_package(yaml-cpp REQUIRED)
find_library(VIGIL_YAML_CPP_STATIC NAMES libyaml-cpp.a REQUIRED)
add_library(vigil_yaml_cpp_static STATIC IMPORTED)
set_target_properties(vigil_yaml_cpp_static PROPERTIES
  IMPORTED_LOCATION ${VIGIL_YAML_CPP_STATIC}
  INTERFACE_INCLUDE_DIRECTORIES "${YAML_CPP_INCLUDE_DIR}")

# The control plane (vigil-control, vigilctl): gRPC, protobuf and Prometheus. Both speak gRPC
# in plaintext only (a unix socket; TCP ports behind a bearer token, TLS being the pod network's
# or a mesh's): gRPC without TLS, so neither loads libssl/libcrypto (about 1.7 MiB of
# vigil-control's RSS; issue 13). Same Debian packages (libgrpc++1.51, libgrpc29).
pkg_check_modules(GRPCPP REQUIRED IMPORTED_TARGET grpc++_unsecure)
pkg_check_modules(PROTOBUF REQUIRED IMPORTED_TARGET protobuf)
find_program(VIGIL_PROTOC protoc REQUIRED)
find_program(VIGIL_GRPC_CPP_PLUGIN grpc_cpp_plugin REQUIRED)
find_package(prometheus-cpp REQUIRED COMPONENTS core)
# The core's side of the control protocol uses the lite runtime, linked statically.
find_library(VIGIL_PROTOBUF_LITE_STATIC NAMES libprotobuf-lite.a REQUIRED)

# Tests.
if(VIGIL_BUILD_TESTS)
  find_package(GTest REQUIRED)
  find_program(VIGIL_PYTHON3 python3 PATHS /usr/bin NO_DEFAULT_PATH REQUIRED)
endif()

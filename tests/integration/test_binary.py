"""The PID-1 core binary links no gRPC, no HTTP server and no shared C++ library: it needs only
libc (and libm), so it starts fast and a network library can never take PID 1 down (see
docs/architecture.md). vigil-control is where gRPC, protobuf and prometheus-cpp live."""

import subprocess
from pathlib import Path

import pytest

FORBIDDEN = ("grpc", "protobuf", "prometheus", "civetweb", "yaml-cpp", "spdlog", "fmt",
             "libstdc++", "libgcc_s")


def shared_libraries(binary: str) -> list[str]:
    out = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def sanitizer_of(binary: str):
    """The sanitizer a binary was built with (scripts/run-sanitizers.sh), or None."""
    data = Path(binary).read_bytes()
    for name, marker in (("ASan", b"__asan_init"), ("TSan", b"__tsan_init"),
                         ("UBSan", b"__ubsan_handle_")):
        if marker in data:
            return name
    return None


def test_the_core_links_only_libc(vigil_bin):
    """ldd vigil: libc, libm, the loader and the vDSO; nothing of gRPC, HTTP or libstdc++."""
    if sanitizer := sanitizer_of(vigil_bin):
        # Sanitizer runtimes replace operator new and delete, so those builds link libstdc++
        # shared (agent/CMakeLists.txt); the release build is what this test is about.
        pytest.skip(f"{sanitizer} build: links libstdc++ shared for the sanitizer runtime")
    libs = shared_libraries(vigil_bin)
    assert any(lib.startswith("libc.so") for lib in libs), libs
    assert [lib for lib in libs if any(f in lib for f in FORBIDDEN)] == [], libs


def test_the_control_plane_is_where_grpc_lives(vigil_bin):
    """vigil-control, next to vigil, does link gRPC (so the check above can tell them apart)."""
    control = Path(vigil_bin).parent / "vigil-control"
    assert control.is_file(), f"vigil-control not found next to vigil ({control})"
    assert any("grpc" in lib for lib in shared_libraries(str(control)))

"""The PID-1 core binary links no gRPC, no HTTP server and no shared C++ library: it needs only
libc (and libm), so it starts fast and a network library can never take PID 1 down (see
docs/architecture.md). vigil-control is where gRPC, protobuf and prometheus-cpp live."""

import subprocess
from pathlib import Path

FORBIDDEN = ("grpc", "protobuf", "prometheus", "civetweb", "yaml-cpp", "spdlog", "fmt",
             "libstdc++", "libgcc_s")


def shared_libraries(binary: str) -> list[str]:
    out = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def test_the_core_links_only_libc(vigil_bin):
    """ldd vigil: libc, libm, the loader and the vDSO; nothing of gRPC, HTTP or libstdc++."""
    libs = shared_libraries(vigil_bin)
    assert any(lib.startswith("libc.so") for lib in libs), libs
    assert [lib for lib in libs if any(f in lib for f in FORBIDDEN)] == [], libs


def test_the_control_plane_is_where_grpc_lives(vigil_bin):
    """vigil-control, next to vigil, does link gRPC (so the check above can tell them apart)."""
    control = Path(vigil_bin).parent / "vigil-control"
    assert control.is_file(), f"vigil-control not found next to vigil ({control})"
    assert any("grpc" in lib for lib in shared_libraries(str(control)))

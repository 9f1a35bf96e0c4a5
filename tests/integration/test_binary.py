"""The PID-1 core binary is fully static (static-pie: no loader, no shared library, so it runs in
any image; docs/bundle.md) and holds no gRPC and no HTTP server, so it starts fast and a network
library can never take PID 1 down (see docs/architecture.md). vigil-control is where gRPC,
protobuf and prometheus-cpp live."""

import subprocess
from pathlib import Path

import pytest

# Code that must stay out of the core (protobuf-lite, yaml-cpp, spdlog and fmt are linked in).
FORBIDDEN = ("grpc", "prometheus", "civetweb", "mg_start")


def readelf(*args: str) -> str:
    return subprocess.run(["readelf", *args], capture_output=True, text=True, check=True).stdout


def shared_libraries(binary: str) -> list[str]:
    return [line.split("[", 1)[1].rstrip("]").strip() for line in readelf("-dW", binary).splitlines()
            if "(NEEDED)" in line]


def sanitizer_of(binary: str):
    """The sanitizer a binary was built with (scripts/run-sanitizers.sh), or None."""
    data = Path(binary).read_bytes()
    for name, marker in (("ASan", b"__asan_init"), ("TSan", b"__tsan_init"),
                         ("UBSan", b"__ubsan_handle_")):
        if marker in data:
            return name
    return None


def test_the_core_is_a_static_pie(vigil_bin):
    """No PT_INTERP, no DT_NEEDED (no libc either), and ELF type DYN: ASLR is kept."""
    if sanitizer := sanitizer_of(vigil_bin):
        # The sanitizer runtimes cannot be linked statically: those builds link the core
        # dynamically (agent/CMakeLists.txt); the release build is what this test is about.
        pytest.skip(f"{sanitizer} build: the sanitizer runtime needs dynamic linking")
    assert "INTERP" not in readelf("-lW", vigil_bin)
    assert shared_libraries(vigil_bin) == []
    assert "DYN (Position-Independent Executable file)" in readelf("-h", vigil_bin)


def test_the_core_holds_no_grpc_and_no_http_server(vigil_bin):
    """Nothing of gRPC, prometheus-cpp or civetweb among the core's symbols.

    A symbol is theirs when it is in their namespaces or is one of their C functions: the core's
    own names may mention gRPC (ControlOptions::grpc_idle_linger_ms, an option it passes on).
    """
    out = subprocess.run(["nm", "-C", vigil_bin], capture_output=True, text=True,
                         check=True).stdout.lower()
    assert out.count("\n") > 1000, "the core has no symbol table to check"
    names = [line.split(" ", 2)[-1] for line in out.splitlines()]
    theirs = [n for n in names
              if n.startswith(FORBIDDEN) or any(f"{f}::" in n or f"{f}_core::" in n
                                                 for f in FORBIDDEN)]
    assert theirs == []


def test_the_control_plane_is_where_grpc_lives(vigil_bin):
    """vigil-control, next to vigil, does link gRPC (so the checks above can tell them apart)."""
    control = Path(vigil_bin).parent / "vigil-control"
    assert control.is_file(), f"vigil-control not found next to vigil ({control})"
    assert any("grpc" in lib for lib in shared_libraries(str(control)))


@pytest.mark.parametrize("name", ["vigil-control", "vigilctl"])
def test_the_control_plane_and_the_client_hold_none_of_the_core(vigil_bin, name):
    """vigil-control and vigilctl link the common library (base, log, frame, signal names), not
    the core's modules (issue 11): no config loader, YAML, supervisor or control link in them."""
    binary = Path(vigil_bin).parent / name
    symbols = subprocess.run(["nm", "-C", str(binary)], capture_output=True, text=True,
                             check=True).stdout
    assert symbols.count("\n") > 1000, f"{name} has no symbol table to check"
    core = ("vigil::LoadConfig", "YAML::", "vigil::Supervisor::", "vigil::Pool::",
            "vigil::ControlLink::", "vigil::EventLoop::")
    assert [c for c in core if c in symbols] == []

#!/usr/bin/python3
"""The core <-> control protocol carries no proto3 `string` field (docs/control.md).

A proto3 `string` must hold valid UTF-8, and a parser rejects the whole message when it does
not; text that workers, config, argv or the environment can set is bytes until proven otherwise.
So every text field of proto/vigil/internal/v1/ipc.proto is `bytes`, and vigil-control turns it
into the public API's strings through one sanitizer (agent/control/utf8.h). This check fails
when a `string` field (or a map with string keys or values) comes back.

Usage: check_ipc_bytes.py [PATH_TO_IPC_PROTO]
"""
import re
import sys
from pathlib import Path

DEFAULT = Path(__file__).resolve().parents[2] / "proto" / "vigil" / "internal" / "v1" / "ipc.proto"


def strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def string_fields(text: str) -> list[str]:
    """Every declaration using the `string` type, as written."""
    code = strip_comments(text)
    found = re.findall(r"\b(?:repeated\s+|optional\s+)?string\s+\w+\s*=\s*\d+", code)
    found += re.findall(r"\bmap\s*<[^>]*\bstring\b[^>]*>\s*\w+\s*=\s*\d+", code)
    return found


def main() -> int:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    found = string_fields(path.read_text())
    if found:
        print(f"{path}: string fields found; carry text as bytes instead (docs/control.md):")
        for declaration in found:
            print("  " + " ".join(declaration.split()))
        return 1
    # The check itself must be able to fail: it finds a field written on purpose.
    assert string_fields("message M { string x = 1; }") == ["string x = 1"]
    assert string_fields("message M { // string y = 2;\n bytes x = 1; }") == []
    print(f"{path}: no string field")
    return 0


if __name__ == "__main__":
    sys.exit(main())

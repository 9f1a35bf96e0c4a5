"""Vigil under the names of tini and dumb-init, for the drop-in tests (docs/compat.md).

The build puts `tini` and `dumb-init` symlinks next to vigil; the tests make their own in a
temporary directory too, so that they run against any VIGIL_BIN.
"""

from __future__ import annotations

import os
from pathlib import Path


def tool_links(vigil_bin: str, directory: Path) -> dict[str, str]:
    """{"tini": path, "dumb-init": path, ...}: symlinks to vigil_bin made in directory."""
    directory.mkdir(parents=True, exist_ok=True)
    links = {}
    for name in ("tini", "tini-static", "dumb-init"):
        link = directory / name
        if not link.is_symlink():
            os.symlink(vigil_bin, link)
        links[name] = str(link)
    return links

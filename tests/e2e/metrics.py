"""Scraping Vigil's /metrics in the tests: fetch, check with promtool, parse.

Every scrape is checked with `promtool check metrics` (Debian package prometheus), so each test
that scrapes also proves the exposition is valid. The parser reads the text format into
{(name, frozenset(labels.items())): value}, enough for exact assertions.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import urllib.request
from typing import Optional

PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


class Scrape:
    def __init__(self, text: str):
        self.text = text
        self.samples: dict[tuple[str, frozenset], float] = {}
        self.types: dict[str, str] = {}
        for line in text.splitlines():
            if line.startswith("# TYPE "):
                _, _, name, kind = line.split(" ", 3)
                self.types[name] = kind
                continue
            if not line or line.startswith("#"):
                continue
            m = _SAMPLE.match(line)
            assert m, f"unparsable metrics line: {line!r}"
            labels = frozenset(_LABEL.findall(m.group(2) or ""))
            self.samples[(m.group(1), labels)] = float(m.group(3))

    def get(self, name: str, **labels) -> Optional[float]:
        """The value of the one sample of `name` with exactly these labels (None if absent)."""
        return self.samples.get((name, frozenset((k, str(v)) for k, v in labels.items())))

    def value(self, name: str, **labels) -> float:
        v = self.get(name, **labels)
        assert v is not None, f"no sample {name}{labels}; have: {self.series(name)}"
        return v

    def series(self, name: str) -> list[dict]:
        return [dict(labels, _value=v) for (n, labels), v in self.samples.items() if n == name]

    def total(self, name: str, **labels) -> float:
        """Sum over every sample of `name` whose labels include these."""
        want = {(k, str(v)) for k, v in labels.items()}
        return sum(v for (n, ls), v in self.samples.items() if n == name and want <= ls)

    def label_names(self) -> set[str]:
        return {k for (_, labels) in self.samples for k, _ in labels}


def fetch(address: str, timeout: float = 5.0) -> str:
    with urllib.request.urlopen(f"http://{address}/metrics", timeout=timeout) as r:
        assert r.status == 200
        return r.read().decode()


def scrape(address: str) -> Scrape:
    """GET /metrics, check it with promtool, parse it."""
    text = fetch(address)
    check = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True,
                           text=True, timeout=30)
    assert check.returncode == 0, f"promtool check metrics failed:\n{check.stdout}{check.stderr}"
    return Scrape(text)


def try_scrape(address: str) -> Optional[Scrape]:
    """A scrape, or None while nothing answers yet (or the core's part is missing)."""
    try:
        s = scrape(address)
    except OSError:
        return None
    return s if s.get("vigil_core_metrics_up") == 1 else None

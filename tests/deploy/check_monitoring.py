#!/usr/bin/python3
"""Checks deploy/grafana/vigil-dashboard.json (valid JSON, panels with queries) and
deploy/prometheus/vigil-rules.yaml: every vigil_* metric a query or rule names is one Vigil exports (the family names in the core's
metrics_builder.cc and vigil-control's metrics_collector.cc and control_counters.cc), so a renamed metric cannot leave
a dashboard panel silently empty. Exits non-zero naming what is wrong."""
import json
import re
import sys
from pathlib import Path

repo = Path(sys.argv[1])
dashboard = json.loads((repo / "deploy/grafana/vigil-dashboard.json").read_text())
sources = (repo / "agent/ipc/metrics_builder.cc").read_text() + \
    (repo / "agent/control/metrics_collector.cc").read_text() + \
    (repo / "agent/control/control_counters.cc").read_text()
families = set(re.findall(r'"(vigil_[a-z_]+)"', sources))
known = set(families)
for f in families:  # Histogram and counter series names.
    known |= {f + "_bucket", f + "_sum", f + "_count"}

queries = []


def walk(node):
    if isinstance(node, dict):
        if isinstance(node.get("expr"), str):
            queries.append(node["expr"])
        if isinstance(node.get("query"), str):
            queries.append(node["query"])
        if isinstance(node.get("definition"), str):
            queries.append(node["definition"])
        for v in node.values():
            walk(v)
    elif isinstance(node, list):
        for v in node:
            walk(v)


walk(dashboard)
problems = []
rules = (repo / "deploy/prometheus/vigil-rules.yaml").read_text()
for name in set(re.findall(r"\bvigil_[a-z_]+", rules)):
    if name not in known:
        problems.append(f"vigil-rules.yaml names unknown metric {name}")
if len(queries) < 10:
    problems.append(f"only {len(queries)} queries found")
for q in queries:
    for name in re.findall(r"\bvigil_[a-z_]+", q):
        if name not in known:
            problems.append(f"query names unknown metric {name}: {q}")
if problems:
    print("\n".join(problems))
    sys.exit(1)
print(f"dashboard and rules ok: {len(queries)} queries, all metrics known ({len(families)} families)")

"""The chart tests' tools: helm, the offline validator (validate_k8s.js over kubernetes-models)
and `vigil --check`, found through scripts/fetch-k8s-tools.sh (which fails, never skips, when the
npm registry cannot be reached and nothing is cached)."""
import json
import os
import pathlib
import subprocess
import tempfile

import yaml

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CHART = ROOT / "helm" / "vigil"
VALUES = HERE / "values"
VALIDATOR = HERE / "validate_k8s.js"


def fetch_tools():
    """KEY=VALUE lines of scripts/fetch-k8s-tools.sh: HELM, KUBECTL, K8S_MODELS."""
    done = subprocess.run(["bash", str(ROOT / "scripts" / "fetch-k8s-tools.sh")],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, f"fetch-k8s-tools.sh failed:\n{done.stderr}"
    return dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)


class Tools:
    def __init__(self):
        found = fetch_tools()
        self.helm_bin = found["HELM"]
        self.kubectl = found["KUBECTL"]
        self.models = found["K8S_MODELS"]
        self.vigil = os.environ.get("VIGIL_BIN", str(ROOT / "build" / "agent" / "vigil"))
        assert os.access(self.vigil, os.X_OK), f"no vigil binary at {self.vigil} (set VIGIL_BIN)"
        self._helm_home = tempfile.TemporaryDirectory(prefix="vigil-helm-")

    def helm(self, *args, check=True):
        # Private config, cache and data directories: nothing read from or left in $HOME.
        home = self._helm_home.name
        env = dict(os.environ, HELM_CACHE_HOME=f"{home}/cache", HELM_CONFIG_HOME=f"{home}/config",
                   HELM_DATA_HOME=f"{home}/data")
        done = subprocess.run([self.helm_bin, *args], capture_output=True, text=True, env=env,
                              timeout=120)
        if check:
            assert done.returncode == 0, f"helm {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
        return done

    def render(self, *values_args, release="r"):
        """The objects `helm template` renders, as a list of dicts."""
        done = self.helm("template", release, str(CHART), *values_args)
        return [d for d in yaml.safe_load_all(done.stdout) if d]

    def validate(self, objects, source="test"):
        """(exit status, output) of validate_k8s.js over the objects."""
        with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
            json.dump([{"source": source, "object": o} for o in objects], f)
            f.flush()
            done = subprocess.run(["node", str(VALIDATOR), self.models, f.name],
                                  capture_output=True, text=True, timeout=120)
        return done.returncode, done.stdout + done.stderr

    def vigil_check(self, config_text, env):
        """(exit status, output) of `vigil --check` on a vigil.yaml, with the container's env."""
        with tempfile.TemporaryDirectory() as d:
            path = pathlib.Path(d) / "vigil.yaml"
            path.write_text(config_text)
            clean = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}
            done = subprocess.run([self.vigil, "--check", "--config", str(path)],
                                  capture_output=True, text=True, env={**clean, **env},
                                  timeout=60)
        return done.returncode, done.stdout + done.stderr


def by_kind(objects, kind):
    return [o for o in objects if o["kind"] == kind]


def one(objects, kind):
    found = by_kind(objects, kind)
    assert len(found) == 1, f"expected one {kind}, got {len(found)}"
    return found[0]


def container(pod_spec, name, init=False):
    key = "initContainers" if init else "containers"
    found = [c for c in pod_spec.get(key, []) if c["name"] == name]
    assert len(found) == 1, f"expected one {key} {name}"
    return found[0]


def literal_env(c):
    """A container's env entries that have a literal value (VIGIL_* come that way)."""
    return {e["name"]: e["value"] for e in c.get("env", []) if "value" in e}


def check_vigil_configs(tools, objects):
    """vigil --check on every vigil.yaml of a ConfigMap mounted at /etc/vigil, with the env of
    the container that mounts it. Returns how many were checked."""
    configs = {o["metadata"]["name"]: o["data"]["vigil.yaml"]
               for o in by_kind(objects, "ConfigMap") if "vigil.yaml" in o.get("data", {})}
    checked = 0
    for d in by_kind(objects, "Deployment"):
        spec = d["spec"]["template"]["spec"]
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        for c in spec["containers"]:
            for m in c.get("volumeMounts", []):
                if m["mountPath"] != "/etc/vigil":
                    continue
                cm = volumes[m["name"]]["configMap"]["name"]
                status, out = tools.vigil_check(configs[cm], literal_env(c))
                assert status == 0, f"vigil --check on ConfigMap {cm}:\n{out}"
                assert "configuration OK" in out, out
                checked += 1
    assert checked == len(configs), f"{len(configs)} vigil.yaml ConfigMaps, {checked} checked"
    return checked

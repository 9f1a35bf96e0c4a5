"""deploy/kubernetes/*.yaml, verified offline like the chart: every object valid against the
Kubernetes schemas (unknown fields reported), `vigil --check` on every vigil.yaml ConfigMap with
the container's environment, and the same secure pod as the chart's defaults.

    VIGIL_BIN=build/agent/vigil /usr/bin/python3 -m pytest tests/chart/test_manifests.py
"""
import pytest
import yaml

from k8stools import ROOT, Tools, by_kind, check_vigil_configs, container, literal_env, one

MANIFESTS = sorted((ROOT / "deploy" / "kubernetes").glob("*.yaml"))


@pytest.fixture(scope="module")
def tools():
    return Tools()


def load(path):
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def test_there_are_both_variants():
    assert {p.name for p in MANIFESTS} >= {"baked.yaml", "injected.yaml"}


@pytest.mark.parametrize("path", MANIFESTS, ids=[p.name for p in MANIFESTS])
def test_objects_are_valid(tools, path):
    objects = load(path)
    status, out = tools.validate(objects, source=path.name)
    assert status == 0, out
    assert check_vigil_configs(tools, objects) == 1


@pytest.mark.parametrize("path", MANIFESTS, ids=[p.name for p in MANIFESTS])
def test_secure_pod(tools, path):
    objects = load(path)
    deployment = one(objects, "Deployment")
    spec = deployment["spec"]["template"]["spec"]
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["runAsUser"] == 65532
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    volumes = {v["name"]: v for v in spec["volumes"]}
    for c in spec.get("initContainers", []) + spec["containers"]:
        sc = c["securityContext"]
        assert sc["runAsNonRoot"] is True and sc["runAsUser"] == 65532, c["name"]
        assert sc["allowPrivilegeEscalation"] is False, c["name"]
        assert sc["readOnlyRootFilesystem"] is True, c["name"]
        assert sc["capabilities"] == {"drop": ["ALL"]}, c["name"]
        assert sc["seccompProfile"] == {"type": "RuntimeDefault"}, c["name"]
        assert c["resources"]["requests"] and c["resources"]["limits"], c["name"]
        for m in c.get("volumeMounts", []):
            assert m["name"] in volumes, f"{c['name']} mounts unknown volume {m['name']}"
    app = container(spec, "app")
    mounts = {m["mountPath"]: m["name"] for m in app["volumeMounts"]}
    assert "emptyDir" in volumes[mounts["/run/vigil"]]
    grace = spec["terminationGracePeriodSeconds"]
    assert literal_env(app)["VIGIL_GRACE_PERIOD"] == f"{grace}s"
    config = [o for o in by_kind(objects, "ConfigMap") if "vigil.yaml" in o["data"]][0]
    health = yaml.safe_load(config["data"]["vigil.yaml"])["control"]["health_port"]
    assert app["startupProbe"]["grpc"] == {"port": health, "service": "liveness"}
    assert app["readinessProbe"]["grpc"] == {"port": health, "service": "readiness"}
    assert app["livenessProbe"]["grpc"] == {"port": health, "service": "liveness"}
    assert app["args"] == ["--config", "/etc/vigil/vigil.yaml"]
    bindir = app["command"][0].rsplit("/", 1)[0]
    assert app["command"] == [f"{bindir}/vigil"]
    assert app["lifecycle"]["preStop"]["exec"]["command"] == [f"{bindir}/vigilctl", "drain",
                                                              "--wait"]
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert one(objects, "Service")["spec"]["selector"] == selector
    assert one(objects, "PodDisruptionBudget")["spec"]["selector"]["matchLabels"] == selector


def test_baked_variant():
    app = container(one(load(ROOT / "deploy/kubernetes/baked.yaml"),
                        "Deployment")["spec"]["template"]["spec"], "app")
    assert app["image"].startswith("vigil-example-gunicorn:")
    assert app["command"] == ["/usr/bin/vigil"]


def test_injected_variant():
    objects = load(ROOT / "deploy/kubernetes/injected.yaml")
    spec = one(objects, "Deployment")["spec"]["template"]["spec"]
    inject = container(spec, "vigil-inject", init=True)
    assert inject["command"] == ["cp", "-a", "/opt/vigil/.", "/vigil-target/"]
    app = container(spec, "app")
    assert app["image"].startswith("python:")
    assert app["command"] == ["/opt/vigil/bin/vigil"]
    target = {m["mountPath"]: m["name"] for m in inject["volumeMounts"]}["/vigil-target"]
    bundle = {m["mountPath"]: m for m in app["volumeMounts"]}["/opt/vigil"]
    assert bundle["name"] == target and bundle["readOnly"] is True
    pools = yaml.safe_load(by_kind(objects, "ConfigMap")[0]["data"]["vigil.yaml"])["pools"]
    assert pools[0]["command"][:3] == ["/usr/local/bin/python3", "-m", "gunicorn"]

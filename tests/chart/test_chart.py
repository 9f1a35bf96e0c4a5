"""The Helm chart (helm/vigil), verified offline with the real helm (v3.17): `helm lint --strict`
and `helm template` over several value sets, every rendered object validated against the
Kubernetes and prometheus-operator schemas (unknown fields reported), `vigil --check` on every
rendered vigil.yaml with the container's environment, and the value sets that must not render.

    VIGIL_BIN=build/agent/vigil /usr/bin/python3 -m pytest tests/chart/test_chart.py
"""

import json
import re
import shutil

import pytest
import yaml

from k8stools import (CHART, ROOT, VALUES, Tools, by_kind, check_vigil_configs, container,
                      literal_env, one)

VALUE_SETS = ["defaults", "inject", "monitors", "full"]
CHART_META = yaml.safe_load((CHART / "Chart.yaml").read_text())
SECURE_CONTAINER = {
    "runAsNonRoot": True, "allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"},
}


@pytest.fixture(scope="module")
def tools():
    return Tools()


def render_set(tools, name, release="r"):
    return tools.render("-f", str(VALUES / f"{name}.yaml"), release=release)


def pod_spec(objects):
    return one(objects, "Deployment")["spec"]["template"]["spec"]


@pytest.mark.parametrize("name", VALUE_SETS)
def test_lint_strict(tools, name):
    done = tools.helm("lint", "--strict", str(CHART), "-f", str(VALUES / f"{name}.yaml"))
    assert "1 chart(s) linted, 0 chart(s) failed" in done.stdout


@pytest.mark.parametrize("name", VALUE_SETS)
def test_rendered_objects_are_valid(tools, name):
    objects = render_set(tools, name)
    status, out = tools.validate(objects, source=name)
    assert status == 0, out
    assert f"{len(objects)}/{len(objects)} valid" in out
    check_vigil_configs(tools, objects)


def test_validator_rejects_what_it_must(tools):
    """The validation above can fail: a misspelt field anywhere, a wrong type, an unknown kind."""
    objects = render_set(tools, "monitors")
    assert tools.validate(objects)[0] == 0
    cases = []
    bad = yaml.safe_load(yaml.safe_dump(objects))
    app = container(pod_spec(bad), "app")
    app["securityContext"]["readOnlyRootFileSystem"] = True
    cases.append((bad, "unknown field .spec.template.spec.containers[0].securityContext."
                       "readOnlyRootFileSystem"))
    bad = yaml.safe_load(yaml.safe_dump(objects))
    container(pod_spec(bad), "app")["startupProbe"]["grpc"]["servce"] = "liveness"
    cases.append((bad, "unknown field .spec.template.spec.containers[0].startupProbe.grpc.servce"))
    bad = yaml.safe_load(yaml.safe_dump(objects))
    container(pod_spec(bad), "app")["ports"][0]["containerPort"] = "9901"
    cases.append((bad, "containerPort must be integer"))
    bad = yaml.safe_load(yaml.safe_dump(objects))
    one(bad, "ServiceMonitor")["spec"]["endpoints"][0]["scrapeTimout"] = "5s"
    cases.append((bad, "unknown field .spec.endpoints[0].scrapeTimout"))
    bad = yaml.safe_load(yaml.safe_dump(objects))
    one(bad, "PrometheusRule")["spec"]["groups"][0]["rules"][0]["for_"] = "5m"
    cases.append((bad, "unknown field .spec.groups[0].rules[0].for_"))
    bad = yaml.safe_load(yaml.safe_dump(objects))
    one(bad, "PodDisruptionBudget")["apiVersion"] = "policy/v1beta2"
    cases.append((bad, "no schema for apiVersion policy/v1beta2"))
    for objects_, expected in cases:
        status, out = tools.validate(objects_)
        assert status == 1 and expected in out, f"expected {expected!r}:\n{out}"


def test_secure_defaults(tools):
    objects = render_set(tools, "defaults")
    spec = pod_spec(objects)
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["runAsUser"] == 65532
    assert spec["securityContext"]["runAsGroup"] == 65532
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert spec["automountServiceAccountToken"] is False
    app = container(spec, "app")
    for key, value in SECURE_CONTAINER.items():
        assert app["securityContext"][key] == value, key
    assert app["securityContext"]["runAsUser"] == 65532
    # The socket directory: an emptyDir, so it is writable with a read-only root and uid 65532.
    volumes = {v["name"]: v for v in spec["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in app["volumeMounts"]}
    assert "emptyDir" in volumes[mounts["/run/vigil"]]
    assert "emptyDir" in volumes[mounts["/tmp"]]
    # Baked mode: the Vigil image's binaries, pool mode from the ConfigMap.
    assert app["command"] == ["/usr/bin/vigil"]
    assert app["args"] == ["--config", "/etc/vigil/vigil.yaml"]
    assert app["lifecycle"]["preStop"]["exec"]["command"] == [
        "/usr/bin/vigilctl", "drain", "--wait"]
    assert app["image"] == f"vigil-example-gunicorn:{CHART_META['appVersion']}"
    assert "initContainers" not in spec
    assert app["resources"]["requests"] and app["resources"]["limits"]["memory"]
    # Vigil is told the grace period; vigilctl drain --wait bounds itself with it too.
    assert literal_env(app)["VIGIL_GRACE_PERIOD"] == f"{spec['terminationGracePeriodSeconds']}s"
    # gRPC probes on the health port, which is also control.health_port.
    health = one(objects, "ConfigMap")["data"]["vigil.yaml"]
    assert yaml.safe_load(health)["control"]["health_port"] == 9901
    assert app["startupProbe"]["grpc"] == {"port": 9901, "service": "liveness"}
    assert app["readinessProbe"]["grpc"] == {"port": 9901, "service": "readiness"}
    assert app["livenessProbe"]["grpc"] == {"port": 9901, "service": "liveness"}
    # Standard labels everywhere, the selector labels on the pods.
    for o in objects:
        labels = o["metadata"]["labels"]
        assert labels["helm.sh/chart"] == f"vigil-{CHART_META['version']}"
        assert labels["app.kubernetes.io/name"] == "vigil"
        assert labels["app.kubernetes.io/instance"] == "r"
        assert labels["app.kubernetes.io/managed-by"] == "Helm"
        assert labels["app.kubernetes.io/version"] == CHART_META["appVersion"]
    deployment = one(objects, "Deployment")
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert selector == {"app.kubernetes.io/name": "vigil", "app.kubernetes.io/instance": "r"}
    assert selector.items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
    for kind in ("PodDisruptionBudget",):
        assert one(objects, kind)["spec"]["selector"]["matchLabels"] == selector
    services = {s["metadata"]["name"]: s for s in by_kind(objects, "Service")}
    assert services["r-vigil"]["spec"]["selector"] == selector
    assert services["r-vigil"]["spec"]["ports"] == [
        {"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]
    assert services["r-vigil-metrics"]["spec"]["ports"][0]["targetPort"] == "metrics"
    assert one(objects, "PodDisruptionBudget")["spec"] == {
        "minAvailable": 1, "selector": {"matchLabels": selector}}
    assert CHART_META["kubeVersion"].startswith(">=1.27")


def test_inject_mode(tools):
    objects = render_set(tools, "inject")
    spec = pod_spec(objects)
    init = container(spec, "vigil-inject", init=True)
    assert init["image"] == "ghcr.io/example/vigil:0.1.0"
    assert init["command"] == ["cp", "-a", "/opt/vigil/.", "/vigil-target/"]
    for key, value in SECURE_CONTAINER.items():
        assert init["securityContext"][key] == value, key
    app = container(spec, "app")
    assert app["image"] == "docker.io/library/python:3.12-slim"
    assert app["command"] == ["/opt/vigil/bin/vigil"]
    assert app["args"] == ["--config", "/etc/vigil/vigil.yaml"]
    assert app["lifecycle"]["preStop"]["exec"]["command"] == [
        "/opt/vigil/bin/vigilctl", "drain", "--wait"]
    volumes = {v["name"]: v for v in spec["volumes"]}
    target = {m["mountPath"]: m for m in init["volumeMounts"]}["/vigil-target"]
    bundle = {m["mountPath"]: m for m in app["volumeMounts"]}["/opt/vigil"]
    assert target["name"] == bundle["name"] and "emptyDir" in volumes[bundle["name"]]
    assert bundle.get("readOnly") is True


def test_inject_mode_needs_the_application_image_tag(tools):
    done = tools.helm("template", "r", str(CHART), "--set", "mode=inject", check=False)
    assert done.returncode != 0
    assert "mode: inject runs your application's own image: set image.repository and " \
           "image.tag (or image.digest)" in done.stderr


def test_image_digest_and_tag(tools):
    digest = "sha256:" + "ab" * 32
    app = container(pod_spec(tools.render("--set", f"image.digest={digest}",
                                          "--set", "image.tag=9.9")), "app")
    assert app["image"] == f"vigil-example-gunicorn@{digest}"
    app = container(pod_spec(tools.render("--set", "image.tag=9.9")), "app")
    assert app["image"] == "vigil-example-gunicorn:9.9"


def test_every_value_reaches_the_objects(tools):
    values = yaml.safe_load((VALUES / "full.yaml").read_text())
    objects = render_set(tools, "full", release="shop")
    deployment = one(objects, "Deployment")
    assert deployment["metadata"]["name"] == "shop-frontend"
    assert deployment["spec"]["replicas"] == 5
    assert deployment["spec"]["strategy"] == values["strategy"]
    template = deployment["spec"]["template"]
    assert template["metadata"]["labels"]["team"] == "shop"
    assert template["metadata"]["labels"]["app.kubernetes.io/name"] == "web"
    assert template["metadata"]["annotations"]["example.com/owner"] == "shop"
    assert "prometheus.io/scrape" not in template["metadata"]["annotations"]
    spec = template["spec"]
    assert spec["serviceAccountName"] == "frontend"
    assert one(objects, "ServiceAccount")["metadata"]["name"] == "frontend"
    assert spec["automountServiceAccountToken"] is True
    assert spec["terminationGracePeriodSeconds"] == 90
    assert spec["imagePullSecrets"] == values["imagePullSecrets"]
    assert spec["priorityClassName"] == "high-priority"
    assert spec["securityContext"] == values["podSecurityContext"]
    assert spec["nodeSelector"] == values["nodeSelector"]
    assert spec["tolerations"] == values["tolerations"]
    assert spec["affinity"] == values["affinity"]
    # topologySpreadConstraints go through tpl.
    assert spec["topologySpreadConstraints"][0]["labelSelector"]["matchLabels"] == {
        "app.kubernetes.io/name": "web", "app.kubernetes.io/instance": "shop"}
    assert [c["name"] for c in spec["initContainers"]] == ["vigil-inject", "migrate"]
    assert [c["name"] for c in spec["containers"]] == ["app", "proxy"]
    init = container(spec, "vigil-inject", init=True)
    assert init["image"] == "registry.example.com/vigil@" + values["inject"]["image"]["digest"]
    assert init["resources"] == values["inject"]["resources"]
    app = container(spec, "app")
    assert app["image"] == "registry.example.com/shop/frontend@" + values["image"]["digest"]
    assert app["imagePullPolicy"] == "Always"
    assert app["securityContext"] == values["securityContext"]
    assert app["resources"] == values["resources"]
    assert app["envFrom"] == values["envFrom"]
    env = app["env"]
    assert env[0] == {"name": "VIGIL_GRACE_PERIOD", "value": "90s"}
    assert env[1] == {"name": "VIGIL_METRICS_ADDRESS", "value": "0.0.0.0:9100"}
    assert env[2:] == values["env"]
    assert {"name": "certs", "mountPath": "/etc/tls", "readOnly": True} in app["volumeMounts"]
    assert {"name": "certs", "secret": {"secretName": "frontend-tls"}} in spec["volumes"]
    assert {"name": "tmp", "emptyDir": values["tmpVolume"]["emptyDir"]} in spec["volumes"]
    ports = {p["name"]: p for p in app["ports"]}
    assert ports["health"]["containerPort"] == 9000
    assert ports["metrics"]["containerPort"] == 9100
    assert ports["statsd"]["protocol"] == "UDP"
    assert app["startupProbe"] == {"grpc": {"port": 9000, "service": "liveness"},
                                   "periodSeconds": 2, "failureThreshold": 60,
                                   "timeoutSeconds": 3}
    assert app["livenessProbe"]["initialDelaySeconds"] == 5
    assert app["readinessProbe"]["periodSeconds"] == 5
    config = yaml.safe_load(one(objects, "ConfigMap")["data"]["vigil.yaml"])
    assert config["control"] == {"health_port": 9000, "http_port": 9902, "http_drain": True}
    assert [p["name"] for p in config["pools"]] == ["web", "worker"]
    services = {s["metadata"]["name"]: s for s in by_kind(objects, "Service")}
    app_service = services["shop-frontend"]
    assert app_service["spec"]["type"] == "LoadBalancer"
    assert app_service["metadata"]["annotations"] == values["service"]["annotations"]
    assert [(p["name"], p["port"], p["protocol"]) for p in app_service["spec"]["ports"]] == [
        ("http", 80, "TCP"), ("grpc", 50051, "TCP"), ("statsd", 8125, "UDP")]
    # The ServiceMonitor needs the metrics Service even with metrics.service.enabled false.
    assert "shop-frontend-metrics" in services
    assert one(objects, "PodDisruptionBudget")["spec"]["maxUnavailable"] == "20%"
    assert "minAvailable" not in one(objects, "PodDisruptionBudget")["spec"]
    assert one(objects, "ServiceMonitor")["metadata"]["labels"]["team"] == "shop"
    assert one(objects, "ServiceMonitor")["spec"]["endpoints"][0]["interval"] == "1m"
    assert one(objects, "PrometheusRule")["metadata"]["labels"]["team"] == "shop"
    assert not by_kind(objects, "PodMonitor")


def test_monitors_select_what_serves_metrics(tools):
    objects = render_set(tools, "monitors")
    deployment = one(objects, "Deployment")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert "prometheus.io/scrape" not in deployment["spec"]["template"]["metadata"]["annotations"]
    metrics_service = [s for s in by_kind(objects, "Service")
                       if s["metadata"]["name"] == "r-vigil-metrics"][0]
    monitor = one(objects, "ServiceMonitor")
    assert monitor["metadata"]["labels"]["release"] == "prometheus"
    assert monitor["spec"]["selector"]["matchLabels"].items() <= \
        metrics_service["metadata"]["labels"].items()
    assert monitor["spec"]["endpoints"][0]["port"] == metrics_service["spec"]["ports"][0]["name"]
    assert metrics_service["spec"]["selector"].items() <= pod_labels.items()
    pod_monitor = one(objects, "PodMonitor")
    assert pod_monitor["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert pod_monitor["spec"]["podMetricsEndpoints"][0]["port"] == "metrics"
    assert pod_monitor["spec"]["podMetricsEndpoints"][0]["interval"] == "15s"
    assert "metrics" in {p["name"] for p in container(pod_spec(objects), "app")["ports"]}


def test_prometheus_rule_is_deploy_prometheus(tools):
    deploy_rules = ROOT / "deploy" / "prometheus" / "vigil-rules.yaml"
    assert (CHART / "files" / "vigil-rules.yaml").read_bytes() == deploy_rules.read_bytes(), \
        "helm/vigil/files/vigil-rules.yaml must be a copy of deploy/prometheus/vigil-rules.yaml"
    rule = one(render_set(tools, "monitors"), "PrometheusRule")
    assert rule["spec"]["groups"] == yaml.safe_load(deploy_rules.read_text())["groups"]


FAILING = [
    ("grace period too short",
     ["--set", "terminationGracePeriodSeconds=3"],
     "terminationGracePeriodSeconds (3s) must be longer than vigil.drain.safety_margin (3s) "
     "plus vigil.drain.min_delay (0s)"),
    ("grace period too short for a fixed delay",
     ["--set", "terminationGracePeriodSeconds=5", "--set-string", "vigil.drain.propagation_delay=2s"],
     "terminationGracePeriodSeconds (5s) must be longer than vigil.drain.safety_margin (3s) "
     "plus vigil.drain.propagation_delay (2s)"),
    ("unknown top-level key", ["--set", "replicas=3"],
     "Additional property replicas is not allowed"),
    ("unknown nested key", ["--set", "metrics.serviceMonitor.enable=true"],
     "metrics.serviceMonitor: Additional property enable is not allowed"),
    ("grace period owned by the chart", ["--set", "vigil.drain.grace_period=60s"],
     "vigil.drain: Additional property grace_period is not allowed"),
    ("wrong type", ["--set", "replicaCount=two"],
     "replicaCount: Invalid type. Expected: integer, given: string"),
    ("wrong type, boolean", ["--set-string", "podDisruptionBudget.enabled=yes"],
     "podDisruptionBudget.enabled: Invalid type. Expected: boolean, given: string"),
    ("unknown mode", ["--set", "mode=sidecar"], "mode: mode must be one of the following"),
    ("bad duration", ["--set", "vigil.drain.safety_margin=3 s"],
     "vigil.drain.safety_margin: Does not match pattern"),
    ("duration the schema lets through",
     ["--set", "vigil.drain.safety_margin=1m30"],
     "vigil.drain.safety_margin: invalid duration \"1m30\""),
    ("same port twice", ["--set", "metrics.port=9901"], "metrics.port must differ from healthPort"),
    ("Vigil variable the chart owns", ["--set", "env[0].name=VIGIL_DRAIN_PROPAGATION_DELAY",
                                       "--set", "env[0].value=1m"],
     "env: VIGIL_DRAIN_PROPAGATION_DELAY is set by the chart"),
    ("socket outside the emptyDir", ["--set", "vigil.control.socket=/var/run/vigil.sock"],
     "vigil.control: Additional property socket is not allowed"),
    ("both PDB bounds", ["--set", "podDisruptionBudget.minAvailable=1",
                         "--set", "podDisruptionBudget.maxUnavailable=1"],
     "podDisruptionBudget: set minAvailable or maxUnavailable, not both"),
]


@pytest.mark.parametrize("args,expected", [c[1:] for c in FAILING], ids=[c[0] for c in FAILING])
def test_values_that_must_not_render(tools, args, expected):
    done = tools.helm("template", "r", str(CHART), *args, check=False)
    assert done.returncode != 0, f"rendered with {args}"
    assert expected in done.stderr, done.stderr
    if "Additional property" in expected or "Invalid type" in expected:
        # helm lint reports schema errors as errors (template `fail`s it only logs).
        lint = tools.helm("lint", "--strict", str(CHART), *args, check=False)
        assert lint.returncode != 0 and expected in lint.stdout + lint.stderr


# Around the boundary of Vigil's rule, in every unit: the chart and `vigil --check` must agree.
GRACE_CASES = [
    (5, "3s", "2s"), (6, "3s", "2s"), (6, "3s", "2999ms"), (6, "3s", "3s"),
    (4, "3.5s", "500ms"), (4, "3.5s", "499999us"), (4, "3.5s", "499999999ns"),
    (61, "1m", "1s"), (62, "1m", "1s"), (2, "1.5", ".5"), (3, "1500ms", "1.5"),
    (3, "1500ms", "1.4s"), (1, "1s", "0s"), (2, "1s", "0s"), (3601, "1h", "0.5s"),
    (3600, "59m59s", "1s"), (3600, "59m58s", "1s"), (3, "3s", "auto"), (4, "3s", "auto"),
    (4, "3.5s", "auto"),
]


@pytest.mark.parametrize("grace,safety,propagation", GRACE_CASES)
def test_grace_period_rule_is_vigils(tools, grace, safety, propagation):
    args = ["--set", f"terminationGracePeriodSeconds={grace}",
            "--set-string", f"vigil.drain.safety_margin={safety}",
            "--set-string", f"vigil.drain.propagation_delay={propagation}"]
    done = tools.helm("template", "r", str(CHART), *args, check=False)
    config = {"drain": {"safety_margin": safety, "propagation_delay": propagation},
              "pools": [{"name": "web", "command": ["/bin/true"]}]}
    status, out = tools.vigil_check(yaml.safe_dump(config), {"VIGIL_GRACE_PERIOD": f"{grace}s"})
    assert status in (0, 2), out
    if status == 0:
        assert done.returncode == 0, f"Vigil accepts it, the chart refuses:\n{done.stderr}"
        objects = [d for d in yaml.safe_load_all(done.stdout) if d]
        check_vigil_configs(tools, objects)
    else:
        assert "must be longer than drain.safety_margin" in out
        assert done.returncode != 0, f"Vigil refuses it ({out.strip()}), the chart renders it"
        assert "must be longer than vigil.drain.safety_margin" in done.stderr


def test_grace_cases_cover_both_verdicts(tools):
    """The boundary cases above are not all on one side (a test that cannot fail)."""
    verdicts = set()
    for grace, safety, propagation in GRACE_CASES:
        config = {"drain": {"safety_margin": safety, "propagation_delay": propagation},
                  "pools": [{"name": "web", "command": ["/bin/true"]}]}
        verdicts.add(tools.vigil_check(yaml.safe_dump(config),
                                       {"VIGIL_GRACE_PERIOD": f"{grace}s"})[0])
    assert verdicts == {0, 2}


def test_notes_render(tools, tmp_path):
    """NOTES.txt, rendered through tpl in a copy of the chart (`helm install --dry-run=client`
    asks a cluster for its version; `helm template` skips NOTES.txt; `helm lint` only parses)."""
    chart = tmp_path / "vigil"
    shutil.copytree(CHART, chart)
    shutil.copy(chart / "templates" / "NOTES.txt", chart / "files" / "notes.tpl")
    (chart / "templates" / "notes-test.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: notes}\n"
        "data: {notes: {{ tpl (.Files.Get \"files/notes.tpl\") . | toJson }}}\n")
    done = tools.helm("template", "r", str(chart), "-f", str(VALUES / "inject.yaml"),
                      "--show-only", "templates/notes-test.yaml")
    notes = yaml.safe_load(done.stdout)["data"]["notes"]
    assert "r-vigil: 2 pod(s) running docker.io/library/python:3.12-slim under Vigil injected " \
           "from ghcr.io/example/vigil:0.1.0 (/opt/vigil)." in notes, notes
    assert "web: 2 x python -m gunicorn" in notes, notes
    assert "exec deploy/r-vigil -c app -- /opt/vigil/bin/vigilctl status" in notes, notes
    assert "Service: r-vigil.default.svc http:80" in notes, notes


def documented_values():
    """The value paths in the first column of helm/vigil/README.md's values table: `a.b`,
    `a.b`, `.c` (a sibling of a.b), `x`, `y`."""
    names = set()
    for line in (CHART / "README.md").read_text().splitlines():
        if not line.startswith("| `"):
            continue
        last = None
        for name in re.findall(r"`([^`]+)`", line.split("|")[1]):
            if name.startswith(".") and last:
                name = last.rsplit(".", 1)[0] + name
            names.add(name)
            last = name
    return names


def value_paths(values, prefix=""):
    for key, value in values.items():
        path = prefix + key
        yield path
        if isinstance(value, dict) and value and path not in ("vigil",):
            yield from value_paths(value, path + ".")


def test_readme_documents_every_value():
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    paths = set(value_paths(values))
    documented = documented_values()
    assert documented <= paths, f"README documents values that do not exist: {documented - paths}"
    leaves = {p for p in paths if not any(q.startswith(p + ".") for q in paths)}
    undocumented = {p for p in leaves
                    if not any(p == d or p.startswith(d + ".") for d in documented)}
    assert not undocumented, f"values missing from helm/vigil/README.md: {sorted(undocumented)}"
    schema = json.loads((CHART / "values.schema.json").read_text())
    assert set(values) <= set(schema["properties"])
    assert schema["additionalProperties"] is False


def test_schema_is_generated():
    import gen_schema
    assert (CHART / "values.schema.json").read_text() == gen_schema.text, \
        "helm/vigil/values.schema.json differs from tests/chart/gen_schema.py: run it with --write"


def test_kube_version_floor(tools):
    """gRPC probes are GA from 1.27: older clusters are refused, 1.27 (and a vendor's 1.27) is not."""
    done = tools.helm("template", "r", str(CHART), "--kube-version", "1.26.9", check=False)
    assert done.returncode != 0
    assert "chart requires kubeVersion: >=1.27.0-0 which is incompatible with Kubernetes v1.26.9" \
        in done.stderr, done.stderr
    for version in ("1.27.0", "1.27.3-eks-1234", "1.31.0"):
        tools.helm("template", "r", str(CHART), "--kube-version", version)

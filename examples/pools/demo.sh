#!/usr/bin/env bash
# Runs the example pool (examples/pools/vigil.yaml) under Vigil as PID 1 of a new PID namespace,
# waits until every worker is ready, then stops it the way the kubelet does (SIGTERM).
set -euo pipefail
vigil=${1:?usage: demo.sh PATH_TO_VIGIL}
repo=$(cd "$(dirname "$0")/../.." && pwd)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cd "$repo"

echo "demo: unshare --pid --fork --mount-proc $vigil --config examples/pools/vigil.yaml"
unshare --pid --fork --mount-proc "$vigil" --config examples/pools/vigil.yaml >"$log" 2>&1 &
unshare_pid=$!

# Wait (at most 20 s) for the three workers to be ready.
for _ in $(seq 200); do
  [ "$(grep -c 'worker ready' "$log" || true)" -ge 3 ] && break
  kill -0 "$unshare_pid" 2>/dev/null || break
  sleep 0.1
done
vigil_pid=$(cat /proc/$unshare_pid/task/*/children 2>/dev/null | tr -d ' ' || true)
if [ -z "$vigil_pid" ] || ! grep -q 'agent ready' "$log"; then
  cat "$log"; echo "demo: the pool did not become ready" >&2; exit 1
fi
echo "demo: the pool is ready; workers under vigil (pid $vigil_pid outside the namespace):"
ps -o pid=,pgid=,args= --ppid "$vigil_pid" | sed 's/^/demo:   /'
echo "demo: kill -TERM $vigil_pid   (what the kubelet does at pod deletion)"
kill -TERM "$vigil_pid"
status=0
wait "$unshare_pid" || status=$?
cat "$log"
echo "demo: vigil exited with status $status"

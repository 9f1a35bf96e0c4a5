#!/usr/bin/env bash
# Runs examples/single/app.sh under Vigil as PID 1 in a new PID namespace, waits until the app
# is ready and its orphans are gone, then sends SIGTERM the way `docker stop` does.
set -euo pipefail
vigil=${1:?usage: demo.sh PATH_TO_VIGIL}
here=$(cd "$(dirname "$0")" && pwd)
log=$(mktemp)
trap 'rm -f "$log"' EXIT

echo "demo: unshare --pid --fork --mount-proc $vigil --log-level info -- $here/app.sh"
unshare --pid --fork --mount-proc "$vigil" --log-level info -- "$here/app.sh" >"$log" 2>&1 &
unshare_pid=$!

# Vigil is the child of unshare; the app prints "ready" once it is up.
for _ in $(seq 100); do
  vigil_pid=$(cat /proc/$unshare_pid/task/*/children 2>/dev/null | tr -d ' ' || true)
  [ -n "$vigil_pid" ] && grep -q 'app: ready' "$log" && break
  sleep 0.1
done
[ -n "${vigil_pid:-}" ] || { cat "$log"; echo "demo: vigil did not start" >&2; exit 1; }

# Wait until the orphans (0.2 s sleeps) have exited and been reaped: no zombie may remain.
for _ in $(seq 50); do
  zombies=$(ps -o stat= --ppid "$vigil_pid" | grep -c '^Z' || true)
  orphans=$(ps -o comm= --ppid "$vigil_pid" | grep -c '^sleep$' || true)
  [ "$orphans" -eq 0 ] && break
  sleep 0.1
done
echo "demo: processes under vigil: $(ps -o pid=,stat=,comm= --ppid "$vigil_pid" | tr '\n' ';')"
echo "demo: zombies left: ${zombies:-0}"

echo "demo: kill -TERM $vigil_pid   (what docker stop / the kubelet does)"
kill -TERM "$vigil_pid"
status=0
wait "$unshare_pid" || status=$?
cat "$log"
echo "demo: vigil exited with status $status"

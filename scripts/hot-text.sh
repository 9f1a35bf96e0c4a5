#!/bin/sh
# hot-text.sh [BUILD_DIR]: regenerates agent/hot_text.ld, the order of the core's hot code.
#
# Links the core of BUILD_DIR (a Release build, as the image and bench/run use; default
# bench/.build/vigil) with a map, runs it under callgrind in single-command mode (a plain run,
# one that forwards a signal and exits with a code, the tini command line), and lists the input
# sections of the functions those runs executed (scripts/hot-text.py); then, if bpftrace is
# installed, pool mode's code after it (uprobes: valgrind 3.19 has no pidfd_open). Rerun it
# when either path or the toolchain changes; an outdated list costs start-up time and RSS,
# never correctness (docs/performance.md). Needs valgrind (apt-get install valgrind), and
# bpftrace for pool mode.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/bench/.build/vigil}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --build "$build" --target vigil >/dev/null
# The spawn compiled for valgrind (clone without CLONE_FILES: linux_spawn.cc), in a copy of its
# library; the same functions, so the same section names as the core that ships.
spawn_cmd=$(/usr/bin/python3 -c 'import json,sys
for e in json.load(open(sys.argv[1])):
    if e["file"].endswith("agent/sys/linux_spawn.cc"): print(e["command"]); break' \
  "$build/compile_commands.json")
(cd "$build/agent" && $(echo "$spawn_cmd" | sed -e "s| -o [^ ]* | -DVIGIL_SPAWN_FOR_VALGRIND -o $tmp/linux_spawn.cc.o |"))
cp "$build/agent/libvigil_core.a" "$tmp/libvigil_core.a"
(cd "$tmp" && ar r libvigil_core.a linux_spawn.cc.o)
# The link command of the core, with a map, without the current order, with that library.
link=$(sed -e "s| -o vigil | -o $tmp/vigil -Wl,-Map=$tmp/vigil.map |" \
  -e 's| -Wl,-T,[^ ]*hot_text.ld||' -e "s| libvigil_core.a | $tmp/libvigil_core.a |" \
  "$build/agent/CMakeFiles/vigil.dir/link.txt")
(cd "$build/agent" && $link)
cg() {
  n=$1
  shift
  valgrind -q --tool=callgrind --demangle=no --callgrind-out-file="$tmp/cg.$n" "$@" \
    >/dev/null 2>&1 || true
}
cg 1 "$tmp/vigil" -- /bin/true
cg 2 "$tmp/vigil" -- /bin/sh -c 'kill -TERM $PPID; sleep 0.2; exit 3'
cg 3 "$tmp/vigil" --compat tini -- /bin/true
# Pool mode, with bpftrace if installed (Debian 12's valgrind has no pidfd_open): a uprobe on
# every function of a copy of the core but the C library's string functions (attaching
# thousands takes minutes; with uprobes on those, a pool refused to start), then
# pools of 100 started, asked for their status and metrics, drained. A pool's log is shown if
# it did not exit 0.
pool=""
if command -v bpftrace >/dev/null 2>&1; then
  mkdir "$tmp/pool"
  cp "$build/agent/vigil" "$tmp/pool/vigil"
  ln -s "$build/agent/vigil-control" "$tmp/pool/vigil-control"
  /usr/bin/python3 - "$tmp/pool/vigil" >"$tmp/probes.bt" <<'PY'
import re, subprocess, sys
binary = sys.argv[1]
# The C library's string functions (their vectorised variants) misbehaved under uprobes.
string = re.compile(r"avx|evex|sse|erms|^_*(mem|str|stp|wmem|wcs|rawmem)")
nm = subprocess.run(["nm", "-S", "--defined-only", binary], capture_output=True, text=True,
                    check=True).stdout
names = sorted({p[3] for p in (l.split() for l in nm.splitlines())
                if len(p) == 4 and p[2] in "tTwW" and int(p[1], 16) > 0
                and not p[3].startswith(".") and not string.search(p[3])})
print('BEGIN { printf("attached\\n"); }')
print(",\n".join(f"uprobe:{binary}:{n}" for n in names) + " { @[probe] = count(); }")
print("interval:s:2 { print(@); }")
PY
  BPFTRACE_MAX_BPF_PROGS=20000 BPFTRACE_MAX_PROBES=20000 bpftrace "$tmp/probes.bt" \
    >"$tmp/bpf.out" 2>"$tmp/bpf.err" &
  bpf=$!
  until grep -q attached "$tmp/bpf.out" 2>/dev/null; do
    kill -0 $bpf 2>/dev/null || { cat "$tmp/bpf.err" >&2; exit 1; }
    sleep 2
  done
  port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  # Each worker says READY=1 and pings; worker 0 waits for the pool, asks for its status (text
  # and JSON) and metrics, and has the agent (PID 1 in its namespace) drain.
  cat >"$tmp/pool/worker.py" <<'PY'
import os, signal, socket, subprocess, sys, time, urllib.request
ctl, port = sys.argv[1].split(), sys.argv[2]
addr = os.environ.get("NOTIFY_SOCKET")
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
def tell(message):
    if addr:
        sock.sendto(message, addr)
tell(b"READY=1")
if os.environ["VIGIL_WORKER"] == "0":
    for args in (["wait-ready", "--timeout", "60s"], ["status"], ["status", "--json"]):
        subprocess.run(ctl + args, stdout=subprocess.DEVNULL, check=True)
    urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read()
    os.kill(1, signal.SIGTERM)
while True:
    tell(b"WATCHDOG=1")
    time.sleep(0.5)
PY
  # Twice: workers ready at once (bench/run's idle scenario), then by sd_notify with a watchdog.
  for readiness in "" "--readiness notify --watchdog 5s"; do
    # shellcheck disable=SC2086 # $readiness: its words are flags
    unshare --pid --fork --mount-proc "$tmp/pool/vigil" --replicas 100 $readiness \
      --socket "$tmp/pool/control.sock" --metrics-address "127.0.0.1:$port" -- \
      /usr/bin/python3 "$tmp/pool/worker.py" \
      "$build/agent/vigilctl --socket $tmp/pool/control.sock" "$port" \
      >"$tmp/pool/log" 2>&1 || { cat "$tmp/pool/log" >&2; kill -9 $bpf; exit 1; }
  done
  lines=$(wc -l <"$tmp/bpf.out")
  while [ "$(wc -l <"$tmp/bpf.out")" = "$lines" ]; do sleep 1; done  # one more print
  sleep 1
  kill -9 $bpf
  # The last print: every function hit at least once.
  awk '/^@\[/ {last[$1] = $0} END {for (k in last) print last[k]}' "$tmp/bpf.out" >"$tmp/pool.bt"
  pool="--then $tmp/pool.bt"
fi
/usr/bin/python3 "$root/scripts/hot-text.py" "$tmp/vigil.map" "$tmp/vigil" "$tmp"/cg.* $pool \
  >"$tmp/hot.ld"
mv "$tmp/hot.ld" "$root/agent/hot_text.ld"
echo "hot-text: wrote agent/hot_text.ld ($(grep -c '(' "$root/agent/hot_text.ld") input sections)"

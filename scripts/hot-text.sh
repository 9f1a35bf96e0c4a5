#!/bin/sh
# hot-text.sh [BUILD_DIR]: regenerates agent/hot_text.ld, the order of the core's start-up code.
#
# Links the core of BUILD_DIR (a Release build, as the image and bench/run use; default
# bench/.build/vigil) with a map, runs it under callgrind in single-command mode (a plain run,
# one that forwards a signal and exits with a code, the tini command line), and lists the input
# sections of the functions those runs executed (scripts/hot-text.py). Pool mode cannot be
# profiled so: Debian 12's valgrind (3.19) has no pidfd_open. Rerun it when the
# single-command path or the toolchain changes; an outdated list costs start-up time and RSS,
# never correctness (docs/performance.md). Needs valgrind (apt-get install valgrind).
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
/usr/bin/python3 "$root/scripts/hot-text.py" "$tmp/vigil.map" "$tmp/vigil" "$tmp"/cg.* >"$tmp/hot.ld"
mv "$tmp/hot.ld" "$root/agent/hot_text.ld"
echo "hot-text: wrote agent/hot_text.ld ($(grep -c '(' "$root/agent/hot_text.ld") input sections)"

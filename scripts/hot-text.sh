#!/bin/sh
# hot-text.sh [BUILD_DIR]: regenerates agent/hot_text.ld, the order of the core's start-up code.
#
# Links the core of BUILD_DIR (a Release build, as the image and bench/run use; default
# bench/.build/vigil) with a map, runs it under callgrind in single-command mode (a plain run,
# one that forwards a signal and exits with a code, the tini command line), and lists the input
# sections of the functions those runs executed (scripts/hot-text.py). Rerun it when the
# single-command path or the toolchain changes; an outdated list costs start-up time and RSS,
# never correctness (docs/performance.md). Needs valgrind (apt-get install valgrind).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/bench/.build/vigil}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --build "$build" --target vigil >/dev/null
# The link command of the core, with a map and without the current order.
link=$(sed -e "s| -o vigil | -o $tmp/vigil -Wl,-Map=$tmp/vigil.map |" \
  -e 's| -Wl,-T,[^ ]*hot_text.ld||' "$build/agent/CMakeFiles/vigil.dir/link.txt")
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

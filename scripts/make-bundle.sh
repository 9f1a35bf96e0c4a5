#!/usr/bin/env bash
# make-bundle.sh [--prefix DIR] [--no-strip] OUT_DIR [BUILD_DIR]: a self-contained Vigil
# directory.
#
# Makes OUT_DIR/bin/{vigil,vigil-control,vigilctl} and OUT_DIR/lib/ that run in a root
# filesystem holding nothing else (no libc, no loader), once the directory sits at DIR
# (default /opt/vigil). docs/bundle.md tells how it is used (COPY, or injected by an init
# container into an emptyDir).
#   - vigil, the core, is static-pie: copied as it is (checked with check-static-core.sh).
#   - vigil-control and vigilctl link gRPC, protobuf and glibc dynamically (Debian ships no
#     static gRPC): every library ldd lists, and the loader, are copied into lib/; each binary's
#     interpreter becomes DIR/lib/<loader> (PT_INTERP must be an absolute path: hence the fixed
#     home), and every object's rpath becomes DIR/lib, as DT_RPATH, which the loader searches
#     before LD_LIBRARY_PATH: an application's LD_LIBRARY_PATH cannot swap a library of Vigil's
#     for its own. Not $ORIGIN: the loader finds a program's $ORIGIN through /proc/self/exe,
#     which a chroot or a container without /proc lacks, and the home is fixed anyway.
# BUILD_DIR (default: build) is a CMake build directory with the three targets built. Their
# debug information is stripped (strip --strip-debug: symbols stay, for backtraces) unless
# --no-strip: a RelWithDebInfo build is 70 MB of it.
# Needs patchelf (Debian package patchelf; scripts/install-deps.sh installs it).
set -euo pipefail

usage() {
  echo "usage: make-bundle.sh [--prefix DIR] [--no-strip] OUT_DIR [BUILD_DIR]" >&2
  exit 2
}

prefix=/opt/vigil
strip=1
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) [ $# -ge 2 ] || usage; prefix=$2; shift 2 ;;
    --prefix=*) prefix=${1#--prefix=}; shift ;;
    --no-strip) strip=0; shift ;;
    -h|--help) usage ;;
    -*) echo "make-bundle: unknown option $1" >&2; usage ;;
    *) args+=("$1"); shift ;;
  esac
done
[ ${#args[@]} -ge 1 ] && [ ${#args[@]} -le 2 ] || usage
out=${args[0]}
build=${args[1]:-build}
case "$prefix" in
  /*) ;;
  *) echo "make-bundle: --prefix must be an absolute path (it becomes the loader's path)" >&2
     exit 2 ;;
esac
prefix=${prefix%/}

here=$(cd "$(dirname "$0")" && pwd)
command -v patchelf >/dev/null || {
  echo "make-bundle: patchelf not found (apt-get install patchelf)" >&2
  exit 1
}
for b in vigil vigil-control vigilctl; do
  [ -x "$build/agent/$b" ] || {
    echo "make-bundle: $build/agent/$b not built (cmake --build $build --target vigil vigil-control vigilctl)" >&2
    exit 1
  }
done
"$here/check-static-core.sh" "$build/agent/vigil"

rm -rf "$out"
mkdir -p "$out/bin" "$out/lib"
install -m 0755 "$build/agent/vigil" "$out/bin/vigil"
# Under these names vigil is a drop-in for those tools (docs/compat.md).
ln -s vigil "$out/bin/tini"
ln -s vigil "$out/bin/dumb-init"

# The loader all dynamic binaries name (one glibc: they all name the same).
interp=""
for b in vigil-control vigilctl; do
  install -m 0755 "$build/agent/$b" "$out/bin/$b"
  i=$(patchelf --print-interpreter "$out/bin/$b")
  if [ -n "$interp" ] && [ "$i" != "$interp" ]; then
    echo "make-bundle: $b wants loader $i, another binary $interp" >&2
    exit 1
  fi
  interp=$i
  # Every library ldd resolves ("name => /path (addr)"); the vdso has no file.
  while read -r name path; do
    [ -n "$path" ] || { echo "make-bundle: $b: library $name not found" >&2; exit 1; }
    [ -e "$out/lib/$name" ] || install -m 0644 "$(readlink -f "$path")" "$out/lib/$name"
  done < <(ldd "$build/agent/$b" | awk '
      /=> not found/ { print $1, ""; next }
      /=>/ && $3 ~ /^\// { print $1, $3 }')
done
loader=$(basename "$interp")
if [ "$strip" = 1 ]; then
  strip --strip-debug "$out/bin/vigil" "$out/bin/vigil-control" "$out/bin/vigilctl"
fi
install -m 0755 "$(readlink -f "$interp")" "$out/lib/$loader"

for b in vigil-control vigilctl; do
  patchelf --set-interpreter "$prefix/lib/$loader" --force-rpath --set-rpath "$prefix/lib" \
    "$out/bin/$b"
done
for lib in "$out"/lib/*; do
  [ "$(basename "$lib")" = "$loader" ] && continue
  patchelf --force-rpath --set-rpath "$prefix/lib" "$lib"
done

# Nothing outside the bundle may be needed: every DT_NEEDED of every object is in lib/.
for f in "$out"/bin/vigil-control "$out"/bin/vigilctl "$out"/lib/*; do
  for need in $(patchelf --print-needed "$f" 2>/dev/null); do
    [ -e "$out/lib/$need" ] || {
      echo "make-bundle: $(basename "$f") needs $need, which is not in the bundle" >&2
      exit 1
    }
  done
done
echo "make-bundle: $out (for $prefix): $(ls "$out/lib" | wc -l) libraries, $(du -sh "$out" | cut -f1)"

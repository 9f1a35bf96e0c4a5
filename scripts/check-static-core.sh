#!/bin/sh
# check-static-core.sh VIGIL: fails unless VIGIL (the core) is a self-contained static-pie.
#
# The core must run in an image with no libc and no loader (docs/bundle.md): so no
# PT_INTERP and no DT_NEEDED; it must keep ASLR: so ELF type DYN (a PIE), not EXEC; and static
# glibc must not have pulled in NSS, which would load shared objects at run time (getpwnam and
# friends go through it: Vigil reads /etc/passwd itself, agent/sys/user_db.h). Run after each
# link of `vigil` (CMake POST_BUILD) and by the CTest test packaging.static_core.
set -eu
bin=${1:?usage: check-static-core.sh VIGIL}
fail() { echo "check-static-core: $bin: $*" >&2; exit 1; }

[ -f "$bin" ] || fail "no such file"
type=$(readelf -h "$bin" | sed -n 's/^ *Type: *\([A-Z]*\).*/\1/p')
[ "$type" = DYN ] || fail "ELF type is '$type', not DYN: not a position-independent (static-pie) binary, so no ASLR"
if readelf -lW "$bin" | grep -q '^ *INTERP'; then
  fail "has a PT_INTERP (a dynamic loader): it is not statically linked"
fi
needed=$(readelf -dW "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
[ -z "$needed" ] || fail "needs shared libraries: $needed"
# NSS: every lookup through it would need the shared NSS modules of the very glibc version the
# core was linked with, which the image does not have. (The link itself runs with
# --fatal-warnings, so a direct call of getpwnam, getaddrinfo, dlopen and the like already fails
# it with glibc's "Using '...' in statically linked applications" warning.) Not refused here:
# libc's own gettext/iconv path (dcigettext, iconv_open via libstdc++'s locale code, and the
# __libc_dlopen_mode it would use for gconv modules): it only loads anything after setlocale()
# selects a non-C locale, which Vigil never calls; in an image without the modules it falls
# back to untranslated text.
bad=$(nm "$bin" 2>/dev/null | awk '{print $NF}' | grep -E \
  '^(getpw(nam|uid|ent)(_r)?|getgr(nam|gid|ent)(_r)?|getgrouplist|initgroups|getspnam(_r)?|__nss_[A-Za-z_0-9]*|_nss_[A-Za-z_0-9]*|getaddrinfo|gethostby[a-z_0-9]*|getservby[a-z_0-9]*)$' \
  | sort -u | head -n 12 | tr '\n' ' ')
[ -z "$bad" ] || fail "pulls in NSS (it would load shared NSS modules at run time): $bad"
exit 0

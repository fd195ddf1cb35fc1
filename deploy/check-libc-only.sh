#!/usr/bin/env bash
# Proves the release binary needs only what ldd names for it (glibc, libm): it runs a full session
# (ping, info, osinfo, file write/read/close, exec of /bin/true, SIGTERM) in a private mount namespace
# where every libssl/libcrypto on the loader's path is replaced by /dev/null, and its /proc/PID/maps
# must show no shared object beyond ldd's list. .NET loads OpenSSL with dlopen, which ldd,
# dpkg-shlibdeps and rpm cannot see, so a guest image built from ldd's list would crash-loop.
# Usage: deploy/check-libc-only.sh PATH/TO/Agent.Host     (root, or unprivileged user namespaces)
# Last line: "libc-only: ok" or "libc-only: FAILED (...)"; exit status 0 only on ok.
set -uo pipefail
binary=$(realpath "$1")
here=$(dirname "$(realpath "$0")")

if [ "${LIBC_ONLY_INSIDE:-}" != 1 ]; then
  # Re-enter in a new mount namespace (a user namespace too when not root): the bind mounts below
  # vanish with it and never touch the machine's own view of /usr/lib.
  if [ "$(id -u)" = 0 ]; then ns=(unshare -m --propagation private); else ns=(unshare -r -m --propagation private); fi
  exec env LIBC_ONLY_INSIDE=1 "${ns[@]}" "$0" "$binary"
fi

fail() { echo "libc-only: FAILED ($*)"; exit 1; }

# Hide every OpenSSL the loader could find (the names .NET's shim tries, and whatever ldconfig knows).
hidden=0
for lib in $(ldconfig -p | awk '/lib(ssl|crypto)\.so/ {print $NF}' | xargs -r realpath | sort -u) \
           $(ls /usr/lib/*/libssl.so* /usr/lib/*/libcrypto.so* /lib/*/libssl.so* /lib/*/libcrypto.so* 2>/dev/null); do
  [ -f "$lib" ] || continue
  mount --bind /dev/null "$lib" || fail "cannot hide $lib"
  hidden=$((hidden + 1))
done
# Control: the hiding must work, or the check below proves nothing.
if python3 -c 'import ctypes, sys
for n in ("libssl.so.3", "libssl.so", "libcrypto.so.3", "libssl.so.1.1"):
    try: ctypes.CDLL(n); sys.exit(1)
    except OSError: pass' ; then :; else fail "libssl still loads inside the namespace"; fi
echo "libc-only: hid $hidden OpenSSL files"

allowed=$(ldd "$binary" | awk '{for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i}' | xargs -r realpath | sort -u)
echo "libc-only: ldd names: $(echo $allowed)"

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
(cd "$dir" && exec "$binary" -m unix-listen -p "$dir/sock" -t "$dir" 2>"$dir/stderr") &
pid=$!
python3 "$here/libc_only_session.py" "$dir/sock" "$dir" "$pid" "$allowed" >"$dir/session.log" 2>&1
session_rc=$?
cat "$dir/session.log"
kill -TERM "$pid" 2>/dev/null
wait "$pid"; rc=$?
if [ -s "$dir/stderr" ]; then echo "agent stderr:"; head -20 "$dir/stderr"; fi
[ "$session_rc" = 0 ] || fail "session"
[ "$rc" = 0 ] || fail "exit status $rc after SIGTERM"
echo "libc-only: ok"

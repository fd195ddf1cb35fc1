#!/usr/bin/env bash
# Builds the Debian package from the NativeAOT binary with dpkg-deb (see deploy/README.md):
#
#   deploy/deb/build.sh [BINARY]   # → out/actoragent_<version>_<arch>.deb
#
# BINARY: a NativeAOT Agent.Host published elsewhere (e.g. by test.sh), used as it is. Without it the
# binary is out/aot/Agent.Host, reused when it is newer than every source file, else published there
# (`dotnet publish Agent.Host -c Release -p:PublishAot=true -o out/aot`, needs gcc and zlib1g-dev).
# The architecture is the binary's: amd64, or arm64 from a cross publish (see deploy/README.md), whose
# --help runs under qemu-user with the cross libc. The version is the top entry of
# deploy/deb/changelog. Needs dpkg-dev (dpkg-shlibdeps).
# Prints the path of the package on its last line.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
here="$root/deploy/deb"
cd "$root"

version=$(dpkg-parsechangelog -l "$here/changelog" -S Version)
maintainer=$(dpkg-parsechangelog -l "$here/changelog" -S Maintainer)
stamp=$(dpkg-parsechangelog -l "$here/changelog" -S Timestamp)
binary=${1:-out/aot/Agent.Host}
[ -n "${1:-}" ] && { [ -x "$binary" ] || { echo "deb: $binary is not an executable" >&2; exit 1; }; }
binary=$(realpath -m "$binary")

newer_source=
if [ -n "${1:-}" ]; then
  :
elif [ -x "$binary" ]; then
  newer_source=$(find Agent.Protocol Agent.Actors Agent.Host hocon Directory.Build.props Directory.Packages.props \
    \( -name bin -o -name obj \) -prune -o -type f -newer "$binary" -print -quit)
fi
if [ -z "${1:-}" ] && { [ ! -x "$binary" ] || [ -n "$newer_source" ]; }; then
  echo "deb: publishing the NativeAOT binary into out/aot${newer_source:+ ($newer_source is newer)}" >&2
  DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 \
    dotnet publish Agent.Host -c Release -p:PublishAot=true -o out/aot >&2
fi

# The package's architecture is the binary's (a cross-published arm64 binary makes an arm64 package).
case "$(LC_ALL=C readelf -h "$binary" | sed -n 's/^ *Machine: *//p')" in
  *X86-64*) arch=amd64; emulator=() ;;
  AArch64) arch=arm64; emulator=(qemu-aarch64 -L /usr/aarch64-linux-gnu) ;;
  *) echo "deb: $binary is neither x86-64 nor AArch64" >&2; exit 1 ;;
esac
[ "$arch" = "$(dpkg --print-architecture)" ] && emulator=()

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pkg="$work/actoragent"
doc="$pkg/usr/share/doc/actoragent"
install -d -m 0755 "$pkg/DEBIAN" "$pkg/usr/sbin" "$pkg/usr/libexec/actoragent" "$doc" \
  "$pkg/usr/share/man/man8" "$pkg/lib/systemd/system" "$pkg/lib/udev/rules.d" \
  "$pkg/etc/actoragent/hook.d" "$pkg/etc/default" "$pkg/usr/share/lintian/overrides"

install -m 0755 "$binary" "$pkg/usr/sbin/actoragent"
install -m 0755 deploy/actoragent-start "$pkg/usr/libexec/actoragent/actoragent-start"
install -m 0644 deploy/actoragent.service "$pkg/lib/systemd/system/actoragent.service"
install -m 0644 deploy/61-actoragent.rules "$pkg/lib/udev/rules.d/61-actoragent.rules"
install -m 0644 "$here/agent.conf" "$pkg/etc/actoragent/agent.conf"
install -m 0755 "$here/fsfreeze-hook" "$pkg/etc/actoragent/fsfreeze-hook"
install -m 0644 "$here/default" "$pkg/etc/default/actoragent"
install -m 0644 hocon/reference.conf "$doc/reference.conf"
install -m 0644 "$here/copyright" "$doc/copyright"
install -m 0644 "$here/lintian-overrides" "$pkg/usr/share/lintian/overrides/actoragent"
gzip -9n <"$here/changelog" >"$doc/changelog.Debian.gz"
chmod 0644 "$doc/changelog.Debian.gz"

# actoragent(8): the options section is the binary's own --help, run under the installed name.
mkdir "$work/help" && ln -s "$binary" "$work/help/actoragent"
{
  "${emulator[@]}" "$work/help/actoragent" --help | awk -v version="$version" -v date="$(date -u -d "@$stamp" +%Y-%m-%d)" \
    -f "$here/help2man.awk"
  cat "$here/man-sections.roff"
} | gzip -9n >"$pkg/usr/share/man/man8/actoragent.8.gz"
chmod 0644 "$pkg/usr/share/man/man8/actoragent.8.gz"

# Maintainer scripts, each with the shared wait-for-thaw function in place of #FROZEN_GUARD#.
for script in preinst prerm postinst postrm; do
  awk -v guard="$here/frozen-guard.sh" \
    '$0 == "#FROZEN_GUARD#" { while ((getline line < guard) > 0) print line; close(guard); next } { print }' \
    "$here/$script" >"$pkg/DEBIAN/$script"
  chmod 0755 "$pkg/DEBIAN/$script"
done
printf '%s\n' /etc/actoragent/agent.conf /etc/actoragent/fsfreeze-hook /etc/default/actoragent \
  >"$pkg/DEBIAN/conffiles"

# Depends from the binary's ELF needs, as dpkg-shlibdeps computes them for any Debian package. For a
# foreign architecture (no libc6 of that architecture installed here to read symbols from) the same
# floor comes from the newest GLIBC_ symbol version the binary needs; ldd names only libc and libm.
if [ "$arch" = "$(dpkg --print-architecture)" ]; then
  mkdir -p "$work/src/debian"
  printf 'Source: actoragent\n\nPackage: actoragent\nArchitecture: any\n' >"$work/src/debian/control"
  depends=$(cd "$work/src" && dpkg-shlibdeps -O -e"$pkg/usr/sbin/actoragent" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
else
  needed=$(LC_ALL=C readelf -d "$binary" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | grep -vxE 'libc\.so\.6|libm\.so\.6|ld-linux.*' || true)
  [ -z "$needed" ] || { echo "deb: $binary needs more than libc: $needed" >&2; exit 1; }
  glibc=$(LC_ALL=C objdump -T "$binary" | grep -oE 'GLIBC_[0-9]+(\.[0-9]+)+' | sed 's/GLIBC_//' | sort -uV | tail -n 1)
  depends="libc6 (>= $glibc)"
fi
[ -n "$depends" ] || { echo "deb: dpkg-shlibdeps found no dependencies" >&2; exit 1; }

(cd "$pkg" && find . -path ./DEBIAN -prune -o -path ./etc -prune -o -type f -printf '%P\n' | LC_ALL=C sort \
  | xargs md5sum) >"$pkg/DEBIAN/md5sums"
chmod 0644 "$pkg/DEBIAN/md5sums" "$pkg/DEBIAN/conffiles"
size=$(du -sk --exclude=DEBIAN "$pkg" | cut -f1)
sed -e "s|@VERSION@|$version|" -e "s|@ARCH@|$arch|" -e "s|@MAINTAINER@|$maintainer|" \
  -e "s|@INSTALLED_SIZE@|$size|" -e "s|@DEPENDS@|$depends|" "$here/control.in" >"$pkg/DEBIAN/control"

# Reproducible: every file dated by the changelog entry, owned by root.
find "$pkg" -exec touch --no-dereference -d "@$stamp" {} +
mkdir -p out
deb="out/actoragent_${version}_${arch}.deb"
SOURCE_DATE_EPOCH=$stamp dpkg-deb --root-owner-group -Zxz --build "$pkg" "$deb" >&2
echo "$root/$deb"

#!/usr/bin/env bash
# The VM stage of the tests: ActorAgent inside a real QEMU guest, suspended and powered off from the
# host, and fsfreeze of a real ext4 (see vmtest/README.md). Installs what it needs from Debian,
# publishes Agent.Host self-contained, builds the guest image, runs the checks. Extra arguments go to vm_checks.py (e.g. --keep).
# Last line: "N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/.."
cache="${VMTEST_CACHE:-$HOME/.cache/actoragent-vmtest}"

fail() { echo "vmtest: $*" >&2; echo "0 passed, 1 failed"; exit 1; }

need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
dpkg -s busybox-static >/dev/null 2>&1 || need+=(busybox-static)
[ -x /usr/sbin/qemu-ga ] || need+=(qemu-guest-agent)
command -v python3 >/dev/null || need+=(python3)
# mkfs.ext4, dumpe2fs, e2fsck and debugfs: the fsfreeze checks' data disk, made and read on the host
[ -x /sbin/mkfs.ext4 ] || [ -x /usr/sbin/mkfs.ext4 ] || need+=(e2fsprogs)
if [ ${#need[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || fail "missing packages: ${need[*]} (run as root, or: sudo apt-get install ${need[*]})"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null \
    || fail "apt-get install ${need[*]} failed"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
started=$(date +%s)
dotnet publish Agent.Host -c Release -r linux-x64 --self-contained -p:PublishSingleFile=true \
  -p:InvariantGlobalization=true -p:DebugType=none -o "$work/agent" >"$work/publish.log" 2>&1 \
  || { cat "$work/publish.log" >&2; fail "dotnet publish failed"; }
python3 vmtest/guest_image.py --agent-dir "$work/agent" --cache "$cache" || fail "guest image build failed"
echo "vmtest: publish and image took $(( $(date +%s) - started ))s"
# vm_checks.py bounds every QEMU itself; this bounds the whole stage.
timeout --kill-after=15 900 python3 vmtest/vm_checks.py --cache "$cache" "$@"

#!/usr/bin/env bash
# The VM stage of the tests (see vmtest/README.md), within 15 minutes:
#  1. busybox guest: ActorAgent suspended and powered off from the host, fsfreeze of a real ext4
#     (vm_checks.py, at most 8 min); meanwhile the systemd guest's Debian root filesystem is built
#     with mmdebstrap into the cache (at most 10 min, minutes only on a cold cache);
#  2. systemd guest: the Debian package (deploy/deb/build.sh) installed over qemu-guest-agent, started
#     by udev, watchdog, suspend, shutdown, upgrade while frozen, purge (systemd_stage.py, at most 7 min).
# Installs what it needs from Debian. Extra arguments go to vm_checks.py (e.g. --keep).
# Last line: "N passed, M failed" (both parts).
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
# the systemd guest's root filesystem, and dpkg-shlibdeps for the package
command -v mmdebstrap >/dev/null || need+=(mmdebstrap)
command -v dpkg-shlibdeps >/dev/null || need+=(dpkg-dev)
if [ ${#need[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || fail "missing packages: ${need[*]} (run as root, or: sudo apt-get install ${need[*]})"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null \
    || fail "apt-get install ${need[*]} failed"
fi

work=$(mktemp -d)
prepare=
trap '[ -n "$prepare" ] && kill "$prepare" 2>/dev/null; rm -rf "$work"' EXIT
started=$(date +%s)
mkdir -p "$cache"
timeout --kill-after=15 600 python3 vmtest/systemd_stage.py --cache "$cache" --prepare-only \
  >"$work/prepare.log" 2>&1 &
prepare=$!

# The NativeAOT binary operators get: test.sh's publish in out/aot when there is one, else our own.
mkdir -p "$work/agent"
if [ -x out/aot/Agent.Host ]; then
  cp out/aot/Agent.Host "$work/agent/"
else
  dotnet publish Agent.Host -c Release -p:PublishAot=true -o "$work/aot" >"$work/publish.log" 2>&1 \
    || { cat "$work/publish.log" >&2; fail "dotnet publish failed"; }
  cp "$work/aot/Agent.Host" "$work/agent/"
fi
python3 vmtest/guest_image.py --agent-dir "$work/agent" --cache "$cache" || fail "guest image build failed"
echo "vmtest: publish and image took $(( $(date +%s) - started ))s"
# vm_checks.py bounds every QEMU itself; this bounds the whole part.
timeout --kill-after=15 480 python3 vmtest/vm_checks.py --cache "$cache" "$@" | tee "$work/busybox.log"

wait "$prepare"; prepare_rc=$?; prepare=
cat "$work/prepare.log"
[ "$prepare_rc" = 0 ] || echo "vmtest: building the systemd guest's root filesystem failed (exit $prepare_rc)"
echo "vmtest: part 1 took $(( $(date +%s) - started ))s"
keep=(); for a in "$@"; do [ "$a" = --keep ] && keep=(--keep); done
if deb=$(deploy/deb/build.sh 2>"$work/deb.log" | tail -n 1) && [ -f "$deb" ]; then
  # At most 7 min, and never past 15 min from the start of the stage.
  left=$(( 900 - ($(date +%s) - started) )); [ "$left" -gt 420 ] && left=420; [ "$left" -lt 60 ] && left=60
  timeout --kill-after=15 "$left" python3 vmtest/systemd_stage.py --cache "$cache" --deb "$deb" "${keep[@]}" \
    | tee "$work/systemd.log"
else
  cat "$work/deb.log" >&2
  echo "FAIL sd-package: deploy/deb/build.sh failed" | tee "$work/systemd.log"
  echo "0 passed, 1 failed" >>"$work/systemd.log"
fi
echo "vmtest: the whole VM stage took $(( $(date +%s) - started ))s"

passed=0 failed=0
for part in busybox systemd; do
  totals=$(tail -n 1 "$work/$part.log")
  if [[ "$totals" =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
    passed=$((passed + BASH_REMATCH[1])); failed=$((failed + BASH_REMATCH[2]))
  else
    # Cut short (its time budget): what it checked still counts, and the cut is one failure.
    p=$(grep -c '^PASS ' "$work/$part.log"); f=$(grep -c '^FAIL ' "$work/$part.log")
    passed=$((passed + p)); failed=$((failed + f + 1))
    echo "vmtest: the $part part ended without its totals ($p passed, $f failed before it stopped)"
  fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

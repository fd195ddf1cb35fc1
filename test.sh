#!/usr/bin/env bash
# Runs every ActorAgent test on a fresh Debian machine: installs what the tests need (Debian's
# qemu-ga as the differential oracle, socat for the smoke tests, gcc + zlib for the NativeAOT link),
# builds, runs the suite, smoke-tests a published build and the NativeAOT release binary on a unix
# socket, runs the NativeAOT binary with OpenSSL hidden (deploy/check-libc-only.sh), builds and checks
# the Debian package (deploy/deb/check.sh), then runs the VM stage (vmtest/run.sh: the agent suspended and powered off inside a real
# QEMU guest; VMTEST=0 skips it).
# Last line: "N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")"

need=()
command -v socat >/dev/null || need+=(socat)
[ -x /usr/sbin/qemu-ga ] || need+=(qemu-guest-agent)
command -v gcc >/dev/null || need+=(gcc)
dpkg -s zlib1g-dev >/dev/null 2>&1 || need+=(zlib1g-dev)
# the Debian package: dpkg-shlibdeps, lintian, man's --warnings
command -v dpkg-shlibdeps >/dev/null || need+=(dpkg-dev)
command -v lintian >/dev/null || need+=(lintian)
command -v man >/dev/null || need+=(man-db)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "missing packages: ${need[*]} (run as root, or: sudo apt-get install ${need[*]})" >&2
    exit 1
  fi
fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet restore ActorAgent.sln >/dev/null || exit 1
log=$(mktemp)
dotnet test ActorAgent.sln --no-restore -c Release 2>&1 | tee "$log"
suite_rc=${PIPESTATUS[0]}
passed=$(grep -oE 'Passed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
failed=$(grep -oE 'Failed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
# A skipped test asserted nothing: it counts as failed.
skipped=$(grep -oE 'Skipped: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
failed=$((failed + skipped))
[ "$suite_rc" -ne 0 ] && [ "$failed" -eq 0 ] && failed=1

# Smoke tests: a published binary answers guest-ping and guest-info on a unix socket, from a host that
# half-closes after writing, and exits 0 on SIGTERM. The NativeAOT one matters most: Akka loads types by
# name, and trimming turns a missing root into a failure at run time, not a build error (issue 8).
# $1 names the build, $2 is a folder to publish into (kept, for the stages after), the rest go to publish.
smoke() {
  local name=$1 bin=$2; shift 2
  local dir; dir=$(mktemp -d)
  if ! dotnet publish Agent.Host -c Release -o "$bin" "$@" >"$dir/publish.log" 2>&1; then
    tail -20 "$dir/publish.log"; rm -rf "$dir"; echo "smoke $name: publish failed"; return 1
  fi
  (cd "$dir" && exec "$bin/Agent.Host" -m unix-listen -p "$dir/sock" -t "$dir") & local pid=$!
  for _ in $(seq 100); do [ -S "$dir/sock" ] && break; sleep 0.1; done
  local reply; reply=$(printf '{"execute":"guest-ping"}\n{"execute":"guest-info"}\n' | socat -t 5 - "UNIX-CONNECT:$dir/sock")
  kill -TERM "$pid"; wait "$pid"; local rc=$?
  rm -rf "$dir"
  echo "smoke $name: reply=${reply:0:80}... exit=$rc"
  [ "$(head -n1 <<<"$reply")" = '{"return": {}}' ] && grep -q '^{"return": {"version": "' <<<"$(sed -n 2p <<<"$reply")" && [ "$rc" = 0 ]
}
builds=$(mktemp -d)
if smoke published "$builds/published"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "smoke test of the published build FAILED"; fi
# The release binary goes to out/aot, where the package and VM stages take it from: one publish.
rm -rf out/aot
if smoke nativeaot "$PWD/out/aot" -p:PublishAot=true; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "smoke test of the NativeAOT build FAILED"; fi
# The release binary needs only what ldd names (glibc, libm): a full session with OpenSSL hidden.
if [ -x out/aot/Agent.Host ] && deploy/check-libc-only.sh out/aot/Agent.Host; then
  passed=$((passed + 1))
else
  failed=$((failed + 1)); echo "libc-only check of the NativeAOT build FAILED"
fi
rm -rf "$builds"

# The Debian package: built from the NativeAOT binary in out/aot (published there if missing or older
# than the sources), then its contents, control fields, man page, maintainer scripts and lintian.
pkglog=$(mktemp)
deploy/deb/check.sh 2>&1 | tee "$pkglog"
if [[ "$(tail -n 1 "$pkglog")" =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
  passed=$((passed + BASH_REMATCH[1])); failed=$((failed + BASH_REMATCH[2]))
else
  failed=$((failed + 1)); echo "package checks ended without their totals"
fi
rm -f "$pkglog"

if [ "${VMTEST:-1}" != 0 ]; then
  vmlog=$(mktemp)
  vmtest/run.sh 2>&1 | tee "$vmlog"
  vm_totals=$(tail -n 1 "$vmlog")
  if [[ "$vm_totals" =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
    passed=$((passed + BASH_REMATCH[1])); failed=$((failed + BASH_REMATCH[2]))
  else
    failed=$((failed + 1)); echo "VM stage ended without its totals"
  fi
  rm -f "$vmlog"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

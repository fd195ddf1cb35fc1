#!/usr/bin/env python3
"""Builds the test guest: Debian's kernel (fetched with `apt-get download`, unpacked, never installed)
and one initramfs holding busybox, ActorAgent (the NativeAOT release binary) and Debian's qemu-ga, so both
agents boot from the very same image; the kernel command line picks one (vmtest.agent=ours|qemu-ga).

    guest_image.py --agent-dir PUBLISH_DIR --cache CACHE_DIR      -> CACHE_DIR/vmlinuz, CACHE_DIR/initrd.img

Only the Python standard library and Debian packages (busybox-static, qemu-guest-agent, the kernel) are
used. The cpio archive is written here, so no host tool decides file order or ownership.
"""
import argparse
import glob
import gzip
import io
import os
import re
import shutil
import stat
import subprocess
import sys

# Drivers for the virtio devices the test VM has, and ext4 for the data disk of the fsfreeze checks;
# dependencies are read from each module. ext4 and jbd2 only name crc32c as a soft dependency (no
# modprobe here to resolve it), and mounting a metadata_csum filesystem fails without it.
MODULES = ["virtio_pci", "virtio_console", "virtio_blk", "virtio_rng", "crc32c_generic", "ext4"]
# The kernel must have these built in: sleep states, hibernation, and a serial console for the log.
KERNEL_OPTIONS = ["CONFIG_SUSPEND", "CONFIG_HIBERNATION", "CONFIG_ACPI_SLEEP", "CONFIG_DEVTMPFS",
                  "CONFIG_BLK_DEV_INITRD", "CONFIG_RD_GZIP", "CONFIG_SERIAL_8250_CONSOLE", "CONFIG_SWAP"]
# Libraries loaded with dlopen, which ldd cannot see. None: the guest carries only what ldd names for
# the NativeAOT binary and qemu-ga (deploy/check-libc-only.sh proves the agent needs no more).
DLOPENED = []
QEMU_GA = "/usr/sbin/qemu-ga"
BUSYBOX = "/bin/busybox"

INIT = r"""#!/bin/busybox sh
# PID 1 of the test guest: mount, load the virtio drivers, resume from or enable the swap disk,
# mount the ext4 data disk if there is one, name the virtio ports, then hand over to busybox init,
# which (re)spawns the agent and the test shell.
/bin/busybox mkdir -p /proc /sys /dev /run /tmp /sbin /usr/bin /usr/sbin
/bin/busybox --install -s
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm /dev/virtio-ports
mount -t devpts devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
exec </dev/null >/dev/console 2>&1
say() { echo "vmtest-init [$(cut -d' ' -f1 /proc/uptime)]: $*"; }

for m in $(cat /etc/vmtest/modules); do insmod "/lib/modules/$m" || say "insmod $m failed"; done

agent=ours swap= data=
for arg in $(cat /proc/cmdline); do
  case "$arg" in
    vmtest.agent=*) agent="${arg#*=}" ;;
    vmtest.swap=*) swap="${arg#*=}" ;;
    vmtest.data=*) data="${arg#*=}" ;;
  esac
done

if [ -n "$swap" ]; then
  node="/sys/class/block/${swap#/dev/}/dev"
  n=0; while [ ! -r "$node" ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n+1)); done
  # The kernel's own resume= runs before virtio_blk is loaded, so resume here, as initramfs-tools
  # does: if the disk holds a hibernation image this write restores it and never returns.
  cat "$node" > /sys/power/resume
  say "no hibernation image on $swap"
  mkswap "$swap" >/dev/null && swapon "$swap" && say "swap on $swap"
fi

# Only after the resume attempt: nothing may be mounted when a hibernation image is restored.
if [ -n "$data" ]; then
  n=0; while [ ! -b "$data" ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n+1)); done
  mkdir -p /mnt/data
  if mount -t ext4 "$data" /mnt/data; then say "ext4 $data on /mnt/data"; else say "mount $data failed"; fi
fi

# What udev would do: /dev/virtio-ports/<name> for every named port (the device nodes come from devtmpfs).
n=0
while [ $n -lt 100 ]; do
  named=0
  for p in /sys/class/virtio-ports/*; do
    [ -s "$p/name" ] || continue
    ln -sf "../${p##*/}" "/dev/virtio-ports/$(cat "$p/name")"
    named=$((named+1))
  done
  [ $named -ge 2 ] && break
  sleep 0.1; n=$((n+1))
done
say "ports: $(ls /dev/virtio-ports | tr '\n' ' ')"
say "power: state=[$(cat /sys/power/state)] mem_sleep=[$(cat /sys/power/mem_sleep)] disk=[$(cat /sys/power/disk)] resume=$(cat /sys/power/resume)"

cat > /etc/inittab <<EOF
::respawn:/etc/vmtest/agent-$agent
::respawn:/etc/vmtest/shell
::shutdown:/sbin/swapoff -a
EOF
say "starting busybox init with agent $agent"
exec /sbin/init
"""

# Respawned by init; the pause keeps a crashing agent from spinning.
AGENT_OURS = r"""#!/bin/sh
[ -e /run/agent-started ] && sleep 1
touch /run/agent-started
echo "vmtest: ActorAgent starting at uptime $(cut -d' ' -f1 /proc/uptime)"
export HOME=/root TMPDIR=/tmp
exec /opt/actoragent/Agent.Host -m virtio-serial
"""

AGENT_QEMU_GA = r"""#!/bin/sh
[ -e /run/agent-started ] && sleep 1
touch /run/agent-started
echo "vmtest: qemu-ga starting at uptime $(cut -d' ' -f1 /proc/uptime)"
exec /usr/sbin/qemu-ga -m virtio-serial -p /dev/virtio-ports/org.qemu.guest_agent.0
"""

# A plain shell on a second port, for the test to look inside the guest without the agent under test.
# Reads the port until the host goes away (EOF), then init starts it again.
SHELL = r"""#!/bin/sh
sleep 0.2
exec 0<>/dev/virtio-ports/org.actoragent.vmtest.0
exec sh -s >&0 2>&0
"""


class Cpio:
    """newc archive writer (what the kernel unpacks an initramfs from)."""

    def __init__(self):
        self.out = io.BytesIO()
        self.ino = 1
        self.names = set()

    def _entry(self, name, mode, data=b"", rdev=(0, 0)):
        name_b = name.encode() + b"\0"
        fields = [self.ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(name_b), 0]
        self.ino += 1
        self.out.write(b"070701" + b"".join(b"%08X" % f for f in fields) + name_b)
        self.out.write(b"\0" * (-(110 + len(name_b)) % 4))
        self.out.write(data)
        self.out.write(b"\0" * (-len(data) % 4))

    def dirs_for(self, path):
        parts = path.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            d = "/".join(parts[:i])
            if d and d not in self.names:
                self.names.add(d)
                self._entry(d, stat.S_IFDIR | 0o755)

    def file(self, path, data, mode=0o644):
        path = path.lstrip("/")
        if path in self.names:
            return
        self.dirs_for(path)
        self.names.add(path)
        self._entry(path, stat.S_IFREG | mode, data)

    def host_file(self, host_path, guest_path=None):
        with open(host_path, "rb") as f:
            data = f.read()
        mode = 0o755 if os.access(host_path, os.X_OK) else 0o644
        self.file(guest_path or host_path, data, mode)

    def directory(self, path, mode=0o755):
        path = path.lstrip("/")
        if path in self.names:
            return
        self.dirs_for(path + "/x")
        self.names.add(path)

    def symlink(self, path, target):
        path = path.lstrip("/")
        self.dirs_for(path)
        self.names.add(path)
        self._entry(path, stat.S_IFLNK | 0o777, target.encode())

    def finish(self):
        self._entry("TRAILER!!!", 0)
        self.out.write(b"\0" * (-self.out.tell() % 512))
        return self.out.getvalue()


def log(msg):
    print(f"[guest-image] {msg}", file=sys.stderr, flush=True)


def run(cmd, cwd=None):
    return subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, text=True).stdout


def kernel_package():
    """The versioned package linux-image-amd64 points at (e.g. linux-image-6.1.0-56-amd64)."""
    for attempt in range(2):
        out = subprocess.run(["apt-cache", "depends", "linux-image-amd64"], capture_output=True, text=True).stdout
        m = re.search(r"Depends: (linux-image-\d\S*)", out)
        if m:
            return m.group(1)
        if attempt == 0:
            log("apt-cache does not know linux-image-amd64; apt-get update")
            subprocess.run(["apt-get", "update", "-qq"], check=False)
    raise SystemExit("cannot find the Debian kernel package behind linux-image-amd64")


def fetch_kernel(cache):
    """Downloads and unpacks the kernel .deb once per version; returns (unpacked root, version)."""
    pkg = kernel_package()
    debs = glob.glob(os.path.join(cache, f"{pkg}_*.deb"))
    if not debs:
        log(f"apt-get download {pkg}")
        try:
            run(["apt-get", "download", pkg], cwd=cache)
            debs = glob.glob(os.path.join(cache, f"{pkg}_*.deb"))
        except subprocess.CalledProcessError as e:
            # offline: an older kernel already in the cache does just as well
            debs = sorted(glob.glob(os.path.join(cache, "linux-image-*-amd64_*.deb")))[-1:]
            if not debs:
                raise SystemExit(f"apt-get download {pkg} failed: {e.stderr}")
            log(f"apt-get download {pkg} failed; using {os.path.basename(debs[0])} from the cache")
    root = os.path.join(cache, "kernel-" + os.path.basename(debs[0])[:-4])
    if not os.path.exists(os.path.join(root, ".unpacked")):
        shutil.rmtree(root, ignore_errors=True)
        run(["dpkg-deb", "-x", debs[0], root])
        open(os.path.join(root, ".unpacked"), "w").close()
    version = os.listdir(os.path.join(root, "lib", "modules"))[0]
    config = open(os.path.join(root, "boot", f"config-{version}")).read()
    missing = [o for o in KERNEL_OPTIONS if f"\n{o}=y" not in config]
    if missing:
        raise SystemExit(f"kernel {version} lacks {' '.join(missing)}")
    return root, version


def module_load_order(moddir):
    """Module files (relative to moddir) in load order: dependencies (from each .ko's modinfo) first."""
    paths = {}
    for p in glob.glob(os.path.join(moddir, "kernel", "**", "*.ko*"), recursive=True):
        paths[re.sub(r"\.ko.*$", "", os.path.basename(p)).replace("-", "_")] = p
    builtin = {re.sub(r"\.ko$", "", os.path.basename(l.strip())).replace("-", "_")
               for l in open(os.path.join(moddir, "modules.builtin"))}
    order = []

    def visit(name):
        if name in builtin or any(o[0] == name for o in order):
            return
        if name not in paths:
            raise SystemExit(f"kernel module {name} not found")
        data = read_module(paths[name])
        m = re.search(rb"(?:^|\0)depends=([^\0]*)", data)
        for dep in filter(None, (m.group(1).decode().split(",") if m else [])):
            visit(dep.replace("-", "_"))
        order.append((name, data, os.path.relpath(re.sub(r"\.(xz|zst|gz)$", "", paths[name]), moddir)))

    for name in MODULES:
        visit(name)
    return order


def read_module(path):
    if path.endswith(".ko"):
        return open(path, "rb").read()
    tool = {".xz": ["xz", "-dc"], ".zst": ["zstd", "-dcq"], ".gz": ["gzip", "-dc"]}[os.path.splitext(path)[1]]
    return subprocess.run(tool + [path], check=True, capture_output=True).stdout


def shared_libraries(elf):
    """The libraries ldd resolves for elf (empty for static or non-ELF files)."""
    with open(elf, "rb") as f:
        if f.read(4) != b"\x7fELF":
            return []
    out = subprocess.run(["ldd", elf], capture_output=True, text=True).stdout
    if "not found" in out:
        raise SystemExit(f"{elf}: unresolved libraries:\n{out}")
    return re.findall(r"(?:=> )?(/\S+) \(0x", out)


def find_library(name):
    for d in ("/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64"):
        if os.path.exists(os.path.join(d, name)):
            return os.path.join(d, name)
    raise SystemExit(f"{name} not found on this machine (apt-get install libssl3)")


def build(agent_dir, cache):
    os.makedirs(cache, exist_ok=True)
    kroot, version = fetch_kernel(cache)
    shutil.copyfile(os.path.join(kroot, "boot", f"vmlinuz-{version}"), os.path.join(cache, "vmlinuz.tmp"))
    os.replace(os.path.join(cache, "vmlinuz.tmp"), os.path.join(cache, "vmlinuz"))

    archive = Cpio()
    for d in ("proc", "sys", "dev", "run", "tmp", "root", "etc", "var"):
        archive.directory(d)
    archive.symlink("var/run", "../run")
    archive.host_file(BUSYBOX, "bin/busybox")
    archive.file("init", INIT.encode(), 0o755)
    archive.file("etc/vmtest/agent-ours", AGENT_OURS.encode(), 0o755)
    archive.file("etc/vmtest/agent-qemu-ga", AGENT_QEMU_GA.encode(), 0o755)
    archive.file("etc/vmtest/shell", SHELL.encode(), 0o755)
    archive.file("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n")
    archive.file("etc/group", b"root:x:0:\n")
    archive.file("etc/hostname", b"vmtest\n")
    archive.file("etc/os-release", b'ID=vmtest\nNAME="ActorAgent test guest"\n')

    moddir = os.path.join(kroot, "lib", "modules", version)
    order = module_load_order(moddir)
    for _, data, rel in order:
        archive.file(f"lib/modules/{rel}", data)
    archive.file("etc/vmtest/modules", "".join(f"{rel}\n" for _, _, rel in order).encode())

    elves = [QEMU_GA]
    for root, _, files in os.walk(agent_dir):
        for f in files:
            if f.endswith(".pdb"):
                continue
            host = os.path.join(root, f)
            archive.host_file(host, "opt/actoragent/" + os.path.relpath(host, agent_dir))
            elves.append(host)
    archive.host_file(QEMU_GA)
    libs = {lib for e in elves for lib in shared_libraries(e)}
    for name in DLOPENED:
        path = find_library(name)
        libs.add(path)
        libs.update(shared_libraries(path))
    for lib in sorted(libs):
        archive.host_file(os.path.realpath(lib), lib)

    data = archive.finish()
    out = os.path.join(cache, "initrd.img")
    with open(out + ".tmp", "wb") as f:
        f.write(gzip.compress(data, compresslevel=1, mtime=0))
    os.replace(out + ".tmp", out)
    log(f"kernel {version}; modules {' '.join(n for n, _, _ in order)}; initramfs {os.path.getsize(out)} bytes "
        f"({len(data)} unpacked)")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--agent-dir", required=True, help="folder holding the NativeAOT Agent.Host")
    ap.add_argument("--cache", required=True, help="where the kernel .deb, vmlinuz and initrd.img go")
    opts = ap.parse_args()
    if not os.path.exists(os.path.join(opts.agent_dir, "Agent.Host")):
        raise SystemExit(f"{opts.agent_dir}/Agent.Host missing: publish Agent.Host first")
    build(opts.agent_dir, opts.cache)


if __name__ == "__main__":
    main()

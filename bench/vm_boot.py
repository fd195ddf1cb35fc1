#!/usr/bin/env python3
"""Boot to first answer in a real guest, ActorAgent against qemu-ga (issue 14: "the median first
answer after boot over 5 boots within 0.5 s of qemu-ga's"). Not part of CI.

Builds the VM stage's busybox guest (vmtest/guest_image.py: one initramfs holding both agents, the
kernel command line picks one) with the given NativeAOT binary, then boots it --boots times per agent,
alternating ours and qemu-ga, one VM at a time so both see the same machine. Each boot is timed from
QEMU's start to the first guest-sync answer on the virtio-serial port (vmtest/vm_checks.py, Vm.boot),
and the time the guest opened the port (QMP VSERPORT_CHANGE) is printed beside it: the difference
is the agent's own start.

    bench/vm_boot.py --agent-dir out/aot [--boots 5] [--cache DIR]
"""
import argparse
import glob
import os
import shutil
import statistics
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "vmtest"))

import guest_image  # noqa: E402
from vm_checks import Vm, new_disk  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--agent-dir", required=True, help="folder holding the NativeAOT Agent.Host")
    ap.add_argument("--boots", type=int, default=5)
    ap.add_argument("--cache", default=os.path.expanduser("~/.cache/actoragent-bench-vm"),
                    help="kernel and image (the kernel .deb is taken from the VM stage's cache when there)")
    ap.add_argument("--mem", type=int, default=1024)
    ap.add_argument("--qemu", default=shutil.which("qemu-system-x86_64") or "qemu-system-x86_64")
    opts = ap.parse_args()
    opts.boot_seconds, opts.vm_seconds = 150, 200
    os.makedirs(opts.cache, exist_ok=True)
    # Reuse the VM stage's kernel download rather than fetching it again.
    for deb in glob.glob(os.path.expanduser("~/.cache/actoragent-vmtest/linux-image-*.deb")):
        target = os.path.join(opts.cache, os.path.basename(deb))
        if not os.path.exists(target):
            shutil.copyfile(deb, target)
    guest_image.build(opts.agent_dir, opts.cache)
    opts.workdir = tempfile.mkdtemp(prefix="actoragent-vmboot-")
    times = {"ours": [], "qemu-ga": []}
    opened = {"ours": [], "qemu-ga": []}
    try:
        for i in range(opts.boots):
            for kind in ("ours", "qemu-ga"):
                vm = Vm(opts, f"{kind}-{i}", kind, new_disk(opts, f"{kind}-{i}"))
                try:
                    took = vm.boot()
                    port = vm.port_opened()
                finally:
                    vm.stop()
                    os.unlink(vm.disk)
                if took is None:
                    print(f"boot {i + 1} {kind}: no answer within {opts.boot_seconds}s")
                    continue
                times[kind].append(took)
                if port is not None:
                    opened[kind].append(took - port)
                print(f"boot {i + 1} {kind:8} first answer {took:6.2f} s after QEMU start"
                      + (f" (port opened at {port:.2f} s, answer {took - port:.2f} s later)" if port is not None else ""),
                      flush=True)
    finally:
        shutil.rmtree(opts.workdir, ignore_errors=True)
    print()
    print(f"{'agent':8} {'boots':>5} {'median first answer':>20} {'median port→answer':>19}")
    for kind in ("ours", "qemu-ga"):
        if times[kind]:
            after_port = f"{statistics.median(opened[kind]):.2f} s" if opened[kind] else "-"
            print(f"{kind:8} {len(times[kind]):5} {statistics.median(times[kind]):18.2f} s {after_port:>19}")
    if times["ours"] and times["qemu-ga"]:
        diff = statistics.median(times["ours"]) - statistics.median(times["qemu-ga"])
        print(f"difference of medians: {diff:+.2f} s (target: within 0.5 s)")
    return 0 if len(times["ours"]) == opts.boots and len(times["qemu-ga"]) == opts.boots else 1


if __name__ == "__main__":
    sys.exit(main())

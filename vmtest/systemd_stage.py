#!/usr/bin/env python3
"""The Debian package in a real systemd-booted Debian guest (issue 13): installed over
qemu-guest-agent, started by systemd from the udev rule, restarted by the watchdog, suspended and
shut down through systemd, upgraded while frozen, purged, and qemu-guest-agent back.

The guest is a Debian root filesystem made with mmdebstrap from this machine's apt sources
(systemd-sysv, udev, kmod, linux-image-amd64, initramfs-tools, qemu-guest-agent), cached as a tarball
in --cache; each run unpacks it, stages the .debs in /root/vmtest-debs (the guest has no network) and
a shell on a second port, and writes an ext4 image with `mkfs.ext4 -d` (no loop mount). QEMU boots
the kernel and the initramfs that the image made for itself, from the image's /boot.

Each check prints 'PASS name: detail' or 'FAIL name: detail' with its time; the last line is
'N passed, M failed'. Needs root (mmdebstrap, ownership in the image).

    systemd_stage.py --cache DIR --deb out/actoragent_<ver>_amd64.deb [--workdir DIR] [--keep]
    systemd_stage.py --cache DIR --prepare-only      # only the cached mmdebstrap tarball
"""
import argparse
import glob
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vm_checks import AGENT_PORT, FROZEN_MARKER, Report, Vm, e2fsprogs, log, new_ext4_disk  # noqa: E402

PACKAGES = ["systemd-sysv", "udev", "kmod", "linux-image-amd64", "initramfs-tools", "qemu-guest-agent"]
# initramfs-tools' MODULES=list with the drivers the root disk needs (virtio_blk on virtio_pci, ext4
# and its crc32c, which ext4 names only as a soft dependency): a 6 MB initramfs instead of ~35 MB
# with MODULES=most, which TCG boots seconds faster. udev in the initramfs loads them by modalias.
SETUP_HOOK = r"""
mkdir -p "$1/etc/initramfs-tools/conf.d" "$1/etc/initramfs-tools/hooks"
echo MODULES=list > "$1/etc/initramfs-tools/conf.d/vmtest.conf"
cat > "$1/etc/initramfs-tools/hooks/vmtest" <<'EOF'
#!/bin/sh
[ "$1" = prereqs ] && exit 0
. /usr/share/initramfs-tools/hook-functions
manual_add_modules virtio_pci virtio_blk ext4 crc32c_generic
EOF
chmod +x "$1/etc/initramfs-tools/hooks/vmtest"
"""
# qemu-guest-agent's .deb, kept for the reinstall after purge (apt's cache is emptied after this hook).
CUSTOMIZE_HOOK = r"""
mkdir -p "$1/root/vmtest-debs"
cp "$1"/var/cache/apt/archives/qemu-guest-agent_*.deb "$1/root/vmtest-debs/"
"""
SHELL_PORT = "org.actoragent.vmtest.0"
# Added to every run's copy of the tree: root fs, a shell on the second port started the way the
# agent is (udev → systemd), nothing that waits for a network.
GUEST_FILES = {
    "etc/fstab": "/dev/vda / ext4 rw 0 0\n",
    "etc/hostname": "vmtest\n",
    "etc/udev/rules.d/70-vmtest-shell.rules":
        f'SUBSYSTEM=="virtio-ports", ATTR{{name}}=="{SHELL_PORT}", TAG+="systemd", '
        'ENV{SYSTEMD_WANTS}+="vmtest-shell.service"\n',
    "etc/systemd/system/vmtest-shell.service": f"""[Unit]
Description=vmtest: a shell on the {SHELL_PORT} port for the host's checks
StartLimitIntervalSec=0
[Service]
ExecStart=/bin/sh -c 'exec 0<>/dev/virtio-ports/{SHELL_PORT}; exec sh -s >&0 2>&0'
Restart=always
RestartSec=0.2
""",
}
UNIT = "actoragent.service"
OUR_VERSION_PREFIX = "10."     # ActorAgent follows qemu-ga HEAD; Debian bookworm's qemu-ga is 7.2


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def ensure_tools():
    """mmdebstrap and e2fsprogs from apt (CI starts on a fresh machine)."""
    need = [p for p, tool in (("mmdebstrap", "mmdebstrap"), ("e2fsprogs", "mkfs.ext4"))
            if shutil.which(tool) is None and shutil.which(tool, path="/usr/sbin:/sbin") is None]
    if need:
        log(f"installing {' '.join(need)}")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        run(["apt-get", "install", "-y", "-qq", *need], env=env, stdout=subprocess.DEVNULL)


def apt_sources():
    """This machine's apt sources, as files mmdebstrap copies into the guest."""
    files = sorted(glob.glob("/etc/apt/sources.list.d/*.sources")) + sorted(
        glob.glob("/etc/apt/sources.list.d/*.list"))
    if os.path.exists("/etc/apt/sources.list") and os.path.getsize("/etc/apt/sources.list") > 0:
        files.insert(0, "/etc/apt/sources.list")
    return files


def suite():
    with open("/etc/os-release") as f:
        info = dict(line.rstrip("\n").split("=", 1) for line in f if "=" in line)
    return info.get("VERSION_CODENAME", "bookworm").strip('"') or "bookworm"


def base_tarball(opts, report):
    """The cached mmdebstrap tarball for these packages and sources; built when missing."""
    sources = apt_sources()
    key = hashlib.sha256(json.dumps([suite(), PACKAGES, SETUP_HOOK, CUSTOMIZE_HOOK,
                                     [open(s).read() for s in sources]]).encode()).hexdigest()[:16]
    folder = os.path.join(opts.cache, f"systemd-rootfs-{key}")
    tar = os.path.join(folder, "rootfs.tar")
    if os.path.exists(tar):
        report.timing("mmdebstrap (cached)", 0)
        return tar, "cached"
    os.makedirs(folder, exist_ok=True)
    partial = tar + ".partial"
    began = time.time()
    cmd = ["mmdebstrap", "--variant=minbase", "--include=" + ",".join(PACKAGES),
           "--setup-hook=" + SETUP_HOOK, "--customize-hook=" + CUSTOMIZE_HOOK,
           "--format=tar", suite(), partial, *sources]
    with open(os.path.join(folder, "mmdebstrap.log"), "w") as out:
        subprocess.run(cmd, check=True, stdout=out, stderr=subprocess.STDOUT, timeout=opts.mmdebstrap_seconds)
    os.rename(partial, tar)
    took = time.time() - began
    report.timing("mmdebstrap", took)
    return tar, f"built in {took:.0f}s"


def guest_image(opts, tar, debs):
    """This run's root disk: the cached tree, the staged .debs, the test shell; kernel and initramfs
    copied out of its /boot."""
    tree = os.path.join(opts.workdir, "tree")
    os.makedirs(tree)
    run(["tar", "-C", tree, "-xf", tar])
    for rel, text in GUEST_FILES.items():
        path = os.path.join(tree, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
    for deb in debs:
        shutil.copy(deb, os.path.join(tree, "root/vmtest-debs"))
    kernel = sorted(glob.glob(os.path.join(tree, "boot/vmlinuz-*")))[-1]
    initrd = sorted(glob.glob(os.path.join(tree, "boot/initrd.img-*")))[-1]
    shutil.copy(kernel, os.path.join(opts.workdir, "vmlinuz"))
    shutil.copy(initrd, os.path.join(opts.workdir, "initrd.img"))
    size_mb = int(subprocess.run(["du", "-sm", tree], capture_output=True, text=True, check=True)
                  .stdout.split()[0]) + 768
    image = os.path.join(opts.workdir, "root.img")
    began = time.time()
    run([e2fsprogs("mkfs.ext4"), "-F", "-q", "-L", "vmtest-root", "-d", tree, image, f"{size_mb}M"],
        stdout=subprocess.DEVNULL)
    took = time.time() - began
    shutil.rmtree(tree)
    return image, took


class SystemdVm(Vm):
    """The Debian image booted by its own kernel and initramfs under systemd."""

    def command(self):
        o = self.opts
        data = [] if self.data is None else ["-drive", f"file={self.data},if=virtio,format=raw,cache=unsafe"]
        return [o.qemu, "-machine", "pc,accel=tcg", "-cpu", "max", "-smp", "1", "-m", str(o.mem),
                "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
                "-serial", f"file:{self.console}",
                "-kernel", os.path.join(o.workdir, "vmlinuz"), "-initrd", os.path.join(o.workdir, "initrd.img"),
                "-append", "root=/dev/vda rw console=ttyS0 panic=-1 net.ifnames=0",
                "-global", "PIIX4_PM.disable_s3=0",
                "-qmp", f"unix:{self.qmp_path},server=on,wait=off",
                "-device", "virtio-serial-pci,id=serial0",
                "-chardev", f"socket,id=agent,path={self.agent_path},server=on,wait=off",
                "-device", f"virtserialport,bus=serial0.0,chardev=agent,name={AGENT_PORT},id=agentport",
                "-chardev", f"socket,id=shell,path={self.shell_path},server=on,wait=off",
                "-device", f"virtserialport,bus=serial0.0,chardev=shell,name={SHELL_PORT}",
                "-drive", f"file={self.disk},if=virtio,format=raw,cache=unsafe",
                *data,
                "-device", "virtio-rng-pci"]


def sh(vm, command, timeout=60):
    """The guest shell's output lines; never raises on the command's exit status (it is printed)."""
    out = vm.shell.run(f"{command}; echo \"rc=$?\"", timeout=timeout)
    return out


def rc_of(lines):
    return next((int(l[3:]) for l in reversed(lines) if l.startswith("rc=")), None)


def unit_show(vm, *props):
    out = vm.shell.run(f"systemctl show {UNIT} " + " ".join(f"-p {p}" for p in props))
    return dict(line.split("=", 1) for line in out if "=" in line)


def agent_version(vm):
    kind, info = vm.agent.call("guest-info", timeout=30)
    return info.get("version") if kind == "return" else f"{kind} {info}"


def wait_answer(vm, seconds):
    began = time.time()
    ok = vm.agent.sync(seconds)
    return ok, time.time() - began


def guest_exec(vm, path, args, timeout=30):
    """Runs a program through the agent under test (guest-exec) and returns (exit code, stdout)."""
    import base64
    kind, value = vm.agent.call("guest-exec", {"path": path, "arg": args, "capture-output": True})
    if kind != "return":
        return None, f"{kind} {value}"
    deadline = time.time() + timeout
    while time.time() < deadline:
        kind, status = vm.agent.call("guest-exec-status", {"pid": value["pid"]})
        if kind != "return":
            return None, f"{kind} {status}"
        if status.get("exited"):
            return status.get("exitcode"), base64.b64decode(status.get("out-data", "")).decode(errors="replace")
        time.sleep(0.2)
    return None, "guest-exec did not finish"


def timed(report, name, began, ok, detail):
    took = time.time() - began
    report.timing(name, took)
    return report.check(name, ok, f"{detail} [{took:.1f}s]")


def install_phase(opts, report, image, deb_name, vms):
    """Fresh image: Debian's qemu-ga answers (started by its udev rule); our .deb installed over it in
    the running guest takes the port; guest-shutdown through systemd powers the guest off."""
    vm = SystemdVm(opts, "sd-install", "qemu-ga", image)
    vms.append(vm)
    began = time.time()
    took = vm.boot()
    version = agent_version(vm) if took is not None else None
    timed(report, "sd-qemu-ga-boot", began, took is not None and str(version).startswith("7."),
          f"Debian's qemu-ga {version} answered {took if took is None else round(took, 1)}s after QEMU start "
          f"(the reference; budget {opts.boot_seconds:.0f}s)")
    if took is None:
        return

    began = time.time()
    out = sh(vm, f"dpkg -i /root/vmtest-debs/{deb_name} 2>&1", timeout=240)
    status = vm.shell.run("dpkg-query -W -f='${db:Status-Abbrev}${Package}\\n' actoragent qemu-guest-agent "
                          "2>/dev/null || true")
    installed = any(s.startswith("ii") and s.endswith("actoragent") for s in status)
    # "rc"/"ic": removed, conffiles kept (dpkg -i leaves the conflicting package's selection alone)
    removed = any(s[1:2] == "c" and s.endswith("qemu-guest-agent") for s in status)
    old_agent = vm.shell.run("pidof qemu-ga || echo none")
    timed(report, "sd-install-over-qemu-ga", began,
          rc_of(out) == 0 and installed and removed and old_agent == ["none"],
          f"dpkg -i rc={rc_of(out)}; {', '.join(s.strip() for s in status)} (Conflicts/Replaces removed "
          f"qemu-guest-agent, its conffiles kept); qemu-ga process: {old_agent[0]}"
          + ("" if rc_of(out) == 0 else f"; output {out[-6:]}"))

    began = time.time()
    answered, waited = wait_answer(vm, 60)
    version = agent_version(vm) if answered else None
    active = vm.shell.run(f"systemctl is-active {UNIT} || true")
    timed(report, "sd-install-takes-port", began,
          answered and str(version).startswith(OUR_VERSION_PREFIX) and active == ["active"],
          f"after dpkg -i the port answers as ActorAgent (version {version}) {waited:.1f}s later; "
          f"systemctl is-active {UNIT}: {active}")

    began = time.time()
    since = vm.qmp.mark()
    vm.agent.send("guest-shutdown")
    said = vm.agent.quiet(2)
    shutdown = vm.qmp.wait_event("SHUTDOWN", since, 90)
    exited = vm.exited(30)
    reason = shutdown["data"].get("reason") if shutdown else None
    powered_off = vm.console_has("reboot: Power down")
    timed(report, "sd-guest-shutdown", began,
          not said and reason == "guest-shutdown" and exited and powered_off,
          f"no reply {'(ok)' if not said else f'BUT {said}'}; QMP SHUTDOWN reason {reason}; QEMU "
          f"{'exited' if exited else 'still running'}; console {'shows' if powered_off else 'lacks'} "
          f"systemd's 'reboot: Power down'")


def boot_phase(opts, report, image, deb_name, vms):
    """Same disk, our package installed: the rest of the checks in one boot."""
    data = new_ext4_disk(opts, "sd-data")
    vm = SystemdVm(opts, "sd-ours", "ours", image, data=data)
    vms.append(vm)
    began = time.time()
    took = vm.boot()
    version = agent_version(vm) if took is not None else None
    opened = vm.port_opened()
    wants = vm.shell.run(f"udevadm info -q property /dev/virtio-ports/{AGENT_PORT} | grep -E '^(SYSTEMD_WANTS|TAGS)=' "
                         "|| true") if took is not None else []
    started_by = unit_show(vm, "WantedBy", "ActiveState", "ExecMainStartTimestampMonotonic") \
        if took is not None else {}
    # Where the boot's time went, for the record: the kernel's and systemd's share, the unit's start.
    analyze = vm.shell.run("systemd-analyze time 2>&1 | head -n 1 || true") if took is not None else []
    # udev's SYSTEMD_WANTS makes the port's sysfs device unit want ours (the [Install] enablement adds
    # only the /dev alias, dev-virtio\x2dports-org.qemu.guest_agent.0.device).
    from_udev = any(l.startswith("SYSTEMD_WANTS=") and UNIT in l.split("=", 1)[1].split() for l in wants) \
        and any(l.startswith("TAGS=") and ":systemd:" in l for l in wants) \
        and any(w.strip('"').startswith("sys-devices-") and "vport" in w
                for w in started_by.get("WantedBy", "").split())
    timed(report, "sd-boot-udev-answers", began,
          took is not None and took <= opts.answer_budget and str(version).startswith(OUR_VERSION_PREFIX)
          and from_udev,
          f"ActorAgent {version} answered {took if took is None else round(took, 1)}s after QEMU start "
          f"(stated budget {opts.answer_budget:.0f}s; the guest opened the port at "
          f"{opened if opened is None else round(opened, 1)}s; systemd started the unit "
          f"{int(started_by.get('ExecMainStartTimestampMonotonic', '0') or 0) / 1e6:.1f}s into the guest's boot; "
          f"{' '.join(analyze)}); udev: {wants}; unit WantedBy {started_by.get('WantedBy')}")
    if took is None:
        return

    began = time.time()
    code, out = guest_exec(vm, "/bin/systemctl", ["is-active", UNIT])
    timed(report, "sd-unit-active-guest-exec", began, code == 0 and out.strip() == "active",
          f"guest-exec systemctl is-active {UNIT}: exit {code}, {out.strip()!r}")

    began = time.time()
    show = unit_show(vm, "Type", "ActiveState", "SubState", "StatusText", "NotifyAccess")
    timed(report, "sd-unit-ready-notify", began,
          show.get("Type") == "notify" and show.get("ActiveState") == "active",
          f"Type={show.get('Type')} ActiveState={show.get('ActiveState')} SubState={show.get('SubState')} "
          f"StatusText={show.get('StatusText')!r} (active under Type=notify means READY=1 arrived; needs "
          f"Type=notify in {UNIT} and sd_notify in the agent, issue 13 item 3)")

    watchdog_check(opts, report, vm)

    began = time.time()
    # The audit trail goes to syslog (/dev/log), which journald keeps with the unit's identifier.
    journal = vm.shell.run("journalctl -b -t actoragent -o cat --no-pager | grep -m1 'command=guest-exec' "
                           "|| echo none")
    timed(report, "sd-journal-audit", began, journal[0].startswith("command=guest-exec"),
          f"the journal's audit record of the guest-exec sent above: {journal[0]!r} (audit trail, issue 13)")

    suspend_check(report, vm)
    frozen_upgrade_check(opts, report, vm, deb_name)
    purge_check(report, vm)


def watchdog_check(opts, report, vm):
    began = time.time()
    before = unit_show(vm, "MainPID", "NRestarts", "WatchdogUSec", "TimeoutAbortUSec")
    watchdog = before.get("WatchdogUSec", "0")
    if watchdog in ("0", "infinity", ""):
        timed(report, "sd-watchdog-restart", began, False,
              f"{UNIT} has WatchdogUSec={watchdog}: no watchdog to restart a stopped agent (needs WatchdogSec "
              f"and WATCHDOG=1 from the agent, issue 13 item 3); SIGSTOP not sent")
        return
    vm.shell.run(f"kill -STOP {before['MainPID']}")
    stopped = time.time()
    after = before
    while time.time() - stopped < opts.watchdog_seconds:
        time.sleep(1)
        after = unit_show(vm, "MainPID", "NRestarts", "ActiveState")
        if after.get("MainPID") not in (before["MainPID"], "0") and after.get("ActiveState") == "active":
            break
    restarted_in = time.time() - stopped
    answered, waited = wait_answer(vm, 30)
    why = vm.shell.run(f"journalctl -b -u {UNIT} -o cat --no-pager | grep -i -m1 watchdog || true")
    timed(report, "sd-watchdog-restart", began,
          after.get("MainPID") != before["MainPID"] and answered,
          f"SIGSTOP to pid {before['MainPID']} (WatchdogUSec={watchdog}, TimeoutAbortUSec="
          f"{before.get('TimeoutAbortUSec')}): new pid {after.get('MainPID')} after {restarted_in:.1f}s, "
          f"NRestarts {before.get('NRestarts')}→{after.get('NRestarts')}; answers again "
          f"{'yes' if answered else 'NO'} ({waited:.1f}s); journal: {why}")


def suspend_check(report, vm):
    began = time.time()
    vm.agent.sync(20)
    since = vm.qmp.mark()
    vm.agent.send("guest-suspend-ram")
    suspend = vm.qmp.wait_event("SUSPEND", since, 90)
    said = vm.agent.quiet(1.0)
    status = vm.qmp.execute("query-status")["status"] if suspend else None
    woken = vm.qmp.mark()
    if suspend:
        vm.qmp.execute("system_wakeup")
    wakeup = vm.qmp.wait_event("WAKEUP", woken, 30) if suspend else None
    answered, waited = wait_answer(vm, 60)
    via = vm.shell.run("journalctl -b -u systemd-suspend.service -o cat --no-pager | tail -n 3 || true")
    through_systemd = any("sleep" in l.lower() or "suspend" in l.lower() for l in via)
    timed(report, "sd-suspend-ram-systemd", began,
          suspend is not None and status == "suspended" and not said and wakeup is not None and answered
          and through_systemd,
          f"guest-suspend-ram: SUSPEND {'yes' if suspend else 'NO'}, query-status {status}, reply "
          f"{'none (ok)' if not said else said}; system_wakeup → WAKEUP {'yes' if wakeup else 'NO'}, answers "
          f"{'again' if answered else 'NOT'} ({waited:.1f}s); systemd-suspend.service journal: {via}")


def frozen_upgrade_check(opts, report, vm, deb_name):
    """An upgrade (reinstall of the same .deb) while /mnt/data is frozen waits, leaves the agent (and
    the freeze) alone, and goes on after the thaw; with a short wait it refuses."""
    began = time.time()
    vm.shell.run("mkdir -p /mnt/data && mount /dev/vdb /mnt/data")
    # The package's hook (FSFREEZE_HOOK_PATHNAME in /etc/default/actoragent) runs hook.d's scripts.
    vm.shell.run("printf '#!/bin/sh\\necho \"$1\" >> /run/vmtest-hook.log\\n' > /etc/actoragent/hook.d/10-vmtest "
                 "&& chmod +x /etc/actoragent/hook.d/10-vmtest && rm -f /run/vmtest-hook.log")
    pid = unit_show(vm, "MainPID")["MainPID"]
    froze = vm.agent.call("guest-fsfreeze-freeze-list", {"mountpoints": ["/mnt/data"]})
    hooked = vm.shell.run("cat /run/vmtest-hook.log 2>/dev/null || true")
    refused = sh(vm, f"ACTORAGENT_FROZEN_WAIT=2 dpkg -i /root/vmtest-debs/{deb_name} 2>&1", timeout=120)
    pid_after_refusal = unit_show(vm, "MainPID")["MainPID"]
    still = vm.agent.call("guest-fsfreeze-status")
    vm.shell.run(f"rm -f /run/upgrade.rc; ( ACTORAGENT_FROZEN_WAIT=120 dpkg -i /root/vmtest-debs/{deb_name} "
                 "> /run/upgrade.log 2>&1; echo $? > /run/upgrade.rc ) >/dev/null 2>&1 & true")
    time.sleep(4)
    waiting = vm.shell.run("cat /run/upgrade.rc 2>/dev/null || echo pending; grep -c 'waiting up to' "
                           "/run/upgrade.log || true")
    pid_while_waiting = unit_show(vm, "MainPID")["MainPID"]
    thawed = vm.agent.call("guest-fsfreeze-thaw")
    done = vm.shell.run("n=0; while [ ! -s /run/upgrade.rc ] && [ $n -lt 1200 ]; do sleep 0.1; n=$((n+1)); done; "
                        "cat /run/upgrade.rc 2>/dev/null || echo pending", timeout=150)
    hooked_after = vm.shell.run("cat /run/vmtest-hook.log 2>/dev/null || true")
    answered, waited = wait_answer(vm, 60)
    pid_after = unit_show(vm, "MainPID")["MainPID"]
    vm.shell.run("umount /mnt/data || true")
    report.check("sd-fsfreeze-hook-d", hooked == ["freeze"] and hooked_after == ["freeze", "thaw"],
                 f"/etc/actoragent/hook.d/10-vmtest saw {hooked} after the freeze and {hooked_after} after the thaw")
    timed(report, "sd-upgrade-while-frozen", began,
          froze == ("return", 1) and rc_of(refused) not in (0, None)
          and any("frozen" in l for l in refused) and pid_after_refusal == pid and still == ("return", "frozen")
          and waiting[0] == "pending" and waiting[1] != "0" and pid_while_waiting == pid
          and thawed == ("return", 1) and done == ["0"] and pid_after != pid and answered,
          f"freeze-list /mnt/data {froze}; dpkg -i with a 2s wait: rc={rc_of(refused)} "
          f"{[l for l in refused if 'actoragent:' in l][:1]}, agent pid {pid}→{pid_after_refusal}, status {still}; "
          f"with a 120s wait: {waiting[0]} after 4s (pid {pid_while_waiting}), thaw {thawed}, then dpkg rc "
          f"{done}, agent restarted (pid {pid_after}) and answers {'yes' if answered else 'NO'} ({waited:.1f}s)")


def purge_check(report, vm):
    began = time.time()
    files = vm.shell.run("dpkg-query -L actoragent")
    out = sh(vm, "dpkg --purge actoragent 2>&1", timeout=120)
    # What dpkg listed (directories other packages share stay), the package's own folders, anything
    # named after it anywhere on the root fs but the staged .deb, the agent's state and process.
    left = vm.shell.run(
        "for f in $(dpkg-query -L actoragent 2>/dev/null) " + " ".join(files) + "; do "
        "[ -d \"$f\" ] || [ ! -e \"$f\" ] || echo \"$f\"; done; "
        "for d in /etc/actoragent /usr/libexec/actoragent /usr/share/doc/actoragent; do "
        "[ -e \"$d\" ] && echo \"$d\"; done; "
        "find / -xdev -name '*actoragent*' -not -path '/root/vmtest-debs/*' 2>/dev/null; "
        f"ls /run/qga.state {FROZEN_MARKER} 2>/dev/null; "
        "pidof actoragent || true; true")
    status = vm.shell.run("dpkg-query -W -f='${db:Status-Abbrev}' actoragent 2>/dev/null || echo 'not known'")
    timed(report, "sd-purge-removes-everything", began, rc_of(out) == 0 and not left,
          f"dpkg --purge rc={rc_of(out)}; {len(files)} paths were listed; left behind: {left or 'nothing'}; "
          f"dpkg status now {status}")

    began = time.time()
    out = sh(vm, "dpkg -i /root/vmtest-debs/qemu-guest-agent_*.deb 2>&1", timeout=180)
    # Debian's postinst does not start its unit (static: deb-systemd-invoke skips it), and the port's
    # udev event is long past, so start it as its own unit would be started at boot.
    started = sh(vm, "systemctl start qemu-guest-agent.service", timeout=60)
    answered, waited = wait_answer(vm, 60)
    version = agent_version(vm) if answered else None
    timed(report, "sd-qemu-ga-reinstalled", began,
          rc_of(out) == 0 and rc_of(started) == 0 and answered and str(version).startswith("7."),
          f"dpkg -i qemu-guest-agent rc={rc_of(out)}; systemctl start rc={rc_of(started)}; Debian's qemu-ga "
          f"{version} answers {'yes' if answered else 'NO'} ({waited:.1f}s)")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", required=True, help="folder for the mmdebstrap tarball (kept between runs)")
    ap.add_argument("--deb", help="the actoragent .deb to install in the guest")
    ap.add_argument("--prepare-only", action="store_true",
                    help="only build the cached root filesystem (run.sh does it while the busybox checks run)")
    ap.add_argument("--workdir", help="image, sockets and logs (default: a temp folder)")
    ap.add_argument("--keep", action="store_true", help="keep the workdir even when everything passed")
    ap.add_argument("--mem", type=int, default=1024, help="guest RAM in MiB")
    ap.add_argument("--boot-seconds", type=float, default=180, help="QEMU start to the first answer, at most")
    ap.add_argument("--answer-budget", type=float, default=150,
                    help="the stated time within which ActorAgent must answer after QEMU starts (TCG)")
    ap.add_argument("--watchdog-seconds", type=float, default=60, help="SIGSTOP to a new main pid, at most")
    ap.add_argument("--vm-seconds", type=float, default=420, help="hard limit on each QEMU's life")
    ap.add_argument("--mmdebstrap-seconds", type=float, default=600, help="hard limit on building the tarball")
    ap.add_argument("--qemu", default=shutil.which("qemu-system-x86_64") or "qemu-system-x86_64")
    opts = ap.parse_args()
    opts.workdir = opts.workdir or tempfile.mkdtemp(prefix="actoragent-systemd-")
    os.makedirs(opts.workdir, exist_ok=True)
    os.makedirs(opts.cache, exist_ok=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    if opts.prepare_only:
        ensure_tools()
        tar, how = base_tarball(opts, Report())
        shutil.rmtree(opts.workdir, ignore_errors=True)
        print(f"systemd stage: {tar} {how}")
        return 0
    if not opts.deb:
        ap.error("--deb is required")

    report = Report()
    began = time.time()
    vms = []
    deb_name = os.path.basename(opts.deb)
    try:
        try:
            step = time.time()
            ensure_tools()
            tar, how = base_tarball(opts, report)
            image, mkfs = guest_image(opts, tar, [opts.deb])
            report.timing("mkfs.ext4 -d", mkfs)
            timed(report, "sd-image", step, True,
                  f"Debian {suite()} rootfs from this machine's apt sources ({how}), ext4 image by mkfs.ext4 -d "
                  f"in {mkfs:.1f}s, kernel and initramfs from its /boot")
        except Exception as e:
            report.check("sd-image", False, f"{type(e).__name__}: {e} (logs in {opts.workdir})")
            image = None
        if image:
            for phase in (install_phase, boot_phase):
                try:
                    phase(opts, report, image, deb_name, vms)
                except Exception as e:
                    report.check(phase.__name__, False, f"{type(e).__name__}: {e}")
                for vm in vms:
                    vm.stop()
    finally:
        for vm in vms:
            vm.stop()
    report.timing("whole systemd stage", time.time() - began)

    return report.finish(opts)


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""ActorAgent in a real QEMU guest: suspend to RAM, to disk and hybrid, seen from the host; fsfreeze of
a real ext4 filesystem, seen from inside the guest and in the disk image.

Boots the image from guest_image.py under QEMU (pc machine, TCG) with the agent on a real virtio-serial
port, and drives it as libvirt does: the agent's JSON on the port's unix socket, QEMU's events
(SUSPEND, WAKEUP, SHUTDOWN) and system_wakeup on QMP. What the test needs to see inside the guest
(a RAM-only marker, boot_id) goes through a plain shell on a second port, never through the agent.

Each check prints one 'PASS name: detail' or 'FAIL name: detail' line; the last line is
'N passed, M failed'. Every QEMU is killed by its own pid by a watchdog, and with this process.
Logs (guest consoles, QMP and agent transcripts, QEMU command lines) are kept when a check fails.

    vm_checks.py --cache CACHE_DIR [--workdir DIR] [--keep]
"""
import argparse
import json
import os
import secrets
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

AGENT_PORT = "org.qemu.guest_agent.0"
SHELL_PORT = "org.actoragent.vmtest.0"
# The kernel's swap header after a hibernation image was written (mm/swapfile.c, kernel/power/swap.c).
HIBERNATION_SIGNATURE = b"S1SUSPEND"
SWAP_SIGNATURE = b"SWAPSPACE2"
# Where the guest's /init mounts the ext4 data disk (the VM's second virtio disk).
DATA_MOUNT = "/mnt/data"
DATA_DEVICE = "/dev/vdb"
# Both agents' frozen marker with their default state directory (/var/run, a link to /run in the guest).
FROZEN_MARKER = "/run/qga.state.isfrozen"


# Checks of Debian's qemu-ga alone, whatever their names say.
REFERENCE_CHECKS = {"boot-ping-qemu-ga", "qemu-ga-vm", "sd-qemu-ga-boot"}


class Report:
    def __init__(self):
        self.results = []
        self.references = []
        self.timings = []

    def check(self, name, ok, detail):
        # Checks of Debian's qemu-ga itself are the reference the project is compared with, not the
        # project: printed, never counted in the totals. (Installing our package over qemu-ga, or
        # qemu-ga coming back after our purge, are checks of ours.)
        if "qemu-ga-reference" in name or name in REFERENCE_CHECKS:
            self.references.append((name, bool(ok), detail))
            print(f"{'REF' if ok else 'REF-FAIL'} {name}: {detail}", flush=True)
            return bool(ok)
        self.results.append((name, bool(ok), detail))
        print(f"{'PASS' if ok else 'FAIL'} {name}: {detail}", flush=True)
        return bool(ok)

    def timing(self, name, seconds):
        self.timings.append((name, seconds))

    @property
    def failed(self):
        return sum(1 for _, ok, _ in self.results if not ok)

    def finish(self, opts):
        """Prints the timings and the closing totals line, keeps the logs of a failed run; the exit code."""
        print("timings (TCG, pc machine, -m %d):" % opts.mem)
        for name, seconds in self.timings:
            print(f"  {seconds:7.2f}s  {name}")
        if self.failed or opts.keep:
            print(f"logs kept in {opts.workdir}")
        else:
            shutil.rmtree(opts.workdir, ignore_errors=True)
        print(f"{len(self.results) - self.failed} passed, {self.failed} failed")
        return 1 if self.failed else 0


def log(msg):
    print(f"  [{time.strftime('%H:%M:%S')}] {msg}", flush=True)


class Transcript:
    """Everything sent and received on one socket, with times, for the logs kept on failure."""

    def __init__(self, path):
        self.f = open(path, "a", buffering=1)
        self.t0 = time.time()

    def write(self, direction, text):
        self.f.write(f"{time.time() - self.t0:9.3f} {direction} {text}\n")


class Lines:
    """A unix socket read as lines, with timeouts. The connection is retried until QEMU listens."""

    def __init__(self, path, deadline, qemu, transcript):
        self.buf = b""
        self.transcript = transcript
        while True:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                s.close()
                if qemu.poll() is not None or time.time() > deadline:
                    raise RuntimeError(f"cannot connect to {path} (qemu exit status {qemu.poll()})")
                time.sleep(0.05)
        self.sock = s

    def send(self, text):
        self.transcript.write(">>", text.rstrip("\n"))
        self.sock.sendall(text.encode())

    def line(self, timeout):
        """The next line, or None after timeout; EOFError when the peer is gone."""
        deadline = time.time() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.time()
            if left <= 0 or not select.select([self.sock], [], [], left)[0]:
                return None
            try:
                data = self.sock.recv(65536)
            except ConnectionResetError:
                data = b""
            if not data:
                raise EOFError()
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        text = line.decode(errors="replace")
        self.transcript.write("<<", text)
        return text

    def close(self):
        self.sock.close()


class Qmp:
    """QEMU's monitor: a reader thread collects events; commands wait for their own id."""

    def __init__(self, path, deadline, qemu, transcript):
        self.lines = Lines(path, deadline, qemu, transcript)
        self.events = []
        self.replies = {}
        self.cond = threading.Condition()
        self.closed = False
        greeting = self.lines.line(max(1, deadline - time.time()))
        if not greeting or "QMP" not in greeting:
            raise RuntimeError(f"no QMP greeting: {greeting}")
        threading.Thread(target=self._read, daemon=True).start()
        self.execute("qmp_capabilities")

    def _read(self):
        try:
            while True:
                text = self.lines.line(3600)
                if text is None:
                    continue
                msg = json.loads(text)
                with self.cond:
                    if "event" in msg:
                        ts = msg["timestamp"]
                        msg["at"] = ts["seconds"] + ts["microseconds"] / 1e6
                        self.events.append(msg)
                    elif "id" in msg:
                        self.replies[msg["id"]] = msg
                    self.cond.notify_all()
        except (EOFError, OSError, ValueError):
            with self.cond:
                self.closed = True
                self.cond.notify_all()

    def execute(self, command, timeout=30):
        cid = secrets.token_hex(4)
        self.lines.send(json.dumps({"execute": command, "id": cid}) + "\n")
        with self.cond:
            if not self.cond.wait_for(lambda: cid in self.replies or self.closed, timeout) or cid not in self.replies:
                raise RuntimeError(f"QMP {command}: no answer")
            reply = self.replies.pop(cid)
        if "error" in reply:
            raise RuntimeError(f"QMP {command}: {reply['error']}")
        return reply["return"]

    def mark(self):
        with self.cond:
            return len(self.events)

    def wait_event(self, name, since, timeout):
        """The first event called name after mark since, or None."""
        def find():
            return next((e for e in self.events[since:] if e["event"] == name), None)
        with self.cond:
            self.cond.wait_for(lambda: find() is not None or self.closed, timeout)
            return find()

    def seen(self, since):
        with self.cond:
            return [e["event"] for e in self.events[since:]]


class Agent:
    """The guest agent's socket: JSON requests, replies matched by the guest-sync handshake."""

    def __init__(self, path, deadline, qemu, transcript):
        self.lines = Lines(path, deadline, qemu, transcript)

    def send(self, command, arguments=None):
        msg = {"execute": command}
        if arguments is not None:
            msg["arguments"] = arguments
        self.lines.send(json.dumps(msg) + "\n")

    def receive(self, timeout):
        text = self.lines.line(timeout)
        return None if text is None else json.loads(text.lstrip("\xff").strip() or "null")

    def sync(self, timeout, every=2.0):
        """guest-sync with fresh ids until one is echoed (stale replies are dropped); True if it was."""
        deadline = time.time() + timeout
        try:
            while time.time() < deadline:
                sid = secrets.randbelow(2 ** 31)
                self.send("guest-sync", {"id": sid})
                until = min(deadline, time.time() + every)
                while time.time() < until:
                    reply = self.receive(until - time.time())
                    if isinstance(reply, dict) and reply.get("return") == sid:
                        return True
        except (EOFError, OSError):
            return False
        return False

    def call(self, command, arguments=None, timeout=30):
        """('return', value) | ('error', {class, desc}) | ('timeout', None)."""
        self.send(command, arguments)
        reply = self.receive(timeout)
        if reply is None:
            return "timeout", None
        if "error" in reply:
            return "error", reply["error"]
        return "return", reply.get("return")

    def quiet(self, seconds):
        """Whatever the agent says within seconds (for 'sends no reply')."""
        said = []
        deadline = time.time() + seconds
        try:
            while time.time() < deadline:
                reply = self.receive(deadline - time.time())
                if reply is not None:
                    said.append(reply)
        except EOFError:
            pass
        return said


class Shell:
    """The test shell on the second port: runs a command in the guest, returns its output."""

    def __init__(self, path, deadline, qemu, transcript):
        self.lines = Lines(path, deadline, qemu, transcript)

    def run(self, command, timeout=30):
        end = "@@" + secrets.token_hex(6)
        self.lines.send(f"{{ {command} ; }} </dev/null 2>&1; echo {end} $?\n")
        out = []
        deadline = time.time() + timeout
        while True:
            line = self.lines.line(max(0, deadline - time.time()))
            if line is None:
                raise RuntimeError(f"guest shell: no answer to {command!r}")
            if line.startswith(end):
                if line.split()[1] != "0":
                    raise RuntimeError(f"guest shell: {command!r} exited {line.split()[1]}: {out}")
                return out
            out.append(line)


def _die_with_parent():
    # The signal follows the death of the thread that started QEMU: each lane stops its VMs before ending.
    try:
        import ctypes
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)   # PR_SET_PDEATHSIG: no QEMU outlives the test
    except OSError:
        pass


class Vm:
    """One QEMU process, killed only through its own pid (watchdog, stop, or our death)."""

    def __init__(self, opts, label, agent, disk, s3=True, data=None):
        self.opts, self.label, self.agent_kind, self.disk, self.s3, self.data = opts, label, agent, disk, s3, data
        w = opts.workdir
        self.console = os.path.join(w, f"{label}.console.log")
        self.qmp_path = os.path.join(w, f"{label}.qmp")
        self.agent_path = os.path.join(w, f"{label}.agent")
        self.shell_path = os.path.join(w, f"{label}.shell")
        self.qemu = self.qmp = self.agent = self.shell = self.watchdog = None

    def command(self):
        o = self.opts
        data = [] if self.data is None else [
            "-drive", f"file={self.data},if=virtio,format=raw,cache=unsafe"]
        return [o.qemu, "-machine", "pc,accel=tcg", "-cpu", "max", "-smp", "1", "-m", str(o.mem),
                "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
                "-serial", f"file:{self.console}",
                "-kernel", os.path.join(o.cache, "vmlinuz"), "-initrd", os.path.join(o.cache, "initrd.img"),
                "-append", f"console=ttyS0 panic=-1 vmtest.agent={self.agent_kind} vmtest.swap=/dev/vda"
                + (f" vmtest.data={DATA_DEVICE}" if self.data else ""),
                # S3 on: the guest's mem_sleep offers deep; off: only s2idle, which QEMU never sees.
                "-global", f"PIIX4_PM.disable_s3={0 if self.s3 else 1}",
                "-qmp", f"unix:{self.qmp_path},server=on,wait=off",
                "-device", "virtio-serial-pci,id=serial0",
                "-chardev", f"socket,id=agent,path={self.agent_path},server=on,wait=off",
                "-device", f"virtserialport,bus=serial0.0,chardev=agent,name={AGENT_PORT},id=agentport",
                "-chardev", f"socket,id=shell,path={self.shell_path},server=on,wait=off",
                "-device", f"virtserialport,bus=serial0.0,chardev=shell,name={SHELL_PORT}",
                "-drive", f"file={self.disk},if=virtio,format=raw,cache=unsafe",
                *data,
                "-device", "virtio-rng-pci"]

    def start(self):
        for p in (self.qmp_path, self.agent_path, self.shell_path):
            if os.path.exists(p):
                os.unlink(p)
        cmd = self.command()
        with open(os.path.join(self.opts.workdir, f"{self.label}.cmdline"), "w") as f:
            f.write(" ".join(cmd) + "\n")
        out = open(os.path.join(self.opts.workdir, f"{self.label}.qemu.log"), "w")
        self.started = time.time()
        self.qemu = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                     preexec_fn=_die_with_parent)
        self.watchdog = threading.Timer(self.opts.vm_seconds, self._expire)
        self.watchdog.daemon = True
        self.watchdog.start()
        deadline = time.time() + 20
        t = Transcript(os.path.join(self.opts.workdir, f"{self.label}.transcript.log"))
        self.qmp = Qmp(self.qmp_path, deadline, self.qemu, t)
        self.agent = Agent(self.agent_path, deadline, self.qemu, t)
        self.shell = Shell(self.shell_path, deadline, self.qemu, t)
        log(f"{self.label}: qemu pid {self.qemu.pid}, agent {self.agent_kind}, S3 {'on' if self.s3 else 'off'}")

    def _expire(self):
        if self.qemu.poll() is None:
            log(f"{self.label}: watchdog: qemu pid {self.qemu.pid} ran {self.opts.vm_seconds:.0f}s, killing it")
            self.qemu.kill()

    def boot(self):
        """Starts QEMU and waits for the agent's first answer; returns seconds from start, or None."""
        self.start()
        if not self.agent.sync(self.opts.boot_seconds):
            return None
        return time.time() - self.started

    def port_opened(self):
        """Seconds from QEMU start until the guest first opened the agent's port (VSERPORT_CHANGE)."""
        opened = next((e for e in self.qmp.events if e["event"] == "VSERPORT_CHANGE"
                       and e["data"].get("id") == "agentport" and e["data"].get("open")), None)
        return None if opened is None else opened["at"] - self.started

    def exited(self, timeout):
        try:
            self.qemu.wait(timeout)
            return True
        except subprocess.TimeoutExpired:
            return False

    def power_cut(self):
        """Pulls the plug: QEMU's quit, no guest involvement."""
        try:
            self.qmp.execute("quit", timeout=5)
        except RuntimeError:
            pass
        if not self.exited(10):
            self.qemu.kill()
            self.qemu.wait()

    def stop(self):
        if self.qemu is None:
            return
        if self.qemu.poll() is None:
            self.power_cut()
        self.watchdog.cancel()
        for c in (self.agent, self.shell, self.qmp):
            if c is not None:
                c.lines.close()

    def console_has(self, text):
        with open(self.console, errors="replace") as f:
            return text in f.read()


def new_disk(opts, name, mb=1024):
    path = os.path.join(opts.workdir, f"{name}.swap.img")
    with open(path, "wb") as f:
        f.truncate(mb * 1024 * 1024)   # sparse; the guest's init runs mkswap on it
    return path


def e2fsprogs(tool):
    """A tool from Debian's e2fsprogs (run.sh installs it); /sbin may be missing from a user's PATH."""
    path = shutil.which(tool) or shutil.which(tool, path="/usr/sbin:/sbin")
    if path is None:
        raise RuntimeError(f"{tool} not found (apt-get install e2fsprogs)")
    return path


def new_ext4_disk(opts, name, mb=64):
    """A sparse image with a fresh ext4 for the guest's /mnt/data."""
    path = os.path.join(opts.workdir, f"{name}.ext4.img")
    with open(path, "wb") as f:
        f.truncate(mb * 1024 * 1024)
    # Inode tables and journal are written now, so no lazy-init thread writes in the guest mid-check.
    subprocess.run([e2fsprogs("mkfs.ext4"), "-F", "-q", "-L", "vmtest-data",
                    "-E", "lazy_itable_init=0,lazy_journal_init=0", path], check=True, capture_output=True)
    return path


class HostView:
    """The data disk's image as the host reads it, as a backup copying the disk would (read-only tools)."""

    def __init__(self, disk, path):
        header = subprocess.run([e2fsprogs("dumpe2fs"), "-h", disk], capture_output=True, text=True).stdout
        features = next((l.split(":", 1)[1].split() for l in header.splitlines()
                         if l.startswith("Filesystem features:")), [])
        self.needs_recovery = "needs_recovery" in features
        fsck = subprocess.run([e2fsprogs("e2fsck"), "-fn", disk], capture_output=True, text=True)
        self.clean = fsck.returncode == 0
        self.fsck = fsck.stdout.strip().splitlines()[-1:] if fsck.returncode else []
        self.content = subprocess.run([e2fsprogs("debugfs"), "-R", f"cat {path}", disk],
                                      capture_output=True, text=True).stdout.strip()

    def __str__(self):
        return (f"journal {'NOT flushed (needs_recovery)' if self.needs_recovery else 'flushed'}, "
                f"e2fsck -fn {'clean' if self.clean else f'NOT clean {self.fsck}'}")


def swap_signature(disk):
    with open(disk, "rb") as f:
        f.seek(4096 - 10)
        return f.read(10)


def marker(vm):
    """A fresh token in /run (tmpfs: only RAM holds it) and the kernel's boot_id."""
    token = secrets.token_hex(8)
    vm.shell.run(f"echo {token} > /run/vmtest-marker")
    return token, read_marker(vm)[1]


def read_marker(vm):
    out = vm.shell.run("cat /run/vmtest-marker 2>/dev/null || echo none; cat /proc/sys/kernel/random/boot_id")
    return out[0], out[1]


def capabilities(vm):
    kind, value = vm.agent.call("__org.actoragent_get-power-capabilities")
    if kind != "return":
        raise RuntimeError(f"capability query: {kind} {value}")
    return {c["mode"]: c for c in value}


def sleep_cycle(vm, command, report, name):
    """command must send nothing, QEMU must report SUSPEND and status 'suspended'; system_wakeup must
    give WAKEUP and the agent must answer again. Returns True when all of that held."""
    vm.agent.sync(20)
    since = vm.qmp.mark()
    sent = time.time()
    vm.agent.send(command)
    suspend = vm.qmp.wait_event("SUSPEND", since, 60)
    if suspend is None:
        said = vm.agent.quiet(0.5)
        return report.check(name, False, f"no SUSPEND within 60s; agent said {said}; QMP events {vm.qmp.seen(since)}")
    to_suspend = suspend["at"] - sent
    status = vm.qmp.execute("query-status")["status"]
    said = vm.agent.quiet(1.0)   # while suspended: nothing, and nothing was sent before either
    time.sleep(0.5)
    since = vm.qmp.mark()
    woken = time.time()
    vm.qmp.execute("system_wakeup")
    wakeup = vm.qmp.wait_event("WAKEUP", since, 30)
    answered = vm.agent.sync(60)
    to_answer = time.time() - woken
    pinged = vm.agent.call("guest-ping")[0] == "return"
    ok = status == "suspended" and not said and wakeup is not None and answered and pinged
    report.timing(f"{name}: command to SUSPEND", to_suspend)
    report.timing(f"{name}: system_wakeup to agent answer", to_answer)
    return report.check(name, ok,
                        f"no reply {'(ok)' if not said else f'BUT agent said {said}'}; SUSPEND {to_suspend:.2f}s after "
                        f"the command; query-status {status}; WAKEUP {'yes' if wakeup else 'NO'}; guest-sync+ping "
                        f"{'answered' if answered and pinged else 'NOT answered'} {to_answer:.2f}s after system_wakeup")


def restore_check(opts, report, name, old_vm, token, boot_id, label, vms):
    """Boots the same disk in a new QEMU: the guest must come back from the hibernation image."""
    vm = Vm(opts, label, "ours", old_vm.disk)
    vms.append(vm)
    took = vm.boot()
    if took is None:
        report.check(name, False, f"the agent did not answer within {opts.boot_seconds:.0f}s of the restart")
        return vm, False
    token2, boot_id2 = read_marker(vm)
    pinged = vm.agent.call("guest-ping")[0] == "return"
    restored = vm.console_has("PM: hibernation: Read") or vm.console_has("PM: Image successfully loaded")
    report.timing(f"{name}: qemu start to agent answer", took)
    ok = report.check(name, token2 == token and boot_id2 == boot_id and pinged,
                 f"RAM marker {'kept' if token2 == token else f'LOST ({token2})'}, boot_id "
                 f"{'unchanged' if boot_id2 == boot_id else 'CHANGED'}, guest-ping {'answered' if pinged else 'FAILED'} "
                 f"{took:.2f}s after qemu start (kernel read the image: {restored})")
    return vm, ok


def fsfreeze_checks(opts, vm, report, suffix):
    """Freeze and thaw of the ext4 on /mnt/data (issue 7), the guest's shell and the host as witnesses.
    Frozen: the agent says 1 filesystem and 'frozen'; a write started in the guest hangs; guest-get-time
    is refused and guest-info (allow-listed) answers; the image on the host is a flushed, consistent ext4
    holding what was written before the freeze. Thawed: 1 filesystem, 'thawed', the hung write
    completes and its data reaches the disk."""
    mounts = vm.shell.run(f"grep ' {DATA_MOUNT} ' /proc/mounts || true")
    fields = mounts[0].split() if mounts else []
    if not report.check(f"ext4-data-disk{suffix}", fields[:3] == [DATA_DEVICE, DATA_MOUNT, "ext4"]
                        and fields[3].split(",")[0] == "rw", f"/proc/mounts: {mounts or 'no ' + DATA_MOUNT}"):
        return
    before, data = secrets.token_hex(8), secrets.token_hex(8)
    vm.shell.run(f"echo {before} > {DATA_MOUNT}/before")
    vm.agent.sync(20)
    sent = time.time()
    froze = vm.agent.call("guest-fsfreeze-freeze-list", {"mountpoints": [DATA_MOUNT]})
    to_freeze = time.time() - sent
    status = vm.agent.call("guest-fsfreeze-status")
    marker_file = vm.shell.run(f"ls {FROZEN_MARKER} 2>/dev/null || echo none")[0]
    # The writer's output goes to /dev/null: the shell's port carries only the test's own commands.
    vm.shell.run(f"rm -f /run/write-done; ( echo {data} > {DATA_MOUNT}/f && sync && touch /run/write-done ) "
                 f">/dev/null 2>&1 & true")
    time.sleep(opts.blocked_seconds)
    pending = vm.shell.run("test -e /run/write-done && echo completed || echo pending")[0]
    refused = vm.agent.call("guest-get-time")
    allowed = vm.agent.call("guest-info")[0]   # on the freeze allow-list
    snapshot = HostView(vm.data, "/before")
    desc = refused[1].get("desc", "") if refused[0] == "error" else ""
    report.timing(f"fsfreeze{suffix}: freeze-list round trip", to_freeze)
    report.check(f"fsfreeze-frozen{suffix}",
                 froze == ("return", 1) and status == ("return", "frozen") and pending == "pending"
                 and refused[0] == "error" and refused[1].get("class") == "CommandNotFound"
                 and "has been disabled" in desc and allowed == "return" and marker_file == FROZEN_MARKER,
                 f"freeze-list [{DATA_MOUNT}] {froze} in {to_freeze:.2f}s; status {status}; marker {marker_file}; "
                 f"write started in the guest {pending} after {opts.blocked_seconds:.0f}s; guest-get-time {refused}; "
                 f"guest-info {'answered' if allowed == 'return' else allowed}")
    report.check(f"fsfreeze-image-consistent{suffix}",
                 not snapshot.needs_recovery and snapshot.clean and snapshot.content == before,
                 f"image read on the host while frozen: {snapshot}; /before "
                 f"{'holds what was written before the freeze' if snapshot.content == before else f'= {snapshot.content!r}'}")

    sent = time.time()
    thawed = vm.agent.call("guest-fsfreeze-thaw")
    to_thaw = time.time() - sent
    status = vm.agent.call("guest-fsfreeze-status")
    waited = time.time()
    completed = vm.shell.run("n=0; while [ ! -e /run/write-done ] && [ $n -lt 200 ]; do sleep 0.1; n=$((n+1)); done; "
                             "test -e /run/write-done && echo completed || echo pending", timeout=40)[0]
    to_write = time.time() - waited
    read_back = vm.shell.run(f"cat {DATA_MOUNT}/f 2>&1 || true")
    marker_file = vm.shell.run(f"ls {FROZEN_MARKER} 2>/dev/null || echo none")[0]
    vm.shell.run(f"umount {DATA_MOUNT}")   # checkpoints the journal: the host then reads the file in place
    on_disk = HostView(vm.data, "/f")
    report.timing(f"fsfreeze{suffix}: thaw round trip", to_thaw)
    report.timing(f"fsfreeze{suffix}: thaw reply to the hung write completing (guest polls every 0.1s)", to_write)
    report.check(f"fsfreeze-thawed{suffix}",
                 thawed == ("return", 1) and status == ("return", "thawed") and marker_file == "none"
                 and completed == "completed" and read_back == [data] and on_disk.content == data and on_disk.clean,
                 f"thaw {thawed} in {to_thaw:.2f}s; status {status}; marker {marker_file}; the hung write {completed} "
                 f"{to_write:.2f}s after the thaw reply; guest reads {read_back} "
                 f"({'its data' if read_back == [data] else 'NOT its data'}); after umount the image holds "
                 f"{'that data' if on_disk.content == data else repr(on_disk.content)}, {on_disk}")


def main_vm_checks(opts, report):
    """Checks 1-5, 7 (S3 side) and 8 in one VM and its restarts from the same swap disk."""
    vm = Vm(opts, "main", "ours", new_disk(opts, "main"))
    vms = [vm]
    try:
        took = vm.boot()
        if took is None:
            report.check("boot-ping-ours", False, f"no answer within {opts.boot_seconds:.0f}s")
            return vms
        pinged = vm.agent.call("guest-ping")
        report.timing("boot to first answer (ActorAgent)", took)
        report.check("boot-ping-ours", pinged == ("return", {}),
                     f"guest-sync answered {took:.2f}s after qemu start (the guest opened the port at "
                     f"{vm.port_opened() or -1:.2f}s); guest-ping {pinged}")

        kind, info = vm.agent.call("guest-info")
        suspend = {c["name"]: c for c in (info or {}).get("supported_commands", []) if "suspend" in c["name"]}
        want = ["guest-suspend-disk", "guest-suspend-ram", "guest-suspend-hybrid"]
        report.check("guest-info", kind == "return" and all(
            suspend.get(n, {}).get("enabled") is True and suspend[n].get("success-response") is False for n in want),
            "; ".join(f"{n} enabled={suspend.get(n, {}).get('enabled')} success-response="
                      f"{suspend.get(n, {}).get('success-response')}" for n in want))

        caps = capabilities(vm)
        ram = sleep_cycle(vm, "guest-suspend-ram", report, "suspend-ram")
        ram2 = ram and sleep_cycle(vm, "guest-suspend-ram", report, "suspend-ram-again")
        hybrid = sleep_cycle(vm, "guest-suspend-hybrid", report, "suspend-hybrid-sysfs")

        # hybrid, then the power goes while the guest sleeps: the image on disk must bring it back
        token, boot_id = marker(vm)
        vm.agent.sync(20)
        since = vm.qmp.mark()
        vm.agent.send("guest-suspend-hybrid")
        suspended = vm.qmp.wait_event("SUSPEND", since, 60)
        signature = swap_signature(vm.disk)
        vm.power_cut()
        if suspended is None or not signature.startswith(HIBERNATION_SIGNATURE):
            report.check("hybrid-power-cut-restores", False,
                         f"SUSPEND {'seen' if suspended else 'NOT seen'}; swap header {signature!r}")
            return vms
        vm, ok = restore_check(opts, report, "hybrid-power-cut-restores", vm, token, boot_id, "after-power-cut", vms)
        if not ok:
            return vms

        # hibernate: no reply, the image on the swap disk, QMP SHUTDOWN, QEMU exits
        token, boot_id = marker(vm)
        vm.agent.sync(20)
        since = vm.qmp.mark()
        sent = time.time()
        vm.agent.send("guest-suspend-disk")
        down = vm.qmp.wait_event("SHUTDOWN", since, 120)
        said = vm.agent.quiet(0.2)   # buffered before QEMU went away, if anything
        gone = vm.exited(30)
        signature = swap_signature(vm.disk)
        wrote = vm.console_has("PM: hibernation: Wrote") or vm.console_has("PM: Image saving done")
        ok = down is not None and not said and gone and signature.startswith(HIBERNATION_SIGNATURE)
        if down:
            report.timing("suspend-disk: command to SHUTDOWN", down["at"] - sent)
        report.check("suspend-disk", ok,
                     f"SHUTDOWN {'%.2fs after the command %s' % (down['at'] - sent, down.get('data')) if down else 'NOT seen'}"
                     f"{'; agent said ' + str(said) if said else ''}; qemu exited {gone}; swap header {signature!r} "
                     f"(kernel wrote the image: {wrote})")
        if not ok:
            return vms
        vm.stop()
        vm, ok = restore_check(opts, report, "suspend-disk-restores", vm, token, boot_id, "after-hibernate", vms)
        if not ok:
            return vms
        caps_after = capabilities(vm)

        methods = {m: (c["supported"], c.get("method")) for m, c in caps.items()}
        report.check("capabilities-agree-s3", caps == caps_after and all(
            methods.get(m) == (True, "sysfs") for m in ("ram", "disk", "hybrid")) and ram and ram2 and hybrid,
            f"query says {methods} before and {'the same' if caps == caps_after else caps_after} after restore; "
            f"ram and hybrid cycles {'passed' if ram and ram2 and hybrid else 'FAILED'}, disk as checked above")

        since = vm.qmp.mark()
        sent = time.time()
        vm.agent.send("guest-shutdown")
        down = vm.qmp.wait_event("SHUTDOWN", since, 60)
        said = vm.agent.quiet(0.2)
        gone = vm.exited(30)
        reason = (down or {}).get("data", {}).get("reason")
        report.check("guest-shutdown", down is not None and reason == "guest-shutdown" and gone and not said,
                     f"SHUTDOWN {'%.2fs after the command %s' % (down['at'] - sent, down.get('data')) if down else 'NOT seen'}; "
                     f"qemu exited {gone}{'; agent said ' + str(said) if said else ''}")
        return vms
    except Exception as e:   # a surprise in the harness or the guest is a failure, with its reason
        report.check("main-vm", False, f"{type(e).__name__}: {e}")
        return vms


def s2idle_checks(opts, report):
    """Check 6 and 7 (s2idle side): S3 disabled, the agent must refuse at once and say why; then the
    fsfreeze checks in the same VM."""
    vm = Vm(opts, "s2idle", "ours", new_disk(opts, "s2idle"), s3=False, data=new_ext4_disk(opts, "s2idle"))
    try:
        took = vm.boot()
        if took is None:
            report.check("s2idle-refused", False, f"no answer within {opts.boot_seconds:.0f}s")
            return [vm]
        mem_sleep = vm.shell.run("cat /sys/power/mem_sleep")[0]
        since = vm.qmp.mark()
        sent = time.time()
        kind, error = vm.agent.call("guest-suspend-ram", timeout=10)
        answered = time.time() - sent
        suspended = vm.qmp.wait_event("SUSPEND", since, 1)
        pinged = vm.agent.call("guest-ping")[0] == "return"
        desc = (error or {}).get("desc", "") if kind == "error" else ""
        report.timing("s2idle: guest-suspend-ram to refusal", answered)
        report.check("s2idle-refused", kind == "error" and "s2idle" in desc and suspended is None and pinged,
                     f"mem_sleep '{mem_sleep}'; {kind} after {answered:.2f}s: {error}; SUSPEND "
                     f"{'SEEN' if suspended else 'not seen'}; guest-ping after {'answered' if pinged else 'FAILED'}")
        caps = capabilities(vm)
        ram, hybrid, disk = caps["ram"], caps["hybrid"], caps["disk"]
        report.check("capabilities-agree-s2idle",
                     not ram["supported"] and ram.get("reason", "") in desc and "s2idle" in ram.get("reason", "")
                     and not hybrid["supported"] and disk["supported"],
                     f"ram {ram}; hybrid {hybrid}; disk {disk}")
        fsfreeze_checks(opts, vm, report, "-ours")
    except Exception as e:
        report.check("s2idle-vm", False, f"{type(e).__name__}: {e}")
    return [vm]


def qemu_ga_reference(opts, report):
    """Debian's qemu-ga booted from the same image: its boot-to-answer time, its refusal of hybrid
    without systemd or pm-utils, the same fsfreeze checks, and what it does on an s2idle-only guest
    (it writes 'mem' and the guest idles: no reply, no SUSPEND, the host waits)."""
    vm = Vm(opts, "qemu-ga", "qemu-ga", new_disk(opts, "qemu-ga"), s3=False, data=new_ext4_disk(opts, "qemu-ga"))
    try:
        took = vm.boot()
        if took is None:
            report.check("boot-ping-qemu-ga", False, f"no answer within {opts.boot_seconds:.0f}s")
            return [vm]
        pinged = vm.agent.call("guest-ping")
        report.timing("boot to first answer (qemu-ga, same image)", took)
        report.check("boot-ping-qemu-ga", pinged == ("return", {}),
                     f"guest-sync answered {took:.2f}s after qemu start (the guest opened the port at "
                     f"{vm.port_opened() or -1:.2f}s); guest-ping {pinged}")
        kind, error = vm.agent.call("guest-suspend-hybrid", timeout=10)
        report.check("hybrid-qemu-ga-reference", kind == "error",
                     f"qemu-ga without systemd or pm-utils: {kind} {error} (ActorAgent does hybrid through sysfs)")
        fsfreeze_checks(opts, vm, report, "-qemu-ga-reference")
        since = vm.qmp.mark()
        vm.agent.send("guest-suspend-ram")
        said = vm.agent.quiet(opts.reference_wait)
        report.check("s2idle-qemu-ga-reference", not said and vm.qmp.wait_event("SUSPEND", since, 0) is None,
                     f"qemu-ga: {'no reply' if not said else said} and no SUSPEND in {opts.reference_wait:.0f}s "
                     f"(the guest idles in s2idle; a host waits for an event that never comes)")
    except Exception as e:
        report.check("qemu-ga-vm", False, f"{type(e).__name__}: {e}")
    return [vm]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", required=True, help="folder with vmlinuz and initrd.img from guest_image.py")
    ap.add_argument("--workdir", help="sockets, disks and logs (default: a temp folder)")
    ap.add_argument("--keep", action="store_true", help="keep the workdir even when everything passed")
    ap.add_argument("--mem", type=int, default=1024, help="guest RAM in MiB")
    ap.add_argument("--boot-seconds", type=float, default=150, help="qemu start to the agent's first answer")
    ap.add_argument("--vm-seconds", type=float, default=300, help="hard limit on each QEMU's life")
    ap.add_argument("--blocked-seconds", type=float, default=3, help="how long a write must hang while frozen")
    ap.add_argument("--reference-wait", type=float, default=5, help="how long qemu-ga's silence is watched")
    ap.add_argument("--qemu", default=shutil.which("qemu-system-x86_64") or "qemu-system-x86_64")
    opts = ap.parse_args()
    opts.workdir = opts.workdir or tempfile.mkdtemp(prefix="actoragent-vmtest-")
    os.makedirs(opts.workdir, exist_ok=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))   # run the finally below: stop every QEMU

    report = Report()
    began = time.time()
    vms = []

    def lane(*phases):
        for phase in phases:
            try:
                started = phase(opts, report)
            except Exception as e:   # e.g. no disk could be made: a failure, not checks silently missing
                report.check(phase.__name__, False, f"{type(e).__name__}: {e}")
                continue
            vms.extend(started)
            for vm in started:
                vm.stop()

    # Two lanes, one per core: the main VM's chain, and qemu-ga then the s2idle VM. ActorAgent's and
    # qemu-ga's first boots run side by side, so their boot times are measured under the same load.
    lanes = [threading.Thread(target=lane, args=(main_vm_checks,)),
             threading.Thread(target=lane, args=(qemu_ga_reference, s2idle_checks))]
    try:
        for t in lanes:
            t.start()
        for t in lanes:
            t.join()
    finally:
        for vm in vms:
            vm.stop()
    report.timing("whole VM test", time.time() - began)

    return report.finish(opts)


if __name__ == "__main__":
    sys.exit(main())

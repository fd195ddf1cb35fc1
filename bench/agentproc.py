"""Shared by the bench scripts: start an agent binary on a unix socket in a temp folder, talk to it,
and sample its RSS, open descriptors, CPU time and context switches from /proc.

Only the commands in ALLOWED are ever sent: read-only ones, guest-file-* on paths inside the run's
temp folder, and guest-exec of /bin/true. The agent is also started with every other command that
could act on the machine blocked (-b), as a second guard.
"""
import glob
import json
import os
import socket
import subprocess
import threading
import time

ALLOWED = {
    "guest-ping", "guest-sync", "guest-info", "guest-get-osinfo", "guest-get-time",
    "guest-network-get-interfaces", "guest-get-fsinfo",
    "guest-file-open", "guest-file-write", "guest-file-read", "guest-file-close",
    "guest-exec", "guest-exec-status",
}

BLOCKED = ("guest-shutdown,guest-suspend-disk,guest-suspend-ram,guest-suspend-hybrid,guest-set-time,"
           "guest-fsfreeze-freeze,guest-fsfreeze-freeze-list,guest-fsfreeze-thaw,guest-fstrim,guest-set-vcpus,"
           "guest-set-memory-blocks,guest-set-user-password,guest-ssh-add-authorized-keys,"
           "guest-ssh-remove-authorized-keys")


def request(command, arguments=None, id=None):
    if command not in ALLOWED:
        raise SystemExit(f"refusing to send {command}")
    msg = {"execute": command}
    if arguments is not None:
        msg["arguments"] = arguments
    if id is not None:
        msg["id"] = id
    return (json.dumps(msg, separators=(",", ":")) + "\n").encode()


def check_path(path, folder):
    real = os.path.realpath(path)
    if not real.startswith(os.path.realpath(folder) + os.sep):
        raise SystemExit(f"refusing a file path outside {folder}: {path}")
    return path


class Connection:
    """One client connection; replies are read as whole lines."""

    def __init__(self, path, timeout=120.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buf = bytearray()

    def close(self):
        self.sock.close()

    def line(self):
        start = 0
        while True:
            i = self.buf.find(b"\n", start)
            if i >= 0:
                out = bytes(self.buf[:i])
                del self.buf[:i + 1]
                return out
            start = len(self.buf)
            data = self.sock.recv(1 << 20)
            if not data:
                raise ConnectionError("agent closed the connection")
            self.buf += data

    def call(self, command, arguments=None):
        self.sock.sendall(request(command, arguments))
        reply = json.loads(self.line())
        if "error" in reply:
            raise RuntimeError(f"{command}: {reply['error']}")
        return reply["return"]


def connect_when_listening(sock, proc, interval, deadline=None):
    """A unix socket connected to `sock` as soon as `proc` listens on it (retried every `interval` s);
    raises if `proc` exits first or time.monotonic() passes `deadline`."""
    while True:
        s = socket.socket(socket.AF_UNIX)
        try:
            s.connect(sock)
            return s
        except (FileNotFoundError, ConnectionRefusedError):
            s.close()
            if proc.poll() is not None:
                raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode}")
            if deadline is not None and time.monotonic() > deadline:
                raise RuntimeError(f"{proc.args[0]} did not listen in time")
            time.sleep(interval)


def status(pid, key):
    """A field of /proc/PID/status in kB (VmRSS, VmHWM), or None when the process is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def rss_mb(pid):
    kb = status(pid, "VmRSS")
    return None if kb is None else kb / 1024.0


class PeakSampler:
    """Reads read(pid) every `interval` s in a thread while in a with-block and keeps, as .top, the
    sample that rank() puts highest (by default the sample itself: rss_mb's MB). Stops when the
    process is gone (read returns None)."""

    def __init__(self, pid, read=rss_mb, interval=0.005, rank=lambda sample: sample):
        self.pid, self.read, self.interval, self.rank = pid, read, interval, rank
        self.top, self._stop = None, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            sample = self.read(self.pid)
            if sample is None:
                return
            if self.top is None or self.rank(sample) > self.rank(self.top):
                self.top = sample
            time.sleep(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def cpu_seconds(pid):
    """utime + stime of all the process's threads, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def context_switches(pid):
    """Voluntary + involuntary context switches summed over the process's threads."""
    total = 0
    for path in glob.glob(f"/proc/{pid}/task/*/status"):
        try:
            with open(path) as f:
                for line in f:
                    if "ctxt_switches" in line:
                        total += int(line.split()[1])
        except FileNotFoundError:
            pass  # a thread that ended between the glob and the open
    return total


def fd_count(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except FileNotFoundError:
        return None


class Agent:
    """An agent binary serving -m unix-listen in WORKDIR (ActorAgent or qemu-ga: same options)."""

    def __init__(self, binary, workdir, name="agent", extra=(), env=None, block=True, cpu=None):
        """cpu: pin the agent (all its threads, from its start) to this CPU."""
        self.binary, self.workdir, self.name, self.cpu = binary, workdir, name, cpu
        self.sock = os.path.join(workdir, f"{name}.sock")
        self.statedir = os.path.join(workdir, f"{name}-state")
        os.makedirs(self.statedir, exist_ok=True)
        self.extra, self.env, self.block = list(extra), env, block
        self.proc = None

    def start(self, wait=10.0):
        if os.path.exists(self.sock):
            os.unlink(self.sock)
        argv = [self.binary, "-m", "unix-listen", "-p", self.sock, "-t", self.statedir] + self.extra
        if self.block:
            argv += ["-b", BLOCKED]
        env = dict(os.environ)
        env.update(self.env or {})
        pin = None if self.cpu is None else (lambda: os.sched_setaffinity(0, {self.cpu}))
        self.proc = subprocess.Popen(argv, cwd=self.workdir, env=env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, preexec_fn=pin)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                c = Connection(self.sock, timeout=5)
                c.call("guest-ping")
                c.close()
                return self
            except (FileNotFoundError, ConnectionRefusedError, ConnectionError, socket.timeout, OSError):
                if self.proc.poll() is not None:
                    raise RuntimeError(f"{self.name} exited: {self.proc.stderr.read().decode(errors='replace')[-2000:]}")
                time.sleep(0.01)
        raise RuntimeError(f"{self.name} did not answer within {wait}s")

    @property
    def pid(self):
        return self.proc.pid

    def connect(self, timeout=120.0):
        return Connection(self.sock, timeout)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

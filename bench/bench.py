#!/usr/bin/env python3
"""Side-by-side benchmark: ActorAgent against Debian's qemu-ga (issue 8).

Both agents serve unix-listen sockets in a temp folder. The client (this script) is pinned to one
CPU and the agents to another, like a 1-vCPU guest talked to by a host. Each round starts both
agents fresh and runs every metric in small blocks, alternating which agent goes first, so drift
in the machine's load hits both alike. Figures are medians over all samples of all rounds; ratios
are ActorAgent / qemu-ga from this run only (absolute figures drift between runs).

Commands that could act on the machine (suspend, shutdown, set-time, fsfreeze, set-vcpus,
set-user-password, ...) are never sent: the script only sends the commands listed in REQUESTS and
ALLOWED below. File benchmarks write only inside the run's temp folder.

Usage: bench/run.sh [options]   (publishes the release binary first), or
       bench/bench.py --agent PATH/TO/Agent.Host [--qemu-ga /usr/sbin/qemu-ga] [--rounds 3]
"""
import argparse
import base64
import ctypes
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import agentproc

# Every command this script may send. Anything else is a bug in the script.
ALLOWED = {
    "guest-ping", "guest-info", "guest-get-osinfo", "guest-network-get-interfaces", "guest-get-fsinfo",
    "guest-file-open", "guest-file-write", "guest-file-read", "guest-file-close",
    "guest-exec", "guest-exec-status", "__org.actoragent_guest-exec-read-output",
}

CHUNK = 48 * 1024


def request(command, arguments=None):
    if command not in ALLOWED:
        raise SystemExit(f"refusing to send {command}")
    msg = {"execute": command}
    if arguments is not None:
        msg["arguments"] = arguments
    return (json.dumps(msg, separators=(",", ":")) + "\n").encode()


class ReceiveBuffer:
    """The one buffer every connection of this client receives into (recv_into), grown by doubling and
    touched once at start, so receiving a 10 MB reply line costs the client no fresh pages and no joins:
    the transfer then measures the agent, not Python's allocator (bench/README.md, "Exec 8 MB, round 3")."""

    def __init__(self, size=16 << 20):
        self.owner = None  # the connection whose unread bytes the buffer holds
        self.data = bytearray(size)
        self.data[::4096] = bytes(len(range(0, size, 4096)))  # touch every page now, not during a metric

    def grow(self):
        self.data.extend(bytes(len(self.data)))


RECEIVE = ReceiveBuffer()


def keep_client_heap(size=64 << 20):
    """Makes glibc keep freed large blocks in this process's heap (mallopt) and touches `size` bytes of it
    now: json.loads and b64decode of a 10 MB reply then reuse resident memory instead of mmapping fresh
    pages for every object, which on this VM costs ~20 µs a page (~100 ms per 8 MiB exec, for either
    agent; bench/README.md, "Exec 8 MB, round 3"). Only this client's process is affected."""
    libc = ctypes.CDLL("libc.so.6")
    libc.mallopt(-3, 1 << 30)  # M_MMAP_THRESHOLD: large blocks from the heap, not their own mappings
    libc.mallopt(-1, 1 << 30)  # M_TRIM_THRESHOLD: freed memory stays mapped for the next block
    warm = b"\1" * size
    del warm


class Connection(agentproc.Connection):
    """One client connection that sends only this script's ALLOWED. Replies are received into RECEIVE;
    bytes read past a line wait there for the next line (one connection reads at a time)."""

    def __init__(self, path, timeout=60.0):
        super().__init__(path, timeout)
        self.start = self.end = 0
        self.first_recv = None  # perf_counter of the first recv for the last line (None: it was buffered)

    def recv(self):
        """Receives what the socket has into RECEIVE after the unread bytes; returns the count."""
        buf = RECEIVE
        if buf.owner is not self:
            if self.start != self.end:
                raise RuntimeError("another connection received over this one's unread bytes")
            buf.owner = self
        if self.end == len(buf.data):
            if self.start > 0:
                n = self.end - self.start
                buf.data[:n] = buf.data[self.start:self.end]
                self.start, self.end = 0, n
            else:
                buf.grow()
        with memoryview(buf.data) as view:
            n = self.sock.recv_into(view[self.end:])
        if n == 0:
            raise ConnectionError("agent closed the connection")
        self.end += n
        return n

    def line(self):
        scanned = 0  # bytes after self.start known to hold no newline (recv may move or grow the buffer)
        self.first_recv = None
        while (i := RECEIVE.data.find(b"\n", self.start + scanned, self.end)) < 0:
            scanned = self.end - self.start
            self.recv()
            self.first_recv = self.first_recv or time.perf_counter()
        with memoryview(RECEIVE.data) as view:
            out = bytes(view[self.start:i])
        self.start = i + 1
        if self.start == self.end:
            self.start = self.end = 0
        return out

    def discard(self):
        """Receives once and drops everything unread; returns (newlines, bytes) of what it received."""
        end = self.end
        n = self.recv()
        lines = RECEIVE.data.count(b"\n", end, self.end)
        self.start = self.end = 0
        return lines, n

    def call_raw(self, req):
        self.sock.sendall(req)
        return self.line()

    def call(self, command, arguments=None):
        reply = json.loads(self.call_raw(request(command, arguments)))
        if "return" not in reply:
            raise RuntimeError(f"{command}: {reply}")
        return reply["return"]


def proc_status(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(key)


class Agent:
    def __init__(self, name, argv, workdir, cpu):
        self.name, self.argv, self.cpu = name, argv, cpu
        self.dir = os.path.join(workdir, name)
        os.makedirs(self.dir, exist_ok=True)
        self.sock = os.path.join(self.dir, "sock")
        self.proc = None
        self.conn = None

    def start(self):
        """Starts the agent; returns seconds from spawn to the first guest-ping reply."""
        if os.path.exists(self.sock):
            os.unlink(self.sock)
        stderr = open(os.path.join(self.dir, "stderr.log"), "ab")
        # The agent inherits this thread's CPU. No preexec_fn, so Python spawns with vfork: a fork would
        # write-protect every page of this client (its receive buffer and heap), and each would fault
        # again on the next write, inside some agent's metric.
        client_cpus = os.sched_getaffinity(0)
        os.sched_setaffinity(0, {self.cpu})
        try:
            t0 = time.perf_counter()
            self.proc = subprocess.Popen(self.argv + ["-m", "unix-listen", "-p", self.sock, "-t", self.dir],
                                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr)
        finally:
            os.sched_setaffinity(0, client_cpus)
        stderr.close()
        ping = request("guest-ping")
        while True:
            try:
                conn = Connection(self.sock)
                reply = conn.call_raw(ping)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                if self.proc.poll() is not None:
                    raise RuntimeError(f"{self.name} exited with {self.proc.returncode}")
                time.sleep(0.0001)
        elapsed = time.perf_counter() - t0
        if reply != b'{"return": {}}':
            raise RuntimeError(f"{self.name}: first ping answered {reply!r}")
        self.conn = conn
        return elapsed

    def stop(self):
        if self.conn:
            self.conn.close()
            self.conn = None
        if self.proc:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None

    def enabled_commands(self):
        info = self.conn.call("guest-info")
        return {c["name"] for c in info["supported_commands"] if c["enabled"]}


# ---- metric blocks: each runs a small amount of work on one agent and returns samples ----

def timed_calls(command, arguments, count):
    def block(agent):
        req = request(command, arguments)
        samples = []
        for _ in range(count):
            t = time.perf_counter()
            reply = agent.conn.call_raw(req)
            samples.append((time.perf_counter() - t) * 1e6)
            if not reply.startswith(b'{"return"'):
                raise RuntimeError(f"{agent.name} {command}: {reply[:200]!r}")
        return samples
    return block


def pipelined_pings(count, window=512, chunk=64):
    """Pings kept `window` deep (below ActorAgent's per-connection queue bound); returns pings/s."""
    def block(agent):
        reply = b'{"return": {}}\n'
        ping = request("guest-ping")
        sock = agent.conn.sock
        sent = lines = size = 0
        t = time.perf_counter()
        while lines < count:
            while sent < count and sent - lines <= window - chunk:
                n = min(chunk, count - sent)
                sock.sendall(ping * n)
                sent += n
            got, received = agent.conn.discard()
            lines += got
            size += received
        rate = count / (time.perf_counter() - t)
        if size != count * len(reply):
            raise RuntimeError(f"{agent.name}: a pipelined ping was not answered {reply!r}")
        return [rate]
    return block


def burst_pings(count):
    """`count` pings in one write (a sender thread, so neither side's buffers deadlock); returns pings/s."""
    def block(agent):
        reply = b'{"return": {}}\n'
        payload = request("guest-ping") * count
        sock = agent.conn.sock
        sender = threading.Thread(target=sock.sendall, args=(payload,))
        size = 0
        t = time.perf_counter()
        sender.start()
        while size < count * len(reply):
            size += agent.conn.discard()[1]
        rate = count / (time.perf_counter() - t)
        sender.join()
        if size != count * len(reply):
            raise RuntimeError(f"{agent.name}: a ping in the burst was not answered {reply!r}")
        return [rate]
    return block


def file_write(state, size):
    def block(agent):
        path = os.path.join(agent.dir, "bench.dat")
        payload = [base64.b64encode(os.urandom(CHUNK)).decode() for _ in range(4)]
        chunks = size // CHUNK
        h = agent.conn.call("guest-file-open", {"path": path, "mode": "w"})
        t = time.perf_counter()
        for i in range(chunks):
            r = agent.conn.call("guest-file-write", {"handle": h, "buf-b64": payload[i % 4]})
            if r["count"] != CHUNK:
                raise RuntimeError(f"{agent.name} short write {r}")
        elapsed = time.perf_counter() - t
        agent.conn.call("guest-file-close", {"handle": h})
        state[agent.name] = (path, chunks * CHUNK)
        return [chunks * CHUNK / elapsed / 1e6]
    return block


def file_read(state):
    def block(agent):
        path, size = state[agent.name]
        h = agent.conn.call("guest-file-open", {"path": path, "mode": "r"})
        total = 0
        t = time.perf_counter()
        while True:
            r = agent.conn.call("guest-file-read", {"handle": h, "count": CHUNK})
            total += r["count"]
            if r["eof"] or r["count"] == 0:
                break
        elapsed = time.perf_counter() - t
        agent.conn.call("guest-file-close", {"handle": h})
        if total != size:
            raise RuntimeError(f"{agent.name} read {total} of {size} bytes")
        return [total / elapsed / 1e6]
    return block


def exec_to_exited(arguments, count, expect_out=None):
    """guest-exec, then guest-exec-status every 1 ms until exited; seconds from exec to the exited reply."""
    def block(agent):
        samples = []
        for _ in range(count):
            t = time.perf_counter()
            pid = agent.conn.call("guest-exec", arguments)["pid"]
            while True:
                status = agent.conn.call("guest-exec-status", {"pid": pid})
                if status["exited"]:
                    break
                time.sleep(0.001)
            out = base64.b64decode(status.get("out-data", ""))
            # ActorAgent keeps replies under agent.channel.max-reply-bytes; the rest of the output
            # comes through its read-output extension (README, "Large replies")
            captured = len(out) + status.get("__org.actoragent_out-remaining", 0)
            while len(out) < captured:
                part = agent.conn.call("__org.actoragent_guest-exec-read-output", {"pid": pid, "stream": "out", "offset": len(out)})
                out += base64.b64decode(part["buf-b64"])
            samples.append((time.perf_counter() - t) * 1e3)
            if status.get("exitcode") != 0:
                raise RuntimeError(f"{agent.name} exec: {str(status)[:200]}")
            if expect_out is not None and len(out) != expect_out:
                raise RuntimeError(f"{agent.name} exec output is not {expect_out} bytes")
        return samples
    return block


# (key, label, unit, command that must be enabled, block factory, blocks per round, better, target)
def metrics(file_state):
    eight_mb = 8 * 1024 * 1024
    return [
        ("ping_us", "ping p50", "us", "guest-ping", timed_calls("guest-ping", None, 200), 10, "p50", "lower", "<= 0.8x"),
        ("ping_p99_us", "ping p99", "us", None, None, 0, "p99:ping_us", "lower", "<= 0.8x"),
        ("pipelined_per_s", "pipelined pings/s (512 deep)", "/s", "guest-ping", pipelined_pings(5000), 4, "median", "higher", ">= 5x"),
        ("burst_512_per_s", "512 pings in one write, /s", "/s", "guest-ping", burst_pings(512), 4, "median", "higher", ">= 5x"),
        ("burst_5000_per_s", "5,000 pings in one write, /s", "/s", "guest-ping", burst_pings(5000), 3, "median", "higher", ">= 5x"),
        ("burst_100000_per_s", "100,000 pings in one write, /s", "/s", "guest-ping", burst_pings(100_000), 1, "median", "higher", ">= 5x"),
        ("guest_info_us", "guest-info p50", "us", "guest-info", timed_calls("guest-info", None, 50), 6, "p50", "lower", "<= 0.8x"),
        ("osinfo_us", "osinfo p50", "us", "guest-get-osinfo", timed_calls("guest-get-osinfo", None, 50), 4, "p50", "lower", "<= 0.8x"),
        ("interfaces_us", "interfaces p50", "us", "guest-network-get-interfaces",
         timed_calls("guest-network-get-interfaces", None, 50), 4, "p50", "lower", "<= 0.8x"),
        ("fsinfo_us", "fsinfo p50", "us", "guest-get-fsinfo", timed_calls("guest-get-fsinfo", None, 30), 4, "p50", "lower", "<= 0.8x"),
        ("file_write_mbs", "file write MB/s", "MB/s", "guest-file-write", file_write(file_state, eight_mb), 3, "median", "higher", ">= 3x"),
        ("file_read_mbs", "file read MB/s", "MB/s", "guest-file-read", file_read(file_state), 3, "median", "higher", ">= 3x"),
        ("exec_true_ms", "exec /bin/true to exited p50", "ms", "guest-exec",
         exec_to_exited({"path": "/bin/true"}, 20), 4, "p50", "lower", "<= 0.6x"),
        ("exec_8mb_ms", "exec 8 MB stdout", "ms", "guest-exec",
         exec_to_exited({"path": "/bin/sh", "arg": ["-c", f"head -c {eight_mb} /dev/zero"], "capture-output": True},
                        1, expect_out=eight_mb), 2, "median", "lower", "<= 0.4x"),
    ]


def percentile(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--agent", required=True, help="the ActorAgent release binary (Agent.Host)")
    ap.add_argument("--qemu-ga", default="/usr/sbin/qemu-ga")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--starts", type=int, default=5, help="extra cold starts per agent per round for the startup figure")
    ap.add_argument("--idle", type=float, default=2.0, help="seconds after the first ping before idle RSS is read")
    ap.add_argument("--settle", type=float, default=5.0,
                    help="seconds of quiet after the load before RSS is read again (0: not read)")
    ap.add_argument("--json", default=os.path.join(here, "results.json"))
    ap.add_argument("--client-cpu", type=int, default=0)
    ap.add_argument("--agent-cpu", type=int, default=1)
    ap.add_argument("--only", help="comma-separated metric keys to run (e.g. file_write_mbs,file_read_mbs,exec_8mb_ms); "
                                   "file_read_mbs reads what file_write_mbs wrote")
    args = ap.parse_args()

    os.sched_setaffinity(0, {args.client_cpu})
    keep_client_heap()
    work = tempfile.mkdtemp(prefix="qga-bench-")
    agents = [Agent("actoragent", [os.path.abspath(args.agent)], work, args.agent_cpu),
              Agent("qemu-ga", [args.qemu_ga], work, args.agent_cpu)]
    names = [a.name for a in agents]
    samples = {a.name: {} for a in agents}
    load_before = open("/proc/loadavg").read().split()[:3]
    file_state = {}
    table = metrics(file_state)
    available = None
    try:
        for rnd in range(args.rounds):
            order = agents if rnd % 2 == 0 else agents[::-1]
            for a in order:
                samples[a.name].setdefault("startup_ms", []).append(a.start() * 1e3)
            time.sleep(args.idle)
            for a in order:
                samples[a.name].setdefault("rss_idle_mb", []).append(proc_status(a.proc.pid, "VmRSS") / 1e6)
                samples[a.name].setdefault("rss_idle_anon_mb", []).append(proc_status(a.proc.pid, "RssAnon") / 1e6)
            if available is None:
                theirs = {a.name: a.enabled_commands() for a in agents}
                available = {m[0] for m in table if m[3] is None or all(m[3] in c for c in theirs.values())}
            cpu0 = {a.name: agentproc.cpu_seconds(a.proc.pid) for a in agents}
            for key, label, unit, needs, block, blocks, *_ in table:
                if block is None or key not in available or (args.only and key not in args.only.split(",")):
                    continue
                for b in range(blocks):
                    for a in (order if b % 2 == 0 else order[::-1]):
                        samples[a.name].setdefault(key, []).extend(block(a))
                print(f"round {rnd + 1}: {label} done", file=sys.stderr)
            for a in order:
                samples[a.name].setdefault("cpu_load_s", []).append(agentproc.cpu_seconds(a.proc.pid) - cpu0[a.name])
                samples[a.name].setdefault("rss_peak_mb", []).append(proc_status(a.proc.pid, "VmHWM") / 1e6)
            # What stays resident once the load is over (our memory reclaimer looks every 2 s).
            if args.settle > 0:
                time.sleep(args.settle)
                for a in order:
                    samples[a.name].setdefault("rss_after_mb", []).append(proc_status(a.proc.pid, "VmRSS") / 1e6)
            for a in order:
                a.stop()
            # Extra cold starts, alternating, for a startup median over more than one start per round.
            for i in range(args.starts):
                for a in (order if i % 2 == 0 else order[::-1]):
                    samples[a.name]["startup_ms"].append(a.start() * 1e3)
                    a.stop()
    finally:
        for a in agents:
            a.stop()
        shutil.rmtree(work, ignore_errors=True)
    load_after = open("/proc/loadavg").read().split()[:3]

    rows = [("startup_ms", "startup to first ping", "ms", "median", "lower", "<= 50 ms")]
    rows += [(m[0], m[1], m[2], m[6], m[7], m[8]) for m in table]
    rows += [("rss_idle_mb", "RSS idle", "MB", "median", "lower", "<= 24 MB"),
             ("rss_idle_anon_mb", "RSS idle, anonymous part", "MB", "median", "lower", "-"),
             ("rss_after_mb", "RSS idle after the load", "MB", "median", "lower", "-"),
             ("rss_peak_mb", "RSS peak (VmHWM)", "MB", "median", "lower", "<= 1.2x"),
             ("cpu_load_s", "agent CPU over the load", "s", "median", "lower", "<= 0.7x")]
    result = {"load_before": load_before, "load_after": load_after, "rounds": args.rounds, "metrics": {}}
    print(f"\nload average before {' '.join(load_before)}, after {' '.join(load_after)}; {args.rounds} rounds;"
          f" client on CPU {args.client_cpu}, agents on CPU {args.agent_cpu}\n")
    print(f"| {'metric':32} | {'ActorAgent':>12} | {'qemu-ga':>12} | {'ratio':>7} | target |")
    print(f"|{'-' * 34}|{'-' * 14}|{'-' * 14}|{'-' * 9}|--------|")
    for key, label, unit, how, better, target in rows:
        source = key
        if how.startswith("p99:"):
            source, how = how[4:], "p99"
        figures = {}
        for n in names:
            xs = samples[n].get(source)
            if not xs:
                continue
            figures[n] = percentile(xs, 99) if how == "p99" else statistics.median(xs)
        if len(figures) < 2:
            result["metrics"][key] = None
            print(f"| {label:32} | {'n/a':>12} | {'n/a':>12} | {'n/a':>7} | {target} |")
            continue
        ratio = figures["actoragent"] / figures["qemu-ga"]
        result["metrics"][key] = {"label": label, "unit": unit, "actoragent": figures["actoragent"],
                                  "qemu-ga": figures["qemu-ga"], "ratio": ratio, "target": target,
                                  "samples": {n: len(samples[n][source]) for n in names}}
        fmt = (lambda v: f"{v:,.0f} {unit}") if figures["qemu-ga"] >= 100 else (lambda v: f"{v:.1f} {unit}")
        print(f"| {label:32} | {fmt(figures['actoragent']):>12} | {fmt(figures['qemu-ga']):>12} | {ratio:6.2f}x | {target} |")
    with open(args.json, "w") as f:
        json.dump(result, f, indent=2)
    print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()

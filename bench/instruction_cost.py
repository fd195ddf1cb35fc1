#!/usr/bin/env python3
"""Instructions per request, counted by valgrind's callgrind: unlike CPU time, the count does not move
with the machine's load or the other tenants of the CPU (bench/README.md, "Per-request cost, round 3").

Starts the agent binary (ours or qemu-ga) under `valgrind --tool=callgrind --instr-atstart=no`, warms
each command up, then turns instrumentation on, zeroes the counters, sends the command N times
sequentially, and dumps: instructions executed by all the agent's threads (user space only; the
kernel's side of the syscalls is not counted) divided by N. With --annotate, the top functions by
their own instructions per request (managed code named from BINARY.dbg).

usage: instruction_cost.py BINARY [--n 2000] [--only guest-ping,guest-get-osinfo] [--annotate 25]
"""
import argparse, bisect, collections, glob, os, re, shutil, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from agentproc import BLOCKED, Connection, request  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--warmup", type=int, default=500)
    ap.add_argument("--only", default="guest-ping,guest-get-osinfo")
    ap.add_argument("--annotate", type=int, default=0, help="print this many top functions per command")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="instruction-cost-") as d:
        sock = os.path.join(d, "agent.sock")
        state = os.path.join(d, "state")
        os.makedirs(state)
        out = os.path.join(d, "callgrind.out")
        # A copy without its .dbg beside it: valgrind 3.19 cannot read NativeAOT's DWARF 5 and gives up.
        binary = os.path.join(d, os.path.basename(args.binary))
        shutil.copy2(args.binary, binary)
        argv = ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}", binary, "-m", "unix-listen", "-p", sock, "-t", state, "-b", BLOCKED]
        proc = subprocess.Popen(argv, cwd=d, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        try:
            conn = connect(sock, proc)
            print(f"load average {open('/proc/loadavg').read().split()[0]}; {args.n} requests each")
            print(f"{'command':24} {'instructions/req':>17}")
            for i, cmd in enumerate(args.only.split(",")):
                line = request(cmd)
                def run(n):
                    for _ in range(n):
                        conn.sock.sendall(line)
                        reply = conn.line()
                        if not reply.startswith(b'{"return"'):
                            raise RuntimeError(f"{cmd}: {reply[:200]!r}")
                control("-i", "on", proc.pid)
                run(args.warmup)
                control("-z", None, proc.pid)
                run(args.n)
                control("-d", cmd, proc.pid)
                control("-i", "off", proc.pid)
                dump = newest(out, i)
                total = totals(dump)
                collect = forced_collections(dump, args.binary)
                print(f"{cmd:24} {total / args.n:17,.0f}" +
                      (f"  ({(total - collect) / args.n:,.0f} without the {collect / args.n:,.0f} of a GC.Collect:"
                       " agent.memory's reclaim after a burst, not per request)" if collect else ""), flush=True)
                if args.annotate:
                    for name, count in top_functions(dump, args.binary, args.annotate):
                        print(f"    {count / args.n:9,.0f}  {name[:140]}")
        finally:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def top_functions(dump, binary, count):
    """Self instructions per function. valgrind 3.19 leaves NativeAOT's managed code unnamed ("???"
    at the address it mapped the PIE to, 0x108000 on); those are named from the binary's .dbg here."""
    names = Symbols(binary + ".dbg")
    text = subprocess.run(["callgrind_annotate", "--inclusive=no", "--threshold=100", dump],
                          capture_output=True, text=True).stdout
    totals = collections.Counter()
    for row in text.splitlines():
        m = re.match(r"^\s*([\d,]+) \([^)]*\)\s+(\S+?):(\S+?)(?:'\d+)? \[(.*)\]$", row)
        if not m:
            continue
        instructions, place, name, obj = int(m.group(1).replace(",", "")), m.group(2), m.group(3), m.group(4)
        if name.startswith("0x"):
            address = int(name, 16)
            name = names.at(address - 0x108000 if obj == "???" else address) or name
        totals[name] += instructions
    return totals.most_common(count)


def forced_collections(dump, binary):
    """Instructions under GC.Collect (MemoryReclaimer's full collection once a burst is over), inclusive."""
    names = Symbols(binary + ".dbg")
    text = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", dump],
                          capture_output=True, text=True).stdout
    best = 0
    for row in text.splitlines():
        m = re.match(r"^\s*([\d,]+) \([^)]*\)\s+(\S+?):(\S+?)(?:'\d+)? \[(.*)\]$", row)
        if not m:
            continue
        name = m.group(3)
        if name.startswith("0x"):
            address = int(name, 16)
            name = names.at(address - 0x108000 if m.group(4) == "???" else address) or name
        if name.startswith("S_P_CoreLib_System_GC__Collect"):
            best = max(best, int(m.group(1).replace(",", "")))
    return best


class Symbols:
    def __init__(self, path):
        self.addresses, self.names = [], []
        if not os.path.exists(path):
            return
        out = subprocess.run(["nm", "-n", "--defined-only", path], capture_output=True, text=True).stdout
        for row in out.splitlines():
            parts = row.split(None, 2)
            if len(parts) == 3 and parts[1] in "tTwW":
                self.addresses.append(int(parts[0], 16))
                self.names.append(parts[2])

    def at(self, address):
        i = bisect.bisect_right(self.addresses, address) - 1
        return self.names[i] if i >= 0 else None


def connect(sock, proc, wait=120.0):
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            c = Connection(sock, timeout=60)
            c.call("guest-ping")
            return c
        except (FileNotFoundError, ConnectionRefusedError, ConnectionError, OSError):
            if proc.poll() is not None:
                raise RuntimeError("the agent exited under valgrind")
            time.sleep(0.1)
    raise RuntimeError("the agent did not answer under valgrind")


def control(option, value, pid):
    argv = ["callgrind_control", option] + ([value] if value else []) + [str(pid)]
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)


def newest(out, index):
    """The dump callgrind_control -d wrote (out.N, numbered from 1)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        dumps = sorted(glob.glob(out + ".*"), key=os.path.getmtime)
        if len(dumps) > index:
            time.sleep(0.5)
            return dumps[-1]
        time.sleep(0.2)
    raise RuntimeError("no callgrind dump")


def totals(path):
    for row in open(path):
        if row.startswith("totals:") or row.startswith("summary:"):
            return int(row.split()[1])
    raise RuntimeError(f"no totals in {path}")


if __name__ == "__main__":
    main()

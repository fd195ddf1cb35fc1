#!/usr/bin/env python3
"""Agent CPU, context switches and system calls per file write, file read and exec, for ActorAgent
and qemu-ga: the load-independent side of bench.py's file and exec metrics.

Usage: bench/cost.py --agent out/aot/Agent.Host [--qemu-ga /usr/sbin/qemu-ga] [--only write,read,exec8,true]

Each agent is started fresh in its own temp folder, pinned to --agent-cpu (the client to
--client-cpu), warmed up, and then `perf stat -p PID` (inherit: threads the agent starts are counted)
counts task-clock, context switches and sys_enter events over each workload. The figures are per
operation: one 48 KiB guest-file-write, one 48 KiB guest-file-read, one 8 MiB exec read in full
(guest-exec, status polls every 1 ms, read-output for what did not fit), one /bin/true exec.
Wall times are printed too, but on a loaded machine only the counts mean anything. The child
processes (sh, head, true) are not the agent and are not counted.
Sends only bench.py's ALLOWED commands; files only inside the temp folder.
"""
import argparse
import base64
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import Agent, CHUNK, exec_to_exited  # noqa: E402

EIGHT_MB = 8 * 1024 * 1024
RECORD = None  # --record PREFIX: also `perf record -g` each workload into PREFIX.<agent>.<workload>


def counted(agent, work, label):
    """Runs work() under perf stat on the agent; returns (wall seconds, {event: count})."""
    perf = subprocess.Popen(["perf", "stat", "-x", ",", "-e", "task-clock,context-switches,raw_syscalls:sys_enter",
                             "-p", str(agent.proc.pid)], stderr=subprocess.PIPE, text=True)
    record = None
    if RECORD:
        record = subprocess.Popen(["perf", "record", "-g", "-F", "2000", "-o", f"{RECORD}.{agent.name}.{label}",
                                   "-p", str(agent.proc.pid)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.3)  # perf attaches
    t = time.perf_counter()
    work()
    wall = time.perf_counter() - t
    time.sleep(0.05)
    perf.send_signal(signal.SIGINT)
    _, err = perf.communicate()
    if record:
        record.send_signal(signal.SIGINT)
        record.wait()
    counts = {}
    for line in err.splitlines():
        parts = line.split(",")
        if len(parts) > 3 and parts[0] and parts[0][0].isdigit():
            counts[parts[2]] = float(parts[0])
    return wall, counts


def writes(agent, n):
    path = os.path.join(agent.dir, "cost.dat")
    payload = [base64.b64encode(os.urandom(CHUNK)).decode() for _ in range(4)]
    h = agent.conn.call("guest-file-open", {"path": path, "mode": "w"})

    def work():
        for i in range(n):
            r = agent.conn.call("guest-file-write", {"handle": h, "buf-b64": payload[i % 4]})
            if r["count"] != CHUNK:
                raise RuntimeError(f"short write {r}")
    result = counted(agent, work, "write")
    agent.conn.call("guest-file-close", {"handle": h})
    return result


def reads(agent, n):
    path = os.path.join(agent.dir, "cost.dat")
    h = agent.conn.call("guest-file-open", {"path": path, "mode": "r"})

    def work():
        for _ in range(n):
            r = agent.conn.call("guest-file-read", {"handle": h, "count": CHUNK})
            if r["count"] != CHUNK:
                raise RuntimeError(f"short read {r['count']}")
    result = counted(agent, work, "read")
    agent.conn.call("guest-file-close", {"handle": h})
    return result


def execs(agent, n, arguments, expect, label):
    return counted(agent, lambda: exec_to_exited(arguments, n, expect_out=expect)(agent), label)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--agent", required=True)
    ap.add_argument("--qemu-ga", default="/usr/sbin/qemu-ga")
    ap.add_argument("--only", default="write,read,exec8,true")
    ap.add_argument("--writes", type=int, default=1000)
    ap.add_argument("--execs", type=int, default=10)
    ap.add_argument("--client-cpu", type=int, default=0)
    ap.add_argument("--agent-cpu", type=int, default=1)
    ap.add_argument("--record", help="also perf record -g each workload into RECORD.<agent>.<workload>")
    args = ap.parse_args()
    global RECORD
    RECORD = args.record
    os.sched_setaffinity(0, {args.client_cpu})
    only = args.only.split(",")
    workdir = tempfile.mkdtemp(prefix="cost-")
    rows = []
    try:
        for name, argv in (("ActorAgent", [os.path.abspath(args.agent)]), ("qemu-ga", [args.qemu_ga])):
            if not argv[0] or argv[0] == "none":
                continue
            agent = Agent(name, argv, workdir, args.agent_cpu)
            agent.start()
            try:
                for _ in range(200):
                    agent.conn.call("guest-ping")
                plan = [
                    ("write", "48 KiB write", args.writes, lambda: writes(agent, args.writes)),
                    ("read", "48 KiB read", args.writes, lambda: reads(agent, args.writes)),
                    ("exec8", "8 MiB exec", args.execs, lambda: execs(
                        agent, args.execs, {"path": "/bin/sh", "arg": ["-c", f"head -c {EIGHT_MB} /dev/zero"],
                                            "capture-output": True}, EIGHT_MB, "exec8")),
                    ("true", "exec /bin/true", args.execs * 5, lambda: execs(agent, args.execs * 5, {"path": "/bin/true"}, 0, "true")),
                ]
                if "read" in only and "write" not in only:
                    writes(agent, args.writes)  # something to read
                for key, label, n, run in plan:
                    if key not in only:
                        continue
                    run() if key in ("exec8", "true") else None  # warm-up
                    wall, c = run()
                    rows.append((label, name, wall * 1e3 / n, c.get("task-clock", 0) * 1e3 / n,
                                 c.get("context-switches", 0) / n, c.get("raw_syscalls:sys_enter", 0) / n))
            finally:
                agent.stop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"load average {os.getloadavg()[0]:.2f}")
    print(f"| operation | agent | wall ms/op | agent CPU µs/op | context switches/op | syscalls/op |")
    print(f"|---|---|---|---|---|---|")
    for label, name, wall, cpu, cs, sc in rows:
        print(f"| {label} | {name} | {wall:.3f} | {cpu:.0f} | {cs:.1f} | {sc:.1f} |")


if __name__ == "__main__":
    main()

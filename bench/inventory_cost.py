#!/usr/bin/env python3
"""Load-independent cost of the inventory commands: agent CPU time (utime+stime of all its threads,
/proc/PID/stat) and context switches per request, and with --strace the syscalls per request.

Starts the given agent binary (ours or Debian's qemu-ga) with `-m unix-listen -p SOCK -t DIR` in a
temp folder, agent pinned to AGENT_CPU and this client to CLIENT_CPU, warms each command up, then
sends it N times sequentially over one connection. Read-only commands only.

usage: inventory_cost.py BINARY [--n 10000] [--strace] [--only guest-info,...]
"""
import argparse, collections, os, re, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from agentproc import Agent, context_switches, cpu_seconds, request  # noqa: E402

COMMANDS = ["guest-ping", "guest-info", "guest-get-osinfo", "guest-network-get-interfaces", "guest-get-fsinfo"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--warmup", type=int, default=1000)
    ap.add_argument("--strace", action="store_true", help="also count syscalls per request over n/10 requests")
    ap.add_argument("--only")
    ap.add_argument("--agent-cpu", type=int, default=1)
    ap.add_argument("--client-cpu", type=int, default=0)
    args = ap.parse_args()
    commands = args.only.split(",") if args.only else COMMANDS
    with tempfile.TemporaryDirectory(prefix="inventory-cost-") as d:
        agent = Agent(os.path.abspath(args.binary), d, cpu=args.agent_cpu)
        try:
            agent.start(wait=30)
            os.sched_setaffinity(0, {args.client_cpu})
            conn = agent.connect()

            def run(cmd, n):
                line = request(cmd)  # refuses anything outside agentproc.ALLOWED
                for _ in range(n):
                    conn.sock.sendall(line)
                    reply = conn.line()
                    if not reply.startswith(b'{"return"'):
                        raise RuntimeError(f"{cmd}: {reply[:200]!r}")

            print(f"load average {open('/proc/loadavg').read().split()[0]}; {args.n} requests each")
            print(f"{'command':32} {'CPU us/req':>11} {'ctx sw/req':>11}" + (f" {'syscalls/req':>13}  top syscalls" if args.strace else ""))
            for cmd in commands:
                run(cmd, args.warmup)
                c0, w0 = cpu_seconds(agent.pid), context_switches(agent.pid)
                run(cmd, args.n)
                c1, w1 = cpu_seconds(agent.pid), context_switches(agent.pid)
                out = f"{cmd:32} {(c1 - c0) * 1e6 / args.n:11.1f} {(w1 - w0) / args.n:11.2f}"
                if args.strace:
                    m = max(args.n // 10, 100)
                    log = os.path.join(d, "strace.txt")
                    tracer = subprocess.Popen(["strace", "-f", "-c", "-o", log, "-p", str(agent.pid)],
                                              stderr=subprocess.DEVNULL)
                    time.sleep(1.0)
                    run(cmd, m)
                    tracer.terminate()
                    tracer.wait()
                    counts = collections.Counter()
                    for row in open(log):
                        parts = row.split()
                        if len(parts) >= 5 and re.match(r"^[\d.]+$", parts[0]) and parts[-1] != "total":
                            counts[parts[-1]] = int(parts[3])
                    total = sum(counts.values())
                    top = ", ".join(f"{k} {v / m:.1f}" for k, v in counts.most_common(8))
                    out += f" {total / m:13.1f}  {top}"
                print(out, flush=True)
        finally:
            agent.stop()


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""p50/p90 round-trip latency of the inventory commands on a unix socket.

Starts the given agent binary (ours or Debian's qemu-ga) with
`-m unix-listen -p SOCK -t DIR` in a temp folder, pinned to one CPU while this
client runs on another, warms up, then sends each command N times over one
connection and reports the percentiles in microseconds. Read-only commands only.

usage: inventory_latency.py BINARY [N] [AGENT_CPU] [CLIENT_CPU]
"""
import os, socket, statistics, subprocess, sys, tempfile, time

COMMANDS = ["guest-info", "guest-get-osinfo", "guest-network-get-interfaces", "guest-get-fsinfo"]


def main():
    binary = os.path.abspath(sys.argv[1])
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    agent_cpu = sys.argv[3] if len(sys.argv) > 3 else "1"
    client_cpu = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    with tempfile.TemporaryDirectory(prefix="latency-") as d:
        sock_path = os.path.join(d, "sock")
        agent = subprocess.Popen(["taskset", "-c", agent_cpu, binary, "-m", "unix-listen", "-p", sock_path, "-t", d],
                                 cwd=d, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            os.sched_setaffinity(0, {client_cpu})
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            deadline = time.time() + 30
            while True:
                try:
                    s.connect(sock_path)
                    break
                except OSError:
                    if time.time() > deadline:
                        raise
                    time.sleep(0.02)
            f = s.makefile("rb")

            def ask(cmd):
                s.sendall(b'{"execute":"%s"}\n' % cmd.encode())
                line = f.readline()
                if b'"return"' not in line:
                    raise RuntimeError(f"{cmd}: {line[:200]!r}")

            for cmd in COMMANDS:
                for _ in range(200):
                    ask(cmd)
            for cmd in COMMANDS:
                samples = []
                for _ in range(n):
                    t = time.perf_counter_ns()
                    ask(cmd)
                    samples.append((time.perf_counter_ns() - t) / 1000)
                samples.sort()
                print(f"{cmd:32s} p50 {statistics.median(samples):8.0f} us   p90 {samples[int(len(samples) * 0.9)]:8.0f} us")
        finally:
            agent.terminate()
            agent.wait(10)


if __name__ == "__main__":
    main()

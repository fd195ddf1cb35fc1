#!/usr/bin/env python3
"""Load-independent cost per request of an agent binary (bench/README.md, "Per-request cost").

Agent CPU time (utime+stime) and context switches (all threads) per request over 10,000 sequential
guest-ping and over 100,000 guest-ping in one write, after a warm-up; the agent on CPU 1, this client
on CPU 0. Sends nothing but guest-ping.

Usage: bench/request_cost.py PATH/TO/Agent.Host [rounds]    (also works with /usr/sbin/qemu-ga)
"""
import os, sys, tempfile, threading, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from agentproc import Agent, context_switches, cpu_seconds, request, status  # noqa: E402


def main():
    binary = sys.argv[1]
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    d = tempfile.mkdtemp()
    agent = Agent(os.path.abspath(binary), d, cpu=1)
    try:
        os.sched_setaffinity(0, {0})
        agent.start(wait=30)
        measure(agent, reps)
    finally:
        agent.stop()


def measure(agent, reps):
    s = agent.connect().sock
    ping = request("guest-ping")
    pid = agent.pid
    def seq(n):
        for _ in range(n):
            s.sendall(ping); buf = b""
            while not buf.endswith(b"\n"): buf += s.recv(4096)
    def burst(n):
        data = ping * n
        t = threading.Thread(target=s.sendall, args=(data,)); t.start()
        got = 0
        while got < n:
            chunk = s.recv(1 << 20); got += chunk.count(b"\n")
        t.join()
    seq(3000); burst(20000)
    for r in range(reps):
        c0, x0 = cpu_seconds(pid), context_switches(pid); t0 = time.time()
        seq(10000)
        c1, x1 = cpu_seconds(pid), context_switches(pid); t1 = time.time()
        burst(100000)
        c2, x2 = cpu_seconds(pid), context_switches(pid); t2 = time.time()
        print(f"seq10k: cpu {(c1-c0)*1e6/10000:6.1f} us/req ctx {(x1-x0)/10000:5.2f}/req wall {(t1-t0)*1e6/10000:6.1f} us | "
              f"burst100k: cpu {(c2-c1)*1e6/100000:5.2f} us/req ctx {(x2-x1)/100000:6.3f}/req wall {100000/(t2-t1):8.0f}/s", flush=True)
    print(f"VmHWM {status(pid, 'VmHWM')} kB")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Where the time of bench.py's exec 8 MB metric goes, phase by phase, ActorAgent beside qemu-ga.

Usage: bench/exec_timeline.py --agent out/aot/Agent.Host [--qemu-ga /usr/sbin/qemu-ga] [--execs 6]

One fresh agent of each kind (client on CPU 0, agents on CPU 1, as bench.py), then --execs rounds of
guest-exec of `head -c 8388608 /dev/zero` with capture-output. Per exec: the guest-exec round trip,
the status polls (every 1 ms) until the exited reply, the wait for its first byte and its transfer,
the client's json.loads and b64decode, ActorAgent's read-output for what max-reply-bytes left out,
and the agent's CPU time and minor faults over the exec. The first execs of a fresh agent are the
cold ones bench.py measures (it restarts both agents each round).
"""
import argparse
import base64
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import agentproc  # noqa: E402
from bench import Agent, keep_client_heap, request  # noqa: E402

EIGHT_MB = 8 * 1024 * 1024


def minor_faults(pid):
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[7])


def one_exec(agent):
    c = agent.conn
    cpu0, flt0 = agentproc.cpu_seconds(agent.proc.pid), minor_faults(agent.proc.pid)
    t0 = time.perf_counter()
    pid = c.call("guest-exec", {"path": "/bin/sh", "arg": ["-c", f"head -c {EIGHT_MB} /dev/zero"], "capture-output": True})["pid"]
    t1 = time.perf_counter()
    polls = 0
    while True:
        c.sock.sendall(request("guest-exec-status", {"pid": pid}))
        sent = time.perf_counter()
        line = c.line()
        first, received = c.first_recv, time.perf_counter()
        polls += 1
        status = json.loads(line)["return"]
        if status["exited"]:
            break
        time.sleep(0.001)
    parsed = time.perf_counter()
    out = base64.b64decode(status.get("out-data", ""))
    decoded = time.perf_counter()
    captured = len(out) + status.get("__org.actoragent_out-remaining", 0)
    while len(out) < captured:
        part = c.call("__org.actoragent_guest-exec-read-output", {"pid": pid, "stream": "out", "offset": len(out)})
        out += base64.b64decode(part["buf-b64"])
    done = time.perf_counter()
    if len(out) != EIGHT_MB:
        raise RuntimeError(f"{agent.name}: {len(out)} bytes of output")
    ms = lambda x: f"{x * 1e3:6.1f}"  # noqa: E731
    return (f"{agent.name:10} total {ms(done - t0)} ms | exec {ms(t1 - t0)} | {polls:3} polls, last sent at {ms(sent - t1)}"
            f" | first byte {ms((first or received) - sent)} | transfer {ms(received - (first or received))}"
            f" | json {ms(parsed - received)} | b64 {ms(decoded - parsed)} | read-output {ms(done - decoded)}"
            f" | agent CPU {ms(agentproc.cpu_seconds(agent.proc.pid) - cpu0)} ms, {minor_faults(agent.proc.pid) - flt0} minor faults")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--agent", required=True)
    ap.add_argument("--qemu-ga", default="/usr/sbin/qemu-ga")
    ap.add_argument("--execs", type=int, default=6)
    args = ap.parse_args()
    os.sched_setaffinity(0, {0})
    keep_client_heap()
    work = tempfile.mkdtemp(prefix="qga-exec-timeline-")
    agents = [Agent("actoragent", [os.path.abspath(args.agent)], work, 1), Agent("qemu-ga", [args.qemu_ga], work, 1)]
    try:
        for a in agents:
            a.start()
        for _ in range(args.execs):
            for a in agents:
                print(one_exec(a), flush=True)
    finally:
        for a in agents:
            a.stop()


if __name__ == "__main__":
    main()

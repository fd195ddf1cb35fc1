#!/usr/bin/env python3
"""A host that polls guest-exec-status in a tight loop: spawn to `exited: true`, per exec.

Runs EXECS guest-exec of /bin/true (capture-output on), or with --busy-child N of a shell that counts
to N (a child that needs the agent's CPU for a few ms: it inherits the agent's pinning), and after
each one polls guest-exec-status until it says exited, with PAUSE seconds between polls (0: none, the next request right after the
reply). The agent is pinned to one CPU (--agent-cpu, default 1) and this client to another
(--client-cpu, default 0), as bench.py does; the agent serves unix-listen in a temp folder with the
commands that could act on the machine blocked (agentproc.py). Each busy-poll setting is given to
the agent through $ACTORAGENT_CONF (`agent.channel.event-loop.busy-poll`); settings alternate
within each run, a fresh agent each time.

This is the check that found the event loop's busy-poll window starving the agent's other threads
on its one CPU (bench/README.md, "Busy-poll off by default"): with the window on and no pause, an
exec's exit was seen up to 1 s late. Prints, per setting and pause: the spawn-to-exited time p50,
p90 and max, the polls per exec, and the agent's CPU time and context switches per exec and its
thread count at the end (a ThreadPool starved for 0.5 s injects a worker). With --perf, also the
event loop thread's poll(2) calls per exec (`perf stat --per-thread` on the syscalls:sys_enter_poll
tracepoint): a loop asleep makes a few per exec, one that busy-polls through the exec thousands.

Usage: bench/exec_poll_tight.py --agent PATH/TO/Agent.Host [--busy-poll 0,0.1ms] [--pause 0,0.001]
       [--runs 3] [--execs 150] [--busy-child N] [--perf]
"""
import argparse
import json
import os
import signal
import statistics
import subprocess
import tempfile
import time

import agentproc


def exec_until_exited(conn, pause, busy_child):
    """guest-exec of /bin/true (or of a shell counting to busy_child), then guest-exec-status until
    exited; returns (ms, polls)."""
    start = time.perf_counter()
    if busy_child:
        count = f"i=0; while [ $i -lt {busy_child} ]; do i=$((i+1)); done"
        spawn = {"path": "/bin/sh", "arg": ["-c", count], "capture-output": True}
    else:
        spawn = {"path": "/bin/true", "capture-output": True}
    pid = conn.call("guest-exec", spawn)["pid"]
    polls = 0
    while True:
        polls += 1
        if conn.call("guest-exec-status", {"pid": pid})["exited"]:
            return (time.perf_counter() - start) * 1e3, polls
        if pause:
            time.sleep(pause)


def percentile(sorted_values, p):
    return sorted_values[min(len(sorted_values) - 1, int(p * len(sorted_values)))]


def loop_polls(perf_output):
    """The event loop thread's poll(2) count from `perf stat --per-thread -x,` (its comm is cut to
    15 characters: agent.channel.e)."""
    with open(perf_output) as f:
        for line in f:
            if line.startswith("agent.channel.e"):
                count = line.split(",")[1]
                return int(count) if count.isdigit() else 0
    return None


def run_once(binary, workdir, busy_poll, pause, execs, agent_cpu, use_perf, busy_child):
    conf = os.path.join(workdir, "agent.conf")
    with open(conf, "w") as f:
        f.write(f"agent.channel.event-loop.busy-poll = {busy_poll}\n")
    agent = agentproc.Agent(binary, workdir, name="agent", env={"ACTORAGENT_CONF": conf}, cpu=agent_cpu)
    agent.start()
    try:
        conn = agent.connect()
        exec_until_exited(conn, pause, busy_child)  # warm-up: the exec family and its first child
        perf, perf_output = None, os.path.join(workdir, "perf.txt")
        if use_perf:
            perf = subprocess.Popen(["perf", "stat", "--per-thread", "-x,", "-e", "syscalls:sys_enter_poll",
                                     "-p", str(agent.pid), "-o", perf_output], stderr=subprocess.DEVNULL)
            time.sleep(0.5)  # perf attaches
        cpu0, switches0 = agentproc.cpu_seconds(agent.pid), agentproc.context_switches(agent.pid)
        times, polls = [], []
        for _ in range(execs):
            ms, n = exec_until_exited(conn, pause, busy_child)
            times.append(ms)
            polls.append(n)
        cpu = agentproc.cpu_seconds(agent.pid) - cpu0
        loop_polls_per_exec = None
        if perf:
            perf.send_signal(signal.SIGINT)
            perf.wait()
            counted = loop_polls(perf_output)
            loop_polls_per_exec = None if counted is None else counted / execs
        switches = agentproc.context_switches(agent.pid) - switches0
        threads = len(os.listdir(f"/proc/{agent.pid}/task"))
        conn.close()
    finally:
        agent.stop()
    times.sort()
    return {
        "busy_poll": busy_poll, "pause": pause,
        "p50_ms": percentile(times, 0.5), "p90_ms": percentile(times, 0.9), "max_ms": times[-1],
        "polls_p50": statistics.median(polls),
        "cpu_ms_per_exec": cpu * 1e3 / execs, "switches_per_exec": switches / execs, "threads": threads,
        "loop_polls_per_exec": loop_polls_per_exec,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--agent", required=True, help="the ActorAgent release binary (Agent.Host)")
    ap.add_argument("--busy-poll", default="0,0.1ms", help="comma-separated busy-poll values (HOCON durations)")
    ap.add_argument("--pause", default="0,0.001", help="comma-separated seconds between status polls")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--execs", type=int, default=150)
    ap.add_argument("--client-cpu", type=int, default=0)
    ap.add_argument("--agent-cpu", type=int, default=1)
    ap.add_argument("--busy-child", type=int, default=0, help="exec a shell that counts to N instead of /bin/true")
    ap.add_argument("--perf", action="store_true", help="count the event loop's poll(2) calls with perf stat")
    ap.add_argument("--json", help="also write every run's figures here")
    args = ap.parse_args()
    os.sched_setaffinity(0, {args.client_cpu})
    settings = args.busy_poll.split(",")
    pauses = [float(p) for p in args.pause.split(",")]

    results = []
    print(f"load average at start: {os.getloadavg()[0]:.2f}; child: "
          + (f"/bin/sh counting to {args.busy_child}" if args.busy_child else "/bin/true"))
    with tempfile.TemporaryDirectory(prefix="exec-poll-tight-") as workdir:
        for run in range(args.runs):
            for pause in pauses:
                order = settings if run % 2 == 0 else list(reversed(settings))
                for busy_poll in order:
                    r = run_once(args.agent, workdir, busy_poll, pause, args.execs, args.agent_cpu, args.perf, args.busy_child)
                    r["run"], r["load"] = run, os.getloadavg()[0]
                    results.append(r)
                    print(f"run {run} busy-poll {busy_poll:>6} pause {pause:<6}: exited p50 {r['p50_ms']:6.2f} "
                          f"p90 {r['p90_ms']:7.2f} max {r['max_ms']:7.1f} ms, polls p50 {r['polls_p50']:.0f}, "
                          f"agent CPU {r['cpu_ms_per_exec']:.2f} ms and {r['switches_per_exec']:.1f} switches per exec, "
                          f"{r['threads']} threads, load {r['load']:.2f}"
                          + ("" if r["loop_polls_per_exec"] is None else f", loop polls per exec {r['loop_polls_per_exec']:.1f}"),
                          flush=True)
    print(f"load average at end: {os.getloadavg()[0]:.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()

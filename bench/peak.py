#!/usr/bin/env python3
"""What sets the peak RSS (issue 14): bench.py's workloads one at a time, each on fresh agents.

For every workload of bench.py (its own block functions and block counts, imported), ActorAgent and
qemu-ga are started fresh in the same run (alternating which goes first), left idle, then given that
workload alone. Printed per agent: idle RSS, VmHWM after the workload, VmHWM - idle, RssAnon and
RssFile of the highest RSS sample (sampled every 2 ms in a thread, so a short spike can be missed;
VmHWM cannot), the thread count at that sample, the agent's CPU over the workload and the workload's own figure
(bench.py's unit: median µs, /s, MB/s or ms; wall clock, so only comparable within one run). Then the whole
load in bench.py's order on one fresh pair, with VmHWM after each workload, which tells the step that
raises the peak.

GC counts are not printed: the NativeAOT binary has no diagnostics port to read them from outside.

Only bench.py's commands are sent (its ALLOWED list); files stay inside the run's temp folder; the
file-read workload reads a file this script writes itself.

Usage: bench/peak.py --agent PATH/Agent.Host [--qemu-ga /usr/sbin/qemu-ga] [--only key,key]
                     [--env KEY=VALUE ...] [--whole-only] [--json out.json]
"""
import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time

import agentproc
import bench

FIELDS = ("VmRSS", "VmHWM", "RssAnon", "RssFile", "Threads")


def status_fields(pid):
    """VmRSS, VmHWM, RssAnon, RssFile (MB) and Threads of /proc/PID/status, or None once it is gone."""
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key, _, rest = line.partition(":")
                if key in FIELDS:
                    value = int(rest.split()[0])
                    out[key] = value if key == "Threads" else value / 1024.0
    except (FileNotFoundError, ProcessLookupError):
        return None
    return out


def workloads(file_state):
    """bench.py's metrics that carry work: (key, label, block, blocks per round)."""
    return [(m[0], m[1], m[4], m[5]) for m in bench.metrics(file_state) if m[4] is not None]


def prepare(key, agent, file_state, size=8 * 1024 * 1024):
    """file_read_mbs reads what file_write_mbs wrote: here the script writes that file itself."""
    if key == "file_read_mbs":
        path = agentproc.check_path(os.path.join(agent.dir, "bench.dat"), agent.dir)
        with open(path, "wb") as f:
            f.write(os.urandom(size))
        file_state[agent.name] = (path, size)


def measure(agent, steps, file_state, idle):
    """Starts AGENT, waits IDLE s, runs STEPS [(key, block, blocks)]; returns idle, per-step VmHWM, peak sample, CPU."""
    agent.start()
    try:
        time.sleep(idle)
        pid = agent.proc.pid
        before = status_fields(pid)
        cpu0 = agentproc.cpu_seconds(pid)
        after_step, samples = [], []
        with agentproc.PeakSampler(pid, read=status_fields, interval=0.002, rank=lambda s: s["VmRSS"]) as sampler:
            for key, block, blocks in steps:
                prepare(key, agent, file_state)
                samples = []
                for _ in range(blocks):
                    samples.extend(block(agent))
                after_step.append((key, status_fields(pid)["VmHWM"]))
        end = status_fields(pid)
        return {"idle": before["VmRSS"], "idle_threads": before["Threads"], "hwm": end["VmHWM"],
                "after_step": after_step, "top": sampler.top, "cpu": agentproc.cpu_seconds(pid) - cpu0,
                "rss_after": end["VmRSS"], "result": statistics.median(samples) if samples else 0}
    finally:
        agent.stop()


def row(label, r):
    t = r["top"] or {}
    return (f"| {label:30} | {r['idle']:6.1f} | {r['hwm']:6.1f} | {r['hwm'] - r['idle']:+6.1f} | "
            f"{t.get('RssAnon', 0):6.1f} | {t.get('RssFile', 0):5.1f} | {t.get('Threads', 0):3} | {r['cpu']:6.2f} | {r['result']:10,.1f} |")


HEADER = ("| workload                       | idle   | VmHWM  | HWM-idle | anon@pk | file@pk | thr | CPU s | result |\n"
          "|--------------------------------|--------|--------|--------|--------|-------|-----|--------|------------|")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--agent", required=True, help="the ActorAgent release binary (Agent.Host)")
    ap.add_argument("--qemu-ga", default="/usr/sbin/qemu-ga")
    ap.add_argument("--only", help="comma-separated workload keys (bench.py's metric keys)")
    ap.add_argument("--idle", type=float, default=2.0, help="seconds after start before the workload")
    ap.add_argument("--env", action="append", default=[], help="KEY=VALUE for the agents' environment")
    ap.add_argument("--whole-only", action="store_true", help="only the whole load in bench.py's order")
    ap.add_argument("--no-qemu-ga", action="store_true", help="ActorAgent only")
    ap.add_argument("--json")
    ap.add_argument("--client-cpu", type=int, default=0)
    ap.add_argument("--agent-cpu", type=int, default=1)
    args = ap.parse_args()

    for kv in args.env:
        k, _, v = kv.partition("=")
        os.environ[k] = v
    os.sched_setaffinity(0, {args.client_cpu})
    work = tempfile.mkdtemp(prefix="qga-peak-")
    agents = [bench.Agent("actoragent", [os.path.abspath(args.agent)], work, args.agent_cpu)]
    if not args.no_qemu_ga:
        agents.append(bench.Agent("qemu-ga", [args.qemu_ga], work, args.agent_cpu))
    file_state = {}
    table = workloads(file_state)
    if args.only:
        keep = args.only.split(",")
        table = [w for w in table if w[0] in keep]
    load_before = open("/proc/loadavg").read().split()[:3]
    results = {a.name: {} for a in agents}
    try:
        if not args.whole_only:
            for i, (key, label, block, blocks) in enumerate(table):
                for a in (agents if i % 2 == 0 else agents[::-1]):
                    results[a.name][key] = measure(a, [(key, block, blocks)], file_state, args.idle)
                print(f"{label} done", file=sys.stderr)
        for a in agents:
            results[a.name]["whole"] = measure(a, [(k, b, n) for k, _, b, n in table], file_state, args.idle)
    finally:
        for a in agents:
            a.stop()
        shutil.rmtree(work, ignore_errors=True)
    load_after = open("/proc/loadavg").read().split()[:3]

    print(f"\nload average before {' '.join(load_before)}, after {' '.join(load_after)};"
          f" env {' '.join(args.env) or '-'}; MB; each workload on fresh agents with bench.py's block count\n")
    for a in agents:
        print(f"### {a.name}\n\n{HEADER}")
        for key, label, *_ in table:
            if key in results[a.name]:
                print(row(label, results[a.name][key]))
        print(row("whole load (bench.py order)", results[a.name]["whole"]))
        print()
    names = [a.name for a in agents]
    print("VmHWM after each workload of the whole load (MB):\n")
    print("| after | " + " | ".join(names) + " |\n|---|" + "---|" * len(names))
    steps = {n: dict(results[n]["whole"]["after_step"]) for n in names}
    for key, label, *_ in table:
        print(f"| {label} | " + " | ".join(f"{steps[n][key]:.1f}" for n in names) + " |")
    if len(names) == 2:
        w = results
        print(f"\nwhole-load VmHWM ratio: {w[names[0]]['whole']['hwm'] / w[names[1]]['whole']['hwm']:.2f}x")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"load_before": load_before, "load_after": load_after, "env": args.env, "results": results}, f, indent=2)


if __name__ == "__main__":
    main()

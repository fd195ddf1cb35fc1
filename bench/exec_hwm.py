#!/usr/bin/env python3
"""Peak RSS (VmHWM) and agent CPU of one 8 MiB exec capture on a fresh agent: the load-independent
side of bench.py's exec_8mb_ms and of the peak-RSS target.

Usage: bench/exec_hwm.py --agent out/aot/Agent.Host [--qemu-ga /usr/sbin/qemu-ga] [--runs 3] [--cpu 1]

Per run, each agent is started fresh, answers 20 pings, and then runs bench.py's exec_8mb_ms workload
once (guest-exec of `head -c 8388608 /dev/zero` with capture-output, guest-exec-status every 1 ms
until exited, read-output for what did not fit). Printed: VmHWM before and after the exec (MB), the
agent's CPU seconds for the exec (utime + stime of all its threads; the children are not counted),
and its context switches. Sends only bench.py's ALLOWED commands.
"""
import argparse
import os
import shutil
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from agentproc import context_switches, cpu_seconds, status  # noqa: E402
from bench import Agent, exec_to_exited  # noqa: E402

EIGHT_MB = 8 * 1024 * 1024
EXEC = {"path": "/bin/sh", "arg": ["-c", f"head -c {EIGHT_MB} /dev/zero"], "capture-output": True}


def one_run(name, argv, workdir, cpu):
    agent = Agent(name, argv, workdir, cpu)
    agent.start()
    try:
        for _ in range(20):
            agent.conn.call("guest-ping")
        pid = agent.proc.pid
        hwm_before = status(pid, "VmHWM") / 1024
        cpu0, switches0 = cpu_seconds(pid), context_switches(pid)
        exec_to_exited(EXEC, 1, expect_out=EIGHT_MB)(agent)
        return {
            "hwm_before_mb": hwm_before,
            "hwm_after_mb": status(pid, "VmHWM") / 1024,
            "rss_after_mb": status(pid, "VmRSS") / 1024,
            "cpu_s": cpu_seconds(pid) - cpu0,
            "switches": context_switches(pid) - switches0,
        }
    finally:
        agent.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--agent", required=True)
    ap.add_argument("--qemu-ga", default="/usr/sbin/qemu-ga", help="'none' to skip")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--cpu", type=int, default=1)
    args = ap.parse_args()
    workdir = tempfile.mkdtemp(prefix="exec-hwm-")
    try:
        for name, binary in (("ActorAgent", os.path.abspath(args.agent)), ("qemu-ga", args.qemu_ga)):
            if binary == "none" or not os.path.exists(binary):
                continue
            runs = [one_run(name, [binary], workdir, args.cpu) for _ in range(args.runs)]
            med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
            hwms = ", ".join("%.1f" % r["hwm_after_mb"] for r in runs)
            cpus = ", ".join("%.3f" % r["cpu_s"] for r in runs)
            print(f"{name:11} VmHWM {med['hwm_before_mb']:.1f} -> {med['hwm_after_mb']:.1f} MB"
                  f" (RSS after {med['rss_after_mb']:.1f}), exec CPU {med['cpu_s']:.3f} s,"
                  f" {med['switches']:.0f} switches  (median of {len(runs)}; HWM {hwms}; CPU {cpus})")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()

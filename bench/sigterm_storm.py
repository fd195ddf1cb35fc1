#!/usr/bin/env python3
"""Signal storm: start an agent, put it under traffic, send SIGTERM at a random moment, and see how it
ends (issue 11, item 8). Repeated N times (default 10,000); not part of CI, about 20-40 minutes on
this machine kind with the default 4 jobs.

Each run: the agent starts on a unix socket in a temp folder; a client connects and keeps 64
pipelined read-only requests (guest-ping, guest-info, guest-get-osinfo) in flight; after a random
0-30 ms after its first reply SIGTERM is sent. Outcomes: "clean" = exited with status 0; "abort" =
killed by a signal (SIGABRT, SIGSEGV, ...) or a non-zero status, counted per status; "hang" = still running --grace seconds (default 5)
after the SIGTERM (then SIGKILLed). Only read-only commands are sent, so qemu-ga can be run the same
way: --agent /usr/sbin/qemu-ga.

Usage: bench/sigterm_storm.py --agent out/aot/Agent.Host [--runs 10000] [--jobs 4] [--grace 5]
"""
import argparse
import concurrent.futures
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

from agentproc import BLOCKED, request

TRAFFIC = [request("guest-ping"), request("guest-info"), request("guest-get-osinfo")]


def traffic(path, stop, flowing):
    """Keeps requests flowing until STOP is set or the agent goes away; sets FLOWING at the first reply."""
    deadline = time.monotonic() + 20
    while not stop.is_set():
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(1)
            s.connect(path)
            break
        except OSError:
            s.close()
            if time.monotonic() > deadline:
                return
            time.sleep(0.001)
    else:
        return
    try:
        block = b"".join(TRAFFIC[i % 3] for i in range(64))
        while not stop.is_set():
            s.sendall(block)
            try:
                if s.recv(1 << 16):
                    flowing.set()
            except socket.timeout:
                pass
    except OSError:
        pass
    finally:
        s.close()


def one_run(binary, grace, seed):
    rnd = random.Random(seed)
    folder = tempfile.mkdtemp(prefix="agent-storm-")
    sock = os.path.join(folder, "qga.sock")
    proc = subprocess.Popen([binary, "-m", "unix-listen", "-p", sock, "-t", folder, "-b", BLOCKED],
                            cwd=folder, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    stop, flowing = threading.Event(), threading.Event()
    client = threading.Thread(target=traffic, args=(sock, stop, flowing), daemon=True)
    client.start()
    try:
        # Under traffic: the agent has answered, so its signal handling is in place.
        if not flowing.wait(20):
            proc.kill()
            proc.wait()
            return "no-start"
        time.sleep(rnd.uniform(0, 0.03))
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            return "hang"
        return "clean" if code == 0 else f"abort({code})"
    finally:
        stop.set()
        client.join(5)
        shutil.rmtree(folder, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--agent", required=True)
    ap.add_argument("--runs", type=int, default=10_000)
    ap.add_argument("--jobs", type=int, default=4)
    ap.add_argument("--grace", type=float, default=5.0)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    binary = os.path.abspath(args.agent)
    counts = {"clean": 0, "hang": 0}
    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        for i, outcome in enumerate(pool.map(lambda k: one_run(binary, args.grace, args.seed * 1_000_003 + k), range(args.runs))):
            counts[outcome] = counts.get(outcome, 0) + 1
            if (i + 1) % 500 == 0:
                print(f"{i + 1} runs: {counts}", flush=True)
    n = args.runs
    aborts = sum(v for k, v in counts.items() if k.startswith("abort"))
    print(f"{os.path.basename(binary)}: {n} SIGTERMs in {time.monotonic() - t0:.0f}s: clean {counts['clean']}, "
          f"abort {aborts} ({100 * aborts / n:.1f}%), hang {counts['hang']} ({100 * counts['hang'] / n:.1f}%); by exit status {counts}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Instructions a cold start executes up to its first reply, under valgrind's callgrind (bench/README.md).

Usage: bench/startup_instructions.py [--runs 3] NAME='ARGV with {sock} and {dir}' ...
e.g.   bench/startup_instructions.py agent='out/aot/Agent.Host -m unix-listen -p {sock} -t {dir}' bare='out/bare/BareHosting {sock}'
Each binary is started under callgrind serving a unix socket in a fresh temp folder; at the first guest-ping
reply the counts are dumped (callgrind_control -d) and the process is killed. The count does not depend on
the machine's load (this VM has no hardware counters, and its CPU time includes the time the hypervisor
takes), so a few runs resolve differences of a fraction of a percent: the spread between runs is the
program's own (thread interleaving, timers). Prints the median over the runs.
Needs valgrind (a Debian package). NativeAOT's .dbg files are unreadable to valgrind 3.19, so a copy of
the binary without it is run.
"""
import argparse, glob, os, shlex, shutil, signal, statistics, subprocess, tempfile, time

import agentproc


def one(argv, work):
    copy = os.path.join(work, "bin", os.path.basename(argv[0]))
    os.makedirs(os.path.dirname(copy), exist_ok=True)
    shutil.copy(argv[0], copy)
    out = os.path.join(work, "callgrind.out")
    sock = os.path.join(work, "sock")
    proc = subprocess.Popen(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", copy] +
                            [a.format(sock=sock, dir=work) for a in argv[1:]],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    s = agentproc.connect_when_listening(sock, proc, 0.05, deadline=time.monotonic() + 300)
    s.sendall(b'{"execute":"guest-ping"}\n')
    reply = b""
    while not reply.endswith(b"\n"):
        reply += s.recv(4096)
    subprocess.run(["callgrind_control", "-d", str(proc.pid)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    s.close()
    total = 0
    for dump in glob.glob(out + "*"):
        for line in open(dump):
            if line.startswith("totals:"):
                total += int(line.split()[1])
    return total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("binaries", nargs="+")
    args = ap.parse_args()
    results = {}
    for i in range(args.runs):
        for item in args.binaries:
            name, template = item.split("=", 1)
            work = tempfile.mkdtemp(prefix="startup-ir-")
            try:
                results.setdefault(name, []).append(one(shlex.split(template), work))
            finally:
                shutil.rmtree(work, ignore_errors=True)
    print(f"{'binary':<14} {'instructions to 1st reply (median, min-max)':>46}")
    for name, runs in results.items():
        totals = runs
        print(f"{name:<14} {statistics.median(totals) / 1e6:>10.2f} M ({min(totals) / 1e6:.2f}-{max(totals) / 1e6:.2f})")


if __name__ == "__main__":
    main()

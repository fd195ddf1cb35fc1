#!/usr/bin/env python3
"""Cold start and idle memory of several binaries, interleaved in one run (bench/README.md).

Usage: bench/startup.py [--starts 15] NAME='ARGV with {sock} and {dir}' ...
e.g.   bench/startup.py agent='out/aot/Agent.Host -m unix-listen -p {sock} -t {dir}' \
                        bare='out/bare/BareHosting {sock}' qemu-ga='/usr/sbin/qemu-ga -m unix-listen -p {sock} -t {dir}'
Startup = spawn to the first guest-ping reply on the unix socket (connect retried every 0.1 ms);
RSS idle = VmRSS 2 s after that reply. CPU = the process's CPU time when the first reply is read
(sum of /proc/PID/task/*/schedstat, ns resolution) and faults = its minor page faults then: both are
what a start costs regardless of the machine's load (compare them when the load is high). Each round starts every binary once, in rotating order, so a
change in the machine's load hits all alike. Prints medians (and min/max) and the load average.
"""
import argparse, json, os, shlex, shutil, statistics, subprocess, tempfile, time

import agentproc

PING = b'{"execute":"guest-ping"}\n'


def start(argv, sock, cpu):
    # The binary inherits this thread's CPU. No preexec_fn, so Python spawns with vfork: a fork of the
    # client costs ~10 ms here, which was counted in every binary's start (as in bench.py).
    client_cpus = os.sched_getaffinity(0)
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    try:
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    finally:
        os.sched_setaffinity(0, client_cpus)
    s = agentproc.connect_when_listening(sock, proc, 0.0001)
    s.sendall(PING)
    reply = b""
    while not reply.endswith(b"\n"):
        chunk = s.recv(4096)
        if not chunk:
            break
        reply += chunk
    elapsed = time.perf_counter() - t0
    cpu_ms, minflt = cost(proc.pid)
    if reply.strip() != b'{"return": {}}':
        raise RuntimeError(f"{argv[0]}: first ping answered {reply!r}")
    return proc, s, elapsed, cpu_ms, minflt


def cost(pid):
    """CPU ms of the live threads and minor faults of the process, now."""
    ns = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                ns += int(f.read().split()[0])
        except FileNotFoundError:
            pass
    with open(f"/proc/{pid}/stat") as f:
        minflt = int(f.read().rsplit(")", 1)[1].split()[7])
    return ns / 1e6, minflt


def rss(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--starts", type=int, default=15)
    ap.add_argument("--cpu", type=int, default=1, help="pin the binaries to this CPU (-1: no pinning)")
    ap.add_argument("--json")
    ap.add_argument("binaries", nargs="+")
    args = ap.parse_args()
    cpu = None if args.cpu < 0 else args.cpu
    named = [b.split("=", 1) for b in args.binaries]
    work = tempfile.mkdtemp(prefix="startup-")
    samples = {name: {"startup_ms": [], "rss_mb": [], "cpu_ms": [], "minflt": []} for name, _ in named}
    load_before = os.getloadavg()[0]
    try:
        for i in range(args.starts):
            order = named[i % len(named):] + named[:i % len(named)]
            for name, template in order:
                d = os.path.join(work, f"{name}-{i}")
                os.makedirs(d)
                sock = os.path.join(d, "sock")
                argv = [a.format(sock=sock, dir=d) for a in shlex.split(template)]
                proc, s, elapsed, cpu_ms, minflt = start(argv, sock, cpu)
                time.sleep(2)
                samples[name]["startup_ms"].append(elapsed * 1e3)
                samples[name]["rss_mb"].append(rss(proc.pid))
                samples[name]["cpu_ms"].append(cpu_ms)
                samples[name]["minflt"].append(minflt)
                s.close()
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    load_after = os.getloadavg()[0]
    print(f"load average {load_before:.1f} before, {load_after:.1f} after; {args.starts} cold starts each, interleaved")
    print(f"{'binary':<12} {'startup median (min-max)':>28} {'RSS idle median (min-max)':>30} "
          f"{'CPU to 1st reply':>18} {'minor faults':>13}")
    for name, s in samples.items():
        st, r, c, m = s["startup_ms"], s["rss_mb"], s["cpu_ms"], s["minflt"]
        print(f"{name:<12} {statistics.median(st):>10.1f} ms ({min(st):.1f}-{max(st):.1f}) "
              f"{statistics.median(r):>10.1f} MB ({min(r):.1f}-{max(r):.1f}) "
              f"{statistics.median(c):>12.1f} ms {statistics.median(m):>13.0f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"load": [load_before, load_after], "samples": samples}, f, indent=1)


if __name__ == "__main__":
    main()

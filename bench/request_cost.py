#!/usr/bin/env python3
"""Load-independent cost per request of an agent binary (bench/README.md, "Per-request cost").

Agent CPU time (utime+stime) and context switches (all threads) per request over 10,000 sequential
guest-ping and over 100,000 guest-ping in one write, after a warm-up; the agent on CPU 1, this client
on CPU 0. Sends nothing but guest-ping.

Usage: bench/request_cost.py PATH/TO/Agent.Host [rounds]    (also works with /usr/sbin/qemu-ga)
"""
import os, socket, subprocess, sys, tempfile, time, glob

def proc_cpu(pid):
    with open(f"/proc/{pid}/stat") as f:
        parts = f.read().rsplit(")", 1)[1].split()
    tck = os.sysconf("SC_CLK_TCK")
    return (int(parts[11]) + int(parts[12])) / tck

def ctx(pid):
    total = 0
    for st in glob.glob(f"/proc/{pid}/task/*/status"):
        try:
            for line in open(st):
                if line.startswith(("voluntary_ctxt", "nonvoluntary_ctxt")):
                    total += int(line.split()[1])
        except FileNotFoundError:
            pass
    return total

def main():
    binary = sys.argv[1]
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    d = tempfile.mkdtemp()
    sock = os.path.join(d, "s"); st = os.path.join(d, "st"); os.makedirs(st)
    p = subprocess.Popen([binary, "-m", "unix-listen", "-p", sock, "-t", st], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.sched_setaffinity(p.pid, {1}); os.sched_setaffinity(0, {0})
    while not os.path.exists(sock): time.sleep(0.01)
    time.sleep(0.3)
    s = socket.socket(socket.AF_UNIX); s.connect(sock)
    ping = b'{"execute":"guest-ping"}\n'
    def seq(n):
        for _ in range(n):
            s.sendall(ping); buf = b""
            while not buf.endswith(b"\n"): buf += s.recv(4096)
    def burst(n):
        data = ping * n
        import threading
        t = threading.Thread(target=s.sendall, args=(data,)); t.start()
        got = 0
        while got < n:
            chunk = s.recv(1 << 20); got += chunk.count(b"\n")
        t.join()
    seq(3000); burst(20000)
    for r in range(reps):
        c0, x0 = proc_cpu(p.pid), ctx(p.pid); t0 = time.time()
        seq(10000)
        c1, x1 = proc_cpu(p.pid), ctx(p.pid); t1 = time.time()
        burst(100000)
        c2, x2 = proc_cpu(p.pid), ctx(p.pid); t2 = time.time()
        print(f"seq10k: cpu {(c1-c0)*1e6/10000:6.1f} us/req ctx {(x1-x0)/10000:5.2f}/req wall {(t1-t0)*1e6/10000:6.1f} us | "
              f"burst100k: cpu {(c2-c1)*1e6/100000:5.2f} us/req ctx {(x2-x1)/100000:6.3f}/req wall {100000/(t2-t1):8.0f}/s", flush=True)
    with open(f"/proc/{p.pid}/status") as f:
        print([l.strip() for l in f if l.startswith("VmHWM")])
    p.terminate(); p.wait()

main()

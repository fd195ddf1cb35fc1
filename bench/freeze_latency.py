#!/usr/bin/env python3
"""Latency of the frozen-state paths of a built agent over a unix socket, on fake roots only.

Usage: bench/freeze_latency.py PATH/TO/Agent.Host
Starts the agent frozen (a marker as a previous instance would leave it) with a HOCON file whose
procfs mount table lists only a directory that does not exist, so no ioctl reaches a real
filesystem. Prints p50/p99 of guest-fsfreeze-status (KubeVirt polls it every 5 s with a 5 s
timeout) and of a disabled command, the thaw round trip, and SIGTERM-to-exit after the thaw.
"""
import os, signal, socket, subprocess, sys, tempfile, time

agent = sys.argv[1]
root = tempfile.mkdtemp(prefix="freeze-bench-")
os.makedirs(f"{root}/state"); os.makedirs(f"{root}/proc/self"); os.makedirs(f"{root}/bin")
open(f"{root}/proc/self/mountinfo", "w").write(f"25 22 254:3 / {root}/not-a-mount rw - xfs /dev/vdb rw\n")
open(f"{root}/agent.conf", "w").write(
    f'agent {{\n paths {{ sysfs = "{root}/sys", procfs = "{root}/proc", etc = "{root}/etc", dev = "{root}/dev" }}\n'
    f' helpers.path = ["{root}/bin"]\n}}\n')
open(f"{root}/state/qga.state.isfrozen", "w").close()
p = subprocess.Popen([agent, "-m", "unix-listen", "-p", f"{root}/sock", "-c", f"{root}/agent.conf", "-t", f"{root}/state"],
                     stderr=subprocess.DEVNULL)
s = socket.socket(socket.AF_UNIX)
for _ in range(400):
    try:
        s.connect(f"{root}/sock"); break
    except OSError:
        time.sleep(0.05)
f = s.makefile("rwb")

def rt(req):
    f.write((req + "\n").encode()); f.flush(); return f.readline()

def measure(req, n):
    lat = []
    for _ in range(n):
        t = time.perf_counter(); rt(req); lat.append((time.perf_counter() - t) * 1e6)
    lat.sort()
    return lat[len(lat) // 2], lat[int(len(lat) * 0.99)]

measure('{"execute":"guest-fsfreeze-status"}', 200)  # warm-up
print("status while frozen: p50 %.0f us, p99 %.0f us" % measure('{"execute":"guest-fsfreeze-status"}', 2000))
print("disabled command:    p50 %.0f us, p99 %.0f us" % measure('{"execute":"guest-get-time"}', 500))
t = time.perf_counter(); reply = rt('{"execute":"guest-fsfreeze-thaw"}').strip().decode()
print(f"thaw round trip: {(time.perf_counter() - t) * 1e3:.1f} ms -> {reply}")
t = time.perf_counter(); p.send_signal(signal.SIGTERM); rc = p.wait()
print(f"SIGTERM after thaw: exit {rc} in {(time.perf_counter() - t) * 1e3:.0f} ms")

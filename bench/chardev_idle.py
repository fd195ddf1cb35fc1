#!/usr/bin/env python3
"""The agent's CPU on a serial port whose host has gone (was an assertion in CharDeviceSpecs).

A pty stands in for the port: the script holds the master (the "host"), the agent opens the slave
with -m isa-serial. After one guest-sync round trip the master is closed, as a host disconnect, and
the agent's utime+stime is sampled for --seconds. qemu-ga backs off 100 ms per poll; a busy loop
shows as a whole CPU. Exits 1 when the agent used more than --limit ticks, or exited.

    python3 bench/chardev_idle.py --agent PATH/Agent.Host [--seconds 2] [--limit 50]
"""
import argparse
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time

from agentproc import BLOCKED


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        stat = f.read()
    fields = stat[stat.rindex(")") + 2:].split()
    return int(fields[11]) + int(fields[12])


def wait_until_opened(proc, device, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("the agent exited before opening its channel")
        for fd in os.listdir(f"/proc/{proc.pid}/fd"):
            try:
                if os.readlink(f"/proc/{proc.pid}/fd/{fd}") == device:
                    return
            except OSError:
                pass
        time.sleep(0.05)
    raise SystemExit(f"the agent never opened {device}")


def read_line(fd, timeout=30.0):
    buf = b""
    deadline = time.monotonic() + timeout
    while b"\n" not in buf:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise SystemExit("no reply from the agent")
        buf += os.read(fd, 4096)
    return buf.split(b"\n", 1)[0].strip()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--agent", required=True)
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--limit", type=int, default=50, help="clock ticks allowed over --seconds")
    args = ap.parse_args()

    master, slave = os.openpty()
    device = os.ttyname(slave)
    os.close(slave)
    workdir = tempfile.mkdtemp(prefix="chardev-idle-")
    proc = subprocess.Popen([os.path.abspath(args.agent), "-m", "isa-serial", "-p", device, "-t", workdir, "-b", BLOCKED],
                            cwd=workdir, stderr=subprocess.DEVNULL)
    try:
        # isa-serial flushes pending input when it opens the tty: talk only once the agent holds it.
        wait_until_opened(proc, device)
        os.write(master, b'{"execute":"guest-sync","arguments":{"id":5}}\n')
        reply = json.loads(read_line(master))
        if reply != {"return": 5}:
            raise SystemExit(f"unexpected reply {reply}")

        os.close(master)
        master = -1
        before = cpu_ticks(proc.pid)
        time.sleep(args.seconds)
        if proc.poll() is not None:
            print("the agent exited when the host went away")
            return 1
        used = cpu_ticks(proc.pid) - before
        hz = os.sysconf("SC_CLK_TCK")
        print(f"agent CPU with the host gone: {used} ticks ({used / hz * 1000:.0f} ms) in {args.seconds:g} s, limit {args.limit}")
        return 0 if used <= args.limit else 1
    finally:
        if master >= 0:
            os.close(master)
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

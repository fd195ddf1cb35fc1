#!/usr/bin/env python3
"""Soak: N mixed requests (default 10 million) against one agent, RSS and open descriptors sampled
over time (issue 11, item 8). Not part of CI; about 30-50 minutes for 10 million on this machine kind.

The mix, per cycle: 16 writes of 256 guest-ping, guest-info and guest-get-osinfo (6:1:1) pipelined
(ids checked: every reply, in order); ten file cycles in the run's temp folder (open w+, write 4 KiB,
close, open r, read, close); one guest-exec of /bin/true polled with guest-exec-status until it exited.
Every 5 s (--sample) it appends "seconds requests rss_mb fds" to the CSV (--csv) and at the end prints
first/peak/last RSS and descriptors and the drift after the warm-up (the first 10% of the run): flat
means the drift stays within a few MB and the descriptor count returns to its start.

Usage: bench/soak.py --agent out/aot/Agent.Host [--requests 10000000] [--csv soak.csv] [--env K=V]
       (any agent with qemu-ga's options works: --agent /usr/sbin/qemu-ga)
"""
import argparse
import base64
import json
import os
import shutil
import tempfile
import time

from agentproc import Agent, check_path, fd_count, request, rss_mb

PIPELINE = ["guest-ping"] * 6 + ["guest-info", "guest-get-osinfo"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--agent", required=True)
    ap.add_argument("--requests", type=int, default=10_000_000)
    ap.add_argument("--sample", type=float, default=5.0)
    ap.add_argument("--csv")
    ap.add_argument("--env", action="append", default=[])
    args = ap.parse_args()
    folder = tempfile.mkdtemp(prefix="agent-soak-")
    agent = Agent(os.path.abspath(args.agent), folder, "soak", env=dict(kv.split("=", 1) for kv in args.env)).start()
    samples, csv = [], open(args.csv, "w") if args.csv else None
    payload = base64.b64encode(os.urandom(4096)).decode()
    path = check_path(os.path.join(folder, "soak.bin"), folder)
    conn = agent.connect()
    sent, t0, next_sample, next_id = 0, time.monotonic(), 0.0, 0
    try:
        while sent < args.requests:
            now = time.monotonic() - t0
            if now >= next_sample:
                s = (round(now, 1), sent, rss_mb(agent.pid), fd_count(agent.pid))
                samples.append(s)
                if csv:
                    csv.write(" ".join(str(x) for x in s) + "\n")
                    csv.flush()
                next_sample += args.sample
            # Pipelined read-only requests, 256 in flight per write.
            for _ in range(16):
                block, ids = bytearray(), []
                for k in range(256):
                    block += request(PIPELINE[(next_id + k) % len(PIPELINE)], id=next_id + k)
                    ids.append(next_id + k)
                next_id += 256
                conn.sock.sendall(block)
                for expected in ids:
                    reply = json.loads(conn.line())
                    if reply.get("id") != expected or "return" not in reply:
                        raise SystemExit(f"reply {reply} where id {expected} was due")
                sent += 256
            # Ten file cycles inside the temp folder.
            for _ in range(10):
                h = conn.call("guest-file-open", {"path": path, "mode": "w+"})
                conn.call("guest-file-write", {"handle": h, "buf-b64": payload})
                conn.call("guest-file-close", {"handle": h})
                h = conn.call("guest-file-open", {"path": path, "mode": "r"})
                conn.call("guest-file-read", {"handle": h, "count": 4096})
                conn.call("guest-file-close", {"handle": h})
                sent += 6
            # One exec of /bin/true until it has exited.
            pid = conn.call("guest-exec", {"path": "/bin/true"})["pid"]
            sent += 1
            while True:
                sent += 1
                if conn.call("guest-exec-status", {"pid": pid})["exited"]:
                    break
                time.sleep(0.001)
        now = time.monotonic() - t0
        samples.append((round(now, 1), sent, rss_mb(agent.pid), fd_count(agent.pid)))
    finally:
        conn.close()
        agent.stop()
        shutil.rmtree(folder, ignore_errors=True)
        if csv:
            csv.close()
    warm = samples[max(1, len(samples) // 10)] if len(samples) > 2 else samples[0]
    last = samples[-1]
    print(f"{sent:,} requests in {last[0]:.0f}s ({sent / max(last[0], 1e-9):,.0f}/s)")
    print(f"RSS MB: first {samples[0][2]:.1f}, after warm-up {warm[2]:.1f}, peak {max(s[2] for s in samples):.1f}, "
          f"last {last[2]:.1f}, drift after warm-up {last[2] - warm[2]:+.1f}")
    print(f"fds: first {samples[0][3]}, peak {max(s[3] for s in samples)}, last {last[3]}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Memory of an agent under large and hostile loads (issue 11, item 3): RSS in MB from /proc.

Scenarios, each on a freshly started agent:
  idle       RSS 3 s after start.
  large      one guest-file-write whose request is a ~63 MiB line (47 MiB payload), into the temp
             folder: peak RSS during it (sampled every 5 ms), peak minus idle, the ratio of that to
             the message size, and RSS 5 s and 30 s after the reply.
  stall      the host writes 20,000 pipelined guest-ping and 16 guest-file-read of 4 MiB and does not
             read for 10 s: the highest RSS seen while it stalls, then everything is read (checked:
             all replies, in order) and RSS 5 s later.
  disconnect 200 clients each ask for a 4 MiB guest-file-read and hang up before the reply: peak RSS
             and RSS 5 s after the last one.
Nothing outside the run's temp folder is written; the agent is started with every command that
could act on the machine blocked (bench/agentproc.py).

Usage: dotnet publish Agent.Host -c Release -p:PublishAot=true -o out/aot
       bench/memory.py --agent out/aot/Agent.Host [--qemu-ga /usr/sbin/qemu-ga] [--env KEY=VALUE ...]
                       [--scenarios idle,large,stall,disconnect] [--json out.json]
"""
import argparse
import base64
import json
import os
import shutil
import tempfile
import threading
import time

from agentproc import Agent, Connection, PeakSampler, check_path, request, rss_mb

MiB = 1 << 20


def settle(pid, seconds):
    time.sleep(seconds)
    return rss_mb(pid)


def open_file(conn, path, mode):
    return conn.call("guest-file-open", {"path": path, "mode": mode})


def make_file(agent, folder, name, size):
    """A file of SIZE bytes inside FOLDER, written by the test itself (not through the agent)."""
    path = check_path(os.path.join(folder, name), folder)
    with open(path, "wb") as f:
        f.write(os.urandom(size))
    return path


def scenario_large(binary, folder, env):
    agent = Agent(binary, folder, "large", env=env).start()
    try:
        idle = settle(agent.pid, 3)
        payload = os.urandom(47 * MiB)
        b64 = base64.b64encode(payload).decode()
        conn = agent.connect()
        handle = open_file(conn, check_path(os.path.join(folder, "large.bin"), folder), "w")
        line = request("guest-file-write", {"handle": handle, "buf-b64": b64})
        size_mb = len(line) / MiB
        with PeakSampler(agent.pid) as s:
            conn.sock.sendall(line)
            reply = json.loads(conn.line())
        assert reply.get("return", {}).get("count") == len(payload), reply
        conn.call("guest-file-close", {"handle": handle})
        conn.close()
        after5 = settle(agent.pid, 5)
        after30 = settle(agent.pid, 25)
        return {"idle": idle, "message_mib": round(size_mb, 1), "peak": s.top, "peak_minus_idle": s.top - idle,
                "peak_minus_idle_per_message": (s.top - idle) / (len(line) / 1e6),
                "after_5s": after5, "after_30s": after30}
    finally:
        agent.stop()


def scenario_stall(binary, folder, env):
    agent = Agent(binary, folder, "stall", env=env).start()
    try:
        idle = settle(agent.pid, 3)
        path = make_file(agent, folder, "stall.bin", 4 * MiB)
        conn = agent.connect(timeout=300)
        handles = [open_file(conn, path, "r") for _ in range(16)]
        burst = bytearray()
        for i in range(20000):
            burst += request("guest-ping", id=i)
        for i, h in enumerate(handles):
            burst += request("guest-file-read", {"handle": h, "count": 4 * MiB}, id=100000 + i)
        with PeakSampler(agent.pid) as s:
            writer = threading.Thread(target=conn.sock.sendall, args=(bytes(burst),), daemon=True)
            writer.start()
            time.sleep(10)
            stalled_peak = s.top
            ids, refused = [], 0
            for _ in range(20000 + len(handles)):
                r = json.loads(conn.line())
                refused += "error" in r
                ids.append(r.get("id"))
            writer.join()
        expected = list(range(20000)) + [100000 + i for i in range(len(handles))]
        out_of_order = sum(1 for a, b in zip(ids, ids[1:]) if a > b)
        for h in handles:
            conn.call("guest-file-close", {"handle": h})
        conn.close()
        after = settle(agent.pid, 5)
        return {"idle": idle, "peak_while_stalled": stalled_peak, "peak": s.top, "after_5s": after,
                "error_replies": refused, "out_of_order": out_of_order, "all_in_order": ids == expected}
    finally:
        agent.stop()


def scenario_disconnect(binary, folder, env, clients=200):
    agent = Agent(binary, folder, "disc", env=env).start()
    try:
        idle = settle(agent.pid, 3)
        path = make_file(agent, folder, "disc.bin", 4 * MiB)
        # The agent serves one client at a time (as qemu-ga does); handles outlive the connection.
        opener = connect_retrying(agent.sock)
        handles = [open_file(opener, path, "r") for _ in range(8)]
        opener.close()
        with PeakSampler(agent.pid) as s:
            for i in range(clients):
                c = connect_retrying(agent.sock)
                h = handles[i % len(handles)]
                c.sock.sendall(request("guest-file-read", {"handle": h, "count": 4 * MiB}))
                c.close()
                time.sleep(0.01)
            # The agent still answers afterwards.
            keeper = connect_retrying(agent.sock)
            keeper.call("guest-ping")
        for h in handles:
            keeper.call("guest-file-close", {"handle": h})
        keeper.close()
        after = settle(agent.pid, 5)
        return {"idle": idle, "clients": clients, "peak": s.top, "after_5s": after}
    finally:
        agent.stop()


def connect_retrying(path, seconds=30):
    """A listener that accepts one client at a time refuses (EAGAIN) while its backlog is full."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return Connection(path, timeout=30)
        except (BlockingIOError, ConnectionRefusedError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.005)


def scenario_idle(binary, folder, env):
    agent = Agent(binary, folder, "idle", env=env).start()
    try:
        return {"idle": settle(agent.pid, 3)}
    finally:
        agent.stop()


SCENARIOS = {"idle": scenario_idle, "large": scenario_large, "stall": scenario_stall, "disconnect": scenario_disconnect}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--agent", required=True)
    ap.add_argument("--qemu-ga")
    ap.add_argument("--env", action="append", default=[], help="KEY=VALUE for ActorAgent's environment (GC settings)")
    ap.add_argument("--scenarios", default="idle,large,stall,disconnect")
    ap.add_argument("--json")
    args = ap.parse_args()
    env = dict(kv.split("=", 1) for kv in args.env)
    agents = [("ActorAgent", os.path.abspath(args.agent), env)]
    if args.qemu_ga:
        agents.append(("qemu-ga", args.qemu_ga, {}))
    results = {}
    for name, binary, agent_env in agents:
        for scenario in args.scenarios.split(","):
            folder = tempfile.mkdtemp(prefix="agent-memory-")
            try:
                r = SCENARIOS[scenario](binary, folder, agent_env)
            except Exception as e:  # a scenario that breaks is reported, not hidden
                r = {"error": f"{type(e).__name__}: {e}"}
            finally:
                shutil.rmtree(folder, ignore_errors=True)
            results.setdefault(name, {})[scenario] = r
            print(f"{name:10} {scenario:10} " + ", ".join(
                f"{k} {v:.1f}" if isinstance(v, float) else f"{k} {v}" for k, v in r.items()), flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"agents": results, "env": env, "load": os.getloadavg()}, f, indent=2)


if __name__ == "__main__":
    main()

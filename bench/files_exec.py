#!/usr/bin/env python3
"""guest-file-* throughput and guest-exec latency of an agent binary on a unix socket.

Usage: bench/files_exec.py AGENT_BINARY [AGENT_BINARY ...]
e.g.   bench/files_exec.py /usr/sbin/qemu-ga /tmp/actoragent/Agent.Host
Each agent runs in a fresh temp folder (its cwd and state dir), as test-qga runs qemu-ga.
Speed numbers live here, not in unit tests.
"""
import base64, json, os, shutil, socket, statistics, subprocess, sys, tempfile, time

MiB = 1024 * 1024


class Agent:
    def __init__(self, binary):
        self.dir = tempfile.mkdtemp(prefix="bench-")
        sock = os.path.join(self.dir, "sock")
        self.proc = subprocess.Popen([binary, "-m", "unix-listen", "-p", sock, "-t", self.dir],
                                     cwd=self.dir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(300):
            try:
                self.sock = socket.socket(socket.AF_UNIX)
                self.sock.connect(sock)
                break
            except OSError:
                time.sleep(0.05)
        self.f = self.sock.makefile("rwb", buffering=1 << 20)

    def call(self, command, **arguments):
        self.f.write(json.dumps({"execute": command, "arguments": arguments}).encode() + b"\n")
        self.f.flush()
        reply = json.loads(self.f.readline())
        if "error" in reply:
            raise RuntimeError(f"{command}: {reply['error']}")
        return reply["return"]

    def close(self):
        self.proc.terminate()
        self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def file_throughput(agent, total, chunk):
    data = os.urandom(total)
    h = agent.call("guest-file-open", path="big", mode="w+")
    start = time.perf_counter()
    for off in range(0, total, chunk):
        agent.call("guest-file-write", handle=h, **{"buf-b64": base64.b64encode(data[off:off + chunk]).decode()})
    agent.call("guest-file-flush", handle=h)
    write_s = time.perf_counter() - start
    agent.call("guest-file-seek", handle=h, offset=0, whence="set")
    back = bytearray()
    start = time.perf_counter()
    while True:
        r = agent.call("guest-file-read", handle=h, count=chunk)
        back += base64.b64decode(r["buf-b64"])
        if r["eof"]:
            break
    read_s = time.perf_counter() - start
    agent.call("guest-file-close", handle=h)
    assert bytes(back) == data, "read back differs"
    return total / MiB / write_s, total / MiB / read_s


def exec_latency(agent, runs):
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        pid = agent.call("guest-exec", path="/bin/true")["pid"]
        while not agent.call("guest-exec-status", pid=pid)["exited"]:
            pass
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.9)]


def main():
    for binary in sys.argv[1:]:
        agent = Agent(binary)
        try:
            exec_latency(agent, 20)  # warm-up (JIT, page cache)
            file_throughput(agent, 8 * MiB, 48 * 1024)
            for chunk in (48 * 1024, 4 * MiB):
                w, r = file_throughput(agent, 64 * MiB, chunk)
                print(f"{binary}: 64 MiB in {chunk // 1024} KiB chunks: write {w:.1f} MB/s, read {r:.1f} MB/s")
            p50, p90 = exec_latency(agent, 300)
            print(f"{binary}: guest-exec /bin/true to exited:true, 300 runs: p50 {p50:.2f} ms, p90 {p90:.2f} ms")
        finally:
            agent.close()


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""One full session against an agent on a unix socket, then its memory map (deploy/check-libc-only.sh).

Usage: libc_only_session.py SOCKET TEMPDIR PID "ALLOWED_LIBS"
Fails (exit 1) on a wrong reply, or on a mapped shared object that is not in ALLOWED_LIBS
(whitespace-separated real paths, what ldd names for the binary).
"""
import base64, json, os, socket, sys, time

sock_path, tmp, pid, allowed = sys.argv[1], sys.argv[2], int(sys.argv[3]), set(sys.argv[4].split())


def connect():
    for _ in range(600):
        try:
            s = socket.socket(socket.AF_UNIX)
            s.connect(sock_path)
            return s
        except OSError:
            s.close()
            if not os.path.exists(f"/proc/{pid}"):
                sys.exit(f"agent {pid} exited before it listened")
            time.sleep(0.05)
    sys.exit("agent never listened")


s = connect()
s.settimeout(30)
f = s.makefile("rwb")


def call(command, **arguments):
    msg = {"execute": command}
    if arguments:
        msg["arguments"] = arguments
    f.write(json.dumps(msg).encode() + b"\n")
    f.flush()
    line = f.readline()
    if not line:
        sys.exit(f"{command}: connection closed")
    reply = json.loads(line)
    if "return" not in reply:
        sys.exit(f"{command}: {reply}")
    print(f"{command}: ok")
    return reply["return"]


assert call("guest-ping") == {}
info = call("guest-info")
assert info["version"] and any(c["name"] == "guest-exec" for c in info["supported_commands"]), info
osinfo = call("guest-get-osinfo")
assert osinfo.get("kernel-release") == os.uname().release, osinfo

path = os.path.join(tmp, "payload")
payload = os.urandom(100_000)
h = call("guest-file-open", path=path, mode="w")
w = call("guest-file-write", handle=h, **{"buf-b64": base64.b64encode(payload).decode()})
assert w["count"] == len(payload), w
call("guest-file-close", handle=h)
h = call("guest-file-open", path=path, mode="r")
back = b""
while True:
    r = call("guest-file-read", handle=h, count=65536)
    back += base64.b64decode(r["buf-b64"])
    if r["eof"]:
        break
call("guest-file-close", handle=h)
assert back == payload, "read back differs"

exec_pid = call("guest-exec", path="/bin/true")["pid"]
for _ in range(1000):
    status = call("guest-exec-status", pid=exec_pid)
    if status["exited"]:
        break
    time.sleep(0.01)
assert status == {"exited": True, "exitcode": 0}, status

mapped = set()
with open(f"/proc/{pid}/maps") as maps:
    for line in maps:
        parts = line.split(None, 5)
        if len(parts) == 6 and ".so" in parts[5]:
            mapped.add(os.path.realpath(parts[5].strip()))
print("mapped shared objects:", " ".join(sorted(mapped)))
bad = sorted(m for m in mapped if m not in allowed)
openssl = [m for m in mapped if "libssl" in m or "libcrypto" in m]
if openssl or bad:
    sys.exit(f"maps: OpenSSL {openssl}, not named by ldd {bad}")
print("maps: only what ldd names")

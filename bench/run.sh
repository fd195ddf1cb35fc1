#!/usr/bin/env bash
# Publishes the NativeAOT release binary of Agent.Host into bench/out and runs the side-by-side
# benchmark against Debian's qemu-ga. Options go to bench.py (--rounds N, --json PATH, ...).
# With BENCH_R2R=1 it benchmarks the self-contained ReadyToRun single file (the fallback) instead.
set -euo pipefail
cd "$(dirname "$0")/.."
out=bench/out
if [ "${BENCH_R2R:-0}" = 1 ]; then
  dotnet publish Agent.Host -c Release -r linux-x64 --self-contained -p:PublishSingleFile=true \
    -p:PublishReadyToRun=true -o "$out/r2r" >/dev/null
  agent=$out/r2r/Agent.Host
else
  dotnet publish Agent.Host -c Release -p:PublishAot=true -o "$out/aot" >/dev/null
  agent=$out/aot/Agent.Host
fi
exec python3 bench/bench.py --agent "$agent" "$@"

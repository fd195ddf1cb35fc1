#!/bin/sh
# Runs the in-process fuzz harness: N inputs (default 10,000,000) through the streamer, the dispatcher
# and the real command families on a fake guest. See fuzz/README.md.
#   fuzz/run.sh [N] [extra options: --seed S --jobs J (agents in parallel, default 2) --minutes M (stop
#                    after M minutes with a summary) --hang-timeout SECONDS]
#   fuzz/run.sh protocol [N]     # the pure protocol half only (streamer, envelope, writer)
#   fuzz/run.sh replay fuzz/corpus/failures/*.bin
set -eu
cd "$(dirname "$0")/.."
mode=session
case "${1:-}" in session|protocol|replay) mode=$1; shift ;; esac
dotnet build fuzz/Agent.Fuzz -c Release -v quiet -nologo >/dev/null
if [ "$mode" = replay ]; then
  exec dotnet fuzz/Agent.Fuzz/bin/Release/net10.0/Agent.Fuzz.dll replay "$@"
fi
n=${1:-10000000}
[ $# -gt 0 ] && shift
exec dotnet fuzz/Agent.Fuzz/bin/Release/net10.0/Agent.Fuzz.dll "$mode" --inputs "$n" "$@"

#!/usr/bin/env bash
# README command 1: install what is needed, build, and run the main job on the embedded default
# device (the simulated MI300-class GPU when this machine has no /dev/kfd):
#   1. what this machine supports (hsapreempt probe),
#   2. the users' scenario: a small latency-critical model beside a large batch job, without
#      scheduling and under each level (hsapreempt bench two-model --quick; the full run is
#      `hsapreempt bench two-model`, see docs/benchmarks.md).
# Extra arguments go to bench two-model (e.g. --seconds 20 --plot-dir plots).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
"$root/scripts/build.sh" "$root/build"
hp="$root/build/tools/hsapreempt"
echo "== hsapreempt probe =="
"$hp" probe
echo
echo "== hsapreempt bench two-model (quick) =="
exec "$hp" bench two-model --quick "$@"

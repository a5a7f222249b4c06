#!/usr/bin/env bash
# README command 1: install what is needed, build, and run the main job on the embedded default
# (the simulated MI300-class device when this machine has no /dev/kfd).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
"$root/scripts/build.sh" "$root/build"
exec "$root/build/tools/hsapreempt" demo "$@"

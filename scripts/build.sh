#!/usr/bin/env bash
# Configures and builds hsapreempt. Usage: scripts/build.sh [BUILD_DIR] [extra cmake args...]
# HSAPREEMPT_SANITIZE=address,undefined|thread selects a sanitizer build.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}; shift || true
args=(-G Ninja -DCMAKE_BUILD_TYPE=${CMAKE_BUILD_TYPE:-RelWithDebInfo})
if [ -n "${HSAPREEMPT_SANITIZE:-}" ]; then args+=(-DHSAPREEMPT_SANITIZE="$HSAPREEMPT_SANITIZE"); fi
cmake -S "$root" -B "$build" "${args[@]}" "$@" >/dev/null
cmake --build "$build" -j"$(nproc)"

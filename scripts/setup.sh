#!/usr/bin/env bash
# Installs what hsapreempt needs to build, test and run on Debian 12, from Debian's own packages.
# Idempotent: does nothing when everything is already there. Needs root (or sudo) only to install.
set -euo pipefail

PACKAGES=(
  cmake ninja-build g++ pkg-config
  clang-14 lld-14                       # gfx90a code objects for the spin / replay kernels
  libhsa-runtime64-1 libhsa-runtime-dev # the real ROCr 5.2.3
  libhsakmt-dev libdrm-dev              # thunk headers (types/ioctl layouts), kfd_ioctl.h
  googletest libgtest-dev libgmock-dev
  hipcc libamdhip64-dev                 # Debian's HIP 5.2.3: real HIP programs as clients
  gnuplot-nox                           # benchmark plots (PNG); benches fall back to CSV without it
  procps psmisc
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages present"
  exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done"

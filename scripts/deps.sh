#!/usr/bin/env bash
# Installs the Debian 12 packages Gavel builds and runs with, if any is
# missing. Needs root (or sudo) only when something must be installed.
set -euo pipefail

PACKAGES=(
  cmake g++ ninja-build ccache pkg-config python3
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev libpqxx-dev libpq-dev libbenchmark-dev libgtest-dev libgmock-dev
  postgresql
  # header-only, for bench/ only: the queues issue 4 compares the shard's ring with
  libatomic-queue-dev libconcurrentqueue-dev
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "deps: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

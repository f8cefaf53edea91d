#!/usr/bin/env bash
# The README's second command: installs what is missing, builds, and runs the
# whole test suite with ctest. ctest itself starts a throwaway PostgreSQL for
# the tests that need one (tests/store) and stops and removes it afterwards.
# Then the engine's concurrency tests run again under ThreadSanitizer, on
# engine-only targets (see ../shared/TOOLCHAIN.md: Debian's gRPC is not
# TSan-instrumented). Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh
scripts/check_no_locks.sh

jobs=$(nproc)
werror=OFF
if [ "${CI:-}" = "true" ]; then werror=ON; fi

echo "== build (release)"
cmake --preset release -DGAVEL_WERROR=$werror >/dev/null
cmake --build --preset release -j "$jobs"

echo "== tests (release)"
ctest --preset release -j "$jobs" --timeout 300

echo "== engine tests under ThreadSanitizer"
cmake --preset tsan -DGAVEL_WERROR=$werror >/dev/null
cmake --build --preset tsan -j "$jobs"
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
  ctest --preset tsan -j "$jobs" --timeout 600

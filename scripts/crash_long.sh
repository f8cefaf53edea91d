#!/usr/bin/env bash
# The long crash test: tests/e2e/crash_test.sh with 20 SIGKILLs of gavel-server under load
# (CI runs it with 5), against a private PostgreSQL started here with its durable defaults
# (fsync on) and removed afterwards. Prints the counts of auctions, bids and kills, and exits
# non-zero when an acknowledged bid or a settlement is missing or duplicated. About 90 s.
#
#   scripts/crash_long.sh [BUILD_DIR] [KILLS]       defaults: build/release, 20
#
# BUILD_DIR must hold server/gavel-server, clients/gavel and tests/e2e/crash_driver, e.g.
#   cmake --preset release && cmake --build --preset release
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build/release}
KILLS=${2:-20}
for b in server/gavel-server clients/gavel tests/e2e/crash_driver; do
  [[ -x "$BUILD/$b" ]] || {
    echo "crash_long: $BUILD/$b is missing; build first: cmake --preset release &&" \
      "cmake --build --preset release" >&2
    exit 2
  }
done
PGROOT=$(mktemp -d /tmp/gavel-crash-long.XXXXXX)
chmod 0755 "$PGROOT"
trap 'scripts/pg.sh stop "$PGROOT/pg" --remove >/dev/null 2>&1 || true; rm -rf "$PGROOT"' EXIT
scripts/pg.sh start "$PGROOT/pg" >/dev/null
tests/e2e/crash_test.sh "$BUILD" "$PGROOT/pg/conninfo" "$KILLS"

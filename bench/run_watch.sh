#!/usr/bin/env bash
# What live watchers cost Gavel end to end: gavel-server (2 shards, a private
# PostgreSQL) under gavel-load's closed-loop unary PlaceBid (64 bidders) while
# WatchAuction streams read every event. Four scenarios, a fresh server for
# each (so that each peak RSS is its own):
#   1. 1 auction, no watchers          (the bid rate without watchers)
#   2. 1 auction, 1000 watchers on it  (every accepted bid goes to 1000 streams)
#   3. 1 auction, 5000 watchers on it
#   4. 100 auctions, 1000 watchers on the first (bids on the others pay for it)
#   5. 1000 auctions, one watcher on each
# It prints the bid rate, the events delivered per second to all watchers,
# watchers cut off, and the server's peak RSS (VmHWM). Everything started is
# stopped on exit; about a minute and a half in all.
#
#   bench/run_watch.sh [BUILD_DIR]          default BUILD_DIR: build/h-bench
#
# Environment: DURATION seconds measured per run (4).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build/h-bench}
DURATION=${DURATION:-4}
SERVER_BIN="$BUILD/server/gavel-server"
LOAD_BIN="$BUILD/bench/gavel-load"

# shellcheck source=bench/e2e_common.sh
source "$ROOT/bench/e2e_common.sh"
require_binaries run_watch "$BUILD" "$SERVER_BIN" "$LOAD_BIN"

WORK=$(mktemp -d /tmp/gavel-watch.XXXXXX)
SERVER_PID=""
trap 'cleanup_work "$WORK" "$SERVER_PID"' EXIT
trap 'exit 130' INT TERM

CONNINFO=$(start_pg "$WORK")
make_tokens "$WORK/tokens" 64
BIDDER_TOKENS=$(seq -s, -f 'bidder-token-%g' 1 64)

echo "gavel watchers on $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')), build $BUILD"
printf '%-9s %-9s %-8s %10s %12s %8s %10s\n' auctions watchers watched bids/s events/s cut_off peak_rss
run=0
for scenario in "1 0 1" "1 1000 1" "1 5000 1" "100 1000 1" "1000 1000 1000"; do
  read -r auctions watchers watched <<<"$scenario"
  run=$((run + 1))
  "$SERVER_BIN" --listen=127.0.0.1:0 --postgres="$CONNINFO" --tokens="$WORK/tokens" \
    --data_dir="$WORK/data-$run" --shards=2 2>"$WORK/server-$run.log" >/dev/null </dev/null &
  SERVER_PID=$!
  port=$(wait_port "$WORK/server-$run.log")
  out=$(timeout $((DURATION + 60)) "$LOAD_BIN" --server="127.0.0.1:$port" --seller_token=seller-token \
    --bidder_tokens="$BIDDER_TOKENS" --create_auctions="$auctions" --bidders=64 \
    --duration="${DURATION}s" --watchers="$watchers" --watched_auctions="$watched" 2>>"$WORK/load.log")
  rss=$(awk '/^VmHWM/ {printf "%.0f MB", $2 / 1024}' "/proc/$SERVER_PID/status")
  stop_pid "$SERVER_PID"
  SERVER_PID=""
  bids=$(echo "$out" | sed -n 's/^RESULT .*throughput=\([0-9]*\).*/\1/p')
  events=$(echo "$out" | sed -n 's/^RESULT_WATCH .*events_per_s=\([0-9]*\).*/\1/p')
  cut=$(echo "$out" | sed -n 's/^RESULT_WATCH .*cut_off=\([0-9]*\).*/\1/p')
  printf '%-9s %-9s %-8s %10s %12s %8s %10s\n' "$auctions" "$watchers" "$watched" "$bids" \
    "${events:--}" "${cut:--}" "$rss"
done
